"""hashpivot-backtest: the coverage arithmetic on constructed cases, the start state from
the shipped epochs, the BTC file's checks, and the command end to end on a tiny file."""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import backtest
from sim.config import compose, instantiate
from sim.errors import UserError
from sim.processes.network import load_difficulty_epochs
from sim.processes.network_economic import EconomicNetwork
from sim.world import rng_for

REAL_BTC = Path("/work/shared/data/btc_daily.csv")


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
    state = backtest.start_state("2020-01-01", epochs)
    assert state["start_epoch_elapsed_days"] == pytest.approx(elapsed_days, abs=1e-5)
    # the height is whole blocks: at most one block's work off the continuous pace
    assert state["start_hashrate_ehs"] == pytest.approx(expected_ehs, rel=2e-3)


def test_start_state_is_the_epoch_in_force_and_the_last_weeks_hashrate():
    epochs = load_difficulty_epochs()
    state = backtest.start_state("2019-01-01", epochs)
    stamp = pd.Timestamp("2019-01-01", tz="UTC").timestamp()
    row = epochs[epochs["timestamp"] <= stamp].iloc[-1]
    assert state["start_difficulty"] == row["difficulty"]
    assert row["height"] <= state["start_height"] < row["height"] + 2016
    at_600s = row["difficulty"] * 2**32 / 600 / 1e18
    assert state["start_hashrate_ehs"] == pytest.approx(at_600s, rel=0.25)
    with pytest.raises(UserError, match="--start=2030-01-01"):
        backtest.start_state("2030-01-01", epochs)


def test_start_state_counts_the_time_since_the_epochs_first_block_from_the_history():
    # the shipped epochs: block 391,104 opened an epoch at 1451558562 (2015-12-31 10:42:42
    # UTC), 13 h 17 min 18 s before 2016-01-01 00:00 UTC (1451606400)
    state = backtest.start_state("2016-01-01")
    assert state["start_epoch_elapsed_days"] == (1_451_606_400 - 1_451_558_562) / 86_400
    assert 391_104 < state["start_height"] < 391_104 + 2016
    assert type(state["start_epoch_elapsed_days"]) is float  # its repr is a Hydra override


@pytest.mark.parametrize("option", ["reference", "economic"])
def test_the_start_state_reaches_the_network_through_the_overrides(option):
    state = backtest.start_state("2020-01-01")
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
    real = backtest.realised_epochs("2020-01-01", 365)
    assert 24 <= len(real) <= 27 and (real["day"] > 0).all() and (real["day"] < 365).all()


def test_realised_hashprice_on_month_starts_from_a_constructed_history():
    day0 = pd.Timestamp("2019-01-01", tz="UTC").timestamp()
    epochs = pd.DataFrame({"height": [0, 2016, 4032], "timestamp": [day0 - 86_400, day0 + 20 * 86_400,
                                                                      day0 + 50 * 86_400],
                           "difficulty": [1e12, 2e12, 2e12]})
    days = pd.date_range("2018-12-31", "2019-02-01")  # every day's close: none is made up
    closes = pd.Series(np.where(days < "2019-01-31", 4000.0, 5000.0), index=days)
    months = backtest.realised_hashprice("2019-01-01", 60, closes, 0.5, epochs)
    assert list(months["day"]) == [0, 31]  # March 1st lies beyond the history's last epoch
    # 86,400 s · 1e15 H/s per PH/s · (50 + 0.5) BTC · price / (D · 2^32)
    expected = [8.64e19 * 50.5 * 4000 / (1e12 * 2**32), 8.64e19 * 50.5 * 5000 / (2e12 * 2**32)]
    assert months["hashprice"].to_numpy() == pytest.approx(expected)


