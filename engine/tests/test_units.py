"""Pure parts: spec parsing, training-data checks, the event writer, key sanitizing, serve rows."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from caretflow_engine.data import check_training_data
from caretflow_engine.errors import EngineError, error_info
from caretflow_engine.events import EventWriter
from caretflow_engine.spec import parse_spec
from caretflow_engine.tracking import metric_key

from .helpers import assert_protocol, parse_lines

DATASET = {"name": "d", "version": 1, "content_hash": "h", "rows": 3}


def base_spec(**extra):
    spec = {
        "v": 1, "job_id": "j", "tracking_uri": "http://127.0.0.1:5000", "kind": "train",
        "experiment_name": "e", "dataset": DATASET, "task": "classification", "target": "y",
    }
    spec.update(extra)
    return spec


def test_spec_defaults_match_contract():
    spec = parse_spec(base_spec(unknown_key=1))
    assert spec["train_size"] == 0.7 and spec["folds"] == 5 and spec["seed"] == 123 and spec["n_jobs"] == 1
    assert spec["include"] == [] and spec["exclude"] == [] and spec["ignore_columns"] == [] and spec["tags"] == {}
    assert "sort" not in spec
    assert "unknown_key" not in spec  # zod strips unknown keys; so does the engine


@pytest.mark.parametrize(
    ("change", "where"),
    [({"folds": 1}, "folds"), ({"train_size": 1.5}, "train_size"), ({"task": "ranking"}, "task"), ({"v": 2}, "v")],
)
def test_spec_errors_name_the_field(change, where):
    with pytest.raises(EngineError) as info:
        parse_spec(base_spec(**change))
    assert info.value.name == "InvalidJobSpec" and where in info.value.message and where in (info.value.hint or "")


def test_spec_unknown_kind_lists_kinds():
    with pytest.raises(EngineError) as info:
        parse_spec({**base_spec(), "kind": "tune"})
    assert "train" in info.value.hint and "predict" in info.value.hint


def test_spec_missing_required_field():
    spec = base_spec()
    del spec["target"]
    with pytest.raises(EngineError, match="target"):
        parse_spec(spec)


@pytest.mark.parametrize(
    ("frame", "task", "target", "name"),
    [
        (pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]}), "classification", "nope", "TargetNotFound"),
        (pd.DataFrame({"x": [1, 2, 3], "y": [None, None, None]}), "classification", "y", "TargetAllNull"),
        (pd.DataFrame({"x": [1, 2, 3], "y": ["a", "a", "a"]}), "classification", "y", "TargetOneClass"),
        (pd.DataFrame({"x": [1, 2, 3, 4], "y": ["a", "a", "a", "b"]}), "classification", "y", "TargetClassTooRare"),
        (pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}), "regression", "y", "TargetNotNumeric"),
        (pd.DataFrame({"x": [], "y": []}), "regression", "y", "EmptyDataset"),
    ],
)
def test_training_data_checks(frame, task, target, name):
    with pytest.raises(EngineError) as info:
        check_training_data(frame, task, target, [])
    assert info.value.name == name and info.value.hint and not info.value.transient


def test_target_not_found_hint_lists_columns():
    with pytest.raises(EngineError) as info:
        check_training_data(pd.DataFrame({"alpha": [1, 2], "beta": [0, 1]}), "regression", "gamma", [])
    assert "alpha" in info.value.hint and "beta" in info.value.hint


def test_ignored_columns_must_exist_and_exclude_target():
    df = pd.DataFrame({"x": [1, 2, 3, 4], "z": [1, 1, 2, 2], "y": [0, 1, 0, 1]})
    with pytest.raises(EngineError, match="missing"):
        check_training_data(df, "classification", "y", ["missing"])
    with pytest.raises(EngineError) as info:
        check_training_data(df, "classification", "y", ["y"])
    assert info.value.name == "TargetIgnored"
    check_training_data(df, "classification", "y", ["z"])  # valid request passes


def test_event_writer_numbers_lines_and_stops_after_finished():
    r, w = os.pipe()
    writer = EventWriter(w, "job-1", clock=lambda: "2026-01-01T00:00:00.000Z")
    writer.emit("started", pid=1, versions={"python": "3.11"})
    writer.stage("loading", "x")
    writer.emit("leaderboard_row", row={"model_id": "lr", "model_name": "LR", "metrics": {"AUC": float("nan")}, "fit_seconds": 0.1})
    writer.emit("finished", status="succeeded")
    with pytest.raises(RuntimeError):
        writer.emit("log", level="info", message="late")
    os.close(w)
    data = os.read(r, 1 << 20)
    os.close(r)
    events = parse_lines(data)
    assert_protocol(events)
    assert events[2]["row"]["metrics"]["AUC"] is None  # NaN is not JSON; it becomes null
    assert data.count(b"\n") == 4


def test_metric_keys_are_mlflow_safe():
    assert metric_key("TT (Sec)") == "TT_Sec"
    assert metric_key("Prec.") == "Prec."
    assert metric_key("R2") == "R2"


def test_error_info_for_unexpected_and_connection_errors():
    info = error_info(ValueError("boom"))
    assert info["name"] == "ValueError" and info["message"] == "boom" and info["transient"] is False and info["hint"]
    wrapped = RuntimeError("API request failed")
    wrapped.__cause__ = ConnectionRefusedError("Connection refused")
    conn = error_info(wrapped)
    assert conn["transient"] is True and conn["name"] == "MlflowUnreachable"
    json.dumps(conn)
