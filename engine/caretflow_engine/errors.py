"""The engine's error vocabulary, serialized as the protocol's ErrorInfo."""

from __future__ import annotations

import traceback
from typing import Any


class EngineError(Exception):
    """An error with a stable name, a message, a hint that says what to do, and transience."""

    def __init__(self, name: str, message: str, hint: str | None = None, transient: bool = False):
        super().__init__(message)
        self.name = name
        self.message = message
        self.hint = hint
        self.transient = transient


def user_error(name: str, message: str, hint: str) -> EngineError:
    """The request or its input is wrong; the hint says what to change."""
    return EngineError(name, message, hint, transient=False)


def transient_error(name: str, message: str, hint: str) -> EngineError:
    """Something outside the job failed and a retry may succeed."""
    return EngineError(name, message, hint, transient=True)


class JobCancelled(BaseException):
    """Raised in the main thread by the SIGTERM handler.

    A BaseException on purpose: PyCaret's compare_models catches ``Exception`` per model and
    moves on to the next one, which would swallow a cancellation.
    """


_CONNECTION_MARKERS = (
    "Max retries exceeded",
    "Connection refused",
    "Failed to establish a new connection",
    "ConnectionError",
    "RemoteDisconnected",
    "Read timed out",
)


def is_connection_failure(exc: BaseException) -> bool:
    """True when the exception (or its cause chain) is a network failure talking to a server."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        module = type(current).__module__
        if module.startswith(("requests", "urllib3")) and "Connection" in type(current).__name__:
            return True
        if isinstance(current, (ConnectionError, TimeoutError)):
            return True
        if any(marker in str(current) for marker in _CONNECTION_MARKERS):
            return True
        current = current.__cause__ or current.__context__
    return False


def error_info(exc: BaseException) -> dict[str, Any]:
    """Serialize any exception as the protocol's ErrorInfo."""
    stack = "".join(traceback.format_exception(exc))[-8000:]
    if isinstance(exc, EngineError):
        info: dict[str, Any] = {"name": exc.name, "message": exc.message, "transient": exc.transient}
        if exc.hint:
            info["hint"] = exc.hint
        info["stack"] = stack
        return info
    if is_connection_failure(exc):
        return {
            "name": "MlflowUnreachable",
            "message": f"Lost the connection to the MLflow tracking server: {_first_line(exc)}",
            "hint": "Check that the MLflow server is running and reachable, then run the job again.",
            "transient": True,
            "stack": stack,
        }
    if isinstance(exc, MemoryError):
        return {
            "name": "OutOfMemory",
            "message": "The engine ran out of memory.",
            "hint": "Use fewer models (include), fewer rows, or a machine with more memory.",
            "transient": False,
            "stack": stack,
        }
    return {
        "name": type(exc).__name__,
        "message": _first_line(exc) or type(exc).__name__,
        "hint": "This is unexpected; the job log has the details. Report it if it happens again.",
        "transient": False,
        "stack": stack,
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:2000] if text else ""
