"""Builders for the chart data the web UI draws (``packages/contracts/src/charts.ts``).

Every builder returns a plain dict that ``json.dumps`` accepts as is and that validates against
``caretflow_engine/schema/chart.schema.json``: numpy scalars become Python numbers, NaN and
infinities become ``None`` (JSON has no NaN; the UI leaves a gap), dates become ISO 8601 strings.

Series are capped at ``MAX_POINTS`` points by ``downsample`` so a chart artifact stays small
enough for the browser to draw and hover smoothly, whatever the size of the data behind it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import numbers
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MAX_POINTS = 2000
SCALES = ("linear", "log", "category", "time")
MARKS = ("line", "point", "bar", "area", "band")
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schema" / "chart.schema.json"

ChartValue = float | int | str | None


def json_value(value: Any) -> ChartValue:
    """One chart value as JSON: a finite number, a string, or None.

    Booleans become 0/1 (the schema has no booleans); dates and timestamps become ISO 8601 strings
    (for ``time`` axes); NaN, infinities and NaT become None.
    """
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        return str(np.datetime_as_string(value, unit="auto"))
    if type(value).__name__ == "NaTType":  # pandas.NaT, a datetime subclass
        return None
    if isinstance(value, (dt.datetime, dt.date)):  # pandas.Timestamp is a datetime
        return value.isoformat()
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    raise TypeError(f"not a chart value: {value!r} ({type(value).__name__})")


def json_number(value: Any) -> float | int | None:
    """A heatmap cell: a finite number or None (strings are not allowed there)."""
    out = json_value(value)
    if isinstance(out, str):
        raise TypeError(f"not a number: {value!r}")
    return out


def _as_float(column: Sequence[Any]) -> np.ndarray:
    """Floats for ranking points; anything non-numeric (None, strings) becomes NaN."""
    try:
        return np.asarray(column, dtype=float)
    except (TypeError, ValueError):
        out = np.full(len(column), np.nan)
        for i, v in enumerate(column):
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                out[i] = float(v)
        return out


def downsample_indices(
    points: Sequence[Sequence[Any]], max_points: int = MAX_POINTS, method: str = "minmax"
) -> np.ndarray:
    """Sorted indices of the points to keep (all of them when there are at most ``max_points``).

    ``minmax`` is for ordered curves (line, area, band): the points between the first and the last
    are split into equal buckets and each bucket keeps its lowest and its highest point (for a band,
    the lowest low and the highest high), so peaks, dips and the overall shape survive.

    ``stride`` is for scatters and bars: evenly spaced points in the given order, plus the points
    with the extreme x and y values, so outliers stay visible.
    """
    n = len(points)
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    if n <= max_points:
        return np.arange(n)
    if method == "minmax":
        band = len(points[0]) == 3
        low = _as_float([p[1] for p in points])
        high = _as_float([p[2] for p in points]) if band else low
        keep = [0, n - 1]
        buckets = max(1, (max_points - 2) // 2)
        for bucket in np.array_split(np.arange(1, n - 1), buckets):
            if bucket.size == 0:
                continue
            keep.append(int(bucket[np.argmin(np.where(np.isnan(low[bucket]), np.inf, low[bucket]))]))
            keep.append(int(bucket[np.argmax(np.where(np.isnan(high[bucket]), -np.inf, high[bucket]))]))
        return np.unique(keep)
    if method == "stride":
        extremes: list[int] = []
        for column in (0, 1):
            values = _as_float([p[column] for p in points])
            if not np.all(np.isnan(values)):
                extremes += [int(np.nanargmin(values)), int(np.nanargmax(values))]
        spaced = np.linspace(0, n - 1, max_points - len(extremes)).round().astype(int)
        return np.unique(np.concatenate([spaced, np.asarray(extremes, dtype=int)]))
    raise ValueError(f"unknown downsample method {method!r}; use 'minmax' or 'stride'")


def downsample(points: Sequence[Sequence[Any]], max_points: int = MAX_POINTS, method: str = "minmax") -> list[Any]:
    """At most ``max_points`` of ``points``, in their order (see ``downsample_indices``)."""
    return [points[i] for i in downsample_indices(points, max_points, method)]


def series(
    name: str, mark: str, points: Sequence[Sequence[Any]] | np.ndarray, max_points: int = MAX_POINTS
) -> dict[str, Any]:
    """One series: ``mark`` is line, point, bar, area or band; band points are [x, low, high].

    More than ``max_points`` points are down-sampled: ``minmax`` for line/area/band (ordered curves),
    ``stride`` for point/bar.
    """
    if mark not in MARKS:
        raise ValueError(f"unknown mark {mark!r}; use one of {', '.join(MARKS)}")
    width = 3 if mark == "band" else 2
    rows = points.tolist() if isinstance(points, np.ndarray) else list(points)
    for point in rows:
        if len(point) != width:
            raise ValueError(f"series {name!r}: a {mark} point has {width} values, got {list(point)!r}")
    method = "stride" if mark in ("point", "bar") else "minmax"
    kept = downsample(rows, max_points, method) if rows else rows
    return {"name": str(name), "mark": mark, "points": [[json_value(v) for v in p] for p in kept]}


def _axis_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"unknown axis scale {scale!r}; use one of {', '.join(SCALES)}")
    return scale


def xy_chart(
    id: str,
    title: str,
    x_label: str,
    y_label: str,
    series: Sequence[dict[str, Any]],
    x_scale: str = "linear",
    y_scale: str = "linear",
    note: str | None = None,
) -> dict[str, Any]:
    """An ``xy`` chart from series built with ``series()``."""
    chart: dict[str, Any] = {
        "type": "xy",
        "id": str(id),
        "title": str(title),
        "x": {"label": str(x_label), "scale": _axis_scale(x_scale)},
        "y": {"label": str(y_label), "scale": _axis_scale(y_scale)},
        "series": list(series),
    }
    if note:
        chart["note"] = str(note)
    return chart


def heatmap_chart(
    id: str,
    title: str,
    x_label: str,
    x_categories: Sequence[Any],
    y_label: str,
    y_categories: Sequence[Any],
    values: Sequence[Sequence[Any]] | np.ndarray,
    note: str | None = None,
) -> dict[str, Any]:
    """A ``heatmap``: ``values[row][column]``, rows follow ``y_categories``, columns ``x_categories``."""
    rows = np.asarray(values, dtype=object).tolist() if isinstance(values, np.ndarray) else [list(r) for r in values]
    if len(rows) != len(y_categories) or any(len(r) != len(x_categories) for r in rows):
        raise ValueError(
            f"heatmap {id!r}: values must be {len(y_categories)} rows × {len(x_categories)} columns"
        )
    chart: dict[str, Any] = {
        "type": "heatmap",
        "id": str(id),
        "title": str(title),
        "x": {"label": str(x_label), "categories": [str(c) for c in x_categories]},
        "y": {"label": str(y_label), "categories": [str(c) for c in y_categories]},
        "values": [[json_number(v) for v in r] for r in rows],
    }
    if note:
        chart["note"] = str(note)
    return chart


@cache
def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def chart_problems(chart: dict[str, Any]) -> list[str]:
    """Why ``chart`` does not match chart.schema.json (empty when it does, and it is valid JSON)."""
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(chart)]
    try:
        json.dumps(chart, allow_nan=False)
    except (TypeError, ValueError) as exc:
        problems.append(f"not JSON-safe: {exc}")
    return problems


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for series names and notes, with ``digits`` decimals; 'n/a' for None and NaN."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"
