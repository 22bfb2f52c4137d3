"""The forecasting family end to end on real PyCaret and a real MLflow: pycaret_downloads (daily, dates
like 7/8/2021) trained, registered and scored in batch and online; airquality (hourly, Date + Time,
-200 = missing) averaged per day with an exogenous column; duplicate and missing timestamps refused
by default, naming the rows. Both files start with a byte-order mark, kept in the stored header here
(as a naive import would) to show the engine matches 'Date' to '\\ufeffDate'. A few fast models and
small folds keep the file within a few minutes on two cores."""

from __future__ import annotations

import json
import urllib.request
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from caretflow_engine.errors import EngineError

from .conftest import outbox_file, store_dataset, train_spec
from .helpers import ENGINE_DIR, REPO_DIR, FdProcess, assert_protocol, error_of, run_job

DOWNLOAD_MODELS = ["naive", "snaive", "arima", "exp_smooth", "theta"]
HORIZON = 14


@cache
def chart_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ENGINE_DIR / "caretflow_engine/schema/chart.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


def with_bom_header(csv_name: str) -> pd.DataFrame:
    """The CSV with its header exactly as written in the file, byte-order mark included."""
    path = REPO_DIR / "demo-data" / csv_name
    header = path.read_bytes().decode("utf-8").splitlines()[0].split(",")
    assert header[0].startswith("\ufeff")
    return pd.read_csv(path).set_axis(header, axis=1)


def ts_spec(job_id: str, tracking_uri: str, dataset: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return train_spec(job_id, tracking_uri, dataset, task="time_series", experiment_name="forecasting-tests", **fields)


def predict_spec(job_id: str, tracking_uri: str, model_uri: str, dataset: dict[str, Any],
                 **extra: Any) -> dict[str, Any]:
    return {"v": 1, "job_id": job_id, "tracking_uri": tracking_uri, "kind": "predict", "model_uri": model_uri,
            "input": dataset, **extra}


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read())


def register(mlflow_server: str, run_id: str, name: str) -> str:
    """Register a run's model over MLflow's REST API as caretflow's tracking package does."""
    source = MlflowClient(mlflow_server).get_run(run_id).data.tags["caretflow.model_source"]
    api = f"{mlflow_server}/api/2.0/mlflow"
    _post(f"{api}/registered-models/create", {"name": name})
    version = _post(f"{api}/model-versions/create", {"name": name, "source": source, "run_id": run_id})["model_version"]
    assert version["status"] == "READY"
    return f"models:/{name}/{version['version']}"


