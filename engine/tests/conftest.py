"""Shared fixtures: a real MLflow server on a free port, demo datasets as Parquet, job specs."""

from __future__ import annotations

import hashlib
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from .helpers import ENGINE_DIR, REPO_DIR

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
        import os

        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def _to_parquet(csv_name: str, out_dir: Path) -> dict[str, Any]:
    csv = REPO_DIR / "demo-data" / csv_name
    df = pd.read_csv(csv)
    path = out_dir / csv_name.replace(".csv", ".parquet")
    df.to_parquet(path, index=False)
    name = csv_name.removesuffix(".csv")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"name": name, "version": 1, "path": str(path), "content_hash": digest, "rows": int(len(df))}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def juice(data_dir: Path) -> dict[str, Any]:
    return _to_parquet("juice.csv", data_dir)


@pytest.fixture(scope="session")
def insurance(data_dir: Path) -> dict[str, Any]:
    return _to_parquet("insurance.csv", data_dir)


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


__all__ = ["ENGINE_DIR", "train_spec"]
