"""The hashpivot-explore command: help, one-line errors, a small experiment end to end and resumed."""

import os
import signal
import time
import warnings

import pandas as pd
import pytest

import sim
import sim.explore.run as explore_run
from plugin_files import plugin_strategy_here
from sim.explore.cli import main
from sim.explore.space import read_explore_file

SMALL = ["run.horizon_years=1", "site.blocks=4", "--strategies", "stay_mining,convert_all",
         "--replications", "4", "--no-progress"]


def test_help_exits_0_and_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "explore.KEY=LOW:HIGH" in text and "Examples:" in text and "--design" in text
    assert "median" in text and "points/<i>.parquet" in text


def test_version_prints_hashpivots_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"hashpivot {sim.__version__}\n"


@pytest.mark.parametrize(("argument", "line"), [
    ("explore.run.discount_rate=0.12:0.07", "run.discount_rate=0.12:0.07: LOW must be below HIGH"),
    ("explore.run.discount_rate=cheap", "run.discount_rate=cheap: must be LOW:HIGH"),
    ("explore.market.ai.lease_start_usd_per_kw_month=0:170",
     "market.ai.lease_start_usd_per_kw_month=0:170: must be > 0"),
    ("explore.run.terminal_value=1:2", "run.terminal_value=1:2: only numbers can be explored"),
    ("explore.site.grid_mww=50:100",  # it said 'no such key in the composed config', no more
     "explore.site.grid_mww=50:100: no such key; site has grid_mw, blocks,"),
    ("explore.market.ai.nope=1:2",
     "explore.market.ai.nope=1:2: no such key in the composed config (check the spelling)\n"),
    ("explore.market.ai=0:1",  # a section: the line named its whole dict (615 characters)
     "market.ai=0:1: only numbers can be explored; market.ai is a section of the config: name "
     "one of its numbers such as market.ai.lease_start_usd_per_kw_month\n"),
    ("explore.site.blocks=2.5:8", "site.blocks=2.5:8: a whole-number key takes whole LOW and HIGH"),
    ("explore.finance.tax.equipment_years=3:7",  # both ends allowed, 4 and 6 not
     "finance.tax.equipment_years=3:7: takes only one of 3, 5, 7, 10, 15, 20, 39, not a range"),
])
def test_a_bad_range_exits_2_with_one_line(argument, line, capsys, tmp_path):
    assert main([*SMALL, "--out", str(tmp_path / "out"), argument]) == 2
    err = capsys.readouterr().err
    assert err == f"hashpivot-explore: error: {line}" + err[len(f"hashpivot-explore: error: {line}"):]
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before anything runs


