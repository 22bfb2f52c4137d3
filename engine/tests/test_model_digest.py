"""The model folder digest: what it covers, and that a model is loaded only from a folder that matches
the digest caretflow recorded (never unpickling anything before the check)."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from caretflow_engine.errors import EngineError
from caretflow_engine.model_store import folder_digest, folder_manifest, save_model
from caretflow_engine.scoring import load_model, score_frame


def _fitted(c: float = 1.0) -> tuple[Any, pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    y = [0, 0, 0, 1, 1, 1]
    return LogisticRegression(C=c).fit(X, y), X


def _save(folder: Path, c: float = 1.0) -> str:
    model, X = _fitted(c)
    return save_model(model, folder, X.head(2), pd.DataFrame({"prediction_label": model.predict(X.head(2))}),
                      {"caretflow_task": "classification", "caretflow_model_name": "Logistic Regression"})


@pytest.fixture
def saved(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "model"
    return folder, _save(folder)


class _Boom:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self) -> Any:
        return (open, (self.marker, "w"))


def test_digest_is_the_whole_folder_and_deterministic(saved, tmp_path):
    folder, digest = saved
    assert digest == folder_digest(folder) and len(digest) == 64
    manifest = folder_manifest(folder).splitlines()
    assert manifest[0] == "caretflow-model-manifest v1"
    paths = [line.split("  ", 1)[1] for line in manifest[1:]]
    assert paths == sorted(paths) and {"MLmodel", "model.pkl"} <= set(paths)
    # The same files elsewhere give the same digest.
    copy = tmp_path / "elsewhere" / "model"
    shutil.copytree(folder, copy)
    assert folder_digest(copy) == digest


@pytest.mark.parametrize(
    "change",
    [
        lambda f: (f / "MLmodel").write_text((f / "MLmodel").read_text() + "\n"),
        lambda f: (f / "model.pkl").write_bytes((f / "model.pkl").read_bytes() + b"\0"),
        lambda f: (f / "extra.pkl").write_bytes(b"x"),
        lambda f: (f / "model.pkl").rename(f / "model2.pkl"),
        lambda f: (f / "MLmodel").unlink(),
    ],
    ids=["MLmodel edited", "pickle changed", "file added", "file renamed", "file removed"],
)
def test_digest_changes_with_any_file(saved, change):
    folder, digest = saved
    change(folder)
    assert folder_digest(folder) != digest


def test_links_are_refused(saved, tmp_path):
    folder, _ = saved
    (tmp_path / "outside.pkl").write_bytes(b"x")
    (folder / "other.pkl").symlink_to(tmp_path / "outside.pkl")
    with pytest.raises(EngineError) as err:
        folder_digest(folder)
    assert err.value.name == "ModelFolderUnsupported"


def _logged_run(client: MlflowClient, folder: Path) -> str:
    experiment = client.get_experiment_by_name("digest-tests") or None
    exp_id = experiment.experiment_id if experiment else client.create_experiment("digest-tests")
    run_id = client.create_run(exp_id).info.run_id
    client.log_artifacts(run_id, str(folder), "model")
    client.set_terminated(run_id)
    return run_id


def _replace_artifact(client: MlflowClient, run_id: str, path: Path) -> None:
    """Overwrite (or add) a file of the run's model folder in MLflow's artifact store."""
    client.log_artifact(run_id, str(path), "model")


def test_untouched_model_loads_and_scores(saved, mlflow_server):
    client = MlflowClient(mlflow_server)
    folder, digest = saved
    run_id = _logged_run(client, folder)
    model = load_model(client, f"runs:/{run_id}/model", digest)
    assert model.sha256 == digest and model.run_id == run_id
    scored = score_frame(model, pd.DataFrame({"a": [0.0, 5.0], "b": [1.0, 0.0]}))
    assert list(scored["prediction_label"]) == [0, 1]


def test_missing_record_is_refused_naming_the_run(saved, mlflow_server):
    client = MlflowClient(mlflow_server)
    folder, _ = saved
    run_id = _logged_run(client, folder)
    with pytest.raises(EngineError) as err:
        load_model(client, f"runs:/{run_id}/model", None)
    assert err.value.name == "ModelUnverified" and run_id in err.value.message
    assert err.value.hint and "docs/operations.md" in err.value.hint


def test_mlmodel_pointing_at_another_pickle_is_refused_before_unpickling(saved, mlflow_server, tmp_path):
    client = MlflowClient(mlflow_server)
    folder, digest = saved
    run_id = _logged_run(client, folder)
    marker = tmp_path / "unpickled"
    evil = tmp_path / "upload"
    evil.mkdir()
    (evil / "evil.pkl").write_bytes(pickle.dumps(_Boom(marker)))
    _replace_artifact(client, run_id, evil / "evil.pkl")
    mlmodel = (folder / "MLmodel").read_text()
    assert "pickled_model: model.pkl" in mlmodel
    (evil / "MLmodel").write_text(mlmodel.replace("pickled_model: model.pkl", "pickled_model: evil.pkl"))
    _replace_artifact(client, run_id, evil / "MLmodel")
    with pytest.raises(EngineError) as err:
        load_model(client, f"runs:/{run_id}/model", digest)
    assert err.value.name == "ModelDigestMismatch"
    assert run_id in err.value.message and "changed after caretflow recorded them" in err.value.message
    assert err.value.hint and "train it again" in err.value.hint
    assert not marker.exists()  # nothing was unpickled


def test_changed_pickle_is_refused(saved, mlflow_server, tmp_path):
    client = MlflowClient(mlflow_server)
    folder, digest = saved
    run_id = _logged_run(client, folder)
    other = tmp_path / "other" / "model"
    _save(other, c=0.01)
    assert (other / "model.pkl").read_bytes() != (folder / "model.pkl").read_bytes()
    _replace_artifact(client, run_id, other / "model.pkl")
    with pytest.raises(EngineError) as err:
        load_model(client, f"runs:/{run_id}/model", digest)
    assert err.value.name == "ModelDigestMismatch"
    # A registered version names itself by name and version.
    client.create_registered_model("digest-model")
    version = client.create_model_version("digest-model", f"runs:/{run_id}/model", run_id)
    with pytest.raises(EngineError) as err:
        load_model(client, f"models:/digest-model/{version.version}", digest)
    assert err.value.name == "ModelDigestMismatch" and f"model digest-model version {version.version}" in err.value.message
