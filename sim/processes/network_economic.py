"""The Bitcoin network with hashrate from miner economics: vintages, power costs, free entry.

The network's fleet is a small array of vintages, each with its installed hashrate (EH/s)
and efficiency (J/TH). A machine runs while hashprice pays its power: a vintage of
efficiency e runs in the share ``Φ((log p*(hp, e) − log m) / s)`` of its machines, where
``p*(hp, e) = hp / (0.024 · e)`` USD/MWh is the power price at which hashprice hp
(USD per PH/s per day) just pays the power of e J/TH (24 Wh per TH-day), and miners'
power prices are lognormal around the median m with log-sd s. New machines, at the
frontier efficiency of their order date, are ordered while a frontier machine bought at
the ASIC price (days of hashprice, as `sim.fleet.AsicPrices`) pays back within the
target period at the median power price; they arrive after a delivery lag and retire
after their life. docs/model.md ("Hashrate from miner economics") gives the rules, the
closed-form equilibrium and the sources of the defaults.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from sim.economics import DAYS_PER_YEAR, frontier_j_per_th
from sim.errors import UserError
from sim.memo import read_only_cache
from sim.params import Date, param
from sim.processes import _economic_epochs as epochs
from sim.processes._common import MOST_LOG_SD, MOST_PER_YEAR, upstream_dates, upstream_path
from sim.processes.network import NetworkBase, daily_fields, load_difficulty_epochs

#: MWh of power per (J/TH) per TH-day: 1 J/s per TH over 86,400 s = 24 Wh = 24e-6 MWh;
#: per PH-day (hashprice's unit) 1,000 times more.
MWH_PER_J_PER_TH_PH_DAY = 0.024

#: Width of the vintage bins of the day-0 fleet, in years.
_BIN_YEARS = 0.25

#: Most days between two deliveries of the day-0 pipeline: about an epoch (2,016 blocks at
#: 600 s), so that it delivers from the first epoch on, as the real order book does.
_PIPELINE_BIN_DAYS = 14.0


def breakeven_usd_per_mwh(hashprice_usd_per_ph_day, j_per_th):
    """Return the power price (USD/MWh) at which hashprice just pays a machine's power."""
    return np.asarray(hashprice_usd_per_ph_day) / (MWH_PER_J_PER_TH_PH_DAY * np.asarray(j_per_th))


