"""PyCaret's preprocessing pipeline for a sample, as training would build it (for the setup preview)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .probe import _experiment


def preview_pipeline(
    task: str, sample: pd.DataFrame, target: str | None, ignore: list[str], options: dict[str, Any], seed: int
) -> tuple[Any, list[str]]:
    """(fitted preprocessing pipeline, the raw feature columns it takes) after setup on the sample."""
    exp = _experiment(task)
    common = {"session_id": seed, "n_jobs": 1, "verbose": False, "html": False, "system_log": False}
    if task in ("classification", "regression"):
        exp.setup(data=sample, target=target, ignore_features=ignore or None, fold=2, **common, **options)
    else:
        exp.setup(data=sample, ignore_features=ignore or None, **common, **options)
    return exp.pipeline, [str(c) for c in exp.X.columns]
