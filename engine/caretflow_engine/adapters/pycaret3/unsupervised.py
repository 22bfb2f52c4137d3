"""PyCaret 3's clustering and anomaly-detection experiments: setup, one model at a time (PyCaret
has no compare_models for them), metrics, assignments, a scoring pipeline, yellowbrick plots.

Unsupervised models train on every row (there is no hold-out), so the fitted model *is* the final
model and its ``labels_`` are the assignment written back to the dataset. The pipeline saved for
scoring is PyCaret's own ``save_model`` shape (the preprocessing pipeline with the model appended
as ``trained_model``), with one step before the model that restores the training dtypes
(``ml/match_dtypes.py``). Models that cannot label new rows consistently are saved wrapped in a
``NearestAssignment`` (see ``ml/nearest_assignment.py``).
"""

from __future__ import annotations

import time
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pycaret.anomaly import AnomalyExperiment
from pycaret.clustering import ClusteringExperiment

from ...errors import user_error
from ...ml.match_dtypes import MatchDtypes
from ...ml.nearest_assignment import NearestAssignment
from ...ml.unsupervised_rank import ANOMALY_SHARE
from .common import FIT_TIME, ModelResult, check_model_ids, estimator_params, num, save_plots
from .supervised import USE_GPU, summary_table

EXPERIMENTS = {"clustering": ClusteringExperiment, "anomaly": AnomalyExperiment}
# The default comparison: fast on tens of thousands of rows, each a different idea of a cluster
# (centroids, a merge tree, CF-trees, density modes) or of an outlier (isolation, distance,
# density, projection, covariance). Affinity propagation and spectral clustering need n² memory,
# DBSCAN's default radius fits only standardised data, and ABOD, CBLOF, HBOS, SOD and SOS are slow
# or JIT-compile on first use: they run when included.
DEFAULT_MODELS = {
    "clustering": ["kmeans", "hclust", "birch", "meanshift"],
    "anomaly": ["iforest", "knn", "lof", "pca", "mcd"],
}
# Default models whose time or memory grows with the square of the rows (a merge tree keeps every
# pairwise distance: 50,000 rows need 10 GB): left out of the default set on large data.
QUADRATIC = {"hclust", "meanshift"}
LARGE_ROWS = 10_000
# Clustering models that find their own number of clusters; num_clusters does not reach them.
OWN_CLUSTER_COUNT = {"ap", "meanshift", "dbscan", "optics"}
# Detectors whose decision_function scores a batch against itself (see NearestAssignment).
TRANSDUCTIVE = {"cof", "sod", "sos"}
# Clustering metrics PyCaret reports as 0 when the labelling has fewer than two clusters.
INTERNAL_METRICS = ("Silhouette", "Calinski-Harabasz", "Davies-Bouldin")
CLUSTERS = "Clusters"
NOISE = -1
# PyCaret's yellowbrick plots caretflow keeps as PNG, for models that can draw them. The elbow is
# drawn from caretflow's own curve so the picture and details.suggested_clusters agree; the
# distribution and cluster scatter are plotly in PyCaret (no PNG export offline).
YELLOWBRICK_PLOTS = [("silhouette", "silhouette"), ("distance", "distance")]
YELLOWBRICK_MAX_ROWS = 5000  # their silhouette is O(n²) on every row


@dataclass
class Fitted:
    """One trained unsupervised model and what it assigned to the training rows."""

    model_id: str
    model: Any
    result: ModelResult
    labels: np.ndarray  # clustering: PyCaret's cluster numbers (-1 = noise); anomaly: 0/1
    scores: np.ndarray | None  # anomaly scores (higher = more anomalous)


