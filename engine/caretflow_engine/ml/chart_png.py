"""PNGs drawn from chart data (``schema/chart.schema.json``, type "xy"), for families whose plots
are not PyCaret's: the picture in MLflow and the interactive chart in the UI then show the same
numbers. Several charts can share one PNG as a grid of panels (a topic model's per-topic words).

Category axes are drawn as horizontal bars, labels on the left, first category on top: topic words
and rule texts are long, and a vertical axis reads them without rotation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

Chart = dict[str, Any]
MAX_LABEL = 110


def render_png(charts: Sequence[Chart], path: Path, columns: int = 2, title: str | None = None) -> Path:
    """Draw ``charts`` (xy only) as a grid of panels, ``columns`` wide, into ``path``.

    No pyplot state, so it is safe in worker threads. The font is matplotlib's bundled DejaVu Sans:
    PyCaret modules change the sans-serif list to fonts a slim server lacks (a warning per glyph).
    """
    if not charts:
        raise ValueError("no chart to draw")
    for chart in charts:
        if chart.get("type") != "xy":
            raise ValueError(f"chart {chart.get('id')!r}: only xy charts are drawn, not {chart.get('type')!r}")
    import matplotlib

    with matplotlib.rc_context({"font.family": "DejaVu Sans"}):
        return _render(list(charts), path, max(1, min(columns, len(charts))), title)


def _render(charts: list[Chart], path: Path, columns: int, title: str | None) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = math.ceil(len(charts) / columns)
    heights = [_panel_height(c) for c in charts]
    width = max(_panel_width(c) for c in charts)
    height = sum(max(heights[r * columns:(r + 1) * columns]) for r in range(rows))
    fig = Figure(figsize=(width * columns, height), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, chart in zip(axes, charts):
        _draw(ax, chart)
    for ax in axes[len(charts):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def _panel_height(chart: Chart) -> float:
    if chart["x"].get("scale") != "category":
        return 4.5
    labels = {str(p[0]) for s in chart["series"] for p in s["points"]}
    return max(3.0, 1.2 + 0.28 * len(labels))


def _panel_width(chart: Chart) -> float:
    """Wider panels for long category labels (rule texts), so the bars keep half the width."""
    if chart["x"].get("scale") != "category":
        return 6.5
    longest = max((len(_label(p[0])) for s in chart["series"] for p in s["points"]), default=0)
    return 6.5 if longest <= 24 else 7.0 + 0.07 * longest


def _label(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _y(points: list[list[Any]], k: int = 1) -> np.ndarray:
    return np.array([np.nan if p[k] is None else p[k] for p in points], dtype=float)


def _draw(ax: Any, chart: Chart) -> None:
    series = chart["series"]
    if chart["x"].get("scale") == "category":
        _draw_categories(ax, chart)
    else:
        is_time = chart["x"].get("scale") == "time"
        for s in series:
            pts = s["points"]
            x: Any = [p[0] for p in pts]
            if is_time:
                import pandas as pd

                x = pd.to_datetime(x).to_numpy()
            else:
                x = np.array([np.nan if v is None else v for v in x], dtype=float)
            if s["mark"] == "band":
                ax.fill_between(x, _y(pts, 1), _y(pts, 2), alpha=0.25, label=s["name"])
            elif s["mark"] == "bar":
                ax.bar(x, _y(pts), label=s["name"])
            elif s["mark"] == "point":
                ax.scatter(x, _y(pts), s=10, alpha=0.8, label=s["name"])
            elif s["mark"] == "area":
                ax.fill_between(x, 0, _y(pts), alpha=0.4, label=s["name"])
            else:
                ax.plot(x, _y(pts), linewidth=1.2, label=s["name"])
        ax.set_xlabel(chart["x"]["label"])
        ax.set_ylabel(chart["y"]["label"])
        if chart["x"].get("scale") == "log":
            ax.set_xscale("log")
        if chart["y"].get("scale") == "log":
            ax.set_yscale("log")
        if len(series) > 1:
            ax.legend(loc="best", fontsize=8)
    ax.set_title(chart["title"], fontsize=11)
    ax.grid(alpha=0.3)
    if chart.get("note"):
        ax.annotate(chart["note"], xy=(0, -0.02), xycoords="axes fraction", va="top", fontsize=8, alpha=0.8,
                    xytext=(0, -28), textcoords="offset points")


def _draw_categories(ax: Any, chart: Chart) -> None:
    """Horizontal bars (points and lines as markers) over the categories, in first-seen order."""
    series = chart["series"]
    order: dict[str, int] = {}
    for s in series:
        for p in s["points"]:
            order.setdefault(str(p[0]), len(order))
    height = 0.8 / max(1, sum(1 for s in series if s["mark"] == "bar"))
    bar = 0
    for s in series:
        pos = np.array([order[str(p[0])] for p in s["points"]], dtype=float)
        values = _y(s["points"])
        if s["mark"] == "bar":
            ax.barh(pos + bar * height - 0.4 + height / 2, values, height=height, label=s["name"])
            bar += 1
        else:
            ax.plot(values, pos, "o", label=s["name"])
    ax.set_yticks(range(len(order)), [_label(c) for c in order], fontsize=8)
    ax.invert_yaxis()
    ax.set_ylabel(chart["x"]["label"])
    ax.set_xlabel(chart["y"]["label"])
    if len(series) > 1:
        ax.legend(loc="best", fontsize=8)
