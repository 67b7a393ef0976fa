"""The hashpivot-explore command: help, one-line errors, a small experiment end to end and resumed."""

import pytest

from sim.explore.cli import main

SMALL = ["run.horizon_years=1", "site.blocks=4", "--strategies", "stay_mining,convert_all",
         "--replications", "4", "--no-progress"]


def test_help_exits_0_and_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "explore.KEY=LOW:HIGH" in text and "Examples:" in text and "--design" in text
    assert "median" in text and "points/<i>.parquet" in text


@pytest.mark.parametrize(("argument", "line"), [
    ("explore.run.discount_rate=0.12:0.07", "run.discount_rate=0.12:0.07: LOW must be below HIGH"),
    ("explore.run.discount_rate=cheap", "run.discount_rate=cheap: must be LOW:HIGH"),
    ("explore.market.ai.lease_start_usd_per_kw_month=0:170",
     "market.ai.lease_start_usd_per_kw_month=0:170: must be > 0"),
    ("explore.run.executor=1:2", "run.executor=1:2: only numbers can be explored"),
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
