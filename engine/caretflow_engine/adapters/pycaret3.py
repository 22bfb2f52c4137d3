"""Everything the engine needs from PyCaret 3.x, and the only module that imports it.

Streaming the leaderboard: ``compare_models`` runs once, exactly as a bare call would, so its
final ranking is PyCaret's own. Rows are streamed by wrapping the experiment instance's
``_create_model``: compare_models calls it once per candidate with ``cross_validation=True,
refit=False`` and pulls the per-fold score grid right after, so the wrapper reads the same grid
(``pull()`` without popping) and reports the model the moment its cross-validation ends. The
alternatives were worse: one compare_models call per model changes timing and tie handling and
repeats set-up work; the display hooks are no-ops with ``verbose=False``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pycaret.classification import ClassificationExperiment
from pycaret.regression import RegressionExperiment

from ..errors import user_error

DEFAULT_SORT = {"classification": "Accuracy", "regression": "R2"}
FIT_TIME = "TT (Sec)"
PLOTS = {
    "classification": [("confusion_matrix", "confusion_matrix"), ("auc", "roc_auc"), ("feature", "feature_importance")],
    "regression": [("residuals", "residuals"), ("error", "prediction_error"), ("feature", "feature_importance")],
}


@dataclass
class ModelResult:
    """One compared model's cross-validation, as PyCaret computed it."""

    model_id: str
    model_name: str
    metrics: dict[str, float | None]  # mean over folds, PyCaret metric names, plus "TT (Sec)"
    std: dict[str, float | None]
    folds: list[dict[str, float | None]]
    fit_seconds: float
    wall_seconds: float
    params: dict[str, Any]


@dataclass
class CompareHooks:
    on_model_start: Callable[[str, str, int, int], None]
    on_model_done: Callable[[ModelResult, int, int], None]
    on_model_failed: Callable[[str, str, BaseException], None] = field(default=lambda *_: None)


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


def estimator_params(estimator: Any) -> dict[str, Any]:
    try:
        params = estimator.get_params(deep=False)
    except Exception:  # a custom estimator without get_params still trains
        return {}
    return {k: (v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)) for k, v in params.items()}


