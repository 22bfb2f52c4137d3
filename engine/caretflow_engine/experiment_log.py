"""MLflow bookkeeping every training family shares: the parent run with its lineage, child runs
per compared model, the final (or operation) run holding the model, plots, chart data and tables.

Calls whose answer the job does not wait for (a compared model's child run, its metrics, artifact
uploads) go to one background thread, in order, so logging overlaps training; ``drain`` waits for
them and re-raises the first failure. Every run is registered as open the moment MLflow creates it,
on whichever thread, so a failure or cancel can always end every run the job opened (the runner
settles the background thread first, then ends what is still open).
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .tracking import dataset_label, experiment_id_for, log_batch, log_dataset_input, make_client, metric_key, preflight
from .versions import library_versions

if TYPE_CHECKING:
    import pandas as pd

    from .adapters.pycaret3.common import ModelResult
    from .context import JobContext

MODEL_ARTIFACT_PATH = "model"


class BackgroundCalls:
    """One worker thread running MLflow calls in submission order."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[Any]] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="caretflow-log")
            future = self._pool.submit(fn, *args, **kwargs)
            self._futures.append(future)
            return future

    def drain(self) -> None:
        """Wait for every submitted call; raise the first failure."""
        with self._lock:
            futures, self._futures = self._futures, []
        first: BaseException | None = None
        for f in futures:
            exc = f.exception()
            if exc is not None and first is None:
                first = exc
        if first is not None:
            raise first

    def settle(self) -> list[str]:
        """Cleanup after a failure or cancel: let queued calls finish (a model that finished before
        the cancel keeps its results), and return their failures as messages instead of raising."""
        with self._lock:
            pool, futures, self._pool, self._futures = self._pool, self._futures, None, []
        if pool is not None:
            pool.shutdown(wait=True)
        return [f"background MLflow call failed: {f.exception()}" for f in futures if f.exception() is not None]


class PendingRun:
    """A run being created in the background; ``id`` waits for MLflow's answer (or raises its error)."""

    def __init__(self, future: Future[str]):
        self._future = future

    @property
    def id(self) -> str:
        return self._future.result()


