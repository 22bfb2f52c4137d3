"""PyCaret 3's time-series forecasting (``TSForecastingExperiment``), shaped like ``SupervisedSession``.

Streaming works as for classification: TS ``compare_models`` is the shared supervised loop, which
calls ``_create_model(estimator=<id>, cross_validation=True, refit=False, ...)`` once per model
and pulls the fold grid right after, so the same wrapping reports each model when its
cross-validation ends. Differences that matter here: the grid's spread row is "SD" (not "Std")
and it has a "cutoff" column; PyCaret retries a failed model once, so a failure is reported on the
second attempt only; with exogenous columns PyCaret drops every model that cannot use them.

Inputs come from ``ml.ts_prep.prepare_series``: a float series on a PeriodIndex and an optional
exogenous frame on the same index. Forecasting beyond the data with exogenous columns needs their
future values, passed as ``X_future`` (see ``forecast``).
"""

from __future__ import annotations

import inspect
import time
import warnings as py_warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pycaret.time_series import TSForecastingExperiment

from ...errors import EngineError, user_error
from ...ml.ts_charts import (
    Chart,
    correlation_chart,
    decomposition_chart,
    default_lags,
    forecast_chart,
    residuals_chart,
)
from ...ml import chart_png
from ...ml.ts_dates import iso_period, unit_name
from .common import FIT_TIME, CompareHooks, ModelResult, estimator_params, leaderboard_rows
from .ts_forecast import align_exogenous, missing_future_error

DEFAULT_SORT = "MASE"
PLOTS = ("forecast", "residuals", "decomposition", "acf", "pacf")
# Arguments of setup() the session sets itself; options may not override them.
RESERVED_OPTIONS = {
    "data", "data_func", "target", "index", "fh", "fold", "session_id", "n_jobs", "seasonal_period", "verbose",
    "html", "system_log", "log_experiment", "experiment_name", "log_plots", "log_profile", "log_data", "profile",
    "ignore_features",
}
# Every model id of PyCaret 3.3.2's time-series library (setup hides some, e.g. with exogenous columns).
KNOWN_MODELS = (
    "naive", "grand_means", "snaive", "polytrend", "arima", "auto_arima", "exp_smooth", "ets", "theta", "stlf",
    "croston", "bats", "tbats", "prophet", "lr_cds_dt", "en_cds_dt", "ridge_cds_dt", "lasso_cds_dt", "llar_cds_dt",
    "br_cds_dt", "huber_cds_dt", "omp_cds_dt", "knn_cds_dt", "dt_cds_dt", "rf_cds_dt", "et_cds_dt", "gbr_cds_dt",
    "ada_cds_dt", "lightgbm_cds_dt", "xgboost_cds_dt", "catboost_cds_dt",
)
# The default comparison: models that fit in seconds even on long (hourly) series. PyCaret's turbo
# set also has auto_arima (a model search: minutes on long series) and the tree-based *_cds_dt
# models (slow on long series); they run when a request includes them.
DEFAULT_MODELS = (
    "naive", "grand_means", "snaive", "polytrend", "arima", "exp_smooth", "theta", "stlf", "croston",
    "lr_cds_dt", "en_cds_dt", "ridge_cds_dt", "lasso_cds_dt", "llar_cds_dt", "br_cds_dt", "huber_cds_dt",
    "omp_cds_dt", "knn_cds_dt",
)
# Models that cannot train in this engine's environment, with the reason the catalog shows.
BROKEN_MODELS = {
    "ets": "fails with sktime 0.26 and statsmodels 0.15 (ETSResults.simulate() no longer takes random_state)",
}


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


