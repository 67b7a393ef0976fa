"""The package's layers: config schema at the bottom, then the model, the run, compare, the CLI.

Each module imports only its own layer or those below (anywhere in the file, inside
functions too), and no modules import each other in a circle. The layers are listed
in scripts/code_stats.py, which also prints the graph.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("code_stats", ROOT / "scripts" / "code_stats.py")
code_stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(code_stats)


def test_every_module_has_a_layer():
    for module in code_stats.modules():
        code_stats.layer(module)  # raises KeyError naming an unplaced module


def test_no_import_goes_up_a_layer():
    assert code_stats.upward(code_stats.graph()) == []


def test_no_circles():
    assert code_stats.circles(code_stats.graph()) == []


def test_the_checker_sees_circles_and_upward_imports():
    edges = {"sim.world": {"sim.site"}, "sim.site": {"sim.world"}, "sim.config": {"sim.ledger"}}
    assert code_stats.circles(edges) == [["sim.site", "sim.world"]]
    assert code_stats.upward(edges) == ["sim.config (base) -> sim.ledger (model)"]
    with pytest.raises(KeyError, match="sim.unplaced"):
        code_stats.layer("sim.unplaced")
