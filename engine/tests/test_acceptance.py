"""Acceptance figures on insurance (regression); juice is covered in test_train.py."""

from __future__ import annotations

import pytest

from .conftest import train_spec
from .helpers import assert_protocol, run_job

# Regressors that PyCaret's comparison ranks near the top on insurance, plus baselines;
# the rest of the library is left out to keep the suite within minutes on two cores.
INSURANCE_MODELS = ["lr", "dt", "rf", "gbr", "lightgbm"]


@pytest.mark.slow
def test_insurance_best_r2(mlflow_server, insurance, tmp_path):
    spec = train_spec(
        "train-insurance", mlflow_server, insurance, task="regression", target="charges",
        include=INSURANCE_MODELS, experiment_name="insurance-tests",
    )
    code, events = run_job(spec, tmp_path)
    assert_protocol(events)
    assert code == 0, [e.get("error") for e in events[-2:]]
    result = events[-1]["result"]
    assert result["sort_metric"] == "R2"
    board = result["leaderboard"]
    assert board[0]["metrics"]["R2"] >= 0.80, board
    for row in board:
        assert {"MAE", "MSE", "RMSE", "R2", "RMSLE", "MAPE", "TT (Sec)"} <= set(row["metrics"])
    # plots and charts come from the evaluate job that follows (test_train.py checks them)