def assert_interval_order(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert row["lower"] is not None and row["upper"] is not None, row
        assert row["lower"] <= row["y_pred"] <= row["upper"] and row["lower"] < row["upper"], row


# ------------------------------------------------------------------ pycaret_downloads
@pytest.fixture(scope="module")
def downloads(data_root: Path) -> dict[str, Any]:
    return store_dataset(with_bom_header("pycaret_downloads.csv"), "pycaret_downloads")


@pytest.fixture(scope="module")
def downloads_run(mlflow_server: str, downloads: dict[str, Any],
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = ts_spec("train-downloads", mlflow_server, downloads, date_column="Date", target="Total", horizon=HORIZON,
                   folds=3, include=DOWNLOAD_MODELS)
    code, events = run_job(spec, tmp_path_factory.mktemp("downloads"))
    return {"code": code, "events": events, "result": events[-1].get("result")}


def test_downloads_leaderboard_by_mase(downloads_run: dict[str, Any]) -> None:
    events = downloads_run["events"]
    assert_protocol(events)
    assert downloads_run["code"] == 0, events[-2:]
    result = downloads_run["result"]
    board = result["leaderboard"]
    assert result["sort_metric"] == "MASE" and {r["model_id"] for r in board} == set(DOWNLOAD_MODELS)
    mase = [r["metrics"]["MASE"] for r in board]
    assert mase == sorted(mase) and [r["rank"] for r in board] == list(range(1, len(board) + 1))
    assert result["best_model_id"] == board[0]["model_id"] == "arima"
    streamed = {e["row"]["model_id"]: e["row"] for e in events if e["type"] == "leaderboard_row"}
    assert list(streamed) == DOWNLOAD_MODELS  # one row per model, as its cross-validation ended
    for row in board:
        assert streamed[row["model_id"]]["metrics"]["MASE"] == row["metrics"]["MASE"]
        assert {"MASE", "RMSSE", "MAE", "RMSE", "MAPE", "SMAPE", "R2", "TT (Sec)"} <= set(row["metrics"])
    assert set(result["timings"]) >= {"setup", "compare", "finalize", "evaluate", "logging", "total"}


def test_downloads_forecast_details_and_output(downloads_run: dict[str, Any]) -> None:
    result = downloads_run["result"]
    details = result["details"]
    assert (details["task"], details["frequency"], details["horizon"]) == ("time_series", "D", HORIZON)
    assert details["coverage"] == 0.9
    forecast = details["forecast"]
    periods = pd.period_range("2021-10-06", periods=HORIZON, freq="D").strftime("%Y-%m-%d").tolist()
    assert [r["period"] for r in forecast] == periods
    assert_interval_order(forecast)
    # Dates such as 7/8/2021 are read month-first: day-first fails on 7/13/2021, so no note is needed.
    assert details["notes"] == []
    assert {"MASE", "RMSSE", "MAE", "R2"} <= set(details["holdout"])
    assert [o["role"] for o in result["outputs"]] == ["forecast"]
    output = result["outputs"][0]
    assert output["rows"] == HORIZON and output["columns"] == ["period", "y_pred", "lower", "upper"]
    stored = pd.read_parquet(outbox_file("train-downloads", output))
    assert stored.to_dict(orient="records") == forecast


def test_downloads_runs_charts_and_model(downloads_run: dict[str, Any], mlflow_server: str) -> None:
    result = downloads_run["result"]
    client = MlflowClient(mlflow_server)
    children = client.search_runs([result["experiment_id"]], f"tags.mlflow.parentRunId = '{result['parent_run_id']}'")
    assert sorted(r.data.tags["caretflow.role"] for r in children) == ["child"] * len(DOWNLOAD_MODELS) + ["final"]
    assert all(r.info.status == "FINISHED" for r in children)
    assert client.get_run(result["parent_run_id"]).data.params["frequency"] == "D"
    final = client.get_run(result["best_run_id"])
    assert final.data.tags["caretflow.model_sha256"] == result["model_sha256"]
    assert final.data.metrics["holdout_MASE"] == pytest.approx(result["details"]["holdout"]["MASE"])
    charts = {Path(a.path).stem for a in client.list_artifacts(final.info.run_id, "charts")}
    assert charts == {"forecast", "residuals", "decomposition", "acf", "pacf"}
    for name in charts:
        chart = json.loads(Path(client.download_artifacts(final.info.run_id, f"charts/{name}.json")).read_text())
        problems = [e.message for e in chart_validator().iter_errors(chart)]
        assert not problems, (name, problems)
    forecast_chart = json.loads(Path(client.download_artifacts(final.info.run_id, "charts/forecast.json")).read_text())
    band = next(s for s in forecast_chart["series"] if s["mark"] == "band")["points"]
    assert [p[1:] for p in band] == [[r["lower"], r["upper"]] for r in result["details"]["forecast"]]
    plots = {Path(a.path).name for a in client.list_artifacts(final.info.run_id, "plots")}
    assert plots == {f"{name}.png" for name in charts}


def test_downloads_batch_and_online_scoring_agree(downloads_run: dict[str, Any], downloads: dict[str, Any],
                                                  mlflow_server: str, tmp_path: Path) -> None:
    result = downloads_run["result"]
    uri = register(mlflow_server, result["best_run_id"], "downloads-forecaster")
    # Batch on the training dataset itself: a model without exogenous columns does not read the rows.
    code, events = run_job(predict_spec("predict-downloads", mlflow_server, uri, downloads, horizon=20,
                                        model_sha256=result["model_sha256"]), tmp_path)
    assert_protocol(events)
    assert code == 0, events[-2:]
    predicted = events[-1]["result"]
    assert predicted["prediction_columns"] == ["period", "y_pred", "lower", "upper"] and predicted["rows"] == 20
    batch = pd.read_parquet(outbox_file("predict-downloads", predicted["output"]))
    assert list(batch.columns) == ["period", "y_pred", "lower", "upper"] and len(batch) == 20
    assert_interval_order(batch.to_dict(orient="records"))
    # The registered model forecasts what the training job did, without the training file.
    assert batch.head(HORIZON).to_dict(orient="records") == result["details"]["forecast"]

    serve = FdProcess(["serve"], tmp_path / "serve.log")
    try:
        assert serve.read(timeout=120) == {"ready": True}
        serve.send({"id": 1, "op": "load", "model_uri": uri, "tracking_uri": mlflow_server, "sha256": result["model_sha256"]})
        loaded = serve.read(timeout=120)
        assert loaded["ok"] is True, loaded
        assert loaded["model"]["task"] == "time_series" and loaded["model"]["features"] == []
        assert loaded["model"]["prediction_columns"] == ["period", "y_pred", "lower", "upper"]
        serve.send({"id": 2, "op": "predict", "rows": [], "horizon": 20})
        online = serve.read(timeout=60)
        assert online["ok"] is True, online
        assert online["columns"] == ["period", "y_pred", "lower", "upper"]
        assert online["predictions"] == batch.to_dict(orient="records")
        serve.send({"id": 3, "op": "predict", "rows": []})  # the trained horizon by default
        default = serve.read(timeout=60)
        assert default["predictions"] == result["details"]["forecast"]
        serve.send({"id": 4, "op": "shutdown"})
        assert serve.read(timeout=10) == {"id": 4, "ok": True}
        assert serve.close() == 0
    finally:
        serve.kill()


# ------------------------------------------------------------------ airquality
@pytest.fixture(scope="module")
def airquality(data_root: Path) -> dict[str, Any]:
    return store_dataset(with_bom_header("airquality.csv"), "airquality")


def test_airquality_daily_means_with_exogenous(airquality: dict[str, Any], mlflow_server: str, tmp_path: Path) -> None:
    spec = ts_spec("train-airquality", mlflow_server, airquality, date_column="Date", time_column="Time",
                   target="CO(GT)", exogenous=["T"], frequency="D", duplicates="mean",
                   missing_values="interpolate", na_values=[-200], horizon=7, folds=2, operation="create",
                   model="arima")
    code, events = run_job(spec, tmp_path)
    assert_protocol(events)
    assert code == 0, events[-2:]
    result = events[-1]["result"]
    assert [r["model_id"] for r in result["leaderboard"]] == ["arima"]
    assert [e["row"]["model_id"] for e in events if e["type"] == "leaderboard_row"] == ["arima"]
    details = result["details"]
    notes = details["notes"]
    assert any(n.startswith("Treated ") and "-200" in n for n in notes), notes
    assert any(n.startswith("Combined 9,357 rows into 391 (one per day)") for n in notes), notes
    assert notes[-1].startswith("The model uses the exogenous column(s) T") and "2005-03-29 to 2005-04-04" in notes[-1]
    warnings = [e["message"] for e in events if e["type"] == "warning"]
    assert all(n in warnings for n in notes)
    # The future of T is unknown at training time: the forecast shown is the hold-out's.
    assert [r["period"] for r in details["forecast"]][0] == "2005-03-29" and len(details["forecast"]) == 7
    assert_interval_order(details["forecast"])

    from caretflow_engine.scoring import load_model, score_frame

    model = load_model(MlflowClient(mlflow_server), result["model_uri"], result["model_sha256"])
    assert model.meta["caretflow_exogenous"] == ["T"] and [n for n, _ in model.columns] == ["T"]
    with pytest.raises(EngineError) as info:
        score_frame(model, pd.DataFrame(columns=["T"]))
    assert info.value.name == "ExogenousFutureMissing"
    assert info.value.message == ("The model uses the exogenous column(s) T; forecasting 7 day(s) beyond the data "
                                  "(2005-04-05 to 2005-04-11) needs their future values.")
    future = pd.DataFrame({"\ufeffDate": pd.date_range("2005-04-04", periods=9).strftime("%m/%d/%Y"),
                           "T": np.linspace(14, 20, 9)})
    by_date = score_frame(model, future)  # a day before and one after the forecast are ignored
    assert by_date["period"].tolist()[0] == "2005-04-05" and len(by_date) == 7
    assert_interval_order(by_date.to_dict(orient="records"))
    in_order = score_frame(model, future[["T"]].iloc[1:8].reset_index(drop=True))
    assert np.allclose(in_order["y_pred"].to_numpy(float), by_date["y_pred"].to_numpy(float))
    with pytest.raises(EngineError, match="no \\(numeric\\) value for 2 of the forecast days, the first: 2005-04-10"):
        score_frame(model, future.iloc[:6])


# ------------------------------------------------------------------ refused series
def test_duplicates_and_gaps_are_refused_naming_rows(mlflow_server: str, tmp_path: Path) -> None:
    df = with_bom_header("pycaret_downloads.csv")
    doubled = store_dataset(pd.concat([df.iloc[:5], df.iloc[4:5], df.iloc[5:]], ignore_index=True), "downloads-doubled")
    spec = ts_spec("ts-duplicates", mlflow_server, doubled, date_column="Date", target="Total")
    code, events = run_job(spec, tmp_path)
    error = error_of(events)
    assert code != 0 and error["name"] == "DuplicateTimestamps"
    assert error["message"] == "1 timestamp(s) appear on more than one row: 2021-07-12 (data rows 5 and 6)."
    assert "duplicates" in error["hint"]

    holes = store_dataset(df.drop(index=[10, 11, 40]).reset_index(drop=True), "downloads-holes")
    code, events = run_job(ts_spec("ts-gaps", mlflow_server, holes, date_column="Date", target="Total"), tmp_path)
    error = error_of(events)
    assert code != 0 and error["name"] == "TimestampGaps"
    assert error["message"].startswith("The daily series has 3 missing day(s) in 2 gap(s): no row for 2021-07-18 to "
                                       "2021-07-19 (between data row 10, 2021-07-17, and data row 11, 2021-07-20)")
    assert "gaps" in error["hint"]
    assert not [e for e in events if e["type"] == "run"]  # refused before any MLflow run


def test_catalog_entry() -> None:
    from caretflow_engine.adapters.pycaret3.probe import probe
    from caretflow_engine.tasks import family_for

    entry = family_for("time_series").describe("time_series", probe)
    assert entry["defaultSort"] == "MASE" and entry["operations"] == ["compare", "create"]
    assert [c["name"] for c in entry["predictionColumns"]] == ["period", "y_pred", "lower", "upper"]
    mase = next(m for m in entry["metrics"] if m["name"] == "MASE")
    assert mase["greaterIsBetter"] is False
    default = {m["id"] for m in entry["models"] if m["turbo"]}
    assert {"arima", "snaive", "theta", "lr_cds_dt"} <= default
    assert not default & {"ets", "auto_arima", "rf_cds_dt", "lightgbm_cds_dt"}
    fields = {f["name"]: f for f in entry["fields"]}
    assert fields["target"]["columnKinds"] == ["integer", "float"]
    assert "ets" in fields["include"]["help"]
    assert fields["missing_values"]["default"] == "error" and fields["na_values"]["type"] == "json"
