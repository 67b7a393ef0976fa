"""Round trip of the seasonal log-OU power fit: a path of the process itself, fitted back."""

import math

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.power import fit_power
from sim.processes.power import SeasonalLogOU
from sim.world import day_grid

WITHIN_SE = 4.0


def test_power_round_trip():
    truth = SeasonalLogOU()
    day, date = day_grid("2010-01-01", 10)
    prices = truth.sample(day, np.random.default_rng(2), {"day": day, "date": date})
    fit = fit_power(pd.Series(prices["power_usd_per_mwh"], index=date))
    for key, error in fit.errors.items():
        assert math.isfinite(error) and error > 0, key
        assert abs(fit.params[key] - getattr(truth, key)) < WITHIN_SE * error, (
            key, fit.params[key], getattr(truth, key), error)
    assert fit.params["cap_usd_per_mwh"] == truth.cap_usd_per_mwh


def test_a_pure_seasonal_price_is_read_exactly():
    """No noise, no spikes: the amplitude and peak are the cosine's own."""
    day, date = day_grid("2010-01-01", 4)
    truth = SeasonalLogOU(mean_usd_per_mwh=50.0, seasonal_amplitude_log=0.3, peak_day_of_year=200.0,
                          log_sd=0.0, spikes_per_year=0.0)
    series = pd.Series(truth.sample(day, None, {"day": day, "date": date})["power_usd_per_mwh"],
                       index=date)
    fit = fit_power(series)
    assert fit.params["seasonal_amplitude_log"] == pytest.approx(0.3, abs=1e-6)
    assert fit.params["peak_day_of_year"] == pytest.approx(200.0, abs=1e-3)
    assert fit.params["mean_usd_per_mwh"] == pytest.approx(50.0, rel=1e-3)


@pytest.mark.parametrize("peak, expected", [
    (200.0, 200.0), (2.0, 2.0), (1.0, 1.0), (366.0, 366.0), (365.5, 365.5),
    (0.9, 1.0),    # between day 366 and day 1 (366.15 in phase): nearer day 1
    (0.7, 365.95),  # 365.95 in phase: a day of the year
])
def test_a_peak_on_either_side_of_january_1st_is_a_day_of_the_year(peak, expected):
    """Before: a peak in (0.75, 1) came out as 366.0-366.25 and the fit was refused."""
    date = pd.date_range("2000-01-01", "2007-12-31")
    season = 0.4 * np.cos(2 * np.pi * (date.day_of_year.to_numpy() - peak) / 365.25)
    noise = 0.002 * np.random.default_rng(3).standard_normal(len(date))  # the peak within 0.01 day
    fit = fit_power(pd.Series(40 * np.exp(season + noise), index=date))
    assert 1 <= fit.params["peak_day_of_year"] <= 366
    assert fit.params["peak_day_of_year"] == pytest.approx(expected, abs=0.05)
    SeasonalLogOU(peak_day_of_year=fit.params["peak_day_of_year"])  # a valid option


def test_the_spike_standard_errors_match_the_spread_over_paths():
    """Before: the spike sizes' errors were total_sd/sqrt(count) and the rate's
    rate/sqrt(count), ignoring the truncation at the detection threshold and the error of
    the detection probability: over paths the estimates spread 1.5-1.8 times as wide."""
    truth = SeasonalLogOU()  # 6 spikes a year of log size N(1, 0.5²)
    day, date = day_grid("2010-01-01", 6)
    fits = [fit_power(pd.Series(truth.sample(day, np.random.default_rng(seed),
                                             {"day": day, "date": date})["power_usd_per_mwh"],
                                index=date))
            for seed in range(40)]
    for key in ("spikes_per_year", "spike_log_mean", "spike_log_sd"):
        estimates = np.array([fit.params[key] for fit in fits])
        errors = np.array([fit.errors[key] for fit in fits])
        spread = estimates.std(ddof=1)
        assert 0.7 < spread / np.median(errors) < 1.35, (key, spread, np.median(errors))
        assert abs(estimates.mean() - getattr(truth, key)) < 3 * spread / np.sqrt(len(fits)), key


