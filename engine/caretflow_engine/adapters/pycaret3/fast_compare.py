"""compare_models on every core: one forked helper per worker, models cross-validated side by side.

Why (bench/README.md, "Where compare_models spends its time"): PyCaret's compare_models runs one
model after another. With its default n_jobs=-1 it spreads each model's folds over loky worker
processes, which costs seconds of pool start-up and, with LightGBM, OpenMP busy-waiting (PyCaret
issue 4158); with n_jobs=1 one core idles. Here each model's whole cross-validation runs in a
helper forked after ``setup`` (the experiment is shared copy-on-write, nothing is pickled on the
way in), every helper single-threaded, the models expected to take longest first, and each
helper fits PyCaret's preprocessing once per fold instead of once per model and fold
(``fold_cache``).

Same results as compare_models: a helper runs exactly what compare_models runs per model
(``exp._create_model(..., cross_validation=True, refit=False)``, which reseeds numpy itself, with
PyCaret's one retry and its "first fold all zero" check), the leaderboard is built, rounded and
sorted the way compare_models builds it (ties keep the planned order), and the best model is
refitted on the whole training split in this process, as compare_models does. Per-fold metrics
are identical to compare_models' with setup(n_jobs=1) and single-threaded BLAS, which is also what
PyCaret's default n_jobs=-1 gives its fold workers (joblib limits them to one BLAS thread on
two cores). Only "TT (Sec)" differs (it is measured).

Used by ``SupervisedSession.compare(planned, sort, hooks, workers)``: the job spec's ``workers``
(the server's compare workers, by default its cores divided by its job workers). ``workers=1``, a
single model, a custom estimator in the list or a GPU setup run PyCaret's compare_models itself.
"""

from __future__ import annotations

import gc
import os
import sys
from collections import deque
from typing import Any

import numpy as np
import pandas as pd
from pycaret.classification import ClassificationExperiment
from pycaret.regression import RegressionExperiment

from ...errors import user_error
from ...forkpool import ForkPool, Outcome
from . import fold_cache
from .common import FIT_TIME, CompareHooks, all_failed, check_model_ids, grid_result

ROUND = 4  # compare_models' default ``round``
THREAD_ARGS = ("n_jobs", "thread_count", "nthread")  # sklearn/LightGBM/XGBoost, CatBoost, old XGBoost

# Relative CPU cost of one model's cross-validation (bench/compare_profile.py on bank, 45k rows,
# and insurance). Only the order matters: long models start first so the last ones to finish
# are short and no core idles for long at the end. Unknown ids sit in the middle.
EXPECTED_COST: dict[str, dict[str, float]] = {
    "classification": {
        "gbc": 35, "rf": 23, "et": 19, "lr": 15, "ada": 10, "knn": 9.5, "dt": 5, "lightgbm": 4.6,
        "svm": 4, "nb": 3.2, "lda": 3.1, "ridge": 3, "qda": 2.8, "dummy": 2.2,
        "catboost": 40, "xgboost": 10, "rbfsvm": 40, "gpc": 40, "mlp": 40,
    },
    "regression": {
        "gbr": 35, "rf": 23, "et": 19, "ada": 10, "knn": 9.5, "huber": 5, "dt": 5, "lightgbm": 4.6,
        "par": 3, "omp": 3, "br": 3, "llar": 3, "lar": 3, "en": 3, "ridge": 3, "lasso": 3, "lr": 3,
        "dummy": 2.2, "catboost": 40, "xgboost": 10, "svm": 40, "kr": 40, "mlp": 40,
    },
}
UNKNOWN_COST = 8.0


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def task_of(exp: Any) -> str:
    if isinstance(exp, ClassificationExperiment):
        return "classification"
    if isinstance(exp, RegressionExperiment):
        return "regression"
    raise TypeError(f"compare_fast needs a PyCaret classification or regression experiment, got {type(exp).__name__}")


def can_fork(exp: Any, planned: list[Any], workers: int) -> bool:
    """Whether compare_fast would run helpers: more than one core and model, ids only (a custom
    estimator is compared by compare_models itself), no id twice (rows are keyed by id), and no
    CUDA (which does not survive a fork)."""
    ids_only = all(isinstance(m, str) for m in planned)
    return workers > 1 and len(planned) > 1 and ids_only and len(set(planned)) == len(planned) and not getattr(exp, "gpu_param", False)


