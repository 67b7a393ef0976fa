"""History-driven markets: block bootstraps of a user's BTC and power prices, and of the
real difficulty epochs.

A block bootstrap resamples whole runs of consecutive history (Künsch 1989, moving
blocks; Politis & Romano 1994, stationary bootstrap with geometric block lengths), so
that short-range dependence and volatility clusters survive. Relative file paths resolve
against the working directory (Hydra leaves it alone: hydra.job.chdir=false).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from sim.economics import BLOCKS_PER_EPOCH, SECONDS_PER_DAY, TARGET_SPACING_S, TWO_POW_32
from sim.errors import UserError
from sim.params import Checked, Date, Text, param, shown
from sim.processes._common import upstream_dates
from sim.processes.network import Network, issued_btc, load_difficulty_epochs
from sim.processes.series import BTC_CLOSE_COLUMNS, MIN_CLOSES, read_daily

METHODS = ("stationary", "moving")
POWER_MODES = ("bootstrap", "replay")
#: Days of one epoch at 600 s blocks.
_EPOCH_DAYS = BLOCKS_PER_EPOCH * TARGET_SPACING_S / SECONDS_PER_DAY


def block_indices(n_out: int, n_source: int, block: int, method: str,
                  rng: np.random.Generator) -> np.ndarray:
    """Return `n_out` indices into a series of `n_source` items, resampled in blocks.

    ``moving``: blocks of exactly `block` items starting uniformly where a whole block
    fits. ``stationary``: a new block starts each step with probability 1/`block`, at a
    uniform start, and runs on circularly (mean length `block`).
    """
    step = np.arange(n_out)
    if n_out == 0:
        return step
    if method == "moving":
        starts = rng.integers(0, n_source - block + 1, size=n_out // block + 1)
        return starts[step // block] + step % block
    new = rng.random(n_out) < 1.0 / block
    new[0] = True
    starts = rng.integers(0, n_source, size=n_out)
    block_id = np.cumsum(new) - 1
    first_step = np.flatnonzero(new)
    return (starts[first_step][block_id] + step - first_step[block_id]) % n_source


def _file_error(key: str, value, err: UserError) -> UserError:
    return UserError(f"{key}={shown(value)}: {err}")


def _read(key: str, path: str, column: str | tuple[str, ...], hourly: bool = False) -> pd.Series:
    try:
        return read_daily(Path(path), column, hourly=hourly)
    except UserError as err:
        raise _file_error(key, path, err) from None


@dataclass
class BootstrapBTC(Checked):
    """A BTC price path resampled from a CSV of daily closes: block bootstrap of log returns.

    The file has columns ``date`` (YYYY-MM-DD, consecutive days) and ``close_usd`` (or
    another name of `sim.processes.series.BTC_CLOSE_COLUMNS`: close, price, btc_usd). With
    ``until``, only the closes up to that date are read (a backtest draws on no history
    after its start); those read must be a year of closes (`MIN_CLOSES`), as a fit's. The
    path starts at ``start_usd`` (null: the last close read) and multiplies by resampled
    daily returns. Under rng=None it is the expected path S0·m^t, m the mean daily gross
    return of the history.
    """

    file: str = param("btc_daily.csv", unit="path", rule=Text(),
                      doc="CSV of daily closes (date, close_usd or close); relative to the "
                          "working directory")
    block_days: int = param(30, unit="days", low=1, integer=True,
                            doc="(mean) length of a resampled block of days")
    method: str = param("stationary", unit="-", choices=METHODS,
                        doc="stationary (geometric block lengths) or moving (fixed blocks)")
    start_usd: Optional[float] = param(None, unit="USD", low=0, low_open=True, nullable=True,
                                       doc="BTC price on day 0; null = the file's last close")
    until: Optional[str] = param(None, unit="date", rule=Date(nullable=True),
                                 doc="last date of the history used; null = the whole file")
    _log_returns: np.ndarray = field(init=False, repr=False, compare=False, default=None)
    _last_close: float = field(init=False, repr=False, compare=False, default=0.0)

    def __post_init__(self):
        super().__post_init__()
        whole = _read("file", self.file, BTC_CLOSE_COLUMNS)
        closes = whole
        if self.until is not None:
            closes = whole[whole.index <= np.datetime64(str(self.until), "D")]
        self._check_history(len(whole), len(closes))
        self._log_returns = np.diff(np.log(closes.to_numpy()))
        self._last_close = float(closes.iloc[-1])

    def _check_history(self, whole: int, kept: int) -> None:
        """Raise UserError, naming `file` (its `whole` closes) or `until` (the `kept` closes up
        to it), unless the history read has `MIN_CLOSES` closes, as `hashpivot-calibrate
        --btc` asks, and more than a block."""
        needed = max(MIN_CLOSES, self.block_days + 1)
        if kept >= needed:
            return
        why = (f"at least {MIN_CLOSES} (a year of daily returns)" if needed == MIN_CLOSES
               else f"more than block_days={self.block_days}")
        if self.until is None or whole < needed:  # the file itself is short
            read = f"file={shown(self.file)}: {_closes(whole)}"
        else:
            read = (f"until={shown(self.until)}: {_closes(kept)} of file={shown(self.file)} "
                    "up to that date")
        raise UserError(f"{read}; the bootstrap needs {why}")

    def start_price_usd(self) -> float:
        """Return the day-0 price: start_usd, or the history's last close."""
        return float(self.start_usd) if self.start_usd is not None else self._last_close

    def sample(self, days, rng, upstream) -> dict:
        """Return {"btc_usd": daily price}; the expected path when rng is None."""
        n_days = len(days)
        if rng is None:
            growth = math.log(float(np.mean(np.exp(self._log_returns))))
            return {"btc_usd": self.start_price_usd() * np.exp(growth * np.arange(n_days))}
        picks = block_indices(n_days - 1, len(self._log_returns), self.block_days, self.method,
                              rng)
        log_path = np.concatenate(([0.0], np.cumsum(self._log_returns[picks])))
        return {"btc_usd": self.start_price_usd() * np.exp(log_path)}


