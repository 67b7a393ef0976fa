"""hashpivot-backtest's reading of the past: the start state from the shipped epochs, the
realised epochs and hashprice, and the BTC model fitted on the closes before a start."""

import numpy as np
import pandas as pd
import pytest

from backtest_runs import alternating_file, alternating_gbm
from sim.backtest import history
from sim.btc_closes import read_btc_csv
from sim.config import compose
from sim.config_objects import instantiate
from sim.errors import UserError
from sim.processes.network import load_difficulty_epochs


def history_at_paces(day0: str, elapsed_days: float, before_ehs: float, now_ehs: float):
    """Epochs whose last complete one ran at `before_ehs` and whose epoch in force, begun
    `elapsed_days` before `day0`, runs at `now_ehs` (difficulty 1e13 throughout)."""
    difficulty, heights = 1e13, np.arange(4) * 2016
    days_per_epoch = [2016 * difficulty * 2**32 / (ehs * 1e18) / 86_400
                      for ehs in (before_ehs, before_ehs, now_ehs)]
    start = pd.Timestamp(day0, tz="UTC").timestamp() - elapsed_days * 86_400
    times = start + 86_400 * np.array([-days_per_epoch[0] - days_per_epoch[1], -days_per_epoch[1],
                                       0.0, days_per_epoch[2]])
    return pd.DataFrame({"height": heights, "timestamp": times.round().astype("int64"),
                         "difficulty": np.full(4, difficulty)})


@pytest.mark.parametrize("elapsed_days, expected_ehs", [
    (7.5, 120.0),                        # a week or more into the epoch: its blocks so far
    (2.0, (2.0 * 120 + 5.0 * 100) / 7),  # else the week's rest at the last epoch's pace
])
def test_start_state_hashrate_is_the_last_weeks_pace(elapsed_days, expected_ehs):
    epochs = history_at_paces("2020-01-01", elapsed_days, before_ehs=100.0, now_ehs=120.0)
    state = history.start_state("2020-01-01", epochs)
    assert state["start_epoch_elapsed_days"] == pytest.approx(elapsed_days, abs=1e-5)
    # the height is whole blocks: at most one block's work off the continuous pace
    assert state["start_hashrate_ehs"] == pytest.approx(expected_ehs, rel=2e-3)


def test_start_state_is_the_epoch_in_force_and_the_last_weeks_hashrate():
    epochs = load_difficulty_epochs()
    state = history.start_state("2019-01-01", epochs)
    stamp = pd.Timestamp("2019-01-01", tz="UTC").timestamp()
    row = epochs[epochs["timestamp"] <= stamp].iloc[-1]
    assert state["start_difficulty"] == row["difficulty"]
    assert row["height"] <= state["start_height"] < row["height"] + 2016
    at_600s = row["difficulty"] * 2**32 / 600 / 1e18
    assert state["start_hashrate_ehs"] == pytest.approx(at_600s, rel=0.25)
    with pytest.raises(UserError, match="--start=2030-01-01"):
        history.start_state("2030-01-01", epochs)


def test_start_state_counts_the_time_since_the_epochs_first_block_from_the_history():
    # the shipped epochs: block 391,104 opened an epoch at 1451558562 (2015-12-31 10:42:42
    # UTC), 13 h 17 min 18 s before 2016-01-01 00:00 UTC (1451606400)
    state = history.start_state("2016-01-01")
    assert state["start_epoch_elapsed_days"] == (1_451_606_400 - 1_451_558_562) / 86_400
    assert 391_104 < state["start_height"] < 391_104 + 2016
    assert type(state["start_epoch_elapsed_days"]) is float  # its repr is a Hydra override


@pytest.mark.parametrize("option", ["reference", "economic"])
def test_the_start_state_reaches_the_network_through_the_overrides(option):
    state = history.start_state("2020-01-01")
    cfg = compose([f"market/network={option}",
                   *(f"market.network.{key}={value!r}" for key, value in state.items())])
    network = instantiate(cfg.market.network, "market.network")
    assert {key: getattr(network, key) for key in state} == state


def test_a_start_epoch_without_elapsed_time_is_named_with_its_key():
    cfg = compose(["market/network=economic", "market.network.start_height=984000",
                   "market.network.start_epoch_elapsed_days=0.0"])
    with pytest.raises(UserError, match=r"^market\.network\.start_epoch_elapsed_days=0: must be "
                                        r"> 0 when start_height=984000 lies 192 blocks into"):
        instantiate(cfg.market.network, "market.network")


def test_realised_epochs_lie_wholly_inside_the_window():
    real = history.realised_epochs("2020-01-01", 365)
    assert 24 <= len(real) <= 27 and (real["day"] > 0).all() and (real["day"] < 365).all()


def test_realised_hashprice_on_month_starts_from_a_constructed_history():
    day0 = pd.Timestamp("2019-01-01", tz="UTC").timestamp()
    epochs = pd.DataFrame({"height": [0, 2016, 4032], "timestamp": [day0 - 86_400, day0 + 20 * 86_400,
                                                                      day0 + 50 * 86_400],
                           "difficulty": [1e12, 2e12, 2e12]})
    days = pd.date_range("2018-12-31", "2019-02-01")  # every day's close: none is made up
    closes = pd.Series(np.where(days < "2019-01-31", 4000.0, 5000.0), index=days)
    months = history.realised_hashprice("2019-01-01", 60, closes, 0.5, epochs)
    assert list(months["day"]) == [0, 31]  # March 1st lies beyond the history's last epoch
    # 86,400 s · 1e15 H/s per PH/s · (50 + 0.5) BTC · price / (D · 2^32)
    expected = [8.64e19 * 50.5 * 4000 / (1e12 * 2**32), 8.64e19 * 50.5 * 5000 / (2e12 * 2**32)]
    assert months["hashprice"].to_numpy() == pytest.approx(expected)


def test_a_fitted_gbm_is_the_closed_form_of_the_returns_before_the_start_only(tmp_path):
    btc, rows = alternating_file(tmp_path, before=0.03, after=0.25)
    closes = read_btc_csv(btc)
    fitted, errors = history.fitted_btc(closes, "2019-01-01", "gbm", str(btc))
    n = int((pd.to_datetime(rows["date"]) < "2019-01-01").sum()) - 1  # returns before the start
    assert fitted.keys() == {"drift_per_year", "volatility_per_year"}  # no start_usd: the start's
    expected = alternating_gbm(0.03, n)
    for key, value in expected.items():
        assert fitted[key] == pytest.approx(value, rel=1e-9), key
    # the MLE's standard error of a normal's sd: sigma / sqrt(2n)
    assert errors["volatility_per_year"] == pytest.approx(
        expected["volatility_per_year"] / np.sqrt(2 * n), rel=1e-9)


def test_realised_hashprice_refuses_a_month_start_without_its_close():
    closes = pd.Series(4000.0, index=pd.date_range("2018-12-31", "2019-01-31"))
    with pytest.raises(UserError, match=r"^--btc=btc\.csv: covers 2018-12-31 to 2019-01-31; the "
                                        r"backtest from 2019-01-01 needs every close from "
                                        r"2019-01-01 to 2019-03-01"):
        history.realised_hashprice("2019-01-01", 70, closes, 0.5)
