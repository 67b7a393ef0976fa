"""The conversion projects' loans (sim.finance.project_loans): which halls are let when,
their capex by month, and what a lender lends against its forecast, each against a
construction of its own: the loop, the project alone, the forecast's every month."""

import types

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st

from sim.finance.project_loans import (_in_turn, _lender_forecast, _lowest_forecasts_usd, capacity_usd,
                                       flat_capacities_usd, let_days, projects_capex_by_month)
from sim.record import Conversion


def test_halls_are_let_first_ready_first_let():
    halls = [Conversion(0, 0, 100, 1.0, 1000.0), Conversion(1, 0, 50, 1.0, 1000.0),
             Conversion(2, 0, 60, 1.0, 500.0, "cloud"), Conversion(3, 0, 300, 1.0, 1000.0)]
    leased = np.zeros(400)
    leased[80:] = 1000.0   # one hall's worth from day 80
    leased[150:] = 2000.0  # two from day 150
    assert let_days(halls, leased) == {1: 80.0, 2: 60.0, 0: 150.0}


@hsettings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 6), st.integers(1, 40))
def test_projects_capex_together_are_each_project_alone_to_the_last_bit(seed, n_projects, n_months):
    """One bincount for every project: each row the bincount of the project alone (odd days and
    sizes, halls past the horizon)."""
    rng = np.random.default_rng(seed)
    n_days = int(n_months * 30.4375)
    month_of_day = (np.arange(n_days) / 30.4375).astype(int)
    starts = rng.uniform(0, n_days + 20, n_projects).round(rng.integers(0, 3))
    halls = [Conversion(k, start, start + rng.uniform(1, 400), rng.uniform(1e5, 1e8), 1000.0)
             for k, start in enumerate(starts)]
    rows = projects_capex_by_month(halls, n_days, month_of_day, n_months)
    assert rows.shape == (n_projects, n_months)
    for hall, row in zip(halls, rows):
        first = min(int(np.ceil(hall.start_day)), n_days)
        last = max(first, min(int(np.ceil(hall.end_day)), n_days))
        alone = np.bincount(month_of_day[first:last], minlength=n_months,
                            weights=np.full(last - first, hall.capex_usd / (np.ceil(hall.end_day)
                                                                            - np.ceil(hall.start_day))))
        assert row.tobytes() == alone.tobytes()


@hsettings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.floats(-0.05, 0.2), st.sampled_from([1, 30, 120, 125]),
       st.sampled_from(["level", "bullet"]))
def test_flat_capacities_are_each_loans_capacity_from_its_forecast(seed, n_projects, escalator, term_months,
                                                                   amortisation):
    """The lowest month of every hall's forecast, from the first month of each year, and the
    loans sized on them together: each the capacity of its own forecast, to the last bit."""
    rng = np.random.default_rng(seed)
    n_days = 3652
    world = types.SimpleNamespace(n_days=n_days, lease_usd_per_kw_month=rng.uniform(50, 250, n_days))
    cfg = types.SimpleNamespace(site=types.SimpleNamespace(
        opex=types.SimpleNamespace(hosting_usd_per_kw_month=rng.uniform(5, 150)),
        hosting=types.SimpleNamespace(escalator_per_year=escalator)))
    halls = [Conversion(k, rng.uniform(0, n_days + 50), n_days, 1e7, rng.uniform(1e3, 5e4))
             for k in range(n_projects)]
    starts = rng.integers(0, 200, n_projects).tolist()
    debt = types.SimpleNamespace(term_years=term_months / 12, target_dscr=rng.uniform(1.0, 1.5),
                                 amortisation=amortisation)
    forecasts = [_lender_forecast(hall, cfg, world, term_months, start) for hall, start in zip(halls, starts)]
    lowest = _lowest_forecasts_usd(halls, cfg, world, term_months).tolist()
    assert lowest == [float(f[start:].min()) for f, start in zip(forecasts, starts)]
    for rate in (0.0775, rng.uniform(0.03, 0.12, 400)):
        alone = [capacity_usd(debt, f, rate, start) for f, start in zip(forecasts, starts)]
        assert flat_capacities_usd(debt, lowest, rate, starts) == alone


@pytest.mark.parametrize("n_months", [1, 2, 120])
def test_lines_of_several_loans_add_up_as_a_loop_does(n_months):
    """Forty loans' rows: zeros plus each row in turn, to the bit (a pairwise sum of month 0,
    1 + 39 × 1e-16, would keep what each addition in turn rounds away)."""
    rng = np.random.default_rng(n_months)
    rows = rng.standard_normal((40, n_months)) * 10.0 ** rng.integers(-3, 9, (40, n_months))
    rows[:, 0] = 1e-16
    rows[0, 0] = 1.0
    total = np.zeros(n_months)
    for row in rows:
        total += row
    assert _in_turn(rows).tobytes() == total.tobytes()
    assert _in_turn(rows[:0]).tobytes() == np.zeros(n_months).tobytes()
    # Stacks of rows (the draws, fees and interest of the same loans): each stack as alone.
    stacks = np.stack([rows, rows[::-1] * 3.0, -rows])
    assert [line.tobytes() for line in _in_turn(stacks)] == [_in_turn(s).tobytes() for s in stacks]
    assert _in_turn(stacks[:, :0]).tobytes() == np.zeros((3, n_months)).tobytes()
