"""Chart data for supervised evaluation plots, computed from arrays with numpy and scikit-learn.

These are the numbers behind the PNGs PyCaret draws (ROC, PR, confusion matrix, calibration, class
report, threshold, residuals, prediction error, feature importance, learning curve), so the UI can
draw them interactively and compare runs. Clustering and anomaly plots are in ``cluster_charts``.

Conventions: ``y_score`` is either the positive-class score (1-D, binary) or a probability matrix
whose columns follow ``labels`` (the model's ``classes_``); without ``labels`` the columns follow the
sorted classes of ``y_true``. Class labels appear as strings in the charts. A plot that is not
defined for the given data (e.g. a ROC curve when the test set holds one class) raises the user
error ``ChartNotDrawable``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn import metrics
from sklearn.calibration import calibration_curve

from ..errors import EngineError, user_error
from .charts import fmt, heatmap_chart, series, xy_chart

ArrayLike = Sequence[Any] | np.ndarray

_DIAGONAL = [[0.0, 0.0], [1.0, 1.0]]


def not_drawable(plot: str, why: str, hint: str) -> EngineError:
    return user_error("ChartNotDrawable", f"The {plot} cannot be drawn: {why}", hint)


def _classes(y_true: np.ndarray, labels: ArrayLike | None) -> list[Any]:
    if labels is not None:
        return list(labels)
    return sorted(set(y_true.tolist()), key=lambda v: (str(type(v)), v))


def _scores(
    y_true: ArrayLike, y_score: ArrayLike, labels: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """(y_true, scores with one column per class, classes); a 1-D score is the last class's."""
    y = np.asarray(y_true)
    scores = np.asarray(y_score, dtype=float)
    classes = _classes(y, labels)
    if scores.ndim == 1:
        if len(classes) != 2:
            raise not_drawable(
                "curve", f"a single score column needs two classes, found {len(classes)}: {classes[:10]}",
                "Pass the probability matrix (one column per class) for multiclass models.",
            )
        scores = np.column_stack([1.0 - scores, scores])
    if scores.shape != (len(y), len(classes)):
        raise ValueError(f"y_score has shape {scores.shape}; expected ({len(y)}, {len(classes)}) for classes {classes}")
    return y, scores, classes


def _binary_target(y: np.ndarray, positive: Any, plot: str) -> np.ndarray:
    target = y == positive
    if target.all() or not target.any():
        raise not_drawable(
            plot,
            f"the true labels hold only one class (class {positive} is {'all' if target.all() else 'none'} of them)",
            "Evaluate on data that holds both classes (a larger or stratified test set).",
        )
    return target


def roc_chart(y_true: ArrayLike, y_score: ArrayLike, labels: ArrayLike | None = None) -> dict[str, Any]:
    """ROC curve. Binary: one curve for the positive (last) class. Multiclass: one-vs-rest curve per
    class present in ``y_true`` plus the micro average; the note gives micro and macro AUC."""
    y, scores, classes = _scores(y_true, y_score, labels)
    chance = series("chance", "line", _DIAGONAL)
    if len(classes) == 2:
        target = _binary_target(y, classes[1], "ROC curve")
        fpr, tpr, _ = metrics.roc_curve(target, scores[:, 1])
        auc = metrics.auc(fpr, tpr)
        curve = series(f"{classes[1]} (AUC {fmt(auc)})", "line", np.column_stack([fpr, tpr]))
        return xy_chart("roc", "ROC curve", "False positive rate", "True positive rate", [curve, chance],
                        note=f"AUC {fmt(auc)} (class {classes[1]})")
    curves, aucs, skipped = [], [], []
    onehot = np.column_stack([y == c for c in classes])
    for i, c in enumerate(classes):
        if onehot[:, i].all() or not onehot[:, i].any():
            skipped.append(str(c))
            continue
        fpr, tpr, _ = metrics.roc_curve(onehot[:, i], scores[:, i])
        aucs.append(metrics.auc(fpr, tpr))
        curves.append(series(f"{c} (AUC {fmt(aucs[-1])})", "line", np.column_stack([fpr, tpr])))
    if not curves:
        raise not_drawable("ROC curve", "no class has both positive and negative examples",
                           "Evaluate on data that holds at least two classes.")
    fpr, tpr, _ = metrics.roc_curve(onehot.ravel(), scores.ravel())
    micro = metrics.auc(fpr, tpr)
    curves.append(series(f"micro-average (AUC {fmt(micro)})", "line", np.column_stack([fpr, tpr])))
    note = f"micro-average AUC {fmt(micro)}, macro-average AUC {fmt(float(np.mean(aucs)))}"
    if skipped:
        note += f"; not drawn (absent from the data): {', '.join(skipped)}"
    return xy_chart("roc", "ROC curves (one vs rest)", "False positive rate", "True positive rate",
                    [*curves, chance], note=note)


