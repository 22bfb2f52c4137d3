"""compare_fast against PyCaret's own compare_models on juice (real PyCaret, 3 folds, fast models).

Same per-fold metrics and ranking, hooks in the calling process, failures skipped, and no
helper process left behind after a cancel (SIGTERM) or a SIGKILL of the job process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest
from sklearn.naive_bayes import GaussianNB
from threadpoolctl import threadpool_limits

from caretflow_engine.adapters.pycaret3 import CompareHooks, ModelResult, SupervisedSession
from caretflow_engine.adapters.pycaret3.common import FIT_TIME
from caretflow_engine.adapters.pycaret3.fast_compare import can_fork
from caretflow_engine.errors import EngineError

from .helpers import ENGINE_DIR, PYTHON, REPO_DIR

MODELS = ["lr", "dt", "ridge", "nb", "lda"]


class Recorder:
    """CompareHooks that record each call with the pid of the process that made it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []
        self.results: dict[str, ModelResult] = {}
        self.done_counts: list[int] = []
        self.failures: dict[str, BaseException] = {}

    def hooks(self) -> CompareHooks:
        def start(model_id: str, name: str, done: int, total: int) -> None:
            self.calls.append(("start", model_id, os.getpid()))

        def done(result: ModelResult, done: int, total: int) -> None:
            self.calls.append(("done", result.model_id, os.getpid()))
            self.results[result.model_id] = result
            self.done_counts.append(done)

        def failed(model_id: str, name: str, exc: BaseException) -> None:
            self.calls.append(("failed", model_id, os.getpid()))
            self.failures[model_id] = exc

        return CompareHooks(start, done, failed)

    def count(self, kind: str, model_id: str) -> int:
        return sum(1 for k, m, _ in self.calls if k == kind and m == model_id)


@pytest.fixture(scope="module")
def session() -> SupervisedSession:
    s = SupervisedSession("classification")
    s.setup(pd.read_csv(REPO_DIR / "demo-data/juice.csv"), "Purchase", ignore_features=[], train_size=0.7, folds=3, seed=123, n_jobs=1)
    return s


@pytest.fixture(scope="module")
def reference(session: SupervisedSession) -> tuple[Any, pd.DataFrame, Recorder]:
    """PyCaret's compare_models through today's path (SupervisedSession.compare with one worker: compare_models itself, hooked).

    One BLAS thread, as in compare_fast's helpers (and in PyCaret's own n_jobs=-1 fold workers):
    LogisticRegression's lbfgs lands on different optima with 1 or 2 BLAS threads on unscaled data.
    """
    recorder = Recorder()
    with threadpool_limits(1):
        best, board = session.compare(MODELS, "Accuracy", recorder.hooks(), workers=1)
    return best, board.copy(), recorder


def metric_columns(board: pd.DataFrame) -> list[str]:
    return [c for c in board.columns if c not in ("Model", FIT_TIME)]


def assert_same_results(fast: Recorder, ref: Recorder, models: list[str]) -> None:
    for model_id in models:
        got, want = fast.results[model_id], ref.results[model_id]
        assert len(got.folds) == len(want.folds) == 3
        for fold_got, fold_want in zip(got.folds, want.folds):
            assert set(fold_got) == set(fold_want)
            for metric, value in fold_want.items():
                assert fold_got[metric] == pytest.approx(value, abs=1e-9), (model_id, metric)
        for metric, value in want.metrics.items():
            if metric != FIT_TIME:
                assert got.metrics[metric] == pytest.approx(value, abs=1e-9), (model_id, metric)
        assert got.params == want.params


def test_same_metrics_ranking_and_best_as_compare_models(session, reference):
    ref_best, ref_board, ref_rec = reference
    rec = Recorder()
    best, board = session.compare(MODELS, "Accuracy", rec.hooks(), workers=2)

    assert list(board.index) == list(ref_board.index)
    assert list(board.columns) == list(ref_board.columns)
    assert list(board["Model"]) == list(ref_board["Model"])
    cols = metric_columns(board)
    assert ((board[cols] - ref_board[cols]).abs() <= 1e-9).all().all()
    assert_same_results(rec, ref_rec, MODELS)
    assert type(best) is type(ref_best) and best.get_params() == ref_best.get_params()
    assert hasattr(best, "classes_")  # refitted on the training split, as compare_models returns it
    assert session.exp.pull() is board  # what compare_models leaves for pull()


def test_hooks_run_once_per_model_in_the_calling_process(session):
    rec = Recorder()
    session.compare(MODELS, "Accuracy", rec.hooks(), workers=2)
    assert {pid for _, _, pid in rec.calls} == {os.getpid()}
    for model_id in MODELS:
        assert rec.count("start", model_id) == 1 and rec.count("done", model_id) == 1
        starts = [i for i, (k, m, _) in enumerate(rec.calls) if k == "start" and m == model_id]
        dones = [i for i, (k, m, _) in enumerate(rec.calls) if k == "done" and m == model_id]
        assert starts[0] < dones[0]
    assert rec.done_counts == [1, 2, 3, 4, 5]
    assert not rec.failures


def test_helpers_only_where_they_give_the_same_result(session):
    exp = session.exp
    assert can_fork(exp, MODELS, 2)
    assert not can_fork(exp, MODELS, 1)  # one core: compare_models itself
    assert not can_fork(exp, ["lr"], 2)  # one model
    assert not can_fork(exp, ["lr", "lr"], 2)  # rows are keyed by model id
    assert not can_fork(exp, ["lr", GaussianNB()], 2)  # a custom estimator: compare_models compares it