def compare_fast(exp: Any, planned: list[str], sort: str, hooks: CompareHooks, workers: int) -> tuple[Any, pd.DataFrame]:
    """Cross-validate ``planned`` models (ids, in compare_models' order) on ``workers`` cores.

    Call only when ``can_fork``. ``exp`` has run ``setup``; ``sort`` is a metric display name or "TT (Sec)". Hooks run in this
    process as each model finishes. Returns (best estimator refitted on the training split,
    leaderboard DataFrame as ``exp.pull()`` shows it after compare_models, best first); after it,
    ``exp.pull()`` returns that leaderboard.
    """
    task = task_of(exp)
    assert can_fork(exp, planned, workers), "compare_fast needs can_fork(); compare_models runs the rest"
    check_model_ids(task, exp._all_models_internal, planned)
    sort_column, ascending = _sort_order(exp, task, sort)
    names = {k: v.name for k, v in exp._all_models.items()}
    create_args = _cv_args(exp)
    np.random.seed(exp.seed)  # as compare_models does before its loop

    results: dict[str, tuple[Any, Any, pd.DataFrame, float]] = {}
    total = len(planned)
    queue = deque(sorted(planned, key=lambda m: -EXPECTED_COST[task].get(m, UNKNOWN_COST)))

    with ForkPool(lambda model_id: cross_validate_model(exp, model_id, create_args), min(workers, total), init=lambda: prepare_helper(exp)) as pool:
        started: list[str] = []
        while queue and pool.idle_slots():
            started.append(queue.popleft())
            pool.submit(started[-1])
        for model_id in started:
            hooks.on_model_start(model_id, names[model_id], 0, total)
        while pool.busy_count():
            outcome = pool.next_outcome()
            assert outcome is not None  # no timeout given
            # Refill first: the helper trains the next model while this process runs the hooks.
            started = []
            while queue and pool.idle_slots():
                started.append(queue.popleft())
                pool.submit(started[-1])
            _report(outcome, names, results, hooks, total)
            for model_id in started:
                hooks.on_model_start(model_id, names[model_id], len(results), total)

    if not results:
        raise all_failed()
    master = _leaderboard(exp, planned, results, sort_column, ascending)
    best = _refit_best(exp, master.iloc[0]["Object"], create_args)
    board = master.drop(["Object", "runtime", "cutoff"], axis=1, errors="ignore")
    for model_id in planned:  # what compare_models leaves behind, for get_leaderboard() and pull()
        if model_id in results:
            model, _, grid, _ = results[model_id]
            exp._master_model_container.append({"model": model, "scores": grid, "cv": create_args["fold"]})
    exp._display_container.append(board)
    return best, board


# --------------------------------------------------------------------------- in the helpers
def prepare_helper(exp: Any) -> None:
    """Right after the fork: one thread per estimator, preprocessing computed once per fold, and
    the job's objects frozen out of the collector's sight (PyCaret collects after every model)."""
    single_threaded(exp)
    fold_cache.install(exp)
    gc.freeze()


def single_threaded(exp: Any) -> None:
    """In a helper: every estimator and cross_validate use one thread (see forkpool's docstring)."""
    exp.n_jobs_param = 1  # cross_validate's n_jobs (gpu_n_jobs_param) and any model built later
    for container in exp._all_models_internal.values():
        args = getattr(container, "args", None)
        if isinstance(args, dict):
            for key in THREAD_ARGS:
                if args.get(key) not in (None, 1):
                    args[key] = 1


