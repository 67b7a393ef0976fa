"""Tenant demand: requests for AI hosting capacity, arriving at random, and anchor tenants.

docs/model.md ("Tenant demand"): requests arrive as a Poisson process; each carries a size
(``mw_it``, MW of critical IT), a term, a price drawn around the lease index at arrival,
and ``wait_days``, how long the tenant will wait for capacity. Defaults: about two
requests a year of 10–50 MW of IT on 12-year terms. `AnchorTenant` adds, to the same
market, one large tenant that signs for a campus before construction and takes it in
phases, the way the 2024–2026 hosting deals were signed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sim import distributions
from sim.errors import UserError
from sim.economics import DAYS_PER_YEAR
from sim.processes._common import MOST_LOG_SD, MOST_PER_YEAR, upstream_path
from sim.boundary import MOST_TERM_DAYS
from sim.params import Checked, Distribution, Rule, param, shown

#: Defaults: 10–50 MW of IT, 12-year terms (4,383 days), tenants waiting about 18 months
#: (as market/demand's YAML: hosting deals signed in 2024 delivered over 12-24 months).
DEFAULT_MW_IT = MappingProxyType({"dist": "uniform", "low": 10.0, "high": 50.0})
DEFAULT_TERM_DAYS = MappingProxyType({"dist": "fixed", "value": 4383})
DEFAULT_WAIT_DAYS = MappingProxyType({"dist": "lognormal", "median": 540.0, "sigma": 0.4})


@dataclass
class PoissonRequests(Checked):
    """Tenant requests arriving as a Poisson process, priced around the lease index.

    ``mw_it``, ``term_days`` and ``wait_days`` are distribution specs (sim.distributions).
    The price is the day's ``lease_usd_per_kw_month`` times a lognormal spread of log sd
    ``price_spread`` and mean one. Terms and waits are rounded to whole days (terms to at
    least one). Under rng=None, requests arrive every 365.25 / rate_per_year days (the
    first half a spacing in), at mean sizes, terms and waits, priced at the index.
    """

    rate_per_year: float = param(2.0, unit="1/year", low=0, high=MOST_PER_YEAR,
                                 doc="requests per year")
    mw_it: Any = param(DEFAULT_MW_IT, unit="MW of IT", rule=Distribution(),
                       doc="size of a request, MW of critical IT")
    term_days: Any = param(DEFAULT_TERM_DAYS, unit="days", rule=Distribution(), doc="lease term")
    wait_days: Any = param(DEFAULT_WAIT_DAYS, unit="days", rule=Distribution(),
                           doc="how long the tenant waits for capacity")
    price_spread: float = param(0.10, unit="log", low=0, high=MOST_LOG_SD,
                                doc="log sd of the price around the lease index (mean one)")
    min_share: float = param(1.0, unit="share", low=0, low_open=True, high=1,
                             doc="least share of its mw_it a tenant signs for (1: all or nothing)")
    phased: bool = param(False, unit="-",
                         doc="tenants take delivery in parts, each part's lease on energisation")

    def cross_check(self, prefix: str) -> None:
        """Raise UserError unless requests have a positive mean size, and a term that can be
        at most MOST_TERM_DAYS (a fixed or uniform one checked here, before the run; a
        lognormal draw beyond it is refused where the worlds are made)."""
        if distributions.mean(self.mw_it) <= 0:
            spec = dict(self.mw_it) if isinstance(self.mw_it, Mapping) else self.mw_it
            raise UserError(f"{prefix}mw_it={shown(spec)}: must have a mean > 0")
        term = distributions.parse(self.term_days, f"{prefix}term_days")
        longest = getattr(term, "high", getattr(term, "value", None))
        if longest is not None and longest > MOST_TERM_DAYS:
            spec = dict(self.term_days) if isinstance(self.term_days, Mapping) else self.term_days
            raise UserError(f"{prefix}term_days={shown(spec)}: at most {MOST_TERM_DAYS:,} days "
                            "(100 years)")

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
        return {"tenant_requests": pd.DataFrame(self._request_columns(days, rng, upstream))}

    def _request_columns(self, days, rng, upstream) -> dict[str, np.ndarray]:
        """Return the requests' columns (name -> array, sorted by day), as `sample` tables them."""
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
        return {"day": arrival, "mw_it": mw_it, "term_days": term,
                "usd_per_kw_month": lease[arrival] * spread, "wait_days": wait,
                "min_share": np.full(count, float(self.min_share)),
                "phased": np.full(count, float(self.phased))}


