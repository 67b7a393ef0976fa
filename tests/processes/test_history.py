"""History-driven processes: block bootstraps of BTC, power and the real difficulty epochs."""

from types import MappingProxyType

import numpy as np
import pandas as pd
import pytest

import sim
from history_files import HISTORY
from sim.calibrate.btc import check_closes
from sim.config_objects import build_processes
from sim.errors import UserError
from sim.processes.history import (BootstrapBTC, BootstrapNetwork, HistoryPower, block_indices,
                                   epoch_log_changes, read_epochs)
from sim.processes.network import load_difficulty_epochs
from sim.processes.series import BTC_CLOSE_COLUMNS, read_daily
from sim.world import day_grid, rng_for

BTC_FILE = str(HISTORY / "btc_daily.csv")
POWER_FILE = str(HISTORY / "power_daily.csv")


def grid(years=3, start="2027-01-01"):
    day, date = day_grid(start, years)
    return day, MappingProxyType({"day": day, "date": date, "btc_usd": np.full(len(day), 9e4)})


@pytest.mark.parametrize("method", ["moving", "stationary"])
def test_blocks_are_runs_of_consecutive_items(method):
    picks = block_indices(5000, 300, 20, method, np.random.default_rng(1))
    assert picks.min() >= 0 and picks.max() < 300
    starts = np.flatnonzero(np.diff(picks) != 1) + 1  # where a new block begins
    lengths = np.diff(np.r_[0, starts, len(picks)])
    if method == "moving":
        assert set(lengths[:-1]) <= {20, 40, 60}  # whole blocks (two may happen to join)
    else:
        assert 15 < lengths.mean() < 25  # geometric, mean 20 (runs over the wrap count once)


def test_btc_bootstrap_resamples_the_historys_returns():
    history = np.diff(np.log(pd.read_csv(BTC_FILE)["close_usd"].to_numpy()))
    process = BootstrapBTC(file=BTC_FILE, start_usd=None)
    day, upstream = grid(years=30)
    path = process.sample(day, rng_for(1, 0, "btc"), upstream)["btc_usd"]
    returns = np.diff(np.log(path))
    assert path[0] == pytest.approx(pd.read_csv(BTC_FILE)["close_usd"].iloc[-1])
    assert np.isin(np.round(returns, 9), np.round(history, 9)).all()
    n_blocks = len(returns) / process.block_days
    assert abs(returns.mean() - history.mean()) < 4 * history.std() / np.sqrt(n_blocks)
    assert returns.var() == pytest.approx(history.var(), rel=4 * np.sqrt(2 / n_blocks))
    again = process.sample(day, rng_for(1, 0, "btc"), upstream)["btc_usd"]
    assert np.array_equal(path, again)  # common random numbers: same seed, same path


def test_btc_bootstrap_until_reads_the_history_up_to_that_date_only(tmp_path):
    closes = pd.read_csv(BTC_FILE)
    process = BootstrapBTC(file=BTC_FILE, start_usd=None, until=closes["date"].iloc[400])
    assert len(process._log_returns) == 400
    assert process.start_price_usd() == pytest.approx(closes["close_usd"].iloc[400])
    with pytest.raises(UserError) as err:
        BootstrapBTC(file=BTC_FILE, until=closes["date"].iloc[10])
    assert str(err.value) == (f"until='{closes['date'].iloc[10]}': 11 closes of "
                              f"file={BTC_FILE!r} up to that date; the bootstrap needs at least "
                              "366 (a year of daily returns)")


def write_closes(path, n_closes: int) -> str:
    """Write `n_closes` daily closes (rising, not all returns equal) from 2013-01-01 to
    `path`; return its name."""
    days, n = pd.date_range("2013-01-01", periods=n_closes), np.arange(n_closes)
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                  "close_usd": 13.0 * 1.01 ** n * np.exp(0.1 * np.sin(n))}).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("n_closes", [1, 100, 365, 366])
def test_btc_bootstrap_needs_the_year_of_closes_that_calibrate_needs(tmp_path, n_closes):
    """Before: 100 closes (more than block_days=30) were bootstrapped, and a year of
    2013's first 100 days gave a 100 MW site a mean NPV of $89,530.7M; hashpivot-calibrate
    --btc refused the same file (366 closes needed)."""
    path = write_closes(tmp_path / "short.csv", n_closes)
    try:
        check_closes(read_daily(path, BTC_CLOSE_COLUMNS))  # hashpivot-calibrate --btc's check
    except UserError:
        with pytest.raises(UserError) as err:
            BootstrapBTC(file=path)
        assert str(err.value) == (f"file={path!r}: {n_closes} close{'s' * (n_closes != 1)}; the "
                                  "bootstrap needs at least 366 (a year of daily returns)")
    else:
        assert len(BootstrapBTC(file=path)._log_returns) == n_closes - 1


