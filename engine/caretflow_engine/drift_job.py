"""kind=drift: per-feature drift of a current sample (a dataset version or prediction-log files) against
a reference dataset version, the model's training data. No MLflow: the result is the table."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .context import JobContext
from .data import check_columns, read_dataset
from .datastore import env_root
from .drift import compare_frames
from .errors import user_error
from .tracking import dataset_label

if TYPE_CHECKING:
    import pandas as pd

PREDICTION_LOG_ROOT_ENV = "CARETFLOW_PREDICTION_LOG_ROOT"
_LOG_FILE = re.compile(r"^(?!/)(?!.*\.\.)[A-Za-z0-9_./-]+\.(parquet|jsonl)$")


def run_drift(spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    ev = ctx.events
    ev.stage("loading", f"Reading the reference {dataset_label(spec['reference'])} and the current sample")
    reference = read_dataset(spec["reference"])
    current = read_current(spec["current"])
    if len(reference) == 0 or len(current) == 0:
        empty = "reference" if len(reference) == 0 else "current sample"
        raise user_error("EmptyDataset", f"The {empty} has no rows, so there is nothing to compare.", "Pick a version with rows.")
    reference = with_reference_predictions(reference, spec.get("reference_target"), spec["prediction_columns"])
    features = spec.get("features")
    if features is not None:
        check_columns(reference, {"features (reference)": features})
        check_columns(current, {"features (current)": features})

    ev.stage("drift", f"Comparing {len(current)} current rows with {len(reference)} reference rows")
    rows = compare_frames(
        reference,
        current,
        features=features,
        prediction_columns=spec["prediction_columns"],
        thresholds=spec["thresholds"],
        bins=spec["bins"],
    )
    if not any(r["role"] == "feature" for r in rows):
        raise user_error(
            "NoCommonColumns",
            "The reference and the current sample have no column in common.",
            "Compare a sample of the data the model was trained on, with the same column names.",
        )
    predictions = [r for r in rows if r["role"] == "prediction"]
    drifted = [r["column"] for r in rows if r["role"] == "feature" and r["drifted"]]
    ev.log("info", f"{len(drifted)} of {sum(r['role'] == 'feature' for r in rows)} features drifted")
    return {
        "kind": "drift",
        "reference_rows": int(len(reference)),
        "current_rows": int(len(current)),
        "thresholds": spec["thresholds"],
        "features": rows,
        "drifted": drifted,
        "prediction_drift": any(r["drifted"] for r in predictions) if predictions else None,
    }


def with_reference_predictions(reference: pd.DataFrame, target: str | None, prediction_columns: list[str]) -> pd.DataFrame:
    """The reference with its target standing for the first prediction column, where it lacks one.

    A model's training data has labels, not predictions: comparing the served predictions with the
    training labels shows a shift in what the model answers (prediction drift). The target column
    itself leaves the features, as the current sample (the inputs sent) never has it.
    """
    if not target or not prediction_columns or prediction_columns[0] in reference.columns:
        return reference
    if target not in reference.columns:
        raise user_error(
            "TargetMissing",
            f"The reference has no target column {target!r}, so the predictions cannot be compared with it.",
            "Compare against the dataset version the model was trained on.",
        )
    return reference.drop(columns=[target]).assign(**{prediction_columns[0]: reference[target]})


def read_current(ref: dict[str, Any]) -> pd.DataFrame:
    """The current sample: a dataset version, or prediction-log files (Parquet or JSON lines) under the log root."""
    if "prediction_log" not in ref:
        return read_dataset(ref)
    import pandas as pd

    root = env_root(PREDICTION_LOG_ROOT_ENV, "PredictionLogRootMissing", "read prediction logs", "prediction-log folder")
    frames = []
    for name in ref["prediction_log"]:
        path = root / name
        if not _LOG_FILE.match(name) or not path.is_file():
            raise user_error("PredictionLogMissing", f"No prediction-log file {name!r}.", "Name files that exist under the prediction log.")
        # precise_float: pandas' fast parser reads 1.86 as 1.8599999999999999, which moves values across
        # the reference's bin edges and shows drift in identical data.
        if name.endswith(".parquet"):
            frames.append(pd.read_parquet(path))
        else:
            frames.append(pd.read_json(path, lines=True, precise_float=True))
    return served_rows(pd.concat(frames, ignore_index=True), ref)


def served_rows(frame: pd.DataFrame, ref: dict[str, Any]) -> pd.DataFrame:
    """The log's rows a deployment answered with (no shadow answers, no failures), of `version` and in [from, to) when given."""
    import pandas as pd

    keep = pd.Series(True, index=frame.index)
    if "caretflow_shadow" in frame:
        keep &= ~frame["caretflow_shadow"].fillna(False).astype(bool)
    if "caretflow_error" in frame:
        keep &= frame["caretflow_error"].isna()
    if "version" in ref and "caretflow_version" in frame:
        keep &= frame["caretflow_version"] == ref["version"]
    if ("from" in ref or "to" in ref) and "caretflow_time" in frame:
        at = pd.to_datetime(frame["caretflow_time"], utc=True)
        if "from" in ref:
            keep &= at >= pd.Timestamp(ref["from"])
        if "to" in ref:
            keep &= at < pd.Timestamp(ref["to"])
    return frame[keep].reset_index(drop=True)