@pytest.mark.parametrize(("argument", "line"), [
    ("explore.run.seed=1:100",
     "run.seed=1:100: cannot be explored: every point runs the same worlds (one seed: common random "
     "numbers), so that two points differ only by their inputs; seeds varied by point would credit "
     "the seed with the worlds' noise; give one, run.seed=N\n"),
    ("explore.run.replications=2:10",
     "run.replications=2:10: cannot be explored: every point runs the same number of worlds; give "
     "one, --replications=N\n"),
    ("explore.run.workers=1:4", "run.workers=1:4: cannot be explored: it sets how the points are "
                                "computed, not what they model (the same results); give one value, "
                                "run.workers=...\n"),
    ("explore.run.chunk_size=10:50", "run.chunk_size=10:50: cannot be explored: it sets how"),
    ("explore.run.executor=1:2", "run.executor=1:2: cannot be explored: it sets how"),
    ("explore.run.ray.timeout_s=1:5", "run.ray.timeout_s=1:5: cannot be explored: it sets how"),
    ("explore.run.detail=1:2", "run.detail=1:2: cannot be explored: every point runs with "
                               "run.detail=summary\n"),
    ("explore.run.robustness.replications=0:10", "run.robustness.replications=0:10: cannot be "
                                                 "explored: every point runs with "
                                                 "run.robustness.replications=0\n"),
    ("explore.run.until_confident=0.6:0.9", "run.until_confident=0.6:0.9: cannot be explored: every "
                                            "point runs with run.until_confident=null\n"),
    ("explore.run.indifference_usd=1:2", "run.indifference_usd=1:2: cannot be explored: it is read "
                                         "only with run.until_confident, and every point runs with "
                                         "run.until_confident=null (run.replications worlds)\n"),
])
def test_a_range_over_what_every_point_shares_is_refused_before_any_point_runs(argument, line, capsys,
                                                                              tmp_path):
    """Every point runs the same worlds, as many, the same way: a range over the seed would
    credit it with the worlds' noise, over run.replications override --replications."""
    argv = [*SMALL, "--points", "2", "--out", str(tmp_path / "out"), argument,
            "explore.run.discount_rate=0.07:0.12"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hashpivot-explore: error: {line}") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_number_of_sobol_points_not_a_power_of_2_gets_one_note_line(capsys, tmp_path):
    argv = [*SMALL, "--points", "3", "--out", str(tmp_path), "explore.run.discount_rate=0.07:0.12"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SciPy's own warning, with its source line, is not shown
        assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err == ("hashpivot-explore: note: --points=3: the sobol design draws 3 Sobol' "
                            "points, which cover the ranges evenly only in a power of 2 (2, 4, ...); "
                            "3 leave parts of them denser than others: pass --points=4 (or 2)\n")
    assert "3 points" in captured.out


def test_saltelli_at_too_few_points_says_its_intervals_cannot_be_read(capsys, tmp_path):
    argv = [*SMALL, "--design", "saltelli", "--points", "3", "--out", str(tmp_path),
            "explore.run.discount_rate=0.07:0.12"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("hashpivot-explore: note: --points=3: the saltelli design draws 3 "
                                   "Sobol' points (its base points), which cover the ranges evenly "
                                   "only in a power of 2") and captured.err.count("\n") == 1
    assert "The Sobol' indices' 95% intervals are too wide to read (half-widths up to " in captured.out
    assert "3 base points are too few; rerun with more (--points" in captured.out
    assert (tmp_path / "sobol.csv").exists()


def test_the_help_says_which_design_writes_which_table_and_that_powers_of_2_are_best(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "with --design saltelli also sobol.csv" in text and "with --design morris also morris.csv" in text
    assert "sobol and lhs give neither" in text and "best a power of 2" in text


def test_a_range_given_twice_exits_2_with_one_line(capsys, tmp_path):
    argv = [*SMALL, "--out", str(tmp_path / "out"), "explore.run.discount_rate=0.07:0.12",
            "explore.run.discount_rate=0.08:0.12"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "hashpivot-explore: error: explore.run.discount_rate=0.08:0.12: run.discount_rate is "
        "already given (0.07:0.12); give each key once\n")
    assert not (tmp_path / "out").exists()


def test_a_range_in_the_config_file_and_on_the_command_line_is_refused(capsys, tmp_path):
    config = tmp_path / "explore.yaml"
    config.write_text("explore:\n  run.discount_rate: 0.07:0.12\n")
    argv = [*SMALL, "--out", str(tmp_path / "out"), "--config", str(config),
            "explore.run.discount_rate=0.08:0.12"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("hashpivot-explore: error: explore.run.discount_rate=0.08:0.12: "
                          f"run.discount_rate is already given in {config}") and err.count("\n") == 1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_threshold_that_is_not_a_finite_amount_exits_2_with_one_line(value, capsys, tmp_path):
    argv = [*SMALL, "--out", str(tmp_path / "out"), f"--threshold={value}",
            "explore.run.discount_rate=0.07:0.12"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"hashpivot-explore: error: --threshold={float(value)}: "
                                       "must be a finite amount of the metric\n")
    assert not (tmp_path / "out").exists()


def test_a_small_experiment_runs_and_resumes(capsys, tmp_path):
    argv = [*SMALL, "--points", "4", "--out", str(tmp_path), "--xlsx",
            "explore.run.discount_rate=0.07:0.12", "explore.market.ai.lease_start_usd_per_kw_month=100:170"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "convert_all beats stay_mining" in out and "4 points" in out
    assert len(list((tmp_path / "points").glob("*.parquet"))) == 4
    assert (tmp_path / "explore.xlsx").exists() and (tmp_path / "explore.html").exists()
    assert main(argv) == 0
    assert main([*argv[:-1], "explore.market.ai.lease_start_usd_per_kw_month=100:180"]) == 2
    assert "holds another experiment (different ranges)" in capsys.readouterr().err
    assert main([*argv, "--against", "phased"]) == 2
    assert "--against=phased: not a strategy of this experiment" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "line"), [
    (["--metric", "npv_usdd"], "--metric=npv_usdd: not a summary column; one of npv_usd, irr,"),
    (["--metric", "run.discount_rate"], "--metric=run.discount_rate: not a summary column"),  # an input
    (["--against", "phased"], "--against=phased: not a strategy of this experiment; "
                              "one of stay_mining, convert_all"),
    (["--points", "1"], "--points=1: must be >= 2\n"),
    (["--strategies", "convert_all", "--against", "convert_all"],
     "--against=convert_all: needs another strategy to compare; select two or more with --strategies\n"),
])
def test_a_bad_metric_or_against_is_refused_before_any_point_runs(option, line, capsys, tmp_path):
    argv = [*SMALL, "--points", "2", "--out", str(tmp_path / "out"), *option,
            "explore.run.discount_rate=0.07:0.12"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hashpivot-explore: error: {line}") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()  # no point ran, nothing was written


def test_an_out_that_is_a_file_is_named_by_its_flag(capsys, tmp_path):
    taken = tmp_path / "a_file"
    taken.write_text("")
    assert main([*SMALL, "--points", "2", "--out", str(taken), "explore.run.discount_rate=0.07:0.12"]) == 2
    assert capsys.readouterr().err == (f"hashpivot-explore: error: --out={taken}: exists and is not "
                                       "a directory\n")


def test_a_missing_config_dir_is_refused_before_anything_runs(capsys, tmp_path):
    argv = [*SMALL, "--points", "2", "--out", str(tmp_path / "out"), "--config-dir",
            str(tmp_path / "nowhere"), "explore.run.discount_rate=0.07:0.12"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"hashpivot-explore: error: --config-dir={tmp_path / 'nowhere'}: "
                                       f"additional config directory '{tmp_path / 'nowhere'}' not found\n")
    assert not (tmp_path / "out").exists()


def test_a_plug_in_in_the_current_directory_imports_as_for_hashpivot(capsys, tmp_path, monkeypatch):
    """hashpivot puts the directory it runs in on sys.path (for a user's plug-in modules), so
    does hashpivot-explore: a strategy of --config-dir naming a module there is run."""
    source = ("from sim.strategies import Convert\n\n\n"
              "class ConvertTwo:\n"
              "    def decide(self, day, view, site):\n"
              "        return [Convert(2)] if day == 0 else []\n")
    with plugin_strategy_here(monkeypatch, tmp_path, "explore_plug", source, "two", "ConvertTwo"):
        argv = [*SMALL, "--strategies", "stay_mining,two", "--points", "2", "--out", "out",
                "--config-dir", "conf", "explore.run.discount_rate=0.07:0.12"]
        assert main(argv) == 0, capsys.readouterr().err
    points = pd.read_csv(tmp_path / "out" / "points.csv")
    assert sorted(set(points.strategy)) == ["stay_mining", "two"]


@pytest.mark.parametrize(("text", "spec"), [
    ("4:12", "4:12"),          # YAML 1.1 would read 4:12 as the base-60 number 252
    ("'4:12'", "4:12"),
    ("[4, 12]", [4, 12]),
    ("4", "4"),                # not a range: refused later, showing what was written
])
def test_a_range_in_the_config_file_is_read_as_written(text, spec, tmp_path):
    config = tmp_path / "explore.yaml"
    config.write_text(f"explore:\n  site.blocks: {text}\noverrides: [run.horizon_years=1]\n")
    assert read_explore_file(config) == {"explore": {"site.blocks": spec},
                                         "overrides": ["run.horizon_years=1"]}


def test_an_integer_range_in_the_config_file_is_a_range(capsys, tmp_path):
    config = tmp_path / "explore.yaml"
    config.write_text("explore:\n  site.blocks: 1:4\n")
    argv = [*SMALL[1:], "--points", "2", "--out", str(tmp_path / "out"), "--config", str(config),
            "--replications", "2"]
    assert main(argv) == 0
    assert "2 points" in capsys.readouterr().out


def _unhandled_sigterm(signum, frame):
    raise AssertionError("SIGTERM reached no handler of the command (it would end the process)")


@pytest.mark.parametrize(("stop", "code"), [("ctrl-c", 130), ("sigterm", 143)])
def test_an_interrupt_keeps_the_finished_points_and_says_how_to_resume(stop, code, capsys, tmp_path,
                                                                       monkeypatch):
    real = explore_run.run_point

    def run_point(experiment, index):
        if index == 1:
            if stop == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler's exception ends the sleep
            raise KeyboardInterrupt
        return real(experiment, index)

    monkeypatch.setattr(explore_run, "run_point", run_point)
    argv = [*SMALL, "--points", "2", "--out", str(tmp_path), "explore.run.discount_rate=0.07:0.12"]
    previous = signal.signal(signal.SIGTERM, _unhandled_sigterm)
    try:
        assert main(argv) == code
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert capsys.readouterr().err == (f"hashpivot-explore: interrupted; the finished points (1) are "
                                       f"kept in {tmp_path / 'points'}: rerun the same command to resume\n")
    assert not (tmp_path / "points.csv").exists()
    monkeypatch.setattr(explore_run, "run_point", real)
    assert main(argv) == 0 and len(list((tmp_path / "points").glob("*.parquet"))) == 2


def test_an_out_holding_other_files_is_refused_and_left_as_it_was(capsys, tmp_path):
    """An experiment into a user's folder wrote its points and report among their files,
    replacing a points.csv or explore.html of theirs."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "points.csv").write_text("my own points\n")
    argv = [*SMALL, "--points", "2", "--out", str(out), "explore.run.discount_rate=0.07:0.12"]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"hashpivot-explore: error: --out={out}: holds files that are not an experiment's "
        "(points.csv); an experiment writes its points, tables and report there and would "
        "replace files of the same name: choose a new or empty directory\n")
    assert [p.name for p in out.iterdir()] == ["points.csv"]
    assert (out / "points.csv").read_text() == "my own points\n"
