"""The run that holds an unsupervised model: the labels written back to the dataset, the model
saved for scoring, chart data and PNGs, and the job's ``details``.

Every PNG but PyCaret's yellowbrick plots (silhouette and intercluster distance, for models that
can draw them) is drawn with matplotlib from the chart data the UI shows, so the picture in MLflow,
the interactive chart and ``details`` tell the same numbers: PyCaret draws its cluster scatter,
distribution, t-SNE and UMAP plots with plotly, which cannot export PNG offline, and its elbow plot
would mark yellowbrick's own knee rather than the k this job used.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..datastore import write_output
from ..errors import EngineError
from ..experiment_log import MODEL_ARTIFACT_PATH, TrainingLog
from ..model_store import SHA_TAG, SOURCE_TAG, save_model

if TYPE_CHECKING:
    import pandas as pd

CLUSTER = "Cluster"
ANOMALY = "Anomaly"
ANOMALY_SCORE = "Anomaly_Score"


@dataclass
class ClusterChoice:
    """The cluster count models without their own use, where it came from, and the elbow curve."""

    k: int
    source: str  # request, elbow, default (no elbow found), none (anomaly)
    suggested: int | None
    ks: list[int] = field(default_factory=list)
    inertias: list[float] = field(default_factory=list)


def label_frame(task: str, pipeline: Any, features: pd.DataFrame) -> pd.DataFrame:
    """The prediction columns for ``features`` (PyCaret's predict_model columns), index aligned."""
    import numpy as np
    import pandas as pd

    from ..adapters.pycaret3.unsupervised import cluster_names

    out = pd.DataFrame(index=features.index)
    if task == "clustering":
        names = cluster_names(np.asarray(pipeline.predict(features))) if len(features) else []
        out[CLUSTER] = pd.Series(names, index=features.index, dtype=object)
    elif len(features):
        out[ANOMALY] = np.asarray(pipeline.predict(features)).astype("int64")
        out[ANOMALY_SCORE] = np.asarray(pipeline.decision_function(features), dtype="float64")
    else:
        out[ANOMALY] = pd.Series(dtype="int64")
        out[ANOMALY_SCORE] = pd.Series(dtype="float64")
    return out


def assigned_frame(df: pd.DataFrame, assigned: pd.DataFrame) -> pd.DataFrame:
    """The training rows, every column of the dataset, with what the model assigned to them
    (PyCaret's assign_model keeps only the features; labels of an earlier run are replaced)."""
    if len(assigned) != len(df):
        raise AssertionError(f"{len(assigned)} assignments for {len(df)} rows")
    out = df.drop(columns=[c for c in assigned.columns if c in df.columns]).reset_index(drop=True)
    for column in assigned.columns:
        out[column] = assigned[column].to_numpy()
    return out


def log_final_run(
    session: Any, log: TrainingLog, best: Any, top: dict[str, Any], *, df: pd.DataFrame, spec: dict[str, Any],
    choice: ClusterChoice, timings: dict[str, float],
) -> dict[str, Any]:
    """Labels output, model, charts and plots of the best model, in one run to register."""
    ev, task = log.ctx.events, session.task
    t = time.monotonic()
    ev.stage("assign", "Assigning labels to every row")
    assigned = session.assignments(best)
    output = write_output(spec["job_id"], "labels", assigned_frame(df, assigned), list(assigned.columns))
    timings["assign"] = time.monotonic() - t

    t = time.monotonic()
    ev.stage("logging", "Logging the model, charts and plots to MLflow")
    from ..adapters.pycaret3 import estimator_params

    child = {"caretflow.cv_run_id": top.get("mlflow_run_id", "")}
    run_id = log.model_run("final", top["model_id"], top["model_name"], child)
    pipeline, method = session.scoring_pipeline(best)
    details = _details(session, best, spec, choice, method)
    summary = {"anomalies": details["anomalies"], "threshold": details["threshold"]} if task == "anomaly" else {}
    log.log_metrics(run_id, {**top["metrics"], **summary}, params=estimator_params(best.model))
    charts, chart_warnings = _charts(session, best, choice, spec["seed"])
    for message in chart_warnings:
        ev.warning(message)
    log.log_charts(run_id, charts)

    with tempfile.TemporaryDirectory(prefix="caretflow-train-") as tmp:
        model_dir = Path(tmp) / MODEL_ARTIFACT_PATH
        sample = session.feature_sample(5)
        metadata = {
            "caretflow_task": task,
            "caretflow_model_id": top["model_id"],
            "caretflow_model_name": top["model_name"],
            "caretflow_scoring": method,
            **({"caretflow_num_clusters": details["num_clusters"]} if task == "clustering"
               else {"caretflow_fraction": spec["fraction"]}),
        }
        sha = save_model(pipeline, model_dir, sample, label_frame(task, pipeline, sample), metadata)
        log.log_model_dir(run_id, model_dir)
        for name, path in _pngs(session, best, charts, Path(tmp) / "plots", ev):
            log.log_file(run_id, path, "plots", name, "plot")

    log.log_metrics(run_id, {}, tags={SHA_TAG: sha, SOURCE_TAG: f"{log.artifact_uri(run_id)}/{MODEL_ARTIFACT_PATH}"})
    log.end(run_id)
    timings["logging"] = time.monotonic() - t
    return {"run_id": run_id, "sha": sha, "details": details, "output": output}


def _details(session: Any, best: Any, spec: dict[str, Any], choice: ClusterChoice, method: str) -> dict[str, Any]:
    import numpy as np

    from ..adapters.pycaret3.common import num
    from ..adapters.pycaret3.unsupervised import cluster_names, count_clusters
    from ..ml.cluster_charts import natural_key

    if session.task == "clustering":
        names, counts = np.unique(cluster_names(best.labels), return_counts=True)
        sizes = dict(sorted(((str(n), int(c)) for n, c in zip(names, counts)), key=lambda p: natural_key(p[0])))
        return {
            "task": "clustering",
            "num_clusters": count_clusters(best.labels),
            "suggested_clusters": choice.suggested,
            "clusters_from": "model" if session.own_cluster_count(best.model_id) else choice.source,
            "cluster_sizes": sizes,
            "scoring": method,
        }
    return {
        "task": "anomaly",
        "anomalies": int(np.sum(best.labels == 1)),
        "rows": int(len(best.labels)),
        "fraction": float(spec["fraction"]),
        "threshold": num(getattr(best.model, "threshold_", None)),
        "scoring": method,
    }


def _charts(session: Any, best: Any, choice: ClusterChoice, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Chart data for the best model; a chart that cannot be drawn becomes a warning."""
    from ..adapters.pycaret3.unsupervised import cluster_names
    from ..ml import cluster_charts as cc

    X = session.transformed()
    if session.task == "clustering":
        names = cluster_names(best.labels)
        builders = [
            ("elbow", lambda: cc.elbow_chart(choice.ks, choice.inertias) if choice.ks else None),
            ("silhouette", lambda: cc.silhouette_chart(X, names, seed=seed)),
            ("cluster", lambda: cc.cluster_scatter_chart(X, names)),
            ("distribution", lambda: cc.cluster_distribution_chart(names)),
        ]
    else:
        threshold = getattr(best.model, "threshold_", None)
        builders = [
            ("anomaly_scores", lambda: cc.anomaly_score_chart(best.scores, threshold, best.labels)),
            ("anomaly", lambda: cc.anomaly_scatter_chart(X, best.labels)),
        ]
    charts, warnings = [], []
    for plot, build in builders:
        try:
            chart = build()
        except EngineError as exc:
            warnings.append(f"chart '{plot}' not drawn: {exc.message}")
            continue
        if chart is not None:
            charts.append(chart)
    return charts, warnings


def _pngs(session: Any, best: Any, charts: list[dict[str, Any]], out_dir: Path, ev: Any) -> list[tuple[str, Path]]:
    """PyCaret's yellowbrick plots where the model can draw them, the rest from the chart data."""
    from ..ml.chart_png import render

    saved, unavailable = session.save_plots(best, out_dir)
    for message in unavailable:
        ev.log("info", message)
    drawn = {name for name, _ in saved}
    for chart in charts:
        if chart["id"] in drawn:
            continue
        try:
            saved.append((chart["id"], render(chart, out_dir / f"{chart['id']}.png")))
        except Exception as exc:  # a picture failing must not lose the model
            ev.warning(f"plot '{chart['id']}' could not be drawn: {exc}")
    return saved
