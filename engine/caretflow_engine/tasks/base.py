"""The task-family protocol: one implementation per family of ML tasks.

Every task caretflow offers (classification, regression, clustering, anomaly, time_series,
topics, association_rules) belongs to exactly one family. A family says what its tasks offer
(the catalog: fields, models, metrics, plots, prediction columns, operations), trains (kind=train),
runs operations on an earlier run's model (kind=operate), and scores rows with a loaded model,
the one function batch and online prediction share. The runner, the scorer and the catalog only
talk to families through this protocol, so a new task plugs in here and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..errors import user_error

if TYPE_CHECKING:
    import pandas as pd

    from ..context import JobContext
    from ..scoring import LoadedModel


class TaskFamily(Protocol):
    family: str
    tasks: tuple[str, ...]

    def describe(self, task: str, probe: Any) -> dict[str, Any]:
        """The catalog entry of a task (TaskCatalog in packages/contracts/src/catalog.ts).

        ``probe`` gives what the catalog needs from the libraries (e.g. a PyCaret experiment set
        up on a few rows), shared across families so the catalog is built once per environment.
        """
        ...

    def train(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """kind=train: returns the TrainResult (without ``kind``)."""
        ...

    def operate(self, spec: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
        """kind=operate: returns the OperateResult (without ``kind``)."""
        ...

    def prediction_columns(self, model: LoadedModel) -> list[str]:
        """The columns ``score`` adds, in order."""
        ...

    def score(self, model: LoadedModel, df: pd.DataFrame, options: dict[str, Any]) -> pd.DataFrame:
        """Prediction columns for df (index aligned with df, or one row per forecast period)."""
        ...

    # Optional:
    # - evaluate(spec, ctx, df, work_dir) -> {"charts": [...], "plots": [(name, png path)]}: the
    #   evaluate job's family part (heavy evaluation kept out of the training job); families that
    #   chart while training leave it out and the report draws what their runs hold.
    # - explain(model, df, options) -> list of Explanation dicts, one per row (SHAP).
    # - rows_independent = True: ``score`` answers each row from that row alone, so a scoring process
    #   may score the rows of several queued requests as one frame and split the answer (serve.py).


def unsupported(task: str, operation: str, supported: list[str]) -> Exception:
    return user_error(
        "OperationNotSupported",
        f"The {task} task does not support '{operation}'.",
        f"Use one of: {', '.join(supported) or 'none'} (see GET /api/catalog).",
    )
