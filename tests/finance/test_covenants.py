"""The DSCR covenant on constructed cash flows: where it breaches, and what each cure does."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.finance.covenants import _trailing, _trailing_at, apply_covenant, covenant_test_months, dscr
from sim.finance.debt import combine, level_schedule

PAYMENT = 1e6 * (0.06 / 12) / (1 - (1 + 0.06 / 12) ** -48)  # a $1M loan at 6% over 48 months


def is_test_month(month, first_service_month, test_every_months):
    """Return True at a period end of the simulation (months 2, 5, 8, … for quarters) once
    debt service has begun: the covenant's test dates, by hand."""
    return month >= first_service_month and (month + 1) % test_every_months == 0


def hand_dscr(cfads, service, month, first, window=12):
    """Return the trailing DSCR at `month`, summing the window month by month."""
    months = range(max(month - window + 1, first), month + 1)
    owed = sum(abs(service[m]) for m in months)
    return sum(cfads[m] for m in months) / owed if owed else np.nan


def loan_and_dip():
    """Return a level loan from month 0 and CFADS at 1.5 × its payment, but 0.5 × in months 20-25."""
    schedule = level_schedule(1e6, 0.06, 48, 0, 60)
    cfads = np.full(60, 1.5 * PAYMENT)
    cfads[20:26] = 0.5 * PAYMENT
    return schedule, cfads


def test_trailing_dscr_matches_a_hand_sum_and_starts_with_service():
    rng = np.random.default_rng(7)
    cfads = rng.uniform(-1e5, 1e6, 40)
    service = np.zeros(40)
    service[6:30] = -rng.uniform(1e5, 5e5, 24)
    ratio = dscr(cfads, service)
    assert np.isnan(ratio[:6]).all() and np.isnan(ratio[30 + 11:]).all()
    for month in range(6, 40):
        assert np.isclose(ratio[month], hand_dscr(cfads, service, month, 6), rtol=1e-9, equal_nan=True)
    assert np.isclose(ratio[8], cfads[6:9].sum() / -service[6:9].sum())  # the first windows are short


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 80), st.integers(0, 30), st.integers(1, 14),
       st.integers(1, 4))
def test_the_trailing_sums_of_many_tests_are_each_tests_to_the_last_bit(seed, months, first, window,
                                                                        every):
    """Summed as rows of one array, the windows keep the bits of the sums of their slices."""
    rng = np.random.default_rng(seed)  # sums of many magnitudes, whose order shows in their last bits
    cfads = rng.normal(size=months) * 10.0 ** rng.integers(-2, 9, size=months)
    service = -np.abs(rng.normal(size=months)) * 10.0 ** rng.integers(-2, 9, size=months)
    first = min(first, cfads.size - 1)
    tests = range(first, cfads.size, every)
    got = _trailing_at(cfads, service, tests, first, window)
    assert sorted(got) == list(tests)
    for month in tests:
        want = _trailing(cfads, service, month, first, window)
        assert np.array(got[month]).tobytes() == np.array(want).tobytes()


def test_no_debt_service_no_ratio():
    assert np.isnan(dscr(np.ones(12), np.zeros(12))).all()


def test_the_dip_breaches_in_the_quarter_ending_month_23():
    # Test months are 2, 5, 8, …: at month 20 the window holds one dip month, (11×1.5 + 0.5)/12
    # = 1.42; at month 23 four, (8×1.5 + 4×0.5)/12 = 1.17 < 1.30.
    schedule, cfads = loan_and_dip()
    result = apply_covenant(cfads, schedule, 1.30, "default")
    assert result.breach_months == [23] and result.cured_by == "default" and result.default_month == 23
    assert np.isclose(result.min_dscr, 14 / 12, rtol=1e-9)
    assert result.equity_mask.tolist() == [1.0] * 23 + [0.0] * 37
    assert result.default_balance_usd == schedule.balance_usd[22]
    assert result.schedule is schedule


def test_no_breach_leaves_the_loan_alone():
    schedule, cfads = loan_and_dip()
    result = apply_covenant(cfads, schedule, 0.95, "sweep")  # the lowest window: (6×1.5 + 6×0.5)/12 = 1
    assert result.breach_months == [] and result.cured_by is None and result.schedule is schedule
    assert (result.equity_mask == 1).all() and not result.equity_cure_usd.any()
    tested = [hand_dscr(cfads, schedule.debt_service_usd, t, 0) for t in range(48) if is_test_month(t, 0, 3)]
    assert np.isclose(result.min_dscr, min(tested), rtol=1e-9)
    assert np.allclose(result.dscr, dscr(cfads, schedule.debt_service_usd), equal_nan=True)


def test_the_dscr_of_no_months_or_no_service_is_nan_throughout():
    assert dscr(np.zeros(0), np.zeros(0)).shape == (0,)
    assert np.isnan(dscr(np.ones(5), np.zeros(5))).all()


def test_an_equity_cure_lifts_each_tested_dscr_to_the_covenant_and_prepays_the_loan():
    schedule, cfads = loan_and_dip()
    result = apply_covenant(cfads, schedule, 1.30, "equity")
    assert result.breach_months[0] == 23 and result.cured_by == "equity"
    assert np.isclose(result.equity_cure_usd[23], -(1.30 * 12 - 14) * PAYMENT, rtol=1e-9)
    cured = np.flatnonzero(result.equity_cure_usd)
    assert cured.tolist() == result.breach_months
    assert np.allclose(result.dscr[cured], 1.30, rtol=1e-9)
    assert np.allclose(result.schedule.prepaid_usd, result.equity_cure_usd)
    assert np.isclose(schedule.balance_usd[23] - result.schedule.balance_usd[23],
                      -result.equity_cure_usd[23], rtol=1e-9)
    assert (result.equity_mask == 1).all()


