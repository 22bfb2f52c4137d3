"""kind=drift: PSI and KS per feature on the juice demo data; a shifted copy drifts, a fresh sample does not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from caretflow_engine.drift import compare_frames, psi
from caretflow_engine.drift_job import PREDICTION_LOG_ROOT_ENV, read_current
from caretflow_engine.errors import EngineError
from caretflow_engine.spec import parse_spec

from .conftest import REPO_DIR, store_dataset
from .helpers import assert_protocol, error_of, finished, run_cold_job, run_job

THRESHOLDS = {"psi": 0.2, "ks_p_value": 0.05, "ks_statistic": 0.1}


@pytest.fixture(scope="module")
def juice_frame() -> pd.DataFrame:
    return pd.read_csv(REPO_DIR / "demo-data" / "juice.csv")


@pytest.fixture(scope="module")
def halves(juice_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two random halves of one dataset: samples of the same distribution."""
    shuffled = juice_frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    mid = len(shuffled) // 2
    return shuffled.iloc[:mid].reset_index(drop=True), shuffled.iloc[mid:].reset_index(drop=True)


def shifted(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out["PriceCH"] = out["PriceCH"] * 1.3 + 0.2  # prices went up
    out["Store7"] = out["Store7"].map({"No": "Yes", "Yes": "No"})  # a category remapped
    return out


def drift_spec(job_id: str, reference: dict[str, Any], current: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"v": 1, "kind": "drift", "job_id": job_id, "reference": reference, "current": current, **extra}


def by_column(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["column"]: r for r in result["features"]}


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [
        ([0.5, 0.5], [0.5, 0.5], 0.0),
        # (0.4 - 0.6) ln(0.4/0.6) + (0.6 - 0.4) ln(0.6/0.4) = 0.4 ln 1.5
        ([0.6, 0.4], [0.4, 0.6], 0.4 * np.log(1.5)),
        ([0.25, 0.25, 0.5], [0.25, 0.25, 0.5], 0.0),
    ],
)
def test_psi_table(p, q, expected):
    assert psi(np.array(p), np.array(q)) == pytest.approx(expected, abs=1e-9)


def test_psi_of_an_empty_bin_is_finite():
    assert 1 < psi(np.array([1.0, 0.0]), np.array([0.0, 1.0])) < 100


def test_halves_do_not_drift(halves):
    a, b = halves
    rows = compare_frames(a, b, features=None, prediction_columns=[], thresholds=THRESHOLDS, bins=10)
    assert [r["column"] for r in rows if r["drifted"]] == []
    assert {r["column"] for r in rows} == set(a.columns)
    assert max(r["psi"] for r in rows) < 0.1


def test_shifted_columns_drift_and_the_others_do_not(halves):
    a, b = halves
    rows = {r["column"]: r for r in compare_frames(a, shifted(b), features=None, prediction_columns=[], thresholds=THRESHOLDS, bins=10)}
    assert {c for c, r in rows.items() if r["drifted"]} == {"PriceCH", "Store7"}
    assert rows["PriceCH"]["type"] == "numeric" and rows["PriceCH"]["ks_p_value"] < 1e-6 and rows["PriceCH"]["psi"] > 1
    assert rows["Store7"]["type"] == "categorical" and rows["Store7"]["ks_p_value"] is None and rows["Store7"]["psi"] > 0.2
    labels = [b["label"] for b in rows["Store7"]["bins"]]
    assert set(labels) == {"No", "Yes", "other", "missing"}
    for r in rows.values():
        assert sum(b["reference"] for b in r["bins"]) == pytest.approx(1.0)
        assert sum(b["current"] for b in r["bins"]) == pytest.approx(1.0)


def test_new_categories_and_missing_values_count():
    ref = pd.DataFrame({"c": ["a", "b"] * 50, "x": np.arange(100.0)})
    cur = pd.DataFrame({"c": ["z"] * 60 + [None] * 40, "x": [np.nan] * 50 + list(np.arange(50.0))})
    rows = {r["column"]: r for r in compare_frames(ref, cur, features=None, prediction_columns=[], thresholds=THRESHOLDS, bins=4)}
    shares = {b["label"]: b["current"] for b in rows["c"]["bins"]}
    assert shares == {"a": 0.0, "b": 0.0, "other": 0.6, "missing": 0.4}
    assert rows["c"]["drifted"] and rows["c"]["current_missing"] == 0.4
    assert rows["x"]["current_missing"] == 0.5 and rows["x"]["drifted"]


