"""The supervised family: classification (binary and multiclass) and regression with PyCaret.

kind=train: setup, then compare (streamed, one child run per model) or create one model, then
the best model is finalized on all data and logged in a ``final`` run with hold-out metrics, plots
and the model. kind=operate (tune, ensemble, blend...): see supervised_ops.py. Scoring returns
``prediction_label``, plus for classifiers with probabilities ``prediction_score`` (the predicted
class's) and ``prediction_score_<class>`` per class.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..errors import user_error
from ..experiment_log import PendingRun, TrainingLog, metric_params
from ..tracking import dataset_label
from .fields import spec_fields
from .setup_options import setup_fields
from .supervised_final import LABEL, log_model_run
from .supervised_ops import OPERATIONS, operate
from .supervised_setup import build_setup, load_training_data

if TYPE_CHECKING:
    import pandas as pd

    from ..context import JobContext
    from ..scoring import LoadedModel

SCORE = "prediction_score"
SCORE_DECIMALS = 4
CLASSIFICATION_PLOTS_AS_CHARTS = {"auc", "pr", "confusion_matrix", "calibration", "threshold", "class_report", "learning", "feature"}
REGRESSION_PLOTS_AS_CHARTS = {"residuals", "error", "learning", "feature"}
# Charts caretflow adds to PyCaret's plots (pdp_<feature> and shap_dependence_<feature> follow the data).
EXTRA_CHARTS = {"permutation_importance": "Permutation Importance", "shap_summary": "SHAP Summary"}

_FIELDS = [
    "target", "ignore_columns", "text_columns", "operation", "model", "include", "exclude", "sort",
    "train_size", "folds", "fold_strategy", "fold_groups", "custom_metrics", "custom_models", "seed", "use_gpu", "dask_scheduler",
]
_DESCRIPTIONS = {
    "classification": ("Classification", "Predict a category (two classes or more) from the other columns."),
    "regression": ("Regression", "Predict a number from the other columns."),
}


class SupervisedFamily:
    family = "supervised"
    tasks = ("classification", "regression")
    # Each row is scored on its own: rows from several requests may be scored as one frame.
    rows_independent = True

    # ---------------------------------------------------------------- catalog
    def describe(self, task: str, probe: Any) -> dict[str, Any]:
        facts = probe(task)
        label, description = _DESCRIPTIONS[task]
        charts = CLASSIFICATION_PLOTS_AS_CHARTS if task == "classification" else REGRESSION_PLOTS_AS_CHARTS
        columns = [{"name": LABEL, "help": "the predicted class" if task == "classification" else "the predicted value"}]
        if task == "classification":
            columns += [
                {"name": SCORE, "help": "probability of the predicted class (models with probabilities)"},
                {"name": f"{SCORE}_{{class}}", "help": "probability of each class"},
            ]
        return {
            "task": task,
            "family": self.family,
            "label": label,
            "description": description,
            "operations": OPERATIONS[task],
            "fields": spec_fields(task, _FIELDS) + setup_fields(task, facts.setup),
            "models": facts.models,
            "metrics": facts.metrics,
            "defaultSort": "Accuracy" if task == "classification" else "R2",
            "plots": [{"id": k, "name": v, "chart": k in charts} for k, v in facts.plots.items() if k != "pipeline"]
            + [{"id": k, "name": v, "chart": True} for k, v in EXTRA_CHARTS.items()],
            "predictionColumns": columns,
        }

    # ------------------------------------------------------------------ train
    def train(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        ev = ctx.events
        task, target = spec["task"], spec["target"]
        timings: dict[str, float] = {}
        t0 = time.monotonic()

        ev.stage("loading", f"Reading dataset {dataset_label(spec['dataset'])}")
        df = load_training_data(spec, spec["dataset"], ev)
        if spec["operation"] == "create" and not spec.get("model"):
            raise user_error("ModelRequired", "operation 'create' needs the model to train.", "Set 'model' to a model id from the catalog.")

        log = TrainingLog(spec, ctx, task)
        log.open_parent(f"{spec['experiment_name']} · {dataset_label(spec['dataset'])}", {"caretflow.target": target}, df)

        ev.stage("setup", "Preparing data (PyCaret setup)")
        prepared = build_setup(spec, spec, df)
        session, options, summary, sort = prepared.session, prepared.options, prepared.summary, prepared.sort
        from ..adapters.pycaret3 import CompareHooks, leaderboard_rows

        timings["setup"] = time.monotonic() - t0
        log.log_params(
            log.parent_id,
            {
                "task": task,
                "target": target,
                "dataset": dataset_label(spec["dataset"]),
                "train_size": spec["train_size"],
                "folds": spec["folds"],
                "seed": spec["seed"],
                "n_jobs": spec["n_jobs"],
                "ignore_columns": spec["ignore_columns"],
                "include": spec["include"],
                "exclude": spec["exclude"],
                "operation": spec["operation"],
                "sort": sort,
                **({"dask_scheduler": spec["dask_scheduler"]} if spec.get("dask_scheduler") else {}),
                **({"setup_options": options} if options else {}),
                **metric_params("setup", {k: v for k, v in summary.items() if k not in ("Session id", "Target")}),
            },
        )

        child_runs: dict[str, PendingRun] = {}
        streamed: dict[str, dict[str, Any]] = {}

        def on_start(model_id: str, name: str, done: int, total: int) -> None:
            child_runs[model_id] = log.child_later(model_id, name)
            ev.progress(done, total, f"Training {name} ({done + 1} of {total})")

        def on_done(result: Any, done: int, total: int) -> None:
            run_id = child_runs[result.model_id].id
            log.child_done(run_id, result)
            row = {
                "model_id": result.model_id,
                "model_name": result.model_name,
                "metrics": result.metrics,
                "fit_seconds": max(0.0, result.fit_seconds),
                "mlflow_run_id": run_id,
            }
            streamed[result.model_id] = row
            ev.emit("leaderboard_row", row=row)
            ev.progress(done, total, f"{result.model_name} done ({done} of {total})")

        def on_failed(model_id: str, name: str, exc: BaseException) -> None:
            first = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            ev.warning(f"{name} ({model_id}) failed and is skipped: {first}")

        hooks = CompareHooks(on_start, on_done, on_failed)
        t1 = time.monotonic()
        dask = spec.get("dask_scheduler")
        if spec["operation"] == "create":
            if dask:
                ev.warning(f"dask_scheduler applies to comparisons; {spec['model']} trains in this engine, not on {dask}.")
            ev.stage("compare", f"Training {spec['model']}")
            best, result = session.create(spec["model"], hooks)
            leaderboard = [{**streamed[result.model_id], "rank": 1}]
        else:
            planned = session.plan(spec["include"], spec["exclude"], prepared.custom_models)
            if dask:
                # The cluster reports every model at once, when the last one has finished.
                ev.stage("compare", f"Comparing {len(planned)} models by {sort} on the Dask cluster at {dask}")
                ev.progress(0, len(planned), f"Waiting for {len(planned)} models on the Dask cluster at {dask}")
            else:
                ev.stage("compare", f"Comparing {len(planned)} models by {sort}")
            best, board = session.compare(planned, sort, hooks, workers=int(spec.get("workers") or 1), dask_scheduler=dask)
            leaderboard = leaderboard_rows(board)
            for row in leaderboard:
                if row["model_id"] in child_runs:
                    row["mlflow_run_id"] = child_runs[row["model_id"]].id
            ev.progress(len(planned), len(planned), f"Best: {leaderboard[0]['model_name']}")
        timings["compare"] = time.monotonic() - t1
        for model_id, pending in list(child_runs.items()):
            if model_id not in streamed and pending.id in ctx.runs.open:
                ctx.runs.end(pending.id, "FAILED")

        top = leaderboard[0]
        final = log_model_run(
            session, log, best, top, role="final", extra_tags={"caretflow.cv_run_id": top.get("mlflow_run_id", "")}, timings=timings
        )
        return log.close_training(
            task=task, leaderboard=leaderboard, final=final, sort=sort, outputs=[], timings=timings, started=t0
        )

    def operate(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        return operate(spec, ctx)

    # ---------------------------------------------------------------- scoring
    def prediction_columns(self, model: LoadedModel) -> list[str]:
        if model.task == "classification" and _has_proba(model.pipeline):
            return [LABEL, SCORE, *(f"{SCORE}_{c}" for c in model.meta.get("caretflow_classes", []))]
        return [LABEL]

    def evaluate(self, spec: dict[str, Any], ctx: JobContext, df: pd.DataFrame, work: Any) -> dict[str, Any]:
        from .supervised_eval import evaluate_run

        return evaluate_run(spec, ctx, df, work)

    def explain(self, model: LoadedModel, df: pd.DataFrame, options: dict[str, Any]) -> list[dict[str, Any]]:
        """Why each row got its prediction: SHAP contributions in the model's feature space."""
        from ..adapters.pycaret3.pipeline import final_estimator, transform_features
        from ..ml.explain import explain, explanations
        from ..scoring import prepare_features

        background = getattr(model.pipeline, "caretflow_background", None)
        if background is None:
            raise user_error(
                "ExplanationsUnavailable",
                "This model was saved without the background sample explanations need.",
                "Train the model again with this version of caretflow, then register it.",
            )
        features = transform_features(model.pipeline, prepare_features(model, df))
        classes = list(model.meta.get("caretflow_classes", [])) if model.task == "classification" else []
        result = explain(final_estimator(model.pipeline), features, background, classes or None, max_rows=len(features))
        return explanations(result, features, top=int(options["top"]) if options.get("top") else None)

    def score(self, model: LoadedModel, df: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
        """PyCaret's predict_model semantics: labels in the original label space, probabilities rounded.
        The pipeline's preprocessing runs once for both the labels and the probabilities."""
        import numpy as np
        import pandas as pd

        from ..adapters.pycaret3.pipeline import predict_with_proba
        from ..scoring import prepare_features

        features = prepare_features(model, df)
        columns = self.prediction_columns(model)
        result = pd.DataFrame(index=df.index)
        if len(features) == 0:
            for name in columns:
                result[name] = pd.Series(dtype="float64")
            return result
        predicted, probabilities = predict_with_proba(model.pipeline, features, proba=SCORE in columns)
        labels = np.asarray(predicted)
        out: dict[str, Any] = {LABEL: labels}
        if probabilities is not None:
            proba = np.asarray(probabilities)
            classes = model.meta.get("caretflow_classes", [])
            out[SCORE] = np.round(predicted_class_score(labels, proba, classes), SCORE_DECIMALS)
            if len(classes) == proba.shape[1]:
                for i, c in enumerate(classes):
                    out[f"{SCORE}_{c}"] = np.round(proba[:, i], SCORE_DECIMALS)
        return pd.DataFrame(out, index=df.index)


def predicted_class_score(labels: Any, proba: Any, classes: list[str]) -> Any:
    """The probability of each row's predicted class, as PyCaret's predict_model reports it.

    Not the row's largest probability: a model with a tuned probability threshold (optimize_threshold)
    may predict the less probable class, and its score is that class's probability.
    """
    import numpy as np

    column = {c: i for i, c in enumerate(classes)}
    index = np.array([column.get(str(label), -1) for label in labels])
    if len(classes) != proba.shape[1] or (index < 0).any():
        return proba.max(axis=1)
    return proba[np.arange(len(index)), index]


def _has_proba(pipeline: Any) -> bool:
    try:
        return callable(getattr(pipeline, "predict_proba", None))
    except AttributeError:  # PyCaret's Pipeline raises from __getattr__ when the estimator lacks it
        return False
