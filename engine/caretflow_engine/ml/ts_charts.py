"""Chart data (``schema/chart.schema.json``, type "xy") for forecasting, and PNGs drawn from it.

Each builder takes plain pandas data, so it is testable without PyCaret. The PNGs are drawn from
the same dicts by ``chart_png``, so the picture in MLflow and the interactive chart in the UI show
the same numbers. (PyCaret 3.3.2 draws its time-series plots with plotly; exporting those as PNG
needs kaleido 1.x, which needs a Chrome browser that an offline engine does not have.)
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .ts_dates import iso_period

Chart = dict[str, Any]
MAX_HISTORY_POINTS = 2000


def _num(value: Any) -> float | None:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _x(index: pd.Index) -> list[str]:
    if isinstance(index, pd.PeriodIndex):
        return [iso_period(p) for p in index]
    return [pd.Timestamp(t).isoformat() for t in index]


def _line(name: str, series: pd.Series, mark: str = "line") -> dict[str, Any]:
    return {"name": name, "mark": mark, "points": [[x, _num(v)] for x, v in zip(_x(series.index), series)]}


def _tail(series: pd.Series) -> tuple[pd.Series, str]:
    """The last ``MAX_HISTORY_POINTS`` (the UI draws every point), and a note when cut."""
    if len(series) <= MAX_HISTORY_POINTS:
        return series, ""
    return series.iloc[-MAX_HISTORY_POINTS:], f"; last {MAX_HISTORY_POINTS:,} of {len(series):,} points"


def forecast_chart(
    history: pd.Series, forecast: pd.DataFrame, coverage: float, model_name: str, actual: pd.Series | None = None
) -> Chart:
    """History line, forecast line and, when the model gives one, the prediction interval as a band.

    ``forecast`` is ``TimeSeriesSession.forecast``'s frame (period as ISO text, y_pred, lower,
    upper). ``actual``: hold-out values to compare with, for a model trained on the train split.
    Only the last ``MAX_HISTORY_POINTS`` of history are kept: the UI draws every point."""
    shown, cut = _tail(history)
    series = [_line(f"{history.name} (history)", shown)]
    if actual is not None:
        series.append(_line(f"{history.name} (hold-out)", actual))
    series.append({"name": "forecast", "mark": "line",
                   "points": [[p, _num(v)] for p, v in zip(forecast["period"], forecast["y_pred"])]})
    has_band = forecast["lower"].notna().any()
    if has_band:
        series.append({
            "name": f"{coverage:.0%} prediction interval", "mark": "band",
            "points": [[p, _num(lo), _num(hi)]
                       for p, lo, hi in zip(forecast["period"], forecast["lower"], forecast["upper"])],
        })
    note = f"{model_name}; " + (f"{coverage:.0%} prediction interval" if has_band else "no prediction interval") + cut
    return {"type": "xy", "id": "forecast", "title": f"Forecast of {history.name}",
            "x": {"label": "Period", "scale": "time"}, "y": {"label": str(history.name), "scale": "linear"},
            "series": series, "note": note}


def residuals_chart(residuals: pd.Series, model_name: str) -> Chart:
    """In-sample residuals (actual minus fitted) over time."""
    shown, cut = _tail(residuals)
    return {"type": "xy", "id": "residuals", "title": f"Residuals of {model_name}",
            "x": {"label": "Period", "scale": "time"}, "y": {"label": "Actual - fitted", "scale": "linear"},
            "series": [_line("residual", shown)],
            "note": "In-sample residuals; a good model leaves no pattern" + cut}


def decomposition_chart(y: pd.Series, seasonal_period: int) -> Chart:
    """Classical additive decomposition of the series into trend, seasonal and residual parts.

    Additive even when PyCaret models seasonality multiplicatively: the three parts then share the
    series' units and one axis. Raises ValueError when the series is shorter than two seasons."""
    from statsmodels.tsa.seasonal import seasonal_decompose

    if seasonal_period < 2:
        raise ValueError(f"no seasonal period (seasonal period {seasonal_period})")
    if len(y) < 2 * seasonal_period:
        raise ValueError(f"the series has {len(y)} points, fewer than two seasons of {seasonal_period}")
    parts = seasonal_decompose(y.to_numpy(dtype=float), period=seasonal_period, model="additive")
    series, cut = [], ""
    for name, values in (("trend", parts.trend), ("seasonal", parts.seasonal), ("residual", parts.resid)):
        shown, cut = _tail(pd.Series(values, index=y.index))
        series.append(_line(name, shown))
    return {"type": "xy", "id": "decomposition", "title": f"Decomposition of {y.name}",
            "x": {"label": "Period", "scale": "time"}, "y": {"label": str(y.name), "scale": "linear"},
            "series": series, "note": f"Classical additive decomposition, seasonal period {seasonal_period}{cut}"}


def default_lags(n: int, seasonal_period: int) -> int:
    """Enough lags to show two seasons (at least 10·log10(n)), within what PACF can estimate (n/2)."""
    return int(max(1, min(n // 2 - 1, max(10 * math.log10(max(n, 1)), 2 * seasonal_period + 1), 100)))


def correlation_chart(y: pd.Series, kind: str, lags: int) -> Chart:
    """ACF or PACF bars by lag, with the 95% band around zero inside which a bar is not significant."""
    from statsmodels.tsa.stattools import acf, pacf

    x = y.to_numpy(dtype=float)
    if kind == "acf":
        values, confint = acf(x, nlags=lags, alpha=0.05, fft=True)
        title, label = f"Autocorrelation (ACF) of {y.name}", "ACF"
    elif kind == "pacf":
        values, confint = pacf(x, nlags=lags, alpha=0.05)
        title, label = f"Partial autocorrelation (PACF) of {y.name}", "PACF"
    else:
        raise ValueError(f"unknown correlation kind {kind}")
    band = [[lag, _num(confint[lag, 0] - values[lag]), _num(confint[lag, 1] - values[lag])]
            for lag in range(1, len(values))]
    return {"type": "xy", "id": kind, "title": title, "x": {"label": "Lag", "scale": "linear"},
            "y": {"label": label, "scale": "linear"},
            "series": [{"name": label, "mark": "bar", "points": [[lag, _num(v)] for lag, v in enumerate(values)]},
                       {"name": "95% confidence", "mark": "band", "points": band}],
            "note": "Bars outside the band are significant at 5%."}


# ------------------------------------------------------------------- PNG