def _closes(count: int) -> str:
    """Return `count` closes in words: 1 close, 2 closes."""
    return f"{count} close{'s' * (count != 1)}"


def _calendar_key(date: np.ndarray) -> np.ndarray:
    """Return month·100 + day for each date, February 29th read as the 28th."""
    stamps = pd.DatetimeIndex(np.asarray(date, dtype="datetime64[D]"))
    day = np.where((stamps.month == 2) & (stamps.day == 29), 28, stamps.day)
    return stamps.month.to_numpy() * 100 + day


@dataclass
class HistoryPower(Checked):
    """Daily power prices from a CSV: the history replayed, or bootstrapped by season.

    The file has columns ``date`` and ``usd_per_mwh``: daily, or hourly rows
    (YYYY-MM-DD HH:MM) averaged to days. ``replay`` runs the history on from the first
    day with day 0's calendar day, and wraps after its last whole year (so seasons stay
    aligned). ``bootstrap`` fills the grid with blocks of ``block_days``, each taken from
    a random year of the history at the same calendar day. Under rng=None the path is
    each calendar day's mean over the history (replay: the replay itself).
    """

    file: str = param("power_daily.csv", unit="path", rule=Text(),
                      doc="CSV of power prices (date, usd_per_mwh), daily or hourly")
    mode: str = param("bootstrap", unit="-", choices=POWER_MODES,
                      doc="bootstrap (random years, by calendar day) or replay (in order)")
    block_days: int = param(30, unit="days", low=1, high=365, integer=True,
                            doc="length of a resampled block of days (bootstrap)")
    _prices: np.ndarray = field(init=False, repr=False, compare=False, default=None)
    _keys: np.ndarray = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self):
        super().__post_init__()
        prices = _read("file", self.file, "usd_per_mwh", hourly=True)
        needed = 730 if self.mode == "replay" else 366 + self.block_days
        if len(prices) < needed:
            raise UserError(f"file={shown(self.file)}: {len(prices)} days of prices; mode="
                            f"{self.mode} needs at least {needed}")
        self._prices = prices.to_numpy()
        self._keys = _calendar_key(prices.index.to_numpy())

    def _replay(self, date: np.ndarray) -> np.ndarray:
        first = int(np.flatnonzero(self._keys == _calendar_key(date[:1])[0])[0])
        cycle = 365 * ((len(self._prices) - first) // 365)
        return self._prices[first + np.arange(len(date)) % cycle]

    def _calendar_mean(self, date: np.ndarray) -> np.ndarray:
        means = pd.Series(self._prices).groupby(self._keys).mean()
        return means.reindex(_calendar_key(date)).to_numpy()

    def sample(self, days, rng, upstream) -> dict:
        """Return {"power_usd_per_mwh": daily price} replayed or bootstrapped from the file."""
        date = upstream_dates(upstream, len(days))
        if self.mode == "replay":
            return {"power_usd_per_mwh": self._replay(date)}
        if rng is None:
            return {"power_usd_per_mwh": self._calendar_mean(date)}
        fits = np.arange(len(self._prices)) <= len(self._prices) - self.block_days
        block_starts = np.arange(0, len(days), self.block_days)
        keys = _calendar_key(date[block_starts])
        uniforms = rng.random(len(block_starts))
        out = np.empty(len(days))
        for start, key, u in zip(block_starts, keys, uniforms):
            candidates = np.flatnonzero((self._keys == key) & fits)
            pick = int(candidates[int(u * len(candidates))])
            length = min(self.block_days, len(days) - start)
            out[start:start + length] = self._prices[pick:pick + length]
        return {"power_usd_per_mwh": out}


def _network_param(name: str):
    """Return a field like Network's `name` (same default, unit, doc and rule)."""
    spec = next(f for f in fields(Network) if f.name == name)
    return field(default=spec.default, metadata=spec.metadata)


def read_epochs(path: str | None) -> pd.DataFrame:
    """Return a difficulty history (height, timestamp, difficulty): the shipped one if None.

    Raises UserError naming the row and column of a height that does not follow the row
    before by one epoch (2016 blocks) or a non-positive difficulty.
    """
    if path is None:
        return load_difficulty_epochs()
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file")
    table = pd.read_csv(path)
    for column in ("height", "timestamp", "difficulty"):
        if column not in table.columns:
            raise UserError(f"{path}: row 1 (header): no column {column!r}")
    for column, lowest in (("height", 0.0), ("timestamp", 0.0), ("difficulty", 1e-300)):
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~(np.isfinite(values) & (values >= lowest)))
        if len(bad):
            raise UserError(f"{path}: row {bad[0] + 2}, column {column}: "
                            f"{str(table[column].iloc[bad[0]])!r} is not a valid {column}")
    for column, wrong, what in (
            ("height", lambda step: step != BLOCKS_PER_EPOCH,
             f"not {BLOCKS_PER_EPOCH} blocks after the row before (one row per epoch)"),
            ("timestamp", lambda step: step <= 0, "not later than the row before")):
        bad = np.flatnonzero(wrong(np.diff(table[column].to_numpy(dtype=float))))
        if len(bad):
            raise UserError(f"{path}: row {bad[0] + 3}, column {column}: {what}")
    return table.astype({"height": "int64", "timestamp": "int64", "difficulty": "float64"})


