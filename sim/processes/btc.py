"""Bitcoin's price in USD: geometric Brownian motion, optionally with Merton jumps.

docs/model.md: GBM by default, annualised volatility 45–55%, start about $90,000 (est.;
$91,132 on 2026-01-12). The drift is the *expected* return: E[S_t] = S0 · exp(drift · t),
so the median path grows at drift − volatility²/2. The default drift of 0 is a
martingale — no view on where the price goes, the usual neutral assumption — and its
median falls by about 12% a year at 50% volatility.
"""

from __future__ import annotations

import numpy as np

from sim.processes._common import DAYS_PER_YEAR, flag, non_negative, number, positive


def _years(days: np.ndarray) -> np.ndarray:
    return (np.asarray(days, dtype=float) - days[0]) / DAYS_PER_YEAR


def _brownian(t_years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a standard Brownian path on `t_years`, starting at 0."""
    steps = np.sqrt(np.diff(t_years)) * rng.standard_normal(len(t_years) - 1)
    return np.concatenate(([0.0], np.cumsum(steps)))


class GBM:
    """A BTC price following geometric Brownian motion: dS/S = drift dt + volatility dW."""

    def __init__(self, start_usd: float = 90_000.0, drift_per_year: float = 0.0,
                 volatility_per_year: float = 0.5):
        positive("start_usd", start_usd)
        number("drift_per_year", drift_per_year)
        non_negative("volatility_per_year", volatility_per_year)
        self.start_usd = start_usd
        self.drift_per_year = drift_per_year
        self.volatility_per_year = volatility_per_year

    def sample(self, days, rng, upstream) -> dict:
        """Return {"btc_usd": daily price}; its expected path S0·exp(drift·t) when rng is None."""
        t = _years(days)
        if rng is None:
            return {"btc_usd": self.start_usd * np.exp(self.drift_per_year * t)}
        sigma = self.volatility_per_year
        log_path = (self.drift_per_year - sigma ** 2 / 2) * t + sigma * _brownian(t, rng)
        return {"btc_usd": self.start_usd * np.exp(log_path)}


class JumpDiffusion:
    """A BTC price with Merton jumps: GBM plus Poisson jumps whose log sizes are normal.

    Jumps arrive at `jumps_per_year`; each multiplies the price by exp(J), J ~ N(jump_log_mean,
    jump_log_sd²), with mean relative size k = exp(jump_log_mean + jump_log_sd²/2) − 1.
    With `compensated` (the default) the diffusion drift is lowered by jumps_per_year · k, so
    `drift_per_year` stays the total expected return: E[S_t] = S0·exp(drift·t). Without it,
    jumps add to the drift: E[S_t] = S0·exp((drift + jumps_per_year·k)·t).
    """

    def __init__(self, start_usd: float = 90_000.0, drift_per_year: float = 0.0,
                 volatility_per_year: float = 0.4, jumps_per_year: float = 5.0,
                 jump_log_mean: float = -0.05, jump_log_sd: float = 0.10,
                 compensated: bool = True):
        positive("start_usd", start_usd)
        number("drift_per_year", drift_per_year)
        non_negative("volatility_per_year", volatility_per_year)
        non_negative("jumps_per_year", jumps_per_year)
        number("jump_log_mean", jump_log_mean)
        non_negative("jump_log_sd", jump_log_sd)
        flag("compensated", compensated)
        self.start_usd = start_usd
        self.drift_per_year = drift_per_year
        self.volatility_per_year = volatility_per_year
        self.jumps_per_year = jumps_per_year
        self.jump_log_mean = jump_log_mean
        self.jump_log_sd = jump_log_sd
        self.compensated = compensated

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
