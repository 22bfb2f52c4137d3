"""A free-text column as a feature of a classifier: spam detection on the SMS corpus, with PyCaret's
text_features (TF-IDF), then scoring messages the model never saw online."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from .conftest import store_dataset, train_spec
from .helpers import REPO_DIR, FdProcess, assert_protocol, run_job

MODELS = ["lr", "nb"]


@pytest.fixture(scope="module")
def spam_run(mlflow_server: str, data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spam = store_dataset(pd.read_csv(REPO_DIR / "demo-data/spam.csv", encoding="latin-1"), "spam-labelled")
    spec = train_spec("train-spam", mlflow_server, spam, target="label", text_columns=["text"], include=MODELS, folds=3,
                      experiment_name="spam-tests")
    code, events = run_job(spec, tmp_path_factory.mktemp("spam"))
    return {"code": code, "events": events, "result": events[-1].get("result")}


def test_a_text_column_trains_a_spam_classifier(spam_run):
    events = spam_run["events"]
    assert_protocol(events)
    assert spam_run["code"] == 0, events[-3:]
    result = spam_run["result"]
    assert {row["model_id"] for row in result["leaderboard"]} == set(MODELS)
    # 87% of the messages are ham: the words must carry the model well past that
    assert result["leaderboard"][0]["metrics"]["Accuracy"] >= 0.95
    assert result["details"]["classes"] == ["ham", "spam"]


def test_new_messages_are_scored_online(spam_run, mlflow_server, tmp_path):
    serve = FdProcess(["serve"], tmp_path / "serve.log")
    try:
        assert serve.read(timeout=120) == {"ready": True}
        serve.send({"id": 1, "op": "load", "model_uri": spam_run["result"]["model_uri"], "tracking_uri": mlflow_server,
                    "sha256": spam_run["result"]["model_sha256"]})
        loaded = serve.read(timeout=120)
        assert loaded["ok"] is True, loaded
        assert loaded["model"]["features"] == [{"name": "text", "type": "string"}]
        rows = [
            {"text": "URGENT! You have WON a guaranteed £1000 cash prize. To claim txt CLAIM to 81010 now"},
            {"text": "FREE entry to win a brand new mobile phone, reply WIN to 87121. T&Cs apply"},
            {"text": "Sorry I'm late, see you at home for dinner"},
            {"text": "Ok lor, I'll call you when I get there"},
        ]
        serve.send({"id": 2, "op": "predict", "rows": rows})
        answer = serve.read(timeout=60)
        assert answer["ok"] is True, answer
        assert [p["prediction_label"] for p in answer["predictions"]] == ["spam", "spam", "ham", "ham"]
        serve.send({"id": 3, "op": "shutdown"})
        assert serve.read(timeout=10) == {"id": 3, "ok": True}
    finally:
        serve.kill()
