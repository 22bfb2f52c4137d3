"""Forked helper processes that run tasks for the job process, and never outlive it.

Why fork and not multiprocessing/loky: a helper forked after PyCaret's setup shares the
experiment (data, folds, pipeline) copy-on-write, so nothing is pickled on the way in, and it
starts in milliseconds. Only small task ids go to a helper and small results come back.

Guarantees, because a helper must never outlast or disturb the job that forked it:

- the job's SIGTERM (JobCancelled) or any other exception leaving the ``with`` block kills and
  reaps every helper before it propagates (``close`` runs with SIGTERM/SIGINT held); each helper
  leads its own process group and is killed with it;
- a helper dies with the job even when the job is SIGKILLed: ``PR_SET_PDEATHSIG`` on Linux, and
  everywhere a helper waiting for work exits on EOF of its task socket;
- a helper inherits no usable descriptor of the job: every fd above 2 except its own socket is
  pointed at /dev/null, so it cannot write to the job's event fd and does not hold the job's
  pipes open (stdout/stderr stay: they are the job log);
- a helper that dies mid-task (OOM killer, segfault) is reported as that task's outcome with how
  it died, and a replacement is forked for the remaining tasks;
- helpers start no processes (joblib runs sequentially in them), so none can be orphaned;
- helpers use one thread each (OpenMP, BLAS): cores are shared by running helpers side by side,
  and GNU OpenMP deadlocks in a forked child that uses more than one thread once the parent has
  used OpenMP (measured: a 2-thread LightGBM fit hangs in such a child, a 1-thread fit does not).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import pickle
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

from .cancel import deferred_signals

PR_SET_PDEATHSIG = 1
CLOSE_GRACE_SECONDS = 2.0


class RemoteError(Exception):
    """An exception a task raised in a helper; ``str()`` is the original message."""

    def __init__(self, type_name: str, message: str, remote_traceback: str):
        super().__init__(message or type_name)
        self.type_name = type_name
        self.remote_traceback = remote_traceback


@dataclass
class Outcome:
    """What became of one task: exactly one of value (returned), error (raised), died (helper gone)."""

    task: Any
    value: Any = None
    error: RemoteError | None = None
    died: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.died is None


@dataclass
class _Helper:
    pid: int
    conn: Connection
    task: Any = None
    busy: bool = False
    sent_at: float = 0.0


def describe_exit(status: int) -> str:
    """A waitpid status in words, naming the likely cause of a SIGKILL."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        cause = " (often the system running out of memory)" if sig == signal.SIGKILL else ""
        return f"killed by {name}{cause}"
    return f"exited with code {os.waitstatus_to_exitcode(status)}"


