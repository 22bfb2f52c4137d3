"""Saving models in MLflow format with a content hash, and loading them only after the hash checks out.

A model is a pickle, and unpickling runs code, so a model is loaded only when the sha256 of its
pickle file matches the hash caretflow recorded when it produced the model (the
``caretflow.model_sha256`` tag of the run that holds it), or the hash the caller passed.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import user_error

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

MODEL_ARTIFACT_PATH = "model"
PICKLE_NAME = "model.pkl"
SHA_TAG = "caretflow.model_sha256"
SOURCE_TAG = "caretflow.model_source"

_RUNS_URI = re.compile(r"^runs:/([0-9a-f]{32})/([A-Za-z0-9_\-./]+)$")
_MODELS_VERSION_URI = re.compile(r"^models:/([^/@]+)/([0-9]+)$")
_MODELS_ALIAS_URI = re.compile(r"^models:/([^/@]+)@([A-Za-z0-9_\-]+)$")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelLocation:
    """Where a model's files are: a run and an artifact path inside it."""

    run_id: str
    artifact_path: str


def resolve_model_uri(client: MlflowClient, model_uri: str) -> ModelLocation:
    """runs:/RUN_ID/PATH, models:/NAME/VERSION or models:/NAME@ALIAS -> run and artifact path.

    Anything else (file paths, other schemes) is refused: caretflow loads only models it produced
    into MLflow runs.
    """
    runs = _RUNS_URI.match(model_uri)
    if runs:
        path = runs.group(2).strip("/")
        if ".." in path.split("/"):
            raise _bad_uri(model_uri)
        return ModelLocation(runs.group(1), path)
    by_version = _MODELS_VERSION_URI.match(model_uri)
    by_alias = _MODELS_ALIAS_URI.match(model_uri)
    if not (by_version or by_alias):
        raise _bad_uri(model_uri)
    from mlflow.exceptions import MlflowException

    try:
        if by_version:
            version = client.get_model_version(by_version.group(1), by_version.group(2))
        else:
            assert by_alias is not None
            version = client.get_model_version_by_alias(by_alias.group(1), by_alias.group(2))
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc) or "not found" in str(exc).lower():
            raise user_error(
                "ModelNotFound",
                f"No registered model version for {model_uri}.",
                "Check the model name and version or alias (caretflow models list).",
            ) from exc
        raise
    if not version.run_id:
        raise user_error(
            "ModelNotFromCaretflow",
            f"{model_uri} is not linked to a run, so caretflow cannot verify it.",
            "Register a model from a caretflow training run.",
        )
    run = client.get_run(version.run_id)
    source = version.source or ""
    base = run.info.artifact_uri.rstrip("/") + "/"
    prefix = f"runs:/{version.run_id}/"
    if source.startswith(base):
        path = source[len(base) :]
    elif source.startswith(prefix):
        path = source[len(prefix) :]
    else:
        raise user_error(
            "ModelNotFromCaretflow",
            f"{model_uri} points outside its run's artifacts ({source}).",
            "Register the model from a caretflow training run, using its caretflow.model_source tag.",
        )
    path = path.strip("/")
    if not path or ".." in path.split("/"):
        raise _bad_uri(model_uri)
    return ModelLocation(version.run_id, path)


def _bad_uri(model_uri: str) -> Exception:
    return user_error(
        "InvalidModelUri",
        f"Unsupported model URI: {model_uri!r}.",
        "Use models:/NAME/VERSION, models:/NAME@ALIAS or runs:/RUN_ID/model.",
    )


def download_verified(
    client: MlflowClient, model_uri: str, expected_sha256: str | None, dst_dir: str | None = None
) -> tuple[Path, str, ModelLocation]:
    """Download the model's files and check the pickle's hash; returns (local dir, sha256, location).

    The expected hash is the caller's, else the producing run's tag; with neither, the model is refused.
    """
    location = resolve_model_uri(client, model_uri)
    run = client.get_run(location.run_id)
    recorded = run.data.tags.get(SHA_TAG)
    expected = (expected_sha256 or recorded or "").lower()
    if not expected:
        raise user_error(
            "ModelUnverified",
            f"{model_uri} has no recorded sha256, so caretflow will not load it.",
            "Use a model produced by a caretflow training run, or pass its sha256.",
        )
    dst = dst_dir or tempfile.mkdtemp(prefix="caretflow-model-")
    local = Path(client.download_artifacts(location.run_id, location.artifact_path, dst))
    pickle_path = local / PICKLE_NAME
    if not pickle_path.is_file():
        raise user_error(
            "ModelFormatUnsupported",
            f"{model_uri} has no {PICKLE_NAME}; it was not saved by caretflow.",
            "Use a model produced by a caretflow training run.",
        )
    actual = sha256_file(pickle_path)
    if actual != expected:
        raise user_error(
            "ModelHashMismatch",
            f"The model file of {model_uri} has sha256 {actual}, expected {expected}; refusing to load it.",
            "The model artifact changed after caretflow produced it. Register the model again from its training run.",
        )
    return local, actual, location


def load_sklearn(local_dir: Path) -> Any:
    """Load a model whose hash was checked by download_verified."""
    import mlflow.sklearn

    return mlflow.sklearn.load_model(str(local_dir))


def read_model_meta(local_dir: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """(metadata, input columns as (name, mlflow type)) from the MLmodel file."""
    from mlflow.models import Model

    mlmodel = Model.load(str(local_dir))
    columns: list[tuple[str, str]] = []
    if mlmodel.signature is not None and mlmodel.signature.inputs is not None:
        for spec in mlmodel.signature.inputs.inputs:
            columns.append((str(spec.name), str(getattr(spec.type, "name", spec.type))))
    return dict(mlmodel.metadata or {}), columns


def save_model(model: Any, model_dir: Path, sample_in: Any, sample_out: Any, metadata: dict[str, Any]) -> str:
    """Write a model in MLflow format (sklearn flavor, cloudpickle) and return its pickle's sha256.

    Every family saves this way (PyCaret pipelines, topic models, rules models): the pickle is
    loaded only after its hash checks out, the signature describes what callers send, and the
    metadata (caretflow_task, ...) tells the scorer which family answers.
    """
    import mlflow.sklearn
    from mlflow.models import infer_signature

    from .versions import library_versions

    signature = infer_signature(sample_in, sample_out) if sample_in is not None else None
    versions = library_versions()
    mlflow.sklearn.save_model(
        model,
        str(model_dir),
        # cloudpickle, not skops: PyCaret pipelines hold types skops does not trust. Loading is gated
        # by the sha256 check in download_verified instead.
        serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        signature=signature,
        input_example=sample_in,
        # Explicit requirements: inferring them re-imports the model in a subprocess (slow).
        pip_requirements=[
            f"pycaret=={versions['pycaret']}",
            f"scikit-learn=={versions['sklearn']}",
            f"lightgbm=={versions['lightgbm']}",
            f"pandas=={versions['pandas']}",
            f"numpy=={versions['numpy']}",
            f"mlflow=={versions['mlflow']}",
        ],
        metadata=metadata,
    )
    return sha256_file(model_dir / PICKLE_NAME)
