"""compare_models spread over a Dask cluster: PyCaret's ``FugueBackend`` on Fugue's Dask engine.

How PyCaret 3.3.2 does it: ``compare_models(parallel=FugueBackend(client))`` pickles the
experiment's ``setup`` arguments (the training data included) and its metrics, and runs one task
per model on the cluster; each task repeats ``setup`` with the same seed on its worker and runs
``compare_models`` for its one model. The driver (this process) gets each model's mean scores and
the model refitted on the training split back, and sorts the rows. So the workers need the same
Python packages as this engine (PyCaret, scikit-learn and the model libraries, at the same
versions), and nothing else: no data store, no MLflow.

What the parallel backend does not give, and what caretflow does instead:

- no rows while the comparison runs (Fugue's progress callback needs an RPC server the workers
  call back): every row is reported, and its MLflow child run logged, when the whole comparison
  has ended;
- only each model's mean over the folds (no per-fold scores, no standard deviations, no
  wall-clock time per model): the child runs hold the means, ``TT (Sec)`` and the parameters;
- a model that fails on a worker is dropped from that worker's result without its error (the
  worker's log has it): it is reported as failed with that hint;
- ties: the driver sorts the rows the backend returns in a random order; here the rows are put
  back in the planned order and sorted stably, so tied models rank as a local comparison ranks them.

Same scores as a local ``compare_models``: each model is cross-validated by ``compare_models``
itself, with the experiment's seed, on the same split (``setup`` is deterministic for a seed).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from ...errors import EngineError, transient_error, user_error
from .common import FIT_TIME, CompareHooks, ModelResult, all_failed, estimator_params, model_id_of, num
from .fast_compare import _sort_order, task_of

CONNECT_TIMEOUT = 15.0  # seconds to reach the scheduler
WORKERS_TIMEOUT = 30.0  # seconds to wait for a scheduler without workers to get one
# Packages whose versions must match between this engine and the workers: they decide the scores.
MATCHED_PACKAGES = ("pycaret", "scikit-learn")


@contextlib.contextmanager
def dask_client(address: str, timeout: float = CONNECT_TIMEOUT, workers_timeout: float = WORKERS_TIMEOUT) -> Iterator[Any]:
    """A ``distributed.Client`` connected to ``address`` (the default client while it is open), closed on the way out.

    Raises a transient error naming the address when the scheduler cannot be reached or has no
    worker, and a user error when the workers run other versions of PyCaret or scikit-learn.
    """
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise transient_error(
            "DaskSchedulerUnreachable",
            f"Could not reach the Dask scheduler at {address} within {timeout:g}s: {_first_line(exc)}",
            f"Check that the scheduler is running (dask scheduler) and that this engine's machine can reach {address}; "
            "then run the job again, or train without dask_scheduler.",
        ) from exc
    try:
        try:
            client.wait_for_workers(1, timeout=workers_timeout)
        except (OSError, TimeoutError) as exc:
            raise transient_error(
                "DaskNoWorkers",
                f"The Dask scheduler at {address} has no workers (waited {workers_timeout:g}s).",
                f"Start workers for it (dask worker {address}) from an environment like this engine's, then run the job again.",
            ) from exc
        check_worker_versions(client, address)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=10)


def check_worker_versions(client: Any, address: str) -> None:
    """Refuse workers whose PyCaret or scikit-learn differ from this engine's (they would score differently)."""
    for package in MATCHED_PACKAGES:
        ours = importlib.metadata.version(package)
        answers: dict[str, Any] = client.run(importlib.metadata.version, package, on_error="return")
        for worker, theirs in sorted(answers.items()):
            if theirs != ours:
                found = "not installed" if isinstance(theirs, BaseException) else theirs
                raise user_error(
                    "DaskWorkerEnvironment",
                    f"The Dask worker {worker} (scheduler {address}) has {package} {found}; this engine has {ours}.",
                    "Start the workers from the same Python environment as caretflow's engine "
                    "(engine/requirements.lock), then run the job again.",
                )


