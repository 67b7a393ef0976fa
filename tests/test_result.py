"""Results survive a save and a load unchanged, and a saved Result compares like a CLI run."""

import html
import json
import os
import re

import pandas as pd
import pytest

import sim
from sim.cli import compare_main
from sim.cli import main as hashpivot
from sim.errors import UserError
from sim.ledger import LEDGER_CATEGORIES, TIMELINE_COLUMNS
from sim.rundir import TABLES, RunDir


def test_save_and_load_round_trip(compose_small, tmp_path):
    result = sim.run(compose_small("run.horizon_years=2"))
    assert set(result.cashflows["category"].unique()) == set(LEDGER_CATEGORIES)
    assert list(result.timeline.columns[3:]) == list(TIMELINE_COLUMNS)
    result.save(tmp_path / "r")
    back = sim.load(tmp_path / "r")
    pd.testing.assert_frame_equal(result.summary, back.summary)
    pd.testing.assert_frame_equal(result.cashflows, back.cashflows)
    assert back.config.run.replications == 4
    assert back.info["status"] == "complete" and back.info["started"] == result.info["started"]


def test_saving_another_run_over_a_run_removes_its_robustness_but_saving_it_back_keeps_it(
        compose_small, tmp_path):
    """hashpivot-compare read the robustness.csv a folder held as the run's: after another
    Result was saved over it, the report showed the old run's verdict beside the new run."""
    first = sim.run(compose_small("run.horizon_years=1"))
    first.save(tmp_path / "r")
    robustness = tmp_path / "r" / "robustness.csv"
    robustness.write_text("the first run's\n")
    sim.load(tmp_path / "r").save(tmp_path / "r")  # the same run, back where it came from
    assert robustness.read_text() == "the first run's\n"
    sim.run(compose_small("run.horizon_years=1", "run.replications=3")).save(tmp_path / "r")
    assert not robustness.exists()


def test_saving_another_run_over_a_cli_run_removes_its_report_and_its_command(
        tmp_path, monkeypatch, capsys):
    """Result.save of another run over a folder the command line wrote left that run's
    report.html, comparison.csv, plots and .hydra/overrides.yaml: the folder's report
    recommended a strategy the saved run does not hold, and hashpivot-compare's report gave
    the old command's overrides (strategy, replications, horizon) as the new run's."""
    overrides = ["run.replications=3", "run.horizon_years=1", "run.progress=false",
                 "run.robustness.replications=0", "strategy=[stay_mining,phased]"]
    monkeypatch.chdir(tmp_path)
    assert hashpivot([*overrides, f"hydra.run.dir={tmp_path / 'r'}"]) == 0
    own = tmp_path / "r" / "plots" / "my_chart.png"
    own.write_text("a user's own file")
    sim.load(tmp_path / "r").save(tmp_path / "r")  # the same run: its report still speaks for it
    assert (tmp_path / "r" / "report.html").is_file()
    assert (tmp_path / "r" / ".hydra" / "overrides.yaml").is_file()
    other = sim.compose([*overrides[:-1], "strategy=[stay_mining,convert_all]"])
    sim.run(other).save(tmp_path / "r")
    left = {path.relative_to(tmp_path / "r").as_posix() for path in (tmp_path / "r").rglob("*")}
    assert not left & {"report.html", "comparison.csv", "plots/ecdf.png", ".hydra/overrides.yaml"}
    assert own.read_text() == "a user's own file"  # only what a comparison or Hydra wrote goes
    capsys.readouterr()
    assert compare_main([str(tmp_path / "r")]) == 0
    report = html.unescape((tmp_path / "r" / "report.html").read_text())
    assert "Overrides: (none)" in report
    compared = pd.read_csv(tmp_path / "r" / "comparison.csv")
    assert list(compared["strategy"]) == ["stay_mining", "convert_all"]


def test_a_save_interrupted_between_two_tables_leaves_the_earlier_tables_whole(
        compose_small, tmp_path, monkeypatch):
    """Result.save wrote its tables one at a time over the folder's: Ctrl-C after the first
    left a 3-replication summary beside a 4-replication run's cashflows, under its run.json
    saying complete, and sim.load read them as one Result. Saving again repairs it."""
    first = sim.run(compose_small("run.horizon_years=1"))
    first.save(tmp_path / "r")
    second = sim.run(compose_small("run.horizon_years=1", "run.replications=3"))
    to_parquet, written = pd.DataFrame.to_parquet, []

    def interrupted_after_one_table(table, *args, **kwargs):
        if written:
            raise KeyboardInterrupt
        written.append(table)
        return to_parquet(table, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", interrupted_after_one_table)
    with pytest.raises(KeyboardInterrupt):
        second.save(tmp_path / "r")
    monkeypatch.undo()
    assert len(written) == 1 and not list((tmp_path / "r").glob(".tmp-*"))

    def assert_saved(result):
        back = sim.load(tmp_path / "r")
        for name in TABLES:
            pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name))
        assert back.config.run.replications == result.config.run.replications

    assert_saved(first)  # the earlier run's tables, whole
    second.save(tmp_path / "r")
    assert_saved(second)


