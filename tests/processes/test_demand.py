"""Tenant requests: Poisson arrivals, sizes from their distributions, prices off the index."""

import numpy as np
import pandas as pd
import pytest

import sim
from sim.config_objects import build_processes
from sim.errors import UserError
from sim.processes.demand import AnchorTenant, PoissonRequests
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
        ("day", "mw_it", "term_days", "usd_per_kw_month", "wait_days", "min_share", "phased"))


def test_same_seed_same_requests():
    demand = PoissonRequests()
    a = requests(demand, np.random.default_rng(np.random.SeedSequence(9)))
    b = requests(demand, np.random.default_rng(np.random.SeedSequence(9)))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("args, message", [
    ({"mw_it": {"dist": "lognormal", "median": 20}}, "mw_it"),
    ({"term_days": 4383}, "term_days=4383 must be a distribution"),
    ({"mw_it": {"dist": "fixed", "value": 0}}, "mw_it=.* must have a mean > 0"),
    ({"rate_per_year": -1}, r"rate_per_year=-1: must be in \[0, 365.25\]"),
])
def test_bad_arguments_are_named(args, message):
    with pytest.raises(UserError, match=message):
        PoissonRequests(**args)


# --- the anchor tenant -----------------------------------------------------------------------
def test_anchor_adds_its_phases_to_exactly_the_poisson_market():
    """The Poisson rows are the ones PoissonRequests draws from the same stream (drawn first)."""
    market = requests(PoissonRequests(), np.random.default_rng(np.random.SeedSequence(4)))
    anchor = AnchorTenant(anchor_mw_it=70, anchor_day=400, anchor_phases=[[0.2, 365], [0.8, 500]])
    table = requests(anchor, np.random.default_rng(np.random.SeedSequence(4)))
    rows = table[table["phased"] == 1]
    markets = table[table["phased"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(markets.drop(columns=["commence_days", "tenant"]), market)
    assert (markets["commence_days"] == 0).all() and (rows["commence_days"] == 0).all()
    assert rows["day"].tolist() == [400, 400]
    assert rows["mw_it"].tolist() == pytest.approx([14.0, 56.0])
    assert rows["wait_days"].tolist() == [365, 500]
    assert (rows["term_days"] == 4383).all() and (rows["min_share"] == 1).all()
    # One spread for the whole anchor, of mean one around the index on its day.
    assert rows["usd_per_kw_month"].nunique() == 1
    assert table["day"].is_monotonic_increasing
    first = table.index[table["day"] == 400][0]
    assert table.loc[first, "phased"] == 1  # on its day, the anchor comes first
    # One tenant: its phases carry the index of its first row, each market row its own.
    assert rows["tenant"].tolist() == [first, first]
    market_rows = table[table["phased"] == 0]
    assert market_rows["tenant"].tolist() == market_rows.index.tolist()


def test_an_anchor_whose_rent_is_due_on_its_phases_days_commences_on_them():
    """anchor_rent_from=due: each phase's rent commences on its due day (commence_days equal
    to its wait_days); the market's rows, and everything else, are as under delivery."""
    rows = {}
    for rent_from in ("delivery", "due"):
        anchor = AnchorTenant(anchor_mw_it=70, anchor_day=40, anchor_phases=[[0.2, 365], [0.8, 500]],
                              anchor_rent_from=rent_from)
        rows[rent_from] = requests(anchor, np.random.default_rng(np.random.SeedSequence(4)))
    due, delivery = rows["due"], rows["delivery"]
    phases = due["phased"] == 1
    assert due.loc[phases, "commence_days"].tolist() == [365, 500]
    assert (due.loc[~phases, "commence_days"] == 0).all() and (delivery["commence_days"] == 0).all()
    pd.testing.assert_frame_equal(due.drop(columns="commence_days"),
                                  delivery.drop(columns="commence_days"))


def test_anchor_price_has_mean_one_around_the_index_or_is_fixed():
    anchor = AnchorTenant(rate_per_year=0, anchor_day=100, price_spread=0.1)
    rng = np.random.default_rng(np.random.SeedSequence(8))
    ratios = [anchor.sample(DAYS, rng, UPSTREAM)["tenant_requests"]["usd_per_kw_month"][0] / LEASE[100]
              for _ in range(2000)]
    assert np.mean(ratios) == pytest.approx(1.0, abs=4 * 0.1 / np.sqrt(2000))
    fixed = AnchorTenant(rate_per_year=0, anchor_usd_per_kw_month=150.0)
    assert (requests(fixed, rng)["usd_per_kw_month"] == 150.0).all()


def test_deterministic_anchor_is_priced_at_the_index_beside_the_even_market():
    anchor = AnchorTenant(anchor_mw_it=50, anchor_phases=[[0.5, 365], [0.5, 730]], anchor_min_share=0.6)
    table = requests(anchor, None)
    rows = table[table["phased"] == 1]
    assert rows["day"].tolist() == [0, 0] and rows["mw_it"].tolist() == [25.0, 25.0]
    np.testing.assert_allclose(rows["usd_per_kw_month"], LEASE[0])
    assert (rows["min_share"] == 0.6).all()
    pd.testing.assert_frame_equal(
        table[table["phased"] == 0].reset_index(drop=True).drop(columns=["commence_days", "tenant"]),
        requests(PoissonRequests(), None))


@pytest.mark.parametrize("phases", [[], [[0.5, 365]], [[0.5, 365], [0.5, -1]], [[0.6, 700], [0.4, 365]],
                                    [[1.0]], "soon", [[0, 365], [1.0, 400]]])
def test_bad_phases_are_named(phases):
    with pytest.raises(UserError, match=r"anchor_phases=.*: must be a list of \[share, days\] pairs"):
        AnchorTenant(anchor_phases=phases)


def test_an_anchor_after_the_horizon_is_named():
    with pytest.raises(UserError, match=r"anchor_day=4000: must lie on the day grid"):
        AnchorTenant(anchor_day=4000).sample(DAYS, None, UPSTREAM)


def test_optional_columns_are_checked_and_may_be_absent():
    base = {"day": [1], "mw_it": [10.0], "term_days": [100.0], "usd_per_kw_month": [120.0],
            "wait_days": [0.0]}
    check = lambda table: validate_output({"tenant_requests": pd.DataFrame(table)},
                                          PROCESS_FIELDS["demand"], 10, "d")["tenant_requests"]
    assert list(check(base).columns) == list(base)
    assert check({**base, "min_share": [0.5]})["min_share"].tolist() == [0.5]
    assert check({**base, "tenant": [3.0]})["tenant"].tolist() == [3.0]
    for column, value in [("min_share", 0.0), ("min_share", 1.5), ("phased", 0.5), ("tenant", -1.0),
                          ("tenant", 1.5), ("tenant", np.inf)]:
        with pytest.raises(UserError, match=f"tenant_requests.{column} must be"):
            check({**base, column: [value]})


@pytest.mark.parametrize("term, says", [
    ("fixed:40000", "market.demand.term_days=fixed:40000: at most 36,525 days (100 years)"),
    ("uniform:100:50000", "market.demand.term_days=uniform:100:50000: at most 36,525 days (100 years)"),
])
def test_a_term_past_a_century_is_refused_before_the_run(term, says):
    """Before, the run began (its folder made, real_option training) and the worlds' check
    named an internal table column: 'tenant_requests.term_days must be at most 36,525'."""
    with pytest.raises(UserError) as refused:
        build_processes(sim.compose([f"market.demand.term_days={term}"]))
    assert str(refused.value) == says
