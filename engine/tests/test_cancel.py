"""SIGTERM in the middle of compare_models: runs end KILLED, `finished` is `cancelled`, exit within seconds."""

from __future__ import annotations

import signal
import time

from mlflow.tracking import MlflowClient

from . import golden
from .conftest import train_spec
from .helpers import JobProcess, assert_protocol


def test_sigterm_mid_compare_cancels_within_seconds(mlflow_server, juice, tmp_path):
    spec = train_spec(
        "cancel-juice", mlflow_server, juice, include=["lr", "rf", "et", "gbc", "lightgbm"], experiment_name="cancel-tests"
    )
    job = JobProcess(spec, tmp_path)
    try:
        # The second model is training (its child run exists once this progress event is out).
        job.wait_for(lambda e: e["type"] == "progress" and "(2 of 5)" in e.get("message", ""), timeout=300)
        sent = time.monotonic()
        job.proc.send_signal(signal.SIGTERM)
        code = job.wait(timeout=60)
        took = time.monotonic() - sent
    finally:
        job.kill()
    events = job.events()
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
    assert statuses["lr"] == "FINISHED"  # done before the cancel
    assert "KILLED" in statuses.values()  # the model being trained when the signal came
    assert "RUNNING" not in statuses.values()
