"""Turning a table into the regular series a forecaster needs: one value per period, no holes.

``prepare_series`` reads the date (and optional time) column, puts every row on a calendar of one
frequency (inferred, or chosen by the user) and then deals with what real exports contain, each
by a policy the user picks; the default for each is a clear error, never a silent guess:

- duplicates: rows that fall in the same period. "error" names the first ones; "mean", "sum",
  "first", "last" combine them into one row ("first"/"last" take the first/last non-missing value
  in time order, file order among equal timestamps; a sum of only missing values is missing; the
  exogenous columns are combined the same way). Setting a coarser ``frequency`` than
  the data (daily for hourly rows) plus an aggregating policy resamples the series.
- gaps: periods with no row at all. "error" names them and their neighbouring rows; "ffill"
  repeats the last value, "interpolate" draws a straight line between neighbours, "zero" suits
  counts. The same fill applies to the exogenous columns of the inserted rows.
- missing values: rows whose target or exogenous value is empty (or equals one of ``na_values``,
  such as -200 in the UCI air-quality data). They are not dropped (that would make a gap): the
  same choices as for gaps apply, through ``missing_values``, "error" by default. A missing value
  that a fill cannot reach (a start before any value, or an end after the last one when
  interpolating) is trimmed off the ends of the series, and a note says so.

The result is on a ``PeriodIndex``: PyCaret 3.3.2 converts any ``DatetimeIndex`` to periods in
``setup`` and forecasts on periods, so handing it periods avoids a conversion whose frequency
inference can fail, and the prepared series looks exactly like the one models see.
Row numbers in messages are data rows counted from 1 under the header (see ``ts_dates``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import user_error
from .ts_dates import (
    frequency_label,
    human_delta,
    infer_frequency,
    normalize_frequency,
    parse_dates,
    parse_times,
    period_text,
    stamp_text,
    unit_name,
)

DUPLICATE_POLICIES = ("error", "mean", "sum", "first", "last")
FILL_POLICIES = ("error", "ffill", "interpolate", "zero")


@dataclass
class PreparedSeries:
    """A regular series ready for ``TSForecastingExperiment.setup``."""

    y: pd.Series  # float64 on a PeriodIndex with a frequency, named after the target
    X: pd.DataFrame | None  # exogenous columns on the same index, float64; None without any
    frequency: str  # PeriodIndex alias: 'D', 'H', 'M', 'W-SUN', ...
    notes: list[str] = field(default_factory=list)  # fix-ups applied, for warnings

    @property
    def frequency_label(self) -> str:
        return frequency_label(self.frequency)

    def future_periods(self, horizon: int) -> pd.PeriodIndex:
        """The ``horizon`` periods right after the data, which a forecast covers."""
        return pd.period_range(self.y.index[-1] + 1, periods=horizon, freq=self.frequency)


def clean_name(name: object) -> str:
    """A column name without a byte-order mark or surrounding spaces ('\\ufeffDate' -> 'Date')."""
    return str(name).replace("\ufeff", "").strip()


def resolve_column(df: pd.DataFrame, name: str, role: str) -> str:
    """The dataset's own spelling of a column, matching names that differ only by a BOM or spaces."""
    if name in df.columns:
        return name
    matches = [c for c in df.columns if clean_name(c) == clean_name(name)]
    if len(matches) == 1:
        return matches[0]
    shown = ", ".join(clean_name(c) for c in list(df.columns)[:30])
    raise user_error("ColumnNotFound", f"The {role} column '{name}' is not in the dataset.", f"Pick one of: {shown}.")


