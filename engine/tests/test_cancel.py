"""SIGTERM in the middle of compare_models: runs end KILLED, `finished` is `cancelled`, exit within seconds."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from . import golden
from .conftest import train_spec
from .helpers import assert_protocol, cancel_job


@pytest.mark.parametrize("workers", [1, 2])  # compare_models itself; models side by side in helpers
def test_sigterm_mid_compare_cancels_within_seconds(mlflow_server, juice, tmp_path, workers):
    spec = train_spec(
        f"cancel-juice-{workers}", mlflow_server, juice, include=["lr", "rf", "et", "gbc", "lightgbm"],
        experiment_name="cancel-tests", workers=workers,
    )
    # The second model is training (its child run exists once this progress event is out).
    second = lambda e: e["type"] == "progress" and "(2 of 5)" in e.get("message", "")  # noqa: E731
    code, took, events = cancel_job(spec, tmp_path, second)
    assert_protocol(events)
    assert code == 0 and events[-1]["status"] == "cancelled"
    assert took < 15, f"cancel took {took:.1f}s"
    golden.check("cancel", events, prefix_until="stage:compare")

    client = MlflowClient(mlflow_server)
    parent_id = next(e["run_id"] for e in events if e["type"] == "run" and e["role"] == "parent")
    assert client.get_run(parent_id).info.status == "KILLED"
    children = client.search_runs(
        [client.get_run(parent_id).info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    statuses = {r.data.tags["caretflow.model_id"]: r.info.status for r in children}
    assert "FINISHED" in statuses.values()  # a model done before the cancel
    if workers == 1:
        assert statuses["lr"] == "FINISHED"  # compare_models' first model
    assert "KILLED" in statuses.values()  # the model being trained when the signal came
    assert "RUNNING" not in statuses.values()
