"""Explored ranges (sim.explore.space): the values a design point's coordinate gives."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.explore.space import Range


@given(low=st.integers(-5, 20), width=st.integers(1, 12))
def test_a_whole_number_range_gives_each_whole_value_the_same_share(low, width):
    """Before: a coordinate was rounded, so in site.blocks=2:8 the values 2 and 8 each took
    half the share of 3..7 (1/12 against 1/6) in a uniform design."""
    made = Range("site.blocks", float(low), float(low + width), integer=True)
    grid = low + width * (np.arange(12_000) + 0.5) / 12_000  # uniform over [low, high]
    values = [made.value(x) for x in grid]
    counts = np.bincount(np.array(values) - low)
    assert len(counts) == width + 1
    assert counts.max() - counts.min() <= 2, counts
    assert made.value(float(low)) == low and made.value(float(low + width)) == low + width


def test_a_number_range_gives_the_coordinate_itself():
    assert Range("run.discount_rate", 0.07, 0.12).value(0.1) == 0.1
