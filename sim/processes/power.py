"""Spot power prices: an ERCOT-like daily price with summer peaks and short-lived spikes.

docs/model.md ("Power"): ERCOT real-time prices are mostly under $30–50/MWh, capped at
$5,000/MWh, with rare spikes in heat waves; the default process is a log-price
Ornstein–Uhlenbeck with yearly seasonality and jumps (Cartea & Figueroa 2005; Geman &
Roncoroni 2006), averaging about $40/MWh.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.errors import UserError
from sim.economics import DAYS_PER_YEAR
from sim.processes._common import (MOST_LOG_SD, MOST_PER_YEAR, ar1, day_of_year, persistence,
                                   upstream_dates)
from sim.params import Checked, param, shown


@dataclass
class SeasonalLogOU(Checked):
    """A daily spot power price: seasonal level × mean-reverting noise × decaying spikes.

    log price = log(level) + seasonal_amplitude_log · cos(2π (day of year − peak) / 365.25)
    + X + Y, where X is an AR(1) (the daily Ornstein–Uhlenbeck) with stationary standard
    deviation ``log_sd`` that halves in ``half_life_days``, started from its stationary law;
    and Y is a spike component: Poisson jumps (``spikes_per_year``) of normal log size
    (``spike_log_mean``, ``spike_log_sd``) that halve in ``spike_half_life_days``. The price
    is capped at ``cap_usd_per_mwh`` and is always positive (no negative prices).

    ``level`` is solved so that the stationary mean over a year, spikes included, is
    ``mean_usd_per_mwh`` (ignoring the rarely binding cap). Under rng=None the path is that
    expected seasonal price, spikes' expected contribution included, so it averages
    ``mean_usd_per_mwh`` over a year too.
    """

    mean_usd_per_mwh: float = param(40.0, unit="USD/MWh", low=0, low_open=True,
                                    doc="long-run mean spot price")
    seasonal_amplitude_log: float = param(0.25, unit="log", low=0,
                                          doc="amplitude of the yearly cosine in log price")
    peak_day_of_year: float = param(213.0, unit="day of year", low=1, high=366,
                                    doc="day of the year of the seasonal peak")
    log_sd: float = param(0.35, unit="log", low=0,
                          doc="stationary standard deviation of the log-price noise")
    half_life_days: float = param(7.0, unit="days", low=0, low_open=True,
                                  doc="half-life of that noise")
    spikes_per_year: float = param(6.0, unit="1/year", low=0, high=MOST_PER_YEAR,
                                   doc="Poisson rate of price spikes")
    spike_log_mean: float = param(1.0, unit="log", doc="mean log size of a spike")
    spike_log_sd: float = param(0.5, unit="log", low=0, high=MOST_LOG_SD,
                                doc="standard deviation of a spike's log size")
    spike_half_life_days: float = param(1.0, unit="days", low=0, low_open=True,
                                        doc="half-life of a spike")
    cap_usd_per_mwh: float = param(5000.0, unit="USD/MWh", low=0, low_open=True, doc="price cap")

    def cross_check(self, prefix: str) -> None:
        """Raise UserError unless the cap lies above the mean (a capped mean cannot reach it)."""
        if self.cap_usd_per_mwh <= self.mean_usd_per_mwh:
            raise UserError(f"{prefix}cap_usd_per_mwh={shown(self.cap_usd_per_mwh)}: must be > "
                            f"{prefix}mean_usd_per_mwh={shown(self.mean_usd_per_mwh)}")

    def spike_mean_factor(self) -> float:
        """Return E[exp(Y)], the stationary mean multiplier of the spike component."""
        rate_per_day = self.spikes_per_year / DAYS_PER_YEAR
        decay = persistence(self.spike_half_life_days)
        n_terms = int(min(math.log(1e-16) / math.log(decay), 100_000)) + 1
        weight = decay ** np.arange(n_terms)  # what is left of a jump `age` days on
        log_mgf = weight * self.spike_log_mean + weight ** 2 * self.spike_log_sd ** 2 / 2
        return float(np.exp(rate_per_day * np.sum(np.expm1(log_mgf))))

    def level_usd_per_mwh(self) -> float:
        """Return the seasonal median level (before noise and spikes) that gives the set mean."""
        season_mean = np.i0(self.seasonal_amplitude_log)  # yearly mean of exp(a·cos)
        noise_mean = math.exp(self.log_sd ** 2 / 2)
        return self.mean_usd_per_mwh / (season_mean * noise_mean * self.spike_mean_factor())

    def seasonal_log(self, date: np.ndarray) -> np.ndarray:
        """Return the seasonal log deviation of each date (highest on peak_day_of_year)."""
        phase = 2 * np.pi * (day_of_year(date) - self.peak_day_of_year) / DAYS_PER_YEAR
        return self.seasonal_amplitude_log * np.cos(phase)

    def sample(self, days, rng, upstream) -> dict:
        """Return {"power_usd_per_mwh": daily spot}; the expected seasonal price if rng is None."""
        return self.sample_batch(days, [rng], [upstream])[0]

    def sample_batch(self, days, rngs, upstreams) -> list[dict]:
        """Return `sample(days, rng, upstream)` for each pair of `rngs` and `upstreams`: the
        seasons and the level, the same in every world of the grid they share, made once."""
        n_days = len(days)
        season = self.seasonal_log(upstream_dates(upstreams[0], n_days))
        level = self.level_usd_per_mwh()
        return [{"power_usd_per_mwh": self._price(season, level, rng)} for rng in rngs]

    def _price(self, season: np.ndarray, level: float, rng) -> np.ndarray:
        """Return one world's daily spot on the days of `season` (their seasonal log)."""
        n_days = len(season)
        if rng is None:
            expected = (level * np.exp(season) * math.exp(self.log_sd ** 2 / 2)
                        * self.spike_mean_factor())
            return np.minimum(expected, self.cap_usd_per_mwh)
        phi = persistence(self.half_life_days)
        shocks = self.log_sd * rng.standard_normal(n_days)
        shocks[1:] *= math.sqrt(1 - phi ** 2)  # day 0 is drawn from the stationary law
        noise = ar1(shocks, phi)
        counts = rng.poisson(self.spikes_per_year / DAYS_PER_YEAR, n_days)
        jumps = (counts * self.spike_log_mean
                 + np.sqrt(counts) * self.spike_log_sd * rng.standard_normal(n_days))
        spikes = ar1(jumps, persistence(self.spike_half_life_days))
        price = level * np.exp(season + noise + spikes)
        return np.minimum(price, self.cap_usd_per_mwh)
