"""NDJSON events on a file descriptor of their own (never stdout/stderr: libraries print there)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Callable
from typing import Any

from . import PROTOCOL_VERSION
from .cancel import deferred_signals


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars become Python numbers, NaN/inf become null."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if type(value).__name__ in ("NAType", "NaTType"):  # pandas.NA (nullable Int64, Float64...) and NaT
        return None
    # numpy / pandas scalars without importing them here
    if hasattr(value, "item") and callable(value.item):
        try:
            return json_safe(value.item())
        except (TypeError, ValueError):
            pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def dumps_line(obj: dict[str, Any]) -> bytes:
    return (json.dumps(json_safe(obj), allow_nan=False, separators=(",", ":")) + "\n").encode()


def write_line(fd: int, data: bytes) -> None:
    """One os.write for the whole line; the loop only covers a short write, which a blocking fd
    with signals deferred does not produce in practice."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class EventWriter:
    """Numbers events per job from 0 without gaps and writes each as one line."""

    def __init__(self, fd: int, job_id: str, clock: Callable[[], str] = utc_now):
        self.fd = fd
        self.job_id = job_id
        self.clock = clock
        self.seq = 0
        self.finished = False

    def emit(self, type_: str, **fields: Any) -> dict[str, Any]:
        if self.finished:
            raise RuntimeError("no event may follow 'finished'")
        with deferred_signals():
            event = {"v": PROTOCOL_VERSION, "seq": self.seq, "ts": self.clock(), "job_id": self.job_id, "type": type_}
            event.update(fields)
            write_line(self.fd, dumps_line(event))
            self.seq += 1
            if type_ == "finished":
                self.finished = True
        return event

    # Small helpers so call sites read like the protocol.
    def stage(self, stage: str, message: str) -> None:
        self.emit("stage", stage=stage, message=message)

    def progress(self, done: int, total: int, message: str | None = None) -> None:
        if message is None:
            self.emit("progress", done=done, total=total)
        else:
            self.emit("progress", done=done, total=total, message=message)

    def log(self, level: str, message: str) -> None:
        self.emit("log", level=level, message=message)

    def warning(self, message: str) -> None:
        self.emit("warning", message=message)
