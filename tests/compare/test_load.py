"""Reading run directories: sweeps, labels, scenarios, pairing, and bad input."""

import json

import pandas as pd
import pytest

from sim.compare import compare_runs, main
from sim.compare.analysis import analyse
from sim.compare.load import (find_runs, load_runs, read_run, same_worlds,
                              split_override)
from sim.errors import UserError


def sweep(root, factory, jobs):
    """Write a multirun sweep: one numbered job folder per (market, overrides)."""
    for number, (market, overrides) in enumerate(jobs):
        factory(root / str(number), ("stay_mining", "phased"), market=market,
                overrides=overrides)
    return root


def test_a_sweep_directory_expands_to_its_numbered_jobs(tmp_path, run_factory):
    root = sweep(tmp_path / "sweep", run_factory, [((), ()), ((), ())])
    (root / "notes").mkdir()
    assert [p.name for p in find_runs([root])] == ["0", "1"]


def test_runs_sharing_a_name_are_labelled_by_the_overrides_that_differ(tmp_path,
                                                                        run_factory):
    root = sweep(tmp_path / "sweep", run_factory, [
        ((), ["strategy.phased.blocks_per_quarter=1", "run.executor=process"]),
        ((), ["strategy.phased.blocks_per_quarter=2", "run.executor=serial"])])
    runs = load_runs([root])
    assert sorted(set(runs.summary["label"])) == [
        "phased [blocks_per_quarter=1]", "phased [blocks_per_quarter=2]", "stay_mining"]
    assert runs.scenarios == ["default"]
    assert any("stay_mining" in line and "same 40 worlds" in line for line in runs.left_out)


def test_an_override_missing_from_one_run_shows_the_configured_value(tmp_path,
                                                                     run_factory):
    root = sweep(tmp_path / "sweep", run_factory, [
        ((), ["strategy.phased.blocks_per_quarter=2"]), ((), ())])
    labels = set(load_runs([root]).summary["label"])
    assert {"phased [blocks_per_quarter=2]", "phased [blocks_per_quarter=1]"} <= labels


def test_market_overrides_make_scenarios(tmp_path, run_factory):
    root = sweep(tmp_path / "sweep", run_factory, [
        (["market/ai=glut"], ()), (["market/ai=boom"], ())])
    runs = load_runs([root])
    assert runs.scenarios == ["market/ai=glut", "market/ai=boom"]
    assert set(runs.summary["label"]) == {"stay_mining", "phased"}


def test_runs_on_the_same_worlds_pair_and_others_fall_back_to_unpaired(tmp_path,
                                                                       run_factory):
    a = run_factory(tmp_path / "a", ("stay_mining",), seed=1)
    b = run_factory(tmp_path / "b", ("phased",), seed=1)
    c = run_factory(tmp_path / "c", ("convert_all",), seed=2)
    table = compare_runs([a, b, c], out=tmp_path / "out").table.set_index("strategy")
    assert bool(table.at["phased", "paired"]) is True
    assert bool(table.at["convert_all", "paired"]) is False
    report = (tmp_path / "out" / "report.html").read_text()
    assert "convert_all did not run on the baseline&#x27;s worlds" in report
    assert "unpaired (Welch)" in report


def test_split_override_drops_prefixes():
    assert split_override("+market/ai=glut") == ("market/ai", "glut")
    assert split_override("~run.workers") == ("run.workers", "")


@pytest.mark.parametrize("case, message", [
    ("missing", "no such directory"),
    ("file", "not a directory"),
    ("foreign", "not a hashpivot run directory"),
    ("running", "status is 'running'"),
    ("metric", "metric 'npv_eur' is not a numeric column"),
    ("replication", "metric 'replication' is not a numeric column"),  # the worlds' index
    ("disjoint", "no common strategy"),
    ("baseline", "--baseline=nonesuch: not among the strategies compared; one of "),
])
def test_bad_input_is_one_clear_line_and_exit_code_2(tmp_path, run_factory, capsys, case,
                                                     message):
    good = run_factory(tmp_path / "good")
    args = {"missing": [str(tmp_path / "nowhere")],
            "file": [str(good / "run.json")],
            "foreign": [str(tmp_path)],
            "running": [str(run_factory(tmp_path / "partial", status="running"))],
            "metric": [str(good), "--metric", "npv_eur"],
            "replication": [str(good), "--metric", "replication"],
            "disjoint": [str(run_factory(tmp_path / "g", ("stay_mining",),
                                         market=["market/ai=glut"])),
                         str(run_factory(tmp_path / "b", ("phased",),
                                         market=["market/ai=boom"]))],
            "baseline": [str(good), "--baseline", "nonesuch"]}[case]
    if case == "foreign":
        (tmp_path / "notes.txt").write_text("not a run")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("hashpivot-compare: error: ") and message in err
    assert err.count("\n") == 1


def test_a_run_without_world_key_is_never_paired_with_another(tmp_path, run_factory):
    a = run_factory(tmp_path / "a", ("stay_mining",))
    b = run_factory(tmp_path / "b", ("phased",))
    for path in (a, b):
        info = json.loads((path / "run.json").read_text())
        del info["world_key"]
        (path / "run.json").write_text(json.dumps(info))
    table = analyse(load_runs([a, b])).table.set_index("strategy")
    assert bool(table.at["phased", "paired"]) is False


def test_the_user_error_type_is_raised_by_the_api(tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        compare_runs([tmp_path / "nowhere"])


def test_equal_world_keys_with_different_worlds_are_not_paired(tmp_path, run_factory):
    a = run_factory(tmp_path / "a", ("stay_mining",))
    b = run_factory(tmp_path / "b", ("phased",))
    assert same_worlds(read_run(a), read_run(b))
    worlds = pd.read_parquet(b / "worlds.parquet")
    worlds["btc_usd_mean"] *= 1.01
    worlds.to_parquet(b / "worlds.parquet")
    assert not same_worlds(read_run(a), read_run(b))


def test_robustness_csv_is_read_with_the_run_and_a_damaged_one_is_named(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"))
    assert read_run(run).robustness is None
    columns = ["alternative", "overrides", "replications", "strategy", "against",
               "against_role", "strategy_npv_usd", "against_npv_usd", "diff_npv_usd",
               "diff_ci_low_usd", "diff_ci_high_usd", "p_strategy_beats", "higher_mean",
               "verdict_holds"]
    row = ["as run", "", 1, "phased", "stay_mining", "baseline", 2.0, 1.0, 1.0, "", "", 1.0,
           "phased", True]
    pd.DataFrame([row], columns=columns).to_csv(run / "robustness.csv", index=False)
    table = read_run(run).robustness
    assert table["overrides"].iloc[0] == "" and pd.isna(table["diff_ci_low_usd"].iloc[0])
    assert bool(table["verdict_holds"].iloc[0]) and table["strategy"].iloc[0] == "phased"
    pd.DataFrame([row[:3]], columns=columns[:3]).to_csv(run / "robustness.csv", index=False)
    with pytest.raises(UserError, match=r"robustness.csv: missing column\(s\) strategy, against"):
        read_run(run)