def test_btc_bootstrap_needs_more_closes_than_a_block(tmp_path):
    path = write_closes(tmp_path / "btc.csv", 400)
    assert BootstrapBTC(file=path, block_days=399).block_days == 399
    with pytest.raises(UserError, match=r"^file=.*: 400 closes; the bootstrap needs more than "
                                        r"block_days=400$"):
        BootstrapBTC(file=path, block_days=400)


def test_a_short_btc_history_is_one_line_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_closes(tmp_path / "short.csv", 100)
    with pytest.raises(UserError) as err:
        build_processes(sim.compose(["market/btc=bootstrap", "market.btc.file=short.csv"]))
    assert str(err.value) == ("market.btc.file='short.csv': 100 closes; the bootstrap needs at "
                              "least 366 (a year of daily returns)")
    write_closes(tmp_path / "long.csv", 500)
    with pytest.raises(UserError) as err:
        build_processes(sim.compose(["market/btc=bootstrap", "market.btc.file=long.csv",
                                     "market.btc.until=2013-04-10"]))
    assert str(err.value) == ("market.btc.until='2013-04-10': 100 closes of file='long.csv' up "
                              "to that date; the bootstrap needs at least 366 (a year of daily "
                              "returns)")


def test_btc_bootstrap_expected_path_grows_at_the_mean_gross_return():
    process = BootstrapBTC(file=BTC_FILE, start_usd=100.0)
    day, upstream = grid()
    growth = np.mean(np.exp(process._log_returns))
    path = process.sample(day, None, upstream)["btc_usd"]
    assert path[365] == pytest.approx(100.0 * growth ** 365)