def test_the_command_runs_end_to_end_on_a_tiny_file(tmp_path, capsys):
    days = pd.date_range("2018-12-25", "2019-04-30")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                  "close": np.linspace(3800, 5000, len(days))}).to_csv(btc, index=False)
    out = tmp_path / "out"
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                          "--replications", "4", "--replay-btc", "--network", "economic",
                          "--out", str(out)])
    assert code == 0
    table = pd.read_csv(out / "coverage.csv")
    assert list(table["start"]) == ["2019-01-01"] and table["epochs"].item() >= 5
    assert 0 <= table["inside_p5_p95"].item() <= 1
    null = table.filter(regex="^(calibrated|rank)_").iloc[0]
    assert len(null) == 6 and ((0 <= null) & (null <= 1)).all()
    monthly_null = table.filter(regex="^hashprice_(calibrated|rank)_").iloc[0]
    assert len(monthly_null) == 6 and ((0 <= monthly_null) & (monthly_null <= 1)).all()
    assert (out / "bands_economic_2019-01-01.png").stat().st_size > 1000
    assert len(pd.read_csv(out / "epochs.csv")) == table["epochs"].item()
    # February, March and April 1st: day 0's hashprice is every world's start, not a forecast
    assert table["months"].item() == 3 and 0 <= table["hashprice_inside_p5_p95"].item() <= 1
    months = pd.read_csv(out / "hashprice.csv")
    assert list(months["date"]) == ["2019-02-01", "2019-03-01", "2019-04-01"]
    assert ((months["p5"] <= months["p50"]) & (months["p50"] <= months["p95"])).all()
    pit = pd.read_csv(out / "pit.csv")
    assert pit["share"].sum() == pytest.approx(1) and pit["hashprice_share"].sum() == pytest.approx(1)
    assert "inside_p5_p95" in capsys.readouterr().out



def test_a_file_that_fails_to_write_is_left_out_whole_not_half_written(tmp_path, capsys,
                                                                      monkeypatch):
    """Each output appears whole or not at all: a write that breaks off (a full disk)
    leaves neither a partial file nor its temporary."""
    real = pd.DataFrame.to_csv

    def breaks_on_epochs(frame, path, *args, **kwargs):
        real(frame, path, *args, **kwargs)
        if "epochs.csv" in str(path):
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", breaks_on_epochs)
    code, _, err = run_on_flat_file(tmp_path, capsys, "--replay-btc")
    out = tmp_path / "out"
    assert code == 2 and err == (f"hashpivot-backtest: error: --out={out}: No space left on "
                                 "device; nothing was written (its earlier files are as they were)")
    assert not out.exists()  # the run made it; the set of outputs is written whole or not at all

def test_a_bootstrapped_btc_draws_only_on_returns_before_the_start(tmp_path):
    days = pd.date_range("2017-12-01", "2019-06-30")  # a year and a month before the start
    after = days >= "2019-01-01"  # before the start the price rises 0.1% a day, after it falls 5%
    log_close = np.cumsum(np.where(after, -0.05, 0.001))
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                  "close_usd": 1000 * np.exp(log_close)}).to_csv(btc, index=False)
    cfg = compose(["market/btc=bootstrap", "market.btc.start_usd=100.0"])
    backtest.history_only_before(cfg.market.btc, "2019-01-01", str(btc))
    assert cfg.market.btc.until == "2018-12-31" and cfg.market.btc.file == str(btc)
    process = instantiate(cfg.market.btc, "market.btc")
    path = process.sample(np.arange(500), rng_for(7, 0, "btc"), {})["btc_usd"]
    np.testing.assert_allclose(np.diff(np.log(path)), 0.001, rtol=1e-9)
    gbm = compose(["market/btc=gbm"])
    backtest.history_only_before(gbm.market.btc, "2019-01-01", str(btc))
    assert "until" not in gbm.market.btc and "file" not in gbm.market.btc


def run_on_flat_file(tmp_path, capsys, *options, column="close", first="2018-01-01",
                     dates="%Y-%m-%d") -> tuple[int, Path, str]:
    """Run the command on a flat BTC file from `first` to 2019-06-30 (its close column named
    `column`, its dates written as `dates`) with `options`; return (exit code, the file,
    what it printed on stderr)."""
    days = pd.date_range(first, "2019-06-30")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime(dates), column: 4000.0}).to_csv(btc, index=False)
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                          "--replications", "2", *options, "--out", str(tmp_path / "out")])
    return code, btc, capsys.readouterr().err.strip()