@dataclass
class EconomicNetwork(NetworkBase):
    """Bitcoin's network whose hashrate is what its vintages of machines find worth running.

    At the end of each epoch, with that epoch's mean revenue R (USD per day at 600 s
    blocks): deliveries due arrive, vintages past ``machine_life_years`` retire, and the
    running hashrate H_run = R / hp* solves ``hp* · Σ_v C_v · share_v(hp*) = R`` (the
    hashprice at which exactly the machines that pay their power run). Log hashrate then
    drifts toward H_run over ``switch_days`` (capped at ±``max_drift_per_year``), plus
    Brownian noise of ``hashrate_volatility_per_year``, which therefore reverts.
    Orders: entry pays while hashprice exceeds ``hp_entry = 0.024 · e_frontier · m / (1 −
    k / T)`` (k = ``asic_price_days_of_hashprice``, T = ``payback_target_days``); the
    operating hashrate at which it stops is R / hp_entry. Each epoch orders a share
    ``1 − exp(−epoch days / order_days)`` of the gap between that and what the fleet and
    the machines on order would run at hp_entry, counting only the machines that will not
    have retired when the order arrives, times a lognormal shock of log-sd
    ``order_noise_log_sd``; orders arrive ``delivery_lag_days`` later. Each world may
    draw its own median power price, lognormal around ``power_median_usd_per_mwh`` with
    log-sd ``power_median_log_sd`` (how little is known of miners' costs).

    Day 0: the fleet's vintages span the last ``machine_life_years`` in quarters, at the
    frontier efficiency of their time, sized as the real difficulty grew over the year
    before day 0 (shipped epochs; after their end, from the shipped difficulty a year before
    day 0 to ``start_difficulty``: `past_growth_per_year`), and scaled so that
    the day-0 hashrate runs at the hashprice it earns once blocks come every 600 s (the
    day-0 revenue shared by it: a neutral start); the same growth
    fills the delivery pipeline, delivered about every epoch over the lag, its size times
    one lognormal shock per world like an order's (an observer knows the past deliveries,
    not the order book). The frontier is ``frontier_j_per_th`` on
    ``frontier_date`` and improves by ``frontier_gain_per_year``. Outages (a ban, a grid
    failure; ``outages_per_year``, off by default) force a share of every installed vintage
    off, returning linearly over ``outage_recovery_days`` (`sample_outages`). Needs the
    upstream ``date``. Under rng=None: no noise and no outages.
    """

    hashrate_volatility_per_year: float = param(
        0.4, unit="1/sqrt(year)", low=0, high=MOST_LOG_SD,
        doc="Brownian noise of log hashrate, reverting over switch_days (fit: backtests)")
    frontier_j_per_th: float = param(16.1, unit="J/TH", low=0, low_open=True,
                                     doc="efficiency of the newest machines on frontier_date")
    frontier_date: str = param("2024-01-01", unit="date", rule=Date(),
                               doc="date at which the frontier is frontier_j_per_th")
    frontier_gain_per_year: float = param(0.19, unit="share/year", low=0, high=0.9,
                                          doc="yearly fall of the frontier's J/TH")
    power_median_usd_per_mwh: float = param(45.0, unit="USD/MWh", low=0, low_open=True,
                                            doc="median power price of the world's miners")
    power_log_sd: float = param(0.5, unit="log", low=0, low_open=True, high=MOST_LOG_SD,
                                doc="log standard deviation of miners' power prices")
    asic_price_days_of_hashprice: float = param(
        375.0, unit="days", low=0, low_open=True,
        doc="new ASIC price per TH = this x hashprice per TH-day")
    payback_target_days: float = param(500.0, unit="days", low=0, low_open=True,
                                       doc="miners buy frontier machines that pay back within this")
    order_days: float = param(90.0, unit="days", low=0, low_open=True,
                              doc="time constant over which orders close the entry gap")
    delivery_lag_days: float = param(120.0, unit="days", low=0, high=3650,
                                     doc="days from order to running machines")
    machine_life_years: float = param(6.0, unit="years", low=0.5, high=50,
                                      doc="years a machine runs before it retires")
    switch_days: float = param(14.0, unit="days", low=1,
                               doc="time constant of switching machines on and off")
    order_noise_log_sd: float = param(0.8, unit="log", low=0, high=MOST_LOG_SD,
                                      doc="log standard deviation of each epoch's orders")
    power_median_log_sd: float = param(0.7, unit="log", low=0, high=MOST_LOG_SD,
                                       doc="log-sd of the world's median power price, drawn "
                                           "once per world (uncertainty of miners' costs)")
    outages_per_year: float = param(0.0, unit="1/year", low=0, high=MOST_PER_YEAR,
                                    doc="rate of outages: a ban or a region's grid forcing "
                                        "a share of the installed machines off at once")
    outage_share_low: float = param(0.1, unit="share", low=0, high=1,
                                    doc="smallest share of the machines an outage forces off")
    outage_share_high: float = param(0.5, unit="share", low=0, high=1,
                                     doc="largest share of the machines an outage forces off")
    outage_recovery_days: float = param(240.0, unit="days", low=1,
                                        doc="days until the machines forced off all run again "
                                            "(they return linearly from the outage's start)")

    def __post_init__(self):
        super().__post_init__()
        if self.asic_price_days_of_hashprice >= self.payback_target_days:
            raise UserError(f"payback_target_days={self.payback_target_days!r}: must exceed "
                            f"asic_price_days_of_hashprice ({self.asic_price_days_of_hashprice!r}),"
                            " or no machine ever pays back")
        if self.outage_share_low > self.outage_share_high:
            raise UserError(f"outage_share_low={self.outage_share_low!r}: must not exceed "
                            f"outage_share_high ({self.outage_share_high!r})")

    # --- the economics, as plain functions of the parameters ---------------------------------
    def frontier_at(self, date) -> float:
        """Return the J/TH of the newest machines on `date` (a datetime64 or ISO string)."""
        years = ((np.datetime64(date, "D") - np.datetime64(self.frontier_date, "D"))
                 .astype(float) / DAYS_PER_YEAR)
        return float(frontier_j_per_th(self.frontier_j_per_th, self.frontier_gain_per_year, years))

    # A world may draw its own median power price (power_median_log_sd): `median` is it,
    # None the network's.
    def running_share(self, hashprice_usd_per_ph_day, j_per_th, median: float | None = None):
        """Return the share of machines of `j_per_th` whose power the hashprice pays."""
        breakeven = breakeven_usd_per_mwh(hashprice_usd_per_ph_day, j_per_th)
        return ndtr((np.log(breakeven) - math.log(self._median(median))) / self.power_log_sd)

    def entry_hashprice(self, frontier_j_per_th, median=None):
        """Return the hashprice at which a frontier machine pays back in payback_target_days
        (elementwise, for arrays of frontiers and medians)."""
        power_cost = MWH_PER_J_PER_TH_PH_DAY * frontier_j_per_th * self._median(median)
        return power_cost / (1 - self.asic_price_days_of_hashprice / self.payback_target_days)

    def _median(self, median):
        return self.power_median_usd_per_mwh if median is None else median

    def running_hashprice(self, revenue, capacity_ehs, j_per_th) -> float:
        """Return hp* with hp* · Σ capacity · running_share(hp*) = `revenue` (USD/day per
        1,000, i.e. hashprice times EH/s): the hashprice once only paying machines run."""
        capacity = np.asarray(capacity_ehs, dtype=float)
        if revenue <= 0 or not capacity.sum() > 0:
            return math.inf
        spread = self.power_log_sd
        return math.exp(solve_log_hashprice(math.log(revenue), capacity,
                                            self.log_breakeven_hashprice(j_per_th) / spread,
                                            spread)[0])

    def log_breakeven_hashprice(self, j_per_th, median=None):
        """Return log(0.024 · e · m): the log hashprice at which half the machines of `j_per_th`
        pay their power (so running_share(hp, e) = Φ((log hp − this) / power_log_sd))."""
        return np.log(MWH_PER_J_PER_TH_PH_DAY * self._median(median)
                      * np.asarray(j_per_th, dtype=float))

    # --- the process ------------------------------------------------------------------------
    def sample(self, days, rng, upstream) -> dict:
        """Return the network's daily paths and its epochs table (one world: a batch of one)."""
        return self.sample_batch(days, [rng], [upstream])[0]

    def sample_batch(self, days, rngs, upstreams) -> list[dict]:
        """Return `sample(days, rng, upstream)` for each pair of `rngs` and `upstreams`,
        their epochs stepped together (sim.processes._economic_epochs): the same numbers
        as one by one, at a fraction of the time per world. The worlds share the grid."""
        n_days = len(days)
        starts = [self._day0(n_days, rng, upstream) for rng, upstream in zip(rngs, upstreams)]
        btc_usd, fees, noise, log_start, median = (
            np.array([getattr(start, name) for start in starts])
            for name in ("btc_usd", "fees", "noise", "log_start", "median"))
        frontier_day0, born, capacity, z_half = (
            np.array([getattr(start.fleet, name) for start in starts])
            for name in ("frontier_day0", "born", "capacity", "z_half"))
        fleet = epochs.Fleet(self, born, capacity, z_half, median, frontier_day0, list(rngs))
        found = epochs.sample_epochs(self, btc_usd, fees, epochs.Paths(log_start, noise), fleet,
                                     list(rngs), [start.outages for start in starts],
                                     self.initial_epoch_elapsed_s(self.initial_hashrate_ehs()))
        return [daily_fields(self.start_height, days, log_ehs, tables, row_fees)
                for (*tables, log_ehs), row_fees in zip(found, fees)]

    def _day0(self, n_days: int, rng, upstream) -> _Day0:
        """Return one world's inputs to the epoch loop, drawn from `rng` in a fixed order:
        BTC, fees, cumulative noise of log hashrate, log day-0 hashrate, median power price,
        the day-0 fleet and its outages."""
        btc_usd = upstream_path(upstream, "btc_usd", n_days)
        start = upstream_dates(upstream, n_days)[0]
        fees = self.sample_fees(n_days, rng)
        daily_sd = self.hashrate_volatility_per_year / math.sqrt(DAYS_PER_YEAR)
        noise = (daily_sd * rng.standard_normal(n_days - 1) if rng is not None and daily_sd > 0
                 else np.zeros(n_days - 1))
        median = self.power_median_usd_per_mwh
        if rng is not None and self.power_median_log_sd > 0:
            median *= math.exp(self.power_median_log_sd * float(rng.standard_normal()))
        hashrate0 = self.initial_hashrate_ehs()
        # the hashprice the day-0 hashrate earns once blocks come every 600 s again: the day-0
        # revenue R = hp0 · H_600 shared by it (hp0 itself where it is H_600, as by default)
        neutral = (self.initial_hashprice_usd_per_ph_day(btc_usd[0])
                   * (self.target_spacing_hashrate_ehs() / hashrate0))
        fleet = day0_fleet(self, start, neutral, hashrate0, median,
                           self.order_shock(rng))  # the pipeline's size is as uncertain as an order's
        return _Day0(btc_usd, fees, np.concatenate(([0.0], np.cumsum(noise))), math.log(hashrate0),
                     median, fleet, self.sample_outages(n_days, rng))

    def order_shock(self, rng) -> float:
        """Return one lognormal shock of log-sd ``order_noise_log_sd`` and mean 1, drawn
        from `rng` (1 under rng=None or without noise)."""
        return float(self.order_shocks([rng])[0])

    def order_shocks(self, rngs) -> np.ndarray:
        """Return `order_shock(rng)` for each of `rngs` in turn (the epoch loop's orders, one
        call for the worlds that order: a third less time than a call per world)."""
        sd = self.order_noise_log_sd
        if sd <= 0:
            return np.ones(len(rngs))
        exp, half_variance = math.exp, sd * sd / 2
        return np.array([1.0 if rng is None else exp(sd * rng.standard_normal() - half_variance)
                         for rng in rngs])

    def sample_outages(self, n_days: int, rng) -> Outages:
        """Return the outages of one world over `n_days`: Poisson at ``outages_per_year``,
        each forcing a share, uniform in [``outage_share_low``, ``outage_share_high``], of
        the installed machines off. They are drawn from a stream spawned from `rng`, so the
        network's other draws do not move with the rate; none under rng=None."""
        if rng is None or self.outages_per_year <= 0:
            return Outages(np.empty(0), np.empty(0), self.outage_recovery_days)
        draws = rng.spawn(1)[0]
        count = int(draws.poisson(self.outages_per_year * n_days / DAYS_PER_YEAR))
        start_day = np.sort(draws.uniform(0.0, n_days, count))
        share = draws.uniform(self.outage_share_low, self.outage_share_high, count)
        return Outages(start_day, share, self.outage_recovery_days)


