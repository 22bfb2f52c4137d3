"""The association_rules task end to end: rules on france.csv (transactions layout) and on a small
basket table, logged to a real MLflow server, then registering, batch-scoring and online-scoring the
recommendations, and the errors a person can cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from caretflow_engine.scoring import records

from .conftest import dataset_file, demo_dataset, outbox_file, store_dataset, train_spec
from .helpers import FdProcess, assert_protocol, error_of, predict_job_spec, register_model, run_job
from .ml_helpers import assert_chart

THRESHOLDS = {"min_support": 0.03, "min_confidence": 0.5, "min_lift": 1.0}
ADDED = ["recommendations", "recommendation_lift", "rules_matched"]


def rules_spec(job_id: str, tracking_uri: str, dataset: dict[str, Any], **fields: Any) -> dict[str, Any]:
    spec = train_spec(job_id, tracking_uri, dataset, task="association_rules", experiment_name="rules-tests", **fields)
    spec.pop("target")
    return spec


def france_spec(job_id: str, tracking_uri: str, dataset: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return rules_spec(job_id, tracking_uri, dataset, **{
        "transaction_column": "InvoiceNo", "item_column": "Description", **THRESHOLDS, **fields})


@pytest.fixture(scope="module")
def france(data_root: Path) -> dict[str, Any]:
    return demo_dataset("france.csv")


@pytest.fixture(scope="module")
def france_run(mlflow_server: str, france: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = france_spec("rules-france", mlflow_server, france, ignore_items=["POSTAGE"])
    code, events = run_job(spec, tmp_path_factory.mktemp("rules"))
    return {"code": code, "events": events, "result": events[-1].get("result")}


def test_france_rules_meet_the_thresholds(france_run, france):
    events = france_run["events"]
    assert_protocol(events)
    assert france_run["code"] == 0, events[-3:]
    result = france_run["result"]
    details = result["details"]
    # 461 invoices, 13 of them only POSTAGE: a basket left empty by ignore_items is no transaction
    assert details["task"] == "association_rules" and details["transactions"] == 448
    assert details["rules"] > 0 and details["itemsets"] >= details["rules"] // 2

    outputs = {o["role"]: o for o in result["outputs"]}
    assert set(outputs) == {"rules", "itemsets"}
    rules = pd.read_parquet(outbox_file("rules-france", outputs["rules"]))
    itemsets = pd.read_parquet(outbox_file("rules-france", outputs["itemsets"]))
    assert len(rules) == details["rules"] == outputs["rules"]["rows"]
    assert len(itemsets) == details["itemsets"] == outputs["itemsets"]["rows"]
    assert outputs["rules"]["columns"] == list(rules.columns) == [
        "antecedents", "consequents", "antecedent_support", "consequent_support", "support", "confidence", "lift",
        "leverage", "conviction"]
    assert (rules["support"] >= THRESHOLDS["min_support"]).all()
    assert (rules["confidence"] >= THRESHOLDS["min_confidence"]).all()
    assert (rules["lift"] >= THRESHOLDS["min_lift"]).all()
    assert (itemsets["support"] >= THRESHOLDS["min_support"]).all() and itemsets["length"].max() <= 3

    known = set(pd.read_parquet(dataset_file(france))["Description"].dropna().str.strip())
    antecedents, consequents = rules["antecedents"].map(json.loads), rules["consequents"].map(json.loads)
    members = {i for items in [*antecedents, *consequents, *itemsets["items"].map(json.loads)] for i in items}
    assert members <= known and "POSTAGE" not in members
    assert all(a and c and not set(a) & set(c) for a, c in zip(antecedents, consequents))

    top = details["top_rules"]
    assert len(top) == 10 and [r["lift"] for r in top] == sorted((r["lift"] for r in top), reverse=True)
    assert top[0]["lift"] == pytest.approx(rules["lift"].max())
    assert top[0]["antecedents"] == antecedents[0] and top[0]["consequents"] == consequents[0]
    [row] = result["leaderboard"]
    assert row["model_id"] == "apriori" and row["metrics"] == {
        "Rules": len(rules), "Itemsets": len(itemsets), "Max lift": pytest.approx(rules["lift"].max())}
    assert result["sort_metric"] is None


def test_rule_count_falls_as_the_thresholds_rise(mlflow_server, france_run, france, tmp_path):
    spec = france_spec("rules-france-strict", mlflow_server, france, ignore_items=["POSTAGE"], min_support=0.05,
                       min_confidence=0.6)
    code, events = run_job(spec, tmp_path)
    assert code == 0, events[-3:]
    strict = events[-1]["result"]["details"]
    assert 0 < strict["rules"] < france_run["result"]["details"]["rules"]


def test_mlflow_runs_hold_the_model_charts_and_plots(france_run, mlflow_server):
    client = MlflowClient(mlflow_server)
    result = france_run["result"]
    parent = client.get_run(result["parent_run_id"])
    assert parent.info.status == "FINISHED" and parent.data.params["min_support"] == "0.03"
    assert parent.data.params["layout"] == "transactions" and "separator" not in parent.data.params
    final = client.get_run(result["best_run_id"])
    assert final.info.status == "FINISHED" and final.data.tags["caretflow.role"] == "final"
    assert final.data.tags["mlflow.parentRunId"] == result["parent_run_id"]
    assert final.data.metrics["Rules"] == result["details"]["rules"] and final.data.metrics["transactions"] == 448
    plots = {Path(a.path).name for a in client.list_artifacts(final.info.run_id, "plots")}
    assert plots == {"rules_scatter.png", "rules_top.png"}
    for name in ("rules_scatter", "rules_top"):
        local = client.download_artifacts(final.info.run_id, f"charts/{name}.json")
        chart = assert_chart(json.loads(Path(local).read_text()))
        assert chart["id"] == name
    scatter = json.loads(Path(client.download_artifacts(final.info.run_id, "charts/rules_scatter.json")).read_text())
    assert sum(len(s["points"]) for s in scatter["series"]) == result["details"]["rules"]


@pytest.fixture(scope="module")
def registered(france_run, mlflow_server) -> str:
    return register_model(mlflow_server, france_run["result"]["best_run_id"], "france-rules")


def test_recommendations_agree_in_batch_and_online(registered, france_run, mlflow_server, france, tmp_path):
    digest = france_run["result"]["model_sha256"]
    code, events = run_job(predict_job_spec("predict-rules", mlflow_server, registered, france, model_sha256=digest), tmp_path)
    assert_protocol(events)
    assert code == 0, events[-3:]
    result = events[-1]["result"]
    assert result["prediction_columns"] == ["InvoiceNo", *ADDED]
    batch = pd.read_parquet(outbox_file("predict-rules", result["output"]))
    assert list(batch.columns) == ["InvoiceNo", *ADDED] and len(batch) == 461  # one row per invoice
    source = pd.read_parquet(dataset_file(france))
    assert batch["InvoiceNo"].tolist() == list(dict.fromkeys(source["InvoiceNo"]))
    fired = batch[batch["rules_matched"] > 0]
    assert len(fired) > 0 and fired["recommendations"].notna().all()
    baskets = source.assign(item=source["Description"].str.strip()).groupby("InvoiceNo")["item"].agg(set)
    for invoice, recs in zip(fired["InvoiceNo"], fired["recommendations"]):
        assert not set(json.loads(recs)) & baskets[invoice]  # never what the basket holds
    assert batch.loc[batch["rules_matched"] == 0, "recommendations"].isna().all()

    unfired = batch.loc[batch["rules_matched"] == 0, "InvoiceNo"]
    invoices = fired["InvoiceNo"].head(15).tolist() + unfired.head(3).tolist()
    rows = json.loads(source[source["InvoiceNo"].isin(invoices)].to_json(orient="records"))
    serve = FdProcess(["serve"], tmp_path / "serve.log")
    try:
        assert serve.read(timeout=120) == {"ready": True}
        serve.send({"id": 1, "op": "load", "model_uri": registered, "tracking_uri": mlflow_server, "sha256": digest})
        loaded = serve.read(timeout=120)
        assert loaded["ok"] is True, loaded
        assert loaded["model"]["task"] == "association_rules"
        assert [f["name"] for f in loaded["model"]["features"]] == ["InvoiceNo", "Description"]
        serve.send({"id": 2, "op": "predict", "rows": rows})
        answer = serve.read(timeout=60)
        assert answer["ok"] is True, answer
        assert answer["columns"] == ["InvoiceNo", *ADDED] and answer["aligned"] is False  # one row per invoice
        expected = batch.set_index("InvoiceNo").loc[[r["InvoiceNo"] for r in answer["predictions"]]].reset_index()
        assert sorted(r["InvoiceNo"] for r in answer["predictions"]) == sorted(invoices)
        assert answer["predictions"] == records(expected)
        serve.send({"id": 3, "op": "predict", "rows": [{"InvoiceNo": "1"}]})
        bad = serve.read(timeout=30)
        assert bad["ok"] is False and bad["error"]["name"] == "MissingFeatureColumns"
        assert "Description" in bad["error"]["hint"]
        serve.send({"id": 4, "op": "shutdown"})
        assert serve.read(timeout=10) == {"id": 4, "ok": True}
    finally:
        serve.kill()


# The textbook baskets (Tan, Steinbach & Kumar), with an item whose name holds " & ".
SHOP = pd.DataFrame({
    "order": ["t1", "t2", "t3", "t4", "t5"],
    "items": ["bread, milk", "bread,diapers, fish & chips,eggs", "milk,diapers,fish & chips,cola",
              "bread,milk,diapers,fish & chips", " bread ,milk,diapers,cola,"],
})


def test_basket_layout_trains_and_scores_per_row(mlflow_server, tmp_path):
    shop = store_dataset(SHOP, "shop")
    spec = rules_spec("rules-shop", mlflow_server, shop, layout="basket", basket_column="items", min_support=0.6,
                      min_confidence=0.7, min_lift=1.0)
    code, events = run_job(spec, tmp_path)
    assert_protocol(events)
    assert code == 0, events[-3:]
    result = events[-1]["result"]
    assert result["details"]["transactions"] == 5 and result["details"]["rules"] == 2
    assert [(r["antecedents"], r["consequents"], r["confidence"]) for r in result["details"]["top_rules"]] == [
        (["fish & chips"], ["diapers"], 1.0), (["diapers"], ["fish & chips"], 0.75)]
    uri = register_model(mlflow_server, result["best_run_id"], "shop-rules")
    baskets = store_dataset(pd.DataFrame({"customer": [1, 2, 3], "items": ["fish & chips", "diapers,eggs", "cola"]}),
                            "baskets")
    code, events = run_job(predict_job_spec("predict-shop", mlflow_server, uri, baskets, model_sha256=result["model_sha256"]), tmp_path)
    assert code == 0, events[-3:]
    scored = pd.read_parquet(outbox_file("predict-shop", events[-1]["result"]["output"]))
    assert list(scored.columns) == ["customer", "items", *ADDED]  # the input rows, with recommendations added
    # items are JSON arrays, so a name holding " & " reads back whole
    assert scored["recommendations"].tolist() == ['["diapers"]', '["fish & chips"]', None]
    rules = pd.read_parquet(outbox_file("rules-shop", result["outputs"][0]))
    assert rules["antecedents"].map(json.loads).tolist() == [["fish & chips"], ["diapers"]]
    assert scored["rules_matched"].tolist() == [1, 1, 0]


def test_clear_errors_for_missing_columns_and_no_rules(mlflow_server, france, tmp_path):
    code, events = run_job(france_spec("rules-no-item", mlflow_server, france, item_column="Item"), tmp_path)
    error = error_of(events)
    assert code == 1 and error["name"] == "ColumnNotFound" and "'Item'" in error["message"]
    assert "Description" in error["hint"] and not any(e["type"] == "run" for e in events)

    code, events = run_job(france_spec("rules-gpu", mlflow_server, france, use_gpu="on"), tmp_path)
    error = error_of(events)
    assert code == 1 and error["name"] == "GpuNotSupported" and "'auto'" in error["hint"]

    spec = france_spec("rules-unset", mlflow_server, france)
    del spec["item_column"]
    code, events = run_job(spec, tmp_path)
    error = error_of(events)
    assert code == 1 and error["name"] == "ColumnMissing" and "item column" in error["message"]

    spec = france_spec("rules-none", mlflow_server, france, min_confidence=0.99, min_lift=30.0)
    code, events = run_job(spec, tmp_path)
    error = error_of(events)
    assert code == 1 and error["name"] == "NoRules"
    assert "min_confidence" in error["hint"] or "min_lift" in error["hint"]
    runs = [e["run_id"] for e in events if e["type"] == "run"]
    client = MlflowClient(mlflow_server)
    assert runs and all(client.get_run(r).info.status == "FAILED" for r in runs)
