"""Reading dates, times and frequencies the way people write them, for time-series preparation.

Row numbers in messages are data rows counted from 1, the header not counted: "data row 5" is the
fifth line of values under the header, which is what a person sees when they open the file.

Why not ``pd.to_datetime`` alone: element-wise guessing (``format="mixed"``) reads 4/10/2021 and
25/10/2021 with different orders in one column, and a fixed ``dayfirst`` silently swaps month and
day. Here one order is chosen for the whole column: the only one that gives valid dates, or, when
both do, the one that gives a regular series.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset
from pandas.tseries.offsets import DateOffset, Tick

from ..errors import user_error

_DATE_RE = (
    r"^(?P<a>\d{1,4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:(?:[ T]+|,\s*)(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?$"
)
_TIME_RE = r"^(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?$"

DATE_HINT = "Use one format for the whole column, such as 2021-07-08, 7/8/2021 or 8.7.2021 13:45, or fix that row."

FRIENDLY_FREQUENCIES = {
    "minutely": "min", "hourly": "H", "daily": "D", "business daily": "B", "weekly": "W",
    "monthly": "MS", "quarterly": "QS", "yearly": "AS", "annual": "AS", "annually": "AS",
    # pandas >= 2.2 spellings, so documentation of newer pandas works here too
    "h": "H", "me": "M", "qe": "Q", "ye": "A", "ys": "AS",
}
_UNITS = {"T": "minute", "H": "hour", "D": "day", "B": "business day", "W": "week", "M": "month", "Q": "quarter",
          "A": "year"}
_LABELS = {"T": "minutely", "H": "hourly", "D": "daily", "B": "business-daily", "W": "weekly", "M": "monthly",
           "Q": "quarterly", "A": "yearly", "S": "secondly"}


# ------------------------------------------------------------------ dates
def parse_dates(values: pd.Series, column: str) -> tuple[pd.Series, list[str]]:
    """The column as datetime64 (same positions), plus notes on choices made (ambiguous order).

    Accepts datetime dtypes, date/datetime objects (Parquet DATE columns), year numbers
    (1000-9999), ISO text, and d/m/y or m/d/y text with ``/``, ``.`` or ``-`` and an optional
    time (``12/1/2010 8:45``, ``8:45 PM``)."""
    values = values.reset_index(drop=True)
    notes: list[str] = []
    if pd.api.types.is_datetime64_any_dtype(values):
        if getattr(values.dt, "tz", None) is not None:
            notes.append(f"'{column}' has time zones; used the local times and dropped the zone.")
            values = values.dt.tz_localize(None)
        _check_no_nulls(values, values, column)
        return values.astype("datetime64[ns]"), notes
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return _years(values, column), notes
    stamps = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    is_obj = values.map(lambda v: isinstance(v, (dt.date, pd.Timestamp, np.datetime64)))
    if is_obj.any():
        stamps[is_obj] = pd.to_datetime(values[is_obj].map(_naive), errors="coerce")
    text = values[~is_obj].map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v).strip())
    if len(text):
        parsed, more = _parse_text(text, column)
        stamps[~is_obj] = parsed
        notes += more
    _check_no_nulls(stamps, values, column)
    return stamps, notes


def _naive(value: object) -> object:
    if isinstance(value, (dt.datetime, pd.Timestamp)) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def _years(values: pd.Series, column: str) -> pd.Series:
    """Whole numbers 1000-9999 are years (yearly data); any other number is not a date."""
    numbers = pd.to_numeric(values, errors="coerce").astype(float)
    bad = ~(numbers.notna() & (numbers % 1 == 0) & numbers.between(1000, 9999))
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise user_error(
            "DateNotParsed",
            f"'{column}' holds numbers, not dates: data row {pos + 1} has {values.iloc[pos]!r}.",
            "Pick a date column (whole years such as 2021 are read as dates too).",
        )
    return pd.to_datetime(numbers.astype(int).astype(str), format="%Y")


def _parse_text(text: pd.Series, column: str) -> tuple[pd.Series, list[str]]:
    nonempty = text[text != ""]
    try:  # ISO 8601 in any of its spellings: the common case, and fast
        iso = pd.to_datetime(text.where(text != "", None), format="ISO8601")
        if iso.dt.tz is not None:
            return iso.dt.tz_localize(None).astype("datetime64[ns]"), [
                f"'{column}' has time zone offsets; used the local times and dropped the offsets."
            ]
        return iso.astype("datetime64[ns]"), []
    except (ValueError, TypeError, AttributeError):
        pass
    parts = nonempty.str.extract(_DATE_RE)
    matched = parts["a"].notna()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    notes: list[str] = []
    if matched.any():
        out[parts.index[matched]], notes = _from_parts(parts[matched], column, nonempty)
    for idx in nonempty.index[~matched.to_numpy()]:
        # Month names ("July 8, 2021", "08-Jul-2021"): dateutil, one by one. Only text with letters:
        # all-digit spellings are covered above, and dateutil reads e.g. "12345" as some date.
        value = nonempty[idx]
        try:
            if not re.search("[A-Za-z]", value):
                raise ValueError(value)
            out[idx] = pd.Timestamp(pd.to_datetime(value)).tz_localize(None)
        except (ValueError, TypeError, OverflowError):
            _raise_bad_date(idx, text[idx], column)
    return out, notes


def _from_parts(parts: pd.DataFrame, column: str, raw: pd.Series) -> tuple[pd.Series, list[str]]:
    """Build timestamps from regex parts, choosing month-first or day-first for the whole column."""
    a, b, c = (parts[k].astype(int) for k in ("a", "b", "c"))
    year_first = parts["a"].str.len() == 4
    year = np.where(year_first, a, c)
    year = np.where(~year_first & (parts["c"].str.len() <= 2), np.where(year < 69, 2000 + year, 1900 + year), year)
    hour = parts["H"].fillna(0).astype(int)
    pm = parts["ampm"].fillna("").str.lower().str.startswith("p")
    am = parts["ampm"].fillna("").str.lower().str.startswith("a")
    hour = np.where(pm & (hour < 12), hour + 12, np.where(am & (hour == 12), 0, hour))
    fraction = pd.to_timedelta(parts["F"].fillna("0").str.ljust(9, "0").astype(np.int64), unit="ns")

    def build(month: np.ndarray, day: np.ndarray) -> pd.Series:
        frame = pd.DataFrame({"year": year, "month": month, "day": day, "hour": hour,
                              "minute": parts["M"].fillna(0).astype(int), "second": parts["S"].fillna(0).astype(int)},
                             index=parts.index)
        bad_time = (frame["hour"] > 23) | (frame["minute"] > 59) | (frame["second"] > 59)
        stamps = pd.to_datetime(frame.mask(bad_time), errors="coerce") + fraction
        return stamps.astype("datetime64[ns]")

    month_first = build(np.where(year_first, b, a), np.where(year_first, c, b))
    day_first = build(b.to_numpy(), np.where(year_first, c, a))
    mf_ok, df_ok = month_first.notna().all(), day_first.notna().all()
    if mf_ok and not df_ok:
        return month_first, []
    if df_ok and not mf_ok:
        return day_first, []
    if not mf_ok:  # neither reading works everywhere: report the first row the likelier reading rejects
        best = month_first if month_first.notna().sum() >= day_first.notna().sum() else day_first
        idx = best.index[best.isna().to_numpy()][0]
        _raise_bad_date(idx, raw[idx], column)
    ambiguous = ~year_first & (a <= 12) & (b <= 12) & (a != b)
    if not ambiguous.any():
        return month_first, []
    first = ambiguous.index[ambiguous.to_numpy()][0]
    example = raw[first]
    mf_score, df_score = regularity(month_first), regularity(day_first)
    if mf_score != df_score:
        day_wins = df_score > mf_score
        why = "because that gives the more regular series"
    else:  # equally regular: the usual convention of the separator ('.' and '-' day-first, '/' month-first)
        day_wins = parts["sep"].value_counts().idxmax() in (".", "-")
        why = (f"the usual order for dates written with '{parts.loc[first, 'sep']}' "
               "(both readings give an equally regular series)")
    chosen, order = (day_first, "day-first") if day_wins else (month_first, "month-first")
    iso = _stamp_text(chosen[first])
    notes = [f"Dates in '{column}' such as {example} can be read month-first or day-first; read them {order} "
             f"({example} = {iso}), {why}. Write dates as {iso} to avoid the ambiguity."]
    return chosen, notes


def _raise_bad_date(idx: int, value: object, column: str) -> None:
    raise user_error(
        "DateNotParsed", f"Could not read data row {idx + 1} of '{column}' as a date: {value!r}.", DATE_HINT
    )


def _check_no_nulls(stamps: pd.Series, raw: pd.Series, column: str) -> None:
    if stamps.isna().any():
        pos = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise user_error(
            "DateMissing",
            f"Data row {pos + 1} has no date in '{column}' ({raw.iloc[pos]!r}).",
            "Fill in the date or remove that row; every row of a time series needs its date.",
        )


# ------------------------------------------------------------------ times
def parse_times(values: pd.Series, column: str) -> pd.Series:
    """A separate time-of-day column as timedeltas: '18:00:00', '18.00.00', '6:00 PM', time objects."""
    values = values.reset_index(drop=True)
    if pd.api.types.is_timedelta64_dtype(values):
        out = values
    elif pd.api.types.is_datetime64_any_dtype(values):
        out = values - values.dt.normalize()
    else:
        out = pd.Series(pd.NaT, index=values.index, dtype="timedelta64[ns]")
        is_time = values.map(lambda v: isinstance(v, (dt.time, dt.timedelta)))
        if is_time.any():
            out[is_time] = values[is_time].map(
                lambda v: pd.Timedelta(v) if isinstance(v, dt.timedelta)
                else pd.Timedelta(hours=v.hour, minutes=v.minute, seconds=v.second, microseconds=v.microsecond)
            )
        text = values[~is_time].astype(str).str.strip()
        parts = text.str.extract(_TIME_RE)
        hour = parts["H"].astype(float)
        pm = parts["ampm"].fillna("").str.lower().str.startswith("p")
        am = parts["ampm"].fillna("").str.lower().str.startswith("a")
        hour = hour.where(~(pm & (hour < 12)), hour + 12).where(~(am & (hour == 12)), 0)
        minute, second = parts["M"].astype(float), parts["S"].fillna(0).astype(float)
        ok = parts["H"].notna() & (hour <= 23) & (minute <= 59) & (second <= 59)
        delta = (pd.to_timedelta(hour, unit="h") + pd.to_timedelta(parts["M"].astype(float), unit="m")
                 + pd.to_timedelta(parts["S"].fillna(0).astype(float), unit="s")
                 + pd.to_timedelta(parts["F"].fillna("0").str.ljust(9, "0").astype(np.int64), unit="ns"))
        out[~is_time] = delta.where(ok)
    if out.isna().any():
        pos = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise user_error(
            "TimeNotParsed",
            f"Could not read data row {pos + 1} of '{column}' as a time of day: {values.iloc[pos]!r}.",
            "Write times as 18:00, 18:00:00, 18.00.00 or 6:00 PM, or fix that row.",
        )
    return out.astype("timedelta64[ns]")


# ------------------------------------------------------------- frequency
def normalize_frequency(frequency: str) -> str:
    """A frequency as written by a person ('daily', 'H', 'MS', 'W', 'monthly') as a period alias."""
    text = str(frequency).strip()
    alias = FRIENDLY_FREQUENCIES.get(text.lower(), text)
    try:
        return period_alias(alias)
    except (ValueError, TypeError, AttributeError):
        raise user_error(
            "UnknownFrequency",
            f"'{frequency}' is not a frequency.",
            "Use a pandas alias such as 'H' (hourly), 'D' (daily), 'W' (weekly), 'MS' (monthly), 'QS' (quarterly), "
            "'AS' (yearly), '15min', or a word: hourly, daily, weekly, monthly, quarterly, yearly.",
        ) from None


def period_alias(alias: str) -> str:
    """The PeriodIndex spelling of an offset alias ('MS' -> 'M', 'W' -> 'W-SUN', 'AS' -> 'A-DEC')."""
    return str(pd.date_range("2000-01-01", periods=3, freq=to_offset(alias)).to_period().freqstr)


def infer_frequency(stamps: pd.DatetimeIndex) -> str | None:
    """The period alias of sorted unique timestamps, tolerating gaps; None when they fit no calendar.

    ``pd.infer_freq`` needs a gapless series. With gaps, windows of three consecutive timestamps
    vote for a frequency, and the most voted one on whose calendar every timestamp lies wins
    (so a daily series with a missing day is daily, with one gap)."""
    if len(stamps) < 3:
        return None
    try:
        alias = pd.infer_freq(stamps)
    except (ValueError, TypeError):
        alias = None
    if alias:
        return period_alias(alias)
    step = max(1, (len(stamps) - 2) // 400)
    votes: Counter[str] = Counter()
    for i in range(0, len(stamps) - 2, step):
        found = pd.infer_freq(stamps[i : i + 3])
        if found:
            votes[found] += 1
    deltas = pd.Series(stamps[1:] - stamps[:-1])
    candidates = [found for found, _ in votes.most_common()]
    steps = (_step_alias(deltas.mode().iloc[0], stamps[0]), _step_alias(deltas.min(), stamps[0]))
    candidates += [c for c in steps if c]
    for found in candidates:
        if on_calendar(stamps, to_offset(found)):
            return period_alias(found)
    return None


def _step_alias(step: pd.Timedelta, first: pd.Timestamp) -> str | None:
    """A frequency alias for a typical step between timestamps (for series too gappy to vote)."""
    days = step / pd.Timedelta(days=1)
    if 28 <= days <= 31:
        return "MS" if first.day == 1 else "M"
    if 89 <= days <= 92:
        return f"QS-{first.strftime('%b').upper()}" if first.day == 1 else None
    if 365 <= days <= 366:
        return f"AS-{first.strftime('%b').upper()}" if first.day == 1 else None
    if days == 7:
        return f"W-{first.strftime('%a').upper()}"
    return to_offset(step).freqstr if step > pd.Timedelta(0) else None


def on_calendar(stamps: pd.DatetimeIndex, offset: DateOffset) -> bool:
    """Whether every timestamp is a whole number of steps of the offset from the first one."""
    if isinstance(offset, Tick):
        ns = (stamps - stamps[0]).asi8
        return bool((ns % offset.nanos == 0).all())
    return all(offset.is_on_offset(t) for t in stamps)


def regularity(stamps: pd.Series) -> float:
    """Share of the calendar slots between first and last timestamp that hold data (1.0 = no gaps)."""
    unique = pd.DatetimeIndex(stamps.dropna().unique()).sort_values()
    alias = infer_frequency(unique)
    if alias is None:
        return 0.0
    slots = len(pd.period_range(unique[0], unique[-1], freq=alias))
    return len(unique.to_period(alias).unique()) / max(slots, 1)


def _base(alias: str) -> str:
    """'W-SUN' -> 'W', 'H' -> 'H'; '' for multiples such as '15T', which have no common name."""
    base = alias.split("-")[0]
    return base if base.isalpha() else ""


def frequency_label(alias: str) -> str:
    """'daily', 'hourly', 'monthly' ... for messages; the alias itself when it has no common name."""
    return _LABELS.get(_base(alias), f"'{alias}'")


def unit_name(alias: str) -> str:
    """'day', 'hour', 'month' ... ('period' for multiples such as 15 minutes)."""
    return _UNITS.get(_base(alias), "period")


def is_sub_daily(alias: str) -> bool:
    offset = to_offset(alias)
    return isinstance(offset, Tick) and offset.nanos < 86_400 * 10**9


def _date_of(period: pd.Period) -> pd.Timestamp:
    """The timestamp that stands for a period: its start, except weeks, which are named by their
    anchor day (a W-SUN period holding Sunday 2021-01-03 is "2021-01-03", as in the data)."""
    if period.freqstr.startswith("W-"):
        return period.end_time.normalize()
    return period.start_time


def iso_period(period: pd.Period) -> str:
    """A period as ISO 8601 text: '2021-07-08', '2021-07-01' (July), or '2004-03-10T18:00:00' below a day."""
    stamp = _date_of(period)
    return stamp.isoformat() if is_sub_daily(period.freqstr) else stamp.date().isoformat()


def period_text(period: pd.Period) -> str:
    """A period for messages: '2021-07-08', '2004-03-10 18:00', '2021-07', '2021-01-03' (a week)."""
    if period.freqstr.startswith("W-"):
        return _date_of(period).date().isoformat()
    return str(period)


def _stamp_text(stamp: pd.Timestamp) -> str:
    if stamp == stamp.normalize():
        return stamp.date().isoformat()
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if stamp.second or stamp.microsecond else "%Y-%m-%d %H:%M")


stamp_text = _stamp_text


def human_delta(delta: pd.Timedelta) -> str:
    """'1 day 7 hours', '45 minutes'."""
    seconds = int(delta.total_seconds())
    parts = []
    for name, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 seconds"
