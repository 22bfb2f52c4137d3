"""The warm worker: jobs in forked children, cancel, a crashing child, then another job."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from caretflow_engine.model_store import read_model_meta

from .conftest import train_spec
from .helpers import FdProcess, assert_protocol


def is_exit(message):
    return message.get("worker") == "exit"


def test_worker_runs_jobs_in_a_row_and_survives_a_crash(mlflow_server, juice, tmp_path):
    worker = FdProcess(["worker"], tmp_path / "worker.log")
    try:
        ready = worker.read(timeout=300)
        assert ready["worker"] == "ready" and ready["versions"]["pycaret"] == "3.3.2"
        start_latencies = []

        def start(job_id, **overrides):
            spec = train_spec(job_id, mlflow_server, juice, experiment_name="worker-tests", **overrides)
            sent = time.monotonic()
            worker.send({"op": "run", "spec": spec, "log_path": str(tmp_path / f"{job_id}.log")})
            started = worker.read(timeout=60)
            start_latencies.append(time.monotonic() - sent)
            assert started["type"] == "started" and started["job_id"] == job_id, started
            return started

        # 1. cancelled mid-compare through the control channel
        first = start("w-cancel", include=["lr", "rf", "et", "gbc"])
        seen = [first] + worker.read_until(lambda m: m.get("type") == "leaderboard_row", timeout=300)
        worker.send({"op": "cancel", "job_id": "w-cancel"})
        seen += worker.read_until(is_exit, timeout=60)
        events = [m for m in seen if "type" in m]
        assert_protocol(events)
        assert events[-1]["status"] == "cancelled"
        assert seen[-1] == {"worker": "exit", "job_id": "w-cancel", "pid": first["pid"], "code": 0, "signal": None,
                            "peak_mb": seen[-1]["peak_mb"]}
        assert seen[-1]["peak_mb"] > 0  # the job's measured memory (PSS) travels with its exit

        # 2. a child killed hard (as by the OOM killer) does not take the worker down
        crashed = start("w-crash", include=["lr", "rf"])
        os.kill(crashed["pid"], signal.SIGKILL)
        tail = worker.read_until(is_exit, timeout=60)
        assert tail[-1]["signal"] == signal.SIGKILL and tail[-1]["code"] is None
        assert not any(m.get("type") == "finished" for m in tail)

        # 3. the same worker runs the next job to completion
        ok = start("w-ok", include=["dt"], ignore_columns=["Id", "STORE"])
        rest = worker.read_until(is_exit, timeout=300)
        events = [ok] + [m for m in rest if "type" in m]
        assert_protocol(events)
        assert events[-1]["status"] == "succeeded" and rest[-1]["code"] == 0
        # Ignored columns are not model inputs: the signature leaves them out.
        local = MlflowClient(mlflow_server).download_artifacts(events[-1]["result"]["best_run_id"], "model", str(tmp_path))
        _, columns = read_model_meta(Path(local))
        names = [name for name, _ in columns]
        assert "LoyalCH" in names and "Id" not in names and "STORE" not in names and "Purchase" not in names
        assert (tmp_path / "w-ok.log").exists()  # the child's stdout/stderr went to its log

        print(f"warm worker job start latency (run sent -> started event): {[round(t, 3) for t in start_latencies]} s")
        worker.send({"op": "shutdown"})
        assert worker.close(timeout=30) == 0
    finally:
        worker.kill()


def test_worker_stops_a_job_over_its_memory_limit(mlflow_server, juice, tmp_path):
    """A job whose processes use more than the limit is killed by the worker, which says so; the
    worker itself goes on (the server then fails the job as OutOfMemory and ends its MLflow runs)."""
    import psutil

    worker = FdProcess(["worker"], tmp_path / "worker.log")
    try:
        assert worker.read(timeout=300)["worker"] == "ready"
        # Degree-5 products of juice's 17 features: tens of thousands of columns, well over 400 MB.
        spec = train_spec("w-oom", mlflow_server, juice, include=["dt"], experiment_name="worker-tests",
                          setup={"polynomial_features": True, "polynomial_degree": 5})
        worker.send({"op": "run", "spec": spec, "log_path": str(tmp_path / "w-oom.log"), "memory_mb": 400})
        started = worker.read(timeout=60)
        assert started["type"] == "started"
        tail = worker.read_until(is_exit, timeout=300)
        end = tail[-1]
        assert end["reason"] == "memory" and end["limit_mb"] == 400 and end["peak_mb"] > 400, end
        assert end["signal"] == signal.SIGKILL
        assert not psutil.pid_exists(started["pid"]) or psutil.Process(started["pid"]).status() == psutil.STATUS_ZOMBIE
        stages = [m["stage"] for m in tail if m.get("type") == "stage"]
        assert "setup" in stages  # where it was when it went over

        ok = train_spec("w-after-oom", mlflow_server, juice, include=["dt"], experiment_name="worker-tests")
        worker.send({"op": "run", "spec": ok, "log_path": str(tmp_path / "w-after.log"), "memory_mb": 4000})
        rest = worker.read_until(is_exit, timeout=300)
        assert rest[-1]["code"] == 0 and "reason" not in rest[-1] and rest[-1]["peak_mb"] > 0
        worker.send({"op": "shutdown"})
        assert worker.close(timeout=30) == 0
    finally:
        worker.kill()