def refused(tmp_path, capsys, *options) -> tuple[Path, str]:
    """Assert that `run_on_flat_file` exits 2 with one line and writes nothing, and return
    (the file, that line)."""
    code, btc, err = run_on_flat_file(tmp_path, capsys, *options)
    assert code == 2 and err.count("\n") == 0 and not (tmp_path / "out").exists()
    return btc, err


@pytest.mark.parametrize("column", ["close", "close_usd"])
def test_a_bootstrap_reads_the_close_column_as_the_replay_does(tmp_path, capsys, column):
    code, _, err = run_on_flat_file(tmp_path, capsys, "--btc-model", "bootstrap", column=column,
                                    first="2017-12-31")  # a year of closes before the start
    assert code == 0 and err == ""
    assert len(pd.read_csv(tmp_path / "out" / "coverage.csv")) == 1


def test_a_bootstrap_of_under_a_year_before_the_start_is_refused_in_one_line(tmp_path, capsys):
    """Before: the 365 closes of 2018 were bootstrapped (market/btc=bootstrap needed more
    than block_days=30); hashpivot-calibrate --btc and --fit-btc need 366."""
    btc, err = refused(tmp_path, capsys, "--btc-model", "bootstrap")
    assert err == (f"hashpivot-backtest: error: --btc={btc}: 365 closes before 2019-01-01; "
                   "--btc-model bootstrap needs at least 366 (a year of daily returns) before "
                   "each start")


@pytest.mark.parametrize("dates", ["%Y-%m-%d 00:00+00:00", "%Y-%m-%dT00:00:00Z"])
def test_dates_with_a_utc_offset_are_read_as_calibrate_reads_them(tmp_path, capsys, dates):
    """Before: '2018-01-01 00:00+00:00' was 'not a date YYYY-MM-DD' to the backtest, though
    hashpivot-calibrate --btc and market/btc=bootstrap read it."""
    code, _, err = run_on_flat_file(tmp_path, capsys, "--replay-btc", dates=dates)
    assert code == 0, err


@pytest.mark.parametrize("model", ["jump", "gbm", "bootstrap"])
def test_a_btc_model_with_replay_btc_is_refused_in_one_line(tmp_path, capsys, model):
    """Before: --btc-model was ignored, and the output said 'realised BTC' only."""
    _, err = refused(tmp_path, capsys, "--replay-btc", "--btc-model", model)
    assert err == (f"hashpivot-backtest: error: --btc-model={model}: the BTC the worlds sample, "
                   "so not with --replay-btc (every world replays the realised path)")


@dataclass
class TaggedNetwork(EconomicNetwork):
    """A user's plug-in network: the economic one with an extra argument."""

    tag: int = 0


def test_a_plug_ins_extra_argument_is_set_as_the_advice_says(tmp_path, capsys, built):
    """Before: the advice for an unknown key was '+market.network.tag=...', and --set +tag=7
    failed with a lexer error (market.network.+tag=7)."""
    plugin = f"_target_={__name__}.TaggedNetwork"
    _, err = refused(tmp_path, capsys, "--replay-btc", "--set", plugin, "--set", "tag=7")
    assert err == ("hashpivot-backtest: error: --set=tag=7: market/network=economic has no key "
                   "tag (check the spelling; a plug-in's extra argument takes --set +tag=...)")
    code, _, err = run_on_flat_file(tmp_path, capsys, "--replay-btc", "--set", plugin,
                                    "--set", "+tag=7")
    assert code == 0, err
    assert [process.tag for process in built if isinstance(process, TaggedNetwork)] == [7]


def test_a_plus_on_a_key_the_option_has_is_refused_naming_the_set(tmp_path, capsys):
    _, err = refused(tmp_path, capsys, "--replay-btc", "--set", "+power_log_sd=0.6")
    assert err == ("hashpivot-backtest: error: --set=+power_log_sd=0.6: market/network=economic "
                   "has power_log_sd already; set it with --set power_log_sd=0.6 (+ adds a key "
                   "it lacks)")


