"""Golden event streams: real runs with volatile fields normalized.

Set CARETFLOW_UPDATE_GOLDEN=1 to rewrite a golden file from the run a test just made.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"
RUN_ID = re.compile(r"[0-9a-f]{12,}")
FIXED_TS = "2026-01-01T00:00:00.000Z"


def _zero_numbers(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, dict):
        return {k: _zero_numbers(v) for k, v in value.items()}
    return value


def normalize(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its volatile fields (time, pid, ids, paths, measured numbers) fixed."""
    e = json.loads(json.dumps(event))
    e["ts"] = FIXED_TS
    e["job_id"] = "golden"
    if e["type"] == "started":
        e["pid"] = 0
        e["versions"] = {k: "0" for k in e["versions"]}
    if "run_id" in e:
        e["run_id"] = "0" * 32
    if e["type"] == "metric":
        e["value"] = 0
    if e["type"] == "leaderboard_row":
        e["row"] = _normalize_row(e["row"])
    if e["type"] == "error":
        e["error"].pop("stack", None)
        e["error"]["message"] = RUN_ID.sub("0" * 32, e["error"]["message"])
    if e["type"] in ("log", "warning", "progress", "stage") and "message" in e:
        e["message"] = RUN_ID.sub("0" * 12, re.sub(r"/\S+", "/…", e["message"]))
    if e["type"] == "finished" and "result" in e:
        r = e["result"]
        if r["kind"] in ("train", "operate"):
            r.update(
                experiment_id="0", parent_run_id="0" * 32, best_run_id="0" * 32,
                model_uri=f"runs:/{'0' * 32}/model", model_sha256="0" * 64,
            )
            r["leaderboard"] = [_normalize_row(row) for row in r["leaderboard"]]
            r["timings"] = _zero_numbers(r.get("timings", {}))
            if "details" in r:
                r["details"] = _zero_numbers(r["details"])
    return e


def _normalize_row(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    row["metrics"] = _zero_numbers(row["metrics"])
    row["fit_seconds"] = 0
    if "mlflow_run_id" in row:
        row["mlflow_run_id"] = "0" * 32
    return row


def shape(event: dict[str, Any]) -> str:
    """What the golden comparison checks: the event type and its stage/status/role/artifact."""
    t = event["type"]
    for key in ("stage", "status", "role"):
        if key in event:
            return f"{t}:{event[key]}"
    if t == "artifact":
        return f"artifact:{event['artifact_kind']}:{event['name']}"
    if t == "leaderboard_row":
        return f"leaderboard_row:{event['row']['model_id']}"
    if t == "error":
        return f"error:{event['error']['name']}"
    return t


def load(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (GOLDEN_DIR / f"{name}.ndjson").read_text().splitlines() if line.strip()]


def check(
    name: str, events: list[dict[str, Any]], prefix_until: str | None = None, unordered: tuple[str, str] | None = None
) -> None:
    """Compare a fresh run's event shapes with the golden file (rewrite it when asked to).

    prefix_until: for runs whose middle depends on timing (a cancel), compare the shapes up to and
    including the first event of that shape, plus the final event.
    unordered: (first, last) shapes between which events may come in any order (models compared
    side by side finish in the order their helpers do); the same events, counted, must be there.
    """
    path = GOLDEN_DIR / f"{name}.ndjson"
    if os.environ.get("CARETFLOW_UPDATE_GOLDEN") == "1" or not path.exists():
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text("".join(json.dumps(normalize(e)) + "\n" for e in events))
    golden = [shape(e) for e in load(name)]
    fresh = [shape(e) for e in events]
    if unordered is not None:
        golden, fresh = _sorted_between(golden, *unordered), _sorted_between(fresh, *unordered)
    if prefix_until is None:
        assert fresh == golden, f"event sequence differs from {path.name}:\nfresh:  {fresh}\ngolden: {golden}"
        return
    cut_g, cut_f = golden.index(prefix_until) + 1, fresh.index(prefix_until) + 1
    assert fresh[:cut_f] == golden[:cut_g] and fresh[-1] == golden[-1], f"fresh: {fresh}\ngolden: {golden}"


def _sorted_between(shapes: list[str], first: str, last: str) -> list[str]:
    start, end = shapes.index(first) + 1, shapes.index(last)
    return [*shapes[:start], *sorted(shapes[start:end]), *shapes[end:]]
