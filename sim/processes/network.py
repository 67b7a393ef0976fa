"""The Bitcoin network: hashrate, blocks, difficulty retargets, halvings and fees.

Miners add hashrate when mining pays and remove it when it does not; blocks arrive at a
rate set by hashrate over difficulty; every 2016 blocks the difficulty retargets so
that blocks come every ten minutes again; every 210,000 blocks the subsidy halves.
docs/model.md ("Bitcoin network") gives the rules and default values.

The process samples whole epochs rather than single blocks. Under a hashrate path H(t)
the cumulative number of hashes W(t) = ∫ H dt is a clock in which blocks are a Poisson
process of one block per D·2^32 hashes, so an epoch's 2015 measured intervals need
Gamma(2015)·D·2^32 hashes, and one more interval, at the new difficulty, reaches the
next epoch's first block. Inverting W turns work into time.
"""

from __future__ import annotations

import bisect
import importlib.resources
import itertools
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from sim.economics import (BLOCKS_PER_EPOCH, DAYS_PER_YEAR, HALVING_INTERVAL,
                           INITIAL_SUBSIDY_SATS, SATS_PER_BTC, SECONDS_PER_DAY, TARGET_SPACING_S,
                           TWO_POW_32, hashprice_usd_per_ph_day, retarget, subsidy_btc,
                           subsidy_sats)
from sim.errors import UserError
from sim.params import Checked, param
from sim.processes._common import MOST_LOG_SD, MOST_PER_YEAR, upstream_path

#: Work of one block at difficulty 1, in EH/s·days (2^32 hashes).
WORK_PER_DIFFICULTY = TWO_POW_32 / (1e18 * SECONDS_PER_DAY)


_ERA_SUBSIDY_BTC = subsidy_sats(np.arange(65) * HALVING_INTERVAL) / SATS_PER_BTC
_ERA_ISSUED_BTC = np.concatenate(([0.0], np.cumsum(HALVING_INTERVAL * _ERA_SUBSIDY_BTC[:-1])))


def issued_btc(height):
    """Return the BTC issued by the blocks below `height` (a continuous height is prorated)."""
    height = np.asarray(height, dtype=float)
    era = np.minimum(np.floor(height / HALVING_INTERVAL), 64).astype(np.int64)
    return _ERA_ISSUED_BTC[era] + (height - era * HALVING_INTERVAL) * _ERA_SUBSIDY_BTC[era]


def epoch_subsidy_btc(height: int) -> float:
    """Return the mean subsidy in BTC of the 2016 blocks from `height` on (scalar, fast)."""
    era = height // HALVING_INTERVAL
    boundary = (era + 1) * HALVING_INTERVAL
    now = INITIAL_SUBSIDY_SATS >> era if era < 64 else 0
    if height + BLOCKS_PER_EPOCH <= boundary:
        return now / SATS_PER_BTC
    after = INITIAL_SUBSIDY_SATS >> (era + 1) if era + 1 < 64 else 0
    before = boundary - height
    return (before * now + (BLOCKS_PER_EPOCH - before) * after) / (BLOCKS_PER_EPOCH * SATS_PER_BTC)


def load_difficulty_epochs() -> pd.DataFrame:
    """Return Bitcoin's real difficulty epochs: height, first-block unix timestamp, difficulty."""
    source = importlib.resources.files("sim").joinpath("data", "difficulty_epochs.csv")
    with source.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype={"height": "int64", "timestamp": "int64",
                                          "difficulty": "float64"})


