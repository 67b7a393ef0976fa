"""What a site's halls, leases and mine are worth at the horizon, and the rate for each kind of cash.

A buyer of the site at the horizon would pay for what it will earn after it. The ledger
(`sim.ledger.Account`) offers three ways to say how much (`run.terminal_value`), built
from the pieces here:

- a lease's rent still under contract, net of hosting opex, discounted month by month;
- an AI hall at a cap rate on its forward net operating income (the next twelve months'
  rent less opex): the way data centres are priced, a perpetuity that covers the
  contracted rent and the renewals a buyer expects;
- a hall without a tenant at the market rent, after a lease-up without rent that pays
  the ready hall's opex.

The cash flows themselves fall into three kinds (`sim.schema.KINDS`), mining,
contracted and merchant AI, each discounted at its own rate (`run.discount_rates`,
null meaning the one `run.discount_rate`).
"""

from __future__ import annotations

import math

import numpy as np

from sim.economics import DAYS_PER_MONTH, DAYS_PER_YEAR, discount_factors, growing_annuity_pv
from sim.schema import KINDS

#: The days of the forward year over which net operating income is summed.
FORWARD_DAYS = 365


def remaining_rent_value_usd(lease, n_days: int, opex_usd_per_kw_day: float,
                             rate_per_year: float) -> float:
    """Return the value on the last day of a lease's rent after day `n_days`, net of opex.

    The `M = ceil(L / 30.4375)` months left of its `L` days are each discounted a month
    more than the one before, from one month; the last month is prorated. A lease with
    `kw_it == 0` (a backstop's stream) pays its rent without opex.
    """
    start = max(lease.start_day, n_days)
    days_left = lease.end_day - start
    months = int(math.ceil(days_left / DAYS_PER_MONTH))
    first_days = np.minimum(start + DAYS_PER_MONTH * np.arange(months),
                            np.nextafter(lease.end_day, -np.inf))
    per_month = (lease.rent_usd_per_day_on(first_days)
                 - lease.kw_it * opex_usd_per_kw_day) * DAYS_PER_MONTH
    per_month[-1] *= (days_left - (months - 1) * DAYS_PER_MONTH) / DAYS_PER_MONTH
    return float(per_month @ discount_factors(months, rate_per_year, first_month=1))


def forward_noi_usd(lease, n_days: int, opex_usd_per_kw_day: float,
                    after_term_usd_per_day: float) -> float:
    """Return a leased hall's net operating income over the year after day `n_days`.

    Rent less hosting opex on the days of the term; `after_term_usd_per_day` (the net
    income a renewal is expected to bring) on the days of that year after the term.
    Summed over 365 days and scaled to a year of 365.25.
    """
    days = n_days + np.arange(FORWARD_DAYS, dtype=float)
    under_lease = (days >= lease.start_day) & (days < lease.end_day)
    # On the days of the term the schedule is `rent_usd_per_day_on`: no second window needed.
    net = np.where(under_lease, lease.scheduled_usd_per_day(days) - lease.kw_it * opex_usd_per_kw_day,
                   after_term_usd_per_day)
    return float(net.sum()) * DAYS_PER_YEAR / FORWARD_DAYS


def idle_hall_value_usd_per_kw(rent_usd_per_kw_month: float, opex_usd_per_kw_month: float,
                               ready_usd_per_kw_month: float, cap_rate: float,
                               lease_up_months: int) -> float:
    """Return a built hall's value per kW of IT with no tenant yet (0 at worst).

    Leased at the market rent after `lease_up_months`, it is worth its stabilised value
    `12 · (rent − opex) / cap_rate`, discounted over the lease-up at the cap rate, less
    the ready hall's opex paid each month until then.
    """
    stabilised = 12.0 * (rent_usd_per_kw_month - opex_usd_per_kw_month) / cap_rate
    monthly_rate = (1.0 + cap_rate) ** (1.0 / 12.0) - 1.0
    carry = growing_annuity_pv(ready_usd_per_kw_month, 0.0, monthly_rate, lease_up_months)
    return max(0.0, stabilised * (1.0 + cap_rate) ** (-lease_up_months / 12.0) - carry)


def kind_rates(run) -> dict[str, float]:
    """Return the yearly discount rate of each kind of cash flow (run.discount_rate where unset)."""
    return {kind: float(run.discount_rate if run.discount_rates[kind] is None
                        else run.discount_rates[kind]) for kind in KINDS}
