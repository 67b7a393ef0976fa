"""Bitcoin's price in USD: geometric Brownian motion, optionally with Merton jumps.

docs/model.md: GBM by default, annualised volatility 45–55%, start about $90,000 (est.;
$91,132 on 2026-01-12). The drift is the *expected* return: E[S_t] = S0 · exp(drift · t),
so the median path grows at drift − volatility²/2. The GBM's default drift, 10% a year
(market/btc=gbm, an estimate), makes the mean grow 10% a year while the median falls 2.5%
a year at 50% volatility; the jump diffusion's, 0 (market/btc=jump), is a martingale, no
view on where the price goes. Each class's defaults are its option's YAML values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.economics import DAYS_PER_YEAR
from sim.params import Checked, param
from sim.processes._common import MOST_LOG_SD, MOST_PER_YEAR

_START_USD = dict(unit="USD", low=0, low_open=True, doc="BTC price on day 0")
_DRIFT = dict(unit="1/year", doc="expected return per year, continuous")


def _years(days: np.ndarray) -> np.ndarray:
    return (np.asarray(days, dtype=float) - days[0]) / DAYS_PER_YEAR


def _brownian(t_years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a standard Brownian path on `t_years`, starting at 0."""
    steps = np.sqrt(np.diff(t_years)) * rng.standard_normal(len(t_years) - 1)
    return np.concatenate(([0.0], np.cumsum(steps)))


@dataclass
class GBM(Checked):
    """A BTC price following geometric Brownian motion: dS/S = drift dt + volatility dW."""

    start_usd: float = param(90_000.0, **_START_USD)
    drift_per_year: float = param(0.10, **_DRIFT)
    volatility_per_year: float = param(0.5, unit="1/sqrt(year)", low=0, high=MOST_LOG_SD,
                                       doc="annualised volatility of log price")

    def sample(self, days, rng, upstream) -> dict:
        """Return {"btc_usd": daily price}; its expected path S0·exp(drift·t) when rng is None."""
        t = _years(days)
        if rng is None:
            return {"btc_usd": self.start_usd * np.exp(self.drift_per_year * t)}
        sigma = self.volatility_per_year
        log_path = (self.drift_per_year - sigma ** 2 / 2) * t + sigma * _brownian(t, rng)
        return {"btc_usd": self.start_usd * np.exp(log_path)}


@dataclass
class JumpDiffusion(Checked):
    """A BTC price with Merton jumps: GBM plus Poisson jumps whose log sizes are normal.

    Jumps arrive at `jumps_per_year`; each multiplies the price by exp(J), J ~ N(jump_log_mean,
    jump_log_sd²), with mean relative size k = exp(jump_log_mean + jump_log_sd²/2) − 1.
    With `compensated` (the default) the diffusion drift is lowered by jumps_per_year · k, so
    `drift_per_year` stays the total expected return: E[S_t] = S0·exp(drift·t). Without it,
    jumps add to the drift: E[S_t] = S0·exp((drift + jumps_per_year·k)·t).
    """

    start_usd: float = param(90_000.0, **_START_USD)
    drift_per_year: float = param(0.0, **_DRIFT)
    volatility_per_year: float = param(0.4, unit="1/sqrt(year)", low=0, high=MOST_LOG_SD,
                                       doc="diffusion volatility of log price")
    jumps_per_year: float = param(5.0, unit="1/year", low=0, high=MOST_PER_YEAR,
                                  doc="Poisson jump intensity")
    jump_log_mean: float = param(-0.05, unit="log", doc="mean log size of a jump")
    jump_log_sd: float = param(0.10, unit="log", low=0, high=MOST_LOG_SD,
                               doc="standard deviation of a jump's log size")
    compensated: bool = param(True, unit="-",
                              doc="drift_per_year is the total expected return (jumps included)")

    def mean_jump(self) -> float:
        """Return k = E[exp(J)] − 1, the mean relative size of one jump."""
        return float(np.expm1(self.jump_log_mean + self.jump_log_sd ** 2 / 2))

    def expected_growth_per_year(self) -> float:
        """Return the growth rate g of the expected price, E[S_t] = S0·exp(g·t)."""
        jumps = 0.0 if self.compensated else self.jumps_per_year * self.mean_jump()
        return self.drift_per_year + jumps

    def sample(self, days, rng, upstream) -> dict:
        """Return {"btc_usd": daily price}; its expected path S0·exp(g·t) when rng is None."""
        t = _years(days)
        if rng is None:
            return {"btc_usd": self.start_usd * np.exp(self.expected_growth_per_year() * t)}
        sigma = self.volatility_per_year
        intensity = self.jumps_per_year
        drift = self.expected_growth_per_year() - sigma ** 2 / 2 - intensity * self.mean_jump()
        counts = rng.poisson(intensity * np.diff(t))
        jump_sizes = (counts * self.jump_log_mean
                      + np.sqrt(counts) * self.jump_log_sd * rng.standard_normal(len(counts)))
        jumps = np.concatenate(([0.0], np.cumsum(jump_sizes)))
        log_path = drift * t + sigma * _brownian(t, rng) + jumps
        return {"btc_usd": self.start_usd * np.exp(log_path)}
