"""The warm worker: libraries imported once, each job in a forked child.

A crash, OOM kill or hang in a job kills only its child; the worker reports how the child ended
and takes the next job. Control lines arrive on fd 3; job events (from the child) and the worker's
own messages leave on fd 4. One job at a time, so the two writers never interleave.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any

from .jsonlines import LineReader, parse_line, send
from .versions import library_versions

SHUTDOWN_GRACE_SECONDS = 10.0


def warm_imports() -> None:
    """Import what every job needs, so a forked child starts training immediately."""
    import lightgbm  # noqa: F401
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import mlflow  # noqa: F401
    import mlflow.sklearn  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn  # noqa: F401
    from mlflow.tracking import MlflowClient  # noqa: F401

    import threadpoolctl  # noqa: F401

    from . import predict_job, runner  # noqa: F401
    from .adapters import pycaret3  # noqa: F401
    from .spec import load_schema
    from .tasks import families

    families()

    # Caches the children inherit: the schema and the library versions every job reports, and
    # MLflow's map of installed modules to packages, which it builds (about 0.4 s) the first time a
    # process logs a model's requirements: built here once, not once per job.
    load_schema("job-spec.schema.json")
    library_versions()
    try:
        from mlflow.utils.requirements_utils import _init_modules_to_packages_map
    except ImportError:  # a later MLflow without it builds the map per job, as before
        pass
    else:
        _init_modules_to_packages_map()

    # Everything imported so far lives as long as the worker: moved out of the collector's sight,
    # a full collection in a job scans only the job's own objects. PyCaret collects after every
    # model it trains, and over these ~300,000 objects each collection took 0.2 s, a few seconds
    # per comparison. (Untouched by the collector, the pages also stay shared with forked jobs.)
    gc.collect()
    gc.freeze()


@dataclass
class Child:
    pid: int
    job_id: str
    pidfd: int | None
    limit_mb: float | None = None
    peak_mb: float = 0.0
    over_limit: bool = False


def tree_memory_mb(pid: int) -> float:
    """Memory of a job: the proportional set size (PSS) of its process and every process it started.

    PSS, not RSS: a forked job shares the worker's imported libraries copy-on-write, and PSS counts
    shared pages once across all sharers, so the figure is what the job really adds.
    """
    import psutil

    total = 0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for proc in procs:
        try:
            info = proc.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except psutil.Error:
            continue
    return total / (1 << 20)


def kill_tree(pid: int) -> None:
    """SIGKILL a job process and everything it started (forked compare helpers...)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.Error:
        return
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            continue


def _exit_message(child: Child, status: int) -> dict[str, Any]:
    memory: dict[str, Any] = {"peak_mb": round(child.peak_mb, 1)}
    if child.over_limit:
        memory.update(reason="memory", limit_mb=child.limit_mb)
    if os.WIFSIGNALED(status):
        return {"worker": "exit", "job_id": child.job_id, "pid": child.pid, "code": None, "signal": os.WTERMSIG(status), **memory}
    return {"worker": "exit", "job_id": child.job_id, "pid": child.pid, "code": os.waitstatus_to_exitcode(status), "signal": None, **memory}


def _run_child(spec: Any, log_path: str, control_fd: int, out_fd: int) -> None:
    """In the forked child: job log on fd 1/2, events on out_fd; never returns."""
    code = 70
    from . import cancel

    # First thing: a cancel that arrives while the child sets up is recorded, and the job
    # reports it as cancelled as soon as it starts.
    token = cancel.CancelToken()
    cancel.install(token)
    try:
        os.close(control_fd)
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        os.close(log_fd)
        from .runner import execute
        from .threads import limit_loaded_pools, set_thread_env

        n_jobs = spec.get("n_jobs", 1) if isinstance(spec, dict) else 1
        n_jobs = n_jobs if isinstance(n_jobs, int) and n_jobs > 0 else 1
        set_thread_env(n_jobs)  # for processes the job starts (joblib/loky)
        _limits = limit_loaded_pools(n_jobs)  # for runtimes this process loaded before the job
        code = execute(spec, out_fd, token)
        del _limits
    except BaseException:  # noqa: BLE001 -- a child must never fall back into the worker loop
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve_forever(control_fd: int = 3, out_fd: int = 4) -> int:
    stopping = {"flag": False}

    def on_signal(signum: int, frame: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    warm_imports()
    send(out_fd, {"worker": "ready", "pid": os.getpid(), "versions": library_versions()})

    reader = LineReader(control_fd)
    child: Child | None = None

    def reap(block: bool) -> bool:
        nonlocal child
        if child is None:
            return True
        pid, status = os.waitpid(child.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        send(out_fd, _exit_message(child, status))
        if child.pidfd is not None:
            os.close(child.pidfd)
        child = None
        return True

    def watch_memory(job: Child) -> None:
        """Track the job's peak memory; over its limit, stop it at once (the exit message says why)."""
        used = tree_memory_mb(job.pid)
        job.peak_mb = max(job.peak_mb, used)
        if job.limit_mb is not None and used > job.limit_mb and not job.over_limit:
            job.over_limit = True
            kill_tree(job.pid)

    def stop_child() -> None:
        if child is None:
            return
        try:
            os.kill(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS
        while not reap(block=False):
            if time.monotonic() > deadline:
                os.kill(child.pid, signal.SIGKILL)
                reap(block=True)
                return
            time.sleep(0.05)

    while not stopping["flag"]:
        watch = [control_fd] + ([child.pidfd] if child and child.pidfd is not None else [])
        try:
            readable, _, _ = select.select(watch, [], [], 0.2)
        except InterruptedError:
            continue
        if child is not None and not reap(block=False):
            watch_memory(child)
        if control_fd not in readable:
            continue
        for line in reader.read_available():
            message, problem = parse_line(line)
            if message is None:
                send(out_fd, {"worker": "error", "message": f"bad control line: {problem}"})
                continue
            op = message.get("op")
            if op == "run":
                spec, log_path = message.get("spec"), message.get("log_path")
                job_id = spec.get("job_id") if isinstance(spec, dict) else None
                if child is not None:
                    send(out_fd, {"worker": "rejected", "job_id": job_id, "reason": f"busy with job {child.job_id}"})
                    continue
                if not isinstance(log_path, str) or not os.path.isabs(log_path):
                    send(out_fd, {"worker": "rejected", "job_id": job_id, "reason": "log_path must be an absolute path"})
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _run_child(spec, log_path, control_fd, out_fd)
                pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
                limit = message.get("memory_mb")
                child = Child(pid, str(job_id), pidfd, float(limit) if isinstance(limit, (int, float)) and limit > 0 else None)
            elif op == "cancel":
                if child is not None and message.get("job_id") == child.job_id:
                    try:
                        os.kill(child.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            elif op == "shutdown":
                stopping["flag"] = True
                break
            else:
                send(out_fd, {"worker": "error", "message": f"unknown op {op!r}; expected run, cancel or shutdown"})
        if reader.eof:
            break
    stop_child()
    return 0
