"""Checks of a clustering or anomaly request against its data, before PyCaret sees it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import user_error

if TYPE_CHECKING:
    import pandas as pd

# The columns the labels output adds (PyCaret's assign_model names).
OUTPUT_COLUMNS = {"clustering": ["Cluster"], "anomaly": ["Anomaly", "Anomaly_Score"]}
MIN_ROWS = 3  # two clusters and one row more; the elbow curve starts at k = 2


def output_clashes(task: str, df: pd.DataFrame, ignore: list[str]) -> list[str]:
    """Label columns the dataset already has and the request does not ignore: a labels version of an
    earlier run trained again. Training on them would learn the old answer."""
    return [c for c in OUTPUT_COLUMNS[task] if c in df.columns and c not in ignore]


def check_unsupervised_data(df: pd.DataFrame, task: str, ignore: list[str], num_clusters: int | None) -> None:
    """Raise a user error naming what is wrong when PyCaret could not train on this data."""
    columns = [str(c) for c in df.columns]
    missing = [c for c in ignore if c not in columns]
    if missing:
        raise user_error(
            "IgnoredColumnNotFound",
            f"Columns to ignore are not in the dataset: {', '.join(missing)}.",
            f"Remove them from the ignore list; the dataset has: {', '.join(columns[:30])}.",
        )
    features = [c for c in columns if c not in ignore]
    if not features:
        raise user_error(
            "NoFeatures", "No columns are left once the ignored columns are removed.", "Ignore fewer columns."
        )
    empty = [c for c in features if df[c].isna().all()]
    if empty and len(empty) == len(features):
        raise user_error(
            "NoFeatures", f"Every column left to train on is empty: {', '.join(empty[:10])}.",
            "Ignore fewer columns, or fill them in.",
        )
    if len(df) < MIN_ROWS:
        raise user_error(
            "TooFewRows", f"The dataset has {len(df)} row(s); {task} needs at least {MIN_ROWS}.",
            "Import a dataset with more rows.",
        )
    if task == "clustering" and num_clusters is not None and num_clusters >= len(df):
        raise user_error(
            "TooManyClusters",
            f"num_clusters is {num_clusters} but the dataset has only {len(df)} rows.",
            f"Ask for fewer clusters than rows (at most {len(df) - 1}),"
            " or leave num_clusters empty for the elbow method's choice.",
        )
