"""Difficulty histories simulated by EconomicNetwork, for the round trips of its fit."""

import numpy as np
import pandas as pd

from sim.economics import BLOCKS_PER_EPOCH, TARGET_SPACING_S
from sim.processes.btc import GBM
from sim.processes.network_economic import EconomicNetwork

START = "2026-01-01"
TRUTH = dict(power_median_usd_per_mwh=52.0, payback_target_days=800.0, order_days=150.0)
#: Stated tolerances of the recovery (relative): the model is deterministic, so at the truth
#: every log error is 0 up to the epochs' timestamps (whole seconds, heights in whole blocks);
#: the payback target and the order time share a long flat valley, so they get more room.
#: (On a path where BTC falls 84-90%, seeds 1, 7 and 10, few machines are ordered and the
#: order time is recovered only within 26-70%: the fit can only see what the history
#: exercised. The round trip therefore runs on a path that orders machines.)
TOLERANCE = dict(power_median_usd_per_mwh=0.02, payback_target_days=0.05, order_days=0.10)
#: The GBM seed of the round trip's history: BTC ends 2.4 times higher, never 21% below its start.
ROUND_TRIP_SEED = 3


def simulated_history(years: float = 3.0, seed: int = 1, **truth):
    """Return (epochs as a difficulty history CSV has them, daily closes) of EconomicNetwork
    run deterministically from START on a GBM path: the epoch in force on day 0 and the one
    before it (at 600 s blocks, so that its hashrate is day 0's), then the simulated ones."""
    n_days = int(round(years * 365.25))
    day = np.arange(n_days)
    date = np.datetime64(START, "D") + day
    btc = GBM(start_usd=90_000, drift_per_year=0.1, volatility_per_year=0.5).sample(
        day, np.random.default_rng(seed), {})["btc_usd"]
    net = EconomicNetwork(**truth)
    out = net.sample(day, None, {"day": day, "date": date, "btc_usd": btc})
    heights = out["block_height"].astype(float)
    starts = out["epochs"]["start_height"].to_numpy()[1:]
    starts = starts[starts < heights[-1]]
    d = np.searchsorted(heights, starts, side="right") - 1
    days = d + (starts - heights[d]) / (heights[d + 1] - heights[d])  # boundary times, in days
    done = net.start_height % BLOCKS_PER_EPOCH
    before = -np.array([done + BLOCKS_PER_EPOCH, done]) * TARGET_SPACING_S / 86_400
    origin = np.datetime64(f"{START}T00:00:00").astype(np.int64)
    epochs = pd.DataFrame({
        "height": np.concatenate(([net.start_height - done - BLOCKS_PER_EPOCH,
                                   net.start_height - done], starts)),
        "timestamp": np.round(origin + np.concatenate((before, days)) * 86_400).astype(np.int64),
        "difficulty": np.concatenate(([net.start_difficulty] * 2,
                                      out["epochs"]["difficulty"].to_numpy()[1:len(starts) + 1]))})
    return epochs, pd.Series(btc, index=date)
