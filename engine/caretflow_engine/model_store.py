"""Saving models in MLflow format with a digest of their folder, and loading them only after the
digest checks out.

A model is a pickle, and unpickling runs code. What gets unpickled is decided by the MLmodel file
(its ``pickled_model`` entry), so the digest covers the WHOLE model folder: a manifest of every file's
relative path and sha256, sorted by path, hashed once more (``folder_digest``). The engine reports
the digest when it logs a model; caretflow records it in its own database and hands it back with
every request that loads the model. Loading downloads the folder once into a private temporary
folder, recomputes the digest there and unpickles only those verified files. MLflow's tags are never
trusted for this (anyone who can write to MLflow can rewrite them): without an expected digest a
model is refused.
"""

from __future__ import annotations

import hashlib
import os
import re
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


MANIFEST_HEADER = "caretflow-model-manifest v1\n"
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def folder_manifest(folder: Path) -> str:
    """The canonical manifest of a model folder: a header line, then ``<sha256>  <relative path>``
    per file, sorted by path (POSIX separators). Links are refused: what they point at is not the folder's."""
    entries: list[tuple[str, str]] = []
    root = Path(folder)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath) / name
            if path.is_symlink():
                raise user_error(
                    "ModelFolderUnsupported",
                    f"The model folder holds a link ({path.relative_to(root).as_posix()}), which caretflow does not load.",
                    "Use a model folder written by a caretflow training run.",
                )
        for name in filenames:
            path = Path(dirpath) / name
            entries.append((path.relative_to(root).as_posix(), sha256_file(path)))
    entries.sort()
    return MANIFEST_HEADER + "".join(f"{digest}  {rel}\n" for rel, digest in entries)


def folder_digest(folder: Path) -> str:
    """sha256 (hex) of the folder's manifest: changes when any file, its name or the set of files changes."""
    return hashlib.sha256(folder_manifest(folder).encode("utf-8")).hexdigest()


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


def describe_model(model_uri: str, location: ModelLocation) -> str:
    """How errors name a model: ``model NAME version N (run R)`` (or NAME@ALIAS) for a registered
    version, else ``the model of run R (PATH)``."""
    by_version = _MODELS_VERSION_URI.match(model_uri)
    by_alias = _MODELS_ALIAS_URI.match(model_uri)
    if by_version:
        return f"model {by_version.group(1)} version {by_version.group(2)} (run {location.run_id})"
    if by_alias:
        return f"model {by_alias.group(1)}@{by_alias.group(2)} (run {location.run_id})"
    return f"the model of run {location.run_id} ({location.artifact_path})"


def download_verified(client: MlflowClient, model_uri: str, expected_digest: str | None, dst_dir: str) -> tuple[Path, str, ModelLocation]:
    """Download the model's folder into ``dst_dir`` (a private folder the caller owns and removes) and
    check its digest against the one caretflow recorded; returns (local folder, digest, location).

    Nothing is unpickled here; load from the returned folder only, which is the one verified.
    """
    location = resolve_model_uri(client, model_uri)
    label = describe_model(model_uri, location)
    expected = (expected_digest or "").strip().lower()
    if not expected:
        raise user_error(
            "ModelUnverified",
            f"caretflow has no recorded digest for {label}, so it will not load it: "
            "loading a model runs code, and only models whose files caretflow recorded when it made them are loaded.",
            "Use a model produced by a caretflow training or operation job on this installation, or train it again. "
            "Models made before the upgrade are recorded at first start (docs/operations.md).",
        )
    if not _DIGEST.match(expected):
        raise user_error("InvalidModelDigest", f"The expected digest for {label} is not a sha256 hex string.", "Pass the digest caretflow recorded.")
    os.chmod(dst_dir, 0o700)
    local = Path(client.download_artifacts(location.run_id, location.artifact_path, dst_dir))
    actual = folder_digest(local)
    if actual != expected:
        raise user_error(
            "ModelDigestMismatch",
            f"The files of {label} changed after caretflow recorded them: "
            f"their digest is {actual}, caretflow recorded {expected}. Refusing to load it.",
            "Someone or something changed the model's files in MLflow's artifact store. Do not use this model: "
            "train it again (or register an untouched version), and check who can write to MLflow's artifacts.",
        )
    if not (local / "MLmodel").is_file():
        raise user_error(
            "ModelFormatUnsupported",
            f"{label} has no MLmodel file; it was not saved by caretflow.",
            "Use a model produced by a caretflow training run.",
        )
    return local, actual, location


def load_sklearn(local_dir: Path) -> Any:
    """Load a model from the folder download_verified checked (and nothing else)."""
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
    """Write a model in MLflow format (sklearn flavor, cloudpickle) and return the folder's digest.

    Every family saves this way (PyCaret pipelines, topic models, rules models): the model is
    loaded only after its folder's digest checks out, the signature describes what callers send, and the
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
        # by the folder digest check in download_verified instead.
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
    return folder_digest(model_dir)
