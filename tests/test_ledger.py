"""The ledger's outcome functions against closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.ledger import discount_factors, irr, month_starts, npv, payback_years, peak_funding_usd


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
