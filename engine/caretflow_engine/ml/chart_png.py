"""Any chart dict (packages/contracts/src/charts.ts) as a PNG, for reports and for PNG artifacts of
plots that PyCaret cannot draw headless. Uses matplotlib's object API (no pyplot state) and its
bundled DejaVu Sans font, so it is safe in threads and on slim servers without other fonts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def render(chart: dict[str, Any], path: Path, width: float = 8.0, height: float = 4.5) -> Path:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 9}):
        fig = Figure(figsize=(width, height), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        if chart["type"] == "heatmap":
            _heatmap(fig, ax, chart)
        else:
            _xy(ax, chart)
        ax.set_title(chart["title"])
        if chart.get("note"):
            fig.text(0.01, 0.01, str(chart["note"])[:160], fontsize=7, alpha=0.8)
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png")
    return path


def _values(points: list[list[Any]], k: int) -> np.ndarray:
    return np.array([np.nan if p[k] is None else p[k] for p in points], dtype=float)


def _xy(ax: Any, chart: dict[str, Any]) -> None:
    x_scale = chart["x"].get("scale", "linear")
    categories: list[str] = []
    if x_scale == "category":
        for s in chart["series"]:
            for p in s["points"]:
                if str(p[0]) not in categories:
                    categories.append(str(p[0]))
    bars = [s for s in chart["series"] if s["mark"] == "bar"]
    width = 0.8 / max(1, len(bars))
    for s in chart["series"]:
        pts = s["points"]
        if not pts:
            continue
        if x_scale == "category":
            x = np.array([categories.index(str(p[0])) for p in pts], dtype=float)
        elif x_scale == "time":
            import pandas as pd

            x = pd.to_datetime([p[0] for p in pts]).to_numpy()
        else:
            x = _values(pts, 0)
        mark = s["mark"]
        if mark == "band":
            ax.fill_between(x, _values(pts, 1), _values(pts, 2), alpha=0.25, label=s["name"])
        elif mark == "bar":
            offset = (bars.index(s) - (len(bars) - 1) / 2) * width if x_scale == "category" else 0
            ax.bar(x + offset if x_scale == "category" else x, _values(pts, 1), width=width if x_scale == "category" else 0.8, label=s["name"])
        elif mark == "point":
            ax.scatter(x, _values(pts, 1), s=8, label=s["name"])
        elif mark == "area":
            ax.fill_between(x, 0, _values(pts, 1), alpha=0.4, label=s["name"])
        else:
            ax.plot(x, _values(pts, 1), linewidth=1.2, label=s["name"])
    if x_scale == "category":
        ax.set_xticks(range(len(categories)))
        ax.set_xticklabels([c[:24] for c in categories], rotation=45 if len(categories) > 6 else 0, ha="right" if len(categories) > 6 else "center")
    elif x_scale == "log":
        ax.set_xscale("log")
    if chart["y"].get("scale") == "log":
        ax.set_yscale("log")
    ax.set_xlabel(chart["x"]["label"])
    ax.set_ylabel(chart["y"]["label"])
    ax.grid(alpha=0.3)
    if len(chart["series"]) > 1:
        ax.legend(loc="best", fontsize=7)


def _heatmap(fig: Any, ax: Any, chart: dict[str, Any]) -> None:
    values = np.array([[np.nan if v is None else v for v in row] for row in chart["values"]], dtype=float)
    image = ax.imshow(values, cmap="Blues", aspect="auto")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(len(chart["x"]["categories"])))
    ax.set_xticklabels([c[:16] for c in chart["x"]["categories"]], rotation=45 if len(chart["x"]["categories"]) > 5 else 0)
    ax.set_yticks(range(len(chart["y"]["categories"])))
    ax.set_yticklabels([c[:16] for c in chart["y"]["categories"]])
    ax.set_xlabel(chart["x"]["label"])
    ax.set_ylabel(chart["y"]["label"])
    if values.size <= 400:
        top = np.nanmax(values) if np.isfinite(values).any() else 0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color="white" if v > top / 2 else "black")
