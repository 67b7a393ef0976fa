"""Selection of the best strategy: it must pick the truly best at least as often as it
promises, on synthetic strategies whose means are known."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from sim.selection import MAX_STAGES, kim_nelson, kn_constant
from sim.compare.stats import required_replications, select_best


def summary_of(values, metric="npv_usd"):
    """Return a summary table (strategy, replication, metric) from a (reps, k) array."""
    frame = pd.DataFrame(values, columns=[f"s{i}" for i in range(values.shape[1])])
    return (frame.rename_axis("replication").reset_index()
            .melt(id_vars="replication", var_name="strategy", value_name=metric))


def crn_draw(rng, means, n, sd=5.0, rho=0.8):
    world = rng.normal(0, sd * np.sqrt(rho), size=(n, 1))
    return world + rng.normal(0, sd * np.sqrt(1 - rho), size=(n, len(means))) + means


@pytest.mark.parametrize("k, rho", [(4, 0.8), (2, 0.0)])
def test_picks_the_best_at_least_as_often_as_promised(k, rho):
    # Slippage configuration, the least favourable one: the best beats the rest by delta.
    rng = np.random.default_rng(2024 + k)
    means = np.zeros(k)
    means[k // 2] = 1.0
    trials, correct = 300, 0
    for _ in range(trials):
        selection = select_best(summary_of(crn_draw(rng, means, 400, rho=rho)), delta=1.0)
        assert selection.confident
        correct += selection.best == f"s{k // 2}"
    promised = 0.95
    assert correct / trials >= promised - 3 * np.sqrt(promised * (1 - promised) / trials)


def test_common_random_numbers_let_it_stop_sooner():
    rng = np.random.default_rng(3)
    means = np.array([0.0, 1.0, 0.0])
    paired = [select_best(summary_of(crn_draw(rng, means, 600, rho=0.9)), delta=1.0)
              for _ in range(20)]
    independent = [select_best(summary_of(crn_draw(rng, means, 600, rho=0.0)), delta=1.0)
                   for _ in range(20)]
    assert (np.mean([s.replications for s in paired])
            < 0.5 * np.mean([s.replications for s in independent]))


def test_a_clear_winner_is_named_with_confidence():
    rng = np.random.default_rng(4)
    selection = select_best(summary_of(crn_draw(rng, np.array([0.0, 10.0, 3.0]), 100)))
    assert selection.best == "s1" and selection.confident
    assert selection.survivors == ("s1",)
    assert selection.mcb_confidence > 0.999
    assert selection.means["s1"] == pytest.approx(10.0, abs=1.5)
    assert "s1 is best with 95% confidence" in selection.describe()


def test_too_few_replications_is_not_confident_and_says_how_many_suffice():
    rng = np.random.default_rng(5)
    data = crn_draw(rng, np.array([0.0, 0.2]), 30, rho=0.0)
    selection = select_best(summary_of(data), delta=0.2)
    assert not selection.confident
    assert selection.required_replications > 30
    assert required_replications(summary_of(data), delta=0.2) == selection.required_replications
    assert "not identified" in selection.describe()
    assert selection.required_replications > 1000  # written with a thousands separator
    assert f"at most {selection.required_replications:,} needed" in selection.describe()


@pytest.mark.parametrize("delta", [1e-300, 1e-170, 1e-10])
def test_an_indifference_zone_too_small_to_tell_any_pair_apart_never_stops_early(delta):
    # h² S² / δ² overflows (δ² underflows to 0 below about 1e-162): no pair can be told
    # apart, as a zone shrinking to 0 would have it; the bound on replications is capped
    rng = np.random.default_rng(6)
    data = crn_draw(rng, np.array([0.0, 5.0, 1.0]), 60, sd=1e8)
    selection = select_best(summary_of(data), delta=delta)
    assert not selection.confident and selection.survivors == ("s0", "s1", "s2")
    assert selection.best == f"s{np.argmax(data.mean(axis=0))}" and selection.replications == 60
    assert selection.required_replications == int(MAX_STAGES) + 1
    # a pair that never differs needs no replications, even then
    twins = np.column_stack([data[:, 0], data[:, 0] + 1.0])
    assert kim_nelson(twins, 0.95, delta, 20)[:4] == (1, True, 20, [1])


def test_identical_strategies_are_one_candidate():
    values = np.tile(np.linspace(0, 1, 25)[:, None], (1, 2))
    selection = select_best(summary_of(values))
    assert selection.confident and selection.survivors == ("s0",)
    assert selection.twins_of("s0") == ("s1",) and "s1: the same in every replication" in selection.describe()


def test_a_twin_changes_neither_the_verdict_nor_its_confidence():
    """A copy of a rival (a learning strategy acting as a heuristic) ranks as that rival:
    without twins, the paired test against an identical column states 0% confidence."""
    rng = np.random.default_rng(11)
    data = crn_draw(rng, np.array([0.0, 1.0, 0.3]), 200, sd=2.0)
    alone = select_best(summary_of(data), delta=0.2)
    twinned = select_best(summary_of(np.column_stack([data, data[:, 1]])), delta=0.2)
    assert twinned.best == alone.best == "s1" and twinned.twins_of("s1") == ("s3",)
    assert twinned.mcb_confidence == alone.mcb_confidence > 0.95
    assert (twinned.confident, twinned.replications, twinned.survivors) == \
        (alone.confident, alone.replications, alone.survivors)


def test_lower_is_better_metrics_pick_the_smallest():
    rng = np.random.default_rng(6)
    data = 5 + crn_draw(rng, np.array([0.0, -3.0, 2.0]), 60, sd=1)
    assert select_best(summary_of(data, "payback_years"), "payback_years").best == "s1"


def test_a_strategy_without_values_is_excluded_and_one_strategy_is_trivially_best():
    frame = summary_of(np.column_stack([np.arange(10.0), np.full(10, np.nan)]), "irr")
    selection = select_best(frame, "irr")
    assert selection.excluded == ("s1",)
    assert selection.best == "s0" and selection.confident


def test_bad_arguments_are_refused():
    frame = summary_of(np.ones((5, 2)))
    with pytest.raises(ValueError, match="confidence"):
        select_best(frame, confidence=1.5)
    with pytest.raises(ValueError, match="delta"):
        select_best(frame, delta=0)
    with pytest.raises(ValueError, match="lacks"):
        select_best(frame, "irr")


def test_kn_constant_matches_the_published_formula():
    # Kim & Nelson (2001): eta = ((2 alpha / (k - 1)) ** (-2 / (n0 - 1)) - 1) / 2.
    eta = ((2 * 0.05 / 4) ** (-2 / 9) - 1) / 2
    assert kn_constant(5, 10, 0.95) == pytest.approx(2 * eta * 9)


# --- a finished run: the best mean over every replication, and how sure (select_by_mean) ---
from scipy import stats as scipy_stats  # noqa: E402

from sim.selection import select_by_mean  # noqa: E402


def rare_jumps(rng, n=300, share=0.10, jump=1e8):
    """Two variants of one strategy: B gains `jump` over A in `share` of the worlds only."""
    base = rng.normal(7e8, 2e8, n)
    return np.column_stack([base, base + (rng.random(n) < share) * jump])


def test_a_finished_run_names_its_best_mean_where_kn_stopped_on_another():
    """KN stopped at its first stage (20 of 300) where s0 led; s1 leads over all 300."""
    rng = np.random.default_rng(12)
    base = rng.normal(7e8, 2e8, 300)
    edge = np.where(np.arange(300) < 20, -5e6, 40e6) + rng.normal(0, 1e6, 300)
    data = np.column_stack([base, base + edge])
    assert select_best(summary_of(data), delta=1e8).best == "s0"  # KN: the stage-20 leader
    selection = select_by_mean(summary_of(data), delta=1e8)
    assert selection.best == f"s{np.argmax(data.mean(axis=0))}" == "s1"
    assert selection.confident and selection.replications == selection.available == 300
    assert selection.survivors == ("s1",) and selection.mcb_confidence > 0.999


def test_rare_large_differences_are_not_named_wrongly_with_confidence():
    """B beats A by $100M in 10% of worlds (a $10M edge, twice the $5M zone): KN, whose
    first stage of 20 often holds no such world, named A with 95% confidence in 15% of
    runs. Over every replication, the wrong and confident stay under 1 − confidence."""
    rng = np.random.default_rng(5)
    trials, wrong, flagged = 200, 0, 0
    for _ in range(trials):
        frame = summary_of(rare_jumps(rng))
        selection = select_by_mean(frame, delta=5e6)
        wrong += selection.confident and selection.best != "s1"
        flagged += "far from normal" in select_best(frame, delta=5e6).caveat
    assert wrong / trials <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / trials)
    assert flagged == trials  # KN says its first stage is not to be trusted, every time


@pytest.mark.parametrize("k, sd", [(2, 8.0), (3, 3.0)])
def test_the_confidence_is_the_paired_t_test_with_the_zone_bonferroni_over_the_rivals(k, sd):
    rng = np.random.default_rng(20 + k)
    data = crn_draw(rng, np.array([0.0, 0.02, 0.01][:k]), 80, sd=sd)
    selection = select_by_mean(summary_of(data), delta=0.1)
    leader = int(np.argmax(data.mean(axis=0)))
    assert selection.best == f"s{leader}"
    # each rival's one-sided test of "it beats the leader by the zone or more"
    worst = max(scipy_stats.ttest_1samp(data[:, j] - data[:, leader], 0.1,
                                        alternative="less").pvalue
                for j in range(k) if j != leader)
    assert selection.zone_confidence == pytest.approx(max(0.0, 1 - (k - 1) * worst), abs=1e-12)
    assert selection.confident == (selection.zone_confidence >= 0.95)
    assert selection.zone_confidence >= selection.mcb_confidence


def test_what_the_selection_states_never_contradicts_itself():
    rng = np.random.default_rng(30)
    for trial in range(60):
        means = rng.normal(0, 0.3, 4)
        data = crn_draw(rng, means, int(rng.integers(5, 200)), sd=2.0)
        selection = select_by_mean(summary_of(data), delta=0.1)
        assert selection.best == f"s{np.argmax(data.mean(axis=0))}"
        assert selection.best in selection.survivors
        assert selection.zone_confidence >= selection.mcb_confidence
        if selection.mcb_confidence >= 0.95:  # beats every other outright: none in contention
            assert selection.survivors == (selection.best,)
        assert selection.confident == (selection.zone_confidence >= 0.95)


def test_the_replications_said_to_settle_it_do():
    rng = np.random.default_rng(40)
    means = np.array([0.0, 0.05])
    selection = select_by_mean(summary_of(crn_draw(rng, means, 60, rho=0.0)), delta=0.2)
    assert not selection.confident and selection.required_replications > 1000
    assert f"about {selection.required_replications:,} needed" in selection.describe()
    more = crn_draw(rng, means, int(1.2 * selection.required_replications), rho=0.0)
    assert select_by_mean(summary_of(more), delta=0.2).confident


@settings(max_examples=200, deadline=None)
@given(st.floats(1e-3, 1e5), st.sampled_from([0.9, 0.95, 0.99, 0.9975]))
def test_the_replications_for_a_zone_are_the_least_whose_bound_reaches_it(sd_per_delta, level):
    """The least n with t(n − 1) · sd / √n ≤ delta, t at n's own degrees of freedom: the
    old count took t at those of the replications so far, 6.3 from two replications
    where about 1.7 is due (an audit: 49,830 said where about 3,400 would do)."""
    from scipy.special import stdtrit

    from sim.selection import _replications_for

    n = _replications_for(sd_per_delta, level)
    assert n >= 2 and stdtrit(n - 1, level) * sd_per_delta <= np.sqrt(n) * (1 + 1e-12)
    if n > 2:
        assert stdtrit(n - 2, level) * sd_per_delta > np.sqrt(n - 1) * (1 - 1e-12)


def test_from_two_replications_the_count_said_to_settle_it_is_not_inflated():
    rng = np.random.default_rng(11)
    data = crn_draw(rng, np.array([0.0, 0.0]), 2, rho=0.0)
    selection = select_by_mean(summary_of(data), delta=0.05)
    sd = float(np.std(data[:, 0] - data[:, 1], ddof=1)) if selection.best == "s0" else \
        float(np.std(data[:, 1] - data[:, 0], ddof=1))
    normal = (1.6449 * sd / 0.05) ** 2  # the large-sample count: t(∞) at 95%
    assert not selection.confident and normal < selection.required_replications < 1.2 * normal + 10
