"""Shared fixtures: a real MLflow server on a free port, demo datasets as Parquet, job specs."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from caretflow_engine.datastore import DATA_ROOT_ENV

from .helpers import ENGINE_DIR, REPO_DIR, close_warm_worker

MLFLOW_BIN = Path(__file__).resolve().parents[1] / ".venv/bin/mlflow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real MLflow tracking server (SQLite store, local artifacts), stopped after the session."""
    home = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    mlflow_bin = str(MLFLOW_BIN) if MLFLOW_BIN.exists() else shutil.which("mlflow")
    assert mlflow_bin, "mlflow executable not found"
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen(
        [
            mlflow_bin, "server", "--host", "127.0.0.1", "--port", str(port),
            "--backend-store-uri", f"sqlite:///{home}/mlflow.db",
            "--artifacts-destination", str(home / "artifacts"),
            "--workers", "1",
        ],
        stdout=log, stderr=subprocess.STDOUT, cwd=home, start_new_session=True,
        # As caretflow runs it: no job runner (seven huey processes busy for 20 s after start).
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"MLflow server did not start:\n{(home / 'server.log').read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield uri
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="session", autouse=True)
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A dataset store laid out as caretflow's (<root>/<name>/v<version>.parquet); engine processes
    the tests start find it through CARETFLOW_DATA_ROOT, as caretflow's workers do."""
    root = tmp_path_factory.mktemp("datastore")
    os.environ[DATA_ROOT_ENV] = str(root)
    try:
        yield root
    finally:
        # The warm worker run_job shares (started on first use, with this root in its environment).
        close_warm_worker()


def store_dataset(df: pd.DataFrame, name: str, version: int = 1) -> dict[str, Any]:
    """Write df as a dataset version under the data root; returns the spec's dataset reference."""
    path = dataset_file({"name": name, "version": version})
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"name": name, "version": version, "content_hash": digest, "rows": int(len(df))}


def dataset_file(ref: dict[str, Any]) -> Path:
    return Path(os.environ[DATA_ROOT_ENV]) / ref["name"] / f"v{ref['version']}.parquet"


def outbox_file(job_id: str, output: dict[str, Any]) -> Path:
    return Path(os.environ[DATA_ROOT_ENV]) / ".outbox" / job_id / output["file"]


def demo_dataset(csv_name: str, **read_csv: Any) -> dict[str, Any]:
    return store_dataset(pd.read_csv(REPO_DIR / "demo-data" / csv_name, **read_csv), csv_name.removesuffix(".csv"))


@pytest.fixture(scope="session")
def juice(data_root: Path) -> dict[str, Any]:
    return demo_dataset("juice.csv")


@pytest.fixture(scope="session")
def insurance(data_root: Path) -> dict[str, Any]:
    return demo_dataset("insurance.csv")


def train_spec(job_id: str, tracking_uri: str, dataset: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    spec = {
        "v": 1,
        "job_id": job_id,
        "tracking_uri": tracking_uri,
        "kind": "train",
        "experiment_name": f"test-{dataset['name']}",
        "dataset": dataset,
        "task": "classification",
        "target": "Purchase",
    }
    spec.update(overrides)
    return spec


__all__ = ["ENGINE_DIR", "dataset_file", "outbox_file", "store_dataset", "train_spec"]