def test_the_command_refuses_a_file_that_does_not_cover_the_window(tmp_path, capsys):
    btc = tmp_path / "btc.csv"
    btc.write_text("date,close\n2019-01-01,3800\n2019-01-02,3900\n")
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "1",
                          "--replications", "2", "--replay-btc", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith(f"hashpivot-backtest: error: --btc={btc}: covers 2019-01-01 to 2019-01-02")


def test_help_explains_the_command(capsys):
    with pytest.raises(SystemExit) as done:
        backtest.main(["--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0 and "--replay-btc" in text and "P5–P95" in text


def test_a_network_that_cannot_take_the_start_state_is_one_line_and_writes_nothing(
        tmp_path, capsys, monkeypatch):
    # no shipped option lacks start_height or start_difficulty: ask for a key bootstrap lacks
    monkeypatch.setattr(backtest, "REQUIRED_STATE", ("start_height", "start_hashrate_ehs"))
    _, err = refused(tmp_path, capsys, "--replay-btc", "--network", "bootstrap")
    assert err == ("hashpivot-backtest: error: --network=bootstrap: the option has no "
                   "start_hashrate_ehs, which the backtest sets from the history on each start date")


def test_a_bootstrapped_network_draws_only_on_retargets_before_the_start(built):
    """market/network=bootstrap takes the day-0 keys it has, and `until` the day before the
    start, so that no world resamples a retarget from after it."""
    closes = pd.Series(4000.0, index=pd.date_range("2018-06-01", "2019-06-30"))
    paths, _, _ = backtest.simulate("2019-01-01", 0.25, 2, 1, "bootstrap", [], closes, True,
                                    "gbm", "btc.csv")
    network = built[0]
    state = backtest.start_state("2019-01-01")
    assert network.until == "2018-12-31"
    assert (network.start_height, network.start_difficulty) == (state["start_height"],
                                                                 state["start_difficulty"])
    epochs = load_difficulty_epochs()
    before = epochs["timestamp"].to_numpy()[1:] < backtest._unix("2019-01-01")
    began = epochs["timestamp"].to_numpy()[:-1] >= backtest._unix("2016-01-01")
    known = np.diff(np.log(epochs["difficulty"].to_numpy()))[before & began]
    assert np.array_equal(network.log_changes(), known)
    assert paths[:, 0].tolist() == [state["start_difficulty"]] * 2


def alternating_file(tmp_path, before: float, after: float, start="2019-01-01",
                     first="2017-01-01", skip=None) -> tuple[Path, pd.DataFrame]:
    """Write a BTC file from `first` to 2019-06-30 (without the day `skip`) whose daily log
    returns alternate +x, -x, +x, ... with x = `before` until `start` and `after` from it;
    return the file and its rows."""
    days = pd.date_range(first, "2019-06-30")
    days = days[days != pd.Timestamp(skip)] if skip else days
    size = np.where(days[1:] < pd.Timestamp(start), before, after)
    sign = np.where(np.arange(len(size)) % 2 == 0, 1.0, -1.0)
    log_close = np.concatenate([[0.0], np.cumsum(sign * size)])
    rows = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 4000 * np.exp(log_close)})
    btc = tmp_path / "btc.csv"
    rows.to_csv(btc, index=False)
    return btc, rows


def alternating_gbm(x: float, n: int) -> dict:
    """Return the GBM maximum likelihood estimate of n daily log returns +x, -x, +x, ...
    in closed form: their mean is x/n for odd n (one +x unmatched), else 0, and their
    variance x² minus the mean's square; per year, dt = 1/365.25."""
    mean = x / n if n % 2 else 0.0
    sigma = np.sqrt((x ** 2 - mean ** 2) * 365.25)
    return {"drift_per_year": mean * 365.25 + sigma ** 2 / 2, "volatility_per_year": sigma}


