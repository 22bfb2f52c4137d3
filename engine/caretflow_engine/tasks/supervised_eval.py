"""Evaluation and interpretation of a supervised model as chart data: ROC, precision-recall,
confusion matrix, calibration, threshold, class report, residuals, prediction error, feature and
permutation importance, partial dependence, learning curve, SHAP. Computed on PyCaret's hold-out
split with the train-split model, as PyCaret's own plots are. A chart that cannot be drawn for
this model or data becomes a warning, never a failed job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..ml import eval_charts as ec
from ..ml.charts import fmt, series, xy_chart
from ..ml.explain import explain, shap_charts

MAX_ROWS = 2000  # hold-out rows used for the charts (permutation importance, PDP)


def evaluation_charts(session: Any, best: Any) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """(charts, warnings, top features) for the train-split model ``best``."""
    X_test, y_test = session.test_data()
    X_train, y_train = session.train_data()
    X_test, y_test = X_test.head(MAX_ROWS), y_test.head(MAX_ROWS)
    charts: list[dict[str, Any]] = []
    warnings: list[str] = []

    def add(name: str, build: Callable[[], Any]) -> None:
        try:
            made = build()
        except Exception as exc:  # e.g. a model without probabilities, a single-class hold-out
            warnings.append(f"chart '{name}' is not available for this model: {_first_line(exc)}")
            return
        charts.extend(made if isinstance(made, list) else [made])

    classes = session.classes()
    if session.task == "classification":
        # PyCaret encodes the target as 0..k-1 in the order of `classes`; the charts show the labels.
        truth = np.asarray([classes[int(v)] for v in y_test], dtype=object)
        predicted = np.asarray([classes[int(v)] for v in best.predict(X_test)], dtype=object)
        proba = _proba(best, X_test)
        if proba is not None:
            score = proba[:, 1] if len(classes) == 2 else proba
            # PyCaret calls the ROC plot "auc": the chart takes the plot's id, so the catalog names both.
            add("auc", lambda: _with_id(ec.roc_chart(truth, score, classes), "auc"))
            add("pr", lambda: ec.pr_chart(truth, score, classes))
            if len(classes) == 2:
                add("calibration", lambda: ec.calibration_chart(truth, score, classes))
                add("threshold", lambda: ec.threshold_chart(truth, score, classes))
        add("confusion_matrix", lambda: ec.confusion_matrix_chart(truth, predicted, classes))
        add("class_report", lambda: ec.class_report_chart(truth, predicted, classes))
        scoring = "accuracy"
    else:
        y_pred = np.asarray(best.predict(X_test), dtype=float)
        train_pred = np.asarray(best.predict(X_train.head(MAX_ROWS)), dtype=float)
        add("residuals", lambda: ec.residuals_chart(y_test, y_pred, y_train.head(MAX_ROWS), train_pred))
        add("error", lambda: ec.prediction_error_chart(y_test, y_pred))
        scoring = "r2"

    importances = _model_importances(best, list(X_test.columns))
    if importances:
        add("feature", lambda: _with_id(ec.feature_importance_chart(importances), "feature"))
    permutation: dict[str, float] = {}

    def permutation_chart() -> dict[str, Any]:
        from sklearn.inspection import permutation_importance

        result = permutation_importance(best, X_test, y_test, scoring=scoring, n_repeats=3, random_state=0, n_jobs=1)
        permutation.update({str(c): float(v) for c, v in zip(X_test.columns, result.importances_mean)})
        chart = ec.feature_importance_chart(permutation, value_label=f"Drop in {scoring} when shuffled")
        return _with_id(chart, "permutation_importance", "Permutation importance")

    add("permutation_importance", permutation_chart)
    ranked = sorted(permutation or importances or {}, key=lambda c: -(permutation or importances)[c])
    add("partial_dependence", lambda: _partial_dependence(best, X_test, ranked[:3], classes))
    add("learning", lambda: _learning_curve(best, X_train, y_train, scoring))
    add("shap", lambda: shap_charts(explain(best, X_test, X_train, classes or None), X_test.head(100)))
    return charts, warnings, ranked[:3]


def _proba(best: Any, X: pd.DataFrame) -> np.ndarray | None:
    try:
        method = getattr(best, "predict_proba", None)
    except AttributeError:
        return None
    return np.asarray(method(X)) if callable(method) else None


def _with_id(chart: dict[str, Any], chart_id: str, title: str | None = None) -> dict[str, Any]:
    chart["id"] = chart_id
    if title:
        chart["title"] = title
    return chart


def _model_importances(estimator: Any, columns: list[str]) -> dict[str, float]:
    """Built-in importances: feature_importances_ (trees), |coef_| (linear; mean over classes)."""
    values = getattr(estimator, "feature_importances_", None)
    if values is None:
        coef = getattr(estimator, "coef_", None)
        if coef is None:
            return {}
        values = np.abs(np.atleast_2d(np.asarray(coef, dtype=float))).mean(axis=0)
    values = np.asarray(values, dtype=float)
    if values.shape != (len(columns),):
        return {}
    return {c: float(v) for c, v in zip(columns, values)}


def _partial_dependence(best: Any, X: pd.DataFrame, features: list[str], classes: list[str]) -> list[dict[str, Any]]:
    from sklearn.inspection import partial_dependence

    charts = []
    for feature in features:
        if not pd.api.types.is_numeric_dtype(X[feature]) or X[feature].nunique() < 2:
            continue
        result = partial_dependence(best, X, [feature], grid_resolution=20, kind="average")
        grid = np.asarray(result["grid_values"][0], dtype=float)
        avg = np.atleast_2d(np.asarray(result["average"], dtype=float))
        if classes and avg.shape[0] == len(classes) and len(classes) > 2:
            lines = [series(f"P({c})", "line", np.column_stack([grid, avg[i]])) for i, c in enumerate(classes)]
        else:
            name = f"P({classes[1]})" if len(classes) == 2 else "prediction"
            lines = [series(name, "line", np.column_stack([grid, avg[-1]]))]
        charts.append(
            xy_chart(f"pdp_{''.join(ch if ch.isalnum() else '_' for ch in feature)[:60]}", f"Partial dependence: {feature}", feature, "Average prediction", lines)
        )
    return charts


def _learning_curve(best: Any, X: pd.DataFrame, y: pd.Series, scoring: str) -> dict[str, Any]:
    """Scores at growing training sizes (3 folds): does more data help?"""
    from sklearn.base import clone
    from sklearn.model_selection import learning_curve

    sizes, train, test = learning_curve(
        clone(best), X, y, train_sizes=np.linspace(0.2, 1.0, 4), cv=3, scoring=scoring, n_jobs=1, shuffle=True, random_state=0
    )
    chart = ec.learning_curve_chart(sizes, train, test, score_label=scoring)
    gap = float(np.mean(train[-1]) - np.mean(test[-1]))
    chart["note"] = f"gap between training and validation {scoring} at full size: {fmt(gap)}"
    return chart


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def evaluate_run(spec: dict[str, Any], ctx: Any, df: pd.DataFrame, work: Any) -> dict[str, Any]:
    """The supervised family's evaluate: rebuild the training's setup, refit the run's model on the
    training split (as compare_models had it, so the hold-out rows stay unseen), chart it, and draw
    PyCaret's plots."""
    from sklearn.base import clone

    from ..adapters.pycaret3.pipeline import final_estimator
    from ..scoring import load_model
    from .supervised_setup import build_setup, load_training_data

    ev = ctx.events
    data = load_training_data(spec["train"], spec["dataset"], ev)
    ev.stage("setup", "Rebuilding the training's setup")
    session = build_setup(spec["train"], spec, data).session
    model = load_model(ctx.runs.client, f"runs:/{spec['run_id']}/model", spec.get("model_digest"))
    X_train, y_train = session.train_data()
    best = clone(final_estimator(model.pipeline)).fit(X_train, y_train)
    ev.stage("evaluate", "Charts, importance and SHAP on the hold-out rows")
    charts, warnings, _top = evaluation_charts(session, best)
    for message in warnings:
        ev.warning(message)
    plots, plot_warnings = session.save_plots(best, work / "plots")
    for message in plot_warnings:
        ev.warning(message)
    return {"charts": charts, "plots": plots}