def test_loading_a_sweeps_folder_says_to_load_one_of_its_runs(compose_small, tmp_path):
    """sim.load(<a multirun's folder>) said only 'not a hashpivot result (no summary.parquet)'."""
    sim.run(compose_small("run.horizon_years=1")).save(tmp_path / "sweep" / "0")
    with pytest.raises(UserError) as refused:
        sim.load(tmp_path / "sweep")
    assert str(refused.value) == (
        f"{tmp_path / 'sweep'}: not a hashpivot result (no summary.parquet); it is a sweep's "
        f"folder: load one of its numbered runs (sim.load('{tmp_path / 'sweep' / '0'}')), or "
        f"compare them all with hashpivot-compare {tmp_path / 'sweep'}")
    sim.load(tmp_path / "sweep" / "0")


def test_an_interrupted_run_with_chunks_only_is_refused_by_its_status(compose_small, tmp_path):
    """A command-line run stopped by Ctrl-C before its tables (chunks and run.json saying
    interrupted) was said to be what sim.run(cfg, out_dir) leaves, to be saved with
    result.save: its status, and that rerunning resumes it, went unsaid."""
    cfg = compose_small("run.horizon_years=1")
    sim.run(cfg, tmp_path / "r")
    RunDir(tmp_path / "r").write_info(cfg, "interrupted")
    with pytest.raises(UserError) as refused:
        sim.load(tmp_path / "r")
    assert str(refused.value).startswith(f"{tmp_path / 'r'}: run status is 'interrupted', not "
                                         "'complete'")


def test_saving_to_a_file_and_loading_chunks_only_say_what_to_do(compose_small, tmp_path):
    result = sim.run(compose_small("run.horizon_years=1"), tmp_path / "kept")
    with pytest.raises(UserError) as refused:
        sim.load(tmp_path / "kept")  # what sim.run(cfg, out_dir) leaves: chunks, no tables
    assert str(refused.value).endswith("save its Result with result.save(DIR))")
    (tmp_path / "file").write_text("")
    with pytest.raises(UserError, match="a file; Result.save writes a folder"):
        result.save(tmp_path / "file")  # was a FileExistsError


@pytest.mark.parametrize("path", [None, 3])
def test_a_path_that_is_not_a_path_is_named_by_save_and_load(compose_small, path):
    """result.save(None) and sim.load(3) ended in pathlib's TypeError, naming no argument."""
    result = sim.run(compose_small("run.horizon_years=1", "strategy=stay_mining"))
    says = f"path={path!r}: a folder's path (a str or pathlib.Path), not {type(path).__name__}"
    for call in (result.save, sim.load):
        with pytest.raises(UserError, match=re.escape(says)):
            call(path)


def test_loading_a_folder_that_does_not_exist_says_so(tmp_path):
    with pytest.raises(UserError, match=re.escape(f"{tmp_path / 'nope'}: no such folder")):
        sim.load(tmp_path / "nope")


def test_saving_where_no_folder_can_be_made_says_so_in_one_line_and_writes_nothing(
        compose_small, tmp_path):
    """Result.save into a read-only place raised the OSError of its first mkdir, a traceback
    where the command line gives one line naming the path."""
    result = sim.run(compose_small("run.horizon_years=1"))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK) and os.geteuid() == 0:  # root writes anyway: use /proc
            target = "/proc/hashpivot-nowhere/r"
        else:
            target = locked / "r"
        with pytest.raises(UserError, match=r"^path='.*r': cannot create it there \(.*\); "
                                            "choose a writable directory$"):
            result.save(target)
        assert not list(locked.iterdir())
    finally:
        locked.chmod(0o700)


def test_an_until_confident_run_records_the_replications_it_ran(compose_small, tmp_path):
    cfg = compose_small("strategy=[stay_mining,convert_all]", "run.replications=3",
                        "run.until_confident=0.95", "run.max_replications=200",
                        "run.horizon_years=1")
    result = sim.run(cfg)
    result.save(tmp_path / "r")
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["replications"] == result.summary["replication"].nunique() >= 20


