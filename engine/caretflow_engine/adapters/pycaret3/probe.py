"""What PyCaret 3 offers per task, read from PyCaret itself for the engine's catalog.

PyCaret lists models, metrics and plots only on an experiment that ``setup`` has run, so each
experiment type is set up once on a few synthetic rows (about a second in all on a warm worker).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

# Models PyCaret knows but lists only when their library is installed; the catalog still shows
# them (installed: false) so a request for one gets "not installed", not "unknown".
OPTIONAL_MODELS = {
    "classification": [("xgboost", "Extreme Gradient Boosting", "xgboost.XGBClassifier"), ("catboost", "CatBoost Classifier", "catboost.CatBoostClassifier")],
    "regression": [("xgboost", "Extreme Gradient Boosting", "xgboost.XGBRegressor"), ("catboost", "CatBoost Regressor", "catboost.CatBoostRegressor")],
    "clustering": [("kmodes", "K-Modes Clustering", "kmodes.kmodes.KModes")],
}
# Models PyCaret can train on a GPU (its use_gpu documentation): natively (lightgbm, xgboost,
# catboost) or through RAPIDS cuML.
GPU_MODELS = {
    "classification": {"lightgbm", "xgboost", "catboost", "lr", "ridge", "rf", "knn", "svm", "rbfsvm"},
    "regression": {"lightgbm", "xgboost", "catboost", "lr", "lasso", "ridge", "en", "rf", "knn", "svm"},
    "clustering": {"kmeans", "dbscan"},
}
# PyCaret marks Davies-Bouldin "greater is better"; lower is better (0 is perfect separation).
DIRECTION_FIXES = {"db": False}


@dataclass
class Probe:
    task: str
    setup: Any  # the experiment's bound setup method (its signature gives option defaults)
    models: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    plots: dict[str, str]


def _synthetic(task: str) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    if task == "classification":
        return {"data": x.assign(y=[0, 1] * 20), "target": "y", "fold": 2}
    if task == "regression":
        return {"data": x.assign(y=rng.normal(size=40)), "target": "y", "fold": 2}
    if task == "time_series":
        # Declared seasonal, so setup lists the seasonal models too (snaive, stlf); its test hides them on 40 points.
        season = 3 * np.sin(np.arange(40) * 2 * np.pi / 12)
        index = pd.period_range("2020-01", periods=40, freq="M")
        y = pd.Series(10 + season + rng.normal(scale=0.3, size=40), index=index)
        return {"data": y, "fh": 3, "fold": 2, "seasonal_period": 12, "ignore_seasonality_test": True}
    return {"data": x}


def _experiment(task: str) -> Any:
    if task == "classification":
        from pycaret.classification import ClassificationExperiment as Exp
    elif task == "regression":
        from pycaret.regression import RegressionExperiment as Exp
    elif task == "clustering":
        from pycaret.clustering import ClusteringExperiment as Exp
    elif task == "anomaly":
        from pycaret.anomaly import AnomalyExperiment as Exp
    elif task == "time_series":
        from pycaret.time_series import TSForecastingExperiment as Exp
    else:
        raise ValueError(f"PyCaret has no experiment for {task}")
    return Exp()


def setup_method(task: str) -> Any:
    """The task's experiment's setup method, not run: its signature is all that option validation
    needs (``probe`` runs a setup, about half a second, that a training job need not pay)."""
    return _experiment(task).setup


@cache
def probe(task: str) -> Probe:
    exp = _experiment(task)
    exp.setup(verbose=False, html=False, session_id=1, n_jobs=1, system_log=False, **_synthetic(task))
    table = exp.models(internal=True)
    gpu = GPU_MODELS.get(task, set())
    models = []
    for model_id, row in table.iterrows():
        if bool(row.get("Special", False)):
            continue  # Bagging, Stacking, Voting, CalibratedCV: reached through operations
        models.append(
            {
                "id": str(model_id),
                "name": str(row["Name"]),
                "reference": str(row["Reference"]),
                "installed": True,
                "gpu": str(model_id) in gpu,
                "turbo": bool(row.get("Turbo", True)),
            }
        )
    listed = {m["id"] for m in models}
    for model_id, name, reference in OPTIONAL_MODELS.get(task, []):
        if model_id not in listed:
            installed = importlib.util.find_spec(model_id) is not None
            models.append({"id": model_id, "name": name, "reference": reference, "installed": installed, "gpu": model_id in gpu, "turbo": False})
    metrics = []
    if hasattr(exp, "get_metrics"):
        for metric_id, row in exp.get_metrics().iterrows():
            if bool(row.get("Needs Ground Truth", False)):
                # Clustering's Homogeneity, Rand Index and Completeness compare with true labels,
                # which an unsupervised job does not have (PyCaret would report 0).
                continue
            greater = DIRECTION_FIXES.get(str(metric_id), bool(row["Greater is Better"]))
            multiclass = bool(row["Multiclass"]) if "Multiclass" in row else True
            metrics.append({"id": str(metric_id), "name": str(row["Display Name"]), "greaterIsBetter": greater, "multiclass": multiclass})
    return Probe(task, exp.setup, models, metrics, dict(exp._available_plots))


def metric_directions(task: str) -> dict[str, bool]:
    """Display name -> greater is better, for ranking rows outside PyCaret."""
    return {m["name"]: m["greaterIsBetter"] for m in probe(task).metrics}
