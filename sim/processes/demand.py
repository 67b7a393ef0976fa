"""Tenant demand: requests for AI hosting capacity, arriving at random.

docs/model.md ("Tenant demand"): requests arrive as a Poisson process; each carries a size
(``mw_it``, MW of critical IT), a term, a price drawn around the lease index at arrival,
and ``wait_days``, how long the tenant will wait for capacity. Defaults: about two
requests a year of 10–50 MW of IT on 12-year terms.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sim import distributions
from sim.errors import UserError
from sim.economics import DAYS_PER_YEAR
from sim.processes._common import upstream_path
from sim.params import Checked, Distribution, param, shown

#: Defaults: 10–50 MW of IT, 12-year terms (4,383 days), tenants waiting about a year.
DEFAULT_MW_IT = MappingProxyType({"dist": "uniform", "low": 10.0, "high": 50.0})
DEFAULT_TERM_DAYS = MappingProxyType({"dist": "fixed", "value": 4383})
DEFAULT_WAIT_DAYS = MappingProxyType({"dist": "lognormal", "median": 365.0, "sigma": 0.4})


@dataclass
class PoissonRequests(Checked):
    """Tenant requests arriving as a Poisson process, priced around the lease index.

    ``mw_it``, ``term_days`` and ``wait_days`` are distribution specs (sim.distributions).
    The price is the day's ``lease_usd_per_kw_month`` times a lognormal spread of log sd
    ``price_spread`` and mean one. Terms and waits are rounded to whole days (terms to at
    least one). Under rng=None, requests arrive every 365.25 / rate_per_year days (the
    first half a spacing in), at mean sizes, terms and waits, priced at the index.
    """

    rate_per_year: float = param(2.0, unit="1/year", low=0, doc="requests per year")
    mw_it: Any = param(DEFAULT_MW_IT, unit="MW of IT", rule=Distribution(),
                       doc="size of a request, MW of critical IT")
    term_days: Any = param(DEFAULT_TERM_DAYS, unit="days", rule=Distribution(), doc="lease term")
    wait_days: Any = param(DEFAULT_WAIT_DAYS, unit="days", rule=Distribution(),
                           doc="how long the tenant waits for capacity")
    price_spread: float = param(0.10, unit="log", low=0,
                                doc="log sd of the price around the lease index (mean one)")

    def cross_check(self, prefix: str) -> None:
        """Raise UserError unless requests have a positive mean size."""
        if distributions.mean(self.mw_it) <= 0:
            spec = dict(self.mw_it) if isinstance(self.mw_it, Mapping) else self.mw_it
            raise UserError(f"{prefix}mw_it={shown(spec)}: must have a mean > 0")

    def arrival_days(self, n_days: int, rng) -> np.ndarray:
        """Return the sorted integer arrival days on `n_days` (evenly spaced if rng is None)."""
        if self.rate_per_year == 0:
            return np.zeros(0, dtype=np.int64)
        if rng is None:
            spacing = DAYS_PER_YEAR / self.rate_per_year
            count = math.ceil(n_days / spacing - 0.5)
            return np.floor((np.arange(count) + 0.5) * spacing).astype(np.int64)
        count = rng.poisson(self.rate_per_year * n_days / DAYS_PER_YEAR)
        return np.sort(np.floor(rng.uniform(0, n_days, count)).astype(np.int64))

    def sample(self, days, rng, upstream) -> dict:
        """Return {"tenant_requests": a DataFrame of requests, sorted by day}."""
        n_days = len(days)
        lease = upstream_path(upstream, "lease_usd_per_kw_month", n_days)
        arrival = self.arrival_days(n_days, rng)
        count = len(arrival)
        fixed = rng is None
        mw_it = distributions.draw(self.mw_it, rng, count, deterministic=fixed)
        term = np.maximum(
            np.round(distributions.draw(self.term_days, rng, count, deterministic=fixed)), 1)
        wait = np.round(distributions.draw(self.wait_days, rng, count, deterministic=fixed))
        spread = (np.ones(count) if fixed else np.exp(
            self.price_spread * rng.standard_normal(count) - self.price_spread ** 2 / 2))
        return {"tenant_requests": pd.DataFrame({
            "day": arrival, "mw_it": mw_it, "term_days": term,
            "usd_per_kw_month": lease[arrival] * spread, "wait_days": wait})}