def epoch_log_changes(epochs: pd.DataFrame, since: str, until: str | None = None) -> np.ndarray:
    """Return the log-changes of difficulty at the retargets of epochs starting on or after
    `since` and, if `until` is given, retargeting (the next epoch's first block) on or before
    that day: the history known at its end."""
    times = epochs["timestamp"].to_numpy()
    difficulty = epochs["difficulty"].to_numpy(dtype=float)
    keep = times[:-1] >= pd.Timestamp(since).timestamp()
    if until is not None:
        keep &= times[1:] < (pd.Timestamp(until) + pd.Timedelta(days=1)).timestamp()
    return np.diff(np.log(difficulty))[keep]


@dataclass
class BootstrapNetwork(Checked):
    """The network's difficulty from a block bootstrap of the real retargets' log-changes.

    Each epoch ends with a retarget whose log-change r is resampled (blocks of
    ``block_epochs`` consecutive real epochs from ``since`` on, up to the retargets of
    ``until`` if set: a backtest draws on no later history). A retarget of r means the
    epoch lasted 14 days · exp(−r) (Bitcoin's rule, D' = D · 14 days / duration), so its
    hashrate was D · 2³² · 2016 / duration. Outputs as `Network.sample`: daily hashrate,
    difficulty, height, subsidy, fees and the epochs table; fees as `Network`'s. The epoch
    in force at day 0 began ``start_height mod 2016`` blocks before it. Under rng=None
    every retarget is the history's mean log-change.
    """

    start_height: int = _network_param("start_height")
    start_difficulty: float = _network_param("start_difficulty")
    file: Optional[str] = param(None, unit="path", rule=Text(nullable=True),
                                doc="CSV of epochs (height, timestamp, difficulty); "
                                    "null = the shipped history")
    since: str = param("2016-01-01", unit="date", rule=Date(),
                       doc="resample the epochs that start on or after this date")
    until: Optional[str] = param(None, unit="date", rule=Date(nullable=True),
                                 doc="and retarget on or before this date; null = to the "
                                     "history's end (hashpivot-backtest sets the day before "
                                     "its start)")
    block_epochs: int = param(13, unit="epochs", low=1, integer=True,
                              doc="(mean) length of a resampled block of epochs")
    method: str = param("stationary", unit="-", choices=METHODS,
                        doc="stationary (geometric block lengths) or moving (fixed blocks)")
    fees_btc_per_block: float = _network_param("fees_btc_per_block")
    fee_spikes_per_year: float = _network_param("fee_spikes_per_year")
    fee_spike_mean_days: float = _network_param("fee_spike_mean_days")
    fee_spike_multiplier_median: float = _network_param("fee_spike_multiplier_median")
    fee_spike_multiplier_sigma: float = _network_param("fee_spike_multiplier_sigma")
    _changes: np.ndarray = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self):
        super().__post_init__()
        try:
            changes = epoch_log_changes(read_epochs(self.file), self.since, self.until)
        except UserError as err:
            raise _file_error("file", self.file, err) from None
        if len(changes) < self.block_epochs:
            until = "" if self.until is None else f" and up to until={self.until!r}"
            raise UserError(f"since={self.since!r}: {len(changes)} retargets after it{until}; "
                            f"needs at least block_epochs={self.block_epochs}")
        self._changes = changes

    def log_changes(self) -> np.ndarray:
        """Return the history's retarget log-changes that the bootstrap resamples."""
        return self._changes.copy()

    def _fees(self) -> Network:
        return Network(**{f.name: getattr(self, f.name) for f in fields(self)
                          if f.name.startswith("fee")})

    def sample(self, days, rng, upstream) -> dict:
        """Return the network's daily paths and epochs table (see the class docstring)."""
        n_days = len(days)
        fees = self._fees().sample_fees(n_days, rng)
        n_epochs = int(2 * n_days / _EPOCH_DAYS) + 16
        while True:
            if rng is None:
                changes = np.full(n_epochs, float(np.mean(self._changes)))
            else:
                changes = self._changes[block_indices(n_epochs, len(self._changes),
                                                      self.block_epochs, self.method, rng)]
            full_days = _EPOCH_DAYS * np.exp(-changes)
            done = self.start_height % BLOCKS_PER_EPOCH
            starts = np.concatenate(([0.0], np.cumsum(full_days))) - full_days[0] * done / BLOCKS_PER_EPOCH
            if starts[-1] >= n_days:
                break
            n_epochs *= 2
        last = int(np.searchsorted(starts, n_days, side="left"))  # the epoch ending past the grid
        starts, full_days = starts[:last + 1], full_days[:last]
        difficulty = self.start_difficulty * np.exp(np.concatenate(([0.0], np.cumsum(changes[:last - 1]))))
        heights = self.start_height - done + BLOCKS_PER_EPOCH * np.arange(last + 1)
        hashrate = difficulty * TWO_POW_32 * BLOCKS_PER_EPOCH / (full_days * SECONDS_PER_DAY) / 1e18
        return _daily_fields(self.start_height, days, starts, heights, difficulty, hashrate, fees)


