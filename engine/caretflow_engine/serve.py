"""The warm scoring process for one model: JSON lines on fd 3 in, fd 4 out, each answer echoing the id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import EngineError, error_info, user_error
from .jsonlines import LineReader, parse_line, send
from .scoring import LoadedModel, explain_frame, load_model, records, score_frame
from .tasks import family_for

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


def predict_answer(model: LoadedModel, request: dict[str, Any]) -> dict[str, Any]:
    """The answer to one predict request."""
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


def batchable(request: dict[str, Any], state: dict[str, Any]) -> bool:
    """A plain predict request for a model whose family scores each row on its own (no horizon, no
    explanations), so it may be scored together with the requests queued beside it."""
    model = state.get("model")
    return (
        request.get("op") == "predict"
        and model is not None
        and getattr(family_for(model.task), "rows_independent", False)
        and isinstance(request.get("rows"), list)
        and "horizon" not in request
        and request.get("explain") is not True
    )


def predict_batch(model: LoadedModel, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Answers to several predict requests scored as one frame, so the pipeline's fixed cost per call
    is paid once for all of them. Each request gets the answer it would get alone; when the frame
    fails as a whole (a bad value in one request), each request is scored alone and only the bad one
    fails."""
    import pandas as pd

    if len(requests) == 1:
        return [answer_to(requests[0], lambda: predict_answer(model, requests[0]))]
    answers: dict[int, dict[str, Any]] = {}
    frames: list[tuple[int, Any]] = []
    for i, request in enumerate(requests):
        try:
            frames.append((i, rows_frame(model, request["rows"])))
        except Exception as exc:
            answers[i] = {"id": request.get("id"), **failed(exc)}
    predictions = None
    if frames:
        combined = pd.concat([f for _, f in frames], ignore_index=True)
        try:
            predictions = score_frame(model, combined, {})
        except Exception:
            pass  # answered request by request below
        else:
            if not predictions.index.equals(combined.index):
                predictions = None
    if predictions is not None:
        columns = [str(c) for c in predictions.columns]
        start = 0
        for i, frame in frames:
            part = predictions.iloc[start : start + len(frame)]
            start += len(frame)
            rid = requests[i].get("id")
            answers[i] = {"id": rid, "ok": True, "columns": columns, "predictions": records(part), "aligned": True}
    else:
        for i, _ in frames:
            answers[i] = answer_to(requests[i], lambda r=requests[i]: predict_answer(model, r))
    return [answers[i] for i in range(len(requests))]


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
        return predict_answer(model, request)
    if op == "setup_preview":
        from .preview import setup_preview

        return {"preview": setup_preview(request)}
    if op == "ping":
        return {}
    raise user_error("UnknownOp", f"Unknown op {op!r}.", "Use load, predict, setup_preview or ping.")


def failed(exc: Exception) -> dict[str, Any]:
    """The failure part of an answer; an unexpected error's traceback goes to the process log."""
    info = error_info(exc)
    info.pop("stack", None)
    if not isinstance(exc, EngineError):
        import traceback

        traceback.print_exception(exc)
    return {"ok": False, "error": info}


def answer_to(request: dict[str, Any], work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Every request gets an answer echoing its id: what ``work`` returns, or its failure."""
    try:
        return {"id": request.get("id"), "ok": True, **work()}
    except Exception as exc:
        return {"id": request.get("id"), **failed(exc)}


def serve_forever(in_fd: int = 3, out_fd: int = 4) -> int:
    """Answers requests in the order they came. Predict requests that arrived together (queued while
    the process was busy) are scored as one batch when the model allows it (``batchable``)."""
    # Imported before announcing readiness, so the first request does not pay for it.
    import mlflow.sklearn  # noqa: F401
    import pandas  # noqa: F401
    import pycaret.internal.pipeline  # noqa: F401  (the pickled pipelines' classes)

    send(out_fd, {"ready": True})
    reader = LineReader(in_fd)
    state: dict[str, Any] = {}
    queued: list[dict[str, Any]] = []

    def flush() -> None:
        if queued:
            for answer in predict_batch(state["model"], queued):
                send(out_fd, answer)
            queued.clear()

    while not reader.eof:
        for line in reader.read_available():
            request, problem = parse_line(line)
            if request is not None and batchable(request, state):
                if sum(len(r["rows"]) for r in queued) + len(request["rows"]) > MAX_ROWS:
                    flush()
                queued.append(request)
                continue
            flush()
            if request is None:
                send(out_fd, {"id": None, "ok": False, "error": {"name": "BadRequest", "message": problem, "hint": "Send one JSON object per line.", "transient": False}})
            elif request.get("op") == "shutdown":
                send(out_fd, {"id": request.get("id"), "ok": True})
                return 0
            else:
                send(out_fd, answer_to(request, lambda r=request: handle(r, state)))
        flush()
    return 0
