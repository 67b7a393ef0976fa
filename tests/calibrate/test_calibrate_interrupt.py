"""`hashpivot-calibrate` interrupted (Ctrl-C): one line, exit 130, and no fit written."""

import errno
from pathlib import Path

import pytest

import sim.calibrate.cli as cli
import sim.calibrate.output as output
from history_files import HISTORY

BTC = str(HISTORY / "btc_daily.csv")


def interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def interrupted(tmp_path, capsys) -> None:
    """Assert that the command on the BTC history ends in one line, exit 130, nothing left."""
    out = tmp_path / "out"
    try:
        code = cli.main(["--btc", BTC, "--out", str(out)])
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C came out of the command: a traceback")
    assert code == 130
    assert capsys.readouterr().err == (f"hashpivot-calibrate: interrupted; no fit was written "
                                       f"(--out={out} holds no file of this run)\n")
    assert not out.exists()


def test_ctrl_c_during_a_fit_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    """Before: a traceback."""
    monkeypatch.setattr(cli, "fit_jump", interrupt)
    interrupted(tmp_path, capsys)


def test_ctrl_c_while_the_fits_are_written_leaves_none_of_them(tmp_path, capsys, monkeypatch):
    """Before: the first option stayed staged (a temporary file) under out/market/btc."""
    stage, calls = output._stage, []

    def second_interrupted(path, text):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return stage(path, text)

    monkeypatch.setattr(output, "_stage", second_interrupted)
    interrupted(tmp_path, capsys)
    assert len(calls) == 2


def test_write_all_removes_what_it_renamed_when_interrupted(tmp_path, monkeypatch):
    replace, moved = output.os.replace, []

    def second_interrupted(source, target):
        if moved:
            raise KeyboardInterrupt
        moved.append(target)
        replace(source, target)

    monkeypatch.setattr(output.os, "replace", second_interrupted)
    folder = tmp_path / "out/market/btc"
    files = {folder / "a.yaml": "a: 1\n", folder / "b.yaml": "b: 2\n"}
    with pytest.raises(KeyboardInterrupt):
        output.write_all(files)
    assert moved and not (tmp_path / "out").exists()


def test_a_failed_write_puts_back_the_fits_of_a_previous_run(tmp_path, monkeypatch):
    """Before: the rollback removed every file it had renamed into place, so a previous
    run's a.yaml, replaced before b.yaml failed, was gone (and b.yaml kept)."""
    folder = tmp_path / "out/market/btc"
    folder.mkdir(parents=True)
    (folder / "a.yaml").write_text("a: before\n")
    (folder / "b.yaml").write_text("b: before\n")
    replace, failed = output.os.replace, []

    def b_fails_once(source, target):
        if Path(target).name == "b.yaml" and not failed:
            failed.append(source)
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(output.os, "replace", b_fails_once)
    with pytest.raises(OSError, match="No space left on device"):
        output.write_all({folder / "a.yaml": "a: after\n", folder / "b.yaml": "b: after\n"})
    assert failed
    assert (folder / "a.yaml").read_text() == "a: before\n"
    assert (folder / "b.yaml").read_text() == "b: before\n"
    assert sorted(p.name for p in folder.iterdir()) == ["a.yaml", "b.yaml"]  # no temporary file
