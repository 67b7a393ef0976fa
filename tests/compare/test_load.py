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


def test_runs_on_the_same_worlds_are_one_scenario_whatever_their_overrides_say(tmp_path,
                                                                              run_factory):
    """`market/ai=base` written out samples the default worlds: one scenario, every
    strategy paired with every other (it was two scenarios, phased never against convert_all)."""
    a = run_factory(tmp_path / "a", ("stay_mining", "phased"), overrides=["market/ai=base"])
    b = run_factory(tmp_path / "b", ("stay_mining", "convert_all"))
    runs = load_runs([a, b])
    assert runs.scenarios == ["default"]
    assert set(runs.summary["label"]) == {"stay_mining", "phased", "convert_all"}
    table = analyse(runs).table.set_index("strategy")
    assert table.loc[["phased", "convert_all"], "paired"].all()


def test_runs_on_other_worlds_running_the_same_strategy_are_scenarios(tmp_path, run_factory):
    """Other snapshots sample other worlds: convert_all is not ranked against itself
    (it was one scenario, 'convert_all [asof=2026-01-12]' against 'convert_all [asof=...]')."""
    a = run_factory(tmp_path / "a", ("stay_mining", "convert_all"), seed=1,
                    overrides=["asof=2026-01-12"])
    b = run_factory(tmp_path / "b", ("stay_mining", "convert_all"), seed=2,
                    overrides=["asof=2026-06-26"])
    runs = load_runs([a, b])
    assert runs.scenarios == ["asof=2026-01-12", "asof=2026-06-26"]
    assert set(runs.summary["label"]) == {"stay_mining", "convert_all"}


def test_runs_whose_only_difference_is_not_recorded_are_named_by_their_settings(tmp_path,
                                                                             run_factory):
    a = run_factory(tmp_path / "a", ("stay_mining", "convert_all"), seed=1)
    b = run_factory(tmp_path / "b", ("stay_mining", "convert_all"), seed=2)
    for run, seed in ((a, 1), (b, 2)):  # the seed in the config, not in the overrides
        config = json.loads(json.dumps(read_run(run).config))
        config["run"]["seed"] = seed
        (run / ".hydra" / "config.yaml").write_text(json.dumps(config))
    assert load_runs([a, b]).scenarios == ["run.seed=1", "run.seed=2"]


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
    # no process holds its lock: the run's process ended (killed) without saving its status
    ("running", "the run stopped without saving its status: run.json says 'running', but its "
                "process ended, killed or out of memory); rerun it to completion (the same command "
                "resumes)"),
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


def test_a_scenario_without_the_baseline_takes_its_first_strategy(tmp_path, run_factory):
    """stay_mining did not run under glut: phased serves as that scenario's baseline (its
    strategies had no differences at all, and nothing said why)."""
    a = run_factory(tmp_path / "a", ("stay_mining", "phased"), market=["market/ai=base"])
    b = run_factory(tmp_path / "b", ("phased", "convert_all"), market=["market/ai=glut"])
    analysis = analyse(load_runs([a, b]))
    glut = analysis.table[analysis.table["scenario"] == "market/ai=glut"].set_index("strategy")
    assert glut.loc["convert_all", "baseline"] == "phased"
    assert bool(glut.loc["convert_all", "paired"])
    assert "In scenario 'market/ai=glut', stay_mining did not run; phased serves as its baseline." \
        in analysis.notes
    named = analyse(load_runs([a, b]), baseline="stay_mining")  # named: no fallback, said so
    assert named.table.loc[named.table["scenario"] == "market/ai=glut", "baseline"].isna().all()
    assert any("'market/ai=glut', stay_mining did not run: its strategies have no differences"
               in note for note in named.notes)


def test_of_runs_on_the_same_worlds_the_one_with_monthly_detail_is_kept(tmp_path, run_factory):
    """A summary-only run named first no longer wins: its cash flows and timeline are missing."""
    lean = run_factory(tmp_path / "lean", ("stay_mining", "phased"), detail="summary")
    full = run_factory(tmp_path / "full", ("stay_mining", "phased"))
    for order in ([lean, full], [full, lean]):
        runs = load_runs(order)
        assert [run.path.name for run in runs.runs] == ["full"]
        assert any(str(lean) in line for line in runs.left_out)


def test_runs_of_different_sizes_give_every_figure_on_the_replications_all_ran(
        tmp_path, run_factory, financing_factory):
    """phased ran 30 worlds, the others 24: its financing figures, its plots' data and its
    table row all come from the 24 (the financing figures took all 30)."""
    small = financing_factory(run_factory(tmp_path / "small", ("stay_mining", "convert_all"),
                                          replications=24))
    large = financing_factory(run_factory(tmp_path / "large", ("phased",), replications=30))
    comparison = compare_runs([small, large], out=tmp_path / "out")
    table = comparison.table.set_index("strategy")
    phased = pd.read_parquet(large / "summary.parquet")
    first = phased[phased["replication"] < 24]
    assert table.loc["phased", "n"] == 24
    assert table.loc["phased", "mean"] == pytest.approx(first["npv_usd"].mean(), rel=1e-12)
    assert table.loc["phased", "equity_npv_mean_usd"] == pytest.approx(
        first["equity_npv_usd"].mean(), rel=1e-12)
    assert table.loc["phased", "covenant_breach_share"] == pytest.approx(
        first["covenant_breached"].mean(), rel=1e-12)
    assert first["equity_npv_usd"].mean() != phased["equity_npv_usd"].mean()
    assert set(comparison.runset.summary["replication"]) == set(range(24))
    assert all(set(run.cashflows["replication"]) <= set(range(24)) for run in comparison.runset.runs
               if run.cashflows is not None)
    assert any("ranked on the 24 that all of them ran" in note for note in comparison.analysis.notes)


def test_a_comparison_is_not_written_into_another_runs_folder(tmp_path, run_factory, capsys):
    one = run_factory(tmp_path / "one", ("stay_mining", "phased"))
    other = run_factory(tmp_path / "other", ("stay_mining", "phased"), seed=2)
    before = (other / "summary.parquet").read_bytes()
    assert main([str(one), "--out", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"hashpivot-compare: error: --out={other}: is the directory of another run, not "
                   "one compared (its report.html and comparison.csv would be replaced); choose "
                   "another folder")
    assert not (other / "report.html").exists() and not (other / "comparison.csv").exists()
    assert (other / "summary.parquet").read_bytes() == before
    assert main([str(one), str(other), "--out", str(other)]) == 0  # one of those compared: its own
