"""The processes' shared helpers: the AR(1) scan against the recursion it computes."""

import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.processes._common import ar1, persistence


def recursion(e, phi):
    """x[0] = e[0], x[d] = phi · x[d-1] + e[d], one day after another in Python floats."""
    out, x = [], 0.0
    for value in e:
        x = phi * x + value
        out.append(x)
    return np.array(out)


@settings(max_examples=200, deadline=None)
@given(e=hnp.arrays(np.float64, st.integers(0, 4_000), elements=st.floats(-1e3, 1e3)),
       phi=st.one_of(st.floats(-0.9999, 0.9999), st.sampled_from([0.0, 1.0, persistence(30.0)])))
def test_the_scan_is_the_recursion_within_rounding(e, phi):
    """Each value within 1e-13 of the sum of its terms' magnitudes (the scan's log2(n) passes
    each round once; 1e-13 is about 450 ulps of that sum), plus the reference's own rounding,
    which grows with the days: its day d multiplies by phi d times, each rounding up to half
    an ulp (a lone shock decayed over 1,896 days at phi 0.8 is 1.001e-13 off in the
    recursion, found by hypothesis in CI), or of the smallest normal float, below which
    rounding is absolute (a decayed shock in subnormal numbers)."""
    x = ar1(e, phi)
    assert x.shape == e.shape
    bound = recursion(np.abs(e), abs(phi))
    own = np.arange(1, len(e) + 1) * np.finfo(float).eps / 2  # the recursion's rounding by day
    assert np.all(np.abs(x - recursion(e, phi)) <= (1e-13 + own) * bound + np.finfo(float).tiny)


def test_the_scan_is_the_recursion_for_a_lone_shock_decayed_over_years():
    """The case hypothesis found: the scan is within 1e-13 of the powers of phi, each rounded
    once; it was the day-by-day recursion that drifted from them."""
    e = np.zeros(1_897)
    e[0] = 1.0
    x, exact = ar1(e, 0.8), 0.8 ** np.arange(1_897.0)  # numpy's power: one rounding each
    assert np.all(np.abs(x - exact) <= 1e-13 * exact)


def test_the_scan_leaves_its_input_alone_and_runs_along_the_last_axis():
    e = np.random.default_rng(1).standard_normal((3, 500))
    before = e.copy()
    x = ar1(e, 0.97)
    assert np.array_equal(e, before)
    for row in range(3):  # each row alone gives the same bits
        assert np.array_equal(x[row], ar1(e[row], 0.97))
    assert np.array_equal(ar1(e[0], 0.0), e[0])  # no memory: the innovations themselves


def test_drawing_a_world_imports_no_scipy_signal():
    """scipy.signal (and the scipy.stats it imports) cost every world-drawing process ~48 MB."""
    code = ("import sys, sim; from sim.world import sample_world; "
            "sample_world(sim.compose(['run.horizon_years=1']), 0); "
            "print(sorted(m for m in sys.modules if m.startswith(('scipy.signal', 'scipy.stats'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
