"""One function per supervised operation: from the rebuilt setup and the source model to an Outcome.

Each checks what it can before training anything (parameter names, sample-weight support,
probabilities), then starts the ``operation`` stage: a request that cannot work fails in seconds
with a user error, and an error before that stage means nothing was trained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..adapters.pycaret3 import supervised_ops as ops
from ..adapters.pycaret3.common import FIT_TIME, model_id_of
from ..errors import user_error
from ..ml.charts import series, xy_chart
from .run_models import RunModel
from .supervised_ops import OpJob, Outcome

if TYPE_CHECKING:
    from ..adapters.pycaret3 import ModelResult

Runner = Callable[[OpJob], Outcome]


# ------------------------------------------------------------ source models
def _custom_estimator(job: OpJob, model_id: str) -> Any:
    for estimator in job.prepared.custom_models:
        if model_id_of(estimator) == model_id:
            return estimator
    raise user_error(
        "CustomModelMissing",
        f"The training request has no custom model {model_id}.",
        "Pick a run whose model the training request defines (its custom_models).",
    )


def _estimator(job: OpJob, model: RunModel) -> Any:
    """An estimator for the run's model, configured as in training and not cross-validated.

    A saved model's estimator is cloned (its hyperparameters, unfitted): operations refit it on the
    training split. A leaderboard row's model is made as create_model makes it.
    """
    if model.estimator is not None:
        estimator, threshold = ops.base_estimator(model.estimator)
        if threshold is not None:
            job.ctx.events.warning(
                f"{model.model_name} predicted with probability threshold {threshold:g}; the new model does not "
                "carry it over (run optimize_threshold on it)."
            )
        return estimator
    if model.model_id.startswith("custom:"):
        return _custom_estimator(job, model.model_id)
    return ops.unfitted(job.session, model.model_id)


def _cross_validated(job: OpJob, model: RunModel, estimator: Any) -> tuple[Any, ModelResult]:
    """The model fitted on the training split with its CV: a leaderboard row's scores come out identical."""
    builtin_row = model.estimator is None and not model.model_id.startswith("custom:")
    fitted, result = job.session.create(model.model_id if builtin_row else estimator)
    result.model_id, result.model_name = model.model_id, model.model_name
    return fitted, result


def _check_names(given: list[str], known: list[str], what: str, name: str) -> None:
    unknown = [k for k in given if k not in known]
    if unknown:
        raise user_error(
            "UnknownParameter",
            f"{name} has no parameter(s) {', '.join(unknown)} ({what}).",
            f"Use parameters of {name}: {', '.join(known)}.",
        )


def _metric(job: OpJob, name: str | None) -> str:
    metric = job.session.resolve_sort(name)
    if metric == FIT_TIME:
        raise user_error(
            "UnknownMetric",
            "Training time is not a metric to optimize.",
            "Optimize a score such as Accuracy, AUC, F1 or R2.",
        )
    return metric


def _begin(job: OpJob, models: list[RunModel]) -> None:
    """The operation stage starts once the request's checks pass."""
    kind = job.op["op"]
    if kind == "create":
        text = f"Training {job.op['model']}"
    elif len(models) > 1:
        text = f"{kind.capitalize()} of {', '.join(m.model_name for m in models)}"
    else:
        text = f"{kind.replace('_', ' ').capitalize()}: {models[0].model_name}"
    job.ctx.events.stage("operation", text)


# --------------------------------------------------------------- operations
def run_tune(job: OpJob) -> Outcome:
    op, source = job.op, job.source
    optimize = _metric(job, op.get("optimize") or job.fields.get("sort"))
    estimator = _estimator(job, source)
    grid = op.get("custom_grid")
    if grid:
        _check_names(list(grid), ops.parameter_names(job.session, estimator), "custom_grid", source.model_name)
    budget = op["time_budget_minutes"] * 60 if op.get("time_budget_minutes") else None
    _begin(job, [source])
    job.ctx.events.progress(0, 1, f"Cross-validating the source model {source.model_name}")
    fitted, before = _cross_validated(job, source, estimator)
    tuned = ops.tune(
        job.session, fitted, source.model_id, source.model_name,
        search=op["search"], n_iter=op["n_iter"], optimize=optimize, custom_grid=grid, budget_seconds=budget,
        progress=job.ctx.events.progress,
    )
    after = tuned.result
    greater = ops.greater_is_better(job.session, optimize)
    keep_tuned = ops.is_better(after.metrics.get(optimize), before.metrics.get(optimize), greater)
    notes = list(tuned.notes)
    if not keep_tuned:
        notes.append(
            f"The source model scored {_fmt(before.metrics.get(optimize))} {optimize} in cross-validation, the best "
            f"candidate {_fmt(after.metrics.get(optimize))}; the source model's parameters are kept."
        )
    kept, other = (after, before) if keep_tuned else (before, after)
    other_row = {
        "model_id": source.model_id,
        "model_name": f"{source.model_name} ({'source' if keep_tuned else 'best candidate'})",
        "metrics": other.metrics,
        "fit_seconds": max(0.0, other.fit_seconds),
        **({"mlflow_run_id": source.run_id} if keep_tuned else {}),
    }
    facts = {
        "search": tuned.search,
        "candidates_tried": tuned.iterations,
        "candidates_planned": tuned.planned,
        "stopped_by_budget": tuned.stopped_by_budget,
        "optimize": optimize,
        "source_score": before.metrics.get(optimize),
        "tuned_score": after.metrics.get(optimize),
        "kept": "tuned" if keep_tuned else "source",
    }
    model = tuned.model if keep_tuned else fitted
    return Outcome(model, kept, [other_row], tuned.params, facts, notes, sort=optimize)


