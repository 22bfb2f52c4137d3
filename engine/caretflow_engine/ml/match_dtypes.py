"""A pipeline step that hands a model its inputs in the dtypes it was trained on.

PyCaret stores its training copy of the data downcast (float64 to float32, int64 to int8...), so a
model fits on whatever dtypes the preprocessing makes of that copy, while callers send the original
dtypes. Most estimators do not mind; scikit-learn 1.4's KMeans.predict fails outright when trained
on float32 and given float64 ("Buffer dtype mismatch"), and float32 against float64 arithmetic can
move a row that sits on a boundary. Casting back to the training dtypes right before the model
makes a training row score exactly as it did in training.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


class MatchDtypes(TransformerMixin, BaseEstimator):
    """Casts the columns it knows to their training dtypes; a value that cannot be cast (a missing
    value for an integer column) leaves that column as it came."""

    def __init__(self, dtypes: dict[str, Any] | None = None) -> None:
        self.dtypes = dtypes

    def fit(self, X: pd.DataFrame, y: Any = None) -> MatchDtypes:
        self.dtypes = {str(c): t for c, t in X.dtypes.items()}
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame) or not self.dtypes:
            return X
        out = X.copy()
        for column, dtype in self.dtypes.items():
            if column in out.columns and out[column].dtype != dtype:
                try:
                    out[column] = out[column].astype(dtype)
                except (TypeError, ValueError):
                    continue
        return out
