"""AI hosting prices: the colocation lease index and the GPU rental price.

docs/model.md ("AI hosting"): 2024–2025 colocation deals paid $100–160 per kW of critical IT
per month (Core Scientific–CoreWeave about $118); an H100 rented for about $2/h in late
2024, fell to about $1.70/h one-year reserved in October 2025 and rose to about $2.35/h by
March 2026 ($2.00–2.50/h on demand in May 2026), after falling 20–30% a year before 2025:
the trend here is that of a fixed-vintage GPU over its life, with swings between scarcity
and glut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.economics import DAYS_PER_YEAR
from sim.processes._common import LEAST_SPELL_YEARS, MOST_LOG_SD, ar1, persistence
from sim.params import Checked, Number, param

#: A spell's mean duration: at least a day.
_SPELL = dict(rule=Number(low=LEAST_SPELL_YEARS, low_text="1/365.25 (one day)"))

REGIMES = ("scarcity", "glut", "stationary")


def _mean_one_log_ou(log_sd: float, half_life_days: float, half_variance: np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """Return an AR(1) log factor started at 0, corrected so that E[exp(factor)] = 1 every day
    (`half_variance`: `_half_variance` of the same parameters, one value per day)."""
    phi = persistence(half_life_days)
    shocks = log_sd * math.sqrt(1 - phi ** 2) * rng.standard_normal(len(half_variance))
    shocks[0] = 0.0
    return ar1(shocks, phi) - half_variance


def _half_variance(n_days: int, log_sd: float, half_life_days: float) -> np.ndarray:
    """Return half the variance of that AR(1) factor on each day, from 0 on day 0."""
    phi = persistence(half_life_days)
    return log_sd ** 2 * (1 - phi ** (2 * np.arange(n_days))) / 2


@dataclass
class AIMarket(Checked):
    """The AI lease index and GPU rental price: trends, mean-reverting noise, GPU regimes.

    Lease index (USD per kW of IT per month): ``lease_start · exp(lease_drift · t) · exp(X)``,
    X a log Ornstein–Uhlenbeck started at 0 with stationary sd ``lease_log_sd`` and half-life
    ``lease_half_life_years``, corrected to mean one: the drift is the expected growth.

    GPU price (USD per H100-equivalent hour): ``base · exp(gpu_drift · t) · m(regime) · exp(Z)``,
    floored at ``gpu_floor_usd_per_hour``. The regime is a two-state Markov chain (scarcity
    and glut, exponential durations with the given means) whose multiplier m scales the
    level. ``start_regime`` is scarcity, glut, or stationary (drawn from the chain's
    long-run shares); ``base`` is set so that the expected day-0 price is
    ``gpu_start_usd_per_hour``. Under rng=None both paths are their expectations, the GPU
    price floored like every path: the lease trend, and the GPU trend times the expected
    regime multiplier, which moves from the start regime's towards the long-run mean.
    """

    lease_start_usd_per_kw_month: float = param(128.0, unit="USD/kW/month", low=0, low_open=True,
                                                doc="lease index on day 0, per kW of critical IT")
    lease_drift_per_year: float = param(0.0, unit="1/year",
                                        doc="expected growth of the lease index, continuous")
    lease_log_sd: float = param(0.15, unit="log", low=0, high=MOST_LOG_SD,
                                doc="stationary standard deviation of the index's log noise")
    lease_half_life_years: float = param(1.0, unit="years", low=0, low_open=True,
                                         doc="half-life of that noise")
    gpu_start_usd_per_hour: float = param(2.1, unit="USD/GPU-hour", low=0, low_open=True,
                                          doc="expected H100-equivalent price on day 0")
    gpu_drift_per_year: float = param(-0.11, unit="1/year",
                                      doc="trend of a fixed-vintage GPU's price, continuous")
    gpu_log_sd: float = param(0.15, unit="log", low=0, high=MOST_LOG_SD,
                              doc="stationary standard deviation of the GPU price's log noise")
    gpu_half_life_years: float = param(0.5, unit="years", low=0, low_open=True,
                                       doc="half-life of that noise")
    scarcity_multiplier: float = param(1.25, unit="x", low=0, low_open=True,
                                       doc="GPU price multiplier in the scarcity regime")
    glut_multiplier: float = param(0.8, unit="x", low=0, low_open=True,
                                   doc="GPU price multiplier in the glut regime")
    scarcity_mean_years: float = param(1.5, unit="years", **_SPELL,
                                       doc="mean duration of a scarcity spell")
    glut_mean_years: float = param(1.5, unit="years", **_SPELL,
                                   doc="mean duration of a glut spell")
    start_regime: str = param("stationary", unit="-", choices=REGIMES,
                              doc="regime on day 0 (stationary: drawn from the long-run shares)")
    gpu_floor_usd_per_hour: float = param(0.2, unit="USD/GPU-hour", low=0,
                                          doc="the GPU price never falls below this")

    def scarcity_share(self) -> float:
        """Return the long-run share of time spent in scarcity."""
        return self.scarcity_mean_years / (self.scarcity_mean_years + self.glut_mean_years)

    def _start_scarcity_probability(self) -> float:
        shares = {"scarcity": 1.0, "glut": 0.0, "stationary": self.scarcity_share()}
        return shares[self.start_regime]

    def expected_multiplier(self, t_years: np.ndarray) -> np.ndarray:
        """Return E[m(regime at t)] given the start regime, for each time in years."""
        share = self.scarcity_share()
        rate = 1 / self.scarcity_mean_years + 1 / self.glut_mean_years
        p_scarcity = share + (self._start_scarcity_probability() - share) * np.exp(-rate * t_years)
        return p_scarcity * self.scarcity_multiplier + (1 - p_scarcity) * self.glut_multiplier

    def sample_regimes(self, n_days: int, rng: np.random.Generator) -> np.ndarray:
        """Return a boolean path, True on the days of scarcity."""
        scarce = rng.random() < self._start_scarcity_probability()
        means = np.array([self.glut_mean_years, self.scarcity_mean_years]) * DAYS_PER_YEAR
        switches: list[np.ndarray] = []
        covered, state = 0.0, scarce
        while covered < n_days:  # durations alternate, starting with the start regime's
            batch = 2 * int(n_days / means.min()) + 4
            order = (np.arange(batch) + state) % 2  # 1 = scarcity
            switches.append(covered + np.cumsum(rng.exponential(means[order])))
            covered = float(switches[-1][-1])
            state = (state + batch) % 2
        ends = np.concatenate(switches)
        spell = np.searchsorted(ends, np.arange(n_days), side="right")
        return (spell + scarce) % 2 == 1

    def sample(self, days, rng, upstream) -> dict:
        """Return the daily lease index and GPU price (their expected paths if rng is None)."""
        return self.sample_batch(days, [rng], [upstream])[0]

    def sample_batch(self, days, rngs, upstreams) -> list[dict]:
        """Return `sample(days, rng, upstream)` for each of `rngs` (`upstreams` unused): the
        trends and the noises' variances, the same in every world, made once."""
        n_days = len(days)
        t = (np.asarray(days, dtype=float) - days[0]) / DAYS_PER_YEAR
        lease = self.lease_start_usd_per_kw_month * np.exp(self.lease_drift_per_year * t)
        gpu_base = self.gpu_start_usd_per_hour / float(self.expected_multiplier(np.zeros(1))[0])
        gpu = gpu_base * np.exp(self.gpu_drift_per_year * t)
        lease_noise = (self.lease_log_sd, self.lease_half_life_years * DAYS_PER_YEAR)
        gpu_noise = (self.gpu_log_sd, self.gpu_half_life_years * DAYS_PER_YEAR)
        if any(rng is not None for rng in rngs):
            lease_half_variance = _half_variance(n_days, *lease_noise)
            gpu_half_variance = _half_variance(n_days, *gpu_noise)
        outs = []
        for rng in rngs:
            if rng is None:
                world_lease, world_gpu = lease, gpu * self.expected_multiplier(t)
            else:
                world_lease = lease * np.exp(_mean_one_log_ou(*lease_noise, lease_half_variance, rng))
                scarce = self.sample_regimes(n_days, rng)
                world_gpu = gpu * np.where(scarce, self.scarcity_multiplier, self.glut_multiplier)
                world_gpu = world_gpu * np.exp(_mean_one_log_ou(*gpu_noise, gpu_half_variance, rng))
            outs.append({"lease_usd_per_kw_month": world_lease,
                         "gpu_usd_per_hour": np.maximum(world_gpu, self.gpu_floor_usd_per_hour)})
        return outs