def cross_validate_model(exp: Any, model_id: str, create_args: dict[str, Any]) -> tuple[Any, Any, pd.DataFrame]:
    """One model as compare_models runs it: (unfitted estimator, fit seconds per fold, fold grid).

    Like compare_models: one retry when the call raises or the first fold's metrics are all 0.
    """
    last: Exception | None = None
    for _ in range(2):
        try:
            model, fit_time = exp._create_model(estimator=model_id, **create_args)
            grid = exp.pull(pop=True)
            first = grid.drop(["Object", "runtime", "cutoff"], axis=1, errors="ignore").iloc[0]
            if np.sum(first) == 0.0:
                raise RuntimeError("every metric of the first fold is 0 (PyCaret drops such a model)")
            return model, fit_time, grid
        except Exception as exc:  # noqa: BLE001 -- compare_models retries any failure once
            last = exc
    assert last is not None
    raise last


# --------------------------------------------------------------------------- in the job process
def _cv_args(exp: Any) -> dict[str, Any]:
    """compare_models' arguments to _create_model for each candidate (defaults of compare_models)."""
    return {
        "system": False,
        "verbose": False,
        "fold": exp._get_cv_splitter(None),
        "round": ROUND,
        "cross_validation": True,
        "fit_kwargs": {},
        "groups": exp._get_groups(None),
        "probability_threshold": None,
        "refit": False,
        "error_score": 0.0,
    }


def _sort_order(exp: Any, task: str, sort: str) -> tuple[str, bool]:
    """(column, ascending) as compare_models resolves ``sort``."""
    if sort in ("TT", FIT_TIME):
        return FIT_TIME, True
    metric = exp._get_metric_by_name_or_id(sort)
    if metric is None:
        names = [m.display_name for m in exp._all_metrics.values()]
        raise user_error(
            "UnknownSortMetric",
            f"'{sort}' is not a {task} metric.",
            f"Sort by one of: {', '.join(names)}, {FIT_TIME}.",
        )
    return str(metric.display_name), not metric.greater_is_better


def _report(
    outcome: Outcome,
    names: dict[str, str],
    results: dict[str, tuple[Any, Any, pd.DataFrame, float]],
    hooks: CompareHooks,
    total: int,
) -> None:
    model_id: str = outcome.task
    name = names[model_id]
    if outcome.ok:
        model, fit_time, grid = outcome.value
        results[model_id] = (model, fit_time, grid, outcome.seconds)
        result = grid_result(model_id, name, grid, fit_time, outcome.seconds, model)
        hooks.on_model_done(result, len(results), total)
    elif outcome.error is not None:
        # The job log gets the helper's traceback (PyCaret's own loop logs it too); the hook, the error.
        print(f"{name} ({model_id}) failed in a compare helper:\n{outcome.error.remote_traceback}", file=sys.stderr)
        hooks.on_model_failed(model_id, name, outcome.error)
    else:
        hooks.on_model_failed(model_id, name, RuntimeError(f"{name} was skipped: {outcome.died} while cross-validating it."))


def _leaderboard(
    exp: Any, planned: list[str], results: dict[str, tuple[Any, Any, pd.DataFrame, float]], sort_column: str, ascending: bool
) -> pd.DataFrame:
    """compare_models' master table, built row by row in planned order exactly as it builds it
    (rounded and re-sorted after each row, so ties keep compare_models' order)."""
    master: pd.DataFrame | None = None
    for model_id in planned:
        if model_id not in results:
            continue
        model, fit_time, grid, seconds = results[model_id]
        row = pd.DataFrame(grid.loc["Mean"]).T.reset_index(drop=True)
        row.insert(len(row.columns), FIT_TIME, fit_time)
        row.insert(0, "Model", exp._get_model_name(model_id))
        row.insert(0, "Object", [model])
        row.insert(0, "runtime", np.array(seconds).round(2))
        row.index = [model_id]
        master = row if master is None else pd.concat([master, row], ignore_index=False)
        master = master.round(ROUND).sort_values(by=sort_column, ascending=ascending)
    assert master is not None
    return master


def _refit_best(exp: Any, estimator: Any, create_args: dict[str, Any]) -> Any:
    """The best model fitted on the whole training split, as compare_models returns it."""
    args = {k: v for k, v in create_args.items() if k not in ("refit", "error_score")}
    args.update(cross_validation=False, predict=False)
    try:
        best, _ = exp._create_model(estimator=estimator, **args)
    except Exception as exc:  # compare_models returns [] here, which the engine reports as below
        raise all_failed() from exc
    return best
