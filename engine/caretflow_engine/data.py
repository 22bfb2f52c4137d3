"""Reading datasets and checking a training request against the data, before any training."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import user_error

if TYPE_CHECKING:
    import pandas as pd


def read_parquet(path: str, what: str = "dataset") -> pd.DataFrame:
    import pandas as pd

    p = Path(path)
    if not p.is_absolute():
        raise user_error("InvalidPath", f"The {what} path must be absolute: {path}", "Pass an absolute path.")
    if not p.is_file():
        raise user_error(
            "DatasetFileMissing",
            f"The {what} file does not exist: {path}",
            "Re-import the dataset; its stored Parquet file is missing.",
        )
    try:
        return pd.read_parquet(p, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise user_error(
            "DatasetUnreadable",
            f"Could not read the {what} as Parquet: {exc}",
            "Re-import the dataset; the stored file is not valid Parquet.",
        ) from exc


def read_dataset(ref: dict[str, Any]) -> pd.DataFrame:
    """The DataFrame of a spec's dataset reference (name and version, resolved under the data root)."""
    from .datastore import dataset_path

    return read_parquet(str(dataset_path(ref)))


def check_columns(df: pd.DataFrame, fields: dict[str, list[str]]) -> None:
    """Raise a user error naming the field and the columns it lists that the dataset lacks."""
    for field, columns in fields.items():
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise user_error(
                "ColumnNotFound",
                f"'{field}' names columns the dataset does not have: {', '.join(missing)}.",
                f"Pick from the dataset's columns: {_column_list([str(c) for c in df.columns])}.",
            )


def _column_list(columns: list[str]) -> str:
    shown = ", ".join(columns[:30])
    return shown + (f" … ({len(columns)} columns)" if len(columns) > 30 else "")


def check_training_data(df: pd.DataFrame, task: str, target: str, ignore_columns: list[str]) -> None:
    """Raise a user error when PyCaret could not train on this data; the hint says what to change."""
    columns = [str(c) for c in df.columns]
    if len(df) == 0:
        raise user_error("EmptyDataset", "The dataset has no rows.", "Import a dataset with data rows.")
    if target not in df.columns:
        raise user_error(
            "TargetNotFound",
            f"Target column '{target}' is not in the dataset.",
            f"Pick one of the dataset's columns: {_column_list(columns)}.",
        )
    missing_ignored = [c for c in ignore_columns if c not in df.columns]
    if missing_ignored:
        raise user_error(
            "IgnoredColumnNotFound",
            f"Columns to ignore are not in the dataset: {', '.join(missing_ignored)}.",
            f"Remove them from the ignore list; the dataset has: {_column_list(columns)}.",
        )
    if target in ignore_columns:
        raise user_error(
            "TargetIgnored", f"The target '{target}' is also in the ignore list.", "Remove the target from ignore_columns."
        )
    if len(set(columns) - set(ignore_columns) - {target}) == 0:
        raise user_error(
            "NoFeatures", "No feature columns are left once the target and ignored columns are removed.",
            "Ignore fewer columns.",
        )
    y = df[target]
    non_null = y.dropna()
    if len(non_null) == 0:
        raise user_error(
            "TargetAllNull", f"Target column '{target}' has no values (all null).", "Pick a target column that has values."
        )
    if task == "classification":
        classes = non_null.nunique()
        if classes < 2:
            raise user_error(
                "TargetOneClass",
                f"Target column '{target}' has only one class ({non_null.iloc[0]!r}); classification needs at least two.",
                "Pick a target with at least two distinct values, or use more data that contains other classes.",
            )
        counts = non_null.value_counts()
        if int(counts.min()) < 2:
            rare = ", ".join(repr(v) for v in counts[counts < 2].index[:5])
            raise user_error(
                "TargetClassTooRare",
                f"Target column '{target}' has classes with a single row ({rare}); stratified cross-validation needs at least two per class.",
                "Remove those rows or merge rare classes, then import the dataset again.",
            )
    elif task == "regression":
        import pandas as pd

        if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
            raise user_error(
                "TargetNotNumeric",
                f"Regression needs a numeric target, but '{target}' has type {y.dtype}.",
                "Pick a numeric target, or choose the classification task.",
            )