def test_a_missing_or_bad_file_is_one_line_naming_the_key(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        build_processes(sim.compose(["market/btc=bootstrap", "market.btc.file=nope.csv"]))
    assert str(err.value) == "market.btc.file='nope.csv': nope.csv: no such file"
    (tmp_path / "mine.csv").write_text("date,close_usd\n2024-01-01,5\n2024-01-02,-5\n")
    with pytest.raises(UserError, match=r"^market\.btc\.file='mine\.csv': mine\.csv: row 3, "
                                        r"column close_usd: '-5' is not a positive price$"):
        build_processes(sim.compose(["market/btc=bootstrap", "market.btc.file=mine.csv"]))


def test_a_relative_file_resolves_against_the_working_directory(monkeypatch):
    monkeypatch.chdir(HISTORY)
    processes = build_processes(sim.compose(["market/btc=bootstrap", "market/power=history"]))
    assert isinstance(processes["btc"], BootstrapBTC)
    assert isinstance(processes["power"], HistoryPower)


def test_power_replay_follows_the_calendar():
    history = pd.read_csv(POWER_FILE, parse_dates=["date"])
    process = HistoryPower(file=POWER_FILE, mode="replay")
    day, upstream = grid(years=4, start="2027-03-10")
    path = process.sample(day, None, upstream)["power_usd_per_mwh"]
    first = history.index[history["date"] == "2020-03-10"][0]
    assert path[0] == history["usd_per_mwh"].iloc[first]
    assert np.array_equal(path[:365], history["usd_per_mwh"].to_numpy()[first:first + 365])
    assert np.array_equal(path[730:740], path[:10])  # wraps after its two whole years


def test_power_bootstrap_takes_blocks_at_the_same_calendar_days():
    history = pd.read_csv(POWER_FILE, parse_dates=["date"])
    prices = history["usd_per_mwh"].to_numpy()
    process = HistoryPower(file=POWER_FILE, block_days=30)
    day, upstream = grid(years=3)
    path = process.sample(day, rng_for(3, 0, "power"), upstream)["power_usd_per_mwh"]
    dates = pd.DatetimeIndex(upstream["date"])
    for start in range(0, len(day) - 30, 30):
        block = path[start:start + 30]
        match = [j for j in np.flatnonzero(history["date"].dt.strftime("%m-%d")
                                           == dates[start].strftime("%m-%d"))
                 if np.array_equal(prices[j:j + 30], block)]
        assert match, start
    assert np.array_equal(path, process.sample(day, rng_for(3, 0, "power"), upstream)["power_usd_per_mwh"])


def test_network_bootstrap_reproduces_the_historys_log_changes():
    process = BootstrapNetwork()
    history = process.log_changes()
    assert np.array_equal(history, epoch_log_changes(load_difficulty_epochs(), "2016-01-01"))
    day, upstream = grid(years=10)
    changes = []
    for replication in range(12):
        out = process.sample(day, rng_for(7, replication, "network"), upstream)
        table = out["epochs"]
        steps = np.diff(np.log(table["difficulty"].to_numpy()))
        assert np.isin(np.round(steps, 9), np.round(history, 9)).all()
        assert table["start_height"].iloc[0] == 984_000 - 984_000 % 2016
        assert np.array_equal(out["difficulty"][table["start_day"].to_numpy()[1:]],
                              table["difficulty"].to_numpy()[1:])
        changes.append(steps)
    pooled = np.concatenate(changes)
    n_blocks = len(pooled) / process.block_epochs
    assert abs(pooled.mean() - history.mean()) < 4 * history.std() / np.sqrt(n_blocks)
    assert pooled.var() == pytest.approx(history.var(), rel=4 * np.sqrt(2 / n_blocks))


def test_network_bootstrap_epoch_lengths_follow_the_retarget_rule():
    process = BootstrapNetwork(since="2020-01-01")
    day, upstream = grid(years=2)
    out = process.sample(day, None, upstream)
    mean_change = process.log_changes().mean()
    table = out["epochs"]
    assert np.allclose(np.diff(np.log(table["difficulty"])), mean_change)
    days = np.diff(table["start_day"].to_numpy()[1:])
    assert abs(days.mean() - 14 * np.exp(-mean_change)) < 0.1
    assert np.allclose(out["network_hashrate_ehs"][0],
                       1.6e14 * 2 ** 32 / (600 * np.exp(-mean_change)) / 1e18)


def test_network_bootstrap_until_resamples_only_the_retargets_known_by_then():
    epochs = load_difficulty_epochs()
    retarget_day = pd.to_datetime(epochs["timestamp"].to_numpy()[1:], unit="s").normalize()
    everything = epoch_log_changes(epochs, "2016-01-01")
    for until in ("2018-06-30", "2021-01-01"):
        process = BootstrapNetwork(until=until)
        began = pd.to_datetime(epochs["timestamp"].to_numpy()[:-1], unit="s")
        known = (began >= pd.Timestamp("2016-01-01")) & (retarget_day <= pd.Timestamp(until))
        expected = np.diff(np.log(epochs["difficulty"].to_numpy()))[known]
        assert np.array_equal(process.log_changes(), expected)
        assert np.array_equal(expected, everything[:len(expected)])  # a prefix of the whole
    day, upstream = grid(years=5)
    history = BootstrapNetwork(until="2018-06-30").log_changes()
    steps = np.diff(np.log(BootstrapNetwork(until="2018-06-30").sample(
        day, rng_for(7, 0, "network"), upstream)["epochs"]["difficulty"].to_numpy()))
    assert np.isin(np.round(steps, 9), np.round(history, 9)).all()
    with pytest.raises(UserError, match=r"^since='2016-01-01': 0 retargets after it and up to "
                                        r"until='2015-12-31'; needs at least block_epochs=13$"):
        BootstrapNetwork(until="2015-12-31")


def test_a_custom_epochs_file_is_checked(tmp_path):
    path = tmp_path / "epochs.csv"
    path.write_text("height,timestamp,difficulty\n0,1000,5\n2016,2000,6\n4000,3000,7\n")
    with pytest.raises(UserError, match=r"epochs\.csv: row 4, column height: not 2016 blocks"):
        read_epochs(str(path))
    path.write_text("height,timestamp,difficulty\n0,1000,5\n2016,900,6\n")
    with pytest.raises(UserError, match=r"epochs\.csv: row 3, column timestamp: not later"):
        read_epochs(str(path))
    path.write_text("height,timestamp,difficulty\n0,1000,5\n2016,2000,0\n")
    with pytest.raises(UserError, match=r"epochs\.csv: row 3, column difficulty: '?0'? is not a valid"):
        read_epochs(str(path))
    with pytest.raises(UserError, match=r"^file='.*nope.csv': .*nope.csv: no such file$"):
        BootstrapNetwork(file=str(tmp_path / "nope.csv"))