def test_ks_needs_a_minimum_effect():
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 50_000)})
    cur = pd.DataFrame({"x": rng.normal(0.05, 1, 50_000)})  # significant with this many rows, but tiny
    (row,) = compare_frames(ref, cur, features=None, prediction_columns=[], thresholds=THRESHOLDS, bins=10)
    assert row["ks_p_value"] < 0.05 and row["ks_statistic"] < 0.1 and not row["drifted"]
    (strict,) = compare_frames(ref, cur, features=None, prediction_columns=[], thresholds={**THRESHOLDS, "ks_statistic": 0.0}, bins=10)
    assert strict["drifted"]


def test_prediction_columns_are_compared_apart(halves):
    a, b = halves
    a = a.assign(prediction_label=a["Purchase"])
    b = b.assign(prediction_label="CH")
    rows = compare_frames(a, b, features=None, prediction_columns=["prediction_label"], thresholds=THRESHOLDS, bins=10)
    assert rows[-1]["column"] == "prediction_label" and rows[-1]["role"] == "prediction" and rows[-1]["drifted"]
    assert all(r["role"] == "feature" for r in rows[:-1])


def test_drift_job_on_dataset_versions(tmp_path: Path, halves):
    a, b = halves
    reference = store_dataset(a, "juice-ref")
    fresh = store_dataset(b, "juice-cur", 1)
    moved = store_dataset(shifted(b), "juice-cur", 2)

    code, events = run_job(drift_spec("drift-fresh", reference, fresh), tmp_path / "fresh")
    assert code == 0, error_of(events)
    assert_protocol(events)
    result = finished(events)["result"]
    assert result["kind"] == "drift" and result["drifted"] == [] and result["prediction_drift"] is None
    assert result["reference_rows"] == len(a) and result["current_rows"] == len(b)
    assert result["thresholds"] == THRESHOLDS  # defaults applied

    code, events = run_job(drift_spec("drift-moved", reference, moved, features=["PriceCH", "Store7", "LoyalCH"]), tmp_path / "moved")
    assert code == 0, error_of(events)
    result = finished(events)["result"]
    assert sorted(result["drifted"]) == ["PriceCH", "Store7"]
    assert set(by_column(result)) == {"PriceCH", "Store7", "LoyalCH"}
    assert any(e["type"] == "stage" and e["stage"] == "drift" for e in events)


def test_drift_job_names_missing_features(tmp_path: Path, halves):
    a, b = halves
    code, events = run_job(
        drift_spec("drift-bad", store_dataset(a, "juice-ref2"), store_dataset(b, "juice-cur2"), features=["Nope"]), tmp_path
    )
    assert code == 1
    err = error_of(events)
    assert err["name"] == "ColumnNotFound" and "Nope" in err["message"] and "PriceCH" in err["hint"]