def test_a_fitted_gbm_is_the_closed_form_of_the_returns_before_the_start_only(tmp_path):
    btc, rows = alternating_file(tmp_path, before=0.03, after=0.25)
    closes = backtest.read_btc_csv(btc)
    fitted, errors = backtest.fitted_btc(closes, "2019-01-01", "gbm", str(btc))
    n = int((pd.to_datetime(rows["date"]) < "2019-01-01").sum()) - 1  # returns before the start
    assert fitted.keys() == {"drift_per_year", "volatility_per_year"}  # no start_usd: the start's
    expected = alternating_gbm(0.03, n)
    for key, value in expected.items():
        assert fitted[key] == pytest.approx(value, rel=1e-9), key
    # the MLE's standard error of a normal's sd: sigma / sqrt(2n)
    assert errors["volatility_per_year"] == pytest.approx(
        expected["volatility_per_year"] / np.sqrt(2 * n), rel=1e-9)


@pytest.fixture
def built(monkeypatch) -> list:
    """Return the list that every process the backtest instantiates is appended to."""
    made, original = [], backtest.instantiate
    monkeypatch.setattr(backtest, "instantiate",
                        lambda node, where: made.append(original(node, where)) or made[-1])
    return made


def test_the_command_samples_btc_from_the_gbm_fitted_before_each_start(tmp_path, capsys, built):
    btc, rows = alternating_file(tmp_path, before=0.02, after=0.25)
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                          "--replications", "2", "--fit-btc", "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    n = int((pd.to_datetime(rows["date"]) < "2019-01-01").sum()) - 1
    fitted, errors = backtest.fitted_btc(backtest.read_btc_csv(btc), "2019-01-01", "gbm",
                                         str(btc))
    table = pd.read_csv(tmp_path / "out" / "coverage.csv")
    for key, error in errors.items():
        assert table[f"btc_{key}_se"].item() == error
    gbm = next(p for p in built if type(p).__name__ == "GBM")
    for key, value in alternating_gbm(0.02, n).items():
        assert table[f"btc_{key}"].item() == fitted[key] == pytest.approx(value, rel=1e-9)
        assert getattr(gbm, key) == fitted[key]  # the override carries the fit exactly
    assert gbm.start_usd == rows.loc[rows["date"] == "2019-01-01", "close"].item()
    assert "fitted on the closes before each start" in capsys.readouterr().out


def test_a_fitted_jump_diffusion_reaches_the_sampled_option(tmp_path, built):
    btc, _ = alternating_file(tmp_path, before=0.02, after=0.25)
    closes = backtest.read_btc_csv(btc)
    fitted, _ = backtest.fitted_btc(closes, "2019-01-01", "jump", str(btc))
    assert {"jumps_per_year", "jump_log_sd", "compensated"} <= fitted.keys()
    backtest.simulate("2019-01-01", 0.1, 2, 1, "economic", [], closes, False, "jump", str(btc),
                      fitted)
    jump = next(p for p in built if type(p).__name__ == "JumpDiffusion")
    for key, value in fitted.items():
        assert getattr(jump, key) == value, key


@pytest.mark.parametrize("options, why", [
    (("--fit-btc", "--replay-btc"), "not with --replay-btc"),
    (("--fit-btc", "--btc-model", "bootstrap"), "not with --btc-model bootstrap"),
])
def test_fit_btc_without_a_sampled_model_to_fit_is_refused_in_one_line(tmp_path, capsys,
                                                                      options, why):
    _, err = refused(tmp_path, capsys, *options)
    assert err == ("hashpivot-backtest: error: --fit-btc: fits --btc-model gbm or jump, the BTC "
                   f"the worlds sample, so {why}")


def test_fit_btc_with_under_a_year_before_the_start_is_refused_in_one_line(tmp_path, capsys):
    btc, err = refused(tmp_path, capsys, "--fit-btc")  # the flat file: 2018 only before 2019
    assert err == (f"hashpivot-backtest: error: --btc={btc}: 365 closes before 2019-01-01; "
                   "--fit-btc needs at least 366 (a year of daily returns) before each start")


def test_a_gap_before_the_start_is_named_by_row_when_fitting(tmp_path, capsys):
    btc, rows = alternating_file(tmp_path, before=0.02, after=0.02, skip="2017-06-10")
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                          "--replications", "2", "--fit-btc", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    row = int(np.flatnonzero(rows["date"] == "2017-06-11")[0]) + 2  # after the header row
    assert code == 2 and not (tmp_path / "out").exists()
    assert err == (f"hashpivot-backtest: error: --btc={btc}: row {row}, column date: gap: no "
                   "close from 2017-06-09 to 2017-06-11; --fit-btc fits daily returns")


