"""Test helpers: run engine processes for real and read their event streams."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

ENGINE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = ENGINE_DIR.parent
PYTHON = sys.executable


@cache
def event_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ENGINE_DIR / "caretflow_engine/schema/event.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def assert_protocol(events: list[dict[str, Any]]) -> None:
    """Every event valid, seq gapless from 0, started first, exactly one finished and it is last."""
    validator = event_validator()
    for event in events:
        problems = [e.message for e in validator.iter_errors(event)]
        assert not problems, f"invalid event {event}: {problems}"
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "started"
    assert [e["type"] for e in events].count("finished") == 1
    assert events[-1]["type"] == "finished"
    assert len({e["job_id"] for e in events}) == 1


def parse_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def engine_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


class JobProcess:
    """`python -m caretflow_engine run` with events on a file descriptor of its own."""

    def __init__(self, spec: dict[str, Any], tmp: Path):
        tmp.mkdir(parents=True, exist_ok=True)
        self.spec_path = tmp / f"{spec.get('job_id', 'job')}.spec.json"
        self.spec_path.write_text(json.dumps(spec))
        self.events_path = tmp / f"{spec.get('job_id', 'job')}.events.ndjson"
        self.log_path = tmp / f"{spec.get('job_id', 'job')}.log"
        fd = os.open(self.events_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "caretflow_engine", "run", "--spec", str(self.spec_path), "--events-fd", str(fd)],
                cwd=ENGINE_DIR,
                pass_fds=(fd,),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=engine_env(),
            )
        finally:
            os.close(fd)
            log.close()

    def events(self) -> list[dict[str, Any]]:
        return parse_lines(self.events_path.read_bytes())

    def wait_for(self, predicate: Any, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events():
                if predicate(event):
                    return event
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"no matching event within {timeout}s; log tail:\n{self.log_tail()}\nevents: {self.events()}")

    def wait(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


def cancel_job(spec: dict[str, Any], tmp: Path, when: Any, timeout: float = 300, settle: float = 0.0) -> tuple[int, float, list[dict[str, Any]]]:
    """Run a job, SIGTERM it once an event matches ``when`` (and ``settle`` seconds more);
    returns (exit code, seconds from the signal to the exit, events)."""
    job = JobProcess(spec, tmp)
    try:
        job.wait_for(when, timeout=timeout)
        time.sleep(settle)
        sent = time.monotonic()
        job.proc.send_signal(signal.SIGTERM)
        code = job.wait(timeout=60)
        took = time.monotonic() - sent
    finally:
        job.kill()
    return code, took, job.events()


def run_job(spec: dict[str, Any], tmp: Path, timeout: float = 600) -> tuple[int, list[dict[str, Any]]]:
    """Run a job as caretflow's server does: forked from a warm worker (shared by the session, so
    PyCaret is imported once, not once per job). Returns (exit code, events)."""
    return warm_worker().run(spec, tmp, timeout)


def run_cold_job(spec: dict[str, Any], tmp: Path, timeout: float = 600) -> tuple[int, list[dict[str, Any]]]:
    """Run a job in a process of its own: `python -m caretflow_engine run --spec ... --events-fd ...`."""
    job = JobProcess(spec, tmp)
    try:
        code = job.wait(timeout)
    finally:
        job.kill()
    events = job.events()
    if not events or events[-1]["type"] != "finished":
        raise AssertionError(f"job did not finish; log tail:\n{job.log_tail()}")
    return code, events


def finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    return events[-1]


def error_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1, events
    return errors[0]["error"]


class FdProcess:
    """A process speaking JSON lines on fds 3 (in) and 4 (out), like the worker and `serve`."""

    def __init__(self, args: list[str], log_path: Path):
        ctl_r, self.ctl_w = os.pipe()
        self.out_r, out_w = os.pipe()

        def wire() -> None:  # runs in the child before exec (and before close_fds)
            import fcntl

            # Move both ends above 4 first, so placing one cannot clobber the other.
            high_r = fcntl.fcntl(ctl_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "caretflow_engine", *args],
            cwd=ENGINE_DIR,
            pass_fds=(3, 4),  # kept open through close_fds; wire() points them at the pipes
            preexec_fn=wire,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=engine_env(),
        )
        log.close()
        os.close(ctl_r)
        os.close(out_w)
        self.buffer = b""
        self.log_path = log_path

    def send(self, message: dict[str, Any]) -> None:
        os.write(self.ctl_w, (json.dumps(message) + "\n").encode())

    def read(self, timeout: float) -> dict[str, Any]:
        import select

        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no message within {timeout}s; log tail:\n{self.log_path.read_text(errors='replace')[-3000:]}")
            ready, _, _ = select.select([self.out_r], [], [], left)
            if ready:
                chunk = os.read(self.out_r, 1 << 16)
                if not chunk:
                    raise AssertionError(f"process closed its output; log:\n{self.log_path.read_text(errors='replace')[-3000:]}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def read_until(self, predicate: Any, timeout: float) -> list[dict[str, Any]]:
        """Messages up to and including the first that matches."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            message = self.read(max(0.01, deadline - time.monotonic()))
            seen.append(message)
            if predicate(message):
                return seen

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self, timeout: float = 30) -> int:
        try:
            os.close(self.ctl_w)
        except OSError:
            pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            try:
                os.close(self.out_r)
            except OSError:
                pass


