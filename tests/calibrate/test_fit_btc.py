"""Round trips of the BTC fits: paths simulated by the processes themselves, fitted back."""

import math

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.btc import DT_YEARS, fit_gbm, fit_jump
from sim.processes.btc import GBM, JumpDiffusion

#: An estimate must lie within this many of its standard errors of the truth.
WITHIN_SE = 4.0


def closes(process, years: int, seed: int) -> pd.Series:
    days = np.arange(int(years * 365.25))
    prices = process.sample(days, np.random.default_rng(seed), {})["btc_usd"]
    return pd.Series(prices, index=pd.date_range("2001-01-01", periods=len(days), freq="D"))


def assert_recovers(fit, truth: dict):
    for key, value in truth.items():
        error = fit.errors[key]
        assert abs(fit.params[key] - value) < WITHIN_SE * error, (key, fit.params[key], value, error)


def test_gbm_round_trip():
    truth = GBM(start_usd=100.0, drift_per_year=0.3, volatility_per_year=0.6)
    fit = fit_gbm(closes(truth, 20, seed=11))
    assert_recovers(fit, {"drift_per_year": 0.3, "volatility_per_year": 0.6})
    assert fit.errors["volatility_per_year"] < 0.01  # 7,305 days pin σ to about ±0.005


def test_gbm_fit_is_the_sample_moments():
    """By hand: log returns +0.01, −0.01 alternating: mean 0, sd 0.01 a day."""
    index = pd.date_range("2020-01-01", periods=101, freq="D")
    series = pd.Series(100 * np.exp(np.cumsum(np.r_[0, np.tile([0.01, -0.01], 50)])), index=index)
    fit = fit_gbm(series)
    sigma = 0.01 / math.sqrt(DT_YEARS)
    assert fit.params["volatility_per_year"] == pytest.approx(sigma)
    assert fit.params["drift_per_year"] == pytest.approx(sigma ** 2 / 2)
    assert "start_usd" not in fit.params  # day 0's price is the snapshot's
    assert f"last close, 2020-04-10: {series.iloc[-1]:.8g}" in fit.notes["start_usd"]


def test_jump_diffusion_round_trip():
    truth = dict(drift_per_year=0.1, volatility_per_year=0.4, jumps_per_year=10.0,
                 jump_log_mean=-0.08, jump_log_sd=0.12)
    fit = fit_jump(closes(JumpDiffusion(start_usd=100.0, **truth), 12, seed=5))
    assert_recovers(fit, truth)
    assert fit.params["compensated"] is True
    assert 0 < fit.goodness["ks_statistic"] < 0.05
