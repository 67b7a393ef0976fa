"""What a comparison leaves out is named, on the terminal and in the report: unfinished
sweep jobs, runs whose worlds another run holds, strategies missing from a scenario."""

import json

import pandas as pd
import pytest

from sim.compare import compare_runs
from sim.compare import main as compare_main


def _unfinished(job, how: str):
    """Make sweep job folder `job` an unfinished job of kind `how`; return `job`."""
    job.mkdir(parents=True)
    if how == "empty":
        return job
    (job / "config.yaml").write_text("run: {seed: 1}\n")
    (job / "hashpivot.log").write_text("started\n")
    if how in ("failed", "running", "interrupted", "no summary"):
        status = "complete" if how == "no summary" else how
        info = {"seed": 1, "status": status, "world_key": "k"}
        if how == "failed":
            info["error"] = "ValueError: boom"
        (job / "run.json").write_text(json.dumps(info))
    return job


WHY = {"empty": "no run.json", "log only": "no run.json", "failed": "'failed'",
       "running": "'running'", "interrupted": "'interrupted'",
       "no summary": "no summary.parquet"}


@pytest.mark.parametrize("how", list(WHY))
def test_an_unfinished_sweep_job_is_refused_in_one_line_naming_it(how, tmp_path, run_factory,
                                                                 capsys):
    sweep = tmp_path / "sweep"
    run_factory(sweep / "0", ("stay_mining", "phased"), replications=5)
    _unfinished(sweep / "1", how)
    assert compare_main([str(sweep), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hashpivot-compare: error: "), err
    assert f"{sweep / '1'}" in err and WHY[how] in err and "--finished-only" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("how", list(WHY))
def test_finished_only_compares_the_rest_and_says_which_jobs_were_left_out(how, tmp_path,
                                                                           run_factory,
                                                                           capsys):
    sweep = tmp_path / "sweep"
    run_factory(sweep / "0", ("stay_mining", "phased"), replications=5)
    _unfinished(sweep / "1", how)
    assert compare_main([str(sweep), "--finished-only", "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    assert f"{sweep / '1'}" in err and WHY[how] in err, err
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Left out" in report and f"{sweep / '1'}" in report
    assert "left out" in out.lower() or "left out" in err.lower()


def test_finished_only_with_no_finished_job_is_refused(tmp_path, capsys):
    sweep = tmp_path / "sweep"
    _unfinished(sweep / "0", "failed")
    assert compare_main([str(sweep), "--finished-only", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no finished run" in err and "'failed'" in err, err


def _first_worlds(run, path, n: int):
    """Copy `run` to `path`, keeping its first `n` replications, as run.replications=n
    would have written it (replication k depends only on the seed and k)."""
    import shutil

    shutil.copytree(run, path)
    for name in ("summary", "worlds", "world_monthly", "cashflows", "timeline"):
        file = path / f"{name}.parquet"
        if file.is_file():
            table = pd.read_parquet(file)
            table[table["replication"] < n].to_parquet(file)
    info = json.loads((path / "run.json").read_text())
    info["replications"] = n
    (path / "run.json").write_text(json.dumps(info))
    return path


@pytest.mark.parametrize("order", ["small first", "large first"])
def test_a_run_whose_worlds_are_the_first_of_a_larger_run_gives_way_to_it(order, tmp_path,
                                                                           run_factory,
                                                                           capsys):
    large = run_factory(tmp_path / "R3", ("stay_mining", "phased"), replications=30)
    small = _first_worlds(large, tmp_path / "R1", 1)
    dirs = [small, large] if order == "small first" else [large, small]
    assert compare_main([*map(str, dirs), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    table = pd.read_csv(tmp_path / "out" / "comparison.csv").set_index("strategy")
    assert (table["n"] == 30).all() and (table["run"] == str(large)).all()
    assert "single world" not in out
    line = next(line for line in err.splitlines() if str(small) in line)
    assert "Left out" in line and "first 1 of the 30 worlds" in line and str(large) in line
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "first 1 of the 30 worlds" in report and "ran on the same worlds" not in report


def test_runs_on_one_seed_whose_shared_worlds_differ_are_compared_as_different_runs(
        tmp_path, run_factory):
    large = run_factory(tmp_path / "R3", ("stay_mining", "phased"), replications=30)
    small = _first_worlds(large, tmp_path / "R1", 5)
    summary = pd.read_parquet(small / "summary.parquet")
    summary["npv_usd"] += 1e6  # not the outcomes the larger run has on these worlds
    summary.to_parquet(small / "summary.parquet")
    comparison = compare_runs([small, large], out=tmp_path / "out")
    assert set(comparison.table["strategy"]) == {"stay_mining [R1]", "stay_mining [R3]",
                                                 "phased [R1]", "phased [R3]"}
    assert not comparison.left_out


def _scenarios(tmp_path, run_factory, jobs):
    sweep = tmp_path / "sweep"
    for number, (strategies, market) in enumerate(jobs):
        run_factory(sweep / str(number), strategies, market=market, replications=20)
    return sweep


def test_a_strategy_missing_from_a_scenario_has_no_max_regret_and_is_named(tmp_path,
                                                                           run_factory,
                                                                           capsys):
    sweep = _scenarios(tmp_path, run_factory, [(("stay_mining", "convert_all"), ()),
                                               (("stay_mining", "phased"),
                                                ["market/ai=glut"])])
    assert compare_main([str(sweep), "--out", str(tmp_path / "out")]) == 0
    out, err = capsys.readouterr()
    regret = pd.read_csv(tmp_path / "out" / "regret.csv").set_index("strategy")
    assert regret.loc[["convert_all", "phased"], "max_regret"].isna().all()
    assert regret.loc["convert_all", "default"] == 0 and regret.loc["phased", "market/ai=glut"] >= 0
    assert regret.loc["stay_mining", "max_regret"] > 0
    # stay_mining, the only strategy in both scenarios, is best in neither: not a recommendation.
    assert "Recommended" not in out and "only stay_mining ran in every scenario" in out
    for text in (out + err, (tmp_path / "out" / "report.html").read_text(encoding="utf-8")):
        assert "convert_all did not run in scenario" in text.replace("&#x27;", "'")
        assert "phased did not run in scenario 'default'" in text.replace("&#x27;", "'")


def test_the_least_regret_is_chosen_among_the_strategies_that_ran_everywhere(tmp_path,
                                                                             run_factory,
                                                                             capsys):
    sweep = _scenarios(tmp_path, run_factory, [(("stay_mining", "phased", "convert_all"), ()),
                                               (("stay_mining", "phased"),
                                                ["market/ai=glut"])])
    comparison = compare_runs(sweep, out=tmp_path / "out")
    assert comparison.best in ("stay_mining", "phased")
    regret = comparison.analysis.regret
    assert pd.isna(regret.at["convert_all", "max_regret"])
    assert any("convert_all did not run in scenario 'market/ai=glut'" in line
               for line in comparison.left_out)
    assert "best in" in comparison.verdict.splitlines()[0]


def test_a_strategy_selected_among_several_is_not_said_to_be_the_only_one_that_ran(
        tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased", "convert_all"),
                      replications=10)
    assert compare_main([str(run), "--strategies", "convert_all",
                         "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "ran:" not in out and "Only convert_all ran" not in out
    assert "Only convert_all was selected (--strategies)" in out
    assert "stay_mining, phased also ran" in out
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Only one strategy ran" not in report