def pr_chart(y_true: ArrayLike, y_score: ArrayLike, labels: ArrayLike | None = None) -> dict[str, Any]:
    """Precision-recall curve with average precision (AP). Binary: the positive class plus its
    base rate as a baseline; multiclass: one-vs-rest per class plus the micro average."""
    y, scores, classes = _scores(y_true, y_score, labels)
    if len(classes) == 2:
        target = _binary_target(y, classes[1], "precision-recall curve")
        precision, recall, _ = metrics.precision_recall_curve(target, scores[:, 1])
        ap = metrics.average_precision_score(target, scores[:, 1])
        rate = float(target.mean())
        curve = series(f"{classes[1]} (AP {fmt(ap)})", "line", np.column_stack([recall, precision]))
        baseline = series(f"baseline (positive rate {fmt(rate)})", "line", [[0.0, rate], [1.0, rate]])
        return xy_chart("pr", "Precision-recall curve", "Recall", "Precision", [curve, baseline],
                        note=f"average precision {fmt(ap)} (class {classes[1]})")
    onehot = np.column_stack([y == c for c in classes])
    curves, skipped = [], []
    for i, c in enumerate(classes):
        if not onehot[:, i].any():
            skipped.append(str(c))
            continue
        precision, recall, _ = metrics.precision_recall_curve(onehot[:, i], scores[:, i])
        ap = metrics.average_precision_score(onehot[:, i], scores[:, i])
        curves.append(series(f"{c} (AP {fmt(ap)})", "line", np.column_stack([recall, precision])))
    if not curves:
        raise not_drawable("precision-recall curve", "no class has positive examples", "Evaluate on labelled data.")
    precision, recall, _ = metrics.precision_recall_curve(onehot.ravel(), scores.ravel())
    micro = metrics.average_precision_score(onehot.ravel(), scores.ravel())
    curves.append(series(f"micro-average (AP {fmt(micro)})", "line", np.column_stack([recall, precision])))
    note = f"micro-average precision {fmt(micro)}"
    if skipped:
        note += f"; not drawn (absent from the data): {', '.join(skipped)}"
    return xy_chart("pr", "Precision-recall curves (one vs rest)", "Recall", "Precision", curves, note=note)


def confusion_matrix_chart(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None,
                           normalize: bool = False) -> dict[str, Any]:
    """Confusion matrix: rows are actual classes, columns predicted; counts, or row fractions
    (recall per class) with ``normalize``."""
    y, p = np.asarray(y_true), np.asarray(y_pred)
    classes = _classes(np.concatenate([y, p]), labels)
    counts = metrics.confusion_matrix(y, p, labels=classes)
    values: Any = counts
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)
    accuracy = np.trace(counts) / counts.sum() if counts.sum() else float("nan")
    return heatmap_chart("confusion_matrix", "Confusion matrix" + (" (row fractions)" if normalize else ""),
                         "Predicted", classes, "Actual", classes, values,
                         note=f"accuracy {fmt(accuracy)} on {int(counts.sum())} rows")


