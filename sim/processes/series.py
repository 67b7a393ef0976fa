"""A user's price history in a CSV file: read, checked, and every fault named by row and column.

Shared by the history-driven processes (`sim.processes.history`) and `hashpivot-calibrate`.
A file has a header row, a ``date`` column (YYYY-MM-DD, or YYYY-MM-DD HH:MM for hourly
data) and one column of prices; rows are counted as in a text editor (the header is row 1).
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import UserError


#: The names a BTC close column may have in a user's file, the first found taken: every
#: reader of BTC closes (hashpivot-calibrate --btc, market/btc=bootstrap, hashpivot-backtest)
#: accepts the same ones.
BTC_CLOSE_COLUMNS = ("close_usd", "close", "price", "btc_usd")

#: The fewest closes a BTC history may have where it is fitted or resampled
#: (`hashpivot-calibrate --btc`, `hashpivot-backtest --fit-btc` before each start,
#: market/btc=bootstrap): a year of daily returns. The jump diffusion's five parameters
#: need jumps to be seen (a few a year), a year pins the GBM's volatility to under 4% of
#: itself, and a bootstrap of a few months' returns repeats their trend for years.
MIN_CLOSES = 366

#: A dated file's step is a gap when over this many times its median step: a month missing
#: from monthly data (59 to 62 days) is one, an ordinary month (28 to 31 days) is not.
GAP_STEPS = 1.5


def column_named(path, header, names: str | tuple[str, ...]) -> str:
    """Return the header's column for the first of `names` it has (letter case and
    surrounding spaces aside), or raise UserError naming the header row and what it has."""
    names = (names,) if isinstance(names, str) else names
    found = {str(c).strip().lower(): c for c in header}
    for name in names:
        if name in found:
            return found[name]
    wanted = repr(names[0]) + (f" (or {', '.join(names[1:])})" if len(names) > 1 else "")
    listed = ", ".join(map(str, header)) or "none"
    raise UserError(f"{path}: row 1 (header): no column {wanted} (columns: {listed})")


def read_strings(path, name, **options) -> pd.DataFrame:
    """Return the CSV as strings (pandas.read_csv `options` added), the first column never
    taken for an index; or raise UserError, naming `name`, at the first row with a value
    past the header's columns. An empty field there (a trailing comma, as some spreadsheets
    export) is harmless: every value stays under its header."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)  # fields past the header
        table = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False, **options)
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        width = len(table.columns)
        with open(path, newline="", encoding="utf-8") as stream:
            for row, fields in enumerate(csv.reader(stream), start=1):
                extra = [text for text in fields[width:] if text.strip()]
                if extra:
                    raise UserError(f"{name}: row {row}: {extra[0]!r} lies past the header's "
                                    f"{width} columns (a row may have at most one more field, "
                                    "empty: a trailing comma)")
    return table


