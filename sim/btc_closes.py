"""Daily BTC closes from a user's CSV, and the rule that a backtest has a close for every
day it reads: no close is carried forward over a gap (BTC trades every day)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.processes.series import BTC_CLOSE_COLUMNS, read_daily


def read_btc_csv(path) -> pd.Series:
    """Return daily BTC closes (USD) by date from a CSV with a `date` and a close column, read
    as every BTC reader reads them (`read_daily`: a date with a UTC offset read in UTC, a time
    of day refused), except that a missing day is left to `check_btc_covers`; or raise
    UserError naming the flag, the file, the row (its line) and the column."""
    try:
        return read_daily(path, BTC_CLOSE_COLUMNS, gaps=True)
    except UserError as err:
        raise UserError(f"--btc={err}") from None


def check_btc_covers(closes: pd.Series, start: str, days: np.ndarray, source: str,
                     why: str) -> None:
    """Raise UserError, naming the file and the days missing, unless the closes hold every
    day from the first of `days` to the last: the rule of every BTC reader (a day
    without a close is a gap, as in `hashpivot-calibrate --btc`; BTC trades every day)."""
    index = closes.index.to_numpy().astype("datetime64[D]")
    first, last = days[0], days[-1]
    needs = f"the backtest from {start} needs every close from {first} to {last} ({why})"
    if index[0] > first or index[-1] < last:
        raise UserError(f"--btc={source}: covers {index[0]} to {index[-1]}; {needs}")
    refuse_gap(closes, first, last, source, needs)


def refuse_gap(closes: pd.Series, first, last, source: str, needs: str) -> None:
    """Raise UserError at the first day missing between the closes of `first` and `last`,
    naming its row (the series' positions are the file's rows after its header)."""
    index = closes.index.to_numpy().astype("datetime64[D]")
    first, last = (pd.Timestamp(day).to_datetime64().astype("datetime64[D]")
                   for day in (first, last))
    lo, hi = np.searchsorted(index, first, side="right") - 1, np.searchsorted(index, last)
    gap = np.flatnonzero(np.diff(index[max(lo, 0):hi + 1]).astype(np.int64) > 1)
    if len(gap):
        row = max(lo, 0) + int(gap[0]) + 1
        raise UserError(f"--btc={source}: row {row + 2}, column date: gap: no close from "
                        f"{index[row - 1]} to {index[row]}; {needs}")


def btc_path(closes: pd.Series, start: str, n_days: int, source: str,
             why: str = "the realised path it replays") -> np.ndarray:
    """Return the realised closes on the `n_days` from `start`, or raise UserError if the
    file does not hold every one of them (`check_btc_covers`, saying `why` it reads them)."""
    days = np.datetime64(start, "D") + np.arange(n_days)
    check_btc_covers(closes, start, days, source, why)
    return closes.reindex(days).to_numpy(float)