def calibration_chart(y_true: ArrayLike, y_score: ArrayLike, labels: ArrayLike | None = None,
                      n_bins: int = 10, strategy: str = "uniform") -> dict[str, Any]:
    """Calibration (reliability) curve for a binary classifier: fraction of positives against the mean
    predicted probability per bin, with the diagonal of perfect calibration and the Brier score."""
    y, scores, classes = _scores(y_true, y_score, labels)
    if len(classes) != 2:
        raise not_drawable("calibration curve", f"it is defined for two classes, the model has {len(classes)}",
                           "Use the calibration plot with binary classification only.")
    target = _binary_target(y, classes[1], "calibration curve")
    frac, mean_pred = calibration_curve(target, scores[:, 1], n_bins=n_bins, strategy=strategy)
    brier = metrics.brier_score_loss(target, scores[:, 1])
    return xy_chart("calibration", "Calibration curve", "Mean predicted probability", "Fraction of positives",
                    [series(f"{classes[1]}", "line", np.column_stack([mean_pred, frac])),
                     series("perfectly calibrated", "line", _DIAGONAL)],
                    note=f"Brier score {fmt(brier)} (class {classes[1]}, {n_bins} {strategy} bins)")


def class_report_chart(y_true: ArrayLike, y_pred: ArrayLike, labels: ArrayLike | None = None) -> dict[str, Any]:
    """Per-class precision, recall and F1 as a heatmap, plus macro and weighted averages; the row
    labels carry each class's support ("MM (n=120)") so one colour scale fits all cells."""
    y, p = np.asarray(y_true), np.asarray(y_pred)
    classes = _classes(np.concatenate([y, p]), labels)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y, p, labels=classes, zero_division=0)
    rows = [[precision[i], recall[i], f1[i]] for i in range(len(classes))]
    weights = support / support.sum() if support.sum() else np.full(len(classes), np.nan)
    rows.append([precision.mean(), recall.mean(), f1.mean()])
    rows.append([float(precision @ weights), float(recall @ weights), float(f1 @ weights)])
    names = [f"{c} (n={int(n)})" for c, n in zip(classes, support)] + ["macro avg", "weighted avg"]
    accuracy = metrics.accuracy_score(y, p)
    return heatmap_chart("class_report", "Classification report", "Metric", ["Precision", "Recall", "F1"],
                         "Class", names, rows, note=f"accuracy {fmt(accuracy)}, macro F1 {fmt(f1.mean())}")


def threshold_chart(y_true: ArrayLike, y_score: ArrayLike, labels: ArrayLike | None = None) -> dict[str, Any]:
    """Precision, recall, F1 and queue rate (share predicted positive) against the decision
    threshold of a binary classifier; the note gives the threshold with the best F1."""
    y, scores, classes = _scores(y_true, y_score, labels)
    if len(classes) != 2:
        raise not_drawable("threshold plot", f"it is defined for two classes, the model has {len(classes)}",
                           "Use the threshold plot with binary classification only.")
    target = _binary_target(y, classes[1], "threshold plot")
    s = scores[:, 1]
    precision, recall, thresholds = metrics.precision_recall_curve(target, s)
    precision, recall = precision[:-1], recall[:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    queue = 1.0 - np.searchsorted(np.sort(s), thresholds, side="left") / len(s)
    best = int(np.argmax(f1))
    lines = [series(name, "line", np.column_stack([thresholds, v]))
             for name, v in (("precision", precision), ("recall", recall), ("F1", f1), ("queue rate", queue))]
    return xy_chart("threshold", f"Threshold plot (class {classes[1]})", "Threshold", "Score", lines,
                    note=f"best F1 {fmt(f1[best])} at threshold {fmt(thresholds[best])}")


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    return float(metrics.r2_score(y, p)) if len(y) > 1 else float("nan")


def residuals_chart(y_true: ArrayLike, y_pred: ArrayLike, y_true_train: ArrayLike | None = None,
                    y_pred_train: ArrayLike | None = None) -> dict[str, Any]:
    """Residuals (actual − predicted) against the prediction, for the test set and, when given, the
    training set, with the zero line; R² of each in the series names."""
    parts = []
    if y_true_train is not None and y_pred_train is not None:
        parts.append(("train", np.asarray(y_true_train, dtype=float), np.asarray(y_pred_train, dtype=float)))
    parts.append(("test", np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)))
    out, notes = [], []
    for name, y, p in parts:
        r2 = _r2(y, p)
        out.append(series(f"{name} (R² {fmt(r2)})", "point", np.column_stack([p, y - p])))
        notes.append(f"{name} R² {fmt(r2)}")
    every = np.concatenate([p for _, _, p in parts])
    lo, hi = (float(np.nanmin(every)), float(np.nanmax(every))) if every.size else (0.0, 1.0)
    out.append(series("zero", "line", [[lo, 0.0], [hi, 0.0]]))
    return xy_chart("residuals", "Residuals", "Predicted value", "Residual (actual − predicted)", out,
                    note="; ".join(reversed(notes)))


