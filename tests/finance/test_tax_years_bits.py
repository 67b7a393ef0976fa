"""The tax years' loop keeps the bits of the rule written with max and min (issue #13)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.finance.tax import tax_by_year


def by_the_builtins(ebitda, depreciation, interest, rate, cap, nol):
    """Return tax_by_year's columns by its rule, with the builtins max and min."""
    rows, carried, balance = [], 0.0, 0.0
    for e, d, i in zip(ebitda, depreciation, interest):
        allowed = cap * max(e, 0.0)
        deducted = min(i + carried, allowed)
        carried = i + carried - deducted
        before = e - d - deducted
        used = min(balance, nol * before) if before > 0 else 0.0
        balance += max(-before, 0.0) - used
        taxable = before - used
        rows.append((taxable, deducted, carried, used, balance, rate * max(taxable, 0.0)))
    return [np.array(column) for column in zip(*rows)]


EDGES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 5e5, -5e5, 1e-300])
USD = st.one_of(EDGES, st.floats(-1e9, 1e9, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(years=st.lists(st.tuples(USD, USD, st.one_of(st.sampled_from([0.0, -0.0, 1.0]), st.floats(0, 1e8))),
                      min_size=1, max_size=12),
       rate=st.sampled_from([0.0, 0.21, 0.2605]), cap=st.sampled_from([0.0, 0.3, 1.0]),
       nol=st.sampled_from([0.0, 0.8, 1.0]))
def test_tax_years_have_the_bits_of_max_and_min(years, rate, cap, nol):
    ebitda, depreciation, interest = (list(column) for column in zip(*years))
    got = tax_by_year(ebitda, depreciation, interest, rate, cap, nol)
    want = by_the_builtins(ebitda, depreciation, interest, rate, cap, nol)
    for column, expected in zip((got.taxable_income_usd, got.interest_deducted_usd, got.interest_carried_usd,
                                 got.nol_used_usd, got.nol_balance_usd, got.tax_usd), want):
        assert column.tobytes() == expected.tobytes()
