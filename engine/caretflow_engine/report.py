"""The training report: one self-contained HTML file per model run (data summary and EDA, setup,
leaderboard, the model, plots, interpretation), logged to MLflow as ``report/report.html``.

Self-contained means no network and no script: images are embedded as base64 PNG, styles are
inline, so the file opens anywhere (and caretflow serves it under a sandboxing CSP).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .ml.chart_png import render

REPORT_PATH = "report/report.html"
MAX_COLUMNS = 60

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.25rem;border-bottom:1px solid #d6dae3;padding-bottom:.3rem;margin-top:2.2rem}
h3{font-size:1.05rem} .muted{color:#5a6273} table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}
th,td{border:1px solid #d6dae3;padding:.25rem .5rem;text-align:left;vertical-align:top} th{background:#f2f4f8}
td.num{text-align:right;font-variant-numeric:tabular-nums} .best{font-weight:600;background:#eef7f0}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(480px,1fr));gap:1rem} figure{margin:0}
figure img{max-width:100%;border:1px solid #e3e6ec} figcaption{font-size:.8rem;color:#5a6273}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if not np.isfinite(f):
        return "–"
    return f"{f:.{digits}g}" if abs(f) >= 1e4 or (f != 0 and abs(f) < 1e-3) else f"{f:.{digits}f}".rstrip("0").rstrip(".")


def _table(header: list[str], rows: list[list[Any]], numeric: set[int] | None = None, best: int | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = "".join(f'<td class="num">{_num(v)}</td>' if j in numeric else f"<td>{_esc(v)}</td>" for j, v in enumerate(row))
        body.append(f'<tr{" class=best" if best == i else ""}>{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{_esc(caption)}" src="data:image/png;base64,{data}"><figcaption>{_esc(caption)}</figcaption></figure>'


def data_summary(df: pd.DataFrame, target: str | None) -> str:
    """Rows, columns and per-column facts: type, missing, distinct, and statistics or top values."""
    rows = []
    for name in list(df.columns)[:MAX_COLUMNS]:
        col = df[name]
        missing = float(col.isna().mean() * 100)
        if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            stats = f"mean {_num(col.mean())}, std {_num(col.std())}, min {_num(col.min())}, max {_num(col.max())}"
        else:
            top = col.astype(str).value_counts().head(3)
            stats = ", ".join(f"{k} ({v})" for k, v in top.items())
        rows.append([f"{name}{' (target)' if name == target else ''}", str(col.dtype), f"{missing:.1f}%", int(col.nunique()), stats])
    more = f"<p class=muted>{len(df.columns) - MAX_COLUMNS} more columns not shown.</p>" if len(df.columns) > MAX_COLUMNS else ""
    return (
        f"<p>{len(df):,} rows, {len(df.columns)} columns.</p>"
        + _table(["column", "type", "missing", "distinct", "values"], rows)
        + more
    )


def build_report(
    *,
    title: str,
    facts: list[tuple[str, Any]],
    df: pd.DataFrame,
    target: str | None,
    setup: dict[str, Any],
    leaderboard: list[dict[str, Any]],
    sort_metric: str | None,
    model: dict[str, Any],
    charts: list[dict[str, Any]],
    pngs: list[tuple[str, Path]],
) -> str:
    """The report's HTML. ``charts`` are drawn as PNGs; ``pngs`` are (caption, file) images as they are."""
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_esc(title)}</title><style>{_CSS}</style></head><body>"]
    parts.append(f"<h1>{_esc(title)}</h1><p class=muted>caretflow report, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>")
    parts.append(_table(["", ""], [[k, v] for k, v in facts]))

    parts.append("<h2>Data</h2>" + data_summary(df, target))
    if setup:
        parts.append("<h2>Setup</h2>" + _table(["setting", "value"], [[k, v] for k, v in setup.items()]))

    if leaderboard:
        metrics = [m for m in leaderboard[0]["metrics"] if m not in ("TT (Sec)",)][:10]
        rows = [[r.get("rank", i + 1), r["model_name"], r["model_id"], *[r["metrics"].get(m) for m in metrics]] for i, r in enumerate(leaderboard)]
        parts.append(
            f"<h2>Leaderboard</h2><p class=muted>Cross-validated, ranked by {_esc(sort_metric or 'the task default')}.</p>"
            + _table(["#", "model", "id", *metrics], rows, numeric=set(range(3, 3 + len(metrics))), best=0)
        )

    parts.append(f"<h2>Model: {_esc(model.get('name', ''))}</h2>")
    if model.get("metrics"):
        parts.append(_table(["metric", "value"], [[k, v] for k, v in sorted(model["metrics"].items())], numeric={1}))
    if model.get("params"):
        parts.append("<h3>Parameters</h3>" + _table(["parameter", "value"], [[k, v] for k, v in sorted(model["params"].items())]))

    with tempfile.TemporaryDirectory(prefix="caretflow-report-") as tmp:
        figures = [_img(path, caption) for caption, path in pngs]
        evaluation, interpretation = [], []
        for chart in charts:
            png = render(chart, Path(tmp) / f"{chart['id']}.png")
            figure = _img(png, chart["title"] + (f" — {chart['note']}" if chart.get("note") else ""))
            is_interpretation = chart["id"].startswith(("shap", "pdp_", "permutation", "feature"))
            (interpretation if is_interpretation else evaluation).append(figure)
        if evaluation or figures:
            parts.append("<h2>Evaluation</h2><div class=grid>" + "".join(evaluation + figures) + "</div>")
        if interpretation:
            parts.append("<h2>Interpretation</h2><div class=grid>" + "".join(interpretation) + "</div>")
    parts.append("</body></html>")
    return "".join(parts)
