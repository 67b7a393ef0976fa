"""The backtest's fixtures: every process it instantiates, kept for a test to inspect."""

import pytest

from sim.backtest import scoring


@pytest.fixture
def built(monkeypatch) -> list:
    """Return the list that every process the backtest instantiates is appended to."""
    made, original = [], scoring.instantiate
    monkeypatch.setattr(scoring, "instantiate",
                        lambda node, where: made.append(original(node, where)) or made[-1])
    return made
