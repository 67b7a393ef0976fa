"""Tenant requests: Poisson arrivals, sizes from their distributions, prices off the index."""

import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.processes.demand import PoissonRequests
from sim.world import PROCESS_FIELDS, validate_output

DAYS = np.arange(3653)  # ten years
LEASE = 120.0 * np.exp(0.05 * DAYS / 365.25)
UPSTREAM = {"day": DAYS, "lease_usd_per_kw_month": LEASE}


def requests(process, rng):
    table = process.sample(DAYS, rng, UPSTREAM)["tenant_requests"]
    return validate_output({"tenant_requests": table}, PROCESS_FIELDS["demand"], len(DAYS),
                           "demand")["tenant_requests"]


def test_poisson_count_has_mean_and_variance_rate_times_years():
    demand = PoissonRequests(rate_per_year=2.0)
    rng = np.random.default_rng(np.random.SeedSequence(21))
    counts = np.array([len(demand.sample(DAYS, rng, UPSTREAM)["tenant_requests"])
                       for _ in range(1000)])
    expected = 2.0 * len(DAYS) / 365.25
    assert abs(counts.mean() - expected) < 4 * np.sqrt(expected / len(counts))
    assert counts.var() == pytest.approx(expected, rel=0.15)


def test_sampled_requests_are_sorted_within_bounds_and_priced_around_the_index():
    demand = PoissonRequests(rate_per_year=20.0, price_spread=0.1)
    table = requests(demand, np.random.default_rng(np.random.SeedSequence(5)))
    assert table["day"].is_monotonic_increasing
    assert table["day"].between(0, len(DAYS) - 1).all()
    assert table["mw_it"].between(10, 50).all()
    assert (table["term_days"] == 4383).all()
    assert (table["wait_days"] >= 0).all()
    ratio = table["usd_per_kw_month"] / LEASE[table["day"]]
    assert ratio.mean() == pytest.approx(1.0, abs=4 * 0.1 / np.sqrt(len(ratio)))
    assert np.log(ratio).std() == pytest.approx(0.1, rel=0.2)


def test_deterministic_requests_are_evenly_spaced_at_mean_sizes_and_index_prices():
    demand = PoissonRequests(rate_per_year=2.0, mw_it={"dist": "uniform", "low": 10, "high": 50},
                             wait_days={"dist": "exponential", "mean": 365})
    table = requests(demand, None)
    assert len(table) == 20  # 2 a year for 10 years
    spacing = np.diff(table["day"])
    assert spacing.min() >= 182 and spacing.max() <= 183
    assert (table["mw_it"] == 30.0).all() and (table["wait_days"] == 365).all()
    np.testing.assert_allclose(table["usd_per_kw_month"], LEASE[table["day"]])


def test_no_requests_is_a_valid_empty_table():
    table = requests(PoissonRequests(rate_per_year=0.0), np.random.default_rng(0))
    assert len(table) == 0 and list(table.columns) == list(
        ("day", "mw_it", "term_days", "usd_per_kw_month", "wait_days"))


def test_same_seed_same_requests():
    demand = PoissonRequests()
    a = requests(demand, np.random.default_rng(np.random.SeedSequence(9)))
    b = requests(demand, np.random.default_rng(np.random.SeedSequence(9)))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("args, message", [
    ({"mw_it": {"dist": "lognormal", "median": 20}}, "mw_it"),
    ({"term_days": 4383}, "term_days=4383 must be a distribution"),
    ({"mw_it": {"dist": "fixed", "value": 0}}, "mw_it=.* must have a mean > 0"),
    ({"rate_per_year": -1}, "rate_per_year=-1: must be >= 0"),
])
def test_bad_arguments_are_named(args, message):
    with pytest.raises(UserError, match=message):
        PoissonRequests(**args)