@dataclass
class NetworkBase(Checked):
    """What every network model shares: the day-0 state, the epoch sampler, fees, noise.

    A subclass says how the hashrate drifts: `drift_rule` returns a function that, at the
    end of each epoch, turns that epoch's mean hashprice into the drift of log hashrate per
    day for the next one. Fees, the day-0 epoch, the Brownian noise of log hashrate and the
    cap on its drift are common (see `Network`).
    """

    start_height: int = param(984_000, unit="blocks", low=0, integer=True,
                              doc="block height on day 0")
    start_difficulty: float = param(1.6e14, unit="-", low=0, low_open=True,
                                    doc="difficulty on day 0")
    start_hashrate_ehs: Optional[float] = param(
        None, unit="EH/s", low=0, low_open=True, nullable=True,
        doc="hashrate on day 0; null = 600 s blocks at start_difficulty")
    start_epoch_elapsed_days: Optional[float] = param(
        None, unit="days", low=0, nullable=True,
        doc="days since the first block of the epoch in force on day 0; "
            "null = its start_height % 2016 blocks at the day-0 hashrate")
    hashrate_volatility_per_year: float = param(0.10, unit="1/sqrt(year)", low=0, high=MOST_LOG_SD,
                                                doc="Brownian volatility of log hashrate")
    max_drift_per_year: float = param(5.0, unit="1/year", low=0, low_open=True,
                                      doc="cap on |drift of log hashrate|")
    fees_btc_per_block: float = param(0.025, unit="BTC/block", low=0, doc="base fees per block")
    fee_spikes_per_year: float = param(0.3, unit="1/year", low=0, high=MOST_PER_YEAR,
                                       doc="Poisson rate of fee-spike episodes")
    fee_spike_mean_days: float = param(45.0, unit="days", low=0, low_open=True,
                                       doc="mean duration of an episode (exponential)")
    fee_spike_multiplier_median: float = param(4.0, unit="x", low=0, low_open=True,
                                               doc="median multiplier of fees in an episode")
    fee_spike_multiplier_sigma: float = param(0.8, unit="log", low=0, high=MOST_LOG_SD,
                                              doc="log standard deviation of that multiplier")

    def initial_hashrate_ehs(self) -> float:
        """Return the day-0 hashrate in EH/s (by default, 600 s blocks at the start difficulty)."""
        if self.start_hashrate_ehs is not None:
            return float(self.start_hashrate_ehs)
        return self.target_spacing_hashrate_ehs()

    def target_spacing_hashrate_ehs(self) -> float:
        """Return the hashrate in EH/s at which the start difficulty gives 600 s blocks."""
        return self.start_difficulty * TWO_POW_32 / TARGET_SPACING_S / 1e18

    def cross_check(self, prefix: str) -> None:
        """Raise UserError if the day-0 epoch's blocks since its first took no time."""
        done = self.start_height % BLOCKS_PER_EPOCH
        if self.start_epoch_elapsed_days == 0 and done:
            raise UserError(f"{prefix}start_epoch_elapsed_days=0: must be > 0 when "
                            f"{prefix}start_height={self.start_height} lies {done} blocks into "
                            "its epoch (those blocks took time), or null")

    def initial_epoch_elapsed_s(self, start_ehs: float) -> float:
        """Return the seconds since the first block of the epoch in force on day 0: the set
        `start_epoch_elapsed_days`, else its blocks so far at the day-0 hashrate `start_ehs`."""
        if self.start_epoch_elapsed_days is not None:
            return self.start_epoch_elapsed_days * SECONDS_PER_DAY
        done = self.start_height % BLOCKS_PER_EPOCH
        return done * float(self.start_difficulty) * TWO_POW_32 / (start_ehs * 1e18)

    def initial_hashprice_usd_per_ph_day(self, btc_usd: float) -> float:
        """Return the day-0 hashprice at BTC price `btc_usd` and the base fees."""
        return hashprice_usd_per_ph_day(subsidy_btc(self.start_height), self.fees_btc_per_block,
                                        btc_usd, self.start_difficulty)

    def sample_fees(self, n_days: int, rng) -> np.ndarray:
        """Return the daily mean fees in BTC per block: the base level times spike episodes
        (their expected path if rng is None, `expected_spike_factor`)."""
        fees = np.full(n_days, float(self.fees_btc_per_block))
        if self.fee_spikes_per_year == 0:
            return fees
        if rng is None:
            return fees * self.expected_spike_factor(n_days)
        count = rng.poisson(self.fee_spikes_per_year * n_days / DAYS_PER_YEAR)
        start = rng.uniform(0, n_days, count)
        end = start + rng.exponential(self.fee_spike_mean_days, count)
        log_multiplier = (np.log(self.fee_spike_multiplier_median)
                          + self.fee_spike_multiplier_sigma * rng.standard_normal(count))
        steps = np.zeros(n_days + 1)
        np.add.at(steps, start.astype(np.int64), log_multiplier)
        np.add.at(steps, np.minimum(end, n_days).astype(np.int64), -log_multiplier)
        return fees * np.exp(np.cumsum(steps[:n_days]))

    def expected_spike_factor(self, n_days: int) -> np.ndarray:
        """Return the expected multiplier of the base fees on each day from the spike episodes.

        Episodes start as a Poisson process of rate λ a day from day 0 and last an
        exponential time of mean m days, each multiplying the fees by a lognormal M while it
        lasts (overlaps multiply). Day t's fees are raised by every episode that started
        before day t + 1 and lasts past it, so by Campbell's theorem their expected
        multiplier is exp(λ m (E[M] − 1) (1 − e^(−(t + 1)/m))), with E[M] = median ·
        e^(σ²/2): rising from day 0, where no episode is under way, to exp(λ m (E[M] − 1)).
        """
        rate_per_day = self.fee_spikes_per_year / DAYS_PER_YEAR
        mean_days = self.fee_spike_mean_days
        mean_multiplier = self.fee_spike_multiplier_median * math.exp(self.fee_spike_multiplier_sigma ** 2 / 2)
        under_way = -np.expm1(-(np.arange(n_days) + 1.0) / mean_days)
        return np.exp(rate_per_day * mean_days * (mean_multiplier - 1.0) * under_way)

    def sample(self, days, rng, upstream) -> dict:
        """Return the network's daily paths and its epochs table (see the class docstring)."""
        n_days = len(days)
        btc_usd = upstream_path(upstream, "btc_usd", n_days)
        fees = self.sample_fees(n_days, rng)
        start_ehs = self.initial_hashrate_ehs()
        daily_sd = self.hashrate_volatility_per_year / math.sqrt(DAYS_PER_YEAR)
        noise = (daily_sd * rng.standard_normal(n_days - 1) if rng is not None and daily_sd > 0
                 else np.zeros(n_days - 1))
        path = _HashratePath(math.log(start_ehs), np.concatenate(([0.0], np.cumsum(noise))))
        rule = self.drift_rule(btc_usd, path, rng, upstream)
        epochs = _sample_epochs(self, path, n_days, rng, btc_usd, fees, start_ehs, rule)
        return daily_fields(self.start_height, days, np.array(path.log_ehs[:n_days]), epochs, fees)

    def drift_rule(self, btc_usd, path, rng, upstream):
        """Return f(hashprice, difficulty, t_end_days, years) -> drift of log hashrate per day,
        called at day 0 and at the end of every epoch with that epoch's mean hashprice."""
        raise NotImplementedError

    def capped(self, drift_per_year: float) -> float:
        """Return `drift_per_year` clamped to ±max_drift_per_year, as a drift per day."""
        limit = self.max_drift_per_year
        return min(max(drift_per_year, -limit), limit) / DAYS_PER_YEAR