class ForkPool:
    """Up to ``size`` helpers forked from this process, each running ``work(task)`` per task.

    ``init`` runs once in each helper right after the fork (e.g. to make estimators
    single-threaded). Use as a context manager; ``submit`` a task when ``idle_slots()`` > 0,
    then ``next_outcome()`` for each submitted task, in completion order.
    """

    def __init__(self, work: Callable[[Any], Any], size: int, init: Callable[[], None] | None = None):
        if size < 1:
            raise ValueError("size must be at least 1")
        self.work = work
        self.size = size
        self.init = init
        self.helpers: list[_Helper] = []
        self.parent_pid = os.getpid()

    # ------------------------------------------------------------------ parent side
    def __enter__(self) -> ForkPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def idle_slots(self) -> int:
        return self.size - sum(1 for h in self.helpers if h.busy)

    def busy_count(self) -> int:
        return sum(1 for h in self.helpers if h.busy)

    def pids(self) -> list[int]:
        return [h.pid for h in self.helpers]

    def submit(self, task: Any) -> None:
        """Send ``task`` to an idle helper, forking one if fewer than ``size`` are alive."""
        helper = next((h for h in self.helpers if not h.busy), None)
        if helper is None:
            if len(self.helpers) >= self.size:
                raise RuntimeError("no idle helper; wait for next_outcome() first")
            helper = self._fork()
        payload = pickle.dumps(task)
        helper.task, helper.busy, helper.sent_at = task, True, time.monotonic()
        try:
            helper.conn.send_bytes(payload)
        except OSError:
            # It died while idle; next_outcome() reports the task as died with the helper's exit.
            pass

    def next_outcome(self, timeout: float | None = None) -> Outcome | None:
        """The next finished task (None on timeout). A helper that died is reaped and dropped."""
        busy = {h.conn: h for h in self.helpers if h.busy}
        if not busy:
            raise RuntimeError("no task is running")
        ready = wait(list(busy), timeout)
        if not ready:
            return None
        helper = busy[ready[0]]  # type: ignore[index]
        try:
            payload = helper.conn.recv_bytes()
        except (EOFError, OSError):
            return self._lost(helper)
        helper.busy = False
        task, helper.task = helper.task, None
        try:
            kind, *rest = pickle.loads(payload)
        except Exception as exc:  # noqa: BLE001 -- e.g. a result whose class the parent cannot import
            return Outcome(task, error=RemoteError(type(exc).__name__, f"cannot read the helper's result: {exc}", ""))
        if kind == "value":
            value, seconds = rest
            return Outcome(task, value=value, seconds=seconds)
        type_name, message, tb, seconds = rest
        return Outcome(task, error=RemoteError(type_name, message, tb), seconds=seconds)

    def close(self) -> None:
        """Kill every helper (and anything it started) and reap it."""
        with deferred_signals():
            for h in self.helpers:
                _kill_group(h.pid)  # before reaping: until then no other process can get its pid
                h.conn.close()
            deadline = time.monotonic() + CLOSE_GRACE_SECONDS
            for h in self.helpers:
                _reap(h.pid, deadline)
            self.helpers = []

    def _lost(self, helper: _Helper) -> Outcome:
        with deferred_signals():
            helper.conn.close()
            _kill_group(helper.pid)  # whatever it left behind in its process group
            status = _reap(helper.pid, time.monotonic() + CLOSE_GRACE_SECONDS)
            self.helpers.remove(helper)
        how = describe_exit(status) if status is not None else "gone"
        return Outcome(helper.task, died=f"its helper process was {how}", seconds=time.monotonic() - helper.sent_at)

    def _fork(self) -> _Helper:
        parent_end, child_end = Pipe(duplex=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # Signals held across fork + bookkeeping: a cancel can never leave an unrecorded helper.
        with deferred_signals():
            pid = os.fork()
            if pid == 0:  # pragma: no cover -- runs in the helper, which never returns
                parent_end.close()
                _helper_main(child_end, self.work, self.init, self.parent_pid)
            with contextlib.suppress(OSError):  # also here, so _kill_group never races the child's own call
                os.setpgid(pid, pid)
            child_end.close()
            helper = _Helper(pid, parent_end)
            self.helpers.append(helper)
        return helper


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _kill_group(pid: int) -> None:
    """SIGKILL the helper's process group (it leads one; see _helper_main), else the helper."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        _kill(pid)


def _reap(pid: int, deadline: float) -> int | None:
    """waitpid until ``deadline``, then SIGKILL and wait for good. Returns the status."""
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return status
        if time.monotonic() >= deadline:
            _kill(pid)
            try:
                return os.waitpid(pid, 0)[1]
            except ChildProcessError:
                return None
        time.sleep(0.01)


# ---------------------------------------------------------------------- helper side
def _helper_main(conn: Connection, work: Callable[[Any], Any], init: Callable[[], None] | None, parent_pid: int) -> None:
    code = 0
    try:
        # The parent's Python handlers would raise JobCancelled here; a helper just dies.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        # Its own process group, so that close() can kill anything it started along with it.
        os.setpgid(0, 0)
        _die_with_parent(parent_pid)
        _detach_inherited_fds(keep={conn.fileno()})
        gc.freeze()  # parent objects stay shared (no refcount-free GC passes) and gc.collect() is cheap
        _one_thread_each()
        if init is not None:
            init()
        while True:
            try:
                task = pickle.loads(conn.recv_bytes())
            except EOFError:
                break
            started = time.monotonic()
            try:
                value = work(task)
                reply = pickle.dumps(("value", value, time.monotonic() - started))
            except Exception as exc:  # noqa: BLE001 -- reported to the parent as the task's error
                reply = pickle.dumps(
                    ("error", type(exc).__name__, str(exc), traceback.format_exc(), time.monotonic() - started)
                )
            conn.send_bytes(reply)
    except BaseException:  # noqa: BLE001 -- a helper must never return into the parent's code
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _die_with_parent(parent_pid: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _open_fds() -> list[int]:
    for path in ("/proc/self/fd", "/dev/fd"):
        with contextlib.suppress(OSError):
            return sorted(int(name) for name in os.listdir(path))
    return list(range(3, 1024))


def _detach_inherited_fds(keep: set[int]) -> None:
    """Point stdin and every inherited fd above 2 (but ``keep``) at /dev/null.

    dup2 rather than close: a stale Python object in the copied heap that still writes to its
    old fd number then writes to /dev/null, never to a file this helper opens later.
    """
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(null, 0)
        for fd in _open_fds():
            if fd > 2 and fd not in keep and fd != null:
                with contextlib.suppress(OSError):
                    os.dup2(null, fd)
    finally:
        os.close(null)


def _one_thread_each() -> None:
    """One OpenMP/BLAS thread, and joblib runs everything in the helper itself: a helper starts
    no processes of its own (loky workers would outlive a SIGKILLed helper)."""
    import joblib

    from .threads import limit_loaded_pools, set_thread_env

    set_thread_env(1)  # for runtimes loaded from now on
    global _LIMITS
    # threadpoolctl: OpenMP/BLAS already loaded in the parent; parallel_config applies on creation.
    _LIMITS = (limit_loaded_pools(1), joblib.parallel_config(backend="sequential"))


_LIMITS: object = None

