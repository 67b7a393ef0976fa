"""Contracts for the GPU-hours of the site's own cloud: signing one, its cash by day, its value.

A hyperscaler that rents a whole hall's GPUs for years (IREN–Microsoft: 200 MW, 5 years,
$9.7B, 20% prepaid) pays a fixed price per GPU-hour, at least for the take-or-pay share
of the hours, whatever the market price does. The site signs one such contract per cloud
hall on the day the hall is ready (`site.cloud.contract`); the engine records it
(`sim.record.CloudContract`) and the ledger turns it into cash with the functions here.

Days follow the engine's books: a contract signed on day s pays from day ceil(s) up to,
not including, day ceil(end). The prepayment arrives on the first of those days and is
netted from the daily payments in equal parts, so that a whole term pays exactly
`gpus · 24 · price · paid_share` per day, prepayment included.
"""

from __future__ import annotations

import math

import numpy as np

from sim.economics import DAYS_PER_MONTH, DAYS_PER_YEAR, HOURS_PER_DAY, discount_factors
from sim.record import CloudContract


def sign(terms, day: float, gpus: float, grid_mw: float, utilisation: float) -> CloudContract:
    """Return the contract a hall of `gpus` signs on `day` under `terms` (site.cloud.contract).

    The customer pays for the hours it uses (`utilisation`), and for at least the
    take-or-pay share of them; the prepayment is a share of the guaranteed value.
    """
    price = float(terms.usd_per_gpu_hour)
    term_days = float(terms.term_years) * DAYS_PER_YEAR
    guaranteed_usd = gpus * HOURS_PER_DAY * price * float(terms.take_or_pay_share) * term_days
    return CloudContract(start_day=day, end_day=day + term_days, gpus=gpus, grid_mw=grid_mw,
                         usd_per_gpu_hour=price,
                         paid_share=max(float(terms.take_or_pay_share), float(utilisation)),
                         prepayment_usd=float(terms.prepayment_share) * guaranteed_usd)


def paid_days(contract: CloudContract) -> tuple[int, int]:
    """Return the first day the contract pays and the first day it no longer does."""
    return int(math.ceil(contract.start_day)), int(math.ceil(contract.end_day))


def gross_usd_per_day(contract: CloudContract) -> float:
    """Return what the customer owes for one day of the term, before the prepayment is netted."""
    return contract.gpus * HOURS_PER_DAY * contract.usd_per_gpu_hour * contract.paid_share


def value_usd(contract: CloudContract) -> float:
    """Return what the whole term pays, prepayment included (the published contract value)."""
    first, end = paid_days(contract)
    return gross_usd_per_day(contract) * (end - first)


def cash_usd_by_day(contract: CloudContract, n_days: int) -> np.ndarray:
    """Return the contract's cash on days 0 .. n_days - 1: the prepayment, then the netted payments."""
    first, end = paid_days(contract)
    cash = prepayment_usd_by_day(contract, n_days)
    netted = contract.prepayment_usd / max(end - first, 1)
    cash[min(first, n_days):min(end, n_days)] += gross_usd_per_day(contract) - netted
    return cash


def prepayment_usd_by_day(contract: CloudContract, n_days: int) -> np.ndarray:
    """Return the contract's prepayment on days 0 .. n_days - 1: all of it on its first paid day."""
    cash = np.zeros(n_days)
    first = paid_days(contract)[0]
    if first < n_days:
        cash[first] = contract.prepayment_usd
    return cash


def contracted_gpus_by_day(contracts, n_days: int) -> np.ndarray:
    """Return the GPUs whose hours are sold under contract on each of `n_days` days."""
    gpus = np.zeros(n_days)
    for contract in contracts:
        first, end = paid_days(contract)
        gpus[min(first, n_days):min(end, n_days)] += contract.gpus
    return gpus


def value_after_horizon_usd(contract: CloudContract, n_days: int, cost_usd_per_day: float,
                            rate_per_year: float) -> float:
    """Return the contract's cash after day `n_days`, less `cost_usd_per_day`, discounted.

    The days after the horizon are summed into months of DAYS_PER_MONTH days, discounted
    from the last month of the horizon like contracted rent (first month 1).
    """
    first, end = paid_days(contract)
    if end <= n_days:
        return 0.0
    after = cash_usd_by_day(contract, end)[n_days:]
    after[max(first - n_days, 0):] -= cost_usd_per_day
    month = (np.arange(after.size) // DAYS_PER_MONTH).astype(int)
    monthly = np.bincount(month, weights=after)
    return float(monthly @ discount_factors(monthly.size, rate_per_year, first_month=1))