def test_current_from_prediction_log_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, halves):
    _, b = halves
    day = tmp_path / "churn" / "2026-12-03"
    day.mkdir(parents=True)
    b.iloc[:100].to_parquet(day / "part-1.parquet", index=False)
    (day / "part-2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in b.iloc[100:150].to_dict("records")))
    monkeypatch.setenv(PREDICTION_LOG_ROOT_ENV, str(tmp_path))
    frame = read_current({"prediction_log": ["churn/2026-12-03/part-1.parquet", "churn/2026-12-03/part-2.jsonl"]})
    assert len(frame) == 150 and list(frame.columns) == list(b.columns)
    with pytest.raises(EngineError, match="No prediction-log file"):
        read_current({"prediction_log": ["churn/none.parquet"]})
    monkeypatch.delenv(PREDICTION_LOG_ROOT_ENV)
    with pytest.raises(EngineError) as info:
        read_current({"prediction_log": ["churn/2026-12-03/part-1.parquet"]})
    assert info.value.name == "PredictionLogRootMissing" and PREDICTION_LOG_ROOT_ENV in info.value.hint


def test_prediction_log_keeps_the_served_rows_of_the_version_in_the_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, halves
):
    _, b = halves
    day = tmp_path / "churn" / "2026-12-03"
    day.mkdir(parents=True)
    rows = b.iloc[:8].to_dict("records")
    marks = [
        # (time, version, shadow, error): only the first two are version 1's answers in [10:00, 11:00).
        ("2026-12-03T10:00:00.000Z", 1, False, None),
        ("2026-12-03T10:59:59.000Z", 1, False, None),
        ("2026-12-03T11:00:00.000Z", 1, False, None),
        ("2026-12-03T09:59:59.000Z", 1, False, None),
        ("2026-12-03T10:30:00.000Z", 2, False, None),
        ("2026-12-03T10:30:00.000Z", 1, True, None),
        ("2026-12-03T10:30:00.000Z", 1, False, "scoring_process_lost"),
        ("2026-12-03T10:30:00.000Z", 2, True, None),
    ]
    lines = [
        {**r, "caretflow_time": t, "caretflow_version": v, "caretflow_shadow": s, "caretflow_error": e}
        for r, (t, v, s, e) in zip(rows, marks, strict=True)
    ]
    (day / "part-10-a.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    monkeypatch.setenv(PREDICTION_LOG_ROOT_ENV, str(tmp_path))
    ref = {
        "prediction_log": ["churn/2026-12-03/part-10-a.jsonl"],
        "from": "2026-12-03T10:00:00.000Z",
        "to": "2026-12-03T11:00:00.000Z",
    }
    frame = read_current({**ref, "version": 1})
    times = pd.to_datetime(frame["caretflow_time"], utc=True).tolist()
    assert times == [pd.Timestamp("2026-12-03T10:00:00Z"), pd.Timestamp("2026-12-03T10:59:59Z")]
    assert len(read_current(ref)) == 3


def test_spec_defaults_and_prediction_log_paths():
    ref = {"name": "d", "version": 1, "content_hash": "h", "rows": 3}
    spec = parse_spec(drift_spec("j", ref, {"prediction_log": ["churn/2026-12-03/part-1.jsonl"]}))
    assert spec["thresholds"] == THRESHOLDS and spec["bins"] == 10
    assert spec["prediction_columns"] == ["prediction_label", "prediction_score"] and "features" not in spec
    for bad in ["/etc/passwd.parquet", "churn/../../x.parquet", "churn/x.csv"]:
        with pytest.raises(EngineError, match="current"):
            parse_spec(drift_spec("j", ref, {"prediction_log": [bad]}))


def test_logged_rows_read_back_equal_to_the_reference_show_no_drift(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, halves):
    a, _ = halves
    day = tmp_path / "churn" / "2026-12-03"
    day.mkdir(parents=True)
    # JSON numbers as a JavaScript server writes them (shortest round-trip text, e.g. 1.86).
    (day / "part-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in a.to_dict("records")))
    monkeypatch.setenv(PREDICTION_LOG_ROOT_ENV, str(tmp_path))
    current = read_current({"prediction_log": ["churn/2026-12-03/part-1.jsonl"]})
    for column in a.select_dtypes("number").columns:
        assert current[column].tolist() == a[column].tolist(), column
    thresholds = {"psi": 0.2, "ks_p_value": 0.05, "ks_statistic": 0.1}
    rows = compare_frames(a, current, features=None, prediction_columns=[], thresholds=thresholds, bins=10)
    assert [r["column"] for r in rows if r["drifted"]] == []
    assert max(r["psi"] or 0 for r in rows) == 0


def test_prediction_drift_against_the_training_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, halves):
    """The reference's target stands for its predictions: answers shaped like the labels do not drift, all-CH answers do.
    Run cold: the job reads the log root from its environment, which a warm worker started earlier lacks."""
    a, b = halves
    reference = store_dataset(a, "juice-pred-ref")
    day = tmp_path / "log" / "juice-live" / "2026-12-03"
    day.mkdir(parents=True)
    inputs = b.drop(columns=["Purchase"])
    # Answers distributed like the labels (a model that is right on this sample), then a model stuck on CH.
    (day / "part-like.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in inputs.assign(prediction_label=b["Purchase"], prediction_score=0.8).to_dict("records"))
    )
    (day / "part-stuck.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in inputs.assign(prediction_label="CH", prediction_score=0.9).to_dict("records"))
    )
    monkeypatch.setenv(PREDICTION_LOG_ROOT_ENV, str(tmp_path / "log"))
    outcomes = {}
    for part in ["like", "stuck"]:
        spec = drift_spec(
            f"pred-{part}", reference, {"prediction_log": [f"juice-live/2026-12-03/part-{part}.jsonl"]}, reference_target="Purchase"
        )
        code, events = run_cold_job(spec, tmp_path / part)
        assert code == 0, error_of(events)
        outcomes[part] = finished(events)["result"]
    like, stuck = outcomes["like"], outcomes["stuck"]
    for result in (like, stuck):
        columns = by_column(result)
        # The target leaves the features; the predictions are compared with it, categorically; the score has no reference.
        assert "Purchase" not in columns and "prediction_score" not in columns
        assert columns["prediction_label"]["role"] == "prediction" and columns["prediction_label"]["type"] == "categorical"
    assert like["prediction_drift"] is False and by_column(like)["prediction_label"]["psi"] < 0.01
    assert stuck["prediction_drift"] is True and by_column(stuck)["prediction_label"]["psi"] > 1
    assert stuck["drifted"] == like["drifted"] == []  # the inputs are the same fresh sample in both

    spec = drift_spec("pred-bad", reference, {"prediction_log": ["juice-live/2026-12-03/part-like.jsonl"]}, reference_target="Nope")
    code, events = run_cold_job(spec, tmp_path / "bad")
    assert code == 1
    err = error_of(events)
    assert err["name"] == "TargetMissing" and "Nope" in err["message"]