class WarmWorker:
    """`python -m caretflow_engine worker`, as caretflow runs jobs: libraries imported once, each
    job in a forked child, one at a time."""

    def __init__(self, tmp: Path):
        tmp.mkdir(parents=True, exist_ok=True)
        self.tmp = tmp
        self.process = FdProcess(["worker"], tmp / "worker.log")
        ready = self.process.read(timeout=300)
        assert ready.get("worker") == "ready", ready

    def run(self, spec: dict[str, Any], tmp: Path, timeout: float = 600) -> tuple[int, list[dict[str, Any]]]:
        """The job's exit code (minus the signal that ended it, as subprocess gives) and its events;
        its log is <tmp>/<job_id>.log."""
        tmp.mkdir(parents=True, exist_ok=True)
        log_path = tmp / f"{spec.get('job_id', 'job')}.log"
        self.process.send({"op": "run", "spec": spec, "log_path": str(log_path)})
        try:
            messages = self.process.read_until(lambda m: m.get("worker") in ("exit", "rejected", "error"), timeout=timeout)
        except AssertionError:
            self.kill()  # a job still running: the next one gets a fresh worker
            raise
        last = messages[-1]
        if last.get("worker") != "exit":
            raise AssertionError(f"the worker did not run job {spec.get('job_id')}: {last}")
        events = [m for m in messages if "type" in m]
        if not events or events[-1]["type"] != "finished":
            tail = log_path.read_text(errors="replace")[-4000:] if log_path.exists() else ""
            raise AssertionError(f"job did not finish ({last}); log tail:\n{tail}")
        return (last["code"] if last["code"] is not None else -last["signal"]), events

    def alive(self) -> bool:
        return self.process.proc.poll() is None

    def kill(self) -> None:
        """Ends the worker and every process under it (the job it runs, that job's helpers)."""
        import psutil

        if self.alive():
            try:
                for child in psutil.Process(self.process.proc.pid).children(recursive=True):
                    child.kill()
            except psutil.NoSuchProcess:
                pass
        self.process.kill()

    def close(self) -> None:
        try:
            if self.alive():
                self.process.send({"op": "shutdown"})
                self.process.close(timeout=30)
        finally:
            self.kill()


_warm: dict[str, WarmWorker] = {}


def warm_worker() -> WarmWorker:
    """The session's warm worker, started on first use (after conftest set CARETFLOW_DATA_ROOT),
    closed by conftest at the end of the session; a dead one is replaced."""
    worker = _warm.get("worker")
    if worker is None or not worker.alive():
        import tempfile

        worker = _warm["worker"] = WarmWorker(Path(tempfile.mkdtemp(prefix="caretflow-warm-worker-")))
    return worker


def close_warm_worker() -> None:
    worker = _warm.pop("worker", None)
    if worker is not None:
        import shutil

        try:
            worker.close()
        finally:
            shutil.rmtree(worker.tmp, ignore_errors=True)


def post_json(url: str, body: dict[str, Any]) -> dict[str, Any]:
    import urllib.request

    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def register_model(tracking_uri: str, run_id: str, name: str, alias: str = "champion") -> str:
    """Register a run's model over MLflow's REST API as caretflow's tracking package does; returns
    the ``models:/NAME@ALIAS`` URI."""
    from mlflow.tracking import MlflowClient

    source = MlflowClient(tracking_uri).get_run(run_id).data.tags["caretflow.model_source"]
    api = f"{tracking_uri}/api/2.0/mlflow"
    post_json(f"{api}/registered-models/create", {"name": name})
    body = {"name": name, "source": source, "run_id": run_id}
    version = post_json(f"{api}/model-versions/create", body)["model_version"]
    post_json(f"{api}/registered-models/alias", {"name": name, "alias": alias, "version": version["version"]})
    return f"models:/{name}@{alias}"


def predict_job_spec(job_id: str, tracking_uri: str, model_uri: str, dataset: dict[str, Any],
                     **extra: Any) -> dict[str, Any]:
    return {"v": 1, "job_id": job_id, "tracking_uri": tracking_uri, "kind": "predict", "model_uri": model_uri,
            "input": dataset, **extra}