def run_ensemble(job: OpJob) -> Outcome:
    op, source = job.op, job.source
    estimator = _estimator(job, source)
    if op["method"] == "Boosting" and not ops.supports_sample_weight(estimator):
        raise ops.boosting_unsupported(source.model_name)
    _begin(job, [source])
    model, result = ops.ensemble(job.session, estimator, source.model_name, op["method"], op["n_estimators"])
    return Outcome(model, result, facts={"method": op["method"], "n_estimators": op["n_estimators"]})


def _combined(job: OpJob) -> tuple[list[RunModel], list[Any], str, str]:
    """The source and ``with`` models, their estimators, and the id and name of their combination."""
    models = [job.source, *job.others]
    estimators = [_estimator(job, m) for m in models]
    return models, estimators, "+".join(m.model_id for m in models), " + ".join(m.model_name for m in models)


def run_blend(job: OpJob) -> Outcome:
    models, estimators, ids, names = _combined(job)
    method = job.op["method"]
    if job.session.task == "regression" and method != "auto":
        raise user_error(
            "BlendMethodNotApplicable",
            f"Blend method '{method}' is for classifiers; regressors are averaged.",
            "Leave method as auto.",
        )
    if method == "soft":
        without = [m.model_name for m, e in zip(models, estimators) if not ops.has_proba(e)]
        if without:
            raise user_error(
                "SoftVotingNeedsProbabilities",
                f"Soft voting averages probabilities, and {', '.join(without)} predict(s) none.",
                "Use method hard (majority vote) or auto, or leave those models out.",
            )
    _begin(job, models)
    model, result = ops.blend(job.session, estimators, f"blend:{ids}", f"Blend: {names}", method)
    return Outcome(model, result, facts={"method": method, "models": len(models)})


def run_stack(job: OpJob) -> Outcome:
    meta_id = job.op.get("meta_model")
    meta = ops.unfitted(job.session, meta_id) if meta_id else None
    models, estimators, ids, names = _combined(job)
    _begin(job, models)
    model, result = ops.stack(job.session, estimators, meta, f"stack:{ids}", f"Stack: {names}", job.op["restack"])
    facts = {"meta_model": meta_id or "default", "restack": job.op["restack"], "models": len(models)}
    return Outcome(model, result, facts=facts)


def run_calibrate(job: OpJob) -> Outcome:
    source = job.source
    estimator = _estimator(job, source)
    _begin(job, [source])
    model, result = ops.calibrate(job.session, estimator, source.model_id, source.model_name, job.op["method"])
    return Outcome(model, result, facts={"method": job.op["method"]})


def run_threshold(job: OpJob) -> Outcome:
    source = job.source
    optimize = _metric(job, job.op["optimize"])
    ops.check_threshold_metric(job.session, optimize)
    estimator = _estimator(job, source)
    if not ops.has_proba(estimator):
        raise user_error(
            "ModelHasNoProbabilities",
            f"{source.model_name} predicts no probabilities, so there is no threshold to move.",
            "Calibrate it first (calibrate gives it probabilities), or pick a model with probabilities.",
        )
    _begin(job, [source])
    model, result, threshold, curve = ops.optimize_threshold(
        job.session, estimator, source.model_id, source.model_name, optimize
    )
    positive = job.session.classes()[1]
    chart = xy_chart(
        "threshold_search", f"Mean CV {optimize} by probability threshold (class {positive})", "threshold", optimize,
        [series(optimize, "line", curve)], note=f"best {optimize} at {threshold:.4f}",
    )
    scores = dict(curve)
    facts = {
        "optimize": optimize,
        "positive_class": positive,
        "thresholds_tried": len(curve),
        "score_at_0.5": scores[0.5],
        "search_score": scores[threshold],
        "cv_score": result.metrics.get(optimize),
    }
    notes = [
        f"Rows are predicted '{positive}' when its probability is at least {threshold:.4f} (best mean CV {optimize})."
    ]
    params = {"probability_threshold": threshold}
    return Outcome(model, result, params=params, facts=facts, notes=notes, charts=[chart], sort=optimize)


def run_finalize(job: OpJob) -> Outcome:
    estimator = _estimator(job, job.source)
    _begin(job, [job.source])
    fitted, result = _cross_validated(job, job.source, estimator)
    return Outcome(fitted, result)


def run_create(job: OpJob) -> Outcome:
    model_id, params = job.op["model"], dict(job.op["params"])
    if model_id.startswith("custom:"):
        estimator = _custom_estimator(job, model_id)
        _check_names(list(params), sorted(estimator.get_params(deep=False)), "params", model_id)
        _begin(job, [])
        fitted, result = job.session.create(estimator.set_params(**params))
    else:
        _check_names(list(params), ops.model_parameter_names(job.session, model_id), "params", model_id)
        _begin(job, [])
        fitted, result = job.session.create(model_id, **params)
    return Outcome(fitted, result, params={k: ops.plain(v) for k, v in params.items()})


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


RUNNERS: dict[str, Runner] = {
    "tune": run_tune,
    "ensemble": run_ensemble,
    "blend": run_blend,
    "stack": run_stack,
    "calibrate": run_calibrate,
    "optimize_threshold": run_threshold,
    "finalize": run_finalize,
    "create": run_create,
}