class TimeSeriesSession:
    """One forecasting experiment: setup, streamed compare, finalize, forecasts, charts and plots."""

    task = "time_series"

    def __init__(self) -> None:
        self.exp: Any = TSForecastingExperiment()
        self.y: pd.Series | None = None
        self.X: pd.DataFrame | None = None
        self.fh = 0

    # ------------------------------------------------------------------ setup
    def setup(
        self,
        y: pd.Series,
        X: pd.DataFrame | None,
        fh: int,
        folds: int,
        seed: int,
        n_jobs: int,
        seasonal_period: int | str | list[int | str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, str]:
        """PyCaret's setup on a prepared series; returns its summary (Description -> Value).

        The last ``fh`` periods are the hold-out; cross-validation uses ``folds`` expanding windows of
        ``fh`` periods before it. ``options``: further setup() arguments (e.g. ``fold_strategy``,
        ``transform_target``, ``enforce_exogenous``), checked against its signature."""
        if not isinstance(y.index, pd.PeriodIndex):
            raise ValueError("y needs a PeriodIndex (use ml.ts_prep.prepare_series)")
        if X is not None and not X.index.equals(y.index):
            raise ValueError("X must have the same index as y")
        options = dict(options or {})
        allowed = set(inspect.signature(self.exp.setup).parameters) - RESERVED_OPTIONS
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise user_error(
                "UnknownOption",
                f"Unknown time-series setup option(s): {', '.join(unknown)}.",
                f"Use PyCaret 3.3.2 TSForecastingExperiment.setup arguments: {', '.join(sorted(allowed))}.",
            )
        unit = unit_name(y.index.freqstr)
        if fh < 1 or folds < 1:
            raise user_error("InvalidHorizon", f"The horizon ({fh}) and folds ({folds}) must be at least 1.",
                             "Use a horizon of one or more periods and one or more folds.")
        need = fh * (folds + 1) + 1
        if len(y) < need:
            raise user_error(
                "SeriesTooShort",
                f"The series has {len(y)} {unit}s; a horizon of {fh} with {folds} folds needs at least {need} "
                f"({fh} for the hold-out, {folds} × {fh} for cross-validation and 1 to train on).",
                "Use a shorter horizon, fewer folds, or a longer series.",
            )
        self.y, self.X, self.fh = y, X, fh
        data = y.to_frame() if X is None else pd.concat([y, X], axis=1)
        try:
            self.exp.setup(
                data=data, target=str(y.name), fh=fh, fold=folds, session_id=seed, n_jobs=n_jobs,
                seasonal_period=seasonal_period, verbose=False, html=False, system_log=False,
                log_experiment=False, **options,
            )
        except (ValueError, TypeError) as exc:  # PyCaret's checks of the options and the data
            raise user_error("TimeSeriesSetupFailed", f"PyCaret could not set up the forecast: {exc}".strip(),
                             "Check the forecasting options (seasonal period, horizon, folds).") from exc
        summary = self.exp.pull()
        out: dict[str, str] = {}
        if isinstance(summary, pd.DataFrame) and {"Description", "Value"} <= set(summary.columns):
            for desc, value in zip(summary["Description"], summary["Value"]):
                out[str(desc)] = str(value)
        return out

    @property
    def seasonal_period(self) -> int:
        """The primary seasonal period PyCaret detected or was given (1: none)."""
        return int(self.exp.primary_sp_to_use)

    def models(self) -> dict[str, str]:
        """Model ids -> display names usable on this series (ensemble_forecaster is not comparable)."""
        return {k: v.name for k, v in self.exp._all_models.items() if k != "ensemble_forecaster"}

    def plan(self, include: list[str], exclude: list[str]) -> list[str]:
        """The models compare_models will try, in its order (``DEFAULT_MODELS`` unless include is given)."""
        available = self.models()
        unknown = [m for m in [*include, *exclude] if m not in available]
        if unknown:
            hidden = [m for m in unknown if m in KNOWN_MODELS]
            why = ""
            if hidden:
                why = (f" {', '.join(hidden)} cannot use exogenous columns, so PyCaret leaves them out."
                       if self.X is not None else f" {', '.join(hidden)} cannot be used on this series.")
            raise user_error(
                "UnknownModel",
                f"Unknown or unavailable forecasting model id(s): {', '.join(unknown)}.{why}",
                f"Use ids from: {', '.join(available)}.",
            )
        if include:
            return list(include)
        planned = [k for k in DEFAULT_MODELS if k in available and k not in exclude]
        if not planned:
            raise user_error("NoModels", "Every model of the default set is excluded or unavailable.",
                             f"Exclude fewer models, or include some of: {', '.join(available)}.")
        return planned

    def resolve_sort(self, sort: str | None) -> str:
        """The PyCaret display name of the sort metric (MASE by default; 'mase' and 'MASE' both work)."""
        if sort is None:
            return DEFAULT_SORT
        if sort in ("TT", FIT_TIME):
            return FIT_TIME
        for key, metric in self.exp._all_metrics.items():
            if sort.lower() in (str(key).lower(), str(metric.display_name).lower(), str(metric.name).lower()):
                return str(metric.display_name)
        names = [m.display_name for m in self.exp._all_metrics.values()]
        raise user_error(
            "UnknownSortMetric",
            f"'{sort}' is not a forecasting metric.",
            f"Sort by one of: {', '.join(names)}, {FIT_TIME}.",
        )

    def greater_is_better(self, metric: str) -> bool:
        """Direction of a metric's display name: only R2 is better when larger; errors and time are not."""
        if metric == FIT_TIME:
            return False
        for m in self.exp._all_metrics.values():
            if m.display_name == metric:
                return bool(m.greater_is_better)
        raise KeyError(metric)

    # ---------------------------------------------------------------- compare
    def compare(
        self, include: list[str], exclude: list[str], sort: str, hooks: CompareHooks
    ) -> tuple[Any, pd.DataFrame]:
        """compare_models as a bare call would run it, with per-model hooks; returns (best, leaderboard)."""
        exp = self.exp
        names = self.models()
        planned = self.plan(include, exclude)
        total = len(planned)
        original = exp._create_model
        state: dict[str, Any] = {"done": 0, "current": None, "attempt": 0}

        def create_model_hooked(*args: Any, **kwargs: Any) -> Any:
            comparing = kwargs.get("cross_validation", True) and kwargs.get("refit", True) is False
            estimator = kwargs.get("estimator", args[0] if args else None)
            if not comparing or not isinstance(estimator, str):
                return original(*args, **kwargs)
            name = names.get(estimator, estimator)
            if state["current"] != estimator:
                state.update(current=estimator, attempt=0)
                hooks.on_model_start(estimator, name, state["done"], total)
            state["attempt"] += 1
            started = time.time()
            try:
                result = original(*args, **kwargs)
            except Exception as exc:
                if state["attempt"] >= 2:  # compare_models retries once, then skips the model
                    hooks.on_model_failed(estimator, name, exc)
                raise
            model, fit_time = result
            grid = exp.pull()
            if float(grid.drop(columns=["cutoff"], errors="ignore").iloc[0].sum()) == 0.0:
                # compare_models treats an all-zero first fold as a failure and retries.
                if state["attempt"] >= 2:
                    hooks.on_model_failed(estimator, name, RuntimeError("every metric of the first fold is 0"))
                return result
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
                "Every forecasting model failed on this series.",
                "Look at the job log for the errors; try other models, a shorter horizon or fewer folds.",
            )
        return best, board

    def create(self, model_id: str, hooks: CompareHooks) -> tuple[Any, ModelResult]:
        """One model cross-validated like a compared one (same hooks, one row), then fitted on the train split."""
        self.plan([model_id], [])
        name = self.models()[model_id]
        hooks.on_model_start(model_id, name, 0, 1)
        started = time.time()
        try:
            model = self.exp.create_model(model_id, verbose=False)
        except Exception as exc:
            hooks.on_model_failed(model_id, name, exc)
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            why = f" ({BROKEN_MODELS[model_id]})" if model_id in BROKEN_MODELS else ""
            raise user_error("ModelFailed", f"{name} ({model_id}) failed on this series{why}: {first}",
                             "Look at the job log; try another model, a shorter horizon or fewer folds.") from exc
        grid = self.exp.pull()
        wall = time.time() - started  # create_model's grid has no fit time: the whole cross-validation stands in
        result = self._model_result(model_id, name, grid, wall, wall, model)
        hooks.on_model_done(result, 1, 1)
        return model, result

    @staticmethod
    def _model_result(
        model_id: str, name: str, grid: pd.DataFrame, fit_time: Any, wall: float, model: Any
    ) -> ModelResult:
        metric_cols = [c for c in grid.columns if c != "cutoff"]
        fold_rows = [i for i in grid.index if isinstance(i, (int, np.integer))]
        folds = [{str(c): _num(grid.loc[i, c]) for c in metric_cols} for i in fold_rows]
        mean = {str(c): _num(grid.loc["Mean", c]) for c in metric_cols} if "Mean" in grid.index else {}
        spread = "SD" if "SD" in grid.index else "Std"
        std = {str(c): _num(grid.loc[spread, c]) for c in metric_cols} if spread in grid.index else {}
        fit = _num(fit_time) or 0.0
        mean[FIT_TIME] = fit
        return ModelResult(model_id, name, mean, std, folds, fit, wall, estimator_params(model))

    leaderboard_rows = staticmethod(leaderboard_rows)

    # --------------------------------------------------- finalize and predict
    def finalize(self, best: Any) -> Any:
        """The best model refitted on the whole series (train and hold-out)."""
        return self.exp.finalize_model(best)

    def model_name(self, model: Any) -> str:
        """The library name ('Linear w/ Cond. Deseasonalize & Detrending'), also for a finalized
        model, which PyCaret returns wrapped in its ForecastingPipeline."""
        from sktime.forecasting.compose import ForecastingPipeline

        if isinstance(model, ForecastingPipeline):
            model = self.exp._get_final_model_from_pipeline(model)
        return str(self.exp._get_model_name(model, deep=False))

    def holdout_metrics(self, model: Any) -> dict[str, float | None]:
        """Metrics of the (train-split) model forecasting the hold-out periods."""
        self.exp.predict_model(model, verbose=False)
        grid = self.exp.pull()
        if not isinstance(grid, pd.DataFrame) or len(grid) == 0:
            return {}
        return {str(c): _num(v) for c, v in grid.iloc[0].items() if c != "Model"}

    def forecast(
        self, model: Any, fh: int | None = None, X_future: pd.DataFrame | None = None, coverage: float = 0.9
    ) -> tuple[pd.DataFrame, list[str]]:
        """The next ``fh`` periods (default: the setup horizon) after the model's training data.

        For a finalized model that is beyond the data; for a train-split model, the hold-out
        periods first. Returns (frame with ``period`` as ISO text, ``y_pred``, ``lower``, ``upper``;
        warnings). ``lower``/``upper`` are the ``coverage`` prediction interval, None for models
        without interval support (a warning says so).

        ``X_future`` (only with exogenous columns): their values for the forecast periods, either
        indexed by period/date (extra rows are ignored) or exactly ``fh`` rows in period order
        (see ``ml.ts_prep.prepare_future_exogenous``). A train-split model needs none within the data."""
        assert self.y is not None, "setup() first"
        if not 0 < coverage < 1:
            raise user_error("InvalidCoverage", f"Coverage {coverage} is not between 0 and 1.", "Use e.g. 0.9 for 90%.")
        horizon = int(fh or self.fh)
        finalized = bool(self.exp._is_estimator_finalized(model))
        last = (self.y if finalized else self.exp.y_train).index[-1]
        periods = pd.period_range(last + 1, periods=horizon, freq=self.y.index.freq)
        warnings: list[str] = []
        X = self._future_exogenous(periods, X_future, finalized, warnings)
        result = self.exp.predict_model(
            model, fh=horizon, X=X, return_pred_int=True, coverage=coverage, round=10, verbose=False
        )
        frame = pd.DataFrame({
            "period": [iso_period(p) for p in periods],
            "y_pred": result["y_pred"].to_numpy(dtype=float),
            "lower": result["lower"].to_numpy(dtype=float),
            "upper": result["upper"].to_numpy(dtype=float),
        })
        if frame[["lower", "upper"]].isna().all().all():
            warnings.append(f"{self.model_name(model)} gives no prediction interval in PyCaret 3.3.2 (its sktime "
                            "forecaster cannot predict quantiles), so the forecast has no lower and upper bounds.")
        for col in ("lower", "upper"):
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
        return frame, warnings

    def _future_exogenous(
        self, periods: pd.PeriodIndex, X_future: pd.DataFrame | None, finalized: bool, warnings: list[str]
    ) -> pd.DataFrame | None:
        if self.X is None:
            if X_future is not None:
                warnings.append("Future exogenous values were given but the model uses none; ignored them.")
            return None
        cols = list(self.X.columns)
        if X_future is None:
            known = self.X.reindex(periods)
            if not finalized and not known.isna().any().any():
                return known
            raise missing_future_error(cols, periods)
        return align_exogenous(cols, periods, X_future)

    def residuals(self, model: Any) -> pd.Series | None:
        """In-sample residuals (actual - fitted); None when the forecaster cannot predict in-sample.

        PyCaret predicts in-sample through predict_model, which also scores those predictions
        against the hold-out (lengths differ) and warns with a traceback; that score is not used."""
        with py_warnings.catch_warnings():
            py_warnings.simplefilter("ignore")
            return self.exp.get_residuals(model)

    # ---------------------------------------------------------- charts, PNGs
    def charts(
        self, model: Any, X_future: pd.DataFrame | None = None, coverage: float = 0.9
    ) -> tuple[list[Chart], list[str]]:
        """Chart data for forecast, residuals, decomposition, ACF and PACF; a chart that cannot be
        made is left out with a warning (e.g. no in-sample predictions, no seasonality)."""
        assert self.y is not None, "setup() first"
        charts: list[Chart] = []
        warnings: list[str] = []
        name = self.model_name(model)
        sp = self.seasonal_period

        def make_forecast() -> Chart:
            frame, more = self.forecast(model, X_future=X_future, coverage=coverage)
            warnings.extend(more)
            if self.exp._is_estimator_finalized(model):
                return forecast_chart(self.y, frame, coverage, name)
            return forecast_chart(self.exp.y_train, frame, coverage, name, actual=self.exp.y_test)

        def make_residuals() -> Chart:
            resid = self.residuals(model)
            if resid is None or len(resid) == 0:
                raise ValueError(f"{name} cannot predict in-sample, so it has no residuals")
            return residuals_chart(resid.rename(str(self.y.name)), name)

        builders = {
            "forecast": make_forecast,
            "residuals": make_residuals,
            "decomposition": lambda: decomposition_chart(self.y, sp),
            "acf": lambda: correlation_chart(self.y, "acf", default_lags(len(self.y), sp)),
            "pacf": lambda: correlation_chart(self.y, "pacf", default_lags(len(self.y), sp)),
        }
        for plot, build in builders.items():
            try:
                charts.append(build())
            except EngineError as exc:
                warnings.append(f"chart '{plot}' left out: {exc.message}")
            except Exception as exc:  # a chart must not fail the training job
                text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
                warnings.append(f"chart '{plot}' left out: {text}")
        return charts, warnings

    def save_plots(
        self, model: Any, out_dir: Path, X_future: pd.DataFrame | None = None, coverage: float = 0.9,
        charts: list[Chart] | None = None,
    ) -> tuple[list[tuple[str, Path]], list[str]]:
        """The charts as PNG files named ``<id>.png``; returns (name, path) pairs and warnings.

        Pass ``charts`` from ``charts()`` to draw them without computing them again."""
        warnings: list[str] = []
        if charts is None:
            charts, warnings = self.charts(model, X_future=X_future, coverage=coverage)
        saved = []
        for chart in charts:
            draw = chart_png.render_stacked if chart["id"] == "decomposition" else chart_png.render
            path = draw(chart, out_dir / f"{chart['id']}.png")
            saved.append((chart["id"], path))
        return saved, warnings
