"""The fleet's arithmetic against its closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.economics import th_per_mw
from sim.fleet import AsicPrices, FleetDecay


class Fleet:
    j_per_th = 17.5
    frontier_j_per_th = 17.5
    frontier_date = "2027-01-01"
    efficiency_gain_per_year = 0.08
    price_days_of_hashprice = 375
    resale_share = 0.5


def test_one_mw_at_17_5_j_per_th_mines_about_54_ph():
    assert th_per_mw(17.5, 1.05) == pytest.approx(1e6 / 18.375)
    assert th_per_mw(17.5, 1.0) / 1000 == pytest.approx(57.14, abs=0.01)


@given(st.floats(0, 1), st.floats(0, 3650), st.floats(0, 3650))
def test_fleet_units_give_the_share_alive_since_the_fleet_was_whole(rate_per_year, since, day):
    decay = FleetDecay(rate_per_year / 365.25, replace_failures=False)
    expected = math.exp(-rate_per_year / 365.25 * (day - since))
    assert decay.weight(since) * decay.share_alive(day) == pytest.approx(expected, rel=1e-9)
    replaced = FleetDecay(rate_per_year / 365.25, replace_failures=True)
    assert replaced.weight(since) == replaced.share_alive(day) == 1.0


def test_share_alive_by_day_is_share_alive_on_each_day():
    decay = FleetDecay(0.07 / 365.25, replace_failures=False)
    np.testing.assert_allclose(decay.share_alive_by_day(400), [decay.share_alive(d) for d in range(400)],
                               rtol=1e-15)
    assert decay.failed_th_per_day(1e6) == pytest.approx(0.07 / 365.25 * 1e6)


def test_asic_prices_follow_hashprice_and_the_efficiency_frontier():
    hashprice = np.array([40.0, 50.0, 60.0])
    prices = AsicPrices(Fleet(), hashprice, "2027-01-01")
    assert prices.new_usd_per_th(1) == pytest.approx(375 * 50 / 1000)
    assert prices.new_usd_per_th(10) == pytest.approx(375 * 60 / 1000)  # past the end: the last day
    np.testing.assert_allclose(prices.new_usd_per_th_by_day(), 375 * hashprice / 1000)
    assert prices.frontier_j_per_th(365.25 * 2) == pytest.approx(17.5 * 0.92 ** 2)
    # A machine as good as the frontier sells at the resale share; a worse one for less.
    assert prices.used_usd_per_th(17.5, 0) == pytest.approx(15 * 0.5)
    assert prices.used_usd_per_th(35.0, 0) == pytest.approx(15 * 0.5 / 2)
    assert prices.used_usd_per_th(10.0, 0) == pytest.approx(15 * 0.5)  # never above the share


def test_the_frontier_is_dated_not_counted_from_day_0():
    """A start two years after the frontier's date sees it two years of gains further on."""
    later = AsicPrices(Fleet(), np.array([40.0]), "2029-01-01")
    assert later.frontier_j_per_th(0) == pytest.approx(17.5 * 0.92 ** (731 / 365.25))
    assert later.frontier_j_per_th(365.25) == pytest.approx(17.5 * 0.92 ** (1 + 731 / 365.25))
