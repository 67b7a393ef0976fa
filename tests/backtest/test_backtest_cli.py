"""hashpivot-backtest's command line end to end on tiny files: its outputs, its one-line
refusals of flags and files before the work, and Ctrl-C during the work."""

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from backtest_runs import (alternating_file, alternating_gbm, caught, interrupt, refused,
                           run_on_flat_file)
from sim.backtest import cli, history, scoring
from sim.btc_closes import read_btc_csv
from sim.processes.network_economic import EconomicNetwork


def test_the_command_runs_end_to_end_on_a_tiny_file(tmp_path, capsys):
    days = pd.date_range("2018-12-25", "2019-04-30")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"),
                  "close": np.linspace(3800, 5000, len(days))}).to_csv(btc, index=False)
    out = tmp_path / "out"
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
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


def test_a_plug_in_in_the_directory_it_runs_from_imports(tmp_path, capsys, monkeypatch, built):
    """As every hashpivot command, it looks up a user's modules in the directory it runs
    from; it did not, so a plug-in network there 'does not import', while the line itself
    said that is where a module of your own is looked up (an audit)."""
    (tmp_path / "my_network.py").write_text(
        "from sim.processes.network import Network\n\n\nclass MyNetwork(Network):\n"
        "    \"\"\"The reference network, as a user's own class.\"\"\"\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "my_network", raising=False)
    code, _, err = run_on_flat_file(tmp_path, capsys, "--replay-btc", "--network", "reference",
                                    "--set", "_target_=my_network.MyNetwork")
    assert code == 0, err
    assert [type(process).__name__ for process in built].count("MyNetwork") >= 1


def test_a_plus_on_a_key_the_option_has_is_refused_naming_the_set(tmp_path, capsys):
    _, err = refused(tmp_path, capsys, "--replay-btc", "--set", "+power_log_sd=0.6")
    assert err == ("hashpivot-backtest: error: --set=+power_log_sd=0.6: market/network=economic "
                   "has power_log_sd already; set it with --set power_log_sd=0.6 (+ adds a key "
                   "it lacks)")


def test_the_command_refuses_a_file_that_does_not_cover_the_window(tmp_path, capsys):
    btc = tmp_path / "btc.csv"
    btc.write_text("date,close\n2019-01-01,3800\n2019-01-02,3900\n")
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "1",
                     "--replications", "2", "--replay-btc", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err.startswith(f"hashpivot-backtest: error: --btc={btc}: covers 2019-01-01 to 2019-01-02")


def test_help_explains_the_command(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0 and "--replay-btc" in text and "P5–P95" in text


def test_a_network_that_cannot_take_the_start_state_is_one_line_and_writes_nothing(
        tmp_path, capsys, monkeypatch):
    # no shipped option lacks start_height or start_difficulty: ask for a key bootstrap lacks
    monkeypatch.setattr(scoring, "REQUIRED_STATE", ("start_height", "start_hashrate_ehs"))
    _, err = refused(tmp_path, capsys, "--replay-btc", "--network", "bootstrap")
    assert err == ("hashpivot-backtest: error: --network=bootstrap: the option has no "
                   "start_hashrate_ehs, which the backtest sets from the history on each start date")


def test_the_command_samples_btc_from_the_gbm_fitted_before_each_start(tmp_path, capsys, built):
    btc, rows = alternating_file(tmp_path, before=0.02, after=0.25)
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                     "--replications", "2", "--fit-btc", "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    n = int((pd.to_datetime(rows["date"]) < "2019-01-01").sum()) - 1
    fitted, errors = history.fitted_btc(read_btc_csv(btc), "2019-01-01", "gbm",
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
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
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
    code = cli.main(["--btc", str(btc), "--start", "2025-11-02", "--years", "0.07",
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
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--replay-btc",
                     "--out", str(taken)])
    err = capsys.readouterr().err
    assert code == 2 and err == (f"hashpivot-backtest: error: --out={taken}: exists and is not "
                                 "a directory\n")
    assert taken.read_text() == "a file"


@pytest.mark.parametrize("key", scoring.STATE_KEYS)
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
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
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
    code = cli.main(["--btc", str(btc), "--start", "2020-01-01", "--years", "1",
                     "--replications", "2", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and not (tmp_path / "out").exists()
    assert err == (f"hashpivot-backtest: error: --btc={btc}: covers 2019-12-31 to 2020-01-01; "
                   "the backtest from 2020-01-01 needs every close from 2020-01-01 to "
                   "2020-12-01 (the span of the month starts whose hashprice it scores)")


def test_every_start_is_checked_before_the_first_world_runs(tmp_path, capsys, monkeypatch):
    btc, _ = alternating_file(tmp_path, before=0.02, after=0.02, first="2018-01-01",
                              skip="2019-02-10")
    monkeypatch.setattr(scoring, "simulate", lambda *args: pytest.fail("a world ran"))
    code = cli.main(["--btc", str(btc), "--start", "2018-06-01", "2019-01-01",
                     "--years", "0.25", "--replications", "2", "--replay-btc",
                     "--out", str(tmp_path / "out")])
    assert code == 2 and "from 2019-01-01 needs" in capsys.readouterr().err


def test_a_gap_outside_the_window_is_no_concern_of_a_replay(tmp_path, capsys):
    btc, _ = alternating_file(tmp_path, before=0.02, after=0.02, skip="2017-06-10")
    code = cli.main(["--btc", str(btc), "--start", "2019-01-01", "--years", "0.25",
                     "--replications", "2", "--replay-btc", "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err


# --- nothing scored, nothing claimed ------------------------------------------------------------
def test_a_window_without_a_month_to_score_prints_no_probability_for_it(tmp_path, capsys):
    """Before: the product of an empty set of probabilities (pandas skips NaN) printed 1.00."""
    days = pd.date_range("2025-10-01", "2025-12-31")
    btc = tmp_path / "btc.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "close": 100_000.0}).to_csv(btc, index=False)
    code = cli.main(["--btc", str(btc), "--start", "2025-11-02", "--years", "0.07",
                     "--replications", "3", "--replay-btc", "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert "no month to score from 2025-11-02: no coverage of the months' hashprice and no " \
           "probability for it (hashprice_calibrated_p5_p95_at_target is NaN)" in lines
    assert not any("months' hashprice inside P5-P95" in line for line in lines)
    assert any(line.startswith("a calibrated model would have at least 80% of the epochs'")
               for line in lines)


# --- Ctrl-C -------------------------------------------------------------------------------------
def test_ctrl_c_during_the_work_is_one_line_exit_130_and_writes_nothing(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(scoring, "simulate", interrupt)
    code, _, err = caught(run_on_flat_file, tmp_path, capsys, "--replay-btc")
    assert code == 130 and err == (f"hashpivot-backtest: interrupted; nothing was written "
                                   f"(--out={tmp_path / 'out'} is as it was)")
    assert not (tmp_path / "out").exists()
