"""What setup options would do to the data, before anyone trains: sample rows before and after
PyCaret's preprocessing (columns added, removed, transformed).

PyCaret builds its preprocessing pipeline in ``setup``; the preview runs setup on a sample of the
dataset (the transformers learn from the sample, so the numbers are indicative; the columns and
steps are exactly what training would make) and transforms a few rows with the fitted pipeline.
"""

from __future__ import annotations

from typing import Any

from .data import check_columns, read_dataset
from .errors import user_error
from .events import json_safe

SAMPLE_ROWS = 1000
TABULAR = ("classification", "regression", "clustering", "anomaly")


def setup_preview(request: dict[str, Any]) -> dict[str, Any]:
    """The SetupPreview of packages/contracts for a SetupPreviewRequest plus its dataset reference."""
    task = request.get("task")
    if task not in TABULAR:
        raise user_error(
            "PreviewNotAvailable",
            f"The preprocessing preview is for tabular tasks ({', '.join(TABULAR)}), not {task!r}.",
            "Pick one of those tasks; time series, topics and rules have no PyCaret preprocessing pipeline.",
        )
    rows = int(request.get("rows") or 8)
    target = request.get("target")
    ignore = list(request.get("ignore_columns") or [])
    df = read_dataset(request["dataset"])
    check_columns(df, {"ignore_columns": ignore, **({"target": [target]} if target else {})})
    if task in ("classification", "regression"):
        if not target:
            raise user_error("TargetRequired", f"A {task} preview needs the target column.", "Pick the target first.")
        df = df[df[target].notna()]
    sample = df.sample(n=min(SAMPLE_ROWS, len(df)), random_state=int(request.get("seed", 123))).sort_index()
    if len(sample) < 4:
        raise user_error("TooFewRows", f"The dataset has {len(sample)} usable rows; the preview needs at least 4.", "Use a bigger dataset.")

    from .adapters.pycaret3.probe import setup_method
    from .adapters.pycaret3.preview import preview_pipeline
    from .tasks.setup_options import setup_fields, validate_setup

    options = validate_setup(task, dict(request.get("setup") or {}), setup_fields(task, setup_method(task)))
    check_columns(sample, {k: v for k, v in options.items() if isinstance(v, list)})
    pipeline, features = preview_pipeline(task, sample, target, ignore, options, int(request.get("seed", 123)))
    before = sample[features].head(rows)
    after = pipeline.transform(before)
    before_cols, after_cols = [str(c) for c in before.columns], [str(c) for c in after.columns]
    return {
        "before": {"columns": before_cols, "rows": json_safe(before.astype(object).where(before.notna(), None).values.tolist())},
        "after": {"columns": after_cols, "rows": json_safe(after.astype(object).where(after.notna(), None).values.tolist())},
        "added": [c for c in after_cols if c not in before_cols],
        "removed": [c for c in before_cols if c not in after_cols],
        "steps": [str(name) for name, _ in pipeline.steps if name != "label_encoding"],
    }
