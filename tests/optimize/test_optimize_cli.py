"""The hashpivot-optimize command: help with examples, one-line errors, a small search end to end."""

import json
import os
import signal
import time

import pandas as pd
import pytest

import sim
from plugin_files import plugin_strategy_here
from sim.errors import UserError
from sim.optimize import search as search_module
from sim.optimize.cli import main

SMALL = ["run.horizon_years=2", "site.blocks=4"]


def test_help_exits_0_and_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "Examples:" in text and "hashpivot-optimize phased --space strategy.phased.blocks_per_quarter=int:0:5" in text
    assert "int:LOW:HIGH" in text and "optuna.db" in text


def test_version_prints_hashpivots_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"hashpivot {sim.__version__}\n"


def test_no_strategy_names_only_the_strategy_as_missing(capsys):
    with pytest.raises(SystemExit) as exit_:  # OVERRIDE takes zero or more: it is never missing
        main([])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("hashpivot-optimize: error: the following arguments are "
                                       "required: STRATEGY (see --help)\n")


@pytest.mark.parametrize(("argv", "line"), [
    (["phased", "--space", "strategy.phased.max_share=float:0:2"],
     "hashpivot-optimize: error: strategy.phased.max_share=float:0:2: LOW and HIGH must be in [0, 1]"),
    (["phased", "--space", "strategy.phased.max_share"],
     "hashpivot-optimize: error: --space strategy.phased.max_share: must be KEY=SPEC"),
    (["phased", "--space", "strategy.phased.blocks_per_quarter=int:0:2", "market/ai=nope"],
     "hashpivot-optimize: error: market/ai=nope: no such option"),
    (["phased"], "hashpivot-optimize: error: --space: none given; e.g. "
                 "--space=strategy.phased.<param>=int:0:5\n"),
    # the search's arguments, named by their flags (from Python, by their keywords)
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "--trials", "0"],
     "hashpivot-optimize: error: --trials=0: must be a whole number >= 1\n"),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "--fresh-replications", "1"],
     "hashpivot-optimize: error: --fresh-replications=1: must be 0 (skip) or >= 2\n"),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "--replications", "1"],
     "hashpivot-optimize: error: --replications=1: must be a whole number >= 2\n"),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "--seed", "-5"],  # was run.seed=-5
     "hashpivot-optimize: error: --seed=-5: must be a whole number >= 0\n"),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "--metric", "nope"],
     "hashpivot-optimize: error: --metric=nope: not a summary column; one of npv_usd, "),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "run.seed=3"],
     "hashpivot-optimize: error: run.seed=3: set by --seed; drop this override\n"),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "strategy=convert_all"],
     "hashpivot-optimize: error: strategy=convert_all: set by the STRATEGY argument; drop this override\n"),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1", "strategy.phased.max_share=0.5"],
     "hashpivot-optimize: error: strategy.phased.max_share=0.5: strategy.phased.max_share is searched "
     "(--space); drop this override\n"),
    (["phased", "--space", "strategy.phased.max_share=float:0.2:1",
      "--space", "strategy.phased.max_share=float:0.5:1"],
     "hashpivot-optimize: error: --space strategy.phased.max_share=float:0.5:1: "
     "strategy.phased.max_share is already given (float:0.2:1)"),
])
def test_a_bad_search_exits_2_with_one_line(argv, line, capsys, tmp_path):
    assert main([*argv, *SMALL, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(line) and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before anything ran or was written


def test_a_small_search_prints_the_table_and_writes_its_files(capsys, tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("space:\n  strategy.phased.blocks_per_quarter: int:0:2\n"
                     "overrides: [run.horizon_years=2]\n")
    out = tmp_path / "out"
    argv = ["phased", "--config", str(space), "site.blocks=4", "--trials", "3", "--replications",
            "3", "--fresh-replications", "3", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "best parameters:   strategy.phased.blocks_per_quarter=" in text
    assert "95% interval (paired)" in text and "optimistic" in text
    best = json.loads((out / "best.json").read_text())
    assert best["trials"] == 3 and best["overrides"] == ["run.horizon_years=2", "site.blocks=4"]
    assert best["fresh"]["difference"]["n"] == 3
    assert len((out / "trials.csv").read_text().splitlines()) == 4


def test_a_missing_config_dir_is_refused_before_anything_runs(capsys, tmp_path):
    argv = ["phased", "--space", "strategy.phased.max_share=float:0.2:1", *SMALL, "--trials", "1",
            "--replications", "2", "--fresh-replications", "0", "--no-progress",
            "--config-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (f"hashpivot-optimize: error: --config-dir={tmp_path / 'nowhere'}: "
                                       f"additional config directory '{tmp_path / 'nowhere'}' not found\n")
    assert not (tmp_path / "out").exists()


def test_a_plug_in_in_the_current_directory_imports_as_for_hashpivot(capsys, tmp_path, monkeypatch):
    """hashpivot puts the directory it runs in on sys.path (for a user's plug-in modules), so
    does hashpivot-optimize: a strategy of --config-dir naming a module there is searched."""
    source = ("from dataclasses import dataclass\n\n"
              "from sim.strategies import Convert\n\n\n"
              "@dataclass\n"
              "class Quarterly:\n"
              "    blocks_per_quarter: int = 1\n"
              "    decide_every_months = 3\n\n"
              "    def decide(self, day, view, site):\n"
              "        blocks = min(self.blocks_per_quarter, site.blocks_mining)\n"
              "        return [Convert(blocks)] if blocks else []\n")
    with plugin_strategy_here(monkeypatch, tmp_path, "optimize_plug", source, "quarterly", "Quarterly"):
        argv = ["quarterly", "--space", "strategy.quarterly.blocks_per_quarter=int:0:2", *SMALL,
                "--trials", "2", "--replications", "2", "--fresh-replications", "0",
                "--no-progress", "--config-dir", "conf", "--out", "out"]
        assert main(argv) == 0, capsys.readouterr().err
    assert "best parameters:   strategy.quarterly.blocks_per_quarter=" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "best.json").read_text())["trials"] == 2


def _unhandled_sigterm(signum, frame):
    raise AssertionError("SIGTERM reached no handler of the command (it would end the process)")


@pytest.mark.parametrize(("stop", "code"), [("ctrl-c", 130), ("sigterm", 143)])
def test_an_interrupted_resume_leaves_no_stale_best_json(stop, code, capsys, tmp_path, monkeypatch):
    out = tmp_path / "out"
    argv = ["phased", "--space", "strategy.phased.blocks_per_quarter=int:0:4", "--space",
            "strategy.phased.max_share=float:0.2:1", *SMALL, "--replications", "2",
            "--fresh-replications", "2", "--no-progress", "--out", str(out)]
    assert main([*argv, "--trials", "2"]) == 0
    assert json.loads((out / "best.json").read_text())["trials"] == 2
    real, calls = search_module._run_one, []

    def run_one(*args):
        calls.append(1)
        if len(calls) == 2:  # the resume's second trial: one more has finished
            if stop == "sigterm":
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler's exception ends the sleep
            raise KeyboardInterrupt
        real(*args)

    monkeypatch.setattr(search_module, "_run_one", run_one)
    capsys.readouterr()
    previous = signal.signal(signal.SIGTERM, _unhandled_sigterm)
    try:
        assert main([*argv, "--trials", "6"]) == code
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not (out / "best.json").exists()  # it named the 2-trial best; trials.csv has 3 now
    assert capsys.readouterr().err == (
        f"hashpivot-optimize: interrupted; the finished trials are kept in {out / 'optuna.db'} and "
        f"listed in {out / 'trials.csv'}; best.json is written when the search ends: rerun the "
        "same command to resume\n")
    states = pd.read_csv(out / "trials.csv")["state"]
    assert states.isin(["complete", "refused"]).sum() == 3
    monkeypatch.setattr(search_module, "_run_one", real)
    assert main([*argv, "--trials", "6"]) == 0
    assert json.loads((out / "best.json").read_text())["trials"] == 6


def test_an_out_that_is_a_file_names_the_flag_and_from_python_the_keyword(capsys, tmp_path):
    """optimize(out_dir=...) said "--out=...", a flag no Python caller typed."""
    taken = tmp_path / "a_file"
    taken.write_text("")
    assert main(["phased", "--space", "strategy.phased.max_share=float:0.2:1", *SMALL,
                 "--replications", "2", "--out", str(taken)]) == 2
    assert capsys.readouterr().err == (f"hashpivot-optimize: error: --out={taken}: exists and is "
                                       "not a directory\n")
    with pytest.raises(UserError) as refused:
        sim.optimize.optimize("phased", {"strategy.phased.max_share": "float:0.2:1"}, SMALL,
                              replications=2, out_dir=taken)
    assert str(refused.value) == f"out_dir={str(taken)!r}: exists and is not a directory"
    with pytest.raises(UserError) as refused:
        sim.optimize.optimize("phased", {"strategy.phased.max_share": "float:0.2:1"}, SMALL,
                              replications=2, config_dirs=[tmp_path / "nowhere"])
    assert str(refused.value) == (f"config_dirs={str(tmp_path / 'nowhere')!r}: additional config "
                                  f"directory '{tmp_path / 'nowhere'}' not found")


def test_an_out_holding_other_files_is_refused_and_left_as_it_was(capsys, tmp_path):
    """A search into a run's folder wrote optuna.db, trials.csv and best.json among its
    tables, and into a user's folder replaced their trials.csv."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "trials.csv").write_text("my own trials\n")
    (out / "notes.txt").write_text("keep\n")
    argv = ["phased", "--space", "strategy.phased.blocks_per_quarter=int:0:2", *SMALL,
            "--replications", "2", "--fresh-replications", "0", "--out", str(out),
            "--no-progress", "--trials"]
    assert main([*argv, "2"]) == 2
    assert capsys.readouterr().err == (
        f"hashpivot-optimize: error: --out={out}: holds files that are not a search's "
        "(notes.txt, trials.csv); a search writes its trials and best parameters there and "
        "would replace files of the same name: choose a new or empty directory\n")
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "trials.csv"]
    assert (out / "trials.csv").read_text() == "my own trials\n"
    (out / "trials.csv").unlink()
    (out / "notes.txt").unlink()
    assert main([*argv, "2"]) == 0  # an empty folder, then its own search's, with a note added
    (out / "notes.txt").write_text("keep\n")
    assert main([*argv, "3"]) == 0
    assert len((out / "trials.csv").read_text().splitlines()) == 4
