"""Forecasting with a fitted PyCaret time-series pipeline alone, without the experiment that made it.

A registered forecaster is scored long after training, in a process that has neither the
experiment nor the training file: the finalized ``ForecastingPipeline`` holds the fitted series
(sktime keeps what it needs to forecast from its cutoff), and PyCaret's own
``get_predictions_with_intervals`` turns it into point forecasts and interval bounds exactly as
``predict_model`` does at training time. Future exogenous values are aligned here too, so the
training job's forecast and later scoring share one set of rules and error messages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...errors import user_error
from ...ml.ts_dates import iso_period, period_text, unit_name
from ...ml.ts_prep import clean_name

# Rounding PyCaret's predict_model is called with at training time; scoring rounds the same way so
# the training job's forecast and a later scoring of the registered model give the same numbers.
FORECAST_DECIMALS = 10


def forecast_periods(pipeline: object, horizon: int) -> pd.PeriodIndex:
    """The ``horizon`` periods after the pipeline's cutoff (the last period it was fitted on)."""
    cutoff = pipeline.cutoff  # type: ignore[attr-defined]
    last = cutoff[-1] if isinstance(cutoff, pd.Index) else cutoff
    if not isinstance(last, pd.Period):
        raise TypeError(f"the forecaster's cutoff is not a period: {last!r}")
    return pd.period_range(last + 1, periods=horizon, freq=last.freq)


def missing_future_error(cols: list[str], periods: pd.PeriodIndex) -> Exception:
    unit = unit_name(periods.freqstr)
    span = f"{period_text(periods[0])} to {period_text(periods[-1])}"
    return user_error(
        "ExogenousFutureMissing",
        f"The model uses the exogenous column(s) {', '.join(cols)}; forecasting {len(periods)} {unit}(s) "
        f"beyond the data ({span}) needs their future values.",
        f"Pass future values of {', '.join(cols)} for each of those {unit}s, or train without exogenous columns.",
    )


def align_exogenous(cols: list[str], periods: pd.PeriodIndex, X_future: pd.DataFrame) -> pd.DataFrame:
    """Future exogenous values on exactly ``periods``: rows indexed by period/date are matched by
    date (extra rows ignored); rows without dates must be one per period, in order."""
    unit = unit_name(periods.freqstr)
    span = f"{period_text(periods[0])} to {period_text(periods[-1])}"
    by_clean = {clean_name(c): c for c in X_future.columns}
    absent = [c for c in cols if c not in X_future.columns and clean_name(c) not in by_clean]
    if absent:
        raise user_error("ExogenousColumnsMissing", f"The future values lack the column(s) {', '.join(absent)}.",
                         f"Give future values for every exogenous column: {', '.join(cols)}.")
    frame = X_future.rename(columns={v: k for k, v in by_clean.items()})[cols]
    if isinstance(frame.index, pd.DatetimeIndex):
        frame.index = frame.index.to_period(periods.freq)
    if isinstance(frame.index, pd.PeriodIndex):
        frame = frame[~frame.index.duplicated()].reindex(periods)
    elif len(frame) == len(periods):
        frame = frame.set_axis(periods)
    else:
        raise user_error(
            "ExogenousFutureMisaligned",
            f"The future exogenous values have {len(frame)} rows without dates, but the forecast has "
            f"{len(periods)} {unit}s ({span}).",
            "Give one row per forecast period, in order, or index the rows by their dates.",
        )
    frame = frame.apply(pd.to_numeric, errors="coerce").astype(float)
    holes = frame.index[frame.isna().any(axis=1).to_numpy()]
    if len(holes):
        raise user_error(
            "ExogenousFutureMissing",
            f"The future exogenous values have no (numeric) value for {len(holes)} of the forecast {unit}s, "
            f"the first: {', '.join(period_text(p) for p in holes[:3])}.",
            f"Give numeric values of {', '.join(cols)} for every {unit} from {span}.",
        )
    return frame


def forecast_pipeline(
    pipeline: object, horizon: int, coverage: float, exogenous: list[str], X_future: pd.DataFrame | None
) -> pd.DataFrame:
    """``horizon`` periods after the pipeline's data: ``period`` (ISO text), ``y_pred``, ``lower``,
    ``upper`` (None where the model has no intervals), indexed by the periods themselves, so a
    forecast can never be mistaken for predictions aligned with input rows."""
    from pycaret.utils.time_series.forecasting import get_predictions_with_intervals
    from sktime.forecasting.base import ForecastingHorizon

    if horizon < 1:
        raise user_error("InvalidHorizon", f"The horizon ({horizon}) must be at least 1.",
                         "Forecast one period or more.")
    periods = forecast_periods(pipeline, horizon)
    X = None
    if exogenous:
        if X_future is None or len(X_future) == 0:
            raise missing_future_error(exogenous, periods)
        X = align_exogenous(exogenous, periods, X_future)
    result = get_predictions_with_intervals(
        forecaster=pipeline, alpha=None, coverage=coverage, X=X,
        fh=ForecastingHorizon(np.arange(1, horizon + 1)), merge=True, round=FORECAST_DECIMALS,
    )
    frame = pd.DataFrame(
        {
            "period": [iso_period(p) for p in periods],
            "y_pred": result["y_pred"].to_numpy(dtype=float),
            "lower": result["lower"].to_numpy(dtype=float),
            "upper": result["upper"].to_numpy(dtype=float),
        },
        index=periods,
    )
    for col in ("lower", "upper"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame
