"""Operations on a model of a PyCaret classification or regression experiment: tune, ensemble,
blend, stack, calibrate, optimize the probability threshold. Each returns the new model fitted on
the training split and its cross-validation, as PyCaret computed them.

Every call passes ``choose_better=False``: with it PyCaret returns the better of the source and the
new model but shows the new model's scores either way, so the caller compares them itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...errors import user_error
from ...ml import search_budget
from .common import FIT_TIME, ModelResult, check_model_ids, grid_result, num
from .supervised import SupervisedSession

Progress = Callable[[int, int, str], None]
# Operation search -> PyCaret's (search_library, search_algorithm).
SEARCHES = {"random": ("scikit-learn", "random"), "grid": ("scikit-learn", "grid"), "optuna": ("optuna", "tpe")}


@dataclass
class TuneOutcome:
    """The best candidate of a search, with its CV and what the search did."""

    model: Any
    result: ModelResult
    params: dict[str, Any]  # the searched parameters' best values
    search: str  # random, grid or optuna (PyCaret turns a random search of a small grid into a grid search)
    iterations: int
    planned: int
    stopped_by_budget: bool
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------- estimators
def unfitted(session: SupervisedSession, model_id: str) -> Any:
    """A built-in model as create_model configures it (the setup's seed, n_jobs, GPU), not fitted."""
    check_model_ids(session.task, session.models(), [model_id])
    definition = session.exp._all_models_internal[model_id]
    return definition.class_def(**definition.args)


def base_estimator(estimator: Any) -> tuple[Any, float | None]:
    """An unfitted copy of a saved model's estimator, and the probability threshold it wrapped, if any."""
    from pycaret.internal.meta_estimators import CustomProbabilityThresholdClassifier, get_estimator_from_meta_estimator
    from sklearn.base import clone

    threshold = estimator.probability_threshold if isinstance(estimator, CustomProbabilityThresholdClassifier) else None
    return clone(get_estimator_from_meta_estimator(estimator)), threshold


def searched_estimator(estimator: Any) -> Any:
    """The estimator whose parameters tune_model searches: a stack's final estimator, else the estimator."""
    return estimator.final_estimator if hasattr(estimator, "final_estimator") else estimator


def parameter_names(session: SupervisedSession, estimator: Any) -> list[str]:
    """The parameters a search may set on the estimator (PyCaret's tunable class where it has one)."""
    estimator = searched_estimator(estimator)
    model_id = session.exp._get_model_id(estimator)
    definition = session.exp._all_models_internal.get(model_id) if model_id else None
    target = estimator
    if definition is not None and definition.tunable is not None:
        target = definition.tunable(**estimator.get_params())
    return sorted(target.get_params(deep=False))


def model_parameter_names(session: SupervisedSession, model_id: str) -> list[str]:
    """The constructor parameters of a built-in model id (what create_model's keywords may set)."""
    return sorted(unfitted(session, model_id).get_params(deep=False))


def default_grid(session: SupervisedSession, estimator: Any) -> dict[str, list[Any]] | None:
    """PyCaret's search grid for the estimator; None for estimators it does not know (custom ones)."""
    model_id = session.exp._get_model_id(estimator)
    if model_id is None:
        return None
    grid = session.exp._all_models_internal[model_id].tune_grid
    return search_budget.as_grid(grid) if grid else None


def has_proba(estimator: Any) -> bool:
    try:
        return callable(getattr(estimator, "predict_proba", None))
    except AttributeError:  # estimators whose predict_proba depends on a parameter (SVC) raise here
        return False


def supports_sample_weight(estimator: Any) -> bool:
    from sklearn.utils.validation import has_fit_parameter

    return has_fit_parameter(estimator, "sample_weight")


def is_better(a: float | None, b: float | None, greater_is_better: bool) -> bool:
    """Whether score a beats score b strictly (a tie keeps b, as PyCaret's choose_better does)."""
    if a is None:
        return False
    if b is None:
        return True
    return a > b if greater_is_better else a < b


def greater_is_better(session: SupervisedSession, metric: str) -> bool:
    found = session.exp._get_metric_by_name_or_id(metric)
    return bool(found.greater_is_better) if found is not None else False  # TT (Sec): less time is better


def _result(session: SupervisedSession, model_id: str, name: str, started: float, model: Any) -> ModelResult:
    grid = session.exp.pull()
    fit_time = num(grid.loc["Mean", FIT_TIME]) if FIT_TIME in grid.columns and "Mean" in grid.index else None
    wall = time.time() - started
    return grid_result(model_id, name, grid, fit_time or wall, wall, model)


# --------------------------------------------------------------------- tune
def tune(
    session: SupervisedSession,
    estimator: Any,
    model_id: str,
    name: str,
    *,
    search: str,
    n_iter: int,
    optimize: str,
    custom_grid: dict[str, list[Any]] | None,
    budget_seconds: float | None,
    progress: Progress,
) -> TuneOutcome:
    """PyCaret's tune_model; with a time budget, optuna stops by its timeout and the scikit-learn
    searches run in chunks (see ml/search_budget.py)."""
    tuned = searched_estimator(estimator)
    builtin = session.exp._get_model_id(tuned) is not None
    if not builtin and not custom_grid:
        raise user_error(
            "TuneGridRequired",
            f"{name} is not a PyCaret model, so caretflow has no search space for it.",
            "Pass custom_grid: each parameter to search with the values to try.",
        )
    # None for a blend: PyCaret searches its voting weights on a grid it builds itself.
    space = search_budget.as_grid(custom_grid) if custom_grid else default_grid(session, tuned)
    if space is not None and search == "random" and search_budget.grid_size(space) <= n_iter:
        search = "grid"  # as PyCaret does: a random search at least as long as the grid is the grid
    planned = search_budget.grid_size(space) if search == "grid" and space is not None else n_iter
    library = SEARCHES[search]
    call = {
        "custom_grid": custom_grid,
        "optimize": optimize,
        "search_library": library[0],
        "search_algorithm": library[1],
        "choose_better": False,
        "return_tuner": True,
        "verbose": False,
        "tuner_verbose": False,
    }
    progress(0, planned, f"Searching {planned} candidate(s) for {name} ({search})")
    if budget_seconds is None or (search == "optuna" and builtin):
        # PyCaret hands extra keywords of a built-in model's search to OptunaSearchCV (timeout).
        extra = {"timeout": budget_seconds} if budget_seconds is not None else {}
        started = time.time()
        model, tuner = session.exp.tune_model(estimator, n_iter=n_iter, **call, **extra)
        result = _result(session, model_id, name, started, model)
        ran = _iterations(tuner)
        progress(ran, planned, f"Tried {ran} candidate(s)")
        notes = [_budget_note(budget_seconds, ran, planned)] if budget_seconds is not None and ran < planned else []
        return TuneOutcome(model, result, _best_params(tuner), search, ran, planned, ran < planned, notes)
    if search == "grid" and space is None:
        raise user_error(
            "TuneBudgetNeedsGrid",
            f"caretflow cannot split PyCaret's grid for {name} into parts that fit a time budget.",
            "Pass custom_grid, use search random or optuna, or leave out time_budget_minutes.",
        )
    return _tune_in_chunks(
        session, estimator, model_id, name, space or {}, search, planned, budget_seconds, call, progress
    )


def _tune_in_chunks(
    session: SupervisedSession,
    estimator: Any,
    model_id: str,
    name: str,
    space: dict[str, list[Any]],
    search: str,
    planned: int,
    budget_seconds: float,
    call: dict[str, Any],
    progress: Progress,
) -> TuneOutcome:
    exp = session.exp
    greater = greater_is_better(session, call["optimize"])
    deadline = time.monotonic() + budget_seconds
    pending = [space]
    seconds: list[float] = []
    sizes: list[int] = []
    best: tuple[Any, ModelResult, dict[str, Any]] | None = None
    seed = exp.seed
    done = 0
    while True:
        size = search_budget.chunk_size(
            planned - done,
            deadline - time.monotonic(),
            search_budget.per_candidate(seconds, sizes) if seconds else None,
            done_chunks=len(seconds),
        )
        if size == 0:
            break
        started, wall = time.monotonic(), time.time()
        try:
            if search == "grid":
                chunk, pending = search_budget.next_chunk(pending, size)
                size = search_budget.grid_size(chunk)
                model, tuner = exp.tune_model(estimator, **{**call, "custom_grid": chunk})
            else:
                # tune_model seeds its sampler with the experiment's seed: a chunk with the same seed
                # would draw the same candidates again. The folds were fixed at setup and do not move.
                exp.seed = seed + len(seconds)
                model, tuner = exp.tune_model(estimator, n_iter=size, **call)
        finally:
            exp.seed = seed
        result = _result(session, model_id, name, wall, model)
        seconds.append(time.monotonic() - started)
        sizes.append(size)
        done += _iterations(tuner)
        progress(done, planned, f"Tried {done} of {planned} candidate(s)")
        metric = call["optimize"]
        if best is None or is_better(result.metrics.get(metric), best[1].metrics.get(metric), greater):
            best = (model, result, _best_params(tuner))
    assert best is not None  # the first chunk always runs
    notes = [_budget_note(budget_seconds, done, planned)] if done < planned else []
    return TuneOutcome(best[0], best[1], best[2], search, done, planned, done < planned, notes)


def _budget_note(budget_seconds: float, done: int, planned: int) -> str:
    return f"The time budget ({budget_seconds / 60:g} min) was spent after {done} of {planned} candidates."


def _iterations(tuner: Any) -> int:
    if hasattr(tuner, "n_trials_"):  # OptunaSearchCV (its cv_results_ has no params)
        return int(tuner.n_trials_)
    return len(tuner.cv_results_["params"])


def _best_params(tuner: Any) -> dict[str, Any]:
    """The best candidate's parameters, without the pipeline step prefix (actual_estimator__C -> C)."""
    return {k.split("__")[-1]: plain(v) for k, v in tuner.best_params_.items()}


def plain(value: Any) -> Any:
    """A JSON value for a parameter (numpy scalars unwrapped; objects by repr)."""
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    try:
        return json.dumps(value)  # class_weight={} and other containers, as JSON text
    except (TypeError, ValueError):
        return repr(value)


# ------------------------------------------------------ ensembles and friends
def ensemble(
    session: SupervisedSession, estimator: Any, name: str, method: str, n_estimators: int
) -> tuple[Any, ModelResult]:
    started = time.time()
    try:
        model = session.exp.ensemble_model(estimator, method=method, n_estimators=n_estimators, verbose=False)
    except TypeError as exc:
        if method == "Boosting" and "Boosting" in str(exc):
            raise boosting_unsupported(name) from exc
        raise
    model_id = f"{method.lower()}:{session.exp._get_model_id(estimator) or name}"
    return model, _result(session, model_id, f"{method}: {name}", started, model)


def boosting_unsupported(name: str) -> Exception:
    return user_error(
        "BoostingNotSupported",
        f"{name} cannot be boosted: AdaBoost reweights the rows, and this model does not take sample weights.",
        "Use method Bagging, or boost a model that takes sample weights (dt, rf, lightgbm, lr...).",
    )


def blend(
    session: SupervisedSession, estimators: list[Any], model_id: str, name: str, method: str
) -> tuple[Any, ModelResult]:
    started = time.time()
    extra = {"method": method} if session.task == "classification" else {}
    model = session.exp.blend_models(estimators, verbose=False, **extra)
    return model, _result(session, model_id, name, started, model)


def stack(
    session: SupervisedSession, estimators: list[Any], meta: Any, model_id: str, name: str, restack: bool
) -> tuple[Any, ModelResult]:
    started = time.time()
    model = session.exp.stack_models(estimators, meta_model=meta, restack=restack, verbose=False)
    return model, _result(session, model_id, name, started, model)


def calibrate(
    session: SupervisedSession, estimator: Any, model_id: str, name: str, method: str
) -> tuple[Any, ModelResult]:
    started = time.time()
    model = session.exp.calibrate_model(estimator, method=method, verbose=False)
    return model, _result(session, model_id, name, started, model)


def optimize_threshold(
    session: SupervisedSession, estimator: Any, model_id: str, name: str, optimize: str
) -> tuple[Any, ModelResult, float, list[tuple[float, float]]]:
    """The probability threshold with the best mean CV score of ``optimize``, and the model that predicts
    with it (PyCaret's threshold classifier, cross-validated by create_model at that threshold).

    PyCaret's optimize_threshold cross-validates the model again for every threshold its optimizer
    tries (85 times by default), but a threshold changes no fitted model, only how its probabilities
    are cut. So each fold is fitted once, and every distinct cut of the folds' probabilities is scored
    with PyCaret's own metric on the labels PyCaret's CV scores: the objective is PyCaret's, exhaustively
    searched, for the price of two cross-validations. Returns (model, CV, threshold, (threshold, score)s).
    """
    exp = session.exp
    metric = check_threshold_metric(session, optimize)
    folds = _fold_probabilities(session, estimator)
    classes = np.asarray(_label_classes(session))
    curve = []
    for threshold in search_budget.threshold_candidates([p for _, p in folds]):
        scores = [metric.score_func(y, classes[(p >= threshold).astype(int)], **metric.args) for y, p in folds]
        curve.append((float(threshold), float(np.mean(scores))))
    best = search_budget.best_threshold(curve, bool(metric.greater_is_better))
    started = time.time()
    model = exp.create_model(estimator, probability_threshold=best, verbose=False)
    return model, _result(session, model_id, name, started, model), best, curve


def check_threshold_metric(session: SupervisedSession, optimize: str) -> Any:
    """The metric container of a metric a threshold can change (one of the predicted labels)."""
    metric = session.exp._get_metric_by_name_or_id(optimize)
    if metric.target != "pred":
        raise user_error(
            "MetricIgnoresThreshold",
            f"{metric.display_name} is computed from probabilities, so no threshold changes it.",
            "Optimize a metric of the predicted labels: Accuracy, F1, Recall, Prec., Kappa or MCC.",
        )
    return metric


def _fold_probabilities(session: SupervisedSession, estimator: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(labels, probability of the second class) of each CV fold's validation rows, fitted as create_model fits."""
    from pycaret.internal.pipeline import estimator_pipeline, get_pipeline_fit_kwargs
    from sklearn.base import clone

    exp = session.exp
    X, y = exp.X_train, exp.y_train
    out = []
    with estimator_pipeline(exp.pipeline, clone(estimator)) as pipeline:
        fit_kwargs = get_pipeline_fit_kwargs(pipeline, {})
        for train, valid in exp.fold_generator.split(X, y, exp._get_groups(None)):
            fitted = clone(pipeline).fit(X.iloc[train], y.iloc[train], **fit_kwargs)
            out.append((y.iloc[valid].to_numpy(), np.asarray(fitted.predict_proba(X.iloc[valid]))[:, 1]))
    return out


def _label_classes(session: SupervisedSession) -> list[Any]:
    """The labels in predict_proba's column order, in the space PyCaret's CV scores them (the raw labels)."""
    encoder = dict(session.exp.pipeline.steps).get("label_encoding")
    found = getattr(getattr(encoder, "transformer", None), "classes_", None)
    return list(found) if found is not None else sorted(pd.Series(session.exp.y_train).unique())