@pytest.mark.slow
def test_the_means_standard_error_matches_its_spread_over_many_paths_with_lasting_spikes():
    """The mean's error took the regression intercept's alone, while the mean is that
    intercept over a level the noise and the spikes set: with twelve spikes a year lasting
    days, the fitted means spread 1.4 times their stated error (an audit, 200 paths).
    Over 60 paths of the process itself, the spread and the median stated error agree."""
    truth = SeasonalLogOU(half_life_days=30.0, spike_half_life_days=3.0, spikes_per_year=12.0,
                          log_sd=0.2)
    day, date = day_grid("2010-01-01", 10)
    means, errors = [], []
    for seed in range(60):
        prices = truth.sample(day, np.random.default_rng(seed), {"day": day, "date": date})
        fit = fit_power(pd.Series(prices["power_usd_per_mwh"], index=date))
        means.append(fit.params["mean_usd_per_mwh"])
        errors.append(fit.errors["mean_usd_per_mwh"])
    ratio = np.std(means, ddof=1) / np.median(errors)
    assert 0.75 < ratio < 1.25, ratio


def _spikeless_path(seed: int, years: int = 3) -> tuple[SeasonalLogOU, pd.Series]:
    truth = SeasonalLogOU(mean_usd_per_mwh=40.0, spikes_per_year=0.0)
    day, date = day_grid("2010-01-01", years)
    prices = truth.sample(day, np.random.default_rng(seed), {"day": day, "date": date})
    return truth, pd.Series(prices["power_usd_per_mwh"], index=date)


def test_prices_without_spikes_keep_the_shipped_spike_keys_and_a_finite_mean_error():
    """Before: on prices without a spike the fit wrote spike_log_mean 0 and spike_log_sd 0
    (a spike of no size), spike_half_life_days 68.9 (any value: no spike to decay) and a
    rate of 0, each ± inf, and the mean ± inf, though the mean is well read from the
    prices. Now the rate is 0 with its 95% bound in a note, the spike sizes and half-life
    are the shipped option's (not fitted), and the mean's error is finite and right."""
    truth, prices = _spikeless_path(seed=1)
    fit = fit_power(prices)
    assert fit.goodness["spike_days"] == 0
    assert fit.params["spikes_per_year"] == 0.0 and "spikes_per_year" not in fit.errors
    assert "at most" in fit.notes["spikes_per_year"]
    written = fit.written()
    for key in ("spike_log_mean", "spike_log_sd", "spike_half_life_days"):
        assert key not in fit.params and key not in fit.errors, key
        assert written[key] == (getattr(SeasonalLogOU(), key), fit.notes[key]), key
        assert fit.notes[key].startswith("not fitted: no spike day"), key
    for key, error in fit.errors.items():
        assert math.isfinite(error) and error > 0, key
        assert abs(fit.params[key] - getattr(truth, key)) < WITHIN_SE * error, (
            key, fit.params[key], getattr(truth, key), error)


def test_two_spikes_give_the_rate_and_half_life_and_keep_the_shipped_sizes():
    """Before: with one or two spike days their sizes were written as spike_log_mean 0 and
    spike_log_sd 0 ± inf (a spike that does nothing) beside a rate of two a history."""
    _, prices = _spikeless_path(seed=2)
    for day in (200, 700):  # two spikes, twenty times the price, halving each day
        prices.iloc[day:day + 6] *= 20.0 ** (0.5 ** np.arange(6))
    fit = fit_power(prices)
    assert fit.goodness["spike_days"] == 2
    assert fit.params["spikes_per_year"] == pytest.approx(2 / (len(prices) / 365.25))
    assert math.isfinite(fit.errors["spikes_per_year"])
    assert abs(fit.params["spike_half_life_days"] - 1.0) < WITHIN_SE * fit.errors["spike_half_life_days"]
    written = fit.written()
    for key in ("spike_log_mean", "spike_log_sd"):
        assert written[key][0] == getattr(SeasonalLogOU(), key), key
        assert "2 spike day(s)" in fit.notes[key], key
    assert math.isfinite(fit.errors["mean_usd_per_mwh"])