class UnsupervisedSession:
    """One PyCaret clustering or anomaly experiment over a whole dataset."""

    def __init__(self, task: str):
        if task not in EXPERIMENTS:
            raise ValueError(f"unknown unsupervised task {task}")
        self.exp: Any = EXPERIMENTS[task]()
        self.task = task
        self.seed = 0
        self.data: pd.DataFrame | None = None

    def setup(
        self, data: pd.DataFrame, *, ignore_features: list[str], seed: int, n_jobs: int, use_gpu: str = "off",
        options: dict[str, Any] | None = None,
    ) -> dict[str, str]:
        """Run PyCaret's setup; returns its summary table (Description -> Value) for logging."""
        self.data, self.seed = data, seed
        try:
            self.exp.setup(
                data=data,
                ignore_features=ignore_features or None,
                session_id=seed,
                n_jobs=n_jobs,
                use_gpu=USE_GPU[use_gpu],
                verbose=False,
                html=False,
                log_experiment=False,
                system_log=False,
                **dict(options or {}),
            )
        except ImportError as exc:
            if use_gpu != "on":
                raise
            # PyCaret's forced GPU mode for these tasks runs on RAPIDS cuML, which the engine lacks.
            raise user_error(
                "GpuLibraryMissing",
                f"use_gpu 'on' needs RAPIDS cuML for {self.task}: {str(exc).splitlines()[0]}",
                "Set use_gpu to 'auto' (a GPU where a model supports one, else the CPU) or 'off'.",
            ) from exc
        return summary_table(self.exp.pull())

    def models(self) -> dict[str, str]:
        return {k: v.name for k, v in self.exp._all_models.items()}

    def plan(self, include: list[str], exclude: list[str]) -> tuple[list[str], list[str]]:
        """The models a comparison trains (``include``, else the default set less ``exclude``), and
        the default models left out because the data is too large for them."""
        known = self.models()
        check_model_ids(self.task, known, [*include, *exclude])
        if include:
            return list(include), []
        planned = [m for m in DEFAULT_MODELS[self.task] if m in known and m not in exclude]
        rows = len(self.data) if self.data is not None else 0
        too_large = [m for m in planned if m in QUADRATIC and rows > LARGE_ROWS]
        planned = [m for m in planned if m not in too_large]
        if not planned:
            raise user_error(
                "NoModels", "Every model is excluded.", "Exclude fewer models, or list the ones to train in include."
            )
        return planned, too_large

    def feature_columns(self) -> list[str]:
        return [str(c) for c in self.exp.X.columns]

    def feature_sample(self, n: int = 5) -> pd.DataFrame:
        """Rows of the caller's data with their own dtypes (PyCaret downcasts its copy to 32 bits)."""
        assert self.data is not None, "setup() first"
        return self.data[self.feature_columns()].head(n).copy()

    def transformed(self) -> np.ndarray:
        """The rows as the models saw them (after PyCaret's preprocessing), as floats."""
        return np.asarray(self.exp.X_transformed, dtype=float)

    # ----------------------------------------------------------------- models
    def create(self, model_id: str, *, num_clusters: int, fraction: float) -> Fitted:
        """Train one model on every row; metrics as PyCaret computes them (clustering)."""
        check_model_ids(self.task, self.models(), [model_id])
        name = self.models()[model_id]
        started = time.time()
        # PyCaret checks both arguments whatever the task; each task gets only its own.
        own = {"num_clusters": num_clusters} if self.task == "clustering" else {"fraction": fraction}
        model = self.exp.create_model(model_id, verbose=False, **own)
        wall = time.time() - started
        labels = np.asarray(model.labels_)
        if self.task == "clustering":
            metrics = self._cluster_metrics(labels)
            scores = None
        else:
            scores = np.asarray(model.decision_scores_, dtype=float)
            metrics = {ANOMALY_SHARE: float(np.mean(labels == 1))}
        metrics[FIT_TIME] = round(wall, 2)
        result = ModelResult(model_id, name, metrics, {}, [], wall, wall, estimator_params(model))
        return Fitted(model_id, model, result, labels, scores)

    def _cluster_metrics(self, labels: np.ndarray) -> dict[str, float | None]:
        """PyCaret's score grid row, less the metrics that need ground truth (PyCaret writes 0
        for those when there is none) and with None where the labelling cannot be scored."""
        grid = self.exp.pull()
        row = grid.iloc[0].to_dict() if isinstance(grid, pd.DataFrame) and len(grid) else {}
        truth_only = {m.display_name for m in self.exp._all_metrics.values() if m.needs_ground_truth}
        metrics: dict[str, float | None] = {str(k): num(v) for k, v in row.items() if k not in truth_only}
        distinct = len(np.unique(labels))
        if not 2 <= distinct <= len(labels) - 1:
            metrics.update({m: None for m in INTERNAL_METRICS if m in metrics})
        metrics[CLUSTERS] = float(count_clusters(labels))
        return metrics

    def assignments(self, fitted: Fitted) -> pd.DataFrame:
        """PyCaret's assign_model columns for the training rows, in their order: Cluster
        ('Cluster 2'), or Anomaly (0/1) and Anomaly_Score."""
        assigned = self.exp.assign_model(fitted.model, verbose=False)
        columns = ["Cluster"] if self.task == "clustering" else ["Anomaly", "Anomaly_Score"]
        return assigned[columns].reset_index(drop=True)

    def own_cluster_count(self, model_id: str) -> bool:
        return self.task == "clustering" and model_id in OWN_CLUSTER_COUNT

    # ---------------------------------------------------------------- scoring
    def scoring_pipeline(self, fitted: Fitted) -> tuple[Any, str]:
        """The pipeline saved for scoring, and how it labels new rows: ``model`` (its own predict)
        or ``nearest_row`` (the nearest training row's assignment)."""
        model = fitted.model
        can_predict = callable(getattr(model, "predict", None)) and fitted.model_id not in TRANSDUCTIVE
        if not can_predict:
            step: Any = NearestAssignment(model).fit(self.transformed(), fitted.labels, fitted.scores)
            method = "nearest_row"
        else:
            step, method = model, "model"
        pipeline = deepcopy(self.exp.pipeline)
        pipeline.steps.append(("match_training_dtypes", MatchDtypes().fit(self.exp.X_transformed)))
        pipeline.steps.append(("trained_model", step))
        return pipeline, method

    def save_plots(self, fitted: Fitted, out_dir: Path) -> tuple[list[tuple[str, Path]], list[str]]:
        """PyCaret's yellowbrick plots the model can draw (clustering models with predict)."""
        if self.task != "clustering" or not callable(getattr(fitted.model, "predict", None)):
            return [], []
        if len(fitted.labels) > YELLOWBRICK_MAX_ROWS:
            return [], []

        def draw(plot: str, folder: str) -> Any:
            return self.exp.plot_model(fitted.model, plot=plot, save=folder, verbose=False)

        return save_plots(draw, YELLOWBRICK_PLOTS, out_dir)


def count_clusters(labels: np.ndarray) -> int:
    """Clusters in a labelling; DBSCAN's and OPTICS's noise label (-1) is not a cluster."""
    return int(len(set(np.unique(labels).tolist()) - {NOISE}))


def cluster_names(labels: np.ndarray) -> list[str]:
    """PyCaret's names for cluster numbers (assign_model and predict_model write 'Cluster 3')."""
    return [f"Cluster {int(v)}" for v in labels]
