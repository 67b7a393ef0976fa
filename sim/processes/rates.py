"""The short-term interest rate that floating-rate debt pays a spread over (SOFR-like).

docs/model.md ("Interest rates"): SOFR, published daily by the Federal Reserve Bank of New
York, was about 3.6–3.7% in mid-2026 after the 2025 cuts; the FOMC's median longer-run
federal funds rate was 3.0% in its September 2025 Summary of Economic Projections. The
default process is Vasicek's (1977) mean-reverting Gaussian short rate, floored at zero
as loan agreements' SOFR floors are; `CIR` (Cox, Ingersoll & Ross 1985) keeps the rate
positive by its own dynamics; `ConstantRate` is the flat alternative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from sim.economics import DAYS_PER_YEAR
from sim.processes._common import ar1
from sim.params import Checked, param


@dataclass
class Vasicek(Checked):
    """A daily path of the annual short rate: an Ornstein–Uhlenbeck process, floored.

    dr = a (b − r) dt + σ dW with a = ln 2 / ``half_life_years``, b = ``mean_rate`` and
    σ = ``volatility``, started at ``start_rate`` on day 0 and stepped exactly, one day
    (dt = 1/365.25 year) at a time: r(t+dt) = b + e^{−a dt} (r(t) − b) +
    σ √((1 − e^{−2a dt}) / (2a)) Z. The path handed to the world is max(r, ``floor_rate``):
    the floor censors the rate without changing its dynamics. Under rng=None the path is
    the expected rate, floor included: E[max(r(t), floor)] for the normal r(t) of mean
    b + (r0 − b) e^{−at} and variance σ² (1 − e^{−2at}) / (2a).
    """

    start_rate: float = param(0.0365, unit="1/year", low=0, high=1,
                              doc="short rate on day 0, annual (SOFR-like)")
    mean_rate: float = param(0.03, unit="1/year", low=0, high=1,
                             doc="long-run mean the rate reverts to, annual")
    half_life_years: float = param(3.0, unit="years", low=0, low_open=True,
                                   doc="time for a deviation from the mean to halve in expectation")
    volatility: float = param(0.01, unit="1/year per √year", low=0,
                              doc="instantaneous standard deviation σ of the rate's changes")
    floor_rate: float = param(0.0, unit="1/year", low=0, high=1,
                              doc="the rate never falls below this (a loan's SOFR floor)")

    def speed_per_year(self) -> float:
        """Return the mean-reversion speed a = ln 2 / half-life, per year."""
        return math.log(2.0) / self.half_life_years

    def moments(self, t_years) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and variance of the unfloored rate at each time t (in years)."""
        t = np.asarray(t_years, dtype=float)
        speed = self.speed_per_year()
        decay = np.exp(-speed * t)
        mean = self.mean_rate + (self.start_rate - self.mean_rate) * decay
        variance = self.volatility ** 2 * (1.0 - decay ** 2) / (2.0 * speed)
        return mean, variance

    def expected_rate(self, t_years) -> np.ndarray:
        """Return E[max(r(t), floor)] at each time t (in years): the floored normal's mean."""
        mean, variance = self.moments(t_years)
        sd = np.sqrt(variance)
        above = mean - self.floor_rate
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sd > 0, above / sd, np.copysign(np.inf, above))
        density = np.exp(-z**2 / 2.0) / np.sqrt(2 * np.pi)  # the standard normal's, as scipy.stats.norm.pdf
        tail = np.where(sd > 0, sd * density, 0.0)
        return self.floor_rate + above * ndtr(z) + tail

    def unfloored(self, n_days: int, rng: np.random.Generator) -> np.ndarray:
        """Return one sampled daily path of the Ornstein–Uhlenbeck rate, before the floor."""
        step = 1.0 / DAYS_PER_YEAR
        speed = self.speed_per_year()
        phi = math.exp(-speed * step)
        shocks = (self.volatility * math.sqrt((1.0 - phi ** 2) / (2.0 * speed))
                  * rng.standard_normal(n_days))
        shocks[0] = self.start_rate - self.mean_rate  # day 0 is the start, not a draw
        return self.mean_rate + ar1(shocks, phi)

    def sample(self, days, rng, upstream) -> dict:
        """Return {"short_rate": daily annual rate}; the expected rate if rng is None."""
        n_days = len(days)
        if rng is None:
            t = (np.asarray(days, dtype=float) - days[0]) / DAYS_PER_YEAR
            return {"short_rate": self.expected_rate(t)}
        return {"short_rate": np.maximum(self.unfloored(n_days, rng), self.floor_rate)}


