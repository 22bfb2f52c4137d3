"""The topics task end to end on the SMS spam corpus: a real training job logged to a real MLflow
server, its topic_weights output, then registering, batch-scoring and online-scoring the model."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from caretflow_engine.scoring import records

from .conftest import dataset_file, outbox_file, store_dataset, train_spec
from .helpers import REPO_DIR, FdProcess, assert_protocol, cancel_job, error_of, predict_job_spec, register_model, run_job
from .ml_helpers import assert_chart

NUM_TOPICS = 5


def topics_spec(job_id: str, tracking_uri: str, dataset: dict[str, Any], **fields: Any) -> dict[str, Any]:
    spec = train_spec(job_id, tracking_uri, dataset, task="topics", experiment_name="topics-tests",
                      **{"text_column": "text", **fields})
    spec.pop("target")
    return spec


@pytest.fixture(scope="module")
def spam(data_root: Path) -> dict[str, Any]:
    # pycaret/datasets ships spam.csv in Latin-1
    return store_dataset(pd.read_csv(REPO_DIR / "demo-data/spam.csv", encoding="latin-1"), "spam")


@pytest.fixture(scope="module")
def nmf_run(mlflow_server: str, spam: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = topics_spec("topics-spam", mlflow_server, spam, num_topics=NUM_TOPICS)
    code, events = run_job(spec, tmp_path_factory.mktemp("topics"))
    return {"code": code, "events": events, "result": events[-1].get("result")}


def test_training_respects_the_topic_count_and_writes_weights_per_document(nmf_run, spam):
    events = nmf_run["events"]
    assert_protocol(events)
    assert nmf_run["code"] == 0, events[-3:]
    result = nmf_run["result"]
    details = result["details"]
    assert details["task"] == "topics" and details["num_topics"] == NUM_TOPICS
    assert [t["topic"] for t in details["topics"]] == list(range(NUM_TOPICS))
    assert all(len(t["words"]) == 10 and len(set(t["words"])) == 10 for t in details["topics"])
    coherence = details["coherence"]
    assert math.isfinite(coherence) and coherence <= math.log(2)  # UMass is at most log 2

    source = pd.read_parquet(dataset_file(spam))
    [output] = result["outputs"]
    columns = [f"Topic_{k}" for k in range(NUM_TOPICS)] + ["Dominant_Topic", "Perc_Dominant_Topic"]
    assert output == {"role": "topic_weights", "file": "topic_weights.parquet", "rows": len(source), "columns": columns}
    weights = pd.read_parquet(outbox_file("topics-spam", output))
    assert list(weights.columns) == [*source.columns, *columns]
    pd.testing.assert_frame_equal(weights[source.columns], source)
    known = weights["Dominant_Topic"].notna()
    assert known.mean() > 0.95  # a few messages hold only stop words or numbers
    topic = weights.loc[known, columns[:NUM_TOPICS]].to_numpy()
    np.testing.assert_allclose(topic.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_array_equal(topic.argmax(axis=1), weights.loc[known, "Dominant_Topic"].to_numpy())
    np.testing.assert_allclose(topic.max(axis=1), weights.loc[known, "Perc_Dominant_Topic"].to_numpy())
    assert weights.loc[~known, columns[:NUM_TOPICS]].isna().all().all()
    sizes = weights["Dominant_Topic"].value_counts()
    assert [t["documents"] for t in details["topics"]] == [int(sizes.get(k, 0)) for k in range(NUM_TOPICS)]
    assert any(e["type"] == "warning" and "no word of the vocabulary" in e["message"] for e in events)

    [row] = result["leaderboard"]
    assert row["rank"] == 1 and row["model_id"] == "nmf" and result["best_model_id"] == "nmf"
    assert row["metrics"]["Coherence"] == coherence and -1 <= row["metrics"]["NPMI"] <= 1
    assert result["sort_metric"] == "Coherence" and row["mlflow_run_id"] == result["best_run_id"]
    assert {"loading", "fit", "assign", "logging", "total"} <= set(result["timings"])


def test_mlflow_runs_hold_the_model_metrics_charts_and_plots(nmf_run, mlflow_server, spam):
    client = MlflowClient(mlflow_server)
    result = nmf_run["result"]
    parent = client.get_run(result["parent_run_id"])
    assert parent.info.status == "FINISHED" and parent.data.tags["caretflow.role"] == "parent"
    assert parent.data.tags["caretflow.best_run_id"] == result["best_run_id"]
    assert parent.data.params["num_topics"] == str(NUM_TOPICS) and parent.data.params["text_column"] == "text"
    assert parent.inputs.dataset_inputs[0].dataset.name == "spam@v1"
    children = client.search_runs([result["experiment_id"]], f"tags.mlflow.parentRunId = '{result['parent_run_id']}'")
    assert [r.info.run_id for r in children] == [result["best_run_id"]]
    final = children[0]
    assert final.info.status == "FINISHED" and final.data.tags["caretflow.role"] == "final"
    assert final.data.tags["caretflow.model_sha256"] == result["model_sha256"]
    assert final.data.metrics["Coherence"] == pytest.approx(result["details"]["coherence"])
    assert final.data.metrics["documents"] == spam["rows"]
    assert final.data.params["method"] == "nmf"
    plots = {Path(a.path).name for a in client.list_artifacts(final.info.run_id, "plots")}
    assert plots == {"topic_words.png", "topic_distribution.png"}
    charts = {Path(a.path).name for a in client.list_artifacts(final.info.run_id, "charts")}
    assert charts == {f"topic_words_{k}.json" for k in range(NUM_TOPICS)} | {"topic_distribution.json"}
    local = client.download_artifacts(final.info.run_id, "charts/topic_words_0.json")
    chart = assert_chart(json.loads(Path(local).read_text()))
    assert [p[0] for p in chart["series"][0]["points"]] == result["details"]["topics"][0]["words"]
    png = Path(client.download_artifacts(final.info.run_id, "plots/topic_words.png"))
    assert png.read_bytes()[1:4] == b"PNG" and png.stat().st_size > 10_000


@pytest.fixture(scope="module")
def registered(nmf_run, mlflow_server) -> str:
    return register_model(mlflow_server, nmf_run["result"]["best_run_id"], "spam-topics")


def test_registered_model_scores_the_same_in_batch_and_online(registered, nmf_run, mlflow_server, spam, tmp_path):
    trained = pd.read_parquet(outbox_file("topics-spam", nmf_run["result"]["outputs"][0]))
    new = pd.DataFrame({"id": [1, 2, 3, 4], "text": [
        "WINNER! You have won a free prize, call now to claim", "ok see you later at home", "", None]})
    fresh = store_dataset(pd.concat([trained[["text"]].head(50), new[["text"]]], ignore_index=True), "spam-new")
    digest = nmf_run["result"]["model_sha256"]
    code, events = run_job(predict_job_spec("predict-topics", mlflow_server, registered, fresh, model_sha256=digest), tmp_path)
    assert_protocol(events)
    assert code == 0, events[-3:]
    result = events[-1]["result"]
    columns = [f"Topic_{k}" for k in range(NUM_TOPICS)] + ["Dominant_Topic", "Perc_Dominant_Topic"]
    assert result["prediction_columns"] == columns and result["rows"] == 54
    batch = pd.read_parquet(outbox_file("predict-topics", result["output"]))
    # the registered model gives the training job's own weights for the training rows
    pd.testing.assert_frame_equal(batch[columns].head(50), trained[columns].head(50))
    assert batch["Dominant_Topic"].tail(2).isna().all()  # empty and null text: no topic

    serve = FdProcess(["serve"], tmp_path / "serve.log")
    try:
        assert serve.read(timeout=120) == {"ready": True}
        serve.send({"id": 1, "op": "load", "model_uri": registered, "tracking_uri": mlflow_server, "sha256": digest})
        loaded = serve.read(timeout=120)
        assert loaded["ok"] is True, loaded
        assert loaded["model"]["task"] == "topics" and loaded["model"]["prediction_columns"] == columns
        assert loaded["model"]["features"] == [{"name": "text", "type": "string"}]
        rows = json.loads(pd.concat([trained[["text"]].head(50), new], ignore_index=True).to_json(orient="records"))
        serve.send({"id": 2, "op": "predict", "rows": rows})
        answer = serve.read(timeout=60)
        assert answer["ok"] is True, answer
        assert answer["columns"] == columns and answer["aligned"] is True
        online = pd.DataFrame(answer["predictions"])
        assert answer["predictions"] == records(batch[columns])  # the same floats, nulls where no topic
        assert online["Dominant_Topic"].tail(2).isna().all()
        serve.send({"id": 3, "op": "predict", "rows": [{"message": "hello"}]})
        bad = serve.read(timeout=30)
        assert bad["ok"] is False and bad["error"]["name"] == "MissingFeatureColumns" and "text" in bad["error"]["hint"]
        serve.send({"id": 4, "op": "shutdown"})
        assert serve.read(timeout=10) == {"id": 4, "ok": True}
    finally:
        serve.kill()


def test_saved_model_also_serves_through_mlflow_pyfunc(nmf_run, mlflow_server, tmp_path):
    import mlflow.pyfunc

    local = MlflowClient(mlflow_server).download_artifacts(nmf_run["result"]["best_run_id"], "model", str(tmp_path))
    model = mlflow.pyfunc.load_model(local)
    got = model.predict(pd.DataFrame({"text": ["free prize call now", "see you at home"]}))
    assert list(got.columns)[:NUM_TOPICS] == [f"Topic_{k}" for k in range(NUM_TOPICS)] and len(got) == 2


def test_lda_on_a_sample(mlflow_server, spam, tmp_path):
    sample = store_dataset(pd.read_parquet(dataset_file(spam)).sample(1500, random_state=3), "spam-sample")
    code, events = run_job(topics_spec("topics-lda", mlflow_server, sample, method="lda", num_topics=3, top_words=6),
                           tmp_path)
    assert_protocol(events)
    assert code == 0, events[-3:]
    result = events[-1]["result"]
    assert result["best_model_id"] == "lda" and result["best_model_name"] == "Latent Dirichlet Allocation"
    assert result["details"]["num_topics"] == 3 and all(len(t["words"]) == 6 for t in result["details"]["topics"])
    assert math.isfinite(result["details"]["coherence"])
    assert sum(t["documents"] for t in result["details"]["topics"]) <= 1500
    weights = pd.read_parquet(outbox_file("topics-lda", result["outputs"][0]))
    assert len(weights) == 1500 and weights["Dominant_Topic"].dropna().isin([0, 1, 2]).all()


def test_clear_errors_for_a_missing_or_non_text_column(mlflow_server, spam, tmp_path):
    code, events = run_job(topics_spec("topics-missing", mlflow_server, spam, text_column="body"), tmp_path)
    error = error_of(events)
    assert code == 1 and error["name"] == "ColumnNotFound"
    assert "body" in error["message"] and "text" in error["hint"]
    assert not any(e["type"] == "run" for e in events)  # refused before any MLflow run

    numbers = store_dataset(pd.DataFrame({"text": np.arange(40.0), "label": ["a"] * 40}), "numbers")
    code, events = run_job(topics_spec("topics-numbers", mlflow_server, numbers), tmp_path)
    error = error_of(events)
    assert code == 1 and error["name"] == "NotText" and "'text'" in error["message"]
    runs = [e["run_id"] for e in events if e["type"] == "run"]
    client = MlflowClient(mlflow_server)
    assert runs and all(client.get_run(r).info.status == "FAILED" for r in runs)


def test_sigterm_mid_fit_cancels_within_seconds(mlflow_server, spam, tmp_path):
    # LDA with 200 passes over the corpus takes minutes: the signal lands in the middle of the fit.
    spec = topics_spec("topics-cancel", mlflow_server, spam, method="lda", num_topics=20, max_iter=200)
    fitting = lambda e: e["type"] == "progress" and e.get("message", "").startswith("Fitting")  # noqa: E731
    code, took, events = cancel_job(spec, tmp_path, fitting, timeout=120, settle=1.0)
    assert_protocol(events)
    assert code == 0 and events[-1]["status"] == "cancelled", events[-3:]
    assert took < 15, f"cancel took {took:.1f}s"
    runs = [e["run_id"] for e in events if e["type"] == "run"]
    client = MlflowClient(mlflow_server)
    assert runs and all(client.get_run(r).info.status == "KILLED" for r in runs)
    assert not [e for e in events if e["type"] == "stage" and e.get("stage") == "assign"]  # stopped inside the fit


def test_catalog_entries_of_the_text_and_association_families_follow_the_contract():
    from caretflow_engine.tasks import family_for
    from caretflow_engine.versions import library_versions

    from .helpers import event_validator

    tasks = [family_for(t).describe(t, None) for t in ("topics", "association_rules")]
    gpu = {"available": False, "detail": "test"}
    catalog = {"version": 1, "versions": library_versions(), "gpu": gpu, "tasks": tasks}
    event = {"v": 1, "seq": 0, "ts": "2024-01-01T00:00:00.000Z", "job_id": "catalog", "type": "finished",
             "status": "succeeded", "result": {"kind": "catalog", "catalog": catalog}}
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in event_validator().iter_errors(event)]
    assert not problems, problems
    topics, rules = tasks
    assert [f["name"] for f in topics["fields"]][:2] == ["text_column", "method"]
    assert next(f for f in topics["fields"] if f["name"] == "text_column")["required"] is True
    assert [m["id"] for m in topics["models"]] == ["nmf", "lda"] and topics["operations"] == []
    assert topics["metrics"][0] == {"id": "coherence", "name": "Coherence", "greaterIsBetter": True, "multiclass": True}
    assert all(p["chart"] for p in topics["plots"] + rules["plots"])
    item = next(f for f in rules["fields"] if f["name"] == "item_column")
    assert item["when"] == {"layout": "transactions"} and item["type"] == "column"
    assert rules["models"][0]["installed"] is True  # mlxtend is in the engine's environment
