"""BTC price processes against the closed forms of GBM and Merton's jump-diffusion."""

import numpy as np
import pytest

from sim.errors import UserError
from sim.processes import Process
from sim.processes.btc import GBM, JumpDiffusion
from sim.world import PROCESS_FIELDS, validate_output

YEAR = np.arange(366)  # one year of days: t runs 0 .. 365/365.25
T_END = 365 / 365.25


def terminal_prices(process, n_paths=4000, seed=2027):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return np.array([process.sample(YEAR, rng, {})["btc_usd"][-1] for _ in range(n_paths)])


def within(sample, expected, n_se=4.0):
    se = sample.std(ddof=1) / np.sqrt(len(sample))
    return abs(sample.mean() - expected) < n_se * se


def test_gbm_is_a_process_returning_its_field():
    gbm = GBM()
    assert isinstance(gbm, Process)
    out = gbm.sample(np.arange(3653), np.random.default_rng(0), {})
    validate_output(out, PROCESS_FIELDS["btc"], 3653, "btc")
    assert out["btc_usd"][0] == 90_000.0


def test_gbm_log_return_and_terminal_mean_match_the_closed_form():
    gbm = GBM(start_usd=100.0, drift_per_year=0.08, volatility_per_year=0.5)
    prices = terminal_prices(gbm)
    log_returns = np.log(prices / 100.0)
    assert within(log_returns, (0.08 - 0.5 ** 2 / 2) * T_END)
    assert log_returns.std() == pytest.approx(0.5 * np.sqrt(T_END), rel=0.05)
    assert within(prices, 100.0 * np.exp(0.08 * T_END))


def test_gbm_daily_volatility_scales_with_the_square_root_of_time():
    path = GBM(volatility_per_year=0.5).sample(np.arange(36_525), np.random.default_rng(1), {})
    daily = np.diff(np.log(path["btc_usd"]))
    assert daily.std() == pytest.approx(0.5 / np.sqrt(365.25), rel=0.02)


def test_gbm_deterministic_path_is_the_expected_price():
    days = np.arange(3653)
    path = GBM(start_usd=90_000.0, drift_per_year=0.1).sample(days, None, {})["btc_usd"]
    np.testing.assert_allclose(path, 90_000.0 * np.exp(0.1 * days / 365.25), rtol=1e-12)


@pytest.mark.parametrize("compensated", [True, False])
def test_jump_diffusion_terminal_mean_matches_merton(compensated):
    merton = JumpDiffusion(start_usd=100.0, drift_per_year=0.05, volatility_per_year=0.3,
                           jumps_per_year=6.0, jump_log_mean=-0.10, jump_log_sd=0.10,
                           compensated=compensated)
    k = np.exp(-0.10 + 0.10 ** 2 / 2) - 1
    growth = 0.05 + (0.0 if compensated else 6.0 * k)
    prices = terminal_prices(merton)
    assert within(prices, 100.0 * np.exp(growth * T_END))
    variance = 0.3 ** 2 + 6.0 * (0.10 ** 2 + 0.10 ** 2)  # diffusion + λ·E[J²]
    assert np.log(prices).var() == pytest.approx(variance * T_END, rel=0.08)
    expected_path = merton.sample(YEAR, None, {})["btc_usd"]
    np.testing.assert_allclose(expected_path, 100.0 * np.exp(growth * YEAR / 365.25), rtol=1e-12)


def test_uncompensated_negative_jumps_lower_the_expected_path():
    down = dict(jumps_per_year=6.0, jump_log_mean=-0.2, jump_log_sd=0.05)
    plain = JumpDiffusion(compensated=True, **down).sample(YEAR, None, {})["btc_usd"][-1]
    jumpy = JumpDiffusion(compensated=False, **down).sample(YEAR, None, {})["btc_usd"][-1]
    assert jumpy < 0.5 * plain


@pytest.mark.parametrize("make, message", [
    (lambda: GBM(start_usd=0), "start_usd=0: must be > 0"),
    (lambda: GBM(volatility_per_year=-0.1), r"volatility_per_year=-0.1: must be in \[0, 5.0\]"),
    (lambda: JumpDiffusion(compensated="yes"), "compensated='yes': must be true or false"),
])
def test_bad_arguments_are_named(make, message):
    with pytest.raises(UserError, match=message):
        make()