@dataclass(frozen=True)
class Outages:
    """One world's outages: their start days and the shares of the machines they force off;
    each share returns linearly over ``recovery_days`` from the start."""

    start_day: np.ndarray
    share: np.ndarray
    recovery_days: float

    def available_share(self, day: float) -> float:
        """Return the share of the installed machines not forced off on `day` (1 without
        outages); outages that overlap multiply."""
        if not len(self.start_day):  # the default: no outages, no work in the epoch loop
            return 1.0
        available = 1.0
        for start, share in zip(self.start_day.tolist(), self.share.tolist()):
            if start <= day < start + self.recovery_days:
                available *= 1.0 - share * (1.0 - (day - start) / self.recovery_days)
        return available


class _Day0(NamedTuple):
    """One world's inputs to the epoch loop (`EconomicNetwork._day0`)."""

    btc_usd: np.ndarray
    fees: np.ndarray
    noise: np.ndarray  # cumulative noise of log hashrate, 0 on day 0
    log_start: float  # log of the day-0 hashrate
    median: float  # the miners' median power price, USD/MWh
    fleet: Day0Fleet
    outages: Outages


class Day0Fleet(NamedTuple):
    """A world's vintages on day 0, oldest first: the installed ones, then the pipeline's
    (born: their delivery day). z_half is log(0.024 · e · m) / power_log_sd, the log
    hashprice at which half a vintage's machines pay their power, in units of the spread."""

    frontier_day0: int  # days from the frontier's date to day 0
    born: np.ndarray
    capacity: np.ndarray  # EH/s
    z_half: np.ndarray
    installed: int  # vintages running on day 0; the rest are on order