def prepare_series(
    df: pd.DataFrame,
    date_column: str,
    target: str,
    time_column: str | None = None,
    exogenous: Sequence[str] = (),
    frequency: str | None = None,
    duplicates: str = "error",
    gaps: str = "error",
    missing_values: str = "error",
    na_values: Sequence[float] = (),
) -> PreparedSeries:
    """The target (and exogenous columns) of ``df`` as a regular series; see the module docstring."""
    _check_policy("duplicates", duplicates, DUPLICATE_POLICIES)
    _check_policy("gaps", gaps, FILL_POLICIES)
    _check_policy("missing_values", missing_values, FILL_POLICIES)
    if len(df) == 0:
        raise user_error("EmptyDataset", "The dataset has no rows.", "Import a dataset with data rows.")
    date_col = resolve_column(df, date_column, "date")
    time_col = resolve_column(df, time_column, "time") if time_column else None
    target_col = resolve_column(df, target, "target")
    exog_cols = [resolve_column(df, c, "exogenous") for c in exogenous]
    _check_roles(date_col, time_col, target_col, exog_cols)
    frame = df.reset_index(drop=True)

    stamps, notes = parse_dates(frame[date_col], clean_name(date_col))
    if time_col is not None:
        stamps = stamps.dt.normalize() + parse_times(frame[time_col], clean_name(time_col))
    names = [clean_name(target_col)] + [clean_name(c) for c in exog_cols]
    values = pd.DataFrame({n: _numeric(frame[c], n, n == names[0]) for n, c in zip(names, [target_col, *exog_cols])})
    notes += _mark_missing(values, na_values)
    rows = pd.Series(np.arange(1, len(frame) + 1))
    if not stamps.is_monotonic_increasing:
        notes.append(f"The rows were not in date order; sorted them by '{clean_name(date_col)}'.")
    order = np.argsort(stamps.to_numpy(), kind="stable")
    stamps, values, rows = (s.iloc[order].reset_index(drop=True) for s in (stamps, values, rows))

    if frequency:
        alias = normalize_frequency(frequency)
    else:
        alias = _infer(stamps, rows)
    periods = pd.PeriodIndex(pd.DatetimeIndex(stamps).to_period(alias))
    unit = unit_name(alias)

    dup = periods.duplicated(keep=False)
    if dup.any():
        if duplicates == "error":
            raise _duplicates_error(periods, rows, unit, given=bool(frequency))
        n_before = len(values)
        grouped = values.groupby(periods, sort=True)
        values = grouped.sum(min_count=1) if duplicates == "sum" else getattr(grouped, duplicates)()
        rows = rows.groupby(periods, sort=True).min()
        notes.append(f"Combined {n_before:,} rows into {len(values):,} (one per {unit}) by taking the {duplicates} "
                     f"of rows that share a {unit}.")
    else:
        values.index = periods
        rows.index = periods

    values, rows, filled = _fill_gaps(values, rows, alias, gaps, unit)
    if filled:
        notes.append(filled)
    values, more = _fill_missing(values, rows, filled_rows=rows.isna(), policy=missing_values)
    notes += more
    values.index = pd.PeriodIndex(values.index, freq=alias)
    y = values[names[0]].astype("float64").rename(names[0])
    X = values[names[1:]].astype("float64") if len(names) > 1 else None
    return PreparedSeries(y=y, X=X, frequency=alias, notes=notes)


def prepare_future_exogenous(
    df: pd.DataFrame, date_column: str, exogenous: Sequence[str], frequency: str, time_column: str | None = None
) -> pd.DataFrame:
    """Future values of exogenous columns (to forecast beyond the data) on periods of ``frequency``.

    Strict on purpose: a duplicate period or a missing value is an error, since any fill-in here
    would be an invented input to the forecast."""
    date_col = resolve_column(df, date_column, "date")
    cols = [resolve_column(df, c, "exogenous") for c in exogenous]
    frame = df.reset_index(drop=True)
    stamps, _ = parse_dates(frame[date_col], clean_name(date_col))
    if time_column:
        stamps = stamps.dt.normalize() + parse_times(frame[resolve_column(df, time_column, "time")], time_column)
    alias = normalize_frequency(frequency)
    periods = pd.PeriodIndex(pd.DatetimeIndex(stamps).to_period(alias))
    rows = pd.Series(np.arange(1, len(frame) + 1))
    if periods.duplicated().any():
        raise _duplicates_error(periods, rows, unit_name(alias), given=True)
    values = pd.DataFrame({clean_name(c): _numeric(frame[c], clean_name(c), False) for c in cols})
    values.index = periods
    nulls = values.isna().any(axis=1).to_numpy()
    if nulls.any():
        raise _missing_error(values, rows.set_axis(periods))
    return values.sort_index()


