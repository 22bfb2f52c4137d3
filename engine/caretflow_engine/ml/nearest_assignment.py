"""Labels (and anomaly scores) for new rows from models that cannot give them themselves.

Agglomerative, spectral, DBSCAN and OPTICS clustering have no ``predict``: they label the rows
they were fitted on and nothing else. The subspace (SOD), connectivity (COF) and stochastic (SOS)
outlier detectors do have ``decision_function``, but it scores a batch *against itself*
(transductive), so one row sent online and the same row inside a batch file would get different
answers, and a single row cannot be scored at all. Refitting on the scored rows is not an option
either: it would silently give a different model than the one registered.

``NearestAssignment`` gives a new row what the training run gave its nearest training row
(Euclidean distance in the model's own feature space, after the preprocessing pipeline). It is
deterministic, batch and online agree row by row, and every training row gets back exactly the
assignment the training job wrote to the labels dataset version. The price: a row far from all
training rows still gets its nearest row's cluster (DBSCAN would call it noise), and memory holds
the training matrix (rows × features floats).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.neighbors import NearestNeighbors


class NearestAssignment(BaseEstimator):
    """Wraps a fitted model; ``predict`` and ``decision_function`` answer with the nearest training row's."""

    def __init__(self, estimator: Any = None) -> None:
        self.estimator = estimator

    def fit(self, X: Any, labels: Any, scores: Any | None = None) -> NearestAssignment:
        """Remember the training matrix and what the fitted model assigned to each of its rows."""
        matrix = _matrix(X)
        labels = np.asarray(labels)
        if len(labels) != len(matrix):
            raise ValueError(f"{len(labels)} labels for {len(matrix)} rows")
        if scores is not None and len(np.asarray(scores)) != len(matrix):
            raise ValueError(f"{len(np.asarray(scores))} scores for {len(matrix)} rows")
        self.labels_ = labels
        self.scores_ = None if scores is None else np.asarray(scores, dtype=float)
        self.n_features_in_ = matrix.shape[1]
        self.index_ = NearestNeighbors(n_neighbors=1).fit(matrix)
        return self

    def nearest(self, X: Any) -> np.ndarray:
        """Position of each row's nearest training row (the first one on ties)."""
        matrix = _matrix(X)
        if matrix.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} features, got {matrix.shape[1]}")
        if len(matrix) == 0:
            return np.zeros(0, dtype=int)
        return self.index_.kneighbors(matrix, return_distance=False)[:, 0]

    def predict(self, X: Any) -> np.ndarray:
        return self.labels_[self.nearest(X)]

    def decision_function(self, X: Any) -> np.ndarray:
        if self.scores_ is None:
            raise AttributeError("this assignment has no scores (a clustering model)")
        return self.scores_[self.nearest(X)]


def _matrix(X: Any) -> np.ndarray:
    matrix = np.asarray(X, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got shape {matrix.shape}")
    return matrix