def _daily_fields(start_height, days, starts, heights, difficulty, hashrate, fees) -> dict:
    """Return Network-shaped daily paths and epochs table from epoch starts (days, continuous)."""
    n_days = len(days)
    knot_t, knot_h = starts, heights.astype(float)
    if starts[0] < 0:  # the epoch in force at day 0 began before it
        knot_t = np.insert(starts, 1, 0.0)
        knot_h = np.insert(knot_h, 1, float(start_height))
    height = np.interp(np.arange(n_days + 1, dtype=float), knot_t, knot_h)
    start_day = np.maximum(np.floor(starts[:-1]), 0).astype(np.int64)
    in_force = np.searchsorted(start_day, np.asarray(days) - days[0], side="right") - 1
    table = pd.DataFrame({"start_day": start_day,
                          "end_day": np.floor(starts[1:]).astype(np.int64),
                          "start_height": heights[:-1].astype(np.int64),
                          "difficulty": difficulty})
    return {"network_hashrate_ehs": hashrate[in_force],
            "difficulty": difficulty[in_force],
            "block_height": np.floor(height[:n_days]).astype(np.int64),
            "subsidy_btc": (issued_btc(height[1:]) - issued_btc(height[:-1])) / np.diff(height),
            "fees_btc_per_block": fees,
            "epochs": table}