@dataclass
class Network(NetworkBase):
    """Bitcoin's hashrate, blocks, difficulty, halvings and fees, sampled epoch by epoch.

    Hashrate: log H drifts at ``hashrate_trend_per_year + elasticity_per_year · log(hp /
    ref(t))`` per year, plus Brownian noise of ``hashrate_volatility_per_year``. hp is the
    previous epoch's mean hashprice (a lag of two to four weeks; Fantazzini & Kolodin 2020: 1–6 weeks), and
    the reference ``ref(t) = hashprice_ref · exp(−trend · t)`` falls at the trend, as ever
    more efficient ASICs make a lower hashprice pay. While hashprice stays above the
    reference miners add hashrate, which raises difficulty and pulls hashprice back down:
    the elasticity is the speed of that free-entry feedback, and at a constant USD
    revenue the hashrate grows at the trend. ``hashprice_ref_usd_per_ph_day: null`` takes
    the day-0 hashprice, so the start is neutral; trend, elasticity and volatility all 0
    hold the hashrate constant. The drift is capped at ±``max_drift_per_year`` (5/yr: at
    most about −1.4% a day, as fast as the 2021 China ban), so that a price crash cannot
    stall an epoch forever.

    Fees per block: ``fees_btc_per_block`` with rare spike episodes (Poisson starts,
    exponential durations, lognormal multipliers; overlapping episodes multiply).

    The epoch in force at day 0 began ``start_height mod 2016`` blocks before it, at the
    start difficulty, ``start_epoch_elapsed_days`` before day 0 (by default, the time of
    those blocks at the day-0 hashrate); that time counts toward its retarget, and its
    table row has start_day 0 and the true epoch start height. Days and heights:
    ``block_height`` is the height at the start of the day, interpolated linearly in time
    between epoch boundaries; ``subsidy_btc`` is the mean subsidy of the blocks mined that
    day (a halving day mixes the two); ``difficulty`` is that of the last epoch starting on
    or before the day (start_day = floor of the continuous start). Beyond the grid the
    hashrate follows its drift without noise, so that the last epoch can end. Under
    rng=None: no noise, no spikes, every epoch's work at its mean (2015 and 1 block
    intervals).
    """

    hashrate_trend_per_year: float = param(0.15, unit="1/year",
                                           doc="log-hashrate growth at constant revenue")
    elasticity_per_year: float = param(
        1.0, unit="1/year", doc="drift of log hashrate per unit of log(hashprice / reference)")
    hashprice_ref_usd_per_ph_day: Optional[float] = param(
        None, unit="USD/PH/day", low=0, low_open=True, nullable=True,
        doc="hashprice where hashrate grows at the trend; null = day-0 hashprice")

    def drift_rule(self, btc_usd, path, rng, upstream):
        """Return the reference-hashprice rule: drift from hashprice / ref(t) (class docstring)."""
        ref = self.hashprice_ref_usd_per_ph_day or self.initial_hashprice_usd_per_ph_day(btc_usd[0])
        return lambda hashprice, difficulty, t_end, years: self.drift_per_day(hashprice / ref, years)

    def drift_per_day(self, hashprice_ratio: float, years: float) -> float:
        """Return the drift of log hashrate per day when hashprice / reference = `hashprice_ratio`
        at `years` from the start (the reference falls at the trend)."""
        trend = self.hashrate_trend_per_year
        gap = math.log(hashprice_ratio) + trend * years
        return self.capped(trend + self.elasticity_per_year * gap)


