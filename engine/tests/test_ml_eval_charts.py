"""Evaluation chart data on small inputs whose values can be checked by hand; every chart is
schema-valid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import silhouette_score

from caretflow_engine.errors import EngineError
from caretflow_engine.ml import cluster_charts as cc
from caretflow_engine.ml import eval_charts as ec

from .ml_helpers import assert_chart, series_by_name


def test_roc_perfect_reversed_and_uninformative_rankings():
    y = np.array(["CH", "CH", "MM", "MM"])
    perfect = assert_chart(ec.roc_chart(y, [0.1, 0.2, 0.8, 0.9]))
    assert perfect["note"] == "AUC 1.000 (class MM)"
    assert series_by_name(perfect, "MM")["points"] == [[0.0, 0.0], [0.0, 0.5], [0.0, 1.0], [1.0, 1.0]]
    assert ec.roc_chart(y, [0.9, 0.8, 0.2, 0.1])["note"] == "AUC 0.000 (class MM)"
    assert ec.roc_chart(y, [0.5, 0.5, 0.5, 0.5])["note"] == "AUC 0.500 (class MM)"
    # a random ranking on many rows: AUC near one half
    rng = np.random.default_rng(0)
    chart = assert_chart(ec.roc_chart(rng.integers(0, 2, 20_000), rng.random(20_000)))
    assert abs(float(chart["note"].split()[1]) - 0.5) < 0.02
    # the probability matrix gives the same curve as the positive column
    matrix = np.column_stack([[0.9, 0.8, 0.2, 0.1], [0.1, 0.2, 0.8, 0.9]])
    assert ec.roc_chart(y, matrix, labels=["CH", "MM"]) == perfect


def test_roc_multiclass_one_vs_rest_and_micro_average():
    y = np.array([0, 0, 1, 1, 2, 2])
    scores = np.eye(3)[y] * 0.8 + 0.1  # every row ranks its own class first
    chart = assert_chart(ec.roc_chart(y, scores))
    names = [s["name"] for s in chart["series"]]
    assert names == ["0 (AUC 1.000)", "1 (AUC 1.000)", "2 (AUC 1.000)", "micro-average (AUC 1.000)", "chance"]
    assert chart["note"] == "micro-average AUC 1.000, macro-average AUC 1.000"
    # a class of the model that the test rows lack is named, not drawn
    chart = assert_chart(ec.roc_chart(y, np.column_stack([scores, np.zeros(6)]), labels=[0, 1, 2, 3]))
    assert "not drawn (absent from the data): 3" in chart["note"] and len(chart["series"]) == 5


def test_roc_with_one_class_is_not_drawable():
    with pytest.raises(EngineError) as info:
        ec.roc_chart(["MM", "MM"], [0.2, 0.7], labels=["CH", "MM"])
    assert info.value.name == "ChartNotDrawable" and "only one class" in info.value.message
    with pytest.raises(EngineError, match="two classes"):
        ec.roc_chart([0, 1, 2], [0.1, 0.2, 0.3])


def test_pr_curve_average_precision_and_baseline():
    y = [0, 0, 1, 1]
    chart = assert_chart(ec.pr_chart(y, [0.1, 0.4, 0.35, 0.8]))
    # sklearn's documented example: AP = 0.5 * 1 + 0.5 * (2/3) = 0.833
    assert chart["note"] == "average precision 0.833 (class 1)"
    assert series_by_name(chart, "baseline")["points"] == [[0.0, 0.5], [1.0, 0.5]]
    assert ec.pr_chart(y, [0.1, 0.2, 0.8, 0.9])["note"] == "average precision 1.000 (class 1)"
    multi = assert_chart(ec.pr_chart([0, 1, 2], np.eye(3)))
    names = [s["name"] for s in multi["series"]]
    assert names == ["0 (AP 1.000)", "1 (AP 1.000)", "2 (AP 1.000)", "micro-average (AP 1.000)"]


def test_confusion_matrix_counts_and_row_fractions():
    y = ["a", "a", "b", "b", "b", "c"]
    p = ["a", "b", "b", "b", "c", "c"]
    chart = assert_chart(ec.confusion_matrix_chart(y, p))
    assert chart["x"]["categories"] == chart["y"]["categories"] == ["a", "b", "c"]
    assert chart["values"] == [[1, 1, 0], [0, 2, 1], [0, 0, 1]]
    assert chart["note"] == "accuracy 0.667 on 6 rows"
    frac = assert_chart(ec.confusion_matrix_chart(y, p, normalize=True))
    assert frac["values"][1] == pytest.approx([0, 2 / 3, 1 / 3])
    # a class of the model absent from the rows gets an empty row and column
    labelled = assert_chart(ec.confusion_matrix_chart([1, 0], [1, 1], labels=[0, 1, 2], normalize=True))
    assert labelled["y"]["categories"] == ["0", "1", "2"] and labelled["values"][2] == [None, None, None]


def test_class_report_precision_recall_f1_and_support():
    y = ["a", "a", "b", "b", "b", "c"]
    p = ["a", "b", "b", "b", "c", "c"]
    chart = assert_chart(ec.class_report_chart(y, p))
    assert chart["y"]["categories"] == ["a (n=2)", "b (n=3)", "c (n=1)", "macro avg", "weighted avg"]
    assert chart["x"]["categories"] == ["Precision", "Recall", "F1"]
    assert chart["values"][0] == pytest.approx([1.0, 0.5, 2 / 3])
    assert chart["values"][1] == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    assert chart["values"][2] == pytest.approx([0.5, 1.0, 2 / 3])
    assert chart["values"][3][1] == pytest.approx((0.5 + 2 / 3 + 1) / 3)
    assert chart["values"][4][1] == pytest.approx(4 / 6)  # weighted recall is accuracy
    # a class only ever predicted still gets its row (support 0, precision 0)
    extra = assert_chart(ec.class_report_chart(["a", "a"], ["a", "z"]))
    assert extra["y"]["categories"][:2] == ["a (n=2)", "z (n=0)"] and extra["values"][1] == [0.0, 0.0, 0.0]


def test_calibration_curve_on_calibrated_scores():
    y = np.array([1] * 2 + [0] * 8 + [1] * 8 + [0] * 2)
    p = np.array([0.2] * 10 + [0.8] * 10)
    chart = assert_chart(ec.calibration_chart(y, p, n_bins=5))
    np.testing.assert_allclose(series_by_name(chart, "1")["points"], [[0.2, 0.2], [0.8, 0.8]])
    assert series_by_name(chart, "perfectly")["points"] == [[0.0, 0.0], [1.0, 1.0]]
    assert chart["note"].startswith("Brier score 0.160")  # (4 × 0.64 + 16 × 0.04) / 20
    with pytest.raises(EngineError, match="two classes"):
        ec.calibration_chart([0, 1, 2], np.eye(3))


def test_threshold_plot_values():
    chart = assert_chart(ec.threshold_chart([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]))
    thresholds = [p[0] for p in series_by_name(chart, "precision")["points"]]
    assert thresholds == [0.1, 0.35, 0.4, 0.8]
    assert [p[1] for p in series_by_name(chart, "precision")["points"]] == pytest.approx([0.5, 2 / 3, 0.5, 1.0])
    assert [p[1] for p in series_by_name(chart, "recall")["points"]] == pytest.approx([1.0, 1.0, 0.5, 0.5])
    assert [p[1] for p in series_by_name(chart, "F1")["points"]] == pytest.approx([2 / 3, 0.8, 0.5, 2 / 3])
    assert [p[1] for p in series_by_name(chart, "queue")["points"]] == pytest.approx([1.0, 0.75, 0.5, 0.25])
    assert chart["note"] == "best F1 0.800 at threshold 0.350"


def test_residuals_and_prediction_error():
    chart = assert_chart(ec.residuals_chart([1, 2, 3], [1, 2, 4], y_true_train=[0, 1], y_pred_train=[0, 1]))
    assert series_by_name(chart, "test")["points"] == [[1.0, 0.0], [2.0, 0.0], [4.0, -1.0]]
    assert series_by_name(chart, "train (R² 1.000)")["points"] == [[0.0, 0.0], [1.0, 0.0]]
    assert series_by_name(chart, "zero")["points"] == [[0.0, 0.0], [4.0, 0.0]]
    assert chart["note"] == "test R² 0.500; train R² 1.000"  # 1 − 1/2
    err = assert_chart(ec.prediction_error_chart([1, 2, 3, 4], [1, 2, 3, 4]))
    assert err["note"] == "R² 1.000"
    assert series_by_name(err, "identity")["points"] == [[1.0, 1.0], [4.0, 4.0]]
    np.testing.assert_allclose(series_by_name(err, "best fit")["points"], [[1.0, 1.0], [4.0, 4.0]])
    big = assert_chart(ec.residuals_chart(np.arange(50_000.0), np.arange(50_000.0) + 1))
    assert len(series_by_name(big, "test")["points"]) <= 2000


def test_feature_importance_top_n_by_absolute_value():
    chart = assert_chart(ec.feature_importance_chart({"age": 0.2, "bmi": -0.9, "sex": 0.5, "x": float("nan")}, top_n=2))
    assert chart["x"]["scale"] == "category"
    assert chart["series"][0]["points"] == [["bmi", -0.9], ["sex", 0.5]]
    assert chart["note"] == "top 2 of 3 features"
    series_in = pd.Series({"b": 1.0, "a": 1.0})
    assert ec.feature_importance_chart(series_in)["series"][0]["points"] == [["a", 1.0], ["b", 1.0]]


def test_learning_curve_mean_and_band():
    train, cv = [[0.9, 1.0], [0.8, 0.8]], [[0.5, 0.7], [0.6, 0.8]]
    chart = assert_chart(ec.learning_curve_chart([10, 20], train, cv, "Accuracy"))
    np.testing.assert_allclose(series_by_name(chart, "training score")["points"], [[10, 0.95], [20, 0.8]])
    band = series_by_name(chart, "cross-validation ± 1 std")["points"]
    np.testing.assert_allclose(band, [[10, 0.5, 0.7], [20, 0.6, 0.8]])
    assert chart["y"]["label"] == "Accuracy"
    assert chart["note"] == "at 20 examples: training 0.800, cross-validation 0.700"


def test_suggest_k_finds_the_obvious_elbow():
    # inertia falls steeply to k=3, then barely: normalised, k=3 is farthest below the chord
    assert cc.suggest_k([1, 2, 3, 4, 5, 6, 7, 8], [1000, 500, 100, 90, 80, 70, 60, 50]) == 3
    assert cc.suggest_k([8, 1, 2, 3, 4, 5, 6, 7], [50, 1000, 500, 100, 90, 80, 70, 60]) == 3  # order does not matter
    assert cc.suggest_k([1, 2, 3, 4], [4, 3, 2, 1]) is None  # a straight line has no elbow
    assert cc.suggest_k([1, 2, 3], [1, 2, 3]) is None  # increasing
    assert cc.suggest_k([2, 3], [10, 1]) is None  # too few points
    chart = assert_chart(cc.elbow_chart([1, 2, 3, 4, 5, 6, 7, 8], [1000, 500, 100, 90, 80, 70, 60, 50]))
    assert series_by_name(chart, "suggested k = 3")["points"] == [[3, 100.0]]
    assert chart["note"].startswith("suggested k = 3")


def _blobs(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = np.arange(n) % 3
    return centres[labels] + rng.normal(scale=0.3, size=(n, 2)), labels


def test_silhouette_matches_sklearn_and_is_sorted_per_cluster():
    X, labels = _blobs()
    names = np.array([f"Cluster {i}" for i in labels])
    chart = assert_chart(cc.silhouette_chart(X, names))
    mean = silhouette_score(X, labels)
    assert chart["note"] == f"mean silhouette {mean:.3f}"
    areas = [s for s in chart["series"] if s["mark"] == "area"]
    assert [s["name"].split(" (")[0] for s in areas] == ["Cluster 0", "Cluster 1", "Cluster 2"]
    for s in areas:
        ys = [p[1] for p in s["points"]]
        assert ys == sorted(ys, reverse=True) and len(ys) == 20
    assert [p[0] for p in areas[1]["points"]][0] == 20  # clusters laid side by side
    big_X = np.repeat(X, 200, axis=0) + np.random.default_rng(0).normal(scale=0.01, size=(12_000, 2))
    big = assert_chart(cc.silhouette_chart(big_X, np.repeat(labels, 200), sample_size=3000))
    assert "sample of 3000 of 12000 rows" in big["note"]
    assert sum(len(s["points"]) for s in big["series"]) <= 2000 + 2
    with pytest.raises(EngineError, match="2 to n−1 clusters"):
        cc.silhouette_chart(X, np.zeros(len(X)))


def test_cluster_scatter_distribution_and_natural_order():
    X, labels = _blobs()
    names = np.where(labels == 2, "Cluster 10", np.where(labels == 1, "Cluster 2", "Cluster 1"))
    chart = assert_chart(cc.cluster_scatter_chart(pd.DataFrame(X, columns=["a", "b"]).assign(name="x"), names))
    assert [s["name"] for s in chart["series"]] == ["Cluster 1", "Cluster 2", "Cluster 10"]
    assert all(len(s["points"]) == 20 for s in chart["series"]) and "PCA of 2 features" in chart["note"]
    one_column = assert_chart(cc.cluster_scatter_chart(X[:, :1], labels))
    assert {p[1] for s in one_column["series"] for p in s["points"]} == {0.0}
    dist = assert_chart(cc.cluster_distribution_chart(["Cluster 10", "Cluster 2", "Cluster 2", -1]))
    assert dist["series"][0]["points"] == [["-1", 1], ["Cluster 2", 2], ["Cluster 10", 1]]
    many = np.random.default_rng(0).normal(size=(30_000, 3))
    capped = assert_chart(cc.cluster_scatter_chart(many, np.arange(30_000) % 4))
    assert sum(len(s["points"]) for s in capped["series"]) <= 2100
    with pytest.raises(EngineError) as info:
        cc.cluster_scatter_chart(np.array([[1.0, np.nan], [2.0, 3.0]]), [0, 1])
    assert info.value.name == "ChartNotDrawable" and "row 0" in info.value.message


def test_anomaly_score_histogram_and_scatter():
    scores = np.array([0.1, 0.2, 0.2, 0.3, 0.9, 1.0])
    flags = scores > 0.5
    chart = assert_chart(cc.anomaly_score_chart(scores, threshold=0.5, is_anomaly=flags, bins=9))
    normal, anomaly = series_by_name(chart, "normal"), series_by_name(chart, "anomaly")
    assert sum(p[1] for p in normal["points"]) == 4 and sum(p[1] for p in anomaly["points"]) == 2
    tallest = max(p[1] for p in normal["points"] + anomaly["points"])
    assert series_by_name(chart, "threshold")["points"] == [[0.5, 0], [0.5, tallest]]
    assert chart["note"] == "threshold 0.500: 2 of 6 rows flagged (33.3%)"
    plain = assert_chart(cc.anomaly_score_chart(np.append(scores, np.nan), threshold=0.95))
    assert sum(p[1] for p in series_by_name(plain, "rows")["points"]) == 6 and "1 of 6 rows flagged" in plain["note"]
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 5))
    rare = np.zeros(10_000, dtype=bool)
    rare[:30] = True
    scatter = assert_chart(cc.anomaly_scatter_chart(X, rare))
    assert len(series_by_name(scatter, "anomaly")["points"]) == 30
    assert len(series_by_name(scatter, "normal")["points"]) <= 2000
