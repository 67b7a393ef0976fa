"""What a backtest reads from the past: the network's state on each start date and the
real epochs after it (from the shipped difficulty history), the realised hashprice on the
month starts it scores, and the user's BTC closes it reads, with the fit of a sampled BTC
model on those before each start (no world draws on a price from after its start).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.btc_closes import check_btc_covers, refuse_gap
from sim.economics import TWO_POW_32, hashprice_usd_per_ph_day, subsidy_btc
from sim.errors import UserError
from sim.processes.network import load_difficulty_epochs
from sim.processes.series import MIN_CLOSES
from sim.world import day_grid

#: Why the backtest reads a start's closes: the realised path it replays, or the month
#: starts whose realised hashprice it scores (and day 0, every world's start).
_READS = {True: "the realised path it replays",
          False: "the span of the month starts whose hashprice it scores"}


def btc_days_read(start: str, years: float, replay: bool) -> np.ndarray:
    """Return the days whose BTC close the backtest from `start` reads: every day of the
    window with `replay`, else day 0 and the month starts it scores (`month_starts`)."""
    day, _ = day_grid(start, years)
    days = np.datetime64(start, "D") + np.arange(len(day))
    return days if replay else days[np.union1d([0], month_starts(start, len(day)))]


#: The `--btc-model` options `--fit-btc` fits, each by `hashpivot-calibrate --btc`'s fit.
FITTED_BTC_MODELS = ("gbm", "jump")
#: The `--btc-model` option that resamples the closes before each start (market/btc=bootstrap).
BOOTSTRAP_BTC_MODEL = "bootstrap"


def closes_before(closes: pd.Series, start: str, source: str, needs: str) -> pd.Series:
    """Return the closes before `start`, or raise UserError naming the file unless they are
    a year of closes (`MIN_CLOSES`, as `hashpivot-calibrate --btc` asks): what `needs`
    them (--fit-btc, --btc-model bootstrap) draws on no close from after its start."""
    before = closes[closes.index < np.datetime64(start, "D")]
    if len(before) < MIN_CLOSES:
        raise UserError(f"--btc={source}: {len(before)} closes before {start}; {needs} needs "
                        f"at least {MIN_CLOSES} (a year of daily returns) before each start")
    return before


def fitted_btc(closes: pd.Series, start: str, option: str, source: str) -> tuple[dict, dict]:
    """Return (the parameters, their standard errors) of `market/btc=<option>` (gbm or
    jump) fitted by maximum likelihood, as `hashpivot-calibrate --btc` fits them, on the
    closes before `start` only (no world draws on prices from after its start), without
    `start_usd` (the backtest starts each world at the close of `start`); or raise
    UserError naming the file, and the row and column of a gap in those closes (the fits
    take daily returns)."""
    from sim.calibrate.btc import fit_gbm, fit_jump  # scipy: only where a fit is asked for

    fit = {"gbm": fit_gbm, "jump": fit_jump}[option]
    before = closes_before(closes, start, source, "--fit-btc")
    refuse_gap(before, before.index[0], before.index[-1], source, "--fit-btc fits daily returns")
    found = fit(before)
    return ({key: value for key, value in found.params.items() if key != "start_usd"},
            dict(found.errors))


#: Days before day 0, at least, whose blocks' pace is the backtest's day-0 hashrate: as the
#: 7-day averages that mining data sites publish and the as-of snapshots take (conf/asof).
HASHRATE_WINDOW_DAYS = 7.0


def start_state(start: str, epochs: pd.DataFrame | None = None) -> dict:
    """Return the network's state at 00:00 UTC on `start` from the real epochs, as
    `market.network` keys: the height (interpolated in time within the epoch), its
    difficulty, the days since its first block, and the hashrate over at least the last
    `HASHRATE_WINDOW_DAYS` (EH/s): the work of the epoch's blocks so far over its time so
    far, plus, where it began less than a window ago, the rest of the window at the pace of
    the last complete epoch (from its duration)."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    stamp = _unix(start)
    times = epochs["timestamp"].to_numpy()
    row = int(np.searchsorted(times, stamp, side="right")) - 1
    if row < 1 or row >= len(epochs) - 1:
        raise UserError(f"--start={start}: the shipped difficulty history covers "
                        f"{_day(times[1])} to {_day(times[-1])}")
    heights = epochs["height"].to_numpy()
    height = int(np.interp(stamp, times, heights))
    previous_s = float(times[row] - times[row - 1]) * 2015 / 2016
    previous = float(epochs["difficulty"].iloc[row - 1]) * TWO_POW_32 * 2015 / previous_s / 1e18
    difficulty, elapsed_s = float(epochs["difficulty"].iloc[row]), float(stamp - times[row])
    window_s = max(HASHRATE_WINDOW_DAYS * 86_400.0, elapsed_s)
    work = (height - int(heights[row])) * difficulty * TWO_POW_32 / 1e18  # EH, this epoch
    hashrate = (work + (window_s - elapsed_s) * previous) / window_s
    return {"start_height": height, "start_difficulty": difficulty,
            "start_epoch_elapsed_days": elapsed_s / 86_400.0, "start_hashrate_ehs": hashrate}


