"""The covenant's tests before the first breach, all at once, are the tests one by one (issue #13)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.finance.covenants import _passed_tests, _trailing, covenant_test_months


def one_by_one(cfads, service, openings, tests, first, window, min_dscr):
    """Return the covers of the tests passed before the first breach and its month, a test at
    a time, as `apply_covenant`'s loop reads them."""
    covers = []
    for month in tests:
        covered, owed = _trailing(cfads, service, month, first, window)
        if openings[month] > 0 and owed > 0:
            if covered / owed < min_dscr:
                return covers, month
            covers.append(covered / owed)
    return covers, cfads.size


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 130), st.integers(0, 40), st.integers(1, 14),
       st.integers(1, 4), st.integers(1, 14), st.floats(0.5, 2.0))
def test_the_tests_passed_at_once_are_each_test_to_the_last_bit(seed, months, first, window, every,
                                                                first_test, min_dscr):
    """Sums of many magnitudes, windows cut short by the first month of service, months
    without a balance or without service: the same covers, bit for bit, and the same breach."""
    rng = np.random.default_rng(seed)
    cfads = rng.normal(1.0, 1.0, size=months) * 10.0 ** rng.integers(-2, 9, size=months)
    service = -np.abs(rng.normal(size=months)) * 10.0 ** rng.integers(-2, 9, size=months)
    service[rng.random(months) < 0.2] = 0.0
    openings = np.where(rng.random(months) < 0.1, 0.0, 1.0)
    first = min(first, months - 1)
    tests = covenant_test_months(first, months, every, first_test)
    covers, breach = _passed_tests(cfads, service, openings, tests, first, window, min_dscr)
    want_covers, want_breach = one_by_one(cfads, service, openings, tests, first, window, min_dscr)
    assert breach == want_breach
    assert np.array(covers).tobytes() == np.array(want_covers).tobytes()