def partial_epoch_draws(rng, intervals: int) -> tuple[float, float]:
    """Return (the sum of `intervals` unit block intervals, one more) of an epoch with
    `intervals` left to its retarget (the one in force on day 0), at their means under
    rng=None."""
    if rng is None:
        return float(intervals), 1.0
    measured = float(rng.standard_gamma(intervals)) if intervals else 0.0
    return measured, float(rng.standard_exponential())


class _EpochDraws:
    """The Gamma(2015) and Exp(1) block-interval sums of successive epochs, drawn in batches."""

    def __init__(self, rng: np.random.Generator | None, batch: int):
        self.rng, self.batch, self.gammas, self.exps, self.next = rng, batch, [], [], 0

    def take(self, intervals: int) -> tuple[float, float]:
        """Return (sum of `intervals` unit block intervals, one more), at their means if no rng."""
        rng = self.rng
        if rng is None or intervals != BLOCKS_PER_EPOCH - 1:  # no draws, or the partial first epoch
            return partial_epoch_draws(rng, intervals)
        if self.next == len(self.gammas):
            self.gammas = rng.standard_gamma(intervals, self.batch).tolist()
            self.exps = rng.standard_exponential(self.batch).tolist()
            self.next = 0
        self.next += 1
        return self.gammas[self.next - 1], self.exps[self.next - 1]


