"""One job's run into its directory (`execute`): a full disk or an interrupt after the run
leaves the run complete and one line saying how to finish it."""

from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import compare_main, job
from sim.rundir import RunDir


#: Two strategies on two worlds for a year: a complete run in seconds.
TWO_QUICK = ["strategy=[stay_mining,convert_all]", "run.replications=2", "run.progress=false",
             "run.robustness.replications=0", "run.horizon_years=1"]


def test_a_full_disk_while_reporting_says_the_run_is_complete(tmp_path, capsys, monkeypatch):
    """Before: 'hashpivot: error: <dir>: OSError: [Errno 28] No space left on device', as if
    the run had failed, while run.json said complete."""
    import errno

    import matplotlib.figure
    import sim.cli.job as cli

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", disk_full)
    cfg = sim.compose(TWO_QUICK)
    assert cli.execute(cfg, tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"hashpivot: error: the run is complete in {tmp_path}, but its comparison was "
                   f"not written: {tmp_path / 'plots'}: a plot cannot be written (No space left "
                   f"on device); the report was not written; once that is fixed, make it "
                   f"with: hashpivot-compare {tmp_path}")
    assert RunDir(tmp_path).read_info()["status"] == "complete"


def test_a_full_disk_as_the_report_is_written_says_how_to_make_it(tmp_path, capsys, monkeypatch):
    """A full disk (a 11 MB tmpfs) as report.html is written, after the tables and plots:
    the line ended at '(No space left on device)', where Ctrl-C's names hashpivot-compare."""
    import errno

    import sim.compare.pipeline as pipeline
    import sim.cli.job as cli

    write_atomic = pipeline.write_atomic

    def disk_full_at_the_report(path, write):
        if Path(path).name == "report.html":
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_atomic(path, write)

    monkeypatch.setattr(pipeline, "write_atomic", disk_full_at_the_report)
    cfg = sim.compose(TWO_QUICK)
    assert cli.execute(cfg, tmp_path) == 2
    assert capsys.readouterr().err.strip() == (
        f"hashpivot: error: the run is complete in {tmp_path}, but its comparison was not "
        f"written: {tmp_path / 'report.html'}: cannot be written (No space left on device); once "
        f"that is fixed, make it with: hashpivot-compare {tmp_path}")
    monkeypatch.undo()
    assert compare_main([str(tmp_path)]) == 0 and (tmp_path / "report.html").is_file()


def test_a_run_interrupted_in_its_robustness_leaves_no_earlier_report_beside_its_new_tables(
        tmp_path, monkeypatch, capsys):
    """Ctrl-C in the robustness reruns of a rerun into a directory with an earlier report:
    the earlier report and comparison tables are gone (they spoke for the earlier
    tables), and the line says how to make them."""
    import sim.cli.job as cli
    from sim.rundir import RunDir

    overrides = ["strategy=[stay_mining,convert_all]", "run.deterministic=true",
                 "run.progress=false", "run.detail=summary", "run.robustness.replications=2"]
    assert cli.execute(sim.compose([*overrides, "run.replications=2"]), tmp_path) == 0
    assert {"report.html", "comparison.csv", "regret.csv", "robustness.csv"} <= {
        p.name for p in tmp_path.iterdir()}
    capsys.readouterr()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "verdict_robustness", interrupted)
    assert cli.execute(sim.compose([*overrides, "run.replications=3"]), tmp_path) == 130
    err = capsys.readouterr().err.strip()
    assert err == (f"hashpivot: interrupted; the run is complete in {tmp_path}, but its "
                   f"robustness table (robustness.csv) was not written, nor its report: rerun "
                   f"the same command with hydra.run.dir={tmp_path} to make both from the saved "
                   f"run, or the report alone "
                   f"with hashpivot-compare {tmp_path}")
    assert RunDir(tmp_path).read_info()["status"] == "complete"
    left = {p.name for p in tmp_path.iterdir()}
    assert not left & {"report.html", "comparison.csv", "regret.csv", "robustness.csv"}
    monkeypatch.undo()
    assert compare_main([str(tmp_path)]) == 0
    assert len(pd.read_parquet(tmp_path / "summary.parquet")["replication"].unique()) == 3
    assert pd.read_csv(tmp_path / "comparison.csv")["n"].eq(3).all()


