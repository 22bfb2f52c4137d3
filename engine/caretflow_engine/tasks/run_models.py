"""The model an operation starts from, found through its MLflow run.

A training job logs one run per compared model (role ``child``: CV scores, no saved model) and a
run holding the finalized model (role ``final``); operations log runs like the final one (role
``operation``). A child's model is recreated in the rebuilt setup from its model id; a final or
operation run's saved model is loaded, after its folder's digest matches the one caretflow recorded
(the spec's ``model_digests``, by run id), for its estimator.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import user_error
from ..experiment_log import MODEL_ARTIFACT_PATH

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

SAVED_MODEL_ROLES = ("final", "operation")


@dataclass
class RunModel:
    run_id: str
    role: str  # child, final or operation
    model_id: str
    model_name: str
    estimator: Any | None  # the saved pipeline's estimator (fitted on all data); None for a child run


def resolve_run_model(client: MlflowClient, run_id: str, parent_run_id: str, digests: dict[str, str] | None = None) -> RunModel:
    """The model of a run of the training whose parent run is ``parent_run_id`` (the parent itself: its best).

    ``digests`` maps a run id to its saved model's recorded digest; a saved model without one is refused.
    """
    run = _get_run(client, run_id)
    tags = run.data.tags
    role = tags.get("caretflow.role", "")
    if run_id == parent_run_id:
        best = tags.get("caretflow.best_run_id")
        if not best:
            raise user_error("RunHasNoModel", f"Run {run_id} has no best model yet.", "Pick one of its model runs.")
        return resolve_run_model(client, best, parent_run_id, digests)
    if tags.get("mlflow.parentRunId") != parent_run_id:
        raise user_error(
            "RunNotInTraining",
            f"Run {run_id} is not a model of the same training as the source run (parent run {parent_run_id}).",
            "Combine models of one training job: pick runs listed under the same parent run.",
        )
    if role not in ("child", *SAVED_MODEL_ROLES):
        raise user_error(
            "RunHasNoModel", f"Run {run_id} (role '{role or 'none'}') holds no model.", "Pick a model's run."
        )
    if run.info.status != "FINISHED":
        raise user_error(
            "RunNotFinished",
            f"Run {run_id} ({tags.get('caretflow.model_name', 'model')}) is {run.info.status}, "
            "so it has no usable model.",
            "Pick a run that finished.",
        )
    model_id = tags.get("caretflow.model_id", "")
    name = tags.get("caretflow.model_name", model_id)
    estimator = _saved_estimator(client, run_id, (digests or {}).get(run_id)) if role in SAVED_MODEL_ROLES else None
    return RunModel(run_id, role, model_id, name, estimator)


def _get_run(client: MlflowClient, run_id: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc) or "not found" in str(exc).lower():
            raise user_error(
                "RunNotFound", f"MLflow has no run {run_id}.", "Check the run id (caretflow runs show PARENT_RUN_ID)."
            ) from exc
        raise


def _saved_estimator(client: MlflowClient, run_id: str, expected_digest: str | None) -> Any:
    """The last step of the run's saved pipeline, loaded only after its folder's digest matches caretflow's record."""
    from ..model_store import download_verified, load_sklearn

    with tempfile.TemporaryDirectory(prefix="caretflow-source-") as tmp:
        local, _digest, _loc = download_verified(client, f"runs:/{run_id}/{MODEL_ARTIFACT_PATH}", expected_digest, tmp)
        pipeline = load_sklearn(Path(local))
    steps = getattr(pipeline, "steps", None)
    return steps[-1][1] if steps else pipeline
