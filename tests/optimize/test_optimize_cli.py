"""The hashpivot-optimize command: help with examples, one-line errors, a small search end to end."""

import json

import pytest

from sim.optimize.cli import main

SMALL = ["run.horizon_years=2", "site.blocks=4"]


def test_help_exits_0_and_shows_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "Examples:" in text and "hashpivot-optimize phased --space strategy.phased.blocks_per_quarter=int:0:5" in text
    assert "int:LOW:HIGH" in text and "optuna.db" in text


@pytest.mark.parametrize(("argv", "line"), [
    (["phased", "--space", "strategy.phased.max_share=float:0:2"],
     "hashpivot-optimize: error: strategy.phased.max_share=float:0:2: LOW and HIGH must be in [0, 1]"),
    (["phased", "--space", "strategy.phased.max_share"],
     "hashpivot-optimize: error: --space strategy.phased.max_share: must be KEY=SPEC"),
    (["phased", "--space", "strategy.phased.blocks_per_quarter=int:0:2", "market/ai=nope"],
     "hashpivot-optimize: error: market/ai=nope: no such option"),
    (["phased"], "hashpivot-optimize: error: --space: none given"),
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
