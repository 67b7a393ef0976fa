"""Round trip of the AI index fits: lease and GPU paths of AIMarket itself, fitted back."""

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.indices import fit_ai
from sim.processes.ai import AIMarket
from sim.world import day_grid

WITHIN_SE = 4.0


def test_lease_and_gpu_round_trip():
    truth = AIMarket(lease_drift_per_year=0.05, lease_log_sd=0.1, lease_half_life_years=0.25,
                     gpu_drift_per_year=-0.15, gpu_log_sd=0.15, gpu_half_life_years=0.2,
                     scarcity_multiplier=1.0, glut_multiplier=1.0, gpu_floor_usd_per_hour=0.01)
    day, date = day_grid("2010-01-01", 12)
    paths = truth.sample(day, np.random.default_rng(7), {"day": day, "date": date})
    lease = pd.Series(paths["lease_usd_per_kw_month"], index=date)[::7]  # weekly
    gpu = pd.Series(paths["gpu_usd_per_hour"], index=date)[::7]
    fit = fit_ai(lease, gpu)
    for key in ("lease_drift_per_year", "lease_log_sd", "lease_half_life_years",
                "gpu_drift_per_year", "gpu_log_sd", "gpu_half_life_years"):
        assert abs(fit.params[key] - getattr(truth, key)) < WITHIN_SE * fit.errors[key], (
            key, fit.params[key], fit.errors[key])
    assert fit.params["scarcity_multiplier"] == fit.params["glut_multiplier"] == 1.0


def test_an_exact_trend_is_read_exactly():
    index = pd.date_range("2020-01-01", periods=40, freq="7D")
    t = np.arange(40) * 7 / 365.25
    noise = np.tile([0.01, -0.01], 20)
    log_price = np.log(100) + 0.2 * t + noise
    fit = fit_ai(pd.Series(np.exp(log_price), index=index), None)
    slope, intercept = np.polyfit(t, log_price, 1)  # least squares by numpy's own route
    assert fit.params["lease_drift_per_year"] == pytest.approx(slope, rel=1e-9)
    assert abs(slope - 0.2) < 3e-3
    sd = np.std(log_price - intercept - slope * t)
    assert fit.params["lease_log_sd"] == pytest.approx(sd, rel=1e-9)
    assert "lease_start_usd_per_kw_month" not in fit.params  # day 0: the snapshot's
    expected = np.exp(intercept + slope * t[-1] + sd ** 2 / 2)
    assert f"on 2020-09-30: {expected:.6g}" in fit.notes["lease_start_usd_per_kw_month"]
    assert "gpu_drift_per_year" not in fit.params  # not fitted: market/ai=base's