def _table(path: str | Path, price: str | tuple[str, ...]) -> tuple[pd.DataFrame, str, str]:
    """Return (the CSV as strings, its date column, its price column: the first of `price`
    it has), or raise UserError naming what is missing."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: {'a directory, not a file' if path.is_dir() else 'no such file'}")
    try:
        table = read_strings(path, path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a CSV file ({' '.join(str(err).split())})") from None
    date, value = column_named(path, table.columns, "date"), column_named(path, table.columns, price)
    if table.empty:
        raise UserError(f"{path}: no rows after the header")
    return table, date, value


def _dates(path, text: pd.Series, column: str) -> pd.Series:
    """Return the column parsed as timestamps in UTC, or raise UserError at the first bad row.

    A date with a UTC offset (2024-03-10T02:00:00-05:00) is converted to UTC, whatever the
    offsets of the other rows (an hourly export across a daylight-saving change has two);
    a date without one is taken as UTC.
    """
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if len(bad):
        row = int(bad[0])
        raise UserError(f"{path}: row {row + 2}, column {column}: {text.iloc[row]!r} is not a "
                        f"date (YYYY-MM-DD, or YYYY-MM-DD HH:MM)")
    return parsed.dt.tz_convert(None)


def _positive(path, text: pd.Series, column: str, signed: bool = False) -> np.ndarray:
    """Return the column as floats, or raise UserError at the first non-positive or bad row
    (with `signed`, at the first bad row only: a price may be zero or negative)."""
    values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~(np.isfinite(values) & (signed or values > 0)))
    if len(bad):
        row = int(bad[0])
        raise UserError(f"{path}: row {row + 2}, column {column}: {text.iloc[row]!r} is not a "
                        f"{'finite' if signed else 'positive'} price")
    return values


def _ordered(path, stamps: pd.Series, column: str) -> None:
    """Raise UserError at the first row that repeats or precedes the row before it."""
    step = np.diff(stamps.to_numpy().astype("datetime64[s]").astype(np.int64))
    for kind, rows in (("duplicate date", np.flatnonzero(step == 0)),
                       ("date earlier than the row before", np.flatnonzero(step < 0))):
        if len(rows):
            row = int(rows[0]) + 1
            raise UserError(f"{path}: row {row + 2}, column {column}: {kind} "
                            f"({stamps.iloc[row]:%Y-%m-%d %H:%M})")


def read_daily(path: str | Path, column: str | tuple[str, ...], hourly: bool = False,
               gaps: bool = False) -> pd.Series:
    """Return the file's daily prices (index: datetime64 days, consecutive), checked.

    The prices are in `column` (or the first of several names the file has, as
    `BTC_CLOSE_COLUMNS`). With `hourly`, rows may be hours (several a day); they are
    averaged to days, and an hour's price may be zero or negative (wholesale power often
    is, at night or in wind) as long as its day's mean is positive. Missing days (gaps),
    repeated or unordered dates and non-positive prices (days, with `hourly`) raise
    UserError naming the file, the row and the column. With `gaps`, a missing day is left to
    the caller (`hashpivot-backtest` refuses one only among the days it reads).
    """
    table, date, column = _table(path, column)
    stamps = _dates(path, table[date], date)
    values = _positive(path, table[column], column, signed=hourly)
    _ordered(path, stamps, date)
    days = stamps.dt.floor("D")
    if not hourly and (days != stamps).any():
        row = int(np.flatnonzero((days != stamps).to_numpy())[0])
        text, utc = table[date].iloc[row], f"{stamps.iloc[row]:%Y-%m-%d %H:%M}"
        shown = "" if text.startswith(utc) else f" ({utc} in UTC)"
        raise UserError(f"{path}: row {row + 2}, column {date}: {text!r} has a time of "
                        f"day{shown}; daily prices expected")
    by_day = pd.Series(values, index=days.to_numpy().astype("datetime64[D]")).groupby(
        level=0, sort=False)
    if hourly:
        _whole_days(path, by_day.size(), days, date)
    series = by_day.mean()
    series.index = series.index.to_numpy().astype("datetime64[D]")
    low = np.flatnonzero(~(series.to_numpy() > 0))
    if len(low):  # only with `hourly`: every row was positive otherwise
        day = series.index[low[0]]
        row = int(np.flatnonzero((days == day).to_numpy())[0])
        raise UserError(f"{path}: row {row + 2}, column {column}: the prices of {day:%Y-%m-%d} "
                        f"average {series.iloc[low[0]]:g}; an hour may be negative, a day's "
                        "mean must be positive")
    gap = np.flatnonzero(np.diff(series.index.to_numpy().astype("datetime64[D]").astype(np.int64)) > 1)
    if len(gap) and not gaps:
        first = series.index[gap[0] + 1]
        row = int(np.flatnonzero((days == first).to_numpy())[0])
        raise UserError(f"{path}: row {row + 2}, column {date}: gap: no price from "
                        f"{series.index[gap[0]]:%Y-%m-%d} to {first:%Y-%m-%d}")
    return series


def _whole_days(path, counts: pd.Series, days: pd.Series, date: str) -> None:
    """Raise UserError at the first day, but the file's first and last (a file may start or
    end within a day), whose rows (`counts`, by day) are more than one fewer than the file's
    usual day's: its mean would stand for hours it does not have (one fewer is a
    daylight-saving day's)."""
    if len(counts) < 3:
        return
    usual = int(counts.iloc[1:-1].mode().iloc[0])
    short = np.flatnonzero(counts.iloc[1:-1].to_numpy() < usual - 1)
    if len(short):
        day = counts.index[short[0] + 1]
        row = int(np.flatnonzero((days == day).to_numpy())[0])
        n = int(counts.iloc[short[0] + 1])
        raise UserError(f"{path}: row {row + 2}, column {date}: {day:%Y-%m-%d} has "
                        f"{n} row{'s' if n != 1 else ''} where the file's days have "
                        f"{usual}; its mean would stand for hours it lacks: fill them or "
                        "remove the day")


def read_dated(path: str | Path, column: str) -> pd.Series:
    """Return the file's prices on their dates (any regular step: daily, weekly, monthly).

    Rows within one day (hourly data) are averaged to the day. Raises UserError, naming
    the row and the column, at a bad or repeated date, a non-positive price, or a gap: a
    step over `GAP_STEPS` times the file's median step (a month missing from monthly
    data, 59 to 62 days, against the usual 28 to 31).
    """
    table, date, column = _table(path, column)
    stamps = _dates(path, table[date], date)
    values = _positive(path, table[column], column)
    _ordered(path, stamps, date)
    days = stamps.dt.floor("D").to_numpy().astype("datetime64[D]")
    series = pd.Series(values, index=days).groupby(level=0, sort=False).mean()
    if len(series) < 3:
        raise UserError(f"{path}: {len(values)} row(s) on {len(series)} day(s); at least 3 "
                        f"dated prices on different days are needed")
    step = np.diff(series.index.to_numpy().astype("datetime64[D]").astype(np.int64))
    gap = np.flatnonzero(step > GAP_STEPS * np.median(step))
    if len(gap):
        first = series.index[gap[0] + 1]
        row = int(np.flatnonzero(days == first)[0])
        raise UserError(f"{path}: row {row + 2}, column {date}: gap: {int(step[gap[0]])} days "
                        f"after the row before (the usual step is {np.median(step):g} days)")
    series.index = series.index.to_numpy().astype("datetime64[D]")
    return series
