"""The MLflow side of tasks that train one model of caretflow's own (topics, association rules):
no PyCaret, no comparison, but the same runs as the supervised family, so runs, registration and
scoring treat every task alike.

A job opens a parent run (the dataset input, the request's parameters), fits its model inside one
``final`` run (the run that is registered), and logs there the model (MLflow format, sha256 tag),
its metrics, chart data and PNGs drawn from the same chart data. The result carries a one-row
leaderboard, so clients that show a leaderboard need no special case.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import user_error
from ..experiment_log import MODEL_ARTIFACT_PATH, TrainingLog
from ..model_store import SHA_TAG, SOURCE_TAG, save_model
from ..tracking import dataset_label

if TYPE_CHECKING:
    import pandas as pd

    from ..context import JobContext


@dataclass
class OwnModel:
    """What a family hands over once its model is fitted.

    ``metrics`` are the catalog's metrics (leaderboard and MLflow); ``run_metrics`` only go to
    MLflow. ``plots`` maps a catalog plot id to its charts: every chart is logged as chart data,
    and each plot id becomes one PNG (its charts as panels). ``sample_in``/``sample_out`` give the
    MLflow signature and input example.
    """

    model: Any
    model_id: str
    model_name: str
    metrics: dict[str, float | None]
    sample_in: pd.DataFrame
    sample_out: pd.DataFrame
    metadata: dict[str, Any]
    details: dict[str, Any]
    run_metrics: dict[str, float | None] = field(default_factory=dict)
    plots: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outputs: list[dict[str, Any]] = field(default_factory=list)


class OwnModelRun:
    """The parent and final runs of one job; ``fit`` is opened before fitting, so the UI sees the
    run while the model trains and a cancel ends it KILLED."""

    def __init__(self, spec: dict[str, Any], ctx: JobContext, task: str, df: pd.DataFrame, tags: dict[str, str],
                 params: dict[str, Any]) -> None:
        self.spec, self.ctx, self.task = spec, ctx, task
        self.log = TrainingLog(spec, ctx, task)
        self.log.open_parent(f"{spec['experiment_name']} · {dataset_label(spec['dataset'])}", tags, df)
        self.params = {"task": task, "dataset": dataset_label(spec["dataset"]), **params}
        self.log.log_params(self.log.parent_id, self.params)
        self.run_id = ""
        self.t_fit = 0.0

    def fit(self, model_id: str, model_name: str) -> str:
        self.run_id = self.log.model_run("final", model_id, model_name)
        self.t_fit = time.monotonic()
        return self.run_id

    def finish(self, fitted: OwnModel, timings: dict[str, float], sort_metric: str | None) -> dict[str, Any]:
        """Log the model, metrics, charts and PNGs, end both runs; returns the TrainResult (without kind)."""
        ev, log, run_id = self.ctx.events, self.log, self.run_id
        fit_seconds = time.monotonic() - self.t_fit
        t = time.monotonic()
        ev.stage("logging", "Logging the model, charts and plots to MLflow")
        for name, value in fitted.metrics.items():
            if value is not None:
                ev.emit("metric", name=name, value=value, run_id=run_id)
        log.log_metrics(run_id, {**fitted.metrics, **fitted.run_metrics, "fit_seconds": fit_seconds},
                        params=self.params)
        charts = [chart for group in fitted.plots.values() for chart in group]
        log.log_charts(run_id, charts)
        log.log_json(run_id, "details", self.task, fitted.details)
        with tempfile.TemporaryDirectory(prefix="caretflow-train-") as tmp:
            model_dir = Path(tmp) / MODEL_ARTIFACT_PATH
            sha = save_model(fitted.model, model_dir, fitted.sample_in, fitted.sample_out, {
                "caretflow_task": self.task,
                "caretflow_model_id": fitted.model_id,
                "caretflow_model_name": fitted.model_name,
                **fitted.metadata,
            })
            log.log_model_dir(run_id, model_dir)
            for plot_id, group in fitted.plots.items():
                if group:
                    self._log_png(plot_id, group, Path(tmp) / "plots")
        source = f"{log.artifact_uri(run_id)}/{MODEL_ARTIFACT_PATH}"
        log.log_metrics(run_id, {}, tags={SHA_TAG: sha, SOURCE_TAG: source})
        log.end(run_id)
        log.log_metrics(log.parent_id, dict(fitted.metrics),
                        tags={"caretflow.best_run_id": run_id, "caretflow.best_model": fitted.model_id})
        log.end(log.parent_id)
        timings["logging"] = time.monotonic() - t
        row = {"rank": 1, "model_id": fitted.model_id, "model_name": fitted.model_name, "metrics": fitted.metrics,
               "fit_seconds": round(fit_seconds, 3), "mlflow_run_id": run_id}
        ev.emit("leaderboard_row", row=row)
        return {
            "task": self.task,
            "experiment_id": log.experiment_id,
            "parent_run_id": log.parent_id,
            "best_run_id": run_id,
            "best_model_id": fitted.model_id,
            "best_model_name": fitted.model_name,
            "model_uri": f"runs:/{run_id}/{MODEL_ARTIFACT_PATH}",
            "model_sha256": sha,
            "sort_metric": sort_metric,
            "leaderboard": [row],
            "details": fitted.details,
            "outputs": fitted.outputs,
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }

    def _log_png(self, plot_id: str, charts: list[dict[str, Any]], folder: Path) -> None:
        """A PNG that cannot be drawn is a warning, not a failed job: the chart data is logged already."""
        from ..ml.chart_png import render_panels

        try:
            path = render_panels(charts, folder / f"{plot_id}.png", columns=2 if len(charts) > 1 else 1)
        except Exception as exc:  # matplotlib raises many types; the job keeps its model
            why = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            self.ctx.events.warning(f"plot '{plot_id}' left out: {why}")
            return
        self.log.log_file(self.run_id, path, "plots", plot_id, "plot")


def refuse_gpu(spec: dict[str, Any], task: str) -> None:
    """use_gpu 'on' means "require a GPU"; these tasks have no GPU implementation, so 'on' cannot be honoured
    ('auto' runs on the CPU, as for PyCaret models without GPU support)."""
    if spec.get("use_gpu") == "on":
        raise user_error("GpuNotSupported", f"use_gpu is 'on', but the {task} task runs on the CPU only.",
                         "Set use_gpu to 'auto' or 'off'.")


def join_output(df: pd.DataFrame, added: pd.DataFrame, ctx: JobContext) -> pd.DataFrame:
    """The input rows with the model's columns added; an input column of the same name is replaced
    (with a warning), as batch scoring does."""
    clashes = [c for c in added.columns if c in df.columns]
    if clashes:
        ctx.events.warning(f"Input columns {', '.join(map(str, clashes))} are replaced by the model's columns.")
    return df.drop(columns=clashes).join(added)