def realised_epochs(start: str, n_days: int, epochs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the real epochs that lie wholly inside the `n_days` from `start`: the day of
    their middle (from day 0) and their difficulty."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    days = (epochs["timestamp"].to_numpy() - _unix(start)) / 86_400.0
    begin, end = days[:-1], days[1:]
    inside = (begin >= 0) & (end <= n_days)
    return pd.DataFrame({"day": ((begin + end) / 2)[inside],
                         "difficulty": epochs["difficulty"].to_numpy()[:-1][inside]})


def month_starts(start: str, n_days: int, epochs: pd.DataFrame | None = None) -> np.ndarray:
    """Return the days (from day 0) of the `n_days` from `start` that are the first of a
    month, while the history of `epochs` (the shipped one if None) lasts."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    dates = np.datetime64(start, "D") + np.arange(n_days)
    firsts = np.flatnonzero(dates.astype("datetime64[M]").astype("datetime64[D]") == dates)
    stamps = np.array([_unix(str(dates[d])) for d in firsts], dtype=np.int64)
    return firsts[stamps < epochs["timestamp"].to_numpy()[-1]]


def realised_hashprice(start: str, n_days: int, closes: pd.Series, fees_btc_per_block: float,
                       epochs: pd.DataFrame | None = None,
                       source: str = "btc.csv") -> pd.DataFrame:
    """Return the realised hashprice on the first day of each month of the `n_days` from
    `start` (day index and USD/PH/day) while the shipped history lasts: the real difficulty
    in force, the subsidy at the real height, that day's BTC close and the given base fees
    (the history has no fees); or raise UserError if the closes of `source` lack a day from
    `start` to the last month start (`check_btc_covers`: no close is made up)."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    dates = np.datetime64(start, "D") + np.arange(n_days)
    firsts = month_starts(start, n_days, epochs)
    stamps = np.array([_unix(str(dates[d])) for d in firsts], dtype=np.int64)
    times = epochs["timestamp"].to_numpy()
    row = np.searchsorted(times, stamps, side="right") - 1
    height = np.interp(stamps, times, epochs["height"].to_numpy())
    if len(firsts):
        check_btc_covers(closes, start, dates[np.union1d([0], firsts)], source, _READS[False])
    close = closes.reindex(dates[firsts]).to_numpy(float)
    hashprice = hashprice_usd_per_ph_day(subsidy_btc(height.astype(np.int64)), fees_btc_per_block,
                                         close, epochs["difficulty"].to_numpy()[row])
    return pd.DataFrame({"day": firsts, "hashprice": hashprice})


def _unix(date: str) -> int:
    return int((np.datetime64(date, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)) * 86_400


def _day(stamp) -> str:
    return str(np.datetime64(int(stamp), "s").astype("datetime64[D]"))
