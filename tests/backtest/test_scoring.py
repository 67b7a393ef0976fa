"""hashpivot-backtest's worlds: history-driven options draw only on the history before each
start, a fitted BTC model reaches the sampled option, and the keys the start state sets."""

import numpy as np
import pandas as pd

from backtest_runs import alternating_file
from sim.backtest import history, scoring
from sim.btc_closes import read_btc_csv
from sim.config import compose
from sim.config_objects import instantiate
from sim.processes.network import load_difficulty_epochs
from sim.world import rng_for


def test_a_bootstrapped_btc_draws_only_on_returns_before_the_start(tmp_path):
    days = pd.date_range("2017-12-01", "2019-06-30")  # a year and a month before the start
    after = days >= "2019-01-01"  # before the start the price rises 0.1% a day, after it falls 5%
    log_close = np.cumsum(np.where(after, -0.05, 0.001))
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                  "close_usd": 1000 * np.exp(log_close)}).to_csv(btc, index=False)
    cfg = compose(["market/btc=bootstrap", "market.btc.start_usd=100.0"])
    scoring.history_only_before(cfg.market.btc, "2019-01-01", str(btc))
    assert cfg.market.btc.until == "2018-12-31" and cfg.market.btc.file == str(btc)
    process = instantiate(cfg.market.btc, "market.btc")
    path = process.sample(np.arange(500), rng_for(7, 0, "btc"), {})["btc_usd"]
    np.testing.assert_allclose(np.diff(np.log(path)), 0.001, rtol=1e-9)
    gbm = compose(["market/btc=gbm"])
    scoring.history_only_before(gbm.market.btc, "2019-01-01", str(btc))
    assert "until" not in gbm.market.btc and "file" not in gbm.market.btc


def test_a_bootstrapped_network_draws_only_on_retargets_before_the_start(built):
    """market/network=bootstrap takes the day-0 keys it has, and `until` the day before the
    start, so that no world resamples a retarget from after it."""
    closes = pd.Series(4000.0, index=pd.date_range("2018-06-01", "2019-06-30"))
    paths, _, _ = scoring.simulate("2019-01-01", 0.25, 2, 1, "bootstrap", [], closes, True,
                                   "gbm", "btc.csv")
    network = built[0]
    state = history.start_state("2019-01-01")
    assert network.until == "2018-12-31"
    assert (network.start_height, network.start_difficulty) == (state["start_height"],
                                                                 state["start_difficulty"])
    epochs = load_difficulty_epochs()
    before = epochs["timestamp"].to_numpy()[1:] < history._unix("2019-01-01")
    began = epochs["timestamp"].to_numpy()[:-1] >= history._unix("2016-01-01")
    known = np.diff(np.log(epochs["difficulty"].to_numpy()))[before & began]
    assert np.array_equal(network.log_changes(), known)
    assert paths[:, 0].tolist() == [state["start_difficulty"]] * 2


def test_a_fitted_jump_diffusion_reaches_the_sampled_option(tmp_path, built):
    btc, _ = alternating_file(tmp_path, before=0.02, after=0.25)
    closes = read_btc_csv(btc)
    fitted, _ = history.fitted_btc(closes, "2019-01-01", "jump", str(btc))
    assert {"jumps_per_year", "jump_log_sd", "compensated"} <= fitted.keys()
    scoring.simulate("2019-01-01", 0.1, 2, 1, "economic", [], closes, False, "jump", str(btc),
                     fitted)
    jump = next(p for p in built if type(p).__name__ == "JumpDiffusion")
    for key, value in fitted.items():
        assert getattr(jump, key) == value, key


def test_the_state_keys_are_those_the_start_state_sets():
    assert set(history.start_state("2019-01-01")) == set(scoring.STATE_KEYS)