def _sample_epochs(net: NetworkBase, path, n_days, rng, btc_usd, fees, start_ehs, rule):
    """Return (start times in days, start heights, difficulties) of epochs until past the grid."""
    btc_sums = np.concatenate(([0.0], np.cumsum(btc_usd))).tolist()
    fee_sums = np.concatenate(([0.0], np.cumsum(fees))).tolist()
    done = net.start_height % BLOCKS_PER_EPOCH
    difficulty = float(net.start_difficulty)
    height = net.start_height - done
    elapsed_s = net.initial_epoch_elapsed_s(start_ehs)  # before day 0
    intervals = BLOCKS_PER_EPOCH - 1 - done
    t_start, work = 0.0, 0.0
    starts, heights, difficulties = [-elapsed_s / SECONDS_PER_DAY], [height], [difficulty]
    draws = _EpochDraws(rng, batch=int(n_days / 14 * 1.2) + 8)
    path.set_drift(0, rule(net.initial_hashprice_usd_per_ph_day(btc_usd[0]), difficulty, 0.0, 0.0))
    while True:
        measured, last_interval = draws.take(intervals)
        work += measured * difficulty * WORK_PER_DIFFICULTY
        t_last = path.time_at(work)
        actual_s = elapsed_s + (t_last - t_start) * SECONDS_PER_DAY
        new_difficulty = retarget(difficulty, actual_s)
        work += last_interval * new_difficulty * WORK_PER_DIFFICULTY
        t_end = path.time_at(work)
        first = min(max(int(math.floor(starts[-1])), 0), n_days - 1)
        last = min(max(int(math.floor(t_end)), first + 1), n_days)
        mean_btc = (btc_sums[last] - btc_sums[first]) / (last - first)
        mean_fees = (fee_sums[last] - fee_sums[first]) / (last - first)
        hashprice = hashprice_usd_per_ph_day(epoch_subsidy_btc(height), mean_fees, mean_btc,
                                             difficulty)
        years = (starts[-1] + t_end) / 2 / DAYS_PER_YEAR
        height += BLOCKS_PER_EPOCH
        starts.append(t_end)
        heights.append(height)
        difficulties.append(new_difficulty)
        if t_end >= n_days:
            return np.array(starts), np.array(heights, dtype=np.int64), np.array(difficulties)
        path.set_drift(math.ceil(t_end), rule(hashprice, difficulty, t_end, years))
        t_start, difficulty, elapsed_s, intervals = t_end, new_difficulty, 0.0, BLOCKS_PER_EPOCH - 1


