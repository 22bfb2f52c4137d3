"""Operations on the runs of a real training job (juice, three models, 3 folds) with real PyCaret and
a real MLflow server: each makes a child run of the training's parent run whose model loads (sha
verified) and scores; tuning keeps the better model, honours a custom grid and a time budget; the
threshold is the one predictions use; requests that cannot apply fail with user errors at once."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from .conftest import dataset_file, demo_dataset, train_spec
from .helpers import assert_protocol, error_of, run_job

MODELS = ["lr", "dt", "knn"]
TRAIN_FIELDS = {"task": "classification", "target": "Purchase", "folds": 3, "include": MODELS}


class Worker:
    """Jobs run as caretflow runs them: one at a time in forked children of a warm worker (the
    session's, which imports PyCaret once for every file)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp

    def run(self, spec: dict[str, Any], timeout: float = 600) -> tuple[int, list[dict[str, Any]]]:
        """The job's exit code and events."""
        return run_job(spec, self.tmp, timeout)


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Worker:
    return Worker(tmp_path_factory.mktemp("ops-worker"))


# The digests caretflow recorded for the saved models of this module's runs (the server keeps them in
# its database and passes them in every OperateSpec).
DIGESTS: dict[str, str] = {}


@pytest.fixture(scope="module")
def trained(mlflow_server: str, juice: dict[str, Any], worker: Worker) -> dict[str, Any]:
    spec = train_spec("ops-train", mlflow_server, juice, experiment_name="ops-tests", **TRAIN_FIELDS)
    code, events = worker.run(spec)
    assert code == 0, events[-2:]
    result = events[-1]["result"]
    DIGESTS[result["best_run_id"]] = result["model_sha256"]
    children = {row["model_id"]: row["mlflow_run_id"] for row in result["leaderboard"]}
    return {"spec": spec, "result": result, "children": children, "worker": worker}


ENVELOPE = ("v", "job_id", "tracking_uri", "kind", "experiment_name", "dataset")


def operate_spec(
    trained: dict[str, Any], job_id: str, source_run: str, operation: dict[str, Any], **train: Any
) -> dict[str, Any]:
    """An OperateSpec as the server builds it: the training spec's task fields rebuild its setup."""
    spec = trained["spec"]
    fields = {k: v for k, v in spec.items() if k not in ENVELOPE}
    return {
        "v": 1,
        "kind": "operate",
        "job_id": job_id,
        "tracking_uri": spec["tracking_uri"],
        "experiment_name": spec["experiment_name"],
        "dataset": spec["dataset"],
        "train": {**fields, **train},
        "source": {"run_id": source_run, "parent_run_id": trained["result"]["parent_run_id"]},
        "operation": operation,
        "tags": {"caretflow.job_id": job_id},
        "model_digests": dict(DIGESTS),
    }


def run_operation(trained: dict[str, Any], job_id: str, source_run: str, operation: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    code, events = trained["worker"].run(operate_spec(trained, job_id, source_run, operation))
    assert_protocol(events)
    assert code == 0, [e for e in events if e["type"] in ("error", "log")][-5:]
    result = events[-1]["result"]
    DIGESTS[result["best_run_id"]] = result["model_sha256"]
    seconds = time.monotonic() - started
    print(f"{job_id}: {seconds:.1f}s, timings {result['timings']}, facts {result['summary']['facts']}")
    return {"result": result, "events": events}


def check_operation_run(
    client: MlflowClient, trained: dict[str, Any], result: dict[str, Any], op: str, source_run: str
) -> Any:
    """The new run: FINISHED, a child of the training's parent, tagged with the operation and its source,
    holding a model that loads (sha verified) and scores the training data."""
    from caretflow_engine.scoring import load_model, score_frame

    assert result["op"] == op and result["source_run_id"] == source_run
    assert result["parent_run_id"] == trained["result"]["parent_run_id"]
    run = client.get_run(result["best_run_id"])
    tags = run.data.tags
    assert run.info.status == "FINISHED"
    assert tags["mlflow.parentRunId"] == trained["result"]["parent_run_id"]
    assert tags["caretflow.role"] == "operation" and tags["caretflow.operation"] == op
    assert tags["caretflow.source_run_id"] == source_run
    assert tags["caretflow.model_sha256"] == result["model_sha256"]
    assert "holdout_Accuracy" in run.data.metrics and "Accuracy" in run.data.metrics
    # plots, charts and the report are the evaluate job's (it follows every operation job on the server)
    assert {"model", "operation"} <= {a.path for a in client.list_artifacts(run.info.run_id)}
    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run.info.run_id, "operation/summary.json", tmp)
        summary = json.loads(Path(local).read_text())
    assert summary["op"]["op"] == op and summary["source_run_id"] == source_run
    assert summary["facts"] == result["summary"]["facts"]
    model = load_model(client, result["model_uri"], result["model_sha256"])
    rows = pd.read_parquet(dataset_file(trained["spec"]["dataset"])).head(50)
    scored = score_frame(model, rows)
    assert set(scored["prediction_label"]) <= {"CH", "MM"} and len(scored) == 50
    return model


def child_metrics(client: MlflowClient, run_id: str) -> dict[str, float]:
    return client.get_run(run_id).data.metrics


def test_tune_a_leaderboard_row_keeps_the_better_model(trained, mlflow_server):
    client = MlflowClient(mlflow_server)
    source = trained["children"]["dt"]
    out = run_operation(trained, "ops-tune", source, {"op": "tune", "search": "optuna", "n_iter": 4})
    result = out["result"]
    check_operation_run(client, trained, result, "tune", source)
    summary = result["summary"]
    facts = summary["facts"]
    assert facts["optimize"] == "Accuracy" == result["sort_metric"]
    assert facts["candidates_tried"] == 4 and facts["search"] == "optuna"
    # The source was recreated in the rebuilt setup: its CV scores are its leaderboard row's.
    assert facts["source_score"] == pytest.approx(child_metrics(client, source)["Accuracy"], abs=1e-4)
    board = result["leaderboard"]
    assert len(board) == 2 and board[0]["mlflow_run_id"] == result["best_run_id"]
    assert board[0]["metrics"]["Accuracy"] >= facts["source_score"]  # never worse than the source
    if facts["kept"] == "tuned":
        assert facts["tuned_score"] > facts["source_score"]
        assert set(summary["params"]) and board[1]["mlflow_run_id"] == source
    else:
        assert board[0]["metrics"]["Accuracy"] == facts["source_score"]
    assert any(e["type"] == "progress" for e in out["events"])


def test_tune_the_final_model_on_a_custom_grid(trained, mlflow_server):
    client = MlflowClient(mlflow_server)
    final = trained["result"]["best_run_id"]
    best_id = trained["result"]["best_model_id"]
    grid = {"lr": {"C": [0.05, 0.5]}, "dt": {"max_depth": [2, 4]}, "knn": {"n_neighbors": [3, 15]}}[best_id]
    operation = {"op": "tune", "search": "grid", "custom_grid": grid, "optimize": "AUC"}
    result = run_operation(trained, "ops-tune-grid", final, operation)["result"]
    check_operation_run(client, trained, result, "tune", final)
    facts, params = result["summary"]["facts"], result["summary"]["params"]
    assert facts["search"] == "grid" and facts["candidates_tried"] == facts["candidates_planned"] == 2
    assert facts["optimize"] == "AUC" == result["sort_metric"]
    (name, values), = grid.items()
    assert params[name] in values  # the search's best candidate comes from the grid


def test_time_budget_stops_a_long_search(trained, mlflow_server):
    source = trained["children"]["lr"]
    operation = {"op": "tune", "n_iter": 1000, "time_budget_minutes": 0.1}
    result = run_operation(trained, "ops-tune-budget", source, operation)["result"]
    facts = result["summary"]["facts"]
    assert facts["stopped_by_budget"] is True and facts["candidates_planned"] == 1000
    assert 1 <= facts["candidates_tried"] < 1000
    assert any("time budget" in note for note in result["summary"]["notes"])
    # 1000 candidates of 3 folds take minutes; the search stopped near its 6 s (plus the source's CV and
    # the last chunk's CV of its best candidate).
    assert result["timings"]["operation"] < 60, result["timings"]


def test_threshold_is_the_one_predictions_use(trained, mlflow_server):
    from caretflow_engine.scoring import score_frame

    client = MlflowClient(mlflow_server)
    source = trained["children"]["lr"]
    result = run_operation(trained, "ops-threshold", source, {"op": "optimize_threshold", "optimize": "F1"})["result"]
    model = check_operation_run(client, trained, result, "optimize_threshold", source)
    threshold = result["summary"]["params"]["probability_threshold"]
    facts = result["summary"]["facts"]
    assert 0 < threshold < 1 and result["sort_metric"] == "F1"
    # The search's objective is PyCaret's own CV score at that threshold, and beats (or ties) 0.5.
    assert facts["cv_score"] == pytest.approx(facts["search_score"], abs=1e-4)
    assert facts["cv_score"] >= facts["score_at_0.5"] - 1e-4 and facts["thresholds_tried"] > 100
    assert model.pipeline.steps[-1][1].probability_threshold == pytest.approx(threshold)
    rows = pd.read_parquet(dataset_file(trained["spec"]["dataset"]))
    features = rows.drop(columns=["Purchase"])
    classes = model.meta["caretflow_classes"]
    proba = model.pipeline.predict_proba(features)[:, 1]
    scored = score_frame(model, rows)
    expected = np.where(proba >= threshold, classes[1], classes[0])
    assert list(scored["prediction_label"]) == list(expected)
    # The score is the predicted class's probability, also where the threshold picked the less likely class.
    picked = np.where(proba >= threshold, proba, 1 - proba)
    assert np.allclose(scored["prediction_score"], picked, atol=1e-4)
    artifacts = {a.path for a in client.list_artifacts(result["best_run_id"], "charts")}
    assert "charts/threshold_search.json" in artifacts


def test_ensemble_blend_calibrate_stack_finalize_create(trained, mlflow_server):
    client = MlflowClient(mlflow_server)
    children, final = trained["children"], trained["result"]["best_run_id"]
    cases = [
        ("ensemble", children["dt"], {"op": "ensemble", "method": "Bagging", "n_estimators": 4}),
        ("blend", children["lr"], {"op": "blend", "with": [{"run_id": children["dt"]}], "method": "soft"}),
        ("calibrate", final, {"op": "calibrate", "method": "isotonic"}),
        ("stack", children["lr"], {"op": "stack", "with": [{"run_id": children["knn"]}], "meta_model": "dt"}),
        ("finalize", children["knn"], {"op": "finalize"}),
        ("create", final, {"op": "create", "model": "dt", "params": {"max_depth": 3}}),
    ]
    for op, source, operation in cases:
        result = run_operation(trained, f"ops-{op}", source, operation)["result"]
        check_operation_run(client, trained, result, op, source)
        assert result["leaderboard"][0]["mlflow_run_id"] == result["best_run_id"]
    knn = client.get_run(children["knn"]).data.metrics["Accuracy"]
    finalized = client.search_runs(
        [trained["result"]["experiment_id"]], "tags.`caretflow.operation` = 'finalize'"
    )[0]
    assert finalized.data.metrics["Accuracy"] == pytest.approx(knn, abs=1e-4)  # nothing else changed
    created = client.search_runs([trained["result"]["experiment_id"]], "tags.`caretflow.operation` = 'create'")[0]
    assert created.data.params["max_depth"] == "3" and created.data.tags["caretflow.model_id"] == "dt"


def expect_user_error(worker: Worker, spec: dict[str, Any], name: str, *words: str, before: str) -> dict[str, Any]:
    """The job fails with the user error ``name`` whose text has ``words``, before reaching stage ``before``."""
    started = time.monotonic()
    code, events = worker.run(spec)
    assert_protocol(events)
    error = error_of(events)
    assert code != 0 and error["name"] == name and error["transient"] is False, error
    text = error["message"] + " " + error.get("hint", "")
    for word in words:
        assert word in text, error
    stages = [e["stage"] for e in events if e["type"] == "stage"]
    assert before not in stages, stages
    assert not any(e["type"] == "run" for e in events)  # no MLflow run was opened
    print(f"{name}: {time.monotonic() - started:.1f}s")
    return error


def test_operations_that_do_not_apply_fail_before_any_work(trained, insurance):
    worker, children, final = trained["worker"], trained["children"], trained["result"]["best_run_id"]

    def spec(job_id, source, operation, **train):
        return operate_spec(trained, job_id, source, operation, **train)

    regression = {"task": "regression", "target": "charges", "include": ["lr"]}
    calibrate = {**spec("ops-err-calibrate", children["lr"], {"op": "calibrate"}, **regression), "dataset": insurance}
    expect_user_error(worker, calibrate, "OperationNotSupported", "regression", "calibrate", before="loading")

    iris = demo_dataset("iris.csv")
    threshold = spec("ops-err-threshold", children["lr"], {"op": "optimize_threshold"}, target="species")
    threshold["dataset"] = iris
    expect_user_error(worker, threshold, "ThresholdNeedsBinaryTarget", "species", "3", before="setup")

    blend = spec("ops-err-blend", children["lr"], {"op": "blend", "with": [{"run_id": children["lr"]}]})
    expect_user_error(worker, blend, "NeedsSeveralModels", "with", before="setup")

    finalize = spec("ops-err-final", final, {"op": "finalize"})
    expect_user_error(worker, finalize, "AlreadyFinalized", final, before="setup")

    # A saved model caretflow has no digest for is never unpickled.
    unrecorded = {**spec("ops-err-unrecorded", final, {"op": "tune"}), "model_digests": {}}
    expect_user_error(worker, unrecorded, "ModelUnverified", final, "no recorded digest", before="setup")

    grid = spec("ops-err-grid", children["lr"], {"op": "tune", "custom_grid": {"C": [1], "depth_of_thought": [2]}})
    error = expect_user_error(worker, grid, "UnknownParameter", "depth_of_thought", "max_iter", before="operation")
    assert "C," not in error["message"]  # only the unknown one is named as wrong

    auc = spec("ops-err-auc", children["lr"], {"op": "optimize_threshold", "optimize": "AUC"})
    expect_user_error(worker, auc, "MetricIgnoresThreshold", "AUC", "F1", before="operation")

    boost = spec("ops-err-boost", children["knn"], {"op": "ensemble", "method": "Boosting"})
    expect_user_error(worker, boost, "BoostingNotSupported", "Bagging", before="operation")
