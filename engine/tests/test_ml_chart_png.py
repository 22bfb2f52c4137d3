"""PNGs drawn from chart data: every axis scale, mark and the heatmap draw, panels share one image,
and what cannot be drawn is refused plainly."""

from __future__ import annotations

import pytest
from PIL import Image

from caretflow_engine.ml.chart_png import render, render_panels, render_stacked
from caretflow_engine.ml.charts import heatmap_chart, series, xy_chart


def test_every_scale_and_mark_draws_into_one_image(tmp_path):
    charts = [
        xy_chart("words", "Top words", "Word", "Weight",
                 [series("w", "bar", [["free", 0.3], ["call", 0.2], ["now", None]])], x_scale="category",
                 note="UMass −3.1"),
        xy_chart("curve", "Curve", "x", "y", [series("line", "line", [[1, 1], [10, 4], [100, 9]]),
                                              series("band", "band", [[1, 0, 2], [10, 3, 5], [100, 8, 10]]),
                                              series("dots", "point", [[5, 2], [50, 6]])], x_scale="log"),
        xy_chart("time", "Over time", "Date", "Value", [series("v", "area", [["2024-01-01", 1], ["2024-01-02", 3]])],
                 x_scale="time"),
    ]
    path = render_panels(charts, tmp_path / "panels.png", columns=2)
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width == 1300 and height == 900  # 2 columns × 6.5 in, 2 rows × 4.5 in, at 100 dpi


def test_a_stacked_chart_has_one_panel_per_series(tmp_path):
    days = ["2024-01-01", "2024-01-02", "2024-01-03"]
    parts = [series(name, "line", [[d, v * k] for d, v in zip(days, (1, 2, 3))]) for k, name in enumerate(("trend", "seasonal", "resid"), 1)]
    chart = xy_chart("decomposition", "Decomposition", "Date", "Value", parts, x_scale="time")
    with Image.open(render_stacked(chart, tmp_path / "decomposition.png")) as image:
        assert image.size == (650, 1350)  # one column, three 4.5 in panels, at 100 dpi
    with Image.open(render(chart, tmp_path / "overlaid.png")) as image:
        assert image.size[1] == 450


def test_long_category_labels_widen_the_panel(tmp_path):
    label = "PACK OF 6 SKULL PAPER PLATES & SET/6 RED SPOTTY PAPER CUPS → PACK OF 20 SKULL PAPER NAPKINS"
    chart = xy_chart("rules_top", "Top rules", "Rule", "Lift", [series("lift", "bar", [[label, 20.6], ["A → B", 3]])],
                     x_scale="category")
    with Image.open(render_panels([chart], tmp_path / "rules.png")) as image:
        assert image.size[0] > 1000


def test_a_heatmap_draws_alone_at_the_size_asked(tmp_path):
    heat = heatmap_chart("cm", "Confusion", "Predicted", ["a", "b"], "Actual", ["a", "b"], [[1, 2], [3, None]])
    with Image.open(render(heat, tmp_path / "heat.png", width=5, height=4)) as image:
        assert image.size == (500, 400)


def test_what_cannot_be_drawn_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no chart"):
        render_panels([], tmp_path / "none.png")
    with pytest.raises(ValueError, match="unknown chart type 'pie'"):
        render_panels([{"type": "pie", "id": "p"}], tmp_path / "pie.png")
    assert not (tmp_path / "pie.png").exists()
