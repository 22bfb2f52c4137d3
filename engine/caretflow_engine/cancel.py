"""Cancellation: SIGTERM raises JobCancelled in the main thread, wherever the job is.

Python runs signal handlers in the main thread between bytecodes, so the exception surfaces
inside PyCaret's model loop (sklearn's cross-validation with n_jobs=1 runs there) within the
time of one native call. JobCancelled is a BaseException, so PyCaret's ``except Exception``
around each model does not swallow it.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from types import FrameType

from .errors import JobCancelled


class CancelToken:
    """Records that a cancellation was requested; raises once, then only records."""

    def __init__(self) -> None:
        self.requested = False
        self._armed = False

    def arm(self) -> None:
        """Start raising JobCancelled on SIGTERM (and raise now if one already arrived)."""
        self._armed = True
        if self.requested:
            raise JobCancelled()

    def disarm(self) -> None:
        """Stop raising: cleanup (ending MLflow runs as KILLED) must not be interrupted."""
        self._armed = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        first = not self.requested
        self.requested = True
        if self._armed and first:
            self._armed = False
            raise JobCancelled()


def install(token: CancelToken) -> None:
    signal.signal(signal.SIGTERM, token.handle)
    # The pool sends SIGINT to the process group on Ctrl-C; treat it like a cancel.
    signal.signal(signal.SIGINT, token.handle)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGTERM/SIGINT while a critical section (writing one event) runs."""
    mask = {signal.SIGTERM, signal.SIGINT}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, mask)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
