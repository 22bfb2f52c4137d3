"""Shared checks for the ml/ tests: every chart validates against chart.schema.json."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from caretflow_engine.ml.charts import MAX_POINTS

from .helpers import ENGINE_DIR


@cache
def chart_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ENGINE_DIR / "caretflow_engine/schema/chart.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def assert_chart(chart: dict[str, Any], max_points: int = MAX_POINTS) -> dict[str, Any]:
    """Schema-valid, strict JSON (no NaN), at most ``max_points`` points per series; returns it
    after a JSON round trip, as the UI would read it."""
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in chart_validator().iter_errors(chart)]
    assert not problems, problems
    text = json.dumps(chart, allow_nan=False)
    for s in chart.get("series", []):
        assert len(s["points"]) <= max_points, (s["name"], len(s["points"]))
    return json.loads(text)


def series_by_name(chart: dict[str, Any], prefix: str) -> dict[str, Any]:
    found = [s for s in chart["series"] if s["name"].startswith(prefix)]
    assert len(found) == 1, (prefix, [s["name"] for s in chart["series"]])
    return found[0]
