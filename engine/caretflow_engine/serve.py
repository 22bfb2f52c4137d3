"""The warm scoring process for one model: JSON lines on fd 3 in, fd 4 out, each answer echoing the id."""

from __future__ import annotations

from typing import Any

from .errors import EngineError, error_info, user_error
from .jsonlines import LineReader, parse_line, send
from .scoring import LoadedModel, explain_frame, load_model, records, score_frame

MAX_ROWS = 100_000


def rows_frame(model: LoadedModel, rows: Any) -> Any:
    """Rows (a list of JSON objects) as a DataFrame; a user error names the columns a row lacks."""
    import pandas as pd

    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise user_error("BadRows", "'rows' must be a list of JSON objects.", 'Send {"rows": [{"column": value, ...}]}.')
    if len(rows) > MAX_ROWS:
        raise user_error("TooManyRows", f"{len(rows)} rows in one request (limit {MAX_ROWS}).", "Split the request, or use a batch prediction.")
    needed = [n for n, _ in model.columns]
    gaps: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        for name in needed:
            if name not in row:
                gaps.setdefault(name, []).append(i)
    if gaps:
        detail = "; ".join(f"{n} (rows {', '.join(map(str, idx[:5]))}{'…' if len(idx) > 5 else ''})" for n, idx in gaps.items())
        raise user_error(
            "MissingFeatureColumns",
            f"Rows lack column(s) the model needs: {detail}.",
            f"Give every row the columns {', '.join(gaps)} (null where unknown).",
        )
    return pd.DataFrame.from_records(rows, columns=list(dict.fromkeys([*needed, *(k for r in rows for k in r)])))


def handle(request: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    op = request.get("op")
    if op == "load":
        from .tracking import make_client, preflight

        uri, tracking = request.get("model_uri"), request.get("tracking_uri")
        if not isinstance(uri, str) or not isinstance(tracking, str):
            raise user_error("BadRequest", "load needs model_uri and tracking_uri strings.", "Send both fields.")
        preflight(tracking)
        model = load_model(make_client(tracking), uri, request.get("sha256"))
        state["model"] = model
        return {"model": model.describe()}
    if op == "predict":
        model = state.get("model")
        if model is None:
            raise user_error("NoModelLoaded", "No model is loaded yet.", "Send a load request first.")
        frame = rows_frame(model, request.get("rows"))
        horizon = request.get("horizon")
        options = {"horizon": int(horizon)} if isinstance(horizon, int) and horizon > 0 else {}
        predictions = score_frame(model, frame, options)
        answer: dict[str, Any] = {"columns": [str(c) for c in predictions.columns], "predictions": records(predictions)}
        # aligned: one answer per input row, in order (a forecast answers per period, rules per transaction)
        answer["aligned"] = predictions.index.equals(frame.index)
        if request.get("explain") is True:
            answer["explanations"] = explain_frame(model, frame)
        return answer
    if op == "setup_preview":
        from .preview import setup_preview

        return {"preview": setup_preview(request)}
    if op == "ping":
        return {}
    raise user_error("UnknownOp", f"Unknown op {op!r}.", "Use load, predict, setup_preview or ping.")


def serve_forever(in_fd: int = 3, out_fd: int = 4) -> int:
    # Imported before announcing readiness, so the first request does not pay for it.
    import mlflow.sklearn  # noqa: F401
    import pandas  # noqa: F401
    import pycaret.internal.pipeline  # noqa: F401  (the pickled pipelines' classes)

    send(out_fd, {"ready": True})
    reader = LineReader(in_fd)
    state: dict[str, Any] = {}
    while not reader.eof:
        for line in reader.read_available():
            request, problem = parse_line(line)
            if request is None:
                send(out_fd, {"id": None, "ok": False, "error": {"name": "BadRequest", "message": problem, "hint": "Send one JSON object per line.", "transient": False}})
                continue
            rid = request.get("id")
            if request.get("op") == "shutdown":
                send(out_fd, {"id": rid, "ok": True})
                return 0
            try:
                answer = {"id": rid, "ok": True, **handle(request, state)}
            except Exception as exc:  # every request gets an answer
                info = error_info(exc)
                info.pop("stack", None)
                if not isinstance(exc, EngineError):
                    import traceback

                    traceback.print_exc()
                answer = {"id": rid, "ok": False, "error": info}
            send(out_fd, answer)
    return 0
