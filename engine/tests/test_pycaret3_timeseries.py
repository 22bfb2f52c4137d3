"""TimeSeriesSession on real PyCaret 3.3.2: pycaret_downloads (daily) and airquality (daily means with
exogenous columns). Fast models and few folds keep the file near a minute on two cores."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest

from caretflow_engine.adapters.pycaret3 import CompareHooks, ModelResult
from caretflow_engine.adapters.pycaret3.timeseries import TimeSeriesSession
from caretflow_engine.errors import EngineError
from caretflow_engine.ml.ts_charts import correlation_chart, decomposition_chart, forecast_chart
from caretflow_engine.ml.ts_prep import prepare_future_exogenous, prepare_series

from .helpers import ENGINE_DIR, REPO_DIR

FH, FOLDS = 14, 3
MODELS = ["naive", "exp_smooth", "theta", "ets", "arima"]


@cache
def chart_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ENGINE_DIR / "caretflow_engine/schema/chart.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def assert_valid_chart(chart: dict[str, Any]) -> None:
    problems = [e.message for e in chart_validator().iter_errors(json.loads(json.dumps(chart)))]
    assert not problems, f"invalid chart {chart['id']}: {problems}"


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.done: list[ModelResult] = []

    def hooks(self) -> CompareHooks:
        return CompareHooks(
            on_model_start=lambda mid, name, i, total: self.events.append(("start", mid)),
            on_model_done=lambda result, i, total: (self.events.append(("done", result.model_id)),
                                                    self.done.append(result)),
            on_model_failed=lambda mid, name, exc: self.events.append(("failed", mid)),
        )


@pytest.fixture(scope="module")
def downloads() -> dict[str, Any]:
    """One experiment on pycaret_downloads, compared by MASE, shared by the tests below."""
    df = pd.read_csv(REPO_DIR / "demo-data/pycaret_downloads.csv")
    prep = prepare_series(df, "Date", "Total")
    session = TimeSeriesSession()
    summary = session.setup(prep.y, prep.X, fh=FH, folds=FOLDS, seed=42, n_jobs=1)
    recorder = Recorder()
    best, board = session.compare(MODELS, [], session.resolve_sort(None), recorder.hooks())
    return {"prep": prep, "session": session, "summary": summary, "best": best, "board": board, "rec": recorder}


def test_setup_summary_and_models(downloads: dict[str, Any]) -> None:
    session: TimeSeriesSession = downloads["session"]
    assert downloads["summary"]["Original data shape"] == "(90, 1)"
    assert downloads["summary"]["Transformed test set shape"] == f"({FH}, 1)"
    assert session.seasonal_period == 7  # weekly cycle of daily downloads
    assert {"naive", "arima", "theta", "exp_smooth"} <= set(session.models())
    assert session.resolve_sort(None) == "MASE" and session.resolve_sort("r2") == "R2"
    assert not session.greater_is_better("MASE") and session.greater_is_better("R2")


def test_compare_streams_one_row_per_model_and_ranks_by_mase(downloads: dict[str, Any]) -> None:
    rec: Recorder = downloads["rec"]
    board: pd.DataFrame = downloads["board"]
    # each model starts once and ends once, done or failed (PyCaret's retry of a failure is not reported twice)
    assert [mid for kind, mid in rec.events if kind == "start"] == MODELS
    ends = [(kind, mid) for kind, mid in rec.events if kind != "start"]
    assert [mid for _, mid in ends] == MODELS
    done = [r.model_id for r in rec.done]
    assert sorted(done) == sorted(board.index) and len(done) >= 4
    for result in rec.done:
        assert len(result.folds) == FOLDS and result.std["MASE"] is not None and result.metrics["TT (Sec)"] >= 0
    streamed = {r.model_id: r.metrics["MASE"] for r in rec.done}
    assert list(board.index) == sorted(streamed, key=lambda m: streamed[m])  # lower MASE ranks first
    assert board["MASE"].is_monotonic_increasing
    rows = TimeSeriesSession.leaderboard_rows(board)
    assert rows[0]["model_id"] == board.index[0] and rows[0]["rank"] == 1
    assert downloads["session"].model_name(downloads["best"]) == board.iloc[0]["Model"]


def test_sort_by_r2_ranks_higher_first(downloads: dict[str, Any]) -> None:
    session: TimeSeriesSession = downloads["session"]
    _, board = session.compare(["naive", "theta", "arima"], [], session.resolve_sort("R2"), Recorder().hooks())
    assert board["R2"].is_monotonic_decreasing and len(board) == 3


def test_forecast_beyond_the_data_with_intervals(downloads: dict[str, Any]) -> None:
    session: TimeSeriesSession = downloads["session"]
    final = session.finalize(session.exp.create_model("arima", verbose=False))
    frame, warnings = session.forecast(final, coverage=0.8)
    assert warnings == [] and len(frame) == FH
    assert frame["period"].tolist() == pd.period_range("2021-10-06", periods=FH, freq="D").strftime("%Y-%m-%d").tolist()
    lower, upper = frame["lower"].astype(float), frame["upper"].astype(float)
    assert (lower <= frame["y_pred"]).all() and (frame["y_pred"] <= upper).all() and (lower < upper).all()
    wider, _ = session.forecast(final, fh=3, coverage=0.95)
    assert len(wider) == 3 and (wider["upper"].astype(float) - wider["lower"].astype(float)
                                > (upper - lower).iloc[:3].to_numpy()).all()


def test_forecast_without_interval_support_warns(downloads: dict[str, Any]) -> None:
    session: TimeSeriesSession = downloads["session"]
    model = session.exp.create_model("exp_smooth", verbose=False)
    frame, warnings = session.forecast(model)  # train-split model: the hold-out periods
    assert frame["period"].iloc[0] == "2021-09-22" and len(frame) == FH
    assert frame["lower"].isna().all() and frame["upper"].isna().all() and frame["y_pred"].notna().all()
    assert frame["lower"].tolist() == [None] * FH
    assert warnings == ["Exponential Smoothing gives no prediction interval in PyCaret 3.3.2 (its sktime forecaster "
                        "cannot predict quantiles), so the forecast has no lower and upper bounds."]


def test_holdout_metrics(downloads: dict[str, Any]) -> None:
    metrics = downloads["session"].holdout_metrics(downloads["best"])
    assert {"MASE", "RMSSE", "MAE", "RMSE", "MAPE", "SMAPE", "R2"} <= set(metrics)
    assert all(v is not None and np.isfinite(v) for v in metrics.values())


def test_charts_are_valid_and_drawn_as_png(downloads: dict[str, Any], tmp_path: Path) -> None:
    session: TimeSeriesSession = downloads["session"]
    model = session.exp.create_model("arima", verbose=False)
    charts, warnings = session.charts(model)
    assert warnings == []
    assert [c["id"] for c in charts] == ["forecast", "residuals", "decomposition", "acf", "pacf"]
    for chart in charts:
        assert_valid_chart(chart)
    forecast = charts[0]
    names = [s["name"] for s in forecast["series"]]
    assert names == ["Total (history)", "Total (hold-out)", "forecast", "90% prediction interval"]
    band = forecast["series"][3]["points"]
    assert len(band) == FH and all(lo <= hi for _, lo, hi in band)
    assert len(forecast["series"][0]["points"]) == 90 - FH
    decomposition = {s["name"]: s for s in charts[2]["series"]}
    assert set(decomposition) == {"trend", "seasonal", "residual"} and decomposition["trend"]["points"][0][1] is None
    saved, more = session.save_plots(model, tmp_path, charts=charts)
    assert more == [] and [name for name, _ in saved] == [c["id"] for c in charts]
    for _, path in saved:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_unknown_ids_and_short_series_are_user_errors(downloads: dict[str, Any]) -> None:
    session: TimeSeriesSession = downloads["session"]
    with pytest.raises(EngineError, match="Unknown or unavailable forecasting model id\\(s\\): nope") as info:
        session.plan(["nope"], [])
    assert "naive" in info.value.hint
    with pytest.raises(EngineError, match="'Accuracy' is not a forecasting metric"):
        session.resolve_sort("Accuracy")
    prep: Any = downloads["prep"]
    with pytest.raises(EngineError) as info:
        TimeSeriesSession().setup(prep.y.iloc[:40], None, fh=14, folds=3, seed=1, n_jobs=1)
    assert info.value.message == ("The series has 40 days; a horizon of 14 with 3 folds needs at least 57 "
                                  "(14 for the hold-out, 3 × 14 for cross-validation and 1 to train on).")


def test_chart_builders_without_pycaret() -> None:
    y = pd.Series(np.sin(np.arange(30) * 2 * np.pi / 7) + 10, index=pd.period_range("2021-01-01", periods=30),
                  name="y")
    frame = pd.DataFrame({"period": ["2021-01-31"], "y_pred": [10.0], "lower": [None], "upper": [None]})
    chart = forecast_chart(y, frame, 0.9, "Naive")
    assert [s["mark"] for s in chart["series"]] == ["line", "line"] and chart["note"] == "Naive; no prediction interval"
    for c in (chart, decomposition_chart(y, 7), correlation_chart(y, "acf", 10), correlation_chart(y, "pacf", 10)):
        assert_valid_chart(c)
    with pytest.raises(ValueError, match="fewer than two seasons"):
        decomposition_chart(y.iloc[:10], 7)
    long = pd.Series(np.arange(2500.0), index=pd.period_range("2021-01-01", periods=2500, freq="H"), name="y")
    cut = decomposition_chart(long, 24)
    assert [len(s["points"]) for s in cut["series"]] == [2000] * 3
    assert cut["note"].endswith("last 2,000 of 2,500 points")
    assert cut["series"][0]["points"][-1][0] == "2021-04-15T03:00:00"


# ------------------------------------------------------------------- airquality
def test_airquality_daily_mean_with_exogenous_columns() -> None:
    df = pd.read_csv(REPO_DIR / "demo-data/airquality.csv")
    prep = prepare_series(df, "Date", "CO(GT)", time_column="Time", exogenous=["T", "RH"], frequency="D",
                          duplicates="mean", missing_values="interpolate", na_values=[-200])
    assert (len(prep.y), prep.frequency, str(prep.y.index[-1])) == (391, "D", "2005-04-04")
    assert any(n.startswith("Combined 9,357 rows into 391") for n in prep.notes)
    session = TimeSeriesSession()
    session.setup(prep.y, prep.X, fh=7, folds=2, seed=1, n_jobs=1)
    assert "naive" not in session.models()
    with pytest.raises(EngineError, match="naive cannot use exogenous columns"):
        session.plan(["naive", "arima"], [])
    rec = Recorder()
    best, board = session.compare(["arima", "lr_cds_dt"], [], "MASE", rec.hooks())
    assert sorted(board.index) == ["arima", "lr_cds_dt"] and [k for k, _ in rec.events].count("done") == 2
    final = session.finalize(best)

    with pytest.raises(EngineError) as info:
        session.forecast(final)
    assert info.value.name == "ExogenousFutureMissing"
    assert info.value.message == ("The model uses the exogenous column(s) T, RH; forecasting 7 day(s) beyond the data "
                                  "(2005-04-05 to 2005-04-11) needs their future values.")
    future_rows = pd.DataFrame({"Date": pd.date_range("2005-04-05", periods=7).strftime("%m/%d/%Y"),
                                "T": np.linspace(15, 18, 7), "RH": np.linspace(40, 50, 7)})
    X_future = prepare_future_exogenous(future_rows, "Date", ["T", "RH"], prep.frequency)
    by_date, _ = session.forecast(final, X_future=X_future)
    by_position, _ = session.forecast(final, X_future=future_rows[["T", "RH"]])
    assert len(by_date) == 7 and by_date["period"].iloc[0] == "2005-04-05"
    assert np.allclose(by_date["y_pred"], by_position["y_pred"])
    with pytest.raises(EngineError, match="have 5 rows without dates, but the forecast has 7 days"):
        session.forecast(final, X_future=future_rows[["T", "RH"]].iloc[:5])
    with pytest.raises(EngineError, match="no \\(numeric\\) value for 2 of the forecast days, the first: 2005-04-10"):
        session.forecast(final, X_future=X_future.iloc[:5])
    charts, _ = session.charts(final, X_future=X_future)
    for chart in charts:
        assert_valid_chart(chart)
    assert "forecast" in [c["id"] for c in charts]
