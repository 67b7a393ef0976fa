"""Round trip of the network fit: epochs simulated by today's Network rule, fitted back."""

import numpy as np
import pandas as pd
import pytest

from sim.calibrate.network import fit_network
from sim.errors import UserError
from sim.processes.btc import GBM
from sim.processes.network import Network
from sim.world import day_grid

WITHIN_SE = 4.0
TRUTH = dict(hashrate_trend_per_year=0.2, elasticity_per_year=1.0,
             hashrate_volatility_per_year=0.2)


def simulated_history(seed: int, years: int = 12):
    """Return (epochs as a difficulty history CSV has them, daily closes) of one simulated path."""
    day, date = day_grid("2030-01-01", years)
    rng = np.random.default_rng(seed)
    btc = GBM(start_usd=90000, drift_per_year=0.1, volatility_per_year=0.5).sample(day, rng, {})
    net = Network(hashprice_ref_usd_per_ph_day=30.0, fee_spikes_per_year=0.0, **TRUTH)
    out = net.sample(day, rng, {"day": day, "date": date, "btc_usd": btc["btc_usd"]})
    heights = out["block_height"].astype(float)
    starts = out["epochs"]["start_height"].to_numpy()[1:]
    starts = starts[starts < heights[-1]]
    d = np.searchsorted(heights, starts, side="right") - 1
    days = d + (starts - heights[d]) / (heights[d + 1] - heights[d])  # boundary times, in days
    origin = np.datetime64("2030-01-01T00:00:00").astype(np.int64)
    epochs = pd.DataFrame({"height": starts, "timestamp": (origin + days * 86400).astype(np.int64),
                           "difficulty": out["epochs"]["difficulty"].to_numpy()[1:len(starts) + 1]})
    return epochs, pd.Series(btc["btc_usd"], index=date), days


def test_network_round_trip():
    epochs, closes, days = simulated_history(seed=1)
    # the reference of day 0: 30 on the simulation's first day, falling at the 0.2 trend
    fit = fit_network(epochs, closes, day0="2042-07-01")
    years = (np.datetime64("2042-07-01") - np.datetime64("2030-01-01")).astype(int) / 365.25
    truth = dict(TRUTH, hashprice_ref_usd_per_ph_day=30.0 * np.exp(-0.2 * years))
    for key, value in truth.items():
        assert abs(fit.params[key] - value) < WITHIN_SE * fit.errors[key], (
            key, fit.params[key], value, fit.errors[key])
    assert "start_height" not in fit.params  # day 0's state is the snapshot's


def test_epochs_outside_the_prices_are_refused():
    epochs, closes, _ = simulated_history(seed=2, years=2)
    with pytest.raises(UserError, match="only 0 epochs lie inside"):
        fit_network(epochs, closes[:5])
