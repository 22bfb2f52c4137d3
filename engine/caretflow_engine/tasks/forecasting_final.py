"""The run that holds a forecaster: the best model refitted on the whole series, its hold-out metrics,
its forecast with prediction intervals (also a job output), chart data, PNGs and the saved model.

Which forecast is shown: without exogenous columns, the finalized model's next ``horizon`` periods
beyond the data. With them, the future values of those columns are unknown at training time, so
the forecast shown is the hold-out one (the model trained before the hold-out, fed the hold-out's
known exogenous values), and a note says so; the registered model forecasts beyond the data once
a caller gives the future values.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..datastore import write_output
from ..experiment_log import MODEL_ARTIFACT_PATH, TrainingLog
from ..ml.ts_dates import iso_period, period_text
from ..model_store import SHA_TAG, SOURCE_TAG, save_model

if TYPE_CHECKING:
    import pandas as pd

    from ..ml.ts_prep import PreparedSeries

FORECAST_COLUMNS = ("period", "y_pred", "lower", "upper")
TASK = "time_series"


def log_forecast_run(
    session: Any, log: TrainingLog, prep: PreparedSeries, spec: dict[str, Any], best: Any, top: dict[str, Any],
    timings: dict[str, float],
) -> dict[str, Any]:
    """Finalize, forecast, chart and save the best model in a ``final`` run; returns run id, sha, details, outputs."""
    from ..adapters.pycaret3 import estimator_params

    ev = log.ctx.events
    coverage = float(spec["coverage"])
    t = time.monotonic()
    ev.stage("finalize", f"Fitting {top['model_name']} on the whole series")
    final = session.finalize(best)
    timings["finalize"] = time.monotonic() - t

    t = time.monotonic()
    ev.stage("evaluate", "Hold-out metrics, forecast and charts")
    holdout = session.holdout_metrics(best)
    notes = list(prep.notes)
    shown = final
    if prep.X is not None:
        shown = best
        holdout_span = f"{period_text(session.exp.y_test.index[0])} to {period_text(session.exp.y_test.index[-1])}"
        notes.append(
            f"The model uses the exogenous column(s) {', '.join(prep.X.columns)}, whose future values are unknown "
            "here, "
            f"so the forecast shown covers the hold-out ({holdout_span}); to forecast beyond the data, score the "
            "registered model with those columns' future values."
        )
        ev.warning(notes[-1])
    forecast, warnings = session.forecast(shown, coverage=coverage)
    charts, chart_warnings = session.charts(shown, coverage=coverage)
    for message in dict.fromkeys([*warnings, *chart_warnings]):
        ev.warning(message)
    timings["evaluate"] = time.monotonic() - t

    t = time.monotonic()
    ev.stage("logging", "Logging the forecaster, its forecast and charts to MLflow")
    run_id = log.model_run("final", top["model_id"], top["model_name"],
                           {"caretflow.cv_run_id": top.get("mlflow_run_id", "")})
    log.log_metrics(run_id, {**top["metrics"], **{f"holdout_{k}": v for k, v in holdout.items()}},
                    params={**estimator_params(best), "coverage": coverage, "frequency": prep.frequency})
    for name, value in holdout.items():
        if value is not None:
            ev.emit("metric", name=f"holdout {name}", value=value, run_id=run_id)
    log.log_charts(run_id, charts)
    table = forecast.reset_index(drop=True)
    log.log_json(run_id, "tables", "forecast", table.to_dict(orient="records"))
    with tempfile.TemporaryDirectory(prefix="caretflow-train-") as tmp:
        model_dir = Path(tmp) / MODEL_ARTIFACT_PATH
        sample_in = prep.X.tail(min(5, len(prep.X))).reset_index(drop=True) if prep.X is not None else None
        sha = save_model(final, model_dir, sample_in, table.head(5).astype({"lower": float, "upper": float}),
                         model_metadata(prep, spec, top))
        log.log_model_dir(run_id, model_dir)
        plots, _ = session.save_plots(shown, Path(tmp) / "plots", charts=charts)
        for name, path in plots:
            log.log_file(run_id, path, "plots", name, "plot")
    log.log_metrics(run_id, {}, tags={SHA_TAG: sha, SOURCE_TAG: f"{log.artifact_uri(run_id)}/{MODEL_ARTIFACT_PATH}"})
    log.end(run_id)
    output = write_output(spec["job_id"], "forecast", table, list(FORECAST_COLUMNS))
    timings["logging"] = time.monotonic() - t
    details = {
        "task": TASK,
        "frequency": prep.frequency,
        "horizon": int(spec["horizon"]),
        "coverage": coverage,
        "holdout": holdout,
        "forecast": forecast_records(table),
        "notes": notes,
    }
    return {"run_id": run_id, "sha": sha, "details": details, "outputs": [output]}


def model_metadata(prep: PreparedSeries, spec: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """What scoring needs besides the pickled pipeline, written into the MLmodel file."""
    meta: dict[str, Any] = {
        "caretflow_task": TASK,
        "caretflow_target": str(prep.y.name),
        "caretflow_model_id": top["model_id"],
        "caretflow_model_name": top["model_name"],
        "caretflow_frequency": prep.frequency,
        "caretflow_last_period": iso_period(prep.y.index[-1]),
        "caretflow_horizon": int(spec["horizon"]),
        "caretflow_coverage": float(spec["coverage"]),
        "caretflow_exogenous": [str(c) for c in prep.X.columns] if prep.X is not None else [],
        "caretflow_date_column": spec["date_column"],
    }
    if spec.get("time_column"):
        meta["caretflow_time_column"] = spec["time_column"]
    return meta


def forecast_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Forecast rows as JSON values (None for a missing bound)."""
    import math

    def num(v: Any) -> float | None:
        return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)

    return [{"period": str(r["period"]), "y_pred": num(r["y_pred"]), "lower": num(r["lower"]), "upper": num(r["upper"])}
            for r in table.to_dict(orient="records")]
