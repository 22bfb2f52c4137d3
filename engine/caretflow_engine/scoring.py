"""The one scoring function used by batch predict jobs and by the online `serve` process, so both
give identical answers for identical rows. What the answer holds depends on the task: the model's
family (from the ``caretflow_task`` the model was saved with) scores it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import user_error

if TYPE_CHECKING:
    import pandas as pd

_FLOAT_TYPES = {"double", "float"}
_INT_TYPES = {"long", "integer"}


@dataclass
class LoadedModel:
    pipeline: Any
    task: str
    target: str | None
    columns: list[tuple[str, str]]
    model_uri: str
    sha256: str
    run_id: str
    meta: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "model_uri": self.model_uri,
            "run_id": self.run_id,
            "sha256": self.sha256,
            "task": self.task,
            "target": self.target,
            "model_name": self.meta.get("caretflow_model_name"),
            "features": [{"name": n, "type": t} for n, t in self.columns],
            "prediction_columns": prediction_columns(self),
        }


def load_model(client: Any, model_uri: str, expected_digest: str | None) -> LoadedModel:
    """Download the model's folder once into a private temporary folder, check its digest against
    the one caretflow recorded (``expected_digest``), and load from that folder only."""
    import tempfile

    from .model_store import download_verified, load_sklearn, read_model_meta

    with tempfile.TemporaryDirectory(prefix="caretflow-model-") as tmp:
        local, sha, location = download_verified(client, model_uri, expected_digest, tmp)
        meta, columns = read_model_meta(Path(local))
        pipeline = load_sklearn(Path(local))
    task = str(meta.get("caretflow_task") or ("classification" if hasattr(pipeline, "classes_") else "regression"))
    return LoadedModel(pipeline, task, meta.get("caretflow_target"), columns, model_uri, sha, location.run_id, meta)


def prediction_columns(model: LoadedModel) -> list[str]:
    from .tasks import family_for

    return family_for(model.task).prediction_columns(model)


def prepare_features(model: LoadedModel, df: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns, in signature order and types; a user error names missing columns."""
    import pandas as pd

    names = [n for n, _ in model.columns]
    missing = [n for n in names if n not in df.columns]
    if missing:
        raise user_error(
            "MissingFeatureColumns",
            f"The input lacks {len(missing)} column(s) the model needs: {', '.join(missing)}.",
            f"Add the columns {', '.join(missing)} to every row (null where unknown).",
        )
    out: dict[str, pd.Series] = {}
    for name, mtype in model.columns:
        col = df[name]
        try:
            out[name] = _as_type(col, mtype)
        except (ValueError, TypeError) as exc:
            raise user_error(
                "BadFeatureValue",
                f"Column '{name}' must hold {mtype} values: {exc}",
                f"Send {mtype} values (or null) in column '{name}'.",
            ) from exc
    return pd.DataFrame(out, index=df.index)


def _as_type(col: pd.Series, mtype: str) -> pd.Series:
    """A column in the signature's type. A numeric column is kept or cast (the common case, and the
    cheap one); anything else is parsed value by value."""
    import pandas as pd

    kind = col.dtype.kind
    if mtype in _FLOAT_TYPES:
        target = "float64" if mtype == "double" else "float32"
        if kind in "iuf":
            return col if col.dtype == target else col.astype(target)
        return pd.to_numeric(col, errors="raise").astype(target)
    if mtype in _INT_TYPES:
        target = "int64" if mtype == "long" else "int32"
        if kind in "iu":
            return col if col.dtype == target else col.astype(target)
        num = pd.to_numeric(col, errors="raise")
        integral = num.notna().all() and (num.dropna() % 1 == 0).all()
        return num.astype(target) if integral else num.astype("float64")
    if mtype == "boolean":
        return col.astype("boolean") if col.isna().any() else col.astype(bool)
    if mtype == "string":
        if kind == "O" and all(type(v) is str for v in col.array):
            return col
        col = col.astype(object).where(col.notna(), None)
        return col.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return col


def score_frame(model: LoadedModel, df: pd.DataFrame, options: dict[str, Any] | None = None) -> pd.DataFrame:
    """Prediction columns for df: index aligned with df, or one row per period for a forecast."""
    from .tasks import family_for

    return family_for(model.task).score(model, df, options or {})


def explain_frame(model: LoadedModel, df: pd.DataFrame, options: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Explanations (packages/contracts Explanation) for each row, from the model's family."""
    from .tasks import family_for

    family = family_for(model.task)
    explain = getattr(family, "explain", None)
    if explain is None:
        raise user_error(
            "ExplanationsUnavailable",
            f"Explanations are not available for {model.task} models.",
            "Ask for explanations of classification and regression models.",
        )
    return explain(model, df, options or {})


def records(pred: pd.DataFrame) -> list[dict[str, Any]]:
    """Prediction rows as plain JSON values (numpy scalars unwrapped, NaN -> null)."""
    from .events import json_safe

    return [json_safe(row) for row in pred.to_dict(orient="records")]