def day0_fleet(net: EconomicNetwork, start, hashprice0: float, hashrate0_ehs: float,
               median_usd_per_mwh: float, pipeline_shock: float = 1.0) -> Day0Fleet:
    """Return the day-0 fleet of a world whose miners' median power price is
    `median_usd_per_mwh`: it runs `hashrate0_ehs` at `hashprice0`, and its pipeline holds
    what the past growth adds over the delivery lag, times `pipeline_shock` (the class
    docstring of EconomicNetwork)."""
    frontier_day0, born, j_per_th, weight, due, growth, order_j = _day0_vintages(
        str(np.datetime64(start, "D")), float(net.start_difficulty), net.frontier_date,
        net.frontier_j_per_th, net.frontier_gain_per_year, net.machine_life_years,
        net.delivery_lag_days)
    running = float(np.dot(weight, net.running_share(hashprice0, j_per_th, median_usd_per_mwh)))
    capacity = weight * hashrate0_ehs / max(running, 1e-12)
    # the pipeline: what the same growth would add over the delivery lag, epoch by epoch,
    # times the world's shock
    added = capacity.sum() * np.expm1(growth * due / DAYS_PER_YEAR) * pipeline_shock
    z_half = (net.log_breakeven_hashprice(np.concatenate((j_per_th, order_j)), median_usd_per_mwh)
              / net.power_log_sd)
    return Day0Fleet(frontier_day0, np.concatenate((born, due)),
                     np.concatenate((capacity, np.diff(added, prepend=0.0))), z_half, len(born))