class Phases(Rule):
    """A delivery schedule: [share of the size, days after signing it is due] pairs."""

    type_name = "list"

    def what(self) -> str:
        """Return an example of a schedule."""
        return ("a list of [share, days] pairs, shares > 0 summing to 1, days >= 0 and "
                "not decreasing, such as [[0.2, 365], [0.8, 500]]")

    def allows(self, value) -> bool:
        """Return True for a non-empty list of [share > 0, days >= 0] pairs summing to one."""
        if not isinstance(value, (list, tuple)) or not value:
            return False
        pairs = [tuple(p) for p in value if isinstance(p, (list, tuple)) and len(p) == 2]
        if len(pairs) != len(value) or not all(
                isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(x)
                for pair in pairs for x in pair):
            return False
        shares, days = np.array(pairs, dtype=float).T
        return bool(np.all(shares > 0) and abs(shares.sum() - 1) <= 1e-9
                    and np.all(days >= 0) and np.all(np.diff(days) >= 0))


#: TeraWulf–Fluidstack: the first 40 of 200 MW of IT within about a year of signing, the
#: rest by the end of the next year (signed August 2025, all due by the end of 2026).
DEFAULT_PHASES = ([0.2, 365], [0.8, 500])


@dataclass
class AnchorTenant(PoissonRequests):
    """The Poisson market plus one anchor tenant who signs for a campus before construction.

    On `anchor_day` the anchor asks for `anchor_mw_it` of IT for `anchor_term_days`, in
    phases: each [share, days] of `anchor_phases` is one request row of that share of the
    size, due `days` after signing (its `wait_days`). The anchor takes delivery in parts
    (``phased`` = 1), each part's lease starting when its hall is energised (under
    `anchor_rent_from: due`, not before the phase's due day: a commencement date, the halls
    ready earlier held for it), and signs each phase for at least `anchor_min_share` of it.
    Its price is `anchor_usd_per_kw_month`, or, if null, the lease index on `anchor_day`
    times one lognormal spread of log sd `price_spread` and mean one (under rng=None, the
    index). The Poisson requests are drawn first from the same stream, so they are the ones
    `PoissonRequests` draws; on the anchor's day its rows come first. The phases are one
    tenant's (column ``tenant``: the index of the anchor's first row; each market request its
    own index): one credit, so they default together.
    """

    anchor_mw_it: float = param(70.0, unit="MW of IT", low=0, low_open=True,
                                doc="IT MW the anchor tenant signs for")
    anchor_day: int = param(0, unit="day", low=0, integer=True,
                            doc="day the anchor signs (0: before any construction)")
    anchor_term_days: float = param(4383.0, unit="days", low=1, high=MOST_TERM_DAYS,
                                    doc="the anchor's lease term")
    anchor_usd_per_kw_month: float | None = param(
        None, unit="USD/kW/month", low=0, nullable=True,
        doc="the anchor's rent; null = the lease index on anchor_day times a spread")
    anchor_phases: Any = param(list(map(list, DEFAULT_PHASES)), unit="[share, days]",
                               rule=Phases(),
                               doc="delivery schedule: share of the size, days after signing")
    anchor_min_share: float = param(1.0, unit="share", low=0, low_open=True, high=1,
                                    doc="least share of each phase the anchor signs for")
    anchor_rent_from: str = param("delivery", unit="-", choices=("delivery", "due"),
                                  doc="a phase's rent starts on delivery, or on its due day if "
                                      "delivered earlier (due: a commencement date)")

    def sample(self, days, rng, upstream) -> dict:
        """Return {"tenant_requests": the Poisson requests and the anchor's phases, by day}."""
        market = self._request_columns(days, rng, upstream)
        n_days = len(days)
        if self.anchor_day >= n_days:
            raise UserError(f"anchor_day={self.anchor_day}: must lie on the day grid [0, {n_days})")
        lease = upstream_path(upstream, "lease_usd_per_kw_month", n_days)
        price = self.anchor_usd_per_kw_month
        if price is None:
            spread = 1.0 if rng is None else float(np.exp(
                self.price_spread * rng.standard_normal() - self.price_spread ** 2 / 2))
            price = lease[self.anchor_day] * spread
        shares, due_days = np.array(self.anchor_phases, dtype=float).T
        count = len(shares)
        anchor = {
            "day": np.full(count, self.anchor_day, dtype=np.int64),
            "mw_it": shares * self.anchor_mw_it, "term_days": np.full(count, float(self.anchor_term_days)),
            "usd_per_kw_month": np.full(count, float(price)), "wait_days": due_days,
            "min_share": np.full(count, float(self.anchor_min_share)), "phased": np.ones(count),
            "commence_days": due_days if self.anchor_rent_from == "due" else np.zeros(count)}
        market["commence_days"] = np.zeros(len(market["day"]))  # the market's rent starts on delivery
        columns = {name: np.concatenate((anchor[name], market[name])) for name in anchor}
        order = np.argsort(columns["day"], kind="stable")
        table = {name: column[order] for name, column in columns.items()}
        tenant = np.arange(len(order), dtype=float)  # each row its own tenant, but the anchor's
        phases = order < count
        tenant[phases] = np.flatnonzero(phases)[0]
        return {"tenant_requests": pd.DataFrame({**table, "tenant": tenant})}
