"""The AI index fits: paths of AIMarket itself and of a stationary Ornstein–Uhlenbeck
index, fitted back; what a sample cannot tell is said, not fitted."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.indices import fit_ai, fit_trend
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
        assert "95% likelihood interval" in fit.notes[key] if "half_life" in key else True
    assert fit.params["scarcity_multiplier"] == fit.params["glut_multiplier"] == 1.0


def monthly_index(seed: int, years: int, half_life_years: float, log_sd: float,
                  drift_per_year: float) -> pd.Series:
    """Return month-start prices of exp(drift·t + X), X a stationary OU drawn exactly at
    those dates (28 to 31 days apart)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2001-01-01", periods=12 * years, freq="MS")
    t = (dates - dates[0]).days.to_numpy() / 365.25
    x = np.empty(len(t))
    x[0] = log_sd * rng.standard_normal()
    for i in range(1, len(t)):
        rho = 0.5 ** ((t[i] - t[i - 1]) / half_life_years)
        x[i] = rho * x[i - 1] + log_sd * math.sqrt(1 - rho * rho) * rng.standard_normal()
    return pd.Series(np.exp(np.log(100.0) + drift_per_year * t + x), index=dates)


def test_twenty_years_of_a_monthly_index_give_its_half_life_sd_and_honest_errors():
    """Before: least squares, then the lag-one autocorrelation of the residuals, returned a
    median half-life of 0.75 years for these 1-year ones (the auditor's: 0.59, and 0.76 of
    the sd); REML gives 0.91, its standard errors a little wide (spread 0.73 of them). The
    drift's error given the fitted half-life is checked here; the one written spans the
    half-life's 95% likelihood interval, which here often reaches a random walk (the test
    below), and is wider than the drifts' spread. The sd's error spans that interval too
    (infinite where it reaches a random walk; the coverage test below)."""
    fits = [fit_trend(monthly_index(seed, 20, 1.0, 0.15, 0.03), assumed_half_life_years=0.5)
            for seed in range(40)]
    assert sum(not fit["assumed"] for fit in fits) >= 30  # 20 half-lives: mostly identified
    fits = [fit for fit in fits if not fit["assumed"]]
    sds = np.array([fit["log_sd"] for fit in fits])
    assert abs(np.median(sds) / 0.15 - 1) < 0.2, np.median(sds)
    truth = {"half_life_years": 1.0, "drift": 0.03}
    for key, value in truth.items():
        estimates = np.array([fit[key] for fit in fits])
        error_key = "drift_given_half_life" if key == "drift" else key
        errors = np.array([fit["errors"][error_key] for fit in fits])
        assert abs(np.median(estimates) / value - 1) < 0.2, (key, np.median(estimates))
        assert abs(np.median(estimates) - value) < 0.5 * np.median(errors), key
        assert 0.6 < estimates.std(ddof=1) / np.median(errors) < 1.5, (
            key, estimates.std(ddof=1), np.median(errors))


def test_a_random_walk_mostly_leaves_the_half_life_to_the_shipped_option():
    """Two years of an index with a 10,000-year half-life (a random walk): detrended it
    shows a spurious half-life of a fraction of the sample, so the half-life is used only
    where it fits better than a random walk; otherwise the written option keeps
    market/ai=base's and fits the sd and the trend given it. Before: every sample got a
    half-life from its lag-one autocorrelation (13 days to 2.4 years over these 40)."""
    fits = [fit_ai(monthly_index(seed, 2, 1e4, 0.15, 0.03), None) for seed in range(40)]
    unidentified = [fit for fit in fits if "lease_half_life_years" not in fit.params]
    assert len(unidentified) >= 28  # 20% identified here (58% by the span test alone)
    for fit in unidentified:
        value, note = fit.written()["lease_half_life_years"]
        assert value == 1.0 and note.startswith("not identified: ")
        assert note.endswith("as market/ai=base, lease_log_sd and lease_drift_per_year fitted given it")
        assert {"lease_log_sd", "lease_drift_per_year"} <= set(fit.params)
        assert re.fullmatch(r"error over the half-life's 95% likelihood interval; ± \S+ given "
                            r"the assumed half-life alone", fit.notes["lease_drift_per_year"])


def test_noise_white_at_the_files_step_gives_a_half_life_of_at_most_a_quarter_step():
    """Prices alternating 1% above and below a trend: the noise forgets within a week."""
    index = pd.date_range("2020-01-01", periods=40, freq="7D")
    t = np.arange(40) * 7 / 365.25
    log_price = np.log(100) + 0.2 * t + np.tile([0.01, -0.01], 20)
    fit = fit_ai(pd.Series(np.exp(log_price), index=index), None)
    assert fit.params["lease_half_life_years"] == pytest.approx(7 / 4 / 365.25, rel=1e-6)
    assert fit.errors["lease_half_life_years"] == math.inf
    assert fit.notes["lease_half_life_years"] == "at most: the noise is white at the file's 7-day step"
    assert abs(fit.params["lease_drift_per_year"] - 0.2) < 3 * fit.errors["lease_drift_per_year"]
    assert fit.params["lease_log_sd"] == pytest.approx(0.01, rel=0.15)
    assert "lease_start_usd_per_kw_month" not in fit.params  # day 0: the snapshot's
    assert "gpu_drift_per_year" not in fit.params  # not fitted: market/ai=base's


