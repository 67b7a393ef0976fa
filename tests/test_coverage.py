"""sim.coverage: shares inside percentile bands, PIT, and what a calibrated model scores,
against constructed cases and closed forms (binomial tails)."""

import numpy as np
import pytest

import sim.coverage as scoring


def test_coverage_counts_values_inside_known_percentile_bands():
    simulated = np.tile(np.arange(1.0, 101.0), (5, 1))  # P5 5.95, P25 25.75, P75 75.25, P95 95.05
    real = np.array([50.0, 20.0, 90.0, 99.0, 3.0])
    scored = scoring.coverage(real, simulated)
    assert scored["inside_p5_p95"] == pytest.approx(3 / 5)
    assert scored["inside_p25_p75"] == pytest.approx(1 / 5)
    assert scored["pit"] == pytest.approx([0.495, 0.195, 0.895, 0.985, 0.025])
    assert scored["bands"][0] == pytest.approx([5.95, 25.75, 50.5, 75.25, 95.05])


def test_calibrated_draws_cover_at_their_nominal_rates():
    rng = np.random.default_rng(1)
    simulated = rng.standard_normal((4000, 400))
    scored = scoring.coverage(rng.standard_normal(4000), simulated)
    assert scored["inside_p5_p95"] == pytest.approx(0.90, abs=0.02)
    assert scored["inside_p25_p75"] == pytest.approx(0.50, abs=0.03)
    assert scoring.pit_histogram(scored["pit"]) == pytest.approx(np.full(10, 0.1), abs=0.02)


def test_a_calibrated_model_meets_the_target_less_often_when_its_epochs_move_together():
    rng = np.random.default_rng(2)
    independent = rng.standard_normal((50, 400))  # 50 epochs, each drawn afresh
    together = np.repeat(rng.standard_normal((1, 400)), 50, axis=0)  # a world's level persists
    alone = scoring.calibrated_coverage(independent)["inside_p5_p95"]
    joint = scoring.calibrated_coverage(together)["inside_p5_p95"]
    # a new draw lies between the 399 others' P5 and P95 with probability (379.1 - 20.9) / 400
    assert alone.mean() == pytest.approx(0.8955, abs=0.01)
    assert joint.mean() == pytest.approx(0.8955, abs=0.005)
    # independent epochs: Binomial(50, 0.9) / 50, sd 0.042; together: all in or all out
    assert alone.std() == pytest.approx(np.sqrt(0.9 * 0.1 / 50), rel=0.2)
    assert set(np.unique(joint)) == {0.0, 1.0}
    assert (alone >= 0.8).mean() > 0.97 and (joint >= 0.8).mean() == pytest.approx(0.8955, abs=0.005)


@pytest.mark.parametrize("target, at_least", [(0.80, 40), (0.85, 43)])
def test_the_share_at_target_is_the_binomial_tail_for_independent_epochs(target, at_least):
    from scipy.stats import binom
    independent = np.random.default_rng(2).standard_normal((50, 400))
    null = scoring.calibration_null({"inside_p5_p95": 0.9, "inside_p25_p75": 0.5},
                                     independent, target)
    expected = binom.sf(at_least - 1, 50, 0.8955)  # 40 or 43 of 50 epochs inside
    assert null["calibrated_p5_p95_at_target"] == pytest.approx(expected, abs=0.04)


def test_the_real_coverage_is_ranked_among_a_calibrated_models():
    assert scoring.rank_among(0.5, np.array([0.1, 0.5, 0.9, 0.9])) == pytest.approx(0.375)
    together = np.repeat(np.arange(1.0, 101.0)[None, :], 20, axis=0)
    null = scoring.calibration_null({"inside_p5_p95": 0.0, "inside_p25_p75": 1.0}, together)
    assert null["calibrated_p5_p95_at_target"] == pytest.approx(null["calibrated_p5_p95_mean"])
    assert 0.85 < null["calibrated_p5_p95_mean"] < 0.92
    assert null["calibrated_p25_p75_p10"] == 0 and null["calibrated_p25_p75_p90"] == 1
    # a path outside every band in every epoch scores below every world that is inside
    assert null["rank_p5_p95"] == pytest.approx((1 - null["calibrated_p5_p95_mean"]) / 2)
    assert null["rank_p25_p75"] > 0.5
