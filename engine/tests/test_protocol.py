"""Failures a person can cause or meet: each ends in one error event with a hint, then `finished`."""

from __future__ import annotations

import json
import os
import subprocess

import pandas as pd
from mlflow.tracking import MlflowClient

from . import golden
from .conftest import free_port, store_dataset, train_spec
from .helpers import ENGINE_DIR, PYTHON, assert_protocol, error_of, parse_lines, run_cold_job, run_job


def test_bad_target_fails_before_setup_with_a_hint(mlflow_server, juice, tmp_path):
    spec = train_spec("bad-target", mlflow_server, juice, target="Purchased", experiment_name="never-created")
    # In a process of its own (`caretflow_engine run`), as the other tests' jobs run in the warm worker.
    code, events = run_cold_job(spec, tmp_path)
    assert_protocol(events)
    assert code == 1 and events[-1]["status"] == "failed"
    error = error_of(events)
    assert error["name"] == "TargetNotFound" and error["transient"] is False
    assert "Purchase" in error["hint"]  # names the real columns
    assert not any(e["type"] == "stage" and e["stage"] == "setup" for e in events)
    assert MlflowClient(mlflow_server).get_experiment_by_name("never-created") is None
    golden.check("failure", events)


def test_one_class_target_is_a_user_error(mlflow_server, tmp_path):
    dataset = store_dataset(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "label": ["a", "a", "a", "a"]}), "one")
    code, events = run_job(train_spec("one-class", mlflow_server, dataset, target="label"), tmp_path)
    assert code == 1 and error_of(events)["name"] == "TargetOneClass"


def test_invalid_spec_reports_the_field(mlflow_server, juice, tmp_path):
    code, events = run_job(train_spec("bad-spec", mlflow_server, juice, folds=1), tmp_path)
    assert_protocol(events)
    error = error_of(events)
    assert code == 1 and error["name"] == "InvalidJobSpec" and "folds" in error["message"]
    assert events[0]["job_id"] == "bad-spec"


def test_unreadable_spec_file_still_speaks_the_protocol(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text("{not json")
    r, w = os.pipe()
    proc = subprocess.run(
        [PYTHON, "-m", "caretflow_engine", "run", "--spec", str(spec), "--events-fd", str(w)],
        cwd=ENGINE_DIR, pass_fds=(w,), capture_output=True, timeout=120,
    )
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        events = parse_lines(fh.read())
    assert_protocol(events)
    assert proc.returncode == 1 and error_of(events)["name"] == "InvalidJobSpec"


def test_mlflow_unreachable_is_transient(juice, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}"
    code, events = run_cold_job(train_spec("no-mlflow", dead, juice, include=["dt"]), tmp_path)
    assert_protocol(events)
    error = error_of(events)
    assert code == 1 and error["name"] == "MlflowUnreachable" and error["transient"] is True and error["hint"]
    json.dumps(error)


def test_golden_files_are_valid_events():
    from .helpers import event_validator

    names = sorted(p.stem for p in golden.GOLDEN_DIR.glob("*.ndjson"))
    assert {"train", "predict", "failure", "cancel"} <= set(names)
    for name in names:
        events = golden.load(name)
        for event in events:
            assert not list(event_validator().iter_errors(event)), (name, event)
        assert_protocol(events)