def daily_fields(start_height, days, log_ehs, epochs, fees) -> dict:
    """Return the network's fields on the day grid `days` from its daily log hashrate (EH/s),
    its epochs (start times in days, start heights, difficulties; until past the grid) and
    its daily fees."""
    starts, heights, difficulties = epochs
    n_days = len(days)
    knot_t, knot_h = starts, heights.astype(float)
    if starts[0] < 0:  # the epoch in force at day 0 began before it, at start_height - done
        knot_t = np.concatenate((starts[:1], [0.0], starts[1:]))
        knot_h = np.concatenate((knot_h[:1], [float(start_height)], knot_h[1:]))
    height = np.interp(np.arange(n_days + 1, dtype=float), knot_t, knot_h)
    era = np.minimum(np.floor(height / HALVING_INTERVAL), 64).astype(np.int64)
    mean_subsidy = _ERA_SUBSIDY_BTC[era[:-1]]
    halving = np.flatnonzero(era[1:] != era[:-1])  # a halving day mixes the two eras
    if len(halving):
        mean_subsidy[halving] = ((issued_btc(height[halving + 1]) - issued_btc(height[halving]))
                                 / (height[halving + 1] - height[halving]))
    start_day = np.maximum(np.floor(starts[:-1]), 0).astype(np.int64)
    # the epoch in force on each day: how many start on or before it, less one
    starting = np.bincount(start_day[start_day < n_days], minlength=n_days)
    in_force = np.cumsum(starting)[days] - 1
    table = pd.DataFrame({  # its own arrays, or views of the epochs' (not copied again)
        "start_day": start_day,
        "end_day": np.floor(starts[1:]).astype(np.int64),
        "start_height": heights[:-1],
        "difficulty": difficulties[:-1],
    }, copy=False)
    return {
        "network_hashrate_ehs": np.exp(log_ehs),
        "difficulty": difficulties[:-1][in_force],
        "block_height": np.floor(height[:n_days]).astype(np.int64),
        "subsidy_btc": mean_subsidy,
        "fees_btc_per_block": fees,
        "epochs": table,
    }


class _HashratePath:
    """The daily log-hashrate path and its cumulative work, extended epoch by epoch.

    ``log_ehs[d]`` is day d's log hashrate (EH/s, constant over the day); ``work[d]`` is the
    work done before day d, in EH/s·days. Days from ``origin`` on follow ``drift`` (per
    day) plus the shared noise; days before it are final. Python lists of floats: an epoch
    fills a few dozen days, where numpy's overhead per call would cost more than the work.
    """

    _MAX_EPOCH_DAYS = 50 * 365

    def __init__(self, log_start: float, noise_cum: np.ndarray):
        self.noise_cum = noise_cum.tolist()
        self.log_ehs, self.work = [float(log_start)], [0.0]
        self.origin, self.drift, self.filled = 0, 0.0, 0

    def set_drift(self, origin: int, drift: float) -> None:
        """Make the days from `origin` on follow `drift` (log hashrate per day)."""
        if drift == self.drift and origin <= self.filled:
            return  # the days filled so far already follow this drift
        self.origin, self.drift, self.filled = origin, drift, origin

    def _fill(self, end: int) -> None:
        """Recompute days origin..end from the origin's value (work up to day end)."""
        noise, log_ehs, work = self.noise_cum, self.log_ehs, self.work
        if end >= len(noise):  # beyond the grid the noise stays where it ended
            noise.extend([noise[-1]] * (end + 1 - len(noise)))
        o, drift = self.origin, self.drift
        base, noise_o, work_o = log_ehs[o], noise[o], work[o]
        days = [base + drift * k + value - noise_o for k, value in enumerate(noise[o:end + 1])]
        del log_ehs[o:], work[o + 1:]
        log_ehs.extend(days)
        work.extend([work_o + done for done in itertools.accumulate(map(math.exp, days[:-1]))])
        self.filled = end

    def time_at(self, work: float) -> float:
        """Return the time in days at which the cumulative work reaches `work`."""
        end = self.filled
        if self.work[end] <= work:
            span = max(24, 2 * (end - self.origin))
            while True:
                end = self.origin + span
                self._fill(end)
                if self.work[end] > work:
                    break
                if span > self._MAX_EPOCH_DAYS:
                    raise UserError("the hashrate fell so fast that a difficulty epoch would "
                                    "last over 50 years; check the trend and elasticity")
                span *= 2
        day = bisect.bisect_right(self.work, work, max(self.origin - 1, 0), end + 1) - 1
        return day + (work - self.work[day]) / math.exp(self.log_ehs[day])