def test_one_worker_is_compare_models_itself(session, reference):
    _, ref_board, ref_rec = reference
    rec = Recorder()
    with threadpool_limits(1):
        _, board = session.compare(MODELS, "Accuracy", rec.hooks(), workers=1)
    cols = metric_columns(board)
    assert list(board.index) == list(ref_board.index)
    assert ((board[cols] - ref_board[cols]).abs() <= 1e-9).all().all()
    # One model after another in PyCaret's order, as compare_models runs them.
    assert [(k, m) for k, m, _ in rec.calls] == [(k, m) for m in MODELS for k in ("start", "done")]
    assert_same_results(rec, ref_rec, MODELS)


@pytest.fixture
def broken(session):
    """Make models fail: invalid constructor args, restored afterwards."""
    containers = session.exp._all_models_internal
    saved = {m: dict(c.args) for m, c in containers.items()}

    def breaker(model_id: str, **bad_args: Any) -> None:
        containers[model_id].args.update(bad_args)

    yield breaker
    for model_id, args in saved.items():
        containers[model_id].args = args


def test_a_failing_model_is_reported_and_skipped(session, reference, broken):
    _, ref_board, ref_rec = reference
    broken("dt", max_depth=-3)  # sklearn rejects it at fit: every fold fails
    rec = Recorder()
    _, board = session.compare(MODELS, "Accuracy", rec.hooks(), workers=2)
    assert "dt" not in board.index
    assert list(board.index) == [m for m in ref_board.index if m != "dt"]
    assert rec.count("failed", "dt") == 1 and rec.count("done", "dt") == 0
    assert "max_depth" in str(rec.failures["dt"])
    assert_same_results(rec, ref_rec, [m for m in MODELS if m != "dt"])


def test_every_model_failing_is_a_user_error(session, broken):
    broken("dt", max_depth=-3)
    broken("ridge", alpha=-1.0)
    rec = Recorder()
    with pytest.raises(EngineError) as info:
        session.compare(["dt", "ridge"], "Accuracy", rec.hooks(), workers=2)
    assert info.value.name == "AllModelsFailed"
    assert set(rec.failures) == {"dt", "ridge"}


class SelfKillingNB(GaussianNB):
    """Dies like a process the OOM killer picks: SIGKILL in the middle of fit."""

    def fit(self, X, y, sample_weight=None):  # noqa: N803 -- sklearn's signature
        os.kill(os.getpid(), signal.SIGKILL)


def test_a_helper_killed_mid_model_fails_that_model(session, reference):
    _, ref_board, ref_rec = reference
    container = session.exp._all_models_internal["nb"]
    original = container.class_def
    container.class_def = SelfKillingNB
    children_before = {c.pid for c in psutil.Process().children()}
    try:
        rec = Recorder()
        _, board = session.compare(MODELS, "Accuracy", rec.hooks(), workers=2)
    finally:
        container.class_def = original
    assert rec.count("failed", "nb") == 1
    message = str(rec.failures["nb"])
    assert "Naive Bayes" in message and "SIGKILL" in message and "memory" in message
    # The helper was replaced and the other models ran as usual.
    assert list(board.index) == [m for m in ref_board.index if m != "nb"]
    assert_same_results(rec, ref_rec, [m for m in MODELS if m != "nb"])
    assert {c.pid for c in psutil.Process().children()} == children_before  # every helper reaped


# ------------------------------------------------------------------ a job process, signalled
class JobScript:
    """tests/fast_compare_job.py in its own process, its JSON lines on an events fd."""

    def __init__(self, tmp: Path, phases: str):
        self.events_path = tmp / "events.ndjson"
        fd = os.open(self.events_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self.log_path = tmp / "job.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "tests.fast_compare_job", str(fd), phases],
                cwd=ENGINE_DIR, pass_fds=(fd,), stdout=log, stderr=subprocess.STDOUT,
            )
        os.close(fd)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]

    def wait_for(self, kind: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [e for e in self.events() if e["event"] == kind]
            if found:
                return found[0]
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {kind!r} event within {timeout}s: {self.events()}\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead, waiting for init to reap it
    except psutil.NoSuchProcess:
        return True


def test_sigterm_kills_and_reaps_helpers_after_openmp_use(tmp_path):
    job = JobScript(tmp_path, "openmp,slow")
    try:
        # Helpers forked after the process used OpenMP with 2 threads do not deadlock.
        compared = job.wait_for("compared", timeout=120)
        assert compared["models"] and set(compared["models"]) == {"lightgbm", "dt", "lr"}
        start = job.wait_for("start", timeout=60)
        helpers = start["helpers"]
        assert len(helpers) == 2
        time.sleep(0.5)  # well inside the slow models' cross-validation
        for pid in helpers:  # no helper holds the job's event fd (they may hold it for a moment after fork)
            fd_dir = Path(f"/proc/{pid}/fd")
            assert str(job.events_path) not in {os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)}
        sent = time.time()
        job.proc.send_signal(signal.SIGTERM)
        assert job.proc.wait(timeout=60) == 0
    finally:
        job.kill()
    cancelled = job.wait_for("cancelled", timeout=1)
    # Promptly (the slow models would take minutes), and every helper already reaped.
    assert cancelled["at"] - sent < 10
    assert cancelled["children"] == []
    assert all(gone(pid) for pid in helpers)
    kinds = [e["event"] for e in job.events()]
    assert kinds.count("compared") == 1 and kinds[-1] == "cancelled"  # the slow compare never ended


def test_helpers_die_with_a_sigkilled_job(tmp_path):
    job = JobScript(tmp_path, "slow")
    try:
        helpers = job.wait_for("start", timeout=120)["helpers"]
        assert len(helpers) == 2 and not any(gone(pid) for pid in helpers)
        job.proc.kill()
        job.proc.wait(timeout=10)
    finally:
        job.kill()
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(gone(pid) for pid in helpers)