def compare_on_dask(exp: Any, planned: list[Any], sort: str, hooks: CompareHooks, address: str, names: dict[str, str]) -> tuple[Any, pd.DataFrame]:
    """Cross-validate ``planned`` on the Dask cluster at ``address``; returns (best model, leaderboard)
    like ``SupervisedSession.compare``. Hooks run here, one start and one done per model, once every
    model has finished (the backend reports nothing earlier)."""
    from pycaret.parallel import FugueBackend

    task = task_of(exp)
    sort_column, ascending = _sort_order(exp, task, sort)
    with dask_client(address) as client:
        try:
            returned = exp.compare_models(include=list(planned), sort=sort, n_select=len(planned), verbose=False, parallel=FugueBackend(client))
        except Exception as exc:  # JobCancelled is a BaseException and passes through
            raise _cluster_error(exc, address) from exc
    models = returned if isinstance(returned, list) else [returned]
    raw = exp.pull()
    if not models or raw is None or len(raw) == 0:
        raise all_failed()
    board, models = _in_local_order(raw, models, planned, sort_column, ascending)
    exp._display_container.append(board)

    total = len(planned)
    for n, model in enumerate(models):
        row = board.iloc[n]
        model_id = str(board.index[n])
        name = names.get(model_id, str(row.get("Model", model_id)))
        hooks.on_model_start(model_id, name, n, total)
        metrics = {str(c): num(v) for c, v in row.items() if c != "Model"}
        fit = num(row.get(FIT_TIME)) or 0.0
        hooks.on_model_done(ModelResult(model_id, name, metrics, {}, [], fit, None, estimator_params(model)), n + 1, total)
    ids = {model_id_of(m) if not isinstance(m, str) else m for m in planned}
    for missing in sorted(ids - {str(i) for i in board.index}):
        hooks.on_model_failed(
            missing,
            names.get(missing, missing),
            RuntimeError(f"it failed on a worker of the Dask cluster at {address} (the worker's log has PyCaret's error)"),
        )
    return models[0], board


def _in_local_order(raw: pd.DataFrame, models: list[Any], planned: list[Any], sort_column: str, ascending: bool) -> tuple[pd.DataFrame, list[Any]]:
    """The backend's rows (and their models, row for row) in planned order, then stably sorted, so
    ties rank as compare_models ranks them; custom estimators get their ``custom:<Class>`` id
    (the backend labels them by their position among one worker's models: "0")."""
    if len(models) != len(raw):
        raise EngineError(
            "DaskCompareMismatch",
            f"The Dask comparison returned {len(raw)} rows but {len(models)} models.",
            "This is unexpected; the job log has the details. Run the comparison without dask_scheduler meanwhile.",
        )
    known = {m for m in planned if isinstance(m, str)}
    index = [str(i) if str(i) in known else model_id_of(m) for i, m in zip(raw.index, models)]
    board = raw.set_axis(index, axis=0)
    position = {(m if isinstance(m, str) else model_id_of(m)): n for n, m in enumerate(planned)}
    order = sorted(range(len(board)), key=lambda n: position.get(index[n], len(planned)))
    board = board.iloc[order]
    models = [models[n] for n in order]
    values = board[sort_column].to_numpy(dtype=float)
    # Stable both ways (descending sorts the negated values); NaN, a metric that failed, stays last.
    ranked = np.argsort(values if ascending else -values, kind="stable")
    return board.iloc[ranked], [models[n] for n in ranked]


def _cluster_error(exc: Exception, address: str) -> EngineError:
    """A failure of the comparison on the cluster: transient when a worker or the connection was lost."""
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    if isinstance(exc, EngineError):
        return exc
    if isinstance(exc, (KilledWorker, CommClosedError, OSError, TimeoutError)):
        return transient_error(
            "DaskWorkerLost",
            f"The Dask cluster at {address} lost a worker or the connection during the comparison: {_first_line(exc)}",
            "Check the scheduler's and workers' logs (memory, restarts), then run the job again.",
        )
    return EngineError(
        "DaskCompareFailed",
        f"The comparison failed on the Dask cluster at {address}: {type(exc).__name__}: {_first_line(exc)}",
        "The workers' logs have the details; check that they run this engine's Python environment, "
        "or run the comparison without dask_scheduler.",
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__
