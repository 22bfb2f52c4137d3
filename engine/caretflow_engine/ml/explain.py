"""SHAP explanations for any supervised model, not only the tree models PyCaret's interpret_model takes.

The explainer follows the model: tree ensembles (scikit-learn, LightGBM, XGBoost, CatBoost) get
shap's TreeExplainer, linear regressors the exact LinearExplainer, and every other model a
model-agnostic permutation explainer over its prediction function, with a small background
sample so a row costs (2·features + 1) × background predictions. Classifiers are explained on
the probability of one class: the positive class of a binary target, each row's predicted class
otherwise (linear classifiers: exactly, on their decision function, i.e. the log-odds for two
classes). The values are in the model's output units: base + sum of contributions = output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .charts import fmt, series, xy_chart

TREE_MODULES = ("sklearn.ensemble", "sklearn.tree", "lightgbm", "xgboost", "catboost")
LINEAR_MODULES = ("sklearn.linear_model",)
BACKGROUND_ROWS = 100
PERMUTATION_BACKGROUND = 20


@dataclass
class Explained:
    values: np.ndarray  # (rows, features)
    base: np.ndarray  # (rows,)
    targets: list[str]  # per row: what is explained
    method: str


def explainer_kind(estimator: Any) -> str:
    module = type(estimator).__module__
    if module.startswith(TREE_MODULES) and not type(estimator).__name__.startswith(("Bagging", "Voting", "Stacking", "AdaBoost")):
        return "tree"
    if module.startswith(LINEAR_MODULES) and hasattr(estimator, "coef_"):
        return "linear"
    return "permutation"


def explain(
    estimator: Any, X: pd.DataFrame, background: pd.DataFrame, classes: list[str] | None, max_rows: int = 100
) -> Explained:
    """SHAP values for the first ``max_rows`` rows of X (features as the estimator sees them)."""
    import shap

    X = X.head(max_rows)
    bg = background.sample(n=min(BACKGROUND_ROWS, len(background)), random_state=0) if len(background) else X
    if classes:
        scores = _class_scores(estimator, X)
        picks = np.full(len(X), 1) if len(classes) == 2 else scores.argmax(axis=1)
    else:
        picks = np.zeros(len(X), dtype=int)
    kind = explainer_kind(estimator)
    values = np.zeros(X.shape, dtype=float)
    base = np.zeros(len(X), dtype=float)
    for k in np.unique(picks):
        rows = np.where(picks == k)[0]
        part = X.iloc[rows]
        v, b, used = _explain_output(shap, estimator, part, bg, int(k) if classes else None, kind)
        values[rows], base[rows] = v, b
        kind = used  # a tree explainer that fell back stays on the fallback
    # Linear classifiers are explained exactly on their decision function (log-odds for two classes);
    # classifiers without probabilities (ridge, SVM) on their decision score.
    if kind == "linear":
        unit = "log-odds of" if len(classes or []) == 2 and _has_proba(estimator) else "score of"
    else:
        unit = "probability of" if _has_proba(estimator) else "score of"
    targets = [f"{unit} {classes[k]}" for k in picks] if classes else ["predicted value"] * len(X)
    return Explained(values, base, targets, kind)


def _explain_output(shap: Any, estimator: Any, X: pd.DataFrame, bg: pd.DataFrame, k: int | None, kind: str) -> tuple[np.ndarray, np.ndarray, str]:
    output: Callable[[Any], np.ndarray]
    if k is None:
        output = lambda d: np.asarray(estimator.predict(_frame(d, X)), dtype=float)  # noqa: E731
    else:
        output = lambda d: _class_scores(estimator, _frame(d, X))[:, k]  # noqa: E731
    if kind == "tree":
        try:
            if k is None or not _has_proba(estimator):
                sv = shap.TreeExplainer(estimator)(X, check_additivity=False)
            else:
                sv = shap.TreeExplainer(estimator, data=bg, model_output="probability")(X, check_additivity=False)
            values, base = np.asarray(sv.values), np.asarray(sv.base_values)
            if values.ndim == 3:  # one slice per class
                values, base = values[:, :, k or 0], base[:, k or 0]
            return values, np.broadcast_to(base, (len(X),)).astype(float), "tree"
        except Exception:  # a tree model shap cannot read (e.g. a wrapped estimator): fall back, slower but exact
            kind = "permutation"
    if kind == "linear":
        sv = shap.LinearExplainer(estimator, bg)(X)
        values, base = np.asarray(sv.values), np.asarray(sv.base_values)
        if values.ndim == 3:  # multiclass: one slice per class
            values, base = values[:, :, k or 0], base[:, k or 0] if base.ndim == 2 else base[k or 0]
        return values, np.broadcast_to(base, (len(X),)).astype(float), "linear"
    masker = shap.maskers.Independent(bg, max_samples=PERMUTATION_BACKGROUND)
    sv = shap.explainers.Permutation(output, masker)(X, max_evals=2 * X.shape[1] + 1, silent=True)
    return np.asarray(sv.values), np.broadcast_to(np.asarray(sv.base_values), (len(X),)).astype(float), "permutation"


def _has_proba(estimator: Any) -> bool:
    try:
        return callable(getattr(estimator, "predict_proba", None))
    except AttributeError:  # some wrappers raise instead of lacking the attribute
        return False


def _class_scores(estimator: Any, X: pd.DataFrame) -> np.ndarray:
    """One column per class: probabilities, or the decision function for models without them."""
    if _has_proba(estimator):
        return np.asarray(estimator.predict_proba(X))
    scores = np.asarray(estimator.decision_function(X), dtype=float)
    return np.column_stack([-scores, scores]) if scores.ndim == 1 else scores


def _frame(data: Any, like: pd.DataFrame) -> pd.DataFrame:
    return data if isinstance(data, pd.DataFrame) else pd.DataFrame(data, columns=like.columns)


def explanations(result: Explained, X: pd.DataFrame, top: int | None = None) -> list[dict[str, Any]]:
    """One Explanation (packages/contracts) per row: contributions largest first."""
    from ..events import json_safe

    out = []
    for i in range(len(result.values)):
        order = np.argsort(-np.abs(result.values[i]))[: top or None]
        out.append(
            {
                "target": result.targets[i],
                "base": float(result.base[i]),
                "contributions": [
                    {"feature": str(X.columns[j]), "value": json_safe(X.iloc[i, j]), "shap": float(result.values[i, j])} for j in order
                ],
            }
        )
    return out


def shap_charts(result: Explained, X: pd.DataFrame, dependence: int = 3) -> list[dict[str, Any]]:
    """The SHAP summary (mean |contribution| per feature) and dependence charts of the top features."""
    mean_abs = np.abs(result.values).mean(axis=0)
    order = [int(j) for j in np.argsort(-mean_abs)]
    top = order[:20]
    summary = xy_chart(
        "shap_summary",
        "SHAP: mean contribution per feature",
        "Feature",
        f"mean |SHAP| ({result.targets[0] if len(set(result.targets)) == 1 else 'predicted class probability'})",
        [series("mean |SHAP|", "bar", [[str(X.columns[j]), float(mean_abs[j])] for j in top])],
        x_scale="category",
        note=f"{len(X)} hold-out rows, {result.method} explainer",
    )
    charts = [summary]
    for j in order[:dependence]:
        column = X.columns[j]
        feature = pd.to_numeric(X[column], errors="coerce")
        if feature.isna().all():
            continue
        points = [[float(x), float(v)] for x, v in zip(feature, result.values[:, j]) if np.isfinite(x)]
        charts.append(
            xy_chart(
                f"shap_dependence_{_slug(str(column))}",
                f"SHAP dependence: {column}",
                str(column),
                "SHAP value",
                [series(str(column), "point", points)],
                note=f"mean |SHAP| {fmt(float(mean_abs[j]))}",
            )
        )
    return charts


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)[:60]