class TrainingLog:
    """The MLflow runs of one training (or operation) job."""

    def __init__(self, spec: dict[str, Any], ctx: JobContext, task: str):
        self.spec = spec
        self.ctx = ctx
        self.task = task
        self.ref = spec["dataset"]
        preflight(spec["tracking_uri"])
        self.client = make_client(spec["tracking_uri"])
        ctx.runs.client = self.client
        self.experiment_id = experiment_id_for(self.client, spec["experiment_name"])
        self.base_tags = {
            "caretflow.job_id": spec["job_id"],
            "caretflow.task": task,
            "caretflow.dataset": dataset_label(self.ref),
            "caretflow.dataset_hash": self.ref["content_hash"],
            **{f"caretflow.version.{k}": v for k, v in library_versions().items()},
            **spec["tags"],
        }
        self.parent_id = ""

    @property
    def bg(self) -> BackgroundCalls:
        return self.ctx.background

    # ------------------------------------------------------------------ runs
    def open_parent(self, name: str, tags: dict[str, str], df: pd.DataFrame | None) -> str:
        self.base_tags.update(tags)
        self.parent_id = self.ctx.runs.create(self.experiment_id, name, {**self.base_tags, "caretflow.role": "parent"})
        self.ctx.events.emit("run", role="parent", run_id=self.parent_id, name="parent")
        if df is not None:
            self.bg.submit(log_dataset_input, self.client, self.parent_id, self.ref, df)
        return self.parent_id

    def adopt_parent(self, parent_id: str) -> None:
        """Operations log under the run whose model they start from (no new parent run)."""
        self.parent_id = parent_id

    def log_params(self, run_id: str, params: dict[str, Any]) -> None:
        self.bg.submit(log_batch, self.client, run_id, params=params)

    def child(self, model_id: str, name: str) -> str:
        return self.ctx.runs.create(
            self.experiment_id,
            name,
            {**self.base_tags, "mlflow.parentRunId": self.parent_id, "caretflow.role": "child", "caretflow.model_id": model_id, "caretflow.model_name": name},
        )

    def child_later(self, model_id: str, name: str) -> PendingRun:
        """``child``, created in the background: a model's run costs the training thread no round trip
        to MLflow (about 30-70 ms each on two cores, a second over a comparison of 14 models)."""
        return PendingRun(self.bg.submit(self.child, model_id, name))

    def child_done(self, run_id: str, result: ModelResult) -> None:
        """Log a compared model's CV results and end its run, in the background."""
        metrics = {**result.metrics, **{f"{k}_std": v for k, v in result.std.items()}, "fit_seconds": result.fit_seconds, "wall_seconds": result.wall_seconds}
        stepped = [(f"cv_fold_{k}", v, i) for i, fold in enumerate(result.folds) for k, v in fold.items()]

        def log() -> None:
            log_batch(self.client, run_id, params=result.params, metrics=metrics, stepped=stepped)
            self.ctx.runs.end(run_id, "FINISHED")

        self.bg.submit(log)

    def model_run(self, role: str, model_id: str, model_name: str, tags: dict[str, str] | None = None) -> str:
        """The run that will hold a model: role final (a training job's) or operation."""
        suffix = "final" if role == "final" else (tags or {}).get("caretflow.operation", role)
        name = f"{model_name} ({suffix})"
        run_id = self.ctx.runs.create(
            self.experiment_id,
            name,
            {
                **self.base_tags,
                "mlflow.parentRunId": self.parent_id,
                "caretflow.role": role,
                "caretflow.model_id": model_id,
                "caretflow.model_name": model_name,
                **(tags or {}),
            },
        )
        self.ctx.events.emit("run", role=role, run_id=run_id, name=name)
        return run_id

    def end(self, run_id: str) -> None:
        self.drain()
        self.ctx.runs.end(run_id, "FINISHED")

    def drain(self) -> None:
        self.bg.drain()

    # ------------------------------------------------------------- artifacts
    def log_model_dir(self, run_id: str, model_dir: Path) -> None:
        """Upload a saved model folder (synchronously: the folder is temporary)."""
        self.client.log_artifacts(run_id, str(model_dir), MODEL_ARTIFACT_PATH)
        self.ctx.events.emit("artifact", name="model", path=MODEL_ARTIFACT_PATH, run_id=run_id, artifact_kind="model")

    def log_file(self, run_id: str, path: Path, folder: str, name: str, kind: str) -> None:
        self.client.log_artifact(run_id, str(path), folder)
        self.ctx.events.emit("artifact", name=name, path=f"{folder}/{path.name}", run_id=run_id, artifact_kind=kind)

    def log_json(self, run_id: str, folder: str, name: str, value: Any, kind: str = "data") -> None:
        """A JSON document as an artifact (chart data, tables), uploaded in the background."""
        from .events import json_safe

        text = json.dumps(json_safe(value), allow_nan=False)
        artifact = f"{folder}/{name}.json"

        def upload() -> None:
            with tempfile.TemporaryDirectory(prefix="caretflow-json-") as tmp:
                path = Path(tmp) / f"{name}.json"
                path.write_text(text)
                self.client.log_artifact(run_id, str(path), folder)

        self.bg.submit(upload)
        self.ctx.events.emit("artifact", name=name, path=artifact, run_id=run_id, artifact_kind=kind)

    def log_charts(self, run_id: str, charts: list[dict[str, Any]]) -> None:
        for chart in charts:
            self.log_json(run_id, "charts", str(chart["id"]), chart, kind="chart")

    def log_metrics(self, run_id: str, metrics: dict[str, float | None], params: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> None:
        self.bg.submit(log_batch, self.client, run_id, params=params, metrics=metrics, tags=tags)

    def close_training(
        self,
        *,
        task: str,
        leaderboard: list[dict[str, Any]],
        final: dict[str, Any],
        sort: str | None,
        outputs: list[dict[str, Any]],
        timings: dict[str, float],
        started: float,
    ) -> dict[str, Any]:
        """End a training job's parent run (best model's metrics and tags) and return its TrainResult.

        ``final`` is what the family logged for its model run: ``run_id``, ``sha`` and ``details``.
        """
        import time

        top = leaderboard[0]
        self.log_metrics(
            self.parent_id,
            dict(top["metrics"]),
            tags={"caretflow.best_run_id": final["run_id"], "caretflow.best_model": top["model_id"]},
        )
        self.end(self.parent_id)
        timings["total"] = time.monotonic() - started
        return {
            "task": task,
            "experiment_id": self.experiment_id,
            "parent_run_id": self.parent_id,
            "best_run_id": final["run_id"],
            "best_model_id": top["model_id"],
            "best_model_name": top["model_name"],
            "model_uri": f"runs:/{final['run_id']}/{MODEL_ARTIFACT_PATH}",
            "model_sha256": final["sha"],
            "sort_metric": sort,
            "leaderboard": leaderboard,
            "details": final["details"],
            "outputs": outputs,
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }

    def artifact_uri(self, run_id: str) -> str:
        return self.client.get_run(run_id).info.artifact_uri.rstrip("/")


def metric_params(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}.{metric_key(k)}": v for k, v in values.items()}
