"""Statistics checked against independent truth: known differences, known orders."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats

from sim.compare.stats import (cvar, describe, dominance, irr, mean_interval,
                               paired_difference, p_beats, unpaired_difference)


def coverage(trials, draw, truth, paired=True):
    covered = 0
    for _ in range(trials):
        x, y = draw()
        diff = paired_difference(x, y) if paired else unpaired_difference(x, y)
        covered += diff.ci_low <= truth <= diff.ci_high
    return covered / trials


def test_paired_interval_covers_a_known_difference_95_percent_of_the_time():
    rng = np.random.default_rng(7)

    def draw():
        world = rng.normal(100, 30, size=30)        # shared by both strategies
        return world + 2.0 + rng.normal(0, 3, 30), world + rng.normal(0, 3, 30)

    assert coverage(2000, draw, 2.0) == pytest.approx(0.95, abs=0.015)


def test_paired_interval_covers_under_skewed_outcomes():
    rng = np.random.default_rng(8)

    def draw():
        world = rng.lognormal(0, 1, size=200)
        return world * 1.1 + rng.exponential(1, 200), world + rng.exponential(1, 200)

    truth = 0.1 * np.exp(0.5)  # E[0.1 · lognormal(0, 1)]
    assert coverage(1000, draw, truth) == pytest.approx(0.95, abs=0.025)


def test_welch_interval_covers_with_unequal_variances():
    rng = np.random.default_rng(9)

    def draw():
        return rng.normal(5, 1, 20), rng.normal(3, 4, 40)

    assert coverage(2000, draw, 2.0, paired=False) == pytest.approx(0.95, abs=0.015)


def test_paired_interval_is_narrower_than_unpaired_under_common_random_numbers():
    rng = np.random.default_rng(10)
    ratios = []
    for _ in range(200):
        world = rng.normal(200e6, 80e6, size=100)
        x, y = world + 5e6 + rng.normal(0, 10e6, 100), world + rng.normal(0, 10e6, 100)
        ratios.append(paired_difference(x, y).width / unpaired_difference(x, y).width)
    assert max(ratios) < 1
    assert np.median(ratios) < 0.3


def test_describe_matches_numpy():
    x = np.arange(-10.0, 90.0)  # 100 values, 10 negative
    d = describe(x)
    assert d["n"] == 100 and d["mean"] == pytest.approx(39.5)
    assert d["std"] == pytest.approx(np.std(x, ddof=1))
    assert (d["p5"], d["p50"], d["p95"]) == pytest.approx(tuple(np.percentile(x, [5, 50, 95])))
    assert d["p_negative"] == pytest.approx(0.10)
    assert d["cvar5"] == pytest.approx(np.mean([-10, -9, -8, -7, -6]))
    half = scipy_stats.t.ppf(0.975, 99) * np.std(x, ddof=1) / 10
    assert (d["ci_low"], d["ci_high"]) == pytest.approx((39.5 - half, 39.5 + half))


def test_describe_ignores_missing_values_and_counts_them():
    d = describe([1.0, np.nan, 3.0])
    assert (d["n"], d["n_missing"], d["mean"]) == (2, 1, 2.0)
    assert np.isnan(describe([np.nan])["mean"])
    assert np.isnan(mean_interval([5.0])[1])


def test_cvar_reads_the_worst_tail_by_direction():
    x = np.arange(1.0, 21.0)
    assert cvar(x, 0.05) == 1.0
    assert cvar(x, 0.10, higher_is_better=False) == 19.5


def test_p_beats_counts_ties_half():
    assert p_beats([1, 2], [0, 0]) == 1.0
    assert p_beats([1.0], [1.0]) == 0.5
    assert p_beats([1, 2], [0, 0], higher_is_better=False) == 0.0
    assert paired_difference([1, 2, 3], [1, 1, 4]).p_beats == pytest.approx(0.5)


def normal_quantiles(mean, sd, n=400):
    return scipy_stats.norm.ppf((np.arange(n) + 0.5) / n, mean, sd)


def test_shifted_distribution_dominates_at_first_order():
    low, high = normal_quantiles(0, 1), normal_quantiles(0.5, 1)
    assert dominance(high, low, 1) == "x"
    assert dominance(low, high, 1) == "y"
    assert dominance(high, low, 2) == "x"   # first order implies second


def test_mean_preserving_spread_is_second_order_dominated_only():
    safe, risky = normal_quantiles(0, 1), normal_quantiles(0, 2)
    assert dominance(safe, risky, 1) == "neither"
    assert dominance(safe, risky, 2) == "x"
    assert dominance([0.0, 0.0], [-1.0, 1.0], 2) == "x"


def test_higher_mean_with_a_worse_tail_dominates_neither_way():
    x, y = normal_quantiles(0, 1), normal_quantiles(0.5, 3)
    assert dominance(x, y, 1) == "neither"
    assert dominance(x, y, 2) == "neither"


def test_dominance_reverses_when_lower_is_better():
    low, high = normal_quantiles(3, 1), normal_quantiles(5, 1)
    assert dominance(low, high, 1, higher_is_better=False) == "x"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=40),
       st.floats(1e-6, 1.0), st.randoms(use_true_random=False))
def test_a_sample_moved_up_dominates_its_original(values, share, rnd):
    x = np.array(values)
    moved = x + share * (1 + np.abs(x).max())
    rnd.shuffle(values)
    assert dominance(moved, x, 1) == "x"
    assert dominance(moved, x, 2) == "x"
    assert dominance(np.array(values), x, 2) == "equal"


def test_irr_of_known_cash_flows():
    cash = np.zeros(13)
    cash[0], cash[12] = -100.0, 110.0
    assert irr(cash) == pytest.approx(0.10, abs=1e-9)
    two = np.zeros((2, 25))
    two[:, 0] = -100
    two[0, 24] = 121.0                  # 10% a year over two years
    two[1, 12], two[1, 24] = 10.0, 110  # a 10% bond
    assert irr(two) == pytest.approx([0.10, 0.10], abs=1e-9)


def test_irr_is_nan_when_there_is_no_sign_change():
    assert np.isnan(irr(np.ones(12)))
    assert np.isnan(irr(-np.ones(12)))
    assert np.isnan(irr(np.zeros(12)))
