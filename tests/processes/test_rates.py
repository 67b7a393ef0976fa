"""The short rate: Vasicek's exact daily steps, its floor, its expected path, its stream."""

import math

import numpy as np
import pytest

import sim
from sim.config_objects import build_processes
from sim.errors import UserError
from sim.processes.rates import CIR, ConstantRate, Vasicek
from sim.world import PROCESS_FIELDS, rng_for, validate_output

DAYS = np.arange(3653)


def unfloored_paths(process, n_paths, n_days, seed=11):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return np.array([process.unfloored(n_days, rng) for _ in range(n_paths)])


def test_sampled_mean_variance_and_covariance_match_the_ou_closed_forms():
    a = math.log(2) / 2.0
    rates = Vasicek(start_rate=0.05, mean_rate=0.03, half_life_years=2.0, volatility=0.01)
    paths = unfloored_paths(rates, 2000, 1462)
    for day in (365, 1461):
        t = day / 365.25
        mean = 0.03 + 0.02 * math.exp(-a * t)
        variance = 0.01 ** 2 * (1 - math.exp(-2 * a * t)) / (2 * a)
        sample = paths[:, day]
        assert abs(sample.mean() - mean) < 4 * math.sqrt(variance / len(sample))
        assert sample.var(ddof=1) == pytest.approx(variance, rel=4 * math.sqrt(2 / len(sample)))
    # Between two days, the covariance decays at the speed: Cov(r_s, r_t) = Var(r_s) e^{-a (t-s)}.
    s, t = 365 / 365.25, 1461 / 365.25
    covariance = 0.01 ** 2 * (1 - math.exp(-2 * a * s)) / (2 * a) * math.exp(-a * (t - s))
    assert np.cov(paths[:, 365], paths[:, 1461])[0, 1] == pytest.approx(covariance, rel=0.2)
    assert np.all(paths[:, 0] == 0.05)


def test_deterministic_path_is_the_expected_rate():
    rates = Vasicek(start_rate=0.08, mean_rate=0.06, half_life_years=2.0, volatility=0.005,
                    floor_rate=0.0)
    path = rates.sample(DAYS, None, {})["short_rate"]
    validate_output({"short_rate": path}, PROCESS_FIELDS["rates"], len(DAYS), "rates")
    t = DAYS / 365.25
    # Ten sds above the floor, the floored mean is the OU mean: 6% + 2% · 2^(−t/2).
    np.testing.assert_allclose(path, 0.06 + 0.02 * 0.5 ** (t / 2), rtol=1e-12)
    assert path[0] == 0.08


def test_the_floor_censors_the_path_and_the_expected_path_counts_it():
    near_zero = Vasicek(start_rate=0.005, mean_rate=0.005, half_life_years=1.0, volatility=0.01,
                        floor_rate=0.0)
    rng = np.random.default_rng(np.random.SeedSequence(5))
    paths = np.array([near_zero.sample(DAYS[:1097], rng, {})["short_rate"] for _ in range(3000)])
    assert paths.min() == 0.0 and (paths == 0).mean() > 0.2  # the floor binds often
    expected = near_zero.sample(DAYS[:1097], None, {})["short_rate"]
    for day in (365, 1096):
        se = paths[:, day].std(ddof=1) / math.sqrt(len(paths))
        assert abs(paths[:, day].mean() - expected[day]) < 4 * se
        assert expected[day] > 0.005  # above the unfloored mean: the floor cuts the low tail


def test_same_seed_same_path_and_a_constant_rate_never_moves():
    rates = Vasicek()
    first = rates.sample(DAYS, rng_for(20270101, 3, "rates"), {})["short_rate"]
    again = rates.sample(DAYS, rng_for(20270101, 3, "rates"), {})["short_rate"]
    other = rates.sample(DAYS, rng_for(20270101, 4, "rates"), {})["short_rate"]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    flat = ConstantRate(rate=0.04).sample(DAYS, rng_for(1, 0, "rates"), {})["short_rate"]
    np.testing.assert_array_equal(flat, 0.04)


def test_bad_arguments_are_named():
    with pytest.raises(UserError, match="half_life_years=0: must be > 0"):
        Vasicek(half_life_years=0)
    with pytest.raises(UserError, match="volatility=-0.01: must be >= 0"):
        Vasicek(volatility=-0.01)
    with pytest.raises(UserError, match="rate=1.5: must be"):
        ConstantRate(rate=1.5)
    cfg = sim.compose(["market.rates.floor_rate=-0.01"])
    with pytest.raises(UserError, match=r"^market\.rates\.floor_rate=-0\.01: must be in \[0, 1\]$"):
        build_processes(cfg)


def test_the_rate_has_its_own_stream_and_an_old_config_gets_a_constant_rate():
    with_rates = sim.sample_world(sim.compose(["run.replications=1"]), 1)
    without = sim.sample_world(sim.compose(["~market/rates", "run.replications=1"]), 1)
    for name in with_rates.daily_fields():
        if name != "short_rate":
            np.testing.assert_array_equal(getattr(with_rates, name), getattr(without, name))
    assert with_rates.tenant_requests.equals(without.tenant_requests)
    np.testing.assert_array_equal(without.short_rate, ConstantRate().rate)
    assert with_rates.short_rate.std() > 0


def test_cir_mean_and_variance_match_the_closed_forms_and_stay_positive():
    a = math.log(2) / 2.0
    cir = CIR(start_rate=0.05, mean_rate=0.03, half_life_years=2.0, volatility=0.06)
    paths = cir.paths(2000, 1462, np.random.default_rng(np.random.SeedSequence(8)))
    assert paths.min() > 0 and np.all(paths[:, 0] == 0.05)
    for day in (365, 1461):
        t = day / 365.25
        decay = math.exp(-a * t)
        mean = 0.03 + 0.02 * decay
        variance = (0.05 * 0.06 ** 2 / a * (decay - decay ** 2)
                    + 0.03 * 0.06 ** 2 / (2 * a) * (1 - decay) ** 2)
        sample = paths[:, day]
        assert abs(sample.mean() - mean) < 4 * math.sqrt(variance / len(sample))
        assert sample.var(ddof=1) == pytest.approx(variance, rel=5 * math.sqrt(2 / len(sample)))


def test_cir_world_path_is_one_row_of_its_paths_and_its_base_case_the_mean():
    cir = CIR()
    one = cir.sample(DAYS[:400], np.random.default_rng(3), {})["short_rate"]
    # The exact step written out: r' = c · χ'²(4ab/σ², r e^{−a dt} / c), c = σ²(1 − e^{−a dt})/(4a).
    a, dt = math.log(2) / 3.0, 1 / 365.25
    c = 0.0577 ** 2 * (1 - math.exp(-a * dt)) / (4 * a)
    rng, by_hand = np.random.default_rng(3), [0.0365]
    for _ in range(399):
        by_hand.append(c * rng.noncentral_chisquare(4 * a * 0.03 / 0.0577 ** 2,
                                                    np.array([by_hand[-1] * math.exp(-a * dt) / c]))[0])
    np.testing.assert_allclose(one, by_hand, rtol=1e-12)
    expected = cir.sample(DAYS, None, {})["short_rate"]
    np.testing.assert_allclose(expected, 0.03 + 0.0065 * 0.5 ** (DAYS / 365.25 / 3.0), rtol=1e-12)
    with pytest.raises(UserError, match="volatility=0: must be > 0"):
        CIR(volatility=0)
