"""The unsupervised family's pure parts: nearest-row scoring, ranking without ground truth, the elbow
curve, PNGs from chart data, and its catalog entries."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from caretflow_engine.errors import EngineError
from caretflow_engine.ml.cluster_charts import (
    anomaly_score_chart,
    cluster_distribution_chart,
    elbow_ks,
    kmeans_inertias,
    suggest_k,
)
from caretflow_engine.ml.nearest_assignment import NearestAssignment
from caretflow_engine.ml.chart_png import render
from caretflow_engine.ml.unsupervised_rank import consensus, rank_rows
from caretflow_engine.tasks.unsupervised_data import check_unsupervised_data, output_clashes


def _blobs(centres: list[tuple[float, float]], per: int = 40, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(c, 0.3, size=(per, 2)) for c in centres])


# ------------------------------------------------------------ nearest assignment
def test_nearest_assignment_gives_training_rows_their_own_label_and_new_rows_the_nearest():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 10.0], [10.0, 11.0]])
    model = NearestAssignment("fitted model").fit(X, [0, 0, 1, 1], scores=[0.1, 0.2, 0.9, 0.8])
    assert list(model.predict(X)) == [0, 0, 1, 1]
    assert list(model.decision_function(X)) == [0.1, 0.2, 0.9, 0.8]
    new = pd.DataFrame({"a": [9.0, 0.2], "b": [10.6, 0.9]})
    assert list(model.predict(new)) == [1, 0] and list(model.decision_function(new)) == [0.8, 0.2]
    assert model.predict(np.zeros((0, 2))).shape == (0,)
    again = pickle.loads(pickle.dumps(model))
    assert list(again.predict(new)) == [1, 0] and again.estimator == "fitted model"


def test_nearest_assignment_refuses_mismatched_shapes_and_has_no_scores_for_clusters():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="2 labels for 3 rows"):
        NearestAssignment().fit(X, [0, 1])
    model = NearestAssignment().fit(X, [0, 1, 2])
    with pytest.raises(ValueError, match="expected 2 features, got 3"):
        model.predict(np.zeros((1, 3)))
    with pytest.raises(AttributeError, match="no scores"):
        model.decision_function(X)


def test_match_dtypes_restores_training_dtypes_where_it_can():
    from caretflow_engine.ml.match_dtypes import MatchDtypes

    training = pd.DataFrame({"x": np.array([1.5, 2.5], dtype="float32"), "n": np.array([1, 2], dtype="int8")})
    step = MatchDtypes().fit(training)
    out = step.transform(pd.DataFrame({"x": [0.1, 0.2], "n": [3.0, None], "other": ["a", "b"]}))
    assert out["x"].dtype == np.float32 and out["n"].dtype == np.float64 and list(out["other"]) == ["a", "b"]
    assert step.transform(pd.DataFrame({"n": [4.0]}))["n"].dtype == np.int8
    matrix = np.zeros((1, 2))
    assert step.transform(matrix) is matrix


# ----------------------------------------------------------------------- ranking
@pytest.mark.parametrize(
    ("values", "greater", "order"),
    [
        ([0.5, 0.7, None, 0.6], True, ["b", "d", "a", "c"]),  # Silhouette: higher first, undefined last
        ([0.5, 0.7, None, 0.3], False, ["d", "a", "b", "c"]),  # Davies-Bouldin: lower first
        ([0.5, 0.5, 0.9, float("nan")], True, ["c", "a", "b", "d"]),  # ties keep the order tried
    ],
)
def test_rank_rows_respects_direction_and_puts_missing_last(values, greater, order):
    rows = [{"model_id": m, "metrics": {"M": v}} for m, v in zip("abcd", values)]
    ranked = rank_rows(rows, "M", greater)
    assert [r["model_id"] for r in ranked] == order and [r["rank"] for r in ranked] == [1, 2, 3, 4]


def test_consensus_ranks_detectors_that_agree_above_one_that_does_not():
    rng = np.random.default_rng(1)
    truth = rng.normal(size=500)
    scores = {
        "a": truth + rng.normal(scale=0.3, size=500),
        "b": truth + rng.normal(scale=0.5, size=500),
        "c": truth + rng.normal(scale=0.4, size=500),
        "odd": rng.normal(size=500),
    }
    values = consensus(scores)
    assert min(values["a"], values["b"], values["c"]) > 0.6 and abs(values["odd"]) < 0.15
    assert values["a"] > values["c"] > values["b"]  # less noise, more agreement


def test_consensus_is_undefined_alone_or_for_constant_scores():
    assert consensus({"only": [1.0, 2.0, 3.0]}) == {"only": None}
    assert consensus({"flat": [1.0, 1.0, 1.0], "x": [1.0, 2.0, 3.0]}) == {"flat": None, "x": None}
    assert consensus({"a": [1.0, np.inf, 3.0], "b": [1.0, 2.0, 3.0]})["a"] is not None
    with pytest.raises(ValueError, match="differ in length"):
        consensus({"a": [1.0, 2.0], "b": [1.0, 2.0, 3.0]})


# ------------------------------------------------------------------------- elbow
def test_elbow_finds_three_blobs_and_samples_large_data_deterministically():
    X = _blobs([(0, 0), (5, 5), (0, 8)])
    ks = elbow_ks(len(X))
    assert ks == list(range(2, 11)) and elbow_ks(5) == [2, 3, 4] and elbow_ks(2) == []
    inertias = kmeans_inertias(X, ks, seed=3)
    assert inertias == sorted(inertias, reverse=True) and suggest_k(ks, inertias) == 3
    sampled = kmeans_inertias(X, ks, seed=3, max_rows=60)
    assert sampled == kmeans_inertias(X, ks, seed=3, max_rows=60) and sampled[0] < inertias[0]


# -------------------------------------------------------------------------- PNGs
def test_pngs_draw_category_axes_and_histograms(tmp_path):
    names = ["Cluster 1", "Cluster 0", "Cluster 10", "Cluster 1"]
    sizes = render(cluster_distribution_chart(names), tmp_path / "d.png")
    scores = np.random.default_rng(0).normal(size=300)
    flags = scores > 1.6
    hist = render(anomaly_score_chart(scores, 1.6, flags), tmp_path / "h.png")
    for path in (sizes, hist):
        assert path.read_bytes()[1:4] == b"PNG" and path.stat().st_size > 5000


# ----------------------------------------------------------------- data checks
@pytest.mark.parametrize(
    ("frame", "task", "ignore", "k", "name"),
    [
        (pd.DataFrame({"a": [1, 2, 3]}), "clustering", ["b"], None, "IgnoredColumnNotFound"),
        (pd.DataFrame({"a": [1, 2, 3]}), "anomaly", ["a"], None, "NoFeatures"),
        (pd.DataFrame({"a": [None, None, None]}), "anomaly", [], None, "NoFeatures"),
        (pd.DataFrame({"a": [1, 2]}), "clustering", [], None, "TooFewRows"),
        (pd.DataFrame({"a": [1, 2, 3]}), "clustering", [], 3, "TooManyClusters"),
    ],
)
def test_data_checks_name_the_problem(frame, task, ignore, k, name):
    with pytest.raises(EngineError) as caught:
        check_unsupervised_data(frame, task, ignore, k)
    assert caught.value.name == name and caught.value.hint


def test_labels_of_an_earlier_run_are_detected_unless_ignored():
    df = pd.DataFrame({"x": [1.0], "Cluster": ["Cluster 0"], "Anomaly": [0], "Anomaly_Score": [0.1]})
    assert output_clashes("clustering", df, []) == ["Cluster"]
    assert output_clashes("anomaly", df, ["Anomaly"]) == ["Anomaly_Score"]
    check_unsupervised_data(pd.DataFrame({"a": [1, 2, 3]}), "clustering", [], 2)  # fine


# ------------------------------------------------------------------------ catalog
def test_catalog_entries():
    from caretflow_engine.adapters.pycaret3.probe import probe
    from caretflow_engine.tasks.unsupervised import UnsupervisedFamily

    family = UnsupervisedFamily()
    clustering = family.describe("clustering", probe)
    metrics = {m["name"]: m["greaterIsBetter"] for m in clustering["metrics"]}
    assert metrics == {"Silhouette": True, "Calinski-Harabasz": True, "Davies-Bouldin": False}
    assert clustering["defaultSort"] == "Silhouette" and clustering["operations"] == ["compare", "create"]
    models = {m["id"]: m for m in clustering["models"]}
    assert {"kmeans", "ap", "meanshift", "sc", "hclust", "dbscan", "optics", "birch", "kmodes"} <= set(models)
    assert {m for m, v in models.items() if v["turbo"]} == {"kmeans", "hclust", "birch", "meanshift"}
    assert models["kmodes"]["installed"] is False  # PyCaret lists it only when its library is there
    fields = {f["name"]: f for f in clustering["fields"]}
    assert "num_clusters" in fields and "fraction" not in fields and "target" not in fields
    assert "remove_outliers" not in fields and fields["imputation_type"]["values"] == ["simple"]
    assert "drop" not in fields["numeric_imputation"]["values"]
    charts = {p["id"] for p in clustering["plots"] if p["chart"]}
    assert charts == {"elbow", "silhouette", "cluster", "distribution"}
    assert [c["name"] for c in clustering["predictionColumns"]] == ["Cluster"]

    anomaly = family.describe("anomaly", probe)
    assert [m["name"] for m in anomaly["metrics"]] == ["Consensus"] and anomaly["defaultSort"] == "Consensus"
    detectors = {"abod", "cluster", "cof", "iforest", "histogram", "knn", "lof", "svm", "pca", "mcd", "sod", "sos"}
    assert {m["id"] for m in anomaly["models"]} >= detectors
    assert {p["id"] for p in anomaly["plots"] if p["chart"]} == {"anomaly_scores", "anomaly"}
    assert "fraction" in {f["name"] for f in anomaly["fields"]}
    assert [c["name"] for c in anomaly["predictionColumns"]] == ["Anomaly", "Anomaly_Score"]


def test_forced_gpu_without_cuml_is_a_user_error():
    import importlib.util

    from caretflow_engine.adapters.pycaret3.unsupervised import UnsupervisedSession

    frame = pd.DataFrame(_blobs([(0, 0), (5, 5)], per=10), columns=["a", "b"])
    session = UnsupervisedSession("clustering")
    if importlib.util.find_spec("cuml") is not None:  # a RAPIDS machine: forced GPU mode sets up
        session.setup(frame, ignore_features=[], seed=1, n_jobs=1, use_gpu="on")
        return
    with pytest.raises(EngineError) as caught:
        session.setup(frame, ignore_features=[], seed=1, n_jobs=1, use_gpu="on")
    assert caught.value.name == "GpuLibraryMissing" and "auto" in caught.value.hint


def test_default_comparison_leaves_quadratic_models_out_on_large_data():
    from caretflow_engine.adapters.pycaret3.unsupervised import LARGE_ROWS, UnsupervisedSession

    small = pd.DataFrame(_blobs([(0, 0), (5, 5)], per=50), columns=["a", "b"])
    large = pd.DataFrame(_blobs([(0, 0), (5, 5)], per=LARGE_ROWS // 2 + 1), columns=["a", "b"])
    plans = {}
    for name, frame in (("small", small), ("large", large)):
        session = UnsupervisedSession("clustering")
        session.setup(frame, ignore_features=[], seed=1, n_jobs=1)
        plans[name] = session.plan([], ["birch"])
    assert plans["small"] == (["kmeans", "hclust", "meanshift"], [])
    assert plans["large"] == (["kmeans"], ["hclust", "meanshift"])
    assert session.plan(["hclust"], []) == (["hclust"], [])  # asked for by name: trained whatever the size
    with pytest.raises(EngineError) as caught:
        session.plan(["nope"], [])
    assert caught.value.name == "UnknownModel"


@pytest.mark.parametrize(
    ("task", "model_id", "method"),
    [("clustering", "kmeans", "model"), ("clustering", "hclust", "nearest_row"), ("anomaly", "iforest", "model"),
     ("anomaly", "cof", "nearest_row")],
)
def test_scoring_pipeline_labels_rows_alone_as_in_a_batch(task, model_id, method):
    from caretflow_engine.adapters.pycaret3.unsupervised import UnsupervisedSession
    from caretflow_engine.tasks.unsupervised_final import label_frame

    frame = pd.DataFrame(_blobs([(0, 0), (5, 5), (0, 8)], per=20), columns=["a", "b"]).assign(kind="x")
    session = UnsupervisedSession(task)
    session.setup(frame, ignore_features=["kind"], seed=1, n_jobs=1)
    fitted = session.create(model_id, num_clusters=3, fraction=0.1)
    pipeline, how = session.scoring_pipeline(fitted)
    assert how == method
    features = frame[session.feature_columns()]
    batch = label_frame(task, pipeline, features)
    alone = pd.concat([label_frame(task, pipeline, features.iloc[[i]]) for i in range(len(features))])
    pd.testing.assert_frame_equal(batch, alone)
    assigned = session.assignments(fitted)
    assert list(assigned.columns) == list(batch.columns)
    if task == "clustering":  # every training row scores as training assigned it
        assert list(batch["Cluster"]) == list(assigned["Cluster"])
    elif method == "nearest_row":  # a transductive detector's scores come from training, not from the batch
        assert list(batch["Anomaly"]) == list(assigned["Anomaly"])
        assert np.allclose(batch["Anomaly_Score"], assigned["Anomaly_Score"])
    assert list(label_frame(task, pipeline, features.head(0)).columns) == list(batch.columns)
