"""Real clustering (jewellery) and anomaly (anomaly.csv) jobs with PyCaret, logged to a real MLflow
server; the labels written back; the models registered, batch-scored and served online."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from caretflow_engine.ml.charts import chart_problems

from .conftest import dataset_file, demo_dataset, outbox_file, store_dataset, train_spec
from .helpers import FdProcess, assert_protocol, error_of, run_job

# Fast models, one of each kind: centroids, a merge tree, CF-trees, and density (DBSCAN's default
# radius on unscaled jewellery puts every row in noise: a model whose metrics are undefined).
CLUSTER_MODELS = ["kmeans", "hclust", "birch", "dbscan"]
# The default comparison of detectors (nothing included or excluded).
DETECTORS = ["iforest", "knn", "lof", "pca", "mcd"]


@pytest.fixture(scope="module")
def jewellery(data_root: Path) -> dict[str, Any]:
    return demo_dataset("jewellery.csv")


@pytest.fixture(scope="module")
def anomaly(data_root: Path) -> dict[str, Any]:
    return demo_dataset("anomaly.csv")


def _train(mlflow_server: str, dataset: dict[str, Any], job_id: str, tmp: Path, **fields: Any) -> dict[str, Any]:
    spec = train_spec(job_id, mlflow_server, dataset, experiment_name=f"unsup-{dataset['name']}", **fields)
    del spec["target"]
    code, events = run_job(spec, tmp)
    assert_protocol(events)
    assert code == 0, events[-3:]
    return {"events": events, "result": events[-1]["result"], "spec": spec}


@pytest.fixture(scope="module")
def compared(mlflow_server, jewellery, tmp_path_factory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("cc")
    return _train(mlflow_server, jewellery, "cluster-compare", tmp, task="clustering", include=CLUSTER_MODELS)


@pytest.fixture(scope="module")
def four(mlflow_server, jewellery, tmp_path_factory) -> dict[str, Any]:
    """Agglomerative clustering has no predict: its model scores with the nearest training row."""
    return _train(mlflow_server, jewellery, "cluster-four", tmp_path_factory.mktemp("c4"), task="clustering",
                  operation="create", model="hclust", num_clusters=4)


@pytest.fixture(scope="module")
def detected(mlflow_server, anomaly, tmp_path_factory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("ac")
    return _train(mlflow_server, anomaly, "anomaly-compare", tmp, task="anomaly", fraction=0.05)


def _warnings(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events if e["type"] == "warning"]


# ------------------------------------------------------------------ clustering
def test_clustering_comparison_is_ranked_by_silhouette_with_undefined_last(compared):
    result, events = compared["result"], compared["events"]
    board = result["leaderboard"]
    assert result["sort_metric"] == "Silhouette" and [r["rank"] for r in board] == [1, 2, 3, 4]
    assert {r["model_id"] for r in board} == set(CLUSTER_MODELS)
    defined = [r["metrics"]["Silhouette"] for r in board if r["metrics"]["Silhouette"] is not None]
    assert defined == sorted(defined, reverse=True) and len(defined) == 3
    assert board[-1]["model_id"] == "dbscan" and board[-1]["metrics"]["Clusters"] == 0
    assert any("(dbscan) found 0 cluster(s)" in w and "undefined" in w for w in _warnings(events))
    for row in board[:3]:
        m = row["metrics"]
        assert set(m) == {"Silhouette", "Calinski-Harabasz", "Davies-Bouldin", "Clusters", "TT (Sec)"}
        assert -1 <= m["Silhouette"] <= 1 and m["Calinski-Harabasz"] > 0 and m["Davies-Bouldin"] > 0
    # One streamed row per model, in the order tried, each with its child run.
    streamed = [e["row"] for e in events if e["type"] == "leaderboard_row"]
    assert [r["model_id"] for r in streamed] == CLUSTER_MODELS
    by_id = {r["model_id"]: r for r in board}
    for row in streamed:
        final_row = by_id[row["model_id"]]
        assert row["metrics"] == final_row["metrics"] and row["mlflow_run_id"] == final_row["mlflow_run_id"]
    assert result["best_model_id"] == board[0]["model_id"]


def test_elbow_suggestion_sets_the_cluster_count(compared):
    result = compared["result"]
    details = result["details"]
    assert details["task"] == "clustering" and details["clusters_from"] in ("elbow", "model")
    suggested = details["suggested_clusters"]
    # On the raw columns Income dominates the distances and the inertia curve bends at 3 to 5.
    assert 3 <= suggested <= 5, details
    kmeans = next(r for r in result["leaderboard"] if r["model_id"] == "kmeans")
    assert kmeans["metrics"]["Clusters"] == suggested
    assert any(f"using {suggested} clusters, the elbow method's suggestion" in w for w in _warnings(compared["events"]))


def test_labels_are_a_new_table_with_a_cluster_for_every_row(compared, jewellery):
    result = compared["result"]
    [output] = result["outputs"]
    assert output["role"] == "labels" and output["columns"] == ["Cluster"]
    labels = pd.read_parquet(outbox_file("cluster-compare", output))
    source = pd.read_parquet(dataset_file(jewellery))
    assert len(labels) == output["rows"] == len(source)
    assert list(labels.columns) == [*source.columns, "Cluster"]
    pd.testing.assert_frame_equal(labels[source.columns], source)
    assert labels["Cluster"].str.fullmatch(r"Cluster \d+").all()
    assert labels["Cluster"].value_counts().to_dict() == result["details"]["cluster_sizes"]
    assert result["details"]["num_clusters"] == labels["Cluster"].nunique()


def _final_artifacts(client: MlflowClient, run_id: str, folder: str) -> list[str]:
    return sorted(Path(a.path).name for a in client.list_artifacts(run_id, folder))


def _charts(client: MlflowClient, run_id: str, tmp: Path) -> dict[str, dict[str, Any]]:
    local = Path(client.download_artifacts(run_id, "charts", str(tmp)))
    return {p.stem: json.loads(p.read_text()) for p in local.glob("*.json")}


def test_clustering_charts_plots_and_runs(compared, mlflow_server, tmp_path):
    client = MlflowClient(mlflow_server)
    result = compared["result"]
    charts = _charts(client, result["best_run_id"], tmp_path)
    assert set(charts) == {"elbow", "silhouette", "cluster", "distribution"}
    for chart in charts.values():
        assert chart_problems(chart) == [], chart["id"]
    assert f"suggested k = {result['details']['suggested_clusters']}" in charts["elbow"]["note"]
    plots = _final_artifacts(client, result["best_run_id"], "plots")
    assert {"elbow.png", "silhouette.png", "cluster.png", "distribution.png"} <= set(plots)
    # k-means (Silhouette 0.7393 against 0.7391) can draw yellowbrick's intercluster distance map.
    assert result["best_model_id"] == "kmeans" and "distance.png" in plots
    png = Path(client.download_artifacts(result["best_run_id"], "plots/cluster.png", str(tmp_path)))
    assert png.read_bytes()[1:4] == b"PNG"

    parent = client.get_run(result["parent_run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["caretflow.best_run_id"] == result["best_run_id"]
    children = client.search_runs([result["experiment_id"]], f"tags.mlflow.parentRunId = '{result['parent_run_id']}'")
    assert sorted(r.data.tags["caretflow.role"] for r in children) == ["child"] * 4 + ["final"]
    assert all(r.info.status == "FINISHED" for r in children)
    final = client.get_run(result["best_run_id"])
    assert final.data.tags["caretflow.model_sha256"] == result["model_sha256"]
    assert final.data.metrics["Silhouette"] == result["leaderboard"][0]["metrics"]["Silhouette"]


def test_four_clusters_when_asked(four):
    result = four["result"]
    details = result["details"]
    assert details["num_clusters"] == 4 and details["clusters_from"] == "request"
    assert details["scoring"] == "nearest_row"  # agglomerative clustering cannot label new rows
    assert len(details["cluster_sizes"]) == 4 and sum(details["cluster_sizes"].values()) == 505
    assert [r["model_id"] for r in result["leaderboard"]] == ["hclust"]
    assert result["leaderboard"][0]["metrics"]["Clusters"] == 4


# --------------------------------------------------------------------- anomaly
def test_anomaly_fraction_flags_about_that_share(detected, anomaly):
    result = detected["result"]
    details = result["details"]
    assert details["task"] == "anomaly" and details["rows"] == 1000 and details["fraction"] == 0.05
    assert 40 <= details["anomalies"] <= 60
    [output] = result["outputs"]
    assert output["columns"] == ["Anomaly", "Anomaly_Score"]
    labels = pd.read_parquet(outbox_file("anomaly-compare", output))
    assert len(labels) == 1000 and set(labels["Anomaly"]) == {0, 1}
    assert int(labels["Anomaly"].sum()) == details["anomalies"]
    # Anomalies are the rows scoring above the detector's threshold.
    assert (labels.loc[labels["Anomaly"] == 1, "Anomaly_Score"] > details["threshold"]).all()
    assert (labels.loc[labels["Anomaly"] == 0, "Anomaly_Score"] <= details["threshold"]).all()


def test_anomaly_comparison_is_ranked_by_consensus(detected, mlflow_server, tmp_path):
    result = detected["result"]
    board = result["leaderboard"]
    assert result["sort_metric"] == "Consensus" and {r["model_id"] for r in board} == set(DETECTORS)
    consensus = [r["metrics"]["Consensus"] for r in board]
    assert consensus == sorted(consensus, reverse=True) and all(-1 <= c <= 1 for c in consensus)
    assert all(abs(r["metrics"]["Anomaly share"] - 0.05) < 0.011 for r in board)
    client = MlflowClient(mlflow_server)
    charts = _charts(client, result["best_run_id"], tmp_path)
    assert set(charts) == {"anomaly_scores", "anomaly"} and all(chart_problems(c) == [] for c in charts.values())
    assert {"anomaly_scores.png", "anomaly.png"} <= set(_final_artifacts(client, result["best_run_id"], "plots"))
    children = client.search_runs([result["experiment_id"]], f"tags.mlflow.parentRunId = '{result['parent_run_id']}'")
    assert all(r.info.status == "FINISHED" for r in children) and len(children) == len(DETECTORS) + 1
    assert client.get_run(result["parent_run_id"]).info.status == "FINISHED"


# --------------------------------------------------------------------- scoring
def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def _register(mlflow_server: str, run_id: str, name: str) -> str:
    """Register over MLflow's REST API, as caretflow's tracking package does."""
    source = MlflowClient(mlflow_server).get_run(run_id).data.tags["caretflow.model_source"]
    api = f"{mlflow_server}/api/2.0/mlflow"
    _post(f"{api}/registered-models/create", {"name": name})
    version = _post(f"{api}/model-versions/create", {"name": name, "source": source, "run_id": run_id})["model_version"]
    return f"models:/{name}/{version['version']}"


def _predict_spec(mlflow_server: str, uri: str, dataset: dict[str, Any], job_id: str, digest: str) -> dict[str, Any]:
    return {"v": 1, "job_id": job_id, "tracking_uri": mlflow_server, "kind": "predict", "model_uri": uri,
            "input": dataset, "model_sha256": digest}


def _batch_and_online(
    mlflow_server: str, uri: str, dataset: dict[str, Any], job_id: str, tmp_path: Path, digest: str, rows: int = 30
) -> tuple[pd.DataFrame, pd.DataFrame]:
    code, events = run_job(_predict_spec(mlflow_server, uri, dataset, job_id, digest), tmp_path)
    assert_protocol(events)
    assert code == 0, events[-2:]
    batch = pd.read_parquet(outbox_file(job_id, events[-1]["result"]["output"]))
    source = pd.read_parquet(dataset_file(dataset))
    records = json.loads(source.head(rows).to_json(orient="records"))
    serve = FdProcess(["serve"], tmp_path / f"{job_id}.serve.log")
    try:
        assert serve.read(timeout=120) == {"ready": True}
        serve.send({"id": 1, "op": "load", "model_uri": uri, "tracking_uri": mlflow_server, "sha256": digest})
        assert serve.read(timeout=120)["ok"] is True
        serve.send({"id": 2, "op": "predict", "rows": records})
        answer = serve.read(timeout=60)
        assert answer["ok"] is True, answer
        serve.send({"id": 3, "op": "shutdown"})
        serve.read(timeout=10)
    finally:
        serve.kill()
    return batch, pd.DataFrame(answer["predictions"])


def test_clustering_batch_and_online_scoring_agree(four, mlflow_server, jewellery, tmp_path):
    uri = _register(mlflow_server, four["result"]["best_run_id"], "jewellery-hclust")
    digest = four["result"]["model_sha256"]
    batch, online = _batch_and_online(mlflow_server, uri, jewellery, "predict-hclust", tmp_path, digest)
    assert list(online["Cluster"]) == list(batch["Cluster"].head(len(online)))
    # Training rows get back the cluster training assigned them (nearest row = the row itself).
    labels = pd.read_parquet(outbox_file("cluster-four", four["result"]["outputs"][0]))
    assert list(batch["Cluster"]) == list(labels["Cluster"])
    # A new row gets its nearest training row's cluster, never a refit on the scored rows.
    source = pd.read_parquet(dataset_file(jewellery))
    shifted = store_dataset(source.head(3).assign(Income=source["Income"].head(3) + 1), "jewellery-new")
    code, events = run_job(_predict_spec(mlflow_server, uri, shifted, "predict-new", digest), tmp_path)
    assert code == 0
    scored = pd.read_parquet(outbox_file("predict-new", events[-1]["result"]["output"]))
    assert list(scored["Cluster"]) == list(labels["Cluster"].head(3))


def test_anomaly_batch_and_online_scoring_agree(detected, mlflow_server, anomaly, tmp_path):
    uri = _register(mlflow_server, detected["result"]["best_run_id"], "anomaly-detector")
    batch, online = _batch_and_online(mlflow_server, uri, anomaly, "predict-anomaly", tmp_path, detected["result"]["model_sha256"])
    assert list(online["Anomaly"]) == list(batch["Anomaly"].head(len(online)))
    assert np.allclose(online["Anomaly_Score"], batch["Anomaly_Score"].head(len(online)))
    assert set(batch["Anomaly"]) <= {0, 1} and batch["Anomaly_Score"].notna().all()


# ------------------------------------------------------------------- bad input
def test_bad_requests_get_user_errors(mlflow_server, tmp_path):
    tiny = store_dataset(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]}), "tiny")
    for job_id, fields, name, needle in [
        ("too-many", {"task": "clustering", "num_clusters": 4}, "TooManyClusters", "4"),
        ("no-features", {"task": "clustering", "ignore_columns": ["a", "b"]}, "NoFeatures", "ignored"),
        ("bad-sort", {"task": "anomaly", "sort": "Silhouette"}, "UnknownSortMetric", "Silhouette"),
    ]:
        spec = train_spec(job_id, mlflow_server, tiny, **fields)
        del spec["target"]
        code, events = run_job(spec, tmp_path)
        error = error_of(events)
        assert code == 1 and error["name"] == name and needle in error["message"] and error["hint"], error