def prediction_error_chart(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, Any]:
    """Predicted against actual values, with the identity line (perfect predictions) and the least
    squares fit of predicted on actual; R² in the note."""
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    both = np.concatenate([y, p])
    lo, hi = float(np.nanmin(both)), float(np.nanmax(both))
    out = [series("predictions", "point", np.column_stack([y, p])), series("identity", "line", [[lo, lo], [hi, hi]])]
    finite = np.isfinite(y) & np.isfinite(p)
    if finite.sum() > 1 and np.ptp(y[finite]) > 0:
        slope, intercept = np.polyfit(y[finite], p[finite], 1)
        out.append(series("best fit", "line", [[lo, intercept + slope * lo], [hi, intercept + slope * hi]]))
    return xy_chart("error", "Prediction error", "Actual value", "Predicted value", out, note=f"R² {fmt(_r2(y, p))}")


def feature_importance_chart(importances: Mapping[str, float], top_n: int = 20,
                             value_label: str = "Importance") -> dict[str, Any]:
    """The ``top_n`` features by absolute importance (coefficients keep their sign), largest first,
    as bars over feature names; NaN importances are left out."""
    items = [(str(k), float(v)) for k, v in importances.items() if v is not None and np.isfinite(float(v))]
    items.sort(key=lambda kv: (-abs(kv[1]), kv[0]))
    shown = items[:top_n]
    note = f"top {len(shown)} of {len(items)} features" if len(items) > len(shown) else f"{len(items)} features"
    return xy_chart("feature", "Feature importance", "Feature", value_label,
                    [series(value_label, "bar", [[k, v] for k, v in shown])], x_scale="category", note=note)


def learning_curve_chart(train_sizes: ArrayLike, train_scores: ArrayLike, test_scores: ArrayLike,
                         score_label: str = "Score") -> dict[str, Any]:
    """Learning curve from ``sklearn.model_selection.learning_curve``'s outputs (scores shaped
    sizes × folds): mean training and cross-validation scores with ±1 standard deviation bands."""
    sizes = np.asarray(train_sizes, dtype=float)
    out, finals = [], []
    for name, scores in (("training", train_scores), ("cross-validation", test_scores)):
        s = np.asarray(scores, dtype=float).reshape(len(sizes), -1)
        mean, std = np.nanmean(s, axis=1), np.nanstd(s, axis=1)
        out.append(series(f"{name} ± 1 std", "band", np.column_stack([sizes, mean - std, mean + std])))
        out.append(series(f"{name} score", "line", np.column_stack([sizes, mean])))
        finals.append(f"{name} {fmt(mean[-1])}")
    return xy_chart("learning", "Learning curve", "Training examples", score_label, out,
                    note=f"at {int(sizes[-1])} examples: " + ", ".join(finals))
