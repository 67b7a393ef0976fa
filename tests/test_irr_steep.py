"""IRR's steep brackets: a midpoint far from Newton's root takes the sign of its side only where
the NPV the bisection computes there has that sign."""

import math

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from sim import economics

outflows = st.lists(st.floats(1.0, 1e6), min_size=1, max_size=12)
inflows = st.lists(st.floats(0.0, 1e6), min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(outflows, inflows, st.sampled_from([1.0, 12.0]), st.floats(0.0, 1.0), st.floats(0.001, 0.2))
@example(spent=[1e6] * 12, earned=[1.5e4] * 109, periods=12.0, below=0.5, width=0.01)
@example(spent=[100.0], earned=[1.3] * 119, periods=12.0, below=0.3, width=0.01)
def test_a_side_of_the_root_is_the_sign_of_the_npv_the_bisection_computes(spent, earned, periods, below, width):
    """Against the NPV each midpoint gets by itself, at every midpoint a bisection of a bracket
    around the IRR meets on its way to Newton's root: outside the radius, the side's sign is
    the NPV's."""
    cash = np.array([-usd for usd in spent] + earned)
    rate = economics.irr(cash, periods_per_year=periods)
    assume(math.isfinite(rate) and rate - below * width > -0.99)
    minus_years = -(np.arange(len(cash)) / periods)
    low = rate - below * width
    high = low + width
    low_factors, high_factors = (1.0 + low) ** minus_years, (1.0 + high) ** minus_years
    ends = np.array([cash @ low_factors, cash @ high_factors])
    assume(np.all(np.isfinite(ends)) and ends[0] != ends[1])
    factors = np.empty(len(cash))
    newton = economics._newton_root(cash, minus_years, low, high, ends, factors)
    assume(newton is not None)
    radius = economics._steep_radius(cash, minus_years, low, high, newton, factors, low_factors, high_factors)
    assume(radius is not None)
    for mid in economics._path_factors(low, high, newton, minus_years):
        gap = (1.0 + mid) - (1.0 + newton)
        if abs(gap) > radius:
            npv = float(cash.dot(np.power(1.0 + mid, minus_years)))
            assert (npv > 0) == (gap < 0) and npv != 0
