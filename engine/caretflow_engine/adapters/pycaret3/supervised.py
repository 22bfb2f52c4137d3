"""PyCaret 3's classification and regression experiments: setup, compare (streamed), create,
finalize, hold-out metrics, plots. The only module of the supervised family that imports PyCaret."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pycaret.classification import ClassificationExperiment
from pycaret.regression import RegressionExperiment

from ...errors import user_error
from .fast_compare import can_fork, compare_fast
from .common import (
    FIT_TIME,
    CompareHooks,
    ModelResult,
    all_failed,
    check_model_ids,
    grid_result,
    model_id_of,
    num,
    save_plots,
    streamed_compare,
)

EXPERIMENTS = {"classification": ClassificationExperiment, "regression": RegressionExperiment}
DEFAULT_SORT = {"classification": "Accuracy", "regression": "R2"}
# (PyCaret plot id, caretflow artifact name) drawn for every final model; the rest of PyCaret's
# plots are listed in the catalog and drawn on request.
PLOTS = {
    "classification": [("confusion_matrix", "confusion_matrix"), ("auc", "roc_auc"), ("feature", "feature_importance")],
    "regression": [("residuals", "residuals"), ("error", "prediction_error"), ("feature", "feature_importance")],
}
USE_GPU = {"off": False, "auto": True, "on": "force"}


class SupervisedSession:
    """One PyCaret classification or regression experiment."""

    def __init__(self, task: str):
        if task not in EXPERIMENTS:
            raise ValueError(f"unknown supervised task {task}")
        self.exp: Any = EXPERIMENTS[task]()
        self.task = task
        self.target: str | None = None
        self.data: pd.DataFrame | None = None

    # ------------------------------------------------------------------ setup
    def setup(
        self,
        data: pd.DataFrame,
        target: str,
        *,
        ignore_features: list[str],
        train_size: float,
        folds: int,
        seed: int,
        n_jobs: int,
        text_features: list[str] | None = None,
        fold_strategy: str | None = None,
        fold_groups: str | None = None,
        use_gpu: str = "off",
        options: dict[str, Any] | None = None,
    ) -> dict[str, str]:
        """Run PyCaret's setup; returns its summary table (Description -> Value) for logging."""
        self.target = target
        self.data = data
        extra: dict[str, Any] = dict(options or {})
        if text_features:
            extra["text_features"] = list(text_features)
        if fold_strategy:
            extra["fold_strategy"] = fold_strategy
        if fold_groups:
            extra["fold_groups"] = fold_groups
        self.exp.setup(
            data=data,
            target=target,
            ignore_features=ignore_features or None,
            train_size=train_size,
            fold=folds,
            session_id=seed,
            n_jobs=n_jobs,
            use_gpu=USE_GPU[use_gpu],
            verbose=False,
            html=False,
            log_experiment=False,
            # PyCaret would write logs.log into the working directory; the job log has stdout/stderr.
            system_log=False,
            **extra,
        )
        return summary_table(self.exp.pull())

    def add_metric(self, metric_id: str, name: str, func: Any, target: str, greater_is_better: bool) -> None:
        self.exp.add_metric(metric_id, name, func, target=target, greater_is_better=greater_is_better)

    def models(self) -> dict[str, str]:
        """Model ids -> display names for this task."""
        return {k: v.name for k, v in self.exp._all_models.items()}

    def plan(self, include: list[str], exclude: list[str], custom: list[Any] | None = None) -> list[Any]:
        """The models compare_models will try, in its order (turbo models unless include is given)."""
        all_models = self.exp._all_models
        check_model_ids(self.task, all_models, [*include, *exclude])
        if include:
            return [*include, *(custom or [])]
        planned: list[Any] = [k for k, v in all_models.items() if v.is_turbo and k not in exclude]
        planned += list(custom or [])
        if not planned:
            raise user_error("NoModels", "Every model is excluded.", "Exclude fewer models.")
        return planned

    def resolve_sort(self, sort: str | None) -> str:
        """The PyCaret display name of the sort metric (e.g. 'Prec.' for 'Precision')."""
        if sort is None:
            return DEFAULT_SORT[self.task]
        if sort in ("TT", FIT_TIME):
            return FIT_TIME
        metric = self.exp._get_metric_by_name_or_id(sort)
        if metric is None:
            names = [m.display_name for m in self.exp._all_metrics.values()]
            raise user_error(
                "UnknownSortMetric", f"'{sort}' is not a {self.task} metric.", f"Sort by one of: {', '.join(names)}, {FIT_TIME}."
            )
        if self.is_multiclass and not metric.is_multiclass:
            raise user_error(
                "SortMetricNotMulticlass",
                f"'{sort}' is not defined for a target with more than two classes.",
                "Sort by Accuracy, F1 or another multiclass metric.",
            )
        return str(metric.display_name)

    @property
    def is_multiclass(self) -> bool:
        return self.task == "classification" and bool(self.exp.is_multiclass)

    def feature_columns(self) -> list[str]:
        """The raw input columns the final pipeline expects (target and ignored columns excluded)."""
        return [str(c) for c in self.exp.X.columns]

    def feature_sample(self, n: int = 5) -> pd.DataFrame:
        """Rows of the caller's data (original dtypes: PyCaret downcasts its own copy to 32 bits),
        so the model's signature describes what callers send."""
        assert self.data is not None, "setup() first"
        return self.data[self.feature_columns()].head(n).copy()

    def test_data(self) -> tuple[pd.DataFrame, pd.Series]:
        """PyCaret's hold-out split, transformed as the model sees it (target encoded)."""
        return self.exp.X_test_transformed, self.exp.y_test_transformed

    def train_data(self) -> tuple[pd.DataFrame, pd.Series]:
        return self.exp.X_train_transformed, self.exp.y_train_transformed

    def classes(self) -> list[str]:
        """Class labels in the order of predict_proba's columns (classification)."""
        if self.task != "classification":
            return []
        encoder = dict(self.exp.pipeline.steps).get("label_encoding")
        transformer = getattr(encoder, "transformer", None)
        found = getattr(transformer, "classes_", None)
        if found is not None:
            return [str(c) for c in found]
        return [str(c) for c in sorted(pd.Series(self.exp.y).dropna().unique())]

    # ---------------------------------------------------------------- compare
    def compare(
        self, planned: list[Any], sort: str, hooks: CompareHooks, workers: int = 1, dask_scheduler: str | None = None
    ) -> tuple[Any, pd.DataFrame]:
        """compare_models' leaderboard with per-model hooks; returns (best, leaderboard).

        With ``dask_scheduler`` the models are cross-validated on that Dask cluster
        (``dask_compare``: same metrics and ranking, hooks called once all have finished). With
        ``workers`` > 1 they are cross-validated side by side in forked helpers (``fast_compare``:
        same metrics and ranking); otherwise compare_models runs as a bare call would run it."""
        if dask_scheduler:
            from .dask_compare import compare_on_dask

            return compare_on_dask(self.exp, planned, sort, hooks, dask_scheduler, self.models())
        if can_fork(self.exp, planned, workers):
            return compare_fast(self.exp, planned, sort, hooks, workers)
        names = self.models()
        include = list(planned)

        def run() -> Any:
            return self.exp.compare_models(include=include, sort=sort, n_select=1, verbose=False)

        best = streamed_compare(self.exp, names, len(planned), hooks, run)
        board = self.exp.pull()
        if isinstance(best, list) or best is None or len(board) == 0:
            raise all_failed()
        return best, relabel_custom(board, planned)

    def create(self, model: Any, hooks: CompareHooks | None = None, **params: Any) -> tuple[Any, ModelResult]:
        """create_model with cross-validation: the model (fit on the training split) and its CV result."""
        model_id = model if isinstance(model, str) else model_id_of(model)
        if isinstance(model, str):
            check_model_ids(self.task, self.models(), [model])
        name = self.models().get(model_id, type(model).__name__ if not isinstance(model, str) else model_id)
        if hooks:
            hooks.on_model_start(model_id, name, 0, 1)
        started = time.time()
        fitted = self.exp.create_model(model, verbose=False, **params)
        grid = self.exp.pull()
        fit_time = num(grid.loc["Mean", FIT_TIME]) if FIT_TIME in grid.columns and "Mean" in grid.index else None
        result = grid_result(model_id, name, grid, fit_time or (time.time() - started), time.time() - started, fitted)
        if hooks:
            hooks.on_model_done(result, 1, 1)
        return fitted, result

    # --------------------------------------------------------------- finalize
    def finalize(self, best: Any) -> Any:
        return self.exp.finalize_model(best)

    def predict(self, pipeline: Any, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(pipeline.predict(features))

    def holdout(self, estimator: Any) -> tuple[dict[str, float | None], pd.DataFrame]:
        """Metrics of the (train-split) estimator on PyCaret's hold-out set, and its predictions there."""
        extra = {"raw_score": True} if self.task == "classification" else {}  # regression has no raw_score
        scored = self.exp.predict_model(estimator, verbose=False, **extra)
        grid = self.exp.pull()
        metrics = {str(c): num(v) for c, v in grid.iloc[0].items() if c != "Model"} if isinstance(grid, pd.DataFrame) and len(grid) else {}
        return metrics, scored

    def save_plots(self, estimator: Any, out_dir: Path) -> tuple[list[tuple[str, Path]], list[str]]:
        """PyCaret's plots for the task as PNG files; returns (name, path) pairs and warnings."""

        def draw(plot: str, folder: str) -> Any:
            return self.exp.plot_model(estimator, plot=plot, save=folder, verbose=False)

        return save_plots(draw, PLOTS[self.task], out_dir)


def summary_table(summary: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(summary, pd.DataFrame) and {"Description", "Value"} <= set(summary.columns):
        for desc, value in zip(summary["Description"], summary["Value"]):
            out[str(desc)] = str(value)
    return out


def relabel_custom(board: pd.DataFrame, planned: list[Any]) -> pd.DataFrame:
    """With a custom estimator among the models, compare_models labels every row by its position
    in ``include`` ("0", "1"...); name the rows as the stream did (model ids, ``custom:<Class>``)."""
    if all(isinstance(m, str) for m in planned):
        return board
    ids = [m if isinstance(m, str) else model_id_of(m) for m in planned]
    positions = {str(n): model_id for n, model_id in enumerate(ids)}
    return board.set_axis([positions.get(str(i), i) for i in board.index], axis=0)