@read_only_cache(maxsize=64)
def _day0_vintages(start: str, start_difficulty: float, frontier_date: str,
                   level_j_per_th: float, gain_per_year: float, life_years: float,
                   lag_days: float) -> tuple:
    """Return what the day-0 fleet's layout owes to dates, the day-0 difficulty and the
    frontier alone, the same in every world of a run: (frontier_day0, born days, J/TH,
    growth weights, due days of the pipeline, past growth per year, the pipeline's J/TH);
    arrays read-only."""
    frontier_day0 = int((np.datetime64(start, "D") - np.datetime64(frontier_date, "D")).astype(int))
    growth = past_growth_per_year(start, start_difficulty)
    ages = np.arange(_BIN_YEARS / 2, life_years, _BIN_YEARS)[::-1]
    born = -ages * DAYS_PER_YEAR
    # one day at a time: numpy's power over an array rounds some last bits otherwise
    j_per_th = np.array([epochs.frontier_on_day(level_j_per_th, gain_per_year, frontier_day0, b)
                         for b in born.tolist()])
    weight = np.exp(-growth * ages)
    parts = max(1, math.ceil(lag_days / _PIPELINE_BIN_DAYS))
    due = lag_days * (np.arange(parts) + 0.5) / parts
    order_j = np.array([epochs.frontier_on_day(level_j_per_th, gain_per_year, frontier_day0, d)
                        for d in (due - lag_days).tolist()])
    return frontier_day0, born, j_per_th, weight, due, growth, order_j


def solve_log_hashprice(log_revenue: float, capacity: np.ndarray, z_half: np.ndarray,
                        spread: float, guess: float | None = None) -> tuple[float, float]:
    """Return (x, g'(x)): x the log running hashprice, with g(x) = x + log Σ C · Φ(x / spread
    − z_half) = `log_revenue`, and the slope there; one problem of `epochs.solve_rows`
    (its docstring gives the method), from `guess` or, if None, from every machine running."""
    with np.errstate(**epochs.QUIET):
        capacity = np.asarray(capacity, dtype=float).ravel()
        root, slope = epochs.solve_rows(np.array([log_revenue], dtype=float), capacity,
                                        np.asarray(z_half, dtype=float).ravel(),
                                        np.zeros(len(capacity), dtype=np.int64), spread,
                                        np.array([math.nan if guess is None else guess]))
    return float(root[0]), float(slope[0])


@functools.lru_cache(maxsize=64)
def past_growth_per_year(start: str, start_difficulty: float | None = None) -> float:
    """Return the log growth per year of the difficulty over the year before `start`, within
    [0, 1.5]: from the shipped epochs where `start` lies within them; beyond their end, from
    the shipped difficulty a year before `start` (or, more than a year on, at the epochs'
    end) to `start_difficulty`, day 0's own (an as-of snapshot's); without it, the epochs'
    last year."""
    epochs = load_difficulty_epochs()
    stamp = int((np.datetime64(start, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
                * 86_400)
    times = epochs["timestamp"].to_numpy()
    log_d = np.log(epochs["difficulty"].to_numpy())
    year_s = DAYS_PER_YEAR * 86_400
    last = int(times[-1])
    if stamp <= last or start_difficulty is None:
        end = min(stamp, last)
        growth = np.interp(end, times, log_d) - np.interp(end - year_s, times, log_d)
    else:  # day 0 lies beyond the history: its own difficulty is the latest known
        anchor = min(stamp - year_s, last)
        growth = ((math.log(start_difficulty) - np.interp(anchor, times, log_d))
                  * year_s / (stamp - anchor))
    return float(min(max(growth, 0.0), 1.5))
