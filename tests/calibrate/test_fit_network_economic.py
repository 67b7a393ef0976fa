"""Round trip of the economic network's fit: epochs simulated by EconomicNetwork, fitted back."""

import numpy as np
import pytest

from economic_history import ROUND_TRIP_SEED, START, TOLERANCE, TRUTH, simulated_history
from sim.calibrate.network_economic import fit_economic_network, fit_window
from sim.errors import UserError


@pytest.fixture(scope="module")
def history():
    return simulated_history(seed=ROUND_TRIP_SEED, **TRUTH)


def test_economic_network_round_trip(history):
    epochs, closes = history
    # the premise of the seed (economic_history.ROUND_TRIP_SEED): a path that orders machines
    assert closes.iloc[-1] > closes.iloc[0] and closes.min() > 0.75 * closes.iloc[0]
    fit = fit_economic_network(epochs, closes, since=START)
    for key, value in TRUTH.items():
        assert abs(fit.params[key] / value - 1) < TOLERANCE[key], (key, fit.params[key], value)
        assert fit.errors[key] > 0
    assert fit.goodness["residual_log_sd"] < 0.01
    assert fit.goodness["r_squared_log_difficulty"] > 0.99
    assert fit.period[0] == START and fit.goodness["epochs"] > 60
    assert set(fit.params) == set(TRUTH)  # the rest, day 0 among them, market/network=economic's
    assert fit.written()["switch_days"] == (14.0, "not fitted: as market/network=economic")
    assert fit.written()["start_height"][0] == "${asof.height}"


def test_window_defaults_to_the_last_four_years_of_the_overlap(history):
    epochs, closes = history
    first, n_days = fit_window(epochs, closes.iloc[:800])
    assert first == START and n_days == 800  # under four years of overlap: all of it
    first, n_days = fit_window(epochs, closes, since="2026-06-01")
    end = np.datetime64(int(epochs["timestamp"].iloc[-1]), "s").astype("datetime64[D]")
    assert first == "2026-06-01" and n_days == (end - np.datetime64(first)).astype(int) + 1


@pytest.mark.parametrize("since, closes_days, match", [
    ("2020-01-01", None, "--network-since=2020-01-01: must lie from"),
    (None, 60, "only [0-9] whole epochs lie inside"),
])
def test_windows_without_enough_history_are_refused(history, since, closes_days, match):
    epochs, closes = history
    with pytest.raises(UserError, match=match):
        fit_window(epochs, closes.iloc[:closes_days], since)


def test_parameters_the_window_cannot_see_get_infinite_errors():
    # started 8 months into a simulated history, from the model's neutral day-0 fleet, the
    # fit prefers a power median so high that nothing is ordered: then the payback target
    # and the order time move no error, and say so
    epochs, closes = simulated_history(years=1.6, **TRUTH)
    fit = fit_economic_network(epochs, closes, since="2026-09-01")
    assert fit.params["power_median_usd_per_mwh"] > 2 * TRUTH["power_median_usd_per_mwh"]
    assert np.isfinite(fit.errors["power_median_usd_per_mwh"])
    assert fit.errors["payback_target_days"] == np.inf and fit.errors["order_days"] == np.inf
