"""Chart builders: JSON-safe values, series validation, down-sampling that keeps the curve's shape."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from caretflow_engine.ml.charts import (
    MAX_POINTS,
    chart_problems,
    downsample,
    downsample_indices,
    heatmap_chart,
    json_value,
    series,
    xy_chart,
)

from .ml_helpers import assert_chart


def test_json_value_converts_numpy_and_non_finite():
    assert json_value(np.float32(1.5)) == 1.5 and type(json_value(np.float32(1.5))) is float
    assert json_value(np.int64(7)) == 7 and type(json_value(np.int64(7))) is int
    assert json_value(np.bool_(True)) == 1 and json_value(False) == 0
    assert json_value(float("nan")) is None and json_value(np.inf) is None and json_value(-np.inf) is None
    assert json_value(None) is None and json_value("MM") == "MM"
    assert json_value(pd.NaT) is None and json_value(np.datetime64("NaT")) is None
    assert json_value(pd.Timestamp("2021-07-08 13:00")) == "2021-07-08T13:00:00"
    assert json_value(np.datetime64("2021-07-08")) == "2021-07-08"
    assert json_value(dt.date(2021, 7, 8)) == "2021-07-08"
    with pytest.raises(TypeError):
        json_value(object())


def test_series_checks_mark_and_point_width():
    with pytest.raises(ValueError, match="mark"):
        series("s", "pie", [[0, 1]])
    with pytest.raises(ValueError, match="3 values"):
        series("s", "band", [[0, 1]])
    with pytest.raises(ValueError, match="2 values"):
        series("s", "line", [[0, 1, 2]])
    s = series("s", "band", np.array([[0.0, np.nan, 2.0]]))
    assert s == {"name": "s", "mark": "band", "points": [[0.0, None, 2.0]]}


def test_xy_chart_is_schema_valid_strict_json():
    chart = xy_chart(
        "forecast", "Forecast", "Date", "Total",
        [series("actual", "line", [[pd.Timestamp("2021-07-08"), np.int64(3)], ["2021-07-09", np.nan]]),
         series("interval", "band", [["2021-07-10", 1.0, np.float64(4.5)]])],
        x_scale="time", note="MAE 1.2",
    )
    back = assert_chart(chart)
    assert back["x"] == {"label": "Date", "scale": "time"} and back["note"] == "MAE 1.2"
    assert back["series"][0]["points"] == [["2021-07-08T00:00:00", 3], ["2021-07-09", None]]
    assert "note" not in xy_chart("a", "A", "x", "y", [])
    with pytest.raises(ValueError, match="scale"):
        xy_chart("a", "A", "x", "y", [], x_scale="sqrt")


def test_heatmap_shape_and_values():
    values = np.array([[1, np.nan], [np.int64(2), 3]])
    chart = heatmap_chart("cm", "CM", "Predicted", [0, 1], "Actual", ["a", "b"], values)
    back = assert_chart(chart)
    assert back["x"]["categories"] == ["0", "1"] and back["values"] == [[1, None], [2, 3]]
    with pytest.raises(ValueError, match="2 rows × 2 columns"):
        heatmap_chart("cm", "CM", "P", [0, 1], "A", [0, 1], [[1, 2]])
    with pytest.raises(TypeError):
        heatmap_chart("cm", "CM", "P", [0], "A", [0], [["x"]])


def test_schema_check_is_not_vacuous():
    bad = xy_chart("a", "A", "x", "y", [])
    bad["series"] = [{"name": "s", "mark": "line", "points": [[1, 2, 3, 4]]}]
    assert chart_problems(bad)
    assert chart_problems({"type": "heatmap", "id": "h"})
    assert chart_problems(xy_chart("a", "A", "x", "y", [{"name": "s", "mark": "line", "points": [[float("nan"), 1]]}]))


def test_minmax_downsample_keeps_ends_and_extremes():
    x = np.arange(100_000)
    y = np.sin(x / 5000)
    y[31_337] = 50.0  # a spike the curve must keep
    y[77_777] = -50.0
    pts = np.column_stack([x, y]).tolist()
    kept = downsample(pts, 2000, "minmax")
    assert len(kept) <= 2000
    assert kept[0] == pts[0] and kept[-1] == pts[-1]
    assert [31_337, 50.0] in kept and [77_777, -50.0] in kept
    assert [p[0] for p in kept] == sorted(p[0] for p in kept)
    s = series("curve", "line", pts)
    assert len(s["points"]) <= MAX_POINTS
    # away from the spikes, the kept points redraw the smooth sine within 0.05
    kx = np.array([p[0] for p in kept])
    ky = np.array([p[1] for p in kept])
    mask = (np.abs(x - 31_337) > 500) & (np.abs(x - 77_777) > 500)
    assert np.max(np.abs(np.interp(x[mask], kx, ky) - y[mask])) < 0.05


def test_minmax_downsample_band_keeps_lowest_low_and_highest_high():
    n = 10_000
    pts = [[i, 0.0, 1.0] for i in range(n)]
    pts[1234] = [1234, -9.0, 1.0]
    pts[5678] = [5678, 0.0, 9.0]
    kept = downsample(pts, 100, "minmax")
    assert len(kept) <= 100 and [1234, -9.0, 1.0] in kept and [5678, 0.0, 9.0] in kept


def test_stride_downsample_keeps_outliers_and_spreads_evenly():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(50_000, 2))
    pts[4242] = [100.0, 0.0]
    pts[999] = [0.0, -100.0]
    idx = downsample_indices(pts, 500, "stride")
    assert len(idx) <= 500 and 4242 in idx and 999 in idx and 0 in idx and 49_999 in idx
    gaps = np.diff(idx)
    assert gaps.max() <= 2 * (50_000 / 500)
    assert len(series("scatter", "point", pts)["points"]) <= MAX_POINTS


def test_downsample_leaves_small_series_alone_and_rejects_bad_arguments():
    pts = [[1, None], [2, "x"], [3, 4]]
    assert downsample(pts, 10) == pts
    with pytest.raises(ValueError):
        downsample(list(range(10)), 2)
    with pytest.raises(ValueError, match="method"):
        downsample([[i, i] for i in range(100)], 10, "random")
    # None values (gaps) do not break the min/max search
    gappy = [[i, None if i % 3 else float(i)] for i in range(10_000)]
    kept = downsample(gappy, 200)
    assert len(kept) <= 200 and [9999, 9999.0] in kept
    json.dumps(series("gappy", "line", gappy), allow_nan=False)
