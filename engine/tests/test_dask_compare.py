"""compare_models on a Dask cluster against a local compare_models (real PyCaret, real Dask processes).

A scheduler and two workers are started as processes of their own (``dask scheduler``,
``dask worker``) from this engine's environment, in a folder outside the engine (caretflow's own
code cannot be imported there: only the pickled experiment reaches them). The same comparison
(juice, three fast models and a custom estimator, three folds, one seed) runs here and on the
cluster: same models, same scores, same ranking, same best model. Every process the tests start
is stopped, and checked gone, at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest
from sklearn.naive_bayes import GaussianNB
from threadpoolctl import threadpool_limits

from caretflow_engine.adapters.pycaret3 import SupervisedSession
from caretflow_engine.adapters.pycaret3.common import FIT_TIME
from caretflow_engine.adapters.pycaret3.dask_compare import dask_client
from caretflow_engine.errors import EngineError

from .conftest import free_port, train_spec
from .helpers import REPO_DIR, FdProcess, assert_protocol
from .test_fast_compare import Recorder

DASK = str(Path(sys.executable).with_name("dask"))
MODELS = ["lr", "dt", "ridge"]
# A custom estimator joins them: the backend labels its row by position, caretflow by its class.
CUSTOM = {"import_path": "sklearn.naive_bayes.GaussianNB"}
IDS = [*MODELS, "custom:GaussianNB"]


class DaskProcesses:
    """A scheduler, and workers started on demand, each in a process group of its own."""

    def __init__(self, home: Path):
        self.home = home
        self.procs: list[subprocess.Popen[bytes]] = []
        self.address = f"tcp://127.0.0.1:{free_port()}"

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        out = open(self.home / log, "ab")
        proc = subprocess.Popen([DASK, *args], cwd=self.home, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.procs.append(proc)
        return proc

    def scheduler(self) -> None:
        port = self.address.rsplit(":", 1)[1]
        self.start("scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard", log="scheduler.log")

    def worker(self, n: int) -> None:
        # --nthreads 1: one model at a time per worker; the nanny gives it one BLAS thread. PyCaret is
        # imported as the worker starts (as a long-lived worker would have it), while this process sets up.
        self.start(
            "worker", self.address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{n}",
            "--preload", "pycaret.classification", log=f"worker{n}.log",
        )

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            client.wait_for_workers(n, timeout=120)

    def executed(self) -> dict[str, int]:
        """Tasks each worker has run so far."""
        from distributed import Client

        with Client(self.address, timeout=60) as client:
            return client.run(lambda dask_worker: dask_worker.state.executed_count)

    def descendants(self) -> list[psutil.Process]:
        found = []
        for proc in self.procs:
            try:
                found += [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                pass
        return found

    def stop(self) -> None:
        every = self.descendants()
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        _, alive = psutil.wait_procs(every, timeout=10)
        for p in alive:
            p.kill()
        assert not alive, f"left running after SIGTERM: {alive}"

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(self.home.glob("*.log")))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskProcesses]:
    dask = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        dask.scheduler()
        dask.worker(1)
        dask.worker(2)
        yield dask
    finally:
        dask.stop()


@pytest.fixture(scope="module")
def session() -> SupervisedSession:
    s = SupervisedSession("classification")
    s.setup(pd.read_csv(REPO_DIR / "demo-data/juice.csv"), "Purchase", ignore_features=[], train_size=0.7, folds=3, seed=123, n_jobs=1)
    return s


@pytest.fixture(scope="module")
def local(session: SupervisedSession) -> tuple[Any, pd.DataFrame, Recorder]:
    """compare_models in this process, one BLAS thread as the Dask workers have."""
    recorder = Recorder()
    with threadpool_limits(1):
        best, board = session.compare([*MODELS, GaussianNB()], "Accuracy", recorder.hooks(), workers=1)
    return best, board.copy(), recorder


def metric_columns(board: pd.DataFrame) -> list[str]:
    return [c for c in board.columns if c not in ("Model", FIT_TIME)]


def test_dask_comparison_gives_the_local_leaderboard(cluster, session, local):
    local_best, local_board, local_rec = local
    cluster.wait_for_workers(2)
    before = cluster.executed()
    rec = Recorder()
    best, board = session.compare([*MODELS, GaussianNB()], "Accuracy", rec.hooks(), dask_scheduler=cluster.address)
    executed = {w: n - before.get(w, 0) for w, n in cluster.executed().items()}

    assert sorted(local_board.index) == sorted(IDS)
    assert list(board.index) == list(local_board.index), cluster.logs()
    assert list(board.columns) == list(local_board.columns)
    assert list(board["Model"]) == list(local_board["Model"])
    cols = metric_columns(board)
    assert len(cols) >= 7  # Accuracy, AUC, Recall, Prec., F1, Kappa, MCC
    assert ((board[cols].astype(float) - local_board[cols].astype(float)).abs() <= 1e-9).all().all()
    assert type(best) is type(local_best) and best.get_params() == local_best.get_params()
    assert hasattr(best, "classes_")  # refitted on the training split, as compare_models returns it
    assert session.exp.pull() is board

    # The hooks run here, once per model, with the means the local run streamed (no folds, no wall time).
    assert {pid for _, _, pid in rec.calls} == {os.getpid()}
    for model_id in IDS:
        assert rec.count("start", model_id) == 1 and rec.count("done", model_id) == 1
        got, want = rec.results[model_id], local_rec.results[model_id]
        for metric in cols:
            assert got.metrics[metric] == pytest.approx(want.metrics[metric], abs=1e-9), (model_id, metric)
        assert got.folds == [] and got.wall_seconds is None
        assert got.params == want.params
    assert not rec.failures

    # The models were cross-validated on the workers: they ran tasks (one per model, plus Fugue's own).
    assert sum(executed.values()) >= len(IDS) and len(executed) == 2, executed


def test_unreachable_scheduler_is_a_transient_error_naming_it():
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    with pytest.raises(EngineError) as caught, dask_client(address, timeout=2):
        pass
    assert caught.value.name == "DaskSchedulerUnreachable" and caught.value.transient
    assert address in caught.value.message and "dask scheduler" in (caught.value.hint or "")
    assert time.monotonic() - started < 20


def test_scheduler_without_workers_is_a_transient_error(tmp_path):
    lonely = DaskProcesses(tmp_path)
    try:
        lonely.scheduler()
        with pytest.raises(EngineError) as caught, dask_client(lonely.address, timeout=60, workers_timeout=1):
            pass
    finally:
        lonely.stop()
    assert caught.value.name == "DaskNoWorkers" and caught.value.transient
    assert lonely.address in caught.value.message


def test_training_job_on_dask_logs_the_leaderboard_and_the_best_model(cluster, local, mlflow_server, juice, tmp_path):
    """The whole engine job, in a job forked by the warm worker as caretflow runs it: rows and child
    runs from the driver once the cluster is done, the final run with the best model, and the same
    leaderboard as the local comparison."""
    _, local_board, _ = local
    spec = train_spec("dask-job", mlflow_server, juice, include=MODELS, custom_models=[CUSTOM], folds=3, dask_scheduler=cluster.address)
    worker = FdProcess(["worker"], tmp_path / "worker.log")
    try:
        assert worker.read(timeout=300)["worker"] == "ready"
        cluster.wait_for_workers(2)
        worker.send({"op": "run", "spec": spec, "log_path": str(tmp_path / "dask-job.log")})
        messages = worker.read_until(lambda m: m.get("worker") == "exit", timeout=300)
        worker.send({"op": "shutdown"})
        assert worker.close(timeout=30) == 0
    finally:
        worker.kill()
    events = [m for m in messages if "type" in m]
    assert_protocol(events)
    result = events[-1]
    assert result["status"] == "succeeded", (result, (tmp_path / "dask-job.log").read_text()[-3000:], cluster.logs())
    train = result["result"]

    leaderboard = train["leaderboard"]
    assert [r["model_id"] for r in leaderboard] == list(local_board.index)
    for row in leaderboard:
        for metric in metric_columns(local_board):
            assert row["metrics"][metric] == pytest.approx(float(local_board.loc[row["model_id"], metric]), abs=1e-9)
    assert train["best_model_id"] == local_board.index[0]

    stages = [e["message"] for e in events if e["type"] == "stage" and e["stage"] == "compare"]
    assert stages and cluster.address in stages[0]
    rows = [e["row"] for e in events if e["type"] == "leaderboard_row"]
    assert sorted(r["model_id"] for r in rows) == sorted(IDS)

    from mlflow import MlflowClient

    client = MlflowClient(mlflow_server)
    parent = client.get_run(train["parent_run_id"])
    assert parent.data.params["dask_scheduler"] == cluster.address
    for row in leaderboard:
        child = client.get_run(row["mlflow_run_id"])
        assert child.info.status == "FINISHED"
        assert child.data.tags["mlflow.parentRunId"] == train["parent_run_id"]
        assert child.data.metrics["Accuracy"] == pytest.approx(row["metrics"]["Accuracy"])
    final = client.get_run(train["best_run_id"])
    assert final.data.tags["caretflow.role"] == "final" and final.info.status == "FINISHED"
