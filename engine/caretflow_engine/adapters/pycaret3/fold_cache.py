"""PyCaret's preprocessing computed once per fold in a compare helper, not once per model and fold.

Why: in compare_models every model's cross-validation refits PyCaret's whole preprocessing
pipeline (imputers, encoders, ...) on each fold's training rows and re-transforms each fold's
validation rows for every prediction, although these are the same for every model. On bank (45k
rows) that is about 0.25 s of CPU per model and fold, a fifth of compare_models' CPU time
(bench/README.md). The transformers are deterministic given their training rows, so fitting them
once per fold and reusing the result changes no number (tests/test_fast_compare.py checks the
metrics against compare_models').

How, in a forked helper only (``install`` patches PyCaret's Pipeline class in that process):

- ``Pipeline._fit`` (fit every step but the model on the fold's training rows) is answered from a
  cache keyed by the steps' parameters and the identity of the rows: the input must be the
  experiment's own ``X_train``/``y_train`` restricted to some rows (same columns, unique row
  labels that all belong to the training split), which is what cross-validation passes; anything
  else is computed as usual. A hit installs deep copies of the fitted steps and returns copies of
  the transformed data, so no model can alter what the next one gets.
- the pipeline's transform before ``predict``/``predict_proba``/... of a pipeline fitted that way
  is cached the same way, keyed by the fit and the rows.
- PyCaret's own joblib cache (``memory``, on disk) is switched off in the helper: it would hash
  the data and the fitted pipeline on every call and is redundant with this one.

Memory: one fold's transformed training and validation data per fold and helper, up to
``max_bytes`` per helper; beyond that, further folds are computed as usual.
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_MAX_BYTES = 1 << 30


class FoldCache:
    def __init__(self, X_train: pd.DataFrame, y_train: pd.Series, max_bytes: int = DEFAULT_MAX_BYTES):  # noqa: N803
        self.columns = list(X_train.columns)
        self.train_index = X_train.index
        self.target = y_train.name
        self.fits: dict[Any, tuple[list[tuple[str, Any]], Any, Any]] = {}
        self.transforms: dict[Any, tuple[Any, Any]] = {}
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    # ------------------------------------------------------------------ keys
    def rows_key(self, X: Any, y: Any) -> tuple | None:  # noqa: N803
        """Identity of (X, y) if they are training-split rows as they are, else None."""
        if not isinstance(X, pd.DataFrame) or list(X.columns) != self.columns or not X.index.is_unique:
            return None
        if y is not None and not (isinstance(y, pd.Series) and y.name == self.target and y.index.equals(X.index)):
            return None
        if not X.index.isin(self.train_index).all():
            return None
        digest = hashlib.blake2b(np.ascontiguousarray(X.index.values).tobytes(), digest_size=16).hexdigest()
        return (len(X), digest, y is not None)

    @staticmethod
    def steps_key(steps: list[tuple[str, Any]]) -> tuple:
        return tuple((name, type(step).__name__, repr(step.get_params(deep=True)) if hasattr(step, "get_params") else repr(step)) for name, step in steps)

    # ----------------------------------------------------------------- store
    def _fits_budget(self, *frames: Any) -> bool:
        size = sum(int(f.memory_usage(index=True, deep=False).sum()) if isinstance(f, pd.DataFrame) else int(getattr(f, "nbytes", 0)) for f in frames if f is not None)
        if self.bytes + size > self.max_bytes:
            return False
        self.bytes += size
        return True


def _copy(data: Any) -> Any:
    return data.copy() if hasattr(data, "copy") else data


_ACTIVE: FoldCache | None = None
FIT_KEY = "_caretflow_fold_fit_key"


def install(exp: Any, max_bytes: int = DEFAULT_MAX_BYTES) -> FoldCache:
    """In a compare helper: cache the preprocessing of ``exp``'s folds (see the module docstring)."""
    import pycaret.internal.pipeline as pipeline_module

    global _ACTIVE
    cache = FoldCache(exp.X_train, exp.y_train, max_bytes)
    _ACTIVE = cache
    original_fit = pipeline_module.Pipeline._fit
    original_full_transform = pipeline_module._full_transform

    def cached_fit(self: Any, X: Any = None, y: Any = None, routed_params: Any = None) -> Any:  # noqa: N803
        steps = list(self.steps)
        transformers = steps[:-1]
        rows = cache.rows_key(X, y)
        plain = rows is None or any(routed_params.get(name, {}).get("fit") for name, _ in transformers)
        if plain:
            return original_fit(self, X, y, routed_params)
        key = (rows, cache.steps_key(transformers))
        if key not in cache.fits:
            cache.misses += 1
            Xt, yt, final_params = original_fit(self, X, y, routed_params)
            if cache._fits_budget(Xt, yt):
                cache.fits[key] = (copy.deepcopy(self.steps[:-1]), _copy(Xt), _copy(yt))
            setattr(self, FIT_KEY, key)
            return Xt, yt, final_params
        cache.hits += 1
        fitted, Xt, yt = cache.fits[key]
        # What original_fit does besides fitting, then the fitted steps themselves.
        self.steps = list(self.steps)
        self._validate_steps()
        self._feature_names_in = list(X.columns) + ([y.name] if hasattr(y, "name") else [])
        self.steps[: len(fitted)] = copy.deepcopy(fitted)
        setattr(self, FIT_KEY, key)
        if self._final_estimator == "passthrough":
            return _copy(Xt), _copy(yt), {}
        return _copy(Xt), _copy(yt), routed_params.get(self.steps[-1][0], {})

    def cached_full_transform(pipeline: Any, X: Any, y: Any, **kwargs: Any) -> Any:  # noqa: N803
        fit_key = getattr(pipeline, FIT_KEY, None)
        rows = cache.rows_key(X, y) if fit_key is not None else None
        if rows is None:
            return original_full_transform(pipeline, X, y, **kwargs)
        key = (fit_key, rows, tuple(sorted(kwargs.items())))
        if key not in cache.transforms:
            cache.misses += 1
            Xt, yt = original_full_transform(pipeline, X, y, **kwargs)
            if cache._fits_budget(Xt, yt):
                cache.transforms[key] = (_copy(Xt), _copy(yt))
            return Xt, yt
        cache.hits += 1
        Xt, yt = cache.transforms[key]
        return _copy(Xt), _copy(yt)

    pipeline_module.Pipeline._fit = cached_fit
    pipeline_module._full_transform = cached_full_transform
    exp.pipeline.memory = None  # pipelines built from it from now on: no joblib cache
    return cache
