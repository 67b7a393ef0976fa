"""Lease contracts: what a tenant's contract says, term by term (site.hosting).

A lease is signed at a price per kW of IT per month. Its rent starts when the tenant
takes the MW (energisation), may ramp up over its first months, and steps up by an
escalator on each anniversary. At the end of a term the tenant may take an extension
option, at the lease index of the day or at a step on its last rent. The scope says who
funds the build: turnkey (the site) or powered shell (the tenant funds a share of the
blocks built for it, and pays a lower rent for it). A tenant may default, at a constant
hazard; it then leaves, and a backstop (a guarantor, as Google backstops Fluidstack's
leases) pays a share of the rent still due until the term's original end, and takes that
share of the parts the tenant signed and has not let (sim.tenants).

`LeaseTerms` holds these rules and builds each term as a `sim.record.Lease`; the site
engine (sim.site) decides when terms start and end, and books their rent.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from sim.economics import DAYS_PER_MONTH, DAYS_PER_YEAR
from sim.record import Lease
from sim.world import rng_for


class LeaseTerms:
    """The contract terms every lease of a site is signed on (`site.hosting`)."""

    def __init__(self, hosting):
        self.hosting = hosting

    # --- scope ------------------------------------------------------------------------------
    def powered_shell(self, tenant_funded: bool) -> bool:
        """Return True if the tenant funds part of its build (a powered shell built for it)."""
        return tenant_funded and self.hosting.scope == "powered_shell"

    def site_capex_share(self, tenant_funded: bool) -> float:
        """Return the share of a block's conversion capex that the site pays."""
        if not self.powered_shell(tenant_funded):
            return 1.0
        return 1.0 - float(self.hosting.tenant_capex_share)

    def rent_share(self, tenant_funded: bool) -> float:
        """Return the share of the market price the tenant pays: 1 − discount · capex share."""
        if not self.powered_shell(tenant_funded):
            return 1.0
        terms = self.hosting
        return 1.0 - float(terms.tenant_capex_rent_discount) * float(terms.tenant_capex_share)

    # --- terms ------------------------------------------------------------------------------
    def first_term(self, day: float, term_days: float, kw_it: float, usd_per_kw_month: float) -> Lease:
        """Return the first term of a lease of `kw_it` from `day`, at a price (after scope)."""
        return Lease(start_day=day, end_day=day + term_days,
                     rent_usd_per_day=kw_it * usd_per_kw_month / DAYS_PER_MONTH, kw_it=kw_it,
                     escalator_per_year=float(self.hosting.escalator_per_year),
                     ramp_months=float(self.hosting.rent_ramp_months))

    def extends(self, taken: int, draws: np.ndarray) -> bool:
        """Return True if the tenant takes its next option, having taken `taken` (uniform `draws`)."""
        limit = self.hosting.extensions
        if limit is not None and taken >= int(limit):
            return False
        return taken < draws.size and draws[taken] < float(self.hosting.renewal_probability)

    def options_before(self, n_days: float, shortest_term_days: float) -> int:
        """Return the most extension options a lease can take before day `n_days`, none of
        its terms shorter than `shortest_term_days`.

        Option k (from 0) is taken or declined when the first term and k extensions have
        run, after day k · `extension_days(shortest_term_days)`; so at most
        n_days // extension_days + 1 of them fall on the grid, and no more than `extensions`.
        """
        options = int(n_days // self.extension_days(shortest_term_days)) + 1
        limit = self.hosting.extensions
        return options if limit is None else min(options, int(limit))

    def extension(self, last: Lease, day: float, original_term_days: float,
                  usd_per_kw_month: float) -> Lease:
        """Return the term after `last`, from `day`: at a price (renewal_rent=index) or a step."""
        terms = self.hosting
        if terms.renewal_rent == "step":
            rent = last.last_rent_usd_per_day() * (1.0 + float(terms.renewal_step))
        else:
            rent = last.kw_it * usd_per_kw_month / DAYS_PER_MONTH
        return Lease(start_day=day, end_day=day + self.extension_days(original_term_days),
                     rent_usd_per_day=rent, kw_it=last.kw_it,
                     escalator_per_year=float(terms.escalator_per_year))

    def extension_days(self, original_term_days: float) -> float:
        """Return the length in days of an extension of a lease first signed for `original_term_days`."""
        years = self.hosting.extension_years
        return original_term_days if years is None else float(years) * DAYS_PER_YEAR

    # --- credit -----------------------------------------------------------------------------
    def hazard_per_year(self) -> float:
        """Return the tenants' default hazard, −ln(1 − default_probability_per_year)."""
        probability = float(self.hosting.default_probability_per_year)
        return -math.log1p(-probability) if probability < 1 else math.inf

    def default_after_days(self, seed: int, replication: int, n_requests: int,
                           deterministic: bool) -> np.ndarray:
        """Return, per request index, the days from its lease start to its tenant's default.

        Exponential at the hazard, from a stream of its own (`tenant_credit`), so that
        turning credit risk on moves no other draw and every strategy meets the same
        tenant fates; a tenant of several requests (an anchor's phases) reads the draw of
        its first one alone, from its first lease's start: one tenant, one default. In
        deterministic mode each tenant defaults at the median, ln 2 / hazard years: the base
        case sets every uniform draw at 0.5, as it does for renewals. With no hazard, never.
        """
        hazard = self.hazard_per_year()
        if hazard == 0:
            return np.full(n_requests, np.inf)
        if deterministic:
            years = np.full(n_requests, math.log(2.0))
        else:
            years = rng_for(seed, replication, "tenant_credit").exponential(size=n_requests)
        return years / hazard * DAYS_PER_YEAR

    def on_default(self, lease: Lease, day: float) -> tuple[Lease, Lease, Lease | None]:
        """Return `lease` cut at a default on `day`, the rent it no longer pays, and the backstop.

        The backstop (None if `backstop_share` is 0) steps in for its share of the lease:
        it pays that share of the rent on the contract's own schedule, anniversaries and
        ramp included, until the term's end, and holds that share of the kW (a guarantor
        keeps what it pays for; the site's lease process keeps those halls let).
        """
        rest = replace(lease, start_day=day, schedule_day=lease.origin_day)
        share = float(self.hosting.backstop_share)
        backstop = None if share == 0 else replace(rest, rent_usd_per_day=lease.rent_usd_per_day * share,
                                                   kw_it=lease.kw_it * share)
        return replace(lease, end_day=day), rest, backstop
