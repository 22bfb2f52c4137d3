"""The forecasting family: time-series forecasting (task ``time_series``) with PyCaret's time_series module.

kind=train: the table becomes a regular series (``ml.ts_prep.prepare_series``: dates read the way
people write them, a frequency, the user's fix-up policies for duplicates, gaps and missing
values, each fix-up a warning and a note), then PyCaret's setup holds out the last ``horizon``
periods and cross-validates on expanding windows before them; compare (streamed, one child run per
model) or create one model; the best is refitted on the whole series and logged in a ``final`` run
with hold-out metrics, the forecast with its prediction interval, charts and PNGs, and the model.
The forecast table is also a job output (``<dataset>-forecast``).

Scoring a registered forecaster needs no training data: the pickled pipeline holds its fitted
series, and the model's metadata says the rest (frequency, last period, exogenous columns, default
horizon, coverage). It returns one row per future period: ``period``, ``y_pred``, ``lower``, ``upper``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..data import read_dataset
from ..errors import user_error
from ..experiment_log import PendingRun, TrainingLog, metric_params
from ..ml.ts_prep import clean_name, prepare_future_exogenous, prepare_series
from ..tracking import dataset_label
from .base import unsupported
from .fields import META, NUMERIC, spec_fields
from .forecasting_final import FORECAST_COLUMNS, log_forecast_run
from .setup_options import setup_fields, validate_setup

if TYPE_CHECKING:
    import pandas as pd

    from ..context import JobContext
    from ..scoring import LoadedModel

OPERATIONS = ["compare", "create"]
_FIELDS = [
    "date_column", "time_column", "target", "exogenous", "frequency", "duplicates", "gaps", "missing_values",
    "na_values", "horizon", "folds", "seasonal_period", "coverage", "operation", "model", "include", "exclude", "sort",
    "seed", "use_gpu",
]
_PLOTS = {
    "forecast": "Forecast with prediction interval",
    "residuals": "Residuals",
    "decomposition": "Classical decomposition",
    "acf": "Auto correlation (ACF)",
    "pacf": "Partial auto correlation (PACF)",
}
_PREDICTION_HELP = {
    "period": "the forecast period (ISO date, or date and time)",
    "y_pred": "the point forecast",
    "lower": "lower bound of the prediction interval (the coverage the model was trained with); null when the model "
    "has none",
    "upper": "upper bound of the prediction interval; null when the model has none",
}


class ForecastingFamily:
    family = "forecasting"
    tasks = ("time_series",)

    # ---------------------------------------------------------------- catalog
    def describe(self, task: str, probe: Any) -> dict[str, Any]:
        from ..adapters.pycaret3.timeseries import BROKEN_MODELS, DEFAULT_MODELS, DEFAULT_SORT

        facts = probe(task)
        models = [{**m, "gpu": False, "turbo": m["id"] in DEFAULT_MODELS} for m in facts.models]
        broken = "; ".join(f"{model_id} {why}" for model_id, why in BROKEN_MODELS.items())
        overrides = {
            "target": {"help": "The numeric column to forecast.", "columnKinds": list(NUMERIC)},
            "include": {
                "help": META["include"].help + " The default set leaves out auto_arima, bats, tbats and the tree-based "
                "*_cds_dt models (slow on long series) and models that fail in this engine: " + broken + "."
            },
        }
        return {
            "task": task,
            "family": self.family,
            "label": "Time-series forecasting",
            "description": "Forecast the next periods of a series from its past (and, optionally, other series), "
            "with prediction intervals.",
            "operations": OPERATIONS,
            "fields": spec_fields(task, _FIELDS, overrides=overrides) + setup_fields(task, facts.setup),
            "models": models,
            "metrics": facts.metrics,
            "defaultSort": DEFAULT_SORT,
            "plots": [{"id": k, "name": v, "chart": True} for k, v in _PLOTS.items()],
            "predictionColumns": [{"name": c, "help": _PREDICTION_HELP[c]} for c in FORECAST_COLUMNS],
        }

    # ------------------------------------------------------------------ train
    def train(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        ev = ctx.events
        task, target = spec["task"], spec["target"]
        timings: dict[str, float] = {}
        t0 = time.monotonic()
        if spec["operation"] == "create" and not spec.get("model"):
            raise user_error("ModelRequired", "operation 'create' needs the model to train.",
                             "Set 'model' to a model id from the catalog.")

        ev.stage("loading", f"Reading dataset {dataset_label(spec['dataset'])}")
        df = read_dataset(spec["dataset"])
        ev.stage("preparing", "Reading dates and making a regular series")
        prep = prepare_series(
            df, spec["date_column"], target, time_column=spec.get("time_column"), exogenous=spec["exogenous"],
            frequency=spec.get("frequency"), duplicates=spec["duplicates"], gaps=spec["gaps"],
            missing_values=spec["missing_values"], na_values=spec["na_values"],
        )
        for note in prep.notes:
            ev.warning(note)
        if spec["use_gpu"] == "on":
            ev.warning("No forecasting model trains on a GPU; training on the CPU.")

        log = TrainingLog(spec, ctx, task)
        run_name = f"{spec['experiment_name']} · {dataset_label(spec['dataset'])}"
        log.open_parent(run_name, {"caretflow.target": target}, df)

        ev.stage("setup", f"Preparing the forecast (PyCaret setup, {prep.frequency_label} series of "
                          f"{len(prep.y):,} periods)")
        from ..adapters.pycaret3 import CompareHooks, leaderboard_rows
        from ..adapters.pycaret3.probe import setup_method
        from ..adapters.pycaret3.timeseries import TimeSeriesSession

        options = validate_setup(task, spec["setup"], setup_fields(task, setup_method(task))) if spec["setup"] else {}
        session = TimeSeriesSession()
        summary = session.setup(
            prep.y, prep.X, fh=spec["horizon"], folds=spec["folds"], seed=spec["seed"], n_jobs=spec["n_jobs"],
            seasonal_period=spec.get("seasonal_period"), options=options,
        )
        sort = session.resolve_sort(spec.get("sort"))
        timings["setup"] = time.monotonic() - t0
        log.log_params(log.parent_id, {
            "task": task, "target": target, "dataset": dataset_label(spec["dataset"]),
            "date_column": spec["date_column"], "time_column": spec.get("time_column"), "exogenous": spec["exogenous"],
            "frequency": prep.frequency, "periods": len(prep.y), "horizon": spec["horizon"], "folds": spec["folds"],
            "seasonal_period": session.seasonal_period, "coverage": spec["coverage"], "duplicates": spec["duplicates"],
            "gaps": spec["gaps"], "missing_values": spec["missing_values"], "na_values": spec["na_values"],
            "seed": spec["seed"], "n_jobs": spec["n_jobs"], "include": spec["include"], "exclude": spec["exclude"],
            "operation": spec["operation"], "sort": sort,
            **({"setup_options": options} if options else {}),
            **metric_params("setup", summary),
        })

        child_runs: dict[str, PendingRun] = {}
        streamed: dict[str, dict[str, Any]] = {}

        def on_start(model_id: str, name: str, done: int, total: int) -> None:
            child_runs[model_id] = log.child_later(model_id, name)
            ev.progress(done, total, f"Training {name} ({done + 1} of {total})")

        def on_done(result: Any, done: int, total: int) -> None:
            run_id = child_runs[result.model_id].id
            log.child_done(run_id, result)
            row = {"model_id": result.model_id, "model_name": result.model_name, "metrics": result.metrics,
                   "fit_seconds": max(0.0, result.fit_seconds), "mlflow_run_id": run_id}
            streamed[result.model_id] = row
            ev.emit("leaderboard_row", row=row)
            ev.progress(done, total, f"{result.model_name} done ({done} of {total})")

        def on_failed(model_id: str, name: str, exc: BaseException) -> None:
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
            ev.warning(f"{name} ({model_id}) failed and is skipped: {first}")

        hooks = CompareHooks(on_start, on_done, on_failed)
        t1 = time.monotonic()
        if spec["operation"] == "create":
            ev.stage("compare", f"Training {spec['model']}")
            best, result = session.create(spec["model"], hooks)
            leaderboard = [{**streamed[result.model_id], "rank": 1}]
        else:
            planned = session.plan(spec["include"], spec["exclude"])
            ev.stage("compare", f"Comparing {len(planned)} models by {sort}")
            best, board = session.compare(planned, [], sort, hooks)
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
        final = log_forecast_run(session, log, prep, spec, best, top, timings)
        return log.close_training(
            task=task, leaderboard=leaderboard, final=final, sort=sort, outputs=final["outputs"], timings=timings, started=t0
        )

    def operate(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        raise unsupported(spec["train"]["task"], spec["operation"]["op"], OPERATIONS)

    # ---------------------------------------------------------------- scoring
    def prediction_columns(self, model: LoadedModel) -> list[str]:
        return list(FORECAST_COLUMNS)

    def score(self, model: LoadedModel, df: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
        """``options['horizon']`` periods (default: the trained horizon) after the training data.

        With exogenous columns, ``df`` holds their future values: rows with the date column are matched
        by date (other dates ignored), rows without it are taken one per period, in order. Without
        exogenous columns the rows are not needed and not read. The result is indexed by period, never
        by the input rows."""
        from ..adapters.pycaret3.ts_forecast import forecast_pipeline

        meta = model.meta
        horizon = int(options.get("horizon") or meta["caretflow_horizon"])
        exogenous = [str(c) for c in meta.get("caretflow_exogenous") or []]
        X_future = _future_rows(df, meta, exogenous) if exogenous and len(df) else None
        return forecast_pipeline(model.pipeline, horizon, float(meta["caretflow_coverage"]), exogenous, X_future)


def _future_rows(df: pd.DataFrame, meta: dict[str, Any], exogenous: list[str]) -> pd.DataFrame:
    """Future exogenous values indexed by period when the rows carry the date column, else as given."""
    by_clean = {clean_name(c): c for c in df.columns}
    date_col = by_clean.get(clean_name(meta["caretflow_date_column"]))
    if date_col is None:
        return df
    time_name = meta.get("caretflow_time_column")
    time_col = by_clean.get(clean_name(time_name)) if time_name else None
    return prepare_future_exogenous(df, date_col, exogenous, meta["caretflow_frequency"], time_column=time_col)