@pytest.mark.parametrize("options, line", [
    (("--seed", "-5"), "--seed=-5: must be >= 0 (the root of the random streams)"),
    (("--years", "nan"), "--years=nan: must be > 0 and at most 20 (the shipped history spans "
                         "2009-2025)"),
    (("--years", "inf"), "--years=inf: must be > 0 and at most 20"),
    (("--years", "0"), "--years=0: must be > 0"),
    (("--replications", "1"), "--replications=1: must be >= 2 (for bands)"),
    (("--years", "0.001"), "--start=2019-01-01 --years=0.001: no real epoch lies wholly "
                           "within the window, nothing to score (the shipped difficulty "
                           "history covers 2009-01-03 to 2025-11-27)"),
    (("--start", "2005-01-01"), "--start=2005-01-01 --years=0.25: no real epoch"),
    (("--start", "2025-11-20"), "--start=2025-11-20 --years=0.25: no real epoch"),
    (("--start", "2019-01-01", "2018-07-01", "2019-01-01"),
     "--start: 2019-01-01 given twice; each date is scored once"),
])
def test_bad_numbers_are_refused_in_one_line_naming_the_flag(tmp_path, capsys, options, line):
    _, err = refused(tmp_path, capsys, *options)  # the later flag wins over run_on_flat_file's
    assert err.startswith(f"hashpivot-backtest: error: {line}")


def test_a_window_with_epochs_but_no_month_start_scores_them_and_plots(tmp_path, capsys):
    days = pd.date_range("2025-10-01", "2025-12-31")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 100_000.0}).to_csv(btc, index=False)
    out = tmp_path / "out"  # 26 days from 2025-11-02: the epoch of 11-12 to 11-27, no 1st
    code = backtest.main(["--btc", str(btc), "--start", "2025-11-02", "--years", "0.07",
                          "--replications", "3", "--replay-btc", "--out", str(out)])
    assert code == 0 and capsys.readouterr().err == ""
    table = pd.read_csv(out / "coverage.csv")
    assert table["epochs"].item() == 1 and table["months"].item() == 0
    assert table.filter(regex="^hashprice_").isna().all(axis=None)
    assert (out / "bands_economic_2025-11-02.png").stat().st_size > 1000


def test_an_out_that_cannot_be_a_directory_is_refused_before_the_work(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("a file")
    btc = tmp_path / "btc.csv"
    btc.write_text("date,close\n2019-01-01,3800\n")  # too short to run: the check comes first
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--replay-btc",
                          "--out", str(taken)])
    err = capsys.readouterr().err
    assert code == 2 and err == (f"hashpivot-backtest: error: --out={taken}: exists and is not "
                                 "a directory\n")
    assert taken.read_text() == "a file"


def test_the_state_keys_are_those_the_start_state_sets():
    assert set(backtest.start_state("2019-01-01")) == set(backtest.STATE_KEYS)


@pytest.mark.parametrize("key", backtest.STATE_KEYS)
def test_a_set_of_the_start_state_is_refused_in_one_line(tmp_path, capsys, key):
    """Before: --set start_height=5 ran, judging a network at block 5 with 2019's difficulty."""
    _, err = refused(tmp_path, capsys, "--replay-btc", "--set", f"{key}=5")
    assert err == (f"hashpivot-backtest: error: --set={key}=5: the backtest sets {key} from the "
                   "history on each start date (the day's state is what it judges from)")


