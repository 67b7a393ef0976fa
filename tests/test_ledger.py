"""The ledger's outcome functions against closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.fleet import FleetDecay
from sim.ledger import (CATEGORIES, DAYS_PER_MONTH, Account, discount_factors, irr, npv,
                        payback_years, peak_funding_usd)
from sim.record import Books, Counts, GpuLot, Lease, Record
from sim.world import month_starts


def test_discount_factor_is_the_documented_monthly_convention():
    assert discount_factors(25, 0.10)[12] == pytest.approx(1 / 1.10)
    assert discount_factors(25, 0.10)[24] == pytest.approx(1 / 1.21)


def test_npv_of_an_annuity_matches_its_closed_form():
    rate, months, payment = 0.10, 120, 1_000.0
    monthly = 1.1 ** (1 / 12) - 1
    closed = payment * (1 - (1 + monthly) ** -months) / monthly * (1 + monthly)  # paid at month start
    assert npv(np.full(months, payment), rate) == pytest.approx(closed, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.5, 3.0), st.integers(13, 240))
def test_irr_recovers_the_rate_that_built_the_cash_flows(rate, months):
    cash = np.zeros(months)
    cash[0] = -100.0
    cash[-1] = 100.0 * (1 + rate) ** ((months - 1) / 12)
    assert irr(cash) == pytest.approx(rate, abs=1e-6)


def test_irr_is_nan_without_an_investment_or_without_a_return():
    assert math.isnan(irr(np.full(24, 5.0)))
    assert math.isnan(irr(np.full(24, -5.0)))


def test_irr_makes_npv_zero_for_a_conventional_project():
    cash = np.r_[-900.0, -300.0, np.full(118, 25.0)]
    assert npv(cash, irr(cash)) == pytest.approx(0.0, abs=1e-6)


def test_payback_and_peak_funding_of_a_simple_project():
    cash = np.r_[-120.0, np.full(23, 10.0)]
    assert peak_funding_usd(cash) == 120.0
    assert payback_years(cash) == pytest.approx(13 / 12)  # cumulative reaches 0 after month 13
    assert math.isnan(payback_years(np.full(12, 1.0)))       # no investment
    assert math.isnan(payback_years(np.r_[-100.0, np.full(11, 1.0)]))  # never paid back
    assert peak_funding_usd(np.full(12, 1.0)) == 0.0


def test_month_starts_follow_the_calendar():
    date = np.datetime64("2027-01-15") + np.arange(60)
    starts = month_starts(date)
    assert list(date[starts].astype(str)) == ["2027-01-15", "2027-02-01", "2027-03-01"]


def test_the_ledger_reads_only_the_record_world_and_terms(compose_constant):
    """A record written by hand, no site: 10 MW mine for 100 days, then 5 MW of IT lease for 200."""
    cfg = compose_constant("strategy=stay_mining", "run.horizon_years=1", "run.terminal_value=contracted")
    world = sim.sample_world(cfg, 0)
    n = world.n_days
    books = Books(n)
    books.mining_mw(17.5, 0, 10.0, 10.0)
    books.mining_mw(17.5, 100, -10.0, -10.0)
    rent_usd_per_day = 5_000 * 120 / DAYS_PER_MONTH
    books.rate(books.rates.rent_usd_per_day, 100, rent_usd_per_day, 300)
    books.rate(books.rates.kw_it_leased, 100, 5_000.0, 300)
    books.lump(books.lumps.capex_gpu_usd, 50, -1e6)
    lease = Lease(start_day=300.0, end_day=400.0, rent_usd_per_day=1_000.0, kw_it=100.0)
    record = Record(n_days=n, block_mw=10.0, pue_mining=1.05, pue_ai=1.3, pool_fee=0.02,
                    decay=FleetDecay(0.0, replace_failures=True), rates=books.rates, lumps=books.lumps,
                    tranches=books.tranches(), leases=(lease,),
                    gpu_lots=(GpuLot(day=50.0, usd=1e6, life_days=730.5),),
                    counts=Counts(tenant_requests=1))
    acc = Account(cfg, world, record)
    t = dict(zip(CATEGORIES, acc.monthly.sum(axis=1)))
    th = 10 * 1e6 / (17.5 * 1.05)
    assert t["mining_revenue"] == pytest.approx(th / 1000 * 40 * 100, rel=1e-12)
    assert t["pool_fees"] == pytest.approx(-0.02 * th / 1000 * 40 * 100, rel=1e-12)
    assert -t["power_cost"] == pytest.approx(10 * 24 * 40 * 100, rel=1e-12)
    assert t["hosting_rent"] == pytest.approx(rent_usd_per_day * 200, rel=1e-12)
    assert -t["opex"] == pytest.approx((10 * 2_500 * 100 + 5_000 * 18 * 200) / DAYS_PER_MONTH, rel=1e-12)
    assert t["capex_gpu"] == -1e6
    # Terminal value: the lease's net rent after day n, by month (a whole one, then the rest),
    # discounted a month and two; plus the GPUs' unspent life; no fleet is left mining.
    net_per_month = (1_000 - 100 * 18 / DAYS_PER_MONTH) * DAYS_PER_MONTH
    rest = (400 - n - DAYS_PER_MONTH) / DAYS_PER_MONTH
    lease_left = net_per_month * (1.1 ** (-1 / 12) + rest * 1.1 ** (-2 / 12))
    gpu_left = 1e6 * (50 + 730.5 - n) / 730.5
    assert n == 365 and t["terminal_value"] == pytest.approx(lease_left + gpu_left, rel=1e-12)
    assert acc.summary()["tenant_requests"] == 1
