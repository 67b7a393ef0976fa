"""The AI lease index and GPU rental price: expected paths, regimes, floor."""

import numpy as np
import pytest

from sim.errors import UserError
from sim.processes.ai import AIMarket
from sim.world import PROCESS_FIELDS, validate_output

DAYS = np.arange(3653)
YEARS = DAYS / 365.25


def sample_many(market, n_paths, days, seed=7):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    paths = [market.sample(days, rng, {}) for _ in range(n_paths)]
    return (np.array([p["lease_usd_per_kw_month"] for p in paths]),
            np.array([p["gpu_usd_per_hour"] for p in paths]))


def test_output_fields_and_start_values():
    market = AIMarket(start_regime="scarcity", gpu_start_usd_per_hour=2.0)
    out = market.sample(DAYS, np.random.default_rng(0), {})
    validate_output(out, PROCESS_FIELDS["ai"], len(DAYS), "ai")
    assert out["lease_usd_per_kw_month"][0] == market.lease_start_usd_per_kw_month == 128.0
    assert out["gpu_usd_per_hour"][0] == pytest.approx(2.0)


def test_deterministic_paths_are_the_trends_times_the_expected_regime():
    market = AIMarket(lease_start_usd_per_kw_month=120.0, lease_drift_per_year=0.03,
                      gpu_start_usd_per_hour=2.0,
                      gpu_drift_per_year=-0.29, start_regime="scarcity",
                      scarcity_multiplier=1.25, glut_multiplier=0.8, scarcity_mean_years=1.0,
                      glut_mean_years=3.0, gpu_floor_usd_per_hour=0.0)
    out = market.sample(DAYS, None, {})
    np.testing.assert_allclose(out["lease_usd_per_kw_month"], 120 * np.exp(0.03 * YEARS))
    gpu = out["gpu_usd_per_hour"]
    assert gpu[0] == pytest.approx(2.0)
    # long after the start the regime is at its long-run mix: 25% scarcity, 75% glut
    late_multiplier = 0.25 * 1.25 + 0.75 * 0.8
    trend = 2.0 / 1.25 * np.exp(-0.29 * YEARS[-1])
    assert gpu[-1] == pytest.approx(trend * late_multiplier, rel=1e-6)


def test_sampled_means_match_the_deterministic_paths():
    market = AIMarket(start_regime="glut", gpu_floor_usd_per_hour=0.0, lease_drift_per_year=0.02)
    five_years = np.arange(1827)
    leases, gpus = sample_many(market, 2000, five_years)
    expected = market.sample(five_years, None, {})
    for day in (182, 730, 1826):
        for paths, name in ((leases, "lease_usd_per_kw_month"), (gpus, "gpu_usd_per_hour")):
            se = paths[:, day].std(ddof=1) / np.sqrt(len(paths))
            assert abs(paths[:, day].mean() - expected[name][day]) < 4 * se, (name, day)


def test_regimes_spend_the_long_run_share_of_time_in_scarcity():
    market = AIMarket(scarcity_mean_years=1.0, glut_mean_years=2.0)
    rng = np.random.default_rng(np.random.SeedSequence(3))
    scarce = market.sample_regimes(365_250, rng)  # a thousand years
    assert scarce.mean() == pytest.approx(1 / 3, abs=0.03)
    spells = np.flatnonzero(np.diff(scarce.astype(int)) != 0)
    assert np.diff(spells).mean() == pytest.approx(1.5 * 365.25, rel=0.1)  # mean spell length


def test_start_regime_is_respected_and_the_floor_holds():
    rng = np.random.default_rng(1)
    assert AIMarket(start_regime="scarcity").sample_regimes(10, rng)[0]
    assert not AIMarket(start_regime="glut").sample_regimes(10, rng)[0]
    falling = AIMarket(gpu_drift_per_year=-1.0, gpu_floor_usd_per_hour=0.3)
    gpu = falling.sample(DAYS, rng, {})["gpu_usd_per_hour"]
    assert gpu.min() == 0.3 and gpu[0] > 0.3


def test_bad_arguments_are_named():
    with pytest.raises(UserError, match="start_regime='boom': must be one of"):
        AIMarket(start_regime="boom")
    with pytest.raises(UserError, match="glut_multiplier=0: must be > 0"):
        AIMarket(glut_multiplier=0)


def test_a_batch_gives_each_world_what_it_gets_alone():
    """The trends and variances are made once per batch; each world's draws are its own."""
    market = AIMarket()
    streams = lambda: [np.random.default_rng(k) for k in range(3)] + [None]  # noqa: E731
    batch = market.sample_batch(DAYS, streams(), [{}] * 4)
    for rng, out in zip(streams(), batch):
        alone = market.sample(DAYS, rng, {})
        assert all(np.array_equal(alone[k], out[k]) for k in alone)
    assert not np.array_equal(batch[0]["gpu_usd_per_hour"], batch[1]["gpu_usd_per_hour"])