# --- the closes a backtest reads: every day of what it replays or scores, none made up --------
@pytest.mark.parametrize("options, why", [
    (("--replay-btc",), "2019-01-01 to 2019-04-01 (the realised path it replays)"),
    ((), "2019-01-01 to 2019-04-01 (the span of the month starts whose hashprice it scores)"),
])
def test_a_gap_in_the_window_is_refused_naming_the_missing_days(tmp_path, capsys, options, why):
    """Before: the closes of the day before the gap were carried forward over it."""
    btc, rows = alternating_file(tmp_path, before=0.02, after=0.02, skip="2019-02-10")
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                          "--replications", "2", *options, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    row = int(np.flatnonzero(rows["date"] == "2019-02-11")[0]) + 2  # after the header row
    assert code == 2 and not (tmp_path / "out").exists()
    assert err == (f"hashpivot-backtest: error: --btc={btc}: row {row}, column date: gap: no "
                   f"close from 2019-02-09 to 2019-02-11; the backtest from 2019-01-01 needs "
                   f"every close from {why}")


def test_a_file_that_ends_on_the_start_is_refused_for_the_months_it_scores(tmp_path, capsys):
    """Before: every month was scored against the start's close, carried forward a year."""
    btc = tmp_path / "btc.csv"
    btc.write_text("date,close_usd\n2019-12-31,7000\n2020-01-01,7200\n")
    code = backtest.main(["--btc", str(btc), "--start", "2020-01-01", "--years", "1",
                          "--replications", "2", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not (tmp_path / "out").exists()
    assert err == (f"hashpivot-backtest: error: --btc={btc}: covers 2019-12-31 to 2020-01-01; "
                   "the backtest from 2020-01-01 needs every close from 2020-01-01 to "
                   "2020-12-01 (the span of the month starts whose hashprice it scores)")


def test_every_start_is_checked_before_the_first_world_runs(tmp_path, capsys, monkeypatch):
    btc, _ = alternating_file(tmp_path, before=0.02, after=0.02, first="2018-01-01",
                              skip="2019-02-10")
    monkeypatch.setattr(backtest, "simulate", lambda *args: pytest.fail("a world ran"))
    code = backtest.main(["--btc", str(btc), "--start", "2018-06-01", "2019-01-01",
                          "--years", "0.25", "--replications", "2", "--replay-btc",
                          "--out", str(tmp_path / "out")])
    assert code == 2 and "from 2019-01-01 needs" in capsys.readouterr().err


def test_a_gap_outside_the_window_is_no_concern_of_a_replay(tmp_path, capsys):
    btc, _ = alternating_file(tmp_path, before=0.02, after=0.02, skip="2017-06-10")
    code = backtest.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                          "--replications", "2", "--replay-btc", "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err


def test_realised_hashprice_refuses_a_month_start_without_its_close():
    closes = pd.Series(4000.0, index=pd.date_range("2018-12-31", "2019-01-31"))
    with pytest.raises(UserError, match=r"^--btc=btc\.csv: covers 2018-12-31 to 2019-01-31; the "
                                        r"backtest from 2019-01-01 needs every close from "
                                        r"2019-01-01 to 2019-03-01"):
        backtest.realised_hashprice("2019-01-01", 70, closes, 0.5)


# --- nothing scored, nothing claimed ------------------------------------------------------------
def test_a_window_without_a_month_to_score_prints_no_probability_for_it(tmp_path, capsys):
    """Before: the product of an empty set of probabilities (pandas skips NaN) printed 1.00."""
    days = pd.date_range("2025-10-01", "2025-12-31")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 100_000.0}).to_csv(btc, index=False)
    code = backtest.main(["--btc", str(btc), "--start", "2025-11-02", "--years", "0.07",
                          "--replications", "3", "--replay-btc", "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert "no month to score from 2025-11-02: no coverage of the months' hashprice and no " \
           "probability for it (hashprice_calibrated_p5_p95_at_target is NaN)" in lines
    assert not any("months' hashprice inside P5-P95" in line for line in lines)
    assert any(line.startswith("a calibrated model would have at least 80% of the epochs'")
               for line in lines)


# --- Ctrl-C -------------------------------------------------------------------------------------
def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def caught(run, *args):
    """Return run(*args), failing the test (not ending the session) if Ctrl-C escapes it."""
    try:
        return run(*args)
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C came out of the command: a traceback")


def outputs(folder: Path) -> dict:
    """Return {name: bytes} of every file in `folder`, hidden ones included."""
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_ctrl_c_during_the_work_is_one_line_exit_130_and_writes_nothing(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(backtest, "simulate", interrupt)
    code, _, err = caught(run_on_flat_file, tmp_path, capsys, "--replay-btc")
    assert code == 130 and err == (f"hashpivot-backtest: interrupted; nothing was written "
                                   f"(--out={tmp_path / 'out'} is as it was)")
    assert not (tmp_path / "out").exists()


def test_ctrl_c_while_writing_leaves_the_earlier_runs_outputs_as_they_were(tmp_path, capsys,
                                                                           monkeypatch):
    """Before: the new tables lay beside the earlier run's plots, a set that looked complete."""
    assert run_on_flat_file(tmp_path, capsys, "--replay-btc")[0] == 0
    out = tmp_path / "out"
    earlier = outputs(out)
    monkeypatch.setattr(backtest, "plot", interrupt)  # the tables are written, then a plot
    code, _, err = caught(run_on_flat_file, tmp_path, capsys, "--replay-btc",
                          "--replications", "3")
    assert code == 130 and err == (f"hashpivot-backtest: interrupted while writing; --out={out} "
                                   "holds its earlier files as they were, none of this run's")
    assert outputs(out) == earlier


def test_ctrl_c_held_while_the_outputs_move_in_ends_with_them_complete(tmp_path, capsys,
                                                                       monkeypatch):
    import signal

    real = backtest.os.replace

    def replace_and_be_interrupted(source, target):
        if Path(target).parent == tmp_path / "out":  # not a write into the staging folder
            signal.raise_signal(signal.SIGINT)  # Ctrl-C while each output moves in
        real(source, target)

    monkeypatch.setattr(backtest.os, "replace", replace_and_be_interrupted)
    # Ctrl-C as an interactive shell delivers it: a job started in the background (as CI's
    # may be) inherits SIGINT ignored, and an ignored Ctrl-C rightly interrupts nothing
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        code, _, err = caught(run_on_flat_file, tmp_path, capsys, "--replay-btc")
    finally:
        signal.signal(signal.SIGINT, previous)
    out = tmp_path / "out"
    assert code == 130 and err == (f"hashpivot-backtest: interrupted while writing; --out={out} "
                                   "holds this run's outputs, complete")
    assert sorted(outputs(out)) == ["bands_economic_2019-01-01.png", "coverage.csv",
                                    "epochs.csv", "hashprice.csv", "pit.csv"]


def test_a_rerun_replaces_every_output_of_the_earlier_backtest(tmp_path, capsys):
    """Before: the plot of a start date the rerun dropped stayed, unlisted in coverage.csv."""
    days = pd.date_range("2018-01-01", "2019-06-30")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 4000.0}).to_csv(btc, index=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("the user's own file")
    for starts in (["2018-06-01", "2019-01-01"], ["2019-01-01"]):
        assert backtest.main(["--btc", str(btc), "--start", *starts, "--years", "0.25",
                              "--replications", "2", "--replay-btc", "--out", str(out)]) == 0
    assert sorted(outputs(out)) == ["bands_economic_2019-01-01.png", "coverage.csv",
                                    "epochs.csv", "hashprice.csv", "notes.txt", "pit.csv"]


def test_a_staging_folder_a_killed_backtest_left_is_removed_by_the_next(tmp_path, capsys):
    """SIGKILL while the outputs were written left a hidden .backtest-XXXX folder in --out,
    which no later backtest removed; one whose backtest still runs is left alone."""
    out = tmp_path / "out"
    out.mkdir()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True).stdout.strip()  # no process has it now
    for name in (f".backtest-{ended}", ".backtest-kp5xfbho"):  # killed; of an earlier version
        (out / name).mkdir()
        (out / name / "coverage.csv").write_text("half of a table")
    running = out / f".backtest-{os.getppid()}"  # another backtest, still writing
    running.mkdir()
    assert run_on_flat_file(tmp_path, capsys, "--replay-btc")[0] == 0
    assert sorted(path.name for path in out.iterdir()) == [
        running.name, "bands_economic_2019-01-01.png", "coverage.csv", "epochs.csv",
        "hashprice.csv", "pit.csv"]