def test_a_run_that_did_not_complete_is_not_loaded(compose_small, tmp_path):
    """A run killed while saving held a 400-replication summary beside 60-replication
    cashflows from the run before; sim.load read them as one Result, without a word."""
    cfg = compose_small("run.horizon_years=1")
    sim.run(cfg).save(tmp_path / "r")
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    for status in ("running", "failed", "interrupted"):
        (tmp_path / "r" / "run.json").write_text(json.dumps({**info, "status": status}))
        with pytest.raises(UserError) as refused:
            sim.load(tmp_path / "r")
        said = ("the run stopped without saving its status: run.json says 'running', but its "
                "process ended, killed or out of memory" if status == "running" else
                f"run status is {status!r}, not 'complete'")
        assert str(refused.value) == (f"{tmp_path / 'r'}: {said}; its tables may be partial or "
                                      "an earlier run's, so rerun it to completion first (the "
                                      "same command into the same folder resumes)")


def test_a_saved_result_compares_like_the_run_the_cli_wrote(tmp_path, monkeypatch, capsys):
    overrides = ["run.replications=6", "run.horizon_years=2", "run.progress=false",
                 "run.compare=false", "strategy=[stay_mining,phased]", "run.robustness.replications=0"]
    monkeypatch.chdir(tmp_path)
    assert hashpivot([*overrides, f"hydra.run.dir={tmp_path / 'cli'}"]) == 0
    sim.run(sim.compose(overrides)).save(tmp_path / "api")
    for name in ("api", "cli"):
        assert compare_main([str(tmp_path / name)]) == 0, capsys.readouterr().err
    info = {name: json.loads((tmp_path / name / "run.json").read_text()) for name in ("api", "cli")}
    for key in ("status", "world_key", "strategies", "seed", "replications", "detail"):
        assert info["api"][key] == info["cli"][key], key
    api, cli = (pd.read_csv(tmp_path / name / "comparison.csv").drop(columns="run")
                for name in ("api", "cli"))
    assert list(api["strategy"]) == ["stay_mining", "phased"]
    pd.testing.assert_frame_equal(api, cli)


def test_a_loaded_run_keeps_its_robustness_in_the_comparison_and_when_saved_again(
        tmp_path, monkeypatch, capsys):
    """sim.load left robustness.csv behind: sim.compare(sim.load(DIR)) said nothing of the
    verdict under other assumptions, which hashpivot-compare DIR reports, and saving the
    loaded Result elsewhere dropped it."""
    overrides = ["run.replications=6", "run.horizon_years=2", "run.progress=false", "run.compare=false",
                 "strategy=[stay_mining,phased]", "run.robustness.replications=3"]
    monkeypatch.chdir(tmp_path)
    assert hashpivot([*overrides, f"hydra.run.dir={tmp_path / 'cli'}"]) == 0
    written = pd.read_csv(tmp_path / "cli" / "robustness.csv")
    loaded = sim.load(tmp_path / "cli")
    assert list(loaded.robustness["alternative"]) == list(written["alternative"])
    verdict = sim.compare(loaded, figures=False).verdict
    assert compare_main([str(tmp_path / "cli")]) == 0, capsys.readouterr().err
    report = html.unescape((tmp_path / "cli" / "report.html").read_text())
    (line,) = [text for text in verdict.splitlines() if text.startswith("Under other assumptions")]
    assert "The verdict" in line and line in report
    loaded.save(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "robustness.csv").read_text() == (
        tmp_path / "cli" / "robustness.csv").read_text()
    assert sim.run(sim.compose(overrides)).robustness is None  # the command line computes it


def test_summary_has_the_documented_columns(compose_small):
    summary = sim.run(compose_small("run.horizon_years=2", "strategy=stay_mining")).summary
    documented = ["strategy", "replication", "npv_usd", "irr", "payback_years", "peak_funding_usd",
                  "revenue_mining_usd", "revenue_hosting_usd", "revenue_cloud_usd",
                  "power_cost_usd", "capex_usd", "salvage_usd", "terminal_value_usd",
                  "mw_converted", "curtailed_mwh", "tenant_requests", "tenant_requests_rejected",
                  "tenant_mw_it_rejected"]
    assert [c for c in documented if c not in summary.columns] == []
    assert summary["irr"].isna().all()  # staying put invests nothing: IRR undefined, as documented
