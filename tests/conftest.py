"""Shared fixtures: configs composed as a user would, over constant or sampled markets."""

from pathlib import Path

import pytest

import sim
from constant_market import FLAT_FRONTIER, SIMPLE_TERMS

TESTS = Path(__file__).resolve().parent
CONSTANT_MARKET = ["market/btc=constant", "market/network=constant", "market/power=constant",
                   "market/ai=constant", "market/demand=listed", *FLAT_FRONTIER]


@pytest.fixture
def compose_constant():
    """Return a composer of configs whose market is flat (see constant_market.py), on SIMPLE_TERMS."""
    def compose(*overrides):
        return sim.compose([*CONSTANT_MARKET, *SIMPLE_TERMS, "run.progress=false", *overrides],
                           config_dirs=[TESTS / "conf"])
    return compose


@pytest.fixture
def compose_small():
    """Return a composer of small, quiet configs over the built-in sampled market, on SIMPLE_TERMS."""
    def compose(*overrides):
        return sim.compose(["run.replications=4", "run.progress=false", "run.compare=false",
                            *SIMPLE_TERMS, *overrides])
    return compose