@dataclass
class CIR(Checked):
    """A daily path of the annual short rate by Cox, Ingersoll & Ross (1985): never negative.

    dr = a (b − r) dt + σ √r dW with a = ln 2 / ``half_life_years``, b = ``mean_rate``,
    σ = ``volatility``, started at ``start_rate``: the noise shrinks as the rate falls, so
    the rate stays >= 0 (> 0 when 2ab >= σ², Feller's condition). Stepped exactly, a day
    at a time: r(t+dt) = c · X, X noncentral chi-squared with 4ab/σ² degrees of freedom
    and noncentrality r(t) e^{−a dt} / c, where c = σ² (1 − e^{−a dt}) / (4a). Its mean is
    Vasicek's; under rng=None the path is that mean, b + (r0 − b) e^{−at}.
    """

    start_rate: float = param(0.0365, unit="1/year", low=0, high=1,
                              doc="short rate on day 0, annual (SOFR-like)")
    mean_rate: float = param(0.03, unit="1/year", low=0, low_open=True, high=1,
                             doc="long-run mean the rate reverts to, annual")
    half_life_years: float = param(3.0, unit="years", low=0, low_open=True,
                                   doc="time for a deviation from the mean to halve in expectation")
    volatility: float = param(0.0577, unit="√(1/year) per √year", low=0, low_open=True,
                              doc="σ: the rate's changes have standard deviation σ √r per √year")

    def speed_per_year(self) -> float:
        """Return the mean-reversion speed a = ln 2 / half-life, per year."""
        return math.log(2.0) / self.half_life_years

    def moments(self, t_years) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and variance of the rate at each time t (in years)."""
        t = np.asarray(t_years, dtype=float)
        a, b, r0, sigma2 = self.speed_per_year(), self.mean_rate, self.start_rate, self.volatility ** 2
        decay = np.exp(-a * t)
        mean = b + (r0 - b) * decay
        variance = r0 * sigma2 / a * (decay - decay ** 2) + b * sigma2 / (2 * a) * (1 - decay) ** 2
        return mean, variance

    def paths(self, n_paths: int, n_days: int, rng: np.random.Generator) -> np.ndarray:
        """Return `n_paths` sampled daily paths (rows), stepped exactly day by day."""
        a = self.speed_per_year()
        decay = math.exp(-a / DAYS_PER_YEAR)
        scale = self.volatility ** 2 * (1.0 - decay) / (4.0 * a)
        degrees = 4.0 * a * self.mean_rate / self.volatility ** 2
        if n_paths == 1:  # one world's path: scalar draws are ten times faster than arrays of one
            rate, path = self.start_rate, [self.start_rate]
            for _ in range(1, n_days):
                rate = scale * rng.noncentral_chisquare(degrees, rate * decay / scale)
                path.append(rate)
            return np.array([path], dtype=float)
        out = np.empty((n_paths, n_days))
        out[:, 0] = self.start_rate
        for day in range(1, n_days):
            out[:, day] = scale * rng.noncentral_chisquare(degrees, out[:, day - 1] * decay / scale)
        return out

    def sample(self, days, rng, upstream) -> dict:
        """Return {"short_rate": daily annual rate}; the expected rate if rng is None."""
        if rng is None:
            t = (np.asarray(days, dtype=float) - days[0]) / DAYS_PER_YEAR
            return {"short_rate": self.moments(t)[0]}
        return {"short_rate": self.paths(1, len(days), rng)[0]}


@dataclass
class ConstantRate(Checked):
    """A short rate that never moves: ``rate`` every day, sampled or not.

    Also the world's rate when a config has no ``market/rates`` group (one written before
    the group existed): then it is this class's default.
    """

    rate: float = param(0.0365, unit="1/year", low=0, high=1,
                        doc="the short rate on every day, annual")

    def sample(self, days, rng, upstream) -> dict:
        """Return {"short_rate": rate on every day} (no draws: the same with or without rng)."""
        return {"short_rate": np.full(len(days), float(self.rate))}
