"""prepare_series: dates as people write them, calendars, and each fix-up policy (no PyCaret; fast)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from caretflow_engine.errors import EngineError
from caretflow_engine.ml.ts_dates import iso_period, period_text
from caretflow_engine.ml.ts_prep import prepare_future_exogenous, prepare_series

from .helpers import REPO_DIR


def frame(dates: list, values: list | None = None, **more: list) -> pd.DataFrame:
    values = values if values is not None else [float(i + 1) for i in range(len(dates))]
    return pd.DataFrame({"Date": dates, "y": values, **more})


def error_of(df: pd.DataFrame, **kwargs: object) -> EngineError:
    with pytest.raises(EngineError) as info:
        prepare_series(df, "Date", "y", **kwargs)
    return info.value


# ------------------------------------------------------------------ files
def test_pycaret_downloads_with_bom_header_and_month_first_dates() -> None:
    raw = (REPO_DIR / "demo-data/pycaret_downloads.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    df = pd.read_csv(REPO_DIR / "demo-data/pycaret_downloads.csv", encoding="latin-1")  # keeps the BOM bytes
    df.columns = [c.encode("latin-1").decode("utf-8") for c in df.columns]
    assert df.columns[0] == "\ufeffDate"
    prep = prepare_series(df, "Date", "Total")
    assert prep.frequency == "D" and prep.frequency_label == "daily"
    assert isinstance(prep.y.index, pd.PeriodIndex) and prep.y.index.freqstr == "D"
    assert (str(prep.y.index[0]), str(prep.y.index[-1]), len(prep.y)) == ("2021-07-08", "2021-10-05", 90)
    assert prep.y.name == "Total" and prep.y.iloc[0] == 3773.0 and prep.X is None and prep.notes == []
    assert [str(p) for p in prep.future_periods(2)] == ["2021-10-06", "2021-10-07"]


def test_bom_in_the_requested_name_matches_a_clean_column() -> None:
    prep = prepare_series(frame(["2021-01-01", "2021-01-02", "2021-01-03"]), "\ufeffDate", " y ")
    assert len(prep.y) == 3 and prep.y.name == "y"


def test_airquality_date_and_time_columns_hourly() -> None:
    df = pd.read_csv(REPO_DIR / "demo-data/airquality.csv")
    prep = prepare_series(df, "Date", "CO(GT)", time_column="Time", exogenous=["T"], na_values=[-200],
                          missing_values="interpolate")
    assert prep.frequency == "H" and len(prep.y) == 9357
    assert str(prep.y.index[0]) == "2004-03-10 18:00" and str(prep.y.index[-1]) == "2005-04-04 14:00"
    assert not prep.y.isna().any() and not prep.X.isna().any().any()
    assert prep.notes[0] == "Treated 2,049 value(s) equal to -200 as missing ('CO(GT)': 1,683, 'T': 366)."


# ------------------------------------------------------------------ dates
@pytest.mark.parametrize(
    ("dates", "first", "last", "frequency", "note"),
    [
        (["7/11/2021", "7/12/2021", "7/13/2021"], "2021-07-11", "2021-07-13", "D", None),
        (["4/10/2021", "4/11/2021", "4/12/2021"], "2021-04-10", "2021-04-12", "D",
         "Dates in 'Date' such as 4/10/2021 can be read month-first or day-first; read them month-first "
         "(4/10/2021 = 2021-04-10), because that gives the more regular series. Write dates as 2021-04-10 to "
         "avoid the ambiguity."),
        (["10/4/2021", "11/4/2021", "12/4/2021", "13/4/2021"], "2021-04-10", "2021-04-13", "D", None),
        (["11/1/2021", "12/1/2021", "1/1/2022", "2/1/2022"], "2021-11", "2022-02", "M",
         "read them month-first (11/1/2021 = 2021-11-01), because that gives the more regular series"),
        (["8.7.2021", "9.7.2021", "10.7.2021"], "2021-07-08", "2021-07-10", "D",
         "read them day-first (8.7.2021 = 2021-07-08), because that gives the more regular series"),
        (["1.1.2021", "1.2.2021", "1.3.2021"], "2021-01", "2021-03", "M",
         "read them day-first (1.2.2021 = 2021-02-01), the usual order for dates written with '.' (both readings "
         "give an equally regular series)"),
        (["1/1/2021", "1/2/2021", "1/3/2021"], "2021-01-01", "2021-01-03", "D",
         "read them month-first (1/2/2021 = 2021-01-02), the usual order for dates written with '/'"),
        (["12/1/2010 8:45", "12/1/2010 9:45", "12/1/2010 10:45 AM", "12/1/2010 11:45"],
         "2010-12-01 08:00", "2010-12-01 11:00", "H", "read them month-first (12/1/2010 8:45 = 2010-12-01 08:45)"),
        (["12/1/2010 1:00 PM", "12/1/2010 2:00 PM", "12/1/2010 3:00 PM"], "2010-12-01 13:00", "2010-12-01 15:00",
         "H", "month-first"),
        (["2021-01-31", "2021-02-28", "2021-03-31", "2021-04-30"], "2021-01", "2021-04", "M", None),
        (["2021-01-03", "2021-01-10", "2021-01-17"], "2021-01-03", "2021-01-17", "W-SUN", None),
        (["2021/01/01", "2021/01/02", "2021/01/03"], "2021-01-01", "2021-01-03", "D", None),
        (["July 8, 2021", "July 9, 2021", "July 10, 2021"], "2021-07-08", "2021-07-10", "D", None),
        ([2019, 2020, 2021], "2019", "2021", "A-DEC", None),
        ([dt.date(2021, 3, 1), dt.date(2021, 3, 2), dt.date(2021, 3, 3)], "2021-03-01", "2021-03-03", "D", None),
        (pd.to_datetime(["2021-03-01 10:00", "2021-03-01 11:00", "2021-03-01 12:00"]).tz_localize("UTC"),
         "2021-03-01 10:00", "2021-03-01 12:00", "H", "time zones"),
    ],
)
def test_dates_in_common_formats(dates: list, first: str, last: str, frequency: str, note: str | None) -> None:
    prep = prepare_series(frame(list(dates)), "Date", "y")
    assert (period_text(prep.y.index[0]), period_text(prep.y.index[-1]), prep.frequency) == (first, last, frequency)
    if note is None:
        assert prep.notes == []
    else:
        assert any(note in n for n in prep.notes), prep.notes


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        (["18:00:00", "19:00:00", "20:00:00"], "2004-03-10 18:00"),
        (["18.00.00", "19.00.00", "20.00.00"], "2004-03-10 18:00"),
        (["6:00 PM", "7:00 PM", "8:00 PM"], "2004-03-10 18:00"),
        ([dt.time(18), dt.time(19), dt.time(20)], "2004-03-10 18:00"),
    ],
)
def test_separate_time_column(times: list, expected: str) -> None:
    df = frame(["2004-03-10"] * 3, Time=times)
    prep = prepare_series(df, "Date", "y", time_column="Time")
    assert prep.frequency == "H" and str(prep.y.index[0]) == expected and len(prep.y) == 3


@pytest.mark.parametrize(
    ("dates", "kwargs", "name", "message"),
    [
        (["7/8/2021", "7/9/2021", "7/32/2021"], {}, "DateNotParsed",
         "Could not read data row 3 of 'Date' as a date: '7/32/2021'."),
        (["2021-01-01", "2021-01-02", "soon"], {}, "DateNotParsed",
         "Could not read data row 3 of 'Date' as a date: 'soon'."),
        (["2021-01-01", None, "2021-01-03"], {}, "DateMissing", "Data row 2 has no date in 'Date' (None)."),
        (["2021-01-01", "2021-01-02", "12345"], {}, "DateNotParsed",
         "Could not read data row 3 of 'Date' as a date: '12345'."),
        (["2021-01-01", pd.NA, "2021-01-03"], {}, "DateMissing", "Data row 2 has no date in 'Date' (<NA>)."),
        ([1.5, 2.5, 3.5], {}, "DateNotParsed", "'Date' holds numbers, not dates: data row 1 has 1.5."),
        (["2021-01-01", "2021-01-02", "2021-01-03"], {"frequency": "fortnightly"}, "UnknownFrequency",
         "'fortnightly' is not a frequency."),
    ],
)
def test_bad_dates_name_the_row(dates: list, kwargs: dict, name: str, message: str) -> None:
    err = error_of(frame(dates), **kwargs)
    assert (err.name, err.message) == (name, message)


def test_bad_time_names_the_row() -> None:
    err = error_of(frame(["2004-03-10"] * 3, Time=["18:00", "25:00", "20:00"]), time_column="Time")
    assert (err.name, err.message) == (
        "TimeNotParsed", "Could not read data row 2 of 'Time' as a time of day: '25:00'."
    )


# -------------------------------------------------------------- frequency
@pytest.mark.parametrize(
    ("start", "freq", "expected"),
    [("2021-01-01", "D", "D"), ("2021-01-01 00:00", "H", "H"), ("2021-01-01", "MS", "M"), ("2021-01-31", "M", "M"),
     ("2021-01-01 00:00", "15min", "15T"), ("2021-01-01", "QS", "Q-DEC")],
)
def test_frequency_is_inferred(start: str, freq: str, expected: str) -> None:
    dates = pd.date_range(start, periods=12, freq=freq).strftime("%Y-%m-%d %H:%M").tolist()
    assert prepare_series(frame(dates), "Date", "y").frequency == expected


def test_frequency_is_inferred_despite_gaps() -> None:
    dates = pd.date_range("2021-01-01", periods=40, freq="D").delete([5, 6, 20]).strftime("%Y-%m-%d").tolist()
    prep = prepare_series(frame(dates), "Date", "y", gaps="zero")
    assert prep.frequency == "D" and len(prep.y) == 40


def test_irregular_timestamps_name_example_intervals_and_the_option() -> None:
    dates = ["2021-01-01 00:00", "2021-01-02 00:00", "2021-01-03 00:00", "2021-01-03 07:13", "2021-01-04 00:00",
             "2021-01-05 00:00"]
    err = error_of(frame(dates))
    assert err.name == "FrequencyNotInferred"
    assert err.message == (
        "The timestamps are not on a regular calendar, so the frequency cannot be inferred: most are 1 day apart, "
        "but data row 3 (2021-01-03) to data row 4 (2021-01-03 07:13) is 7 hours 13 minutes; data row 4 "
        "(2021-01-03 07:13) to data row 5 (2021-01-04) is 16 hours 47 minutes."
    )
    assert "Set the frequency option" in err.hint
    assert prepare_series(frame(dates), "Date", "y", frequency="D", duplicates="last").y.tolist() == [1, 2, 4, 5, 6]


# ------------------------------------------------------------- duplicates
DUP_DATES = ["2021-07-08", "2021-07-09", "2021-07-09", "2021-07-10", "2021-07-11", "2021-07-11"]
DUP_VALUES = [1.0, 2.0, 4.0, 5.0, np.nan, 7.0]


def test_duplicates_error_names_the_rows() -> None:
    err = error_of(frame(DUP_DATES, DUP_VALUES))
    assert err.name == "DuplicateTimestamps"
    assert err.message == (
        "2 timestamp(s) appear on more than one row: 2021-07-09 (data rows 2 and 3); 2021-07-11 (data rows 5 and 6)."
    )
    assert err.hint.startswith("Set duplicates to 'mean', 'sum', 'first' or 'last'")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("mean", [1, 3, 5, 7]), ("sum", [1, 6, 5, 7]), ("first", [1, 2, 5, 7]), ("last", [1, 4, 5, 7])],
)
def test_duplicates_policies(policy: str, expected: list[float]) -> None:
    prep = prepare_series(frame(DUP_DATES, DUP_VALUES), "Date", "y", duplicates=policy)
    assert prep.y.tolist() == expected
    assert prep.notes == [f"Combined 6 rows into 4 (one per day) by taking the {policy} of rows that share a day."]


def test_coarser_frequency_resamples_hourly_rows_to_days() -> None:
    dates = [f"2021-01-0{d} {h:02d}:00" for d in (1, 2) for h in range(0, 24, 6)]
    err = error_of(frame(dates), frequency="D")
    assert err.message == ("2 day(s) hold more than one row: 2021-01-01 (data rows 1, 2, 3, 4); "
                           "2021-01-02 (data rows 5, 6, 7, 8).")
    prep = prepare_series(frame(dates), "Date", "y", frequency="daily", duplicates="mean")
    assert prep.y.tolist() == [2.5, 6.5] and prep.frequency == "D"


# ------------------------------------------------------------------- gaps
GAP_DATES = ["2021-07-10", "2021-07-11", "2021-07-15", "2021-07-16", "2021-07-18"]
GAP_VALUES = [1.0, 2.0, 6.0, 7.0, 9.0]


def test_gaps_error_names_the_missing_periods_and_neighbours() -> None:
    err = error_of(frame(GAP_DATES, GAP_VALUES))
    assert err.name == "TimestampGaps"
    assert err.message == (
        "The daily series has 4 missing day(s) in 2 gap(s): no row for 2021-07-12 to 2021-07-14 (between data row "
        "2, 2021-07-11, and data row 3, 2021-07-15); no row for 2021-07-17 (between data row 4, 2021-07-16, and "
        "data row 5, 2021-07-18)."
    )
    assert err.hint.startswith("Set gaps to 'ffill'")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("ffill", [1, 2, 2, 2, 2, 6, 7, 7, 9]), ("interpolate", [1, 2, 3, 4, 5, 6, 7, 8, 9]),
     ("zero", [1, 2, 0, 0, 0, 6, 7, 0, 9])],
)
def test_gap_policies(policy: str, expected: list[float]) -> None:
    prep = prepare_series(frame(GAP_DATES, GAP_VALUES, x=[10.0, 20.0, 60.0, 70.0, 90.0]), "Date", "y",
                          exogenous=["x"], gaps=policy)
    assert prep.y.tolist() == expected
    assert prep.X["x"].tolist() == [v * 10 for v in expected]
    assert prep.notes and prep.notes[0].startswith("Filled 4 missing day(s) in the daily series with")


def test_unsorted_rows_are_sorted_with_a_note() -> None:
    prep = prepare_series(frame(["2021-01-03", "2021-01-01", "2021-01-02"], [3.0, 1.0, 2.0]), "Date", "y")
    assert prep.y.tolist() == [1, 2, 3] and prep.notes == ["The rows were not in date order; sorted them by 'Date'."]


# --------------------------------------------------------- missing values
MISSING = [np.nan, 2.0, -200.0, 4.0, np.nan, 6.0, np.nan]


def test_missing_values_error_names_rows() -> None:
    dates = pd.date_range("2021-01-01", periods=7).strftime("%Y-%m-%d").tolist()
    err = error_of(frame(dates, MISSING), na_values=[-200])
    assert err.name == "MissingValues"
    assert err.message == ("'y' has 4 missing value(s), the first in data row 1 (2021-01-01), data row 3 "
                           "(2021-01-03), data row 5 (2021-01-05).")


@pytest.mark.parametrize(
    ("policy", "expected", "trimmed"),
    [("ffill", [2, 2, 4, 4, 6, 6], "Dropped 1 period(s) at the start and 0 at the end"),
     ("interpolate", [2, 3, 4, 5, 6], "Dropped 1 period(s) at the start and 1 at the end"),
     ("zero", [0, 2, 0, 4, 0, 6, 0], None)],
)
def test_missing_value_policies(policy: str, expected: list[float], trimmed: str | None) -> None:
    dates = pd.date_range("2021-01-01", periods=7).strftime("%Y-%m-%d").tolist()
    prep = prepare_series(frame(dates, MISSING), "Date", "y", na_values=[-200], missing_values=policy)
    assert prep.y.tolist() == expected
    assert prep.notes[0] == "Treated 1 value(s) equal to -200 as missing ('y': 1)."
    assert prep.notes[1].startswith("Filled 4 missing value(s) by")
    assert (trimmed is None and len(prep.notes) == 2) or prep.notes[2].startswith(trimmed)


# ------------------------------------------------------- columns and types
@pytest.mark.parametrize(
    ("df", "kwargs", "name", "message"),
    [
        (frame(["2021-01-01", "2021-01-02"], ["1", "two"]), {}, "NotNumeric",
         "The target 'y' must be numeric, but 1 value(s) are not: data row 2 has 'two'."),
        (frame(["2021-01-01", "2021-01-02"], x=["a", "3"]), {"exogenous": ["x"]}, "NotNumeric",
         "The exogenous column 'x' must be numeric, but 1 value(s) are not: data row 1 has 'a'."),
        (frame(["2021-01-01", "2021-01-02"], [True, False]), {}, "NotNumeric",
         "The target 'y' holds true/false values, not numbers."),
        (frame(["2021-01-01", "2021-01-02"]), {"exogenous": ["nope"]}, "ColumnNotFound",
         "The exogenous column 'nope' is not in the dataset."),
        (frame(["2021-01-01", "2021-01-02"]), {"exogenous": ["y"]}, "ColumnRoleConflict",
         "Column 'y' is used twice (as target and as exogenous)."),
        (frame(["2021-01-01", "2021-01-02"]), {"gaps": "drop"}, "InvalidOption", "gaps = 'drop' is not an option."),
    ],
)
def test_column_errors(df: pd.DataFrame, kwargs: dict, name: str, message: str) -> None:
    err = error_of(df, **kwargs)
    assert (err.name, err.message) == (name, message)


def test_numeric_text_is_read_as_numbers() -> None:
    prep = prepare_series(frame(["2021-01-01", "2021-01-02", "2021-01-03"], ["1.5", " 2 ", "3e1"]), "Date", "y")
    assert prep.y.tolist() == [1.5, 2.0, 30.0]


def test_future_exogenous_on_periods() -> None:
    future = pd.DataFrame({"\ufeffDate": ["7/13/2021", "7/12/2021"], "T": [10, 11]})
    X = prepare_future_exogenous(future, "Date", ["T"], "D")
    assert [str(p) for p in X.index] == ["2021-07-12", "2021-07-13"] and X["T"].tolist() == [11.0, 10.0]
    with pytest.raises(EngineError, match="data row 2"):
        prepare_future_exogenous(pd.DataFrame({"Date": ["2021-07-12", "2021-07-13"], "T": [1.0, None]}), "Date",
                                 ["T"], "D")


@pytest.mark.parametrize(
    ("period", "iso"),
    [(pd.Period("2021-07-08", "D"), "2021-07-08"), (pd.Period("2004-03-10 18:00", "H"), "2004-03-10T18:00:00"),
     (pd.Period("2021-07", "M"), "2021-07-01"), (pd.Period("2021-01-03", "W-SUN"), "2021-01-03")],
)
def test_periods_as_iso_text(period: pd.Period, iso: str) -> None:
    assert iso_period(period) == iso