# --------------------------------------------------------------- checks
def _check_policy(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise user_error(
            "InvalidOption", f"{option} = {value!r} is not an option.", f"Use one of: {', '.join(allowed)}."
        )


def _check_roles(date_col: str, time_col: str | None, target_col: str, exog_cols: list[str]) -> None:
    roles = [("date", date_col), ("time", time_col), ("target", target_col)] + [("exogenous", c) for c in exog_cols]
    seen: dict[str, str] = {}
    for role, col in roles:
        if col is None:
            continue
        if col in seen:
            raise user_error(
                "ColumnRoleConflict",
                f"Column '{clean_name(col)}' is used twice (as {seen[col]} and as {role}).",
                "Give each column one role: the date, the target, or an exogenous input.",
            )
        seen[col] = role


def _numeric(values: pd.Series, name: str, is_target: bool) -> pd.Series:
    """Numbers as float64; empty text is missing; anything else that is not a number is an error."""
    what = f"The target '{name}'" if is_target else f"The exogenous column '{name}'"
    hint = ("Pick a numeric target column, or fix those values." if is_target
            else f"Remove '{name}' from the exogenous columns, or fix those values.")
    if pd.api.types.is_bool_dtype(values):
        raise user_error("NotNumeric", f"{what} holds true/false values, not numbers.", hint)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    text = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    text = text.mask(text.map(lambda v: isinstance(v, str) and v == ""))
    numbers = pd.to_numeric(text, errors="coerce")
    bad = numbers.isna() & text.notna()
    if bad.any():
        pos = np.flatnonzero(bad.to_numpy())
        shown = ", ".join(f"data row {p + 1} has {values.iloc[p]!r}" for p in pos[:3])
        raise user_error("NotNumeric", f"{what} must be numeric, but {len(pos):,} value(s) are not: {shown}.", hint)
    return numbers.astype("float64")


def _mark_missing(values: pd.DataFrame, na_values: Sequence[float]) -> list[str]:
    if not na_values:
        return []
    marked = values.isin(list(na_values))
    counts = {c: int(n) for c, n in marked.sum().items() if n}
    values.mask(marked, inplace=True)
    if not counts:
        return []
    shown = " or ".join(repr(v) for v in na_values)
    per = ", ".join(f"'{c}': {n:,}" for c, n in counts.items())
    return [f"Treated {sum(counts.values()):,} value(s) equal to {shown} as missing ({per})."]


def _infer(stamps: pd.Series, rows: pd.Series) -> str:
    unique = pd.DatetimeIndex(stamps.drop_duplicates())
    alias = infer_frequency(unique)
    if alias is not None:
        return alias
    first_rows = rows[~stamps.duplicated()].to_numpy()
    if len(unique) < 3:
        message = f"The series has {len(unique)} distinct timestamp(s); at least 3 are needed to infer a frequency."
    else:
        deltas = unique[1:] - unique[:-1]
        usual = pd.Series(deltas).mode().iloc[0]
        odd = [i for i, d in enumerate(deltas) if d != usual][:3]
        shown = "; ".join(
            f"data row {first_rows[i]} ({stamp_text(unique[i])}) to data row {first_rows[i + 1]} "
            f"({stamp_text(unique[i + 1])}) is {human_delta(deltas[i])}" for i in odd
        )
        message = (f"The timestamps are not on a regular calendar, so the frequency cannot be inferred: most are "
                   f"{human_delta(usual)} apart, but {shown}.")
    raise user_error(
        "FrequencyNotInferred",
        message,
        "Set the frequency option (for example 'H' hourly, 'D' daily, 'W' weekly, 'MS' monthly); each row then "
        "falls in its period, and rows sharing a period are combined by the duplicates option.",
    )


def _rows_text(rows: Sequence[int]) -> str:
    rows = list(rows)
    if len(rows) == 2:
        return f"data rows {rows[0]} and {rows[1]}"
    shown = ", ".join(str(r) for r in rows[:5])
    return f"data rows {shown}" + (f", … ({len(rows)} rows)" if len(rows) > 5 else "")


def _duplicates_error(periods: pd.PeriodIndex, rows: pd.Series, unit: str, given: bool) -> Exception:
    groups = pd.Series(rows.to_numpy()).groupby(periods.asi8, sort=True).agg(list)
    groups = groups[groups.map(len) > 1]
    first = [f"{period_text(pd.Period(ordinal=o, freq=periods.freq))} ({_rows_text(sorted(r))})"
             for o, r in groups.iloc[:3].items()]
    what = f"{len(groups):,} {unit}(s) hold" if given else f"{len(groups):,} timestamp(s) appear on"
    return user_error(
        "DuplicateTimestamps",
        f"{what} more than one row: {'; '.join(first)}" + ("; …" if len(groups) > 3 else "") + ".",
        f"Set duplicates to 'mean', 'sum', 'first' or 'last' to combine them into one row per {unit}, "
        "or remove the repeated rows.",
    )


def _fill(values: pd.DataFrame, policy: str) -> pd.DataFrame:
    if policy == "ffill":
        return values.ffill()
    if policy == "interpolate":
        return values.interpolate(method="linear", limit_area="inside")
    return values.fillna(0.0)


def _fill_gaps(
    values: pd.DataFrame, rows: pd.Series, alias: str, policy: str, unit: str
) -> tuple[pd.DataFrame, pd.Series, str]:
    full = pd.period_range(values.index[0], values.index[-1], freq=alias)
    if len(full) == len(values):
        return values, rows, ""
    missing = full.difference(values.index)
    if policy == "error":
        raise _gaps_error(full, values.index, missing, rows, unit, alias)
    values, rows = values.reindex(full), rows.reindex(full)
    gap_rows = rows.isna().to_numpy()
    values.loc[gap_rows] = _fill(values, policy).loc[gap_rows]
    how = {"ffill": "repeating the previous value", "interpolate": "interpolating between neighbours",
           "zero": "zeros"}[policy]
    return values, rows, f"Filled {len(missing):,} missing {unit}(s) in the {frequency_label(alias)} series with {how}."


def _gaps_error(full: pd.PeriodIndex, present: pd.PeriodIndex, missing: pd.PeriodIndex, rows: pd.Series,
                unit: str, alias: str) -> Exception:
    slot = full.get_indexer(missing)
    runs = np.split(slot, np.flatnonzero(np.diff(slot) != 1) + 1)
    shown = []
    for run in runs[:3]:
        before, after = full[run[0] - 1], full[run[-1] + 1]
        span = period_text(full[run[0]]) + ("" if len(run) == 1 else f" to {period_text(full[run[-1]])}")
        shown.append(f"no row for {span} (between data row {int(rows[before])}, {period_text(before)}, "
                     f"and data row {int(rows[after])}, {period_text(after)})")
    return user_error(
        "TimestampGaps",
        f"The {frequency_label(alias)} series has {len(missing):,} missing {unit}(s) in {len(runs):,} gap(s): "
        + "; ".join(shown) + ("; …" if len(runs) > 3 else "") + ".",
        "Set gaps to 'ffill' (repeat the previous value), 'interpolate' (a straight line between neighbours) or "
        f"'zero' (for counts), or set frequency if the series is not {frequency_label(alias)}.",
    )


def _fill_missing(
    values: pd.DataFrame, rows: pd.Series, filled_rows: pd.Series, policy: str
) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    nulls = values.isna()
    nulls.loc[filled_rows.to_numpy()] = False  # gap rows were filled by the gaps policy (or left for trimming)
    if nulls.to_numpy().any():
        if policy == "error":
            raise _missing_error(values, rows, only=nulls)
        values = values.mask(nulls, _fill(values, policy))
        notes.append(f"Filled {int(nulls.to_numpy().sum()):,} missing value(s) by "
                     + {"ffill": "repeating the previous value", "interpolate": "interpolating between neighbours",
                        "zero": "zeros"}[policy] + ".")
    complete = values.notna().all(axis=1).to_numpy()
    if not complete.any():
        raise user_error("NoValues", "No period has a value in every column.", "Pick a target with values.")
    first, last = int(np.argmax(complete)), len(complete) - int(np.argmax(complete[::-1])) - 1
    if first > 0 or last < len(values) - 1:
        notes.append(f"Dropped {first} period(s) at the start and {len(values) - 1 - last} at the end whose missing "
                     "values could not be filled from a neighbour.")
        values = values.iloc[first : last + 1]
    return values, notes


def _missing_error(values: pd.DataFrame, rows: pd.Series, only: pd.DataFrame | None = None) -> Exception:
    nulls = values.isna() if only is None else only
    column = next(c for c in values.columns if nulls[c].any())
    where = values.index[nulls[column].to_numpy()]
    shown = ", ".join(f"data row {int(rows[p])} ({period_text(p)})" for p in where[:3])
    total = int(nulls.to_numpy().sum())
    return user_error(
        "MissingValues",
        f"'{column}' has {int(nulls[column].sum()):,} missing value(s), the first in {shown}"
        + (f" ({total:,} missing in all columns)." if total > nulls[column].sum() else "."),
        "Set missing_values to 'ffill' (repeat the previous value), 'interpolate' or 'zero', "
        "or fill in those values.",
    )
