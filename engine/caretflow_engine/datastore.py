"""Where dataset files are: specs name a dataset version, never a path.

The worker is started with the data root (``CARETFLOW_DATA_ROOT``, caretflow's dataset store
folder); a version's Parquet file is ``<root>/<name>/v<version>.parquet``, the layout of
packages/data's DatasetStore. Tables a job produces (labels, predictions, topic weights, rules)
go to the job's outbox, ``<root>/.outbox/<job_id>/``, and the result names them by file name, so
the server imports them as dataset versions. Dataset names never start with a dot, so the
outbox cannot clash with a dataset.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import user_error

if TYPE_CHECKING:
    import pandas as pd

DATA_ROOT_ENV = "CARETFLOW_DATA_ROOT"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FILE = re.compile(r"^[A-Za-z0-9_.-]+\.parquet$")


def data_root() -> Path:
    return env_root(DATA_ROOT_ENV, "DataRootMissing", "find datasets", "datasets folder")


def env_root(env: str, code: str, purpose: str, folder: str) -> Path:
    """The absolute folder an environment variable names; a user error when it is unset or relative."""
    root = os.environ.get(env, "")
    if not root or not os.path.isabs(root):
        raise user_error(
            code,
            f"This engine was started without an absolute {env} (got {root!r}), so it cannot {purpose}.",
            f"Start the engine with {env} set to caretflow's {folder} (caretflow does this itself).",
        )
    return Path(root)


def dataset_path(ref: dict[str, Any]) -> Path:
    """The Parquet file of a spec's dataset reference."""
    name, version = str(ref["name"]), int(ref["version"])
    if not _NAME.match(name) or version < 1:
        raise user_error("InvalidDatasetRef", f"Not a dataset reference: {name!r} v{version}.", "Name a caretflow dataset and version.")
    return data_root() / name / f"v{version}.parquet"


def outbox(job_id: str) -> Path:
    if not _JOB_ID.match(job_id):
        raise user_error("InvalidJobId", f"Job id {job_id!r} cannot name an outbox folder.", "Use letters, digits, '_' and '-'.")
    path = data_root() / ".outbox" / job_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_output(job_id: str, role: str, frame: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Write a table to the job's outbox; returns the protocol's JobOutput."""
    file = f"{role}.parquet"
    assert _FILE.match(file), file
    target = outbox(job_id) / file
    tmp = target.with_name(f".{file}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, engine="pyarrow", index=False)
    os.replace(tmp, target)  # the server never sees a half-written file
    return {"role": role, "file": file, "rows": int(len(frame)), "columns": [str(c) for c in columns]}