def monthly_random_walk(seed: int, years: int, volatility: float, drift_per_year: float) -> pd.Series:
    """Return month-start prices of exp(drift·t + W), W a random walk of `volatility` a
    square-root year drawn exactly at those dates."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2001-01-01", periods=12 * years, freq="MS")
    t = (dates - dates[0]).days.to_numpy() / 365.25
    steps = volatility * np.sqrt(np.diff(t)) * rng.standard_normal(len(t) - 1)
    return pd.Series(100.0 * np.exp(drift_per_year * t + np.concatenate(([0.0], np.cumsum(steps)))),
                     index=dates)


@pytest.mark.parametrize("label, index", [
    ("random walk", lambda seed: monthly_random_walk(seed, 5, 0.15, 0.05)),
    ("1-year half-life", lambda seed: monthly_index(seed, 5, 1.0, 0.15, 0.05))])
def test_the_drifts_95_percent_interval_covers_the_true_drift_of_five_years_of_an_index(label, index):
    """Before: the drift's error was its generalised least squares error at the half-life
    used, fitted (on these, a third of the true one or less) or assumed (the shipped 1 year):
    drift ± 1.96 errors covered the true 0.05 in 60% of 200 random walks (the drifts spread
    twice the median error; 38% of those whose spurious half-life was identified) and in
    78% of 1-year half-lives (49% of those identified). The error now spans the drift's
    interval at every half-life of the half-life's 95% likelihood interval: 94% and 97%."""
    fits = [fit_trend(index(seed), assumed_half_life_years=1.0) for seed in range(200)]
    covered = [abs(fit["drift"] - 0.05) < 1.96 * fit["errors"]["drift"] for fit in fits]
    assert np.mean(covered) >= 0.9, (label, np.mean(covered))
    for fit in fits:
        assert fit["errors"]["drift"] >= fit["errors"]["drift_given_half_life"]


@pytest.mark.parametrize("label, index, parts, least_finite", [
    ("5-year random walk", lambda seed: monthly_random_walk(seed, 5, 0.15, 0.05), ["start"], 0.0),
    ("5 years, 1-year half-life", lambda seed: monthly_index(seed, 5, 1.0, 0.15, 0.05),
     ["start", "log_sd"], 0.0),
    ("20 years, 1-year half-life", lambda seed: monthly_index(seed, 20, 1.0, 0.15, 0.05),
     ["start", "log_sd"], 0.3)])
def test_the_sds_and_expected_prices_95_percent_intervals_cover_the_true_ones(label, index, parts,
                                                                              least_finite):
    """The true values, as market/ai uses them: log_sd is the stationary sd of the log
    noise (0.15; a random walk has none, its stationary sd being infinite, so only its start
    is scored); start, the fit's expected price on the last date, is E[price] there:
    100·exp(0.05·t_end + 0.15²/2) with a stationary noise, 100·exp((0.05 + 0.15²/2)·t_end)
    for a random walk from 100 (market/ai's lease index too has E[price] = start·exp(drift·t),
    its noise corrected to mean one). Before: their errors were given the half-life used
    (the sd's from the observed information where the half-life was fitted), and the
    intervals ± 1.96 errors covered the true start in 40.5% of 200 five-year random walks,
    82% of 1-year half-lives (56% where the half-life was fitted, 5 years) and 85.5% over 20
    years, and the true sd in 63% (7% where fitted) and 87.5%. Spanning the half-life's 95%
    likelihood interval, infinite where it reaches a random walk: 96.5%, 98.5%, 99.5% and
    96.5%, 98%. Most errors are then infinite: 5-6% are finite on 5 years; over 20 years
    42%, and those cover 99% (start) and 95% (sd)."""
    samples = [index(seed) for seed in range(200)]
    fits = [fit_trend(sample, assumed_half_life_years=1.0) for sample in samples]
    t_end = (samples[0].index[-1] - samples[0].index[0]).days / 365.25
    variance = 0.15 ** 2 * (t_end if "random walk" in label else 1.0)
    truth = {"start": 100 * math.exp(0.05 * t_end + variance / 2), "log_sd": 0.15}
    for part in parts:
        errors = np.array([fit["errors"][part] for fit in fits])
        covered = np.array([abs(fit[part] - truth[part]) < 1.96 * fit["errors"][part]
                            for fit in fits])
        finite = np.isfinite(errors)
        assert covered.mean() >= 0.9, (label, part, covered.mean())
        assert finite.mean() >= least_finite, (label, part, finite.mean())
        if least_finite:
            assert covered[finite].mean() >= 0.9, (label, part, covered[finite].mean())
        for fit in fits:
            assert fit["errors"][part] >= fit["errors"][f"{part}_given_half_life"]
