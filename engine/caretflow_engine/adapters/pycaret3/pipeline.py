"""A fitted PyCaret pipeline at prediction time: its preprocessing, its model, and both predictions
from one pass through the preprocessing. Imports only PyCaret's pipeline class, so a scoring
process does not pay for the experiment modules."""

from __future__ import annotations

from typing import Any

import pandas as pd
from pycaret.internal.pipeline import Pipeline


def transform_features(pipeline: Any, X: pd.DataFrame) -> pd.DataFrame:
    """Raw rows through a fitted PyCaret pipeline's preprocessing, up to (not through) the model."""
    transformed, _ = pipeline._memory_full_transform(pipeline, X, None, with_final=False, filter_train_only=True)
    return transformed


def final_estimator(pipeline: Any) -> Any:
    return pipeline.steps[-1][1]


def predict_with_proba(pipeline: Any, X: pd.DataFrame, proba: bool) -> tuple[Any, Any]:
    """(labels, class probabilities or None) as ``pipeline.predict`` and ``pipeline.predict_proba``
    give them, with the preprocessing run once instead of once per call. PyCaret's ``predict`` is
    preprocessing, the model's ``predict``, then the inverse of the target's encoding; its
    ``predict_proba`` the same preprocessing and the model's ``predict_proba``. Another pipeline
    (not PyCaret's) is asked twice."""
    if not isinstance(pipeline, Pipeline):
        return pipeline.predict(X), pipeline.predict_proba(X) if proba else None
    features = transform_features(pipeline, X)
    model = final_estimator(pipeline)
    labels = pipeline.inverse_transform(model.predict(features))
    return labels, model.predict_proba(features) if proba else None