class Pycaret3Session:
    """One PyCaret experiment: setup, compare with streaming, finalize, plots, holdout metrics."""

    def __init__(self, task: str):
        if task == "classification":
            self.exp: Any = ClassificationExperiment()
        elif task == "regression":
            self.exp = RegressionExperiment()
        else:
            raise ValueError(f"unknown task {task}")
        self.task = task
        self.target: str | None = None
        self.data: pd.DataFrame | None = None

    # ------------------------------------------------------------------ setup
    def setup(
        self,
        data: pd.DataFrame,
        target: str,
        ignore_features: list[str],
        train_size: float,
        folds: int,
        seed: int,
        n_jobs: int,
    ) -> dict[str, str]:
        """Run PyCaret's setup; returns its summary table (Description -> Value) for logging."""
        self.target = target
        self.data = data
        self.exp.setup(
            data=data,
            target=target,
            ignore_features=ignore_features or None,
            train_size=train_size,
            fold=folds,
            session_id=seed,
            n_jobs=n_jobs,
            verbose=False,
            html=False,
            log_experiment=False,
            # PyCaret would write logs.log into the working directory; the job log has stdout/stderr.
            system_log=False,
        )
        summary = self.exp.pull()
        out: dict[str, str] = {}
        if isinstance(summary, pd.DataFrame) and {"Description", "Value"} <= set(summary.columns):
            for desc, value in zip(summary["Description"], summary["Value"]):
                out[str(desc)] = str(value)
        return out

    def models(self) -> dict[str, str]:
        """Model ids -> display names for this task."""
        return {k: v.name for k, v in self.exp._all_models.items()}

    def plan(self, include: list[str], exclude: list[str]) -> list[str]:
        """The models compare_models will try, in its order (turbo models unless include is given)."""
        all_models = self.exp._all_models
        unknown = [m for m in [*include, *exclude] if m not in all_models]
        if unknown:
            raise user_error(
                "UnknownModel",
                f"Unknown {self.task} model id(s): {', '.join(unknown)}.",
                f"Use ids from: {', '.join(all_models)}.",
            )
        if include:
            return list(include)
        planned = [k for k, v in all_models.items() if v.is_turbo and k not in exclude]
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
                "UnknownSortMetric",
                f"'{sort}' is not a {self.task} metric.",
                f"Sort by one of: {', '.join(names)}, {FIT_TIME}.",
            )
        if self.exp.is_multiclass if self.task == "classification" else False:
            if not metric.is_multiclass:
                raise user_error(
                    "SortMetricNotMulticlass",
                    f"'{sort}' is not defined for a target with more than two classes.",
                    "Sort by Accuracy, F1 or another multiclass metric.",
                )
        return str(metric.display_name)

    def feature_columns(self) -> list[str]:
        """The raw input columns the final pipeline expects (target and ignored columns excluded)."""
        return [str(c) for c in self.exp.X.columns]

    def feature_sample(self, n: int = 5) -> pd.DataFrame:
        """Rows of the caller's data (original dtypes: PyCaret downcasts its own copy to 32 bits),
        so the model's signature describes what callers send."""
        assert self.data is not None, "setup() first"
        return self.data[self.feature_columns()].head(n).copy()

    # ---------------------------------------------------------------- compare
    def compare(self, include: list[str], exclude: list[str], sort: str, hooks: CompareHooks) -> tuple[Any, pd.DataFrame]:
        """compare_models as a bare call would run it, with per-model hooks; returns (best, leaderboard)."""
        exp = self.exp
        names = self.models()
        planned = self.plan(include, exclude)
        total = len(planned)
        original = exp._create_model
        state = {"done": 0, "current": None}

        def create_model_hooked(*args: Any, **kwargs: Any) -> Any:
            comparing = kwargs.get("cross_validation", True) and kwargs.get("refit", True) is False
            estimator = kwargs.get("estimator", args[0] if args else None)
            if not comparing or not isinstance(estimator, str):
                return original(*args, **kwargs)
            name = names.get(estimator, estimator)
            if state["current"] != estimator:  # PyCaret retries a failed model once; count it once
                state["current"] = estimator
                hooks.on_model_start(estimator, name, state["done"], total)
            started = time.time()
            try:
                result = original(*args, **kwargs)
            except Exception as exc:
                hooks.on_model_failed(estimator, name, exc)
                raise
            model, fit_time = result
            grid = exp.pull()
            state["done"] += 1
            hooks.on_model_done(
                self._model_result(estimator, name, grid, fit_time, time.time() - started, model), state["done"], total
            )
            return result

        exp._create_model = create_model_hooked
        try:
            best = exp.compare_models(
                include=list(include) or None,
                exclude=None if include else (list(exclude) or None),
                sort=sort,
                n_select=1,
                verbose=False,
            )
        finally:
            exp._create_model = original
        board = exp.pull()
        if isinstance(best, list) or best is None or len(board) == 0:
            raise user_error(
                "AllModelsFailed",
                "Every model failed to train on this data.",
                "Look at the job log for the errors; check the target and feature types, or try other models.",
            )
        return best, board

    def _model_result(
        self, model_id: str, name: str, grid: pd.DataFrame, fit_time: Any, wall: float, model: Any
    ) -> ModelResult:
        metric_cols = [c for c in grid.columns if c not in ("cutoff",)]
        folds = []
        for idx in grid.index:
            if isinstance(idx, (int, np.integer)):
                folds.append({str(c): _num(grid.loc[idx, c]) for c in metric_cols})
        mean = {str(c): _num(grid.loc["Mean", c]) for c in metric_cols} if "Mean" in grid.index else {}
        std = {str(c): _num(grid.loc["Std", c]) for c in metric_cols} if "Std" in grid.index else {}
        fit = _num(fit_time) or 0.0
        mean[FIT_TIME] = fit
        return ModelResult(model_id, name, mean, std, folds, fit, wall, estimator_params(model))

    @staticmethod
    def leaderboard_rows(board: pd.DataFrame) -> list[dict[str, Any]]:
        """The sorted comparison grid as protocol rows (best first), without run ids."""
        rows = []
        for rank, (model_id, row) in enumerate(board.iterrows(), start=1):
            metrics = {str(c): _num(v) for c, v in row.items() if c != "Model"}
            rows.append(
                {
                    "rank": rank,
                    "model_id": str(model_id),
                    "model_name": str(row.get("Model", model_id)),
                    "metrics": metrics,
                    "fit_seconds": max(0.0, metrics.get(FIT_TIME) or 0.0),
                }
            )
        return rows

    # --------------------------------------------------------------- finalize
    def finalize(self, best: Any) -> Any:
        return self.exp.finalize_model(best)

    def predict(self, pipeline: Any, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(pipeline.predict(features))

    def holdout_metrics(self, estimator: Any) -> dict[str, float | None]:
        """Metrics of the (train-split) estimator on PyCaret's hold-out set."""
        self.exp.predict_model(estimator, verbose=False)
        grid = self.exp.pull()
        if not isinstance(grid, pd.DataFrame) or len(grid) == 0:
            return {}
        return {str(c): _num(v) for c, v in grid.iloc[0].items() if c != "Model"}

    def save_plots(self, estimator: Any, out_dir: Path) -> tuple[list[tuple[str, Path]], list[str]]:
        """PyCaret's plots for the task as PNG files; returns (name, path) pairs and warnings."""
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt

        saved: list[tuple[str, Path]] = []
        warnings: list[str] = []
        out_dir.mkdir(parents=True, exist_ok=True)
        for plot, name in PLOTS[self.task]:
            with tempfile.TemporaryDirectory() as tmp:
                cwd = os.getcwd()
                try:
                    # plot_model(save=...) writes into the current directory in some versions.
                    os.chdir(tmp)
                    written = self.exp.plot_model(estimator, plot=plot, save=tmp, verbose=False)
                    src = Path(written) if written else None
                    if src is not None and not src.is_absolute():
                        src = Path(tmp) / src
                    if src is None or not src.is_file():
                        pngs = sorted(Path(tmp).glob("*.png"))
                        src = pngs[0] if pngs else None
                    if src is None:
                        warnings.append(f"plot '{name}' produced no file")
                        continue
                    dst = out_dir / f"{name}.png"
                    dst.write_bytes(src.read_bytes())
                    saved.append((name, dst))
                except Exception as exc:  # e.g. feature importance for a model without coef_/feature_importances_
                    warnings.append(f"plot '{name}' is not available for this model: {str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}")
                finally:
                    os.chdir(cwd)
                    plt.close("all")
        return saved, warnings
