"""MLflow logging with an explicit client and run ids (never PyCaret's log_experiment, never the
fluent API's global active run)."""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import transient_error, user_error

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient


MAX_PARAM_VALUE = 6000
_METRIC_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-./ ]")


def configure_mlflow_env() -> None:
    """Client retry policy, set before the first MLflow call.

    A mid-job MLflow restart (the supervisor brings it back in seconds) is ridden out by the
    client's retries; a server that stays down fails the job in well under a minute instead of
    the client's default of several minutes.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "4")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")


def metric_key(name: str) -> str:
    """MLflow keys allow letters, digits, _ - . / and space; PyCaret's "TT (Sec)" becomes "TT_Sec"."""
    cleaned = _METRIC_KEY_BAD.sub("", name).strip()
    return re.sub(r"\s+", "_", cleaned) or "metric"


def preflight(tracking_uri: str, timeout: float = 5.0, attempts: int = 3) -> None:
    """Fail fast, and as a transient error, when the tracking server does not answer."""
    if not tracking_uri.startswith(("http://", "https://")):
        raise user_error(
            "InvalidTrackingUri",
            f"The tracking URI must be an http(s) URL, got {tracking_uri!r}.",
            "Point tracking_uri at caretflow's MLflow server.",
        )
    # http(s) checked above; the credential lets it through servers that guard /health too.
    request = urllib.request.Request(tracking_uri.rstrip("/") + "/health", headers=_auth_headers())  # noqa: S310
    # A private CA for an https server, as MLflow's own client reads it.
    cafile = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.5 * (attempt + 1))
    raise transient_error(
        "MlflowUnreachable",
        f"The MLflow tracking server at {tracking_uri} did not answer ({last}).",
        "Check that MLflow is running (caretflow restarts its own MLflow automatically) and run the job again.",
    )


def _auth_headers() -> dict[str, str]:
    """The credentials MLflow's client sends (from the same variables), for servers that guard /health too."""
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if user and password:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    return {}


def make_client(tracking_uri: str) -> MlflowClient:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def experiment_id_for(client: MlflowClient, name: str) -> str:
    """The experiment's id, creating it if missing (tolerating a concurrent creation)."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise user_error(
                "ExperimentDeleted",
                f"The MLflow experiment '{name}' was deleted.",
                "Restore it in MLflow or use another experiment name.",
            )
        return found.experiment_id
    try:
        return client.create_experiment(name)
    except MlflowException:
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str) if isinstance(value, (list, dict)) else str(value)
    return text[:MAX_PARAM_VALUE]


def log_batch(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float | None] | None = None,
    tags: Mapping[str, str] | None = None,
    step: int = 0,
    stepped: Iterable[tuple[str, float, int]] = (),
) -> None:
    """Log params, metrics (NaN/None skipped) and tags in batches within MLflow's per-call limits."""
    import math

    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    param_list = [Param(str(k), _param_value(v)) for k, v in (params or {}).items()]
    metric_list = [
        Metric(metric_key(k), float(v), now, step)
        for k, v in (metrics or {}).items()
        if v is not None and math.isfinite(float(v))
    ]
    metric_list += [Metric(metric_key(k), float(v), now, s) for k, v, s in stepped if v is not None and math.isfinite(float(v))]
    tag_list = [RunTag(str(k), str(v)[:8000]) for k, v in (tags or {}).items()]
    while param_list or metric_list or tag_list:
        client.log_batch(run_id, metrics=metric_list[:900], params=param_list[:100], tags=tag_list[:100])
        param_list, metric_list, tag_list = param_list[100:], metric_list[900:], tag_list[100:]


class RunRegistry:
    """Runs this job opened and has not ended, so a failure or cancel can end them all."""

    def __init__(self, client: MlflowClient | None = None):
        import threading

        self.client = client
        self.open: list[str] = []
        self._lock = threading.Lock()  # runs end on the background logging thread too

    def create(self, experiment_id: str, name: str, tags: Mapping[str, str]) -> str:
        assert self.client is not None
        run = self.client.create_run(experiment_id, run_name=name, tags=dict(tags))
        with self._lock:
            self.open.append(run.info.run_id)
        return run.info.run_id

    def end(self, run_id: str, status: str = "FINISHED") -> None:
        assert self.client is not None
        self.client.set_terminated(run_id, status=status)
        with self._lock:
            if run_id in self.open:
                self.open.remove(run_id)

    def end_all(self, status: str) -> list[str]:
        """End every open run (children first) with status; returns problems instead of raising."""
        problems = []
        for run_id in reversed(list(self.open)):
            try:
                self.end(run_id, status)
            except Exception as exc:  # cleanup must go on for the other runs
                problems.append(f"could not mark run {run_id} {status}: {exc}")
        return problems


def log_dataset_input(client: MlflowClient, run_id: str, ref: Mapping[str, Any], df: pd.DataFrame) -> None:
    """Record the dataset version as the run's MLflow dataset input (digest = content hash)."""
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.types.utils import _infer_schema

    try:
        schema = json.dumps({"mlflow_colspec": _infer_schema(df).to_dict()})
    except Exception:  # schema is informative only; an exotic dtype must not fail the job
        schema = None
    source = json.dumps({"name": ref["name"], "version": ref["version"], "content_hash": ref["content_hash"]})
    dataset = Dataset(
        name=f"{ref['name']}@v{ref['version']}",
        # MLflow caps digests at 36 characters; the full hash is in the caretflow.dataset_hash tag.
        digest=str(ref["content_hash"])[:36],
        source_type="caretflow",
        source=source,
        schema=schema,
        profile=json.dumps({"num_rows": int(len(df)), "num_elements": int(df.size)}),
    )
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])])


def dataset_label(ref: Mapping[str, Any]) -> str:
    return f"{ref['name']}@v{ref['version']}"
