"""hashpivot-backtest's outputs as one set: a failed write, Ctrl-C while writing, a rerun
and a killed run's staging folder each leave --out holding one run's set, whole."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from backtest_runs import caught, interrupt, outputs, run_on_flat_file
from sim.backtest import cli, outputs as backtest_outputs


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


def test_ctrl_c_while_writing_leaves_the_earlier_runs_outputs_as_they_were(tmp_path, capsys,
                                                                           monkeypatch):
    """Before: the new tables lay beside the earlier run's plots, a set that looked complete."""
    assert run_on_flat_file(tmp_path, capsys, "--replay-btc")[0] == 0
    out = tmp_path / "out"
    earlier = outputs(out)
    monkeypatch.setattr(backtest_outputs, "plot", interrupt)  # the tables are written, then a plot
    code, _, err = caught(run_on_flat_file, tmp_path, capsys, "--replay-btc",
                          "--replications", "3")
    assert code == 130 and err == (f"hashpivot-backtest: interrupted while writing; --out={out} "
                                   "holds its earlier files as they were, none of this run's")
    assert outputs(out) == earlier


def test_ctrl_c_held_while_the_outputs_move_in_ends_with_them_complete(tmp_path, capsys,
                                                                       monkeypatch):
    import signal

    real = backtest_outputs.os.replace

    def replace_and_be_interrupted(source, target):
        if Path(target).parent == tmp_path / "out":  # not a write into the staging folder
            signal.raise_signal(signal.SIGINT)  # Ctrl-C while each output moves in
        real(source, target)

    monkeypatch.setattr(backtest_outputs.os, "replace", replace_and_be_interrupted)
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
        assert cli.main(["--btc", str(btc), "--start", *starts, "--years", "0.25",
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