def test_a_sweep_prepays_the_cash_after_service_until_a_test_passes():
    schedule, cfads = loan_and_dip()
    result = apply_covenant(cfads, schedule, 1.30, "sweep")
    swept = -result.schedule.prepaid_usd
    assert result.breach_months[0] == 23 and result.cured_by == "sweep"
    assert not swept[:23].any() and not swept[20:26].any()  # in the dip no cash is left to sweep
    sweep_months = np.flatnonzero(swept)
    assert np.allclose(swept[sweep_months],
                       cfads[sweep_months] + result.schedule.scheduled_service_usd[sweep_months], rtol=1e-9)
    passed = [t for t in range(24, 60) if is_test_month(t, 0, 3) and t not in result.breach_months][0]
    assert sweep_months[-1] == passed - 1  # the sweep stops at the first test that passes
    reduction = schedule.balance_usd - result.schedule.balance_usd
    assert np.allclose(reduction[:passed], np.cumsum(swept)[:passed], rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"cure": "forgive"}, "cure"), ({"min_dscr": 0.0}, "min_dscr"), ({"test_every_months": 0}, "test_every"),
    ({"cfads_usd": np.ones(10)}, "cfads_usd"),
])
def test_apply_covenant_rejects_bad_arguments(kwargs, message):
    schedule, cfads = loan_and_dip()
    arguments = {"cfads_usd": cfads, "schedule": schedule, "min_dscr": 1.3, "cure": "sweep"} | kwargs
    with pytest.raises(ValueError, match=message):
        apply_covenant(**arguments)


@given(first=st.integers(0, 40), n_months=st.integers(0, 80), every=st.integers(1, 12),
       first_test=st.integers(-2, 30))
def test_the_tested_months_are_the_period_ends_after_the_first_test(first, n_months, every, first_test):
    by_definition = [t for t in range(first, n_months)
                     if is_test_month(t, first, every) and t - first + 1 >= first_test]
    assert list(covenant_test_months(first, n_months, every, first_test)) == by_definition


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cure=st.sampled_from(["sweep", "equity", "default"]),
       min_dscr=st.floats(1.0, 2.0), second_loan_usd=st.sampled_from([0.0, 5e5]))
def test_any_cure_keeps_balances_positive_and_money_conserved(seed, cure, min_dscr, second_loan_usd):
    rng = np.random.default_rng(seed)
    schedule = level_schedule(1e6, 0.08, 36, 3, 48)
    if second_loan_usd:  # a second project's loan, funded later at another rate
        schedule = combine([schedule, level_schedule(second_loan_usd, 0.07, 24, 15, 48)])
    cfads = rng.uniform(-0.5, 2.5, 48) * PAYMENT
    result = apply_covenant(cfads, schedule, min_dscr, cure)
    final = result.schedule
    assert (final.balance_usd >= 0).all() and (final.principal_usd <= 0).all()
    repaid_and_left = -final.principal_usd.sum() + final.balance_usd[-1]
    assert np.isclose(repaid_and_left, 1e6 + second_loan_usd + final.capitalised_interest_usd.sum())
    tested = [t for t in range(48) if is_test_month(t, 3, 3) and final.opening_balance_usd[t] > 0]
    assert set(result.breach_months) <= set(tested)
    if cure == "sweep":  # min_dscr is the lowest ratio tested
        assert np.isclose(result.min_dscr, np.nanmin(result.dscr[tested]), rtol=1e-12)
    if cure == "equity":  # a cure lifts its test to the covenant at most
        assert result.min_dscr <= np.nanmin(result.dscr[tested]) + 1e-12
        assert (result.dscr[result.breach_months] <= min_dscr * (1 + 1e-9)).all()


def indexed_dscr(cfads, service, window):
    """Return the trailing DSCR as the cumulative sums indexed at each window's ends: the
    formula `dscr` computes with slices."""
    service = np.abs(service)
    ratio = np.full(cfads.size, np.nan)
    served = np.flatnonzero(service > 0)
    if not served.size:
        return ratio
    months = np.arange(served[0], cfads.size)
    first = np.maximum(months - window + 1, served[0])
    cumulative_cfads = np.concatenate(([0.0], np.cumsum(cfads)))
    cumulative_service = np.concatenate(([0.0], np.cumsum(service)))
    covered = cumulative_cfads[months + 1] - cumulative_cfads[first]
    owed = cumulative_service[months + 1] - cumulative_service[first]
    owing = owed > 0
    ratio[months[owing]] = covered[owing] / owed[owing]
    return ratio


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 130), st.integers(1, 40), st.floats(0, 1))
def test_the_trailing_dscr_is_the_indexed_windows_to_the_last_bit(seed, months, window, unpaid):
    """Sums of many magnitudes, months without service (signed zeros too), windows longer than
    the horizon: the sliced windows keep the bits of the indexed ones."""
    rng = np.random.default_rng(seed)
    cfads = rng.normal(size=months) * 10.0 ** rng.integers(-2, 9, size=months)
    cfads[rng.random(months) < 0.1] = -0.0
    service = -np.abs(rng.normal(size=months)) * 10.0 ** rng.integers(-2, 9, size=months)
    service[rng.random(months) < unpaid] = 0.0
    service[rng.random(months) < 0.05] = -0.0
    assert dscr(cfads, service, window).tobytes() == indexed_dscr(cfads, service, window).tobytes()