def test_a_second_ctrl_c_as_the_first_is_recorded_acts_after_run_json_and_the_line(
        tmp_path, monkeypatch, capsys):
    """Before: a second Ctrl-C that landed while run.json was being written for the first
    ended the command at once: exit 130, no line, run.json still 'running' (seen twice under
    load, in tests/test_montecarlo.py's second Ctrl-C 0.02 s after the first)."""
    import signal

    import sim.cli.job as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    record = cli._record

    def ctrl_c_again(run_dir, cfg, status, started, **extra):
        if status == "interrupted":
            signal.raise_signal(signal.SIGINT)  # the second Ctrl-C, as the first is recorded
        return record(run_dir, cfg, status, started, **extra)

    monkeypatch.setattr(sim, "run", interrupted)
    monkeypatch.setattr(cli, "_record", ctrl_c_again)
    # Ctrl-C as in a terminal (a pytest-xdist worker ignores SIGINT)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):  # the second acts once the first is said
            cli.execute(sim.compose(TWO_QUICK), tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert capsys.readouterr().err.count("hashpivot: interrupted; ") == 1
    assert RunDir(tmp_path).read_info()["status"] == "interrupted"


def test_the_log_gives_the_replications_the_robustness_reruns_used(tmp_path, caplog):
    import sim.cli.job as cli

    cfg = sim.compose(["strategy=[stay_mining,convert_all]", "run.deterministic=true",
                       "run.replications=2", "run.progress=false", "run.detail=summary",
                       "run.compare=false", "run.robustness.replications=500"])
    with caplog.at_level("INFO", logger="sim.cli"):
        assert cli.execute(cfg, tmp_path) == 0
    assert "2 replications each" in caplog.text and "500 replications" not in caplog.text
    table = pd.read_csv(tmp_path / "robustness.csv")
    assert table["replications"].eq(2).all()


@pytest.mark.parametrize("interrupt, code", [("KeyboardInterrupt", 130), ("Terminated", 143)])
def test_a_report_interrupted_after_the_run_says_the_run_is_saved_and_leaves_no_half_report(
        interrupt, code, tmp_path, monkeypatch, capsys):
    """Ctrl-C or SIGTERM while the plots are drawn: one line naming the command that makes
    the report; no report (an earlier one is gone) and no half-written plot."""
    import matplotlib.figure

    import sim.cli.job as cli
    from sim.rundir import RunDir

    cfg = sim.compose(["strategy=[stay_mining,convert_all]", "run.deterministic=true",
                       "run.replications=1", "run.progress=false", "run.detail=summary",
                       "run.robustness.replications=0"])
    assert cli.execute(cfg, tmp_path) == 0 and (tmp_path / "report.html").is_file()
    capsys.readouterr()
    save, drawn = matplotlib.figure.Figure.savefig, []

    def interrupted_savefig(fig, path, **kwargs):
        if drawn:  # the second plot: half written, then the signal
            Path(path).write_bytes(b"half a png")
            raise getattr(cli, interrupt, KeyboardInterrupt)()
        drawn.append(path)
        return save(fig, path, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupted_savefig)
    assert cli.execute(cfg, tmp_path) == code  # the same command again: the run is resumed whole
    err = capsys.readouterr().err.strip()
    assert err == (f"hashpivot: interrupted; the run is complete and saved in {tmp_path}, but its "
                   f"report was not written; make it with: hashpivot-compare {tmp_path}")
    assert RunDir(tmp_path).read_info()["status"] == "complete"
    assert not (tmp_path / "report.html").exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes() == b"half a png"]
    assert not list(tmp_path.rglob(".tmp-*"))
    monkeypatch.undo()
    assert compare_main([str(tmp_path)]) == 0
    assert (tmp_path / "report.html").is_file()


def test_the_headline_gives_the_chance_of_a_loss_in_percent_as_the_report_does():
    # 37 of 200 worlds lose: 18.5%, which the share rounded to two places wrote 0.18 (the
    # float 0.185 lies below it), where the report writes 18.5%; 1 of 1,000: 0.1%; none: 0.0;
    # 1 of 4,000: 0.025%, not nought, so never written 0.0 (the share wrote 0.00); 3,999 of
    # 4,000: not all, so never written 100.0
    npv = {"a": [-1.0] * 37 + [1.0] * 163, "b": [-1.0] + [1.0] * 999, "c": [1.0] * 10,
           "d": [-1.0] + [1.0] * 3999, "e": [-1.0] * 3999 + [1.0]}
    summary = pd.DataFrame([{"strategy": s, "npv_usd": v * 1e6, "mw_converted": 0.0}
                            for s, values in npv.items() for v in values])
    lines = job.headline(summary).splitlines()
    column = lines[0].index(job.LOSS_PERCENT) + len(job.LOSS_PERCENT)
    cells = {line.split()[0]: line[:column].split()[-1] for line in lines[2:]}
    assert cells == {"a": "18.5", "b": "0.1", "c": "0.0", "d": "<0.1", "e": ">99.9"}


