"""Runs one job: `started` first, exactly one `finished` last, MLflow runs ended on every path."""

from __future__ import annotations

import os
from typing import Any

from .cancel import CancelToken
from .context import JobContext
from .errors import JobCancelled, error_info, is_connection_failure
from .events import EventWriter
from .spec import job_id_of, parse_spec
from .versions import library_versions


def execute(raw_spec: Any, events_fd: int, token: CancelToken) -> int:
    """Run the job described by raw_spec, writing events to events_fd. Returns the exit code:
    0 for succeeded or cancelled, 1 for failed. raw_spec may be the exception that reading the
    spec raised, so that it is reported as an error event like any other failure."""
    events = EventWriter(events_fd, job_id_of(raw_spec))
    ctx = JobContext(events, token)
    try:
        events.emit("started", pid=os.getpid(), versions=library_versions())
        token.arm()
        if isinstance(raw_spec, BaseException):
            raise raw_spec
        spec = parse_spec(raw_spec)
        result = _dispatch(spec, ctx)
        token.disarm()
    except JobCancelled:
        token.disarm()
        for problem in [*ctx.background.settle(), *ctx.runs.end_all("KILLED")]:
            events.warning(problem)
        events.emit("finished", status="cancelled")
        return 0
    except BaseException as exc:  # noqa: BLE001 -- every failure must end in error + finished
        token.disarm()
        if is_connection_failure(exc):
            # The server is gone: ending runs would only wait on retries.
            os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
        for problem in [*ctx.background.settle(), *ctx.runs.end_all("FAILED")]:
            events.log("warning", problem)
        events.emit("error", error=error_info(exc))
        events.emit("finished", status="failed")
        return 1
    events.emit("finished", status="succeeded", result=result)
    return 0


def _dispatch(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    kind = spec["kind"]
    if kind == "train":
        from .tasks import family_for

        result = family_for(spec["task"]).train(spec, ctx)
        ctx.background.drain()
        return {"kind": "train", **result}
    if kind == "operate":
        from .tasks import family_for

        result = family_for(spec["train"]["task"]).operate(spec, ctx)
        ctx.background.drain()
        return {"kind": "operate", **result}
    if kind == "evaluate":
        from .evaluate_job import run_evaluate

        result = run_evaluate(spec, ctx)
        ctx.background.drain()
        return result
    if kind == "predict":
        from .predict_job import run_predict

        return run_predict(spec, ctx)
    if kind == "drift":
        from .drift_job import run_drift

        return run_drift(spec, ctx)
    if kind == "catalog":
        from .tasks.catalog import build_catalog

        return {"kind": "catalog", "catalog": build_catalog()}
    raise AssertionError(f"unhandled job kind {kind}")  # parse_spec admits only the kinds above
