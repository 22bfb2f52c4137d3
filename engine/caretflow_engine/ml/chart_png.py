"""Any chart dict (packages/contracts/src/charts.ts) as a PNG, for reports and for PNG artifacts of
plots that PyCaret does not draw (headless, or tasks caretflow trains itself): the picture in MLflow
and the interactive chart in the UI show the same numbers. ``render`` draws one chart, ``render_panels``
several charts as a grid of panels in one image (a topic model's per-topic words).

Uses matplotlib's object API (no pyplot state) and its bundled DejaVu Sans font, so it is safe in
threads and on slim servers without other fonts (PyCaret modules change the sans-serif list to fonts
such servers lack: a warning per glyph).

Category axes are drawn as horizontal bars, labels on the left, first category on top: feature
names, topic words and rule texts are long, and a vertical axis reads them without rotation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

Chart = dict[str, Any]
MAX_LABEL = 110
_RC = {"font.family": "DejaVu Sans", "font.size": 9}


def render(chart: Chart, path: Path, width: float | None = None, height: float | None = None) -> Path:
    """One chart (xy or heatmap) as a PNG at ``path``: ``width`` × ``height`` inches, each sized to the
    content when left out (8 × 4.5 for most charts; long category labels widen, many lengthen it)."""
    size = (width or max(8.0, _panel_width(chart)), height or _panel_height(chart))
    return _save([chart], path, 1, None, size)


def render_stacked(chart: Chart, path: Path) -> Path:
    """An xy chart with one panel per series, stacked, sharing the x axis (a forecast's decomposition
    into trend, seasonality and residuals, each on its own scale)."""
    panels = [{**chart, "title": s["name"], "note": None, "series": [s]} for s in chart["series"]]
    return render_panels(panels, path, columns=1, title=chart["title"])


def render_panels(charts: Sequence[Chart], path: Path, columns: int = 2, title: str | None = None) -> Path:
    """``charts`` as a grid of panels, ``columns`` wide, sized to their content (long category labels
    widen a panel, many categories lengthen it)."""
    if not charts:
        raise ValueError("no chart to draw")
    return _save(list(charts), path, max(1, min(columns, len(charts))), title, None)


def _save(charts: list[Chart], path: Path, columns: int, title: str | None, size: tuple[float, float] | None) -> Path:
    for chart in charts:
        if chart.get("type") not in ("xy", "heatmap"):
            raise ValueError(f"chart {chart.get('id')!r}: unknown chart type {chart.get('type')!r}")
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        rows = math.ceil(len(charts) / columns)
        if size is None:
            heights = [_panel_height(c) for c in charts]
            height = sum(max(heights[r * columns:(r + 1) * columns]) for r in range(rows))
            size = (max(_panel_width(c) for c in charts) * columns, height)
        fig = Figure(figsize=size, dpi=100)
        FigureCanvasAgg(fig)
        axes = fig.subplots(rows, columns, squeeze=False).ravel()
        for ax, chart in zip(axes, charts):
            _draw(fig, ax, chart)
        for ax in axes[len(charts):]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path


def _categories(chart: Chart) -> list[str]:
    seen: dict[str, None] = {}
    for s in chart["series"]:
        for p in s["points"]:
            seen.setdefault(str(p[0]), None)
    return list(seen)


def _panel_height(chart: Chart) -> float:
    if chart["type"] == "heatmap":
        return max(4.5, 1.5 + 0.3 * len(chart["y"]["categories"]))
    if chart["x"].get("scale") != "category":
        return 4.5
    return max(3.0, 1.2 + 0.28 * len(_categories(chart)))


def _panel_width(chart: Chart) -> float:
    """Wider panels for long category labels (rule texts), so the bars keep about half the width."""
    if chart["type"] == "heatmap" or chart["x"].get("scale") != "category":
        return 6.5
    longest = max((len(_label(c)) for c in _categories(chart)), default=0)
    return 6.5 if longest <= 24 else 7.0 + 0.07 * longest


def _label(value: Any, limit: int = MAX_LABEL) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _values(points: list[list[Any]], k: int = 1) -> np.ndarray:
    return np.array([np.nan if p[k] is None else p[k] for p in points], dtype=float)


def _draw(fig: Any, ax: Any, chart: Chart) -> None:
    if chart["type"] == "heatmap":
        _heatmap(fig, ax, chart)
    elif chart["x"].get("scale") == "category":
        _categories_xy(ax, chart)
    else:
        _xy(ax, chart)
    ax.set_title(chart["title"], fontsize=11)
    if chart.get("note"):
        ax.annotate(str(chart["note"])[:160], xy=(0, -0.02), xycoords="axes fraction", va="top", fontsize=8,
                    alpha=0.8, xytext=(0, -28), textcoords="offset points")


def _xy(ax: Any, chart: Chart) -> None:
    series = chart["series"]
    is_time = chart["x"].get("scale") == "time"
    for s in series:
        pts = s["points"]
        if not pts:
            continue
        if is_time:
            import pandas as pd

            x: Any = pd.to_datetime([p[0] for p in pts]).to_numpy()
        else:
            x = _values(pts, 0)
        if s["mark"] == "band":
            ax.fill_between(x, _values(pts, 1), _values(pts, 2), alpha=0.25, label=s["name"])
        elif s["mark"] == "bar":
            ax.bar(x, _values(pts), width=0.4 if is_time else _bar_width(x), alpha=0.8, label=s["name"])
            ax.axhline(0, color="black", linewidth=0.6)
        elif s["mark"] == "point":
            ax.scatter(x, _values(pts), s=8 if len(pts) > 50 else 30, alpha=0.8, label=s["name"])
        elif s["mark"] == "area":
            ax.fill_between(x, 0, _values(pts), alpha=0.4, label=s["name"])
        else:
            ax.plot(x, _values(pts), linewidth=1.2, label=s["name"])
    ax.set_xlabel(chart["x"]["label"])
    ax.set_ylabel(chart["y"]["label"])
    if chart["x"].get("scale") == "log":
        ax.set_xscale("log")
    if chart["y"].get("scale") == "log":
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(loc="best", fontsize=8)


def _bar_width(x: np.ndarray) -> float:
    """Bars at 0.4 of the closest spacing of their x values (lags: 0.4; histogram bins: no overlap)."""
    steps = np.diff(np.unique(x[np.isfinite(x)]))
    return 0.4 * float(steps.min()) if steps.size else 0.4


def _categories_xy(ax: Any, chart: Chart) -> None:
    """Horizontal bars (side by side for several bar series; other marks as dots) over the categories."""
    series = chart["series"]
    order = {c: i for i, c in enumerate(_categories(chart))}
    bars = [s for s in series if s["mark"] == "bar"]
    height = 0.8 / max(1, len(bars))
    for s in series:
        if not s["points"]:
            continue
        pos = np.array([order[str(p[0])] for p in s["points"]], dtype=float)
        if s["mark"] == "bar":
            ax.barh(pos + (bars.index(s) - (len(bars) - 1) / 2) * height, _values(s["points"]), height=height,
                    label=s["name"])
        else:
            ax.plot(_values(s["points"]), pos, "o", label=s["name"])
    ax.set_yticks(range(len(order)), [_label(c) for c in order], fontsize=8)
    ax.invert_yaxis()
    ax.set_ylabel(chart["x"]["label"])
    ax.set_xlabel(chart["y"]["label"])
    if chart["y"].get("scale") == "log":
        ax.set_xscale("log")
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(loc="best", fontsize=8)


def _heatmap(fig: Any, ax: Any, chart: Chart) -> None:
    values = np.array([[np.nan if v is None else v for v in row] for row in chart["values"]], dtype=float)
    image = ax.imshow(values, cmap="Blues", aspect="auto")
    fig.colorbar(image, ax=ax)
    x_categories, y_categories = chart["x"]["categories"], chart["y"]["categories"]
    ax.set_xticks(range(len(x_categories)), [_label(c, 16) for c in x_categories],
                  rotation=45 if len(x_categories) > 5 else 0)
    ax.set_yticks(range(len(y_categories)), [_label(c, 16) for c in y_categories])
    ax.set_xlabel(chart["x"]["label"])
    ax.set_ylabel(chart["y"]["label"])
    if values.size <= 400:
        top = np.nanmax(values) if np.isfinite(values).any() else 0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                colour = "white" if v > top / 2 else "black"
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color=colour)