def test_a_comparison_refused_for_a_reason_of_its_own_does_not_say_once_fixed(tmp_path, capsys,
                                                                             monkeypatch):
    """Only what the surroundings caused is made by the same hashpivot-compare once fixed."""
    import sim.cli.job as cli
    from sim.errors import UserError

    def refused(*args, **kwargs):
        raise UserError("metric irr: not in the runs")

    monkeypatch.setattr(cli, "compare_runs", refused)
    cfg = sim.compose(TWO_QUICK)
    assert cli.execute(cfg, tmp_path) == 2
    assert capsys.readouterr().err.strip() == (
        f"hashpivot: error: the run is complete in {tmp_path}, but its comparison was not "
        f"written: metric irr: not in the runs")


#: Two strategies with a robustness table: the verdict's reruns in a second or two.
ROBUST_QUICK = ["strategy=[stay_mining,convert_all]", "run.deterministic=true", "run.replications=2",
                "run.progress=false", "run.detail=summary", "run.robustness.replications=2"]


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), RuntimeError("a bug")])
def test_a_report_after_failed_robustness_reruns_says_they_are_missing(error, tmp_path,
                                                                      monkeypatch, capsys):
    """The reruns failed, the console said so, but report.html had no robustness section
    and no word of it: the page looked complete, as if none had been asked for."""
    import html

    import sim.cli.job as cli

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(cli, "verdict_robustness", failing)
    assert cli.execute(sim.compose(ROBUST_QUICK), tmp_path) != 0
    made = RunDir(tmp_path).read_info()["robustness"]
    assert made["state"] == "failed" and made["replications"] == 2
    assert not (tmp_path / "robustness.csv").exists()
    missing = (f"The verdict's robustness reruns (run.robustness.replications=2) were asked "
               f"for but failed ({made['error']}), so there is no robustness table: rerun the "
               f"same command with hydra.run.dir={tmp_path} to make them from the saved run.")
    assert missing in html.unescape((tmp_path / "report.html").read_text())
    capsys.readouterr()
    assert compare_main([str(tmp_path)]) == 0
    assert f"hashpivot-compare: warning: {missing}" in capsys.readouterr().err.splitlines()
    monkeypatch.undo()  # the same command again makes what is missing
    assert cli.execute(sim.compose(ROBUST_QUICK), tmp_path) == 0
    assert RunDir(tmp_path).read_info()["robustness"]["state"] == "made"
    page = html.unescape((tmp_path / "report.html").read_text())
    assert "asked for but" not in page and 'id="robustness"' in page


def test_a_run_that_asked_for_no_robustness_says_nothing_of_it(tmp_path):
    import sim.cli.job as cli

    assert cli.execute(sim.compose(TWO_QUICK), tmp_path) == 0  # run.robustness.replications=0
    assert "robustness" not in RunDir(tmp_path).read_info()
    assert "robustness reruns" not in (tmp_path / "report.html").read_text()


def test_a_rerun_into_a_complete_folder_reuses_its_robustness_table(tmp_path, monkeypatch, caplog):
    """Rerunning the same command into a complete folder read the run back but made the
    robustness table again, the costliest step after the run itself."""
    import sim.cli.job as cli

    assert cli.execute(sim.compose(ROBUST_QUICK), tmp_path) == 0
    made = (tmp_path / "robustness.csv").read_bytes()
    calls = []
    verdict_robustness = cli.verdict_robustness

    def counted(*args, **kwargs):
        calls.append(args)
        return verdict_robustness(*args, **kwargs)

    monkeypatch.setattr(cli, "verdict_robustness", counted)
    with caplog.at_level("INFO", logger="sim.cli"):
        assert cli.execute(sim.compose(ROBUST_QUICK), tmp_path) == 0
    assert not calls and (tmp_path / "robustness.csv").read_bytes() == made
    assert "robustness.csv of this same run reused, not made again" in caplog.text
    assert 'id="robustness"' in (tmp_path / "report.html").read_text()
    # what decides the table changed: made again
    assert cli.execute(sim.compose([*ROBUST_QUICK, "run.robustness.replications=1"]), tmp_path) == 0
    assert cli.execute(sim.compose([*ROBUST_QUICK, "run.replications=3"]), tmp_path) == 0
    assert len(calls) == 2
    # a table edited since it was made is not this run's
    (tmp_path / "robustness.csv").write_text((tmp_path / "robustness.csv").read_text() + "\n")
    assert cli.execute(sim.compose([*ROBUST_QUICK, "run.replications=3"]), tmp_path) == 0
    assert len(calls) == 3
