"""Loan schedules against amortisation tables built by hand in each test, as a spreadsheet would."""

import dataclasses
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.finance import debt
from sim.finance.debt import (
    bullet_schedule, combine, construction_draws, construction_loans, equipment_loan, level_capacities_usd,
    level_capacity_usd, level_loans, level_schedule, prepay, sculpted_capacity_usd, sculpted_schedule,
)
from sim.finance import schedule as schedule_module
from sim.finance.schedule import Facility


def hand_level_table(principal, rate_per_year, months):
    """Return (interest, principal repaid, closing balance) of each payment, by the textbook loop."""
    r = rate_per_year / 12
    payment = principal * r / (1 - (1 + r) ** -months)
    rows, balance = [], principal
    for _ in range(months):
        interest = balance * r
        balance -= payment - interest
        rows.append((interest, payment - interest, balance))
    return np.array(rows)


def conserved(schedule):
    """Return True if repayments plus what is left equal what was lent plus capitalised interest."""
    paid_back = -schedule.principal_usd.sum() + schedule.balance_usd[-1]
    lent = schedule.funded_usd.sum() + schedule.capitalised_interest_usd.sum()
    return np.isclose(paid_back, lent, rtol=1e-9, atol=1e-6)


# --- level payment ------------------------------------------------------------------------
def test_textbook_mortgage_pays_1199_10_a_month():
    schedule = level_schedule(200_000, 0.06, 360, 0, 360)
    assert np.round(-schedule.debt_service_usd, 2).tolist() == [1199.10] * 360


@pytest.mark.parametrize("principal, rate, months", [(1e6, 0.0775, 120), (5e7, 0.03, 7), (1.0, 0.2, 1)])
def test_level_payment_is_the_annuity_and_the_table_matches_a_loop(principal, rate, months):
    start, n_months = 5, 5 + months + 4
    schedule = level_schedule(principal, rate, months, start, n_months)
    r = rate / 12
    # The annuity to the last bits (the closed-form table's last payment clears the
    # balance it computes, a few 1e-12 from the formula's payment).
    assert np.allclose(-schedule.debt_service_usd[start:start + months],
                       principal * r / (1 - (1 + r) ** -months), rtol=1e-11)
    table = hand_level_table(principal, rate, months)
    paid = slice(start, start + months)
    assert np.allclose(-schedule.interest_usd[paid], table[:, 0], rtol=1e-10, atol=1e-9)
    assert np.allclose(-schedule.principal_usd[paid], table[:, 1], rtol=1e-10, atol=1e-9)
    assert np.allclose(schedule.balance_usd[paid], table[:, 2], rtol=1e-10, atol=principal * 1e-12)
    assert schedule.balance_usd[start + months - 1] == 0.0
    assert not schedule.debt_service_usd[:start].any()
    assert not schedule.debt_service_usd[start + months:].any()
    assert np.isclose(-schedule.principal_usd.sum(), principal, rtol=1e-12)
    assert schedule.funded_usd[start] == principal and schedule.funded_usd.sum() == principal


def test_payments_past_the_horizon_leave_their_balance_in_the_last_month():
    table = hand_level_table(1e6, 0.08, 60)
    schedule = level_schedule(1e6, 0.08, 60, 3, 24)
    assert schedule.balance_usd.size == 24
    assert np.isclose(schedule.balance_usd[-1], table[20, 2], rtol=1e-12)


def test_zero_rate_repays_in_equal_parts():
    schedule = level_schedule(1200.0, 0.0, 12, 0, 12)
    assert np.allclose(schedule.principal_usd, -100.0) and not schedule.interest_usd.any()


def test_a_constant_floating_rate_is_the_fixed_loan():
    fixed = level_schedule(3e6, 0.07, 48, 2, 60)
    floating = level_schedule(3e6, np.full(60, 0.07), 48, 2, 60)
    for name in ("interest_usd", "principal_usd", "balance_usd"):
        assert np.allclose(getattr(floating, name), getattr(fixed, name), rtol=1e-12, atol=1e-6)


def test_a_floating_payment_is_reset_to_the_annuity_of_what_is_left():
    rates = np.linspace(0.04, 0.09, 24)
    schedule = level_schedule(1e6, rates, 24, 0, 24)
    balance = 1e6
    for t in range(24):
        r = rates[t] / 12
        payment = balance * r / (1 - (1 + r) ** -(24 - t))
        interest = balance * r
        balance -= payment - interest
        assert np.isclose(-schedule.interest_usd[t], interest, rtol=1e-10)
        assert np.isclose(-schedule.debt_service_usd[t], payment, rtol=1e-10)
    assert schedule.balance_usd[-1] == 0.0


def test_a_short_rate_array_holds_its_last_rate():
    assert np.allclose(level_schedule(1e5, [0.05, 0.06], 12, 0, 12).rate_per_year[1:], 0.06)


# --- bullet -------------------------------------------------------------------------------
def test_bullet_pays_interest_on_the_balance_and_principal_at_maturity():
    schedule = bullet_schedule(2e6, 0.0725, 24, 6, 36)
    assert np.allclose(schedule.interest_usd[6:30], -2e6 * 0.0725 / 12, rtol=1e-12)
    assert not schedule.interest_usd[:6].any() and not schedule.interest_usd[30:].any()
    assert schedule.principal_usd[29] == -2e6
    assert np.count_nonzero(schedule.principal_usd) == 1
    assert (schedule.balance_usd[6:29] == 2e6).all() and not schedule.balance_usd[29:].any()


# --- sculpted -----------------------------------------------------------------------------
def rising_rent(n_months):
    """Return a forecast CFADS: rent with a 3% annual escalator, zero before month 12."""
    cfads = 1e6 * 1.03 ** (np.arange(n_months) // 12)
    cfads[:12] = 0.0
    return cfads


def test_sculpted_service_is_in_proportion_to_cfads_and_repays_the_loan():
    cfads = rising_rent(150)
    schedule = sculpted_schedule(4e7, 0.0775, cfads, 12, 120, 150)
    ratio = cfads[12:132] / -schedule.debt_service_usd[12:132]
    assert np.allclose(ratio, ratio[0], rtol=1e-9)
    assert schedule.balance_usd[131] == 0.0 and not schedule.debt_service_usd[132:].any()
    assert np.isclose(-schedule.principal_usd.sum(), 4e7, rtol=1e-12)


def test_sculpted_capacity_is_the_present_value_and_gives_the_target_cover():
    cfads, target = rising_rent(140), 1.30
    capacity = sculpted_capacity_usd(cfads, 0.0775, target, 12, 120)
    by_hand = sum(cfads[12 + k] / target / (1 + 0.0775 / 12) ** (k + 1) for k in range(120))
    assert np.isclose(capacity, by_hand, rtol=1e-12)
    schedule = sculpted_schedule(capacity, 0.0775, cfads, 12, 120, 140)
    assert np.allclose(cfads[12:132] / -schedule.debt_service_usd[12:132], target, rtol=1e-9)


@pytest.mark.parametrize("rate", [0.0775, np.linspace(0.05, 0.09, 30)])
@pytest.mark.parametrize("cfads", [2.5e5, 0.0, -1e5])
def test_level_capacity_is_the_sculpted_capacity_of_a_flat_forecast(rate, cfads):
    flat = np.full(12 + 120, cfads)
    assert level_capacity_usd(cfads, rate, 1.3, 12, 120) == sculpted_capacity_usd(flat, rate, 1.3, 12, 120)


@pytest.mark.parametrize("rate", [0.0775, np.linspace(0.05, 0.09, 300)])
def test_level_capacities_together_are_each_loan_alone_to_the_last_bit(rate):
    """Loans sized together: each row summed as one loan's discounted payments alone."""
    rng = np.random.default_rng(7)
    cfads = (rng.standard_normal(25) * 10.0 ** rng.integers(0, 8, 25)).tolist()
    starts = rng.integers(0, 150, 25).tolist()
    together = level_capacities_usd(cfads, rate, 1.3, starts, 120)
    for usd, start, capacity in zip(cfads, starts, together):
        payment = max(usd, 0.0) / 1.3
        assert capacity == float((debt._discount(rate, start, 120) * payment).sum())


def test_sculpting_capitalises_interest_where_the_forecast_cfads_is_short():
    cfads = rising_rent(60)
    cfads[20:26] = 0.0  # a refit: no rent for six months
    schedule = sculpted_schedule(2e7, 0.09, cfads, 12, 48, 60)
    assert (schedule.capitalised_interest_usd[20:26] > 0).all()
    assert not schedule.debt_service_usd[20:26].any()
    assert (schedule.principal_usd <= 0).all() and (schedule.balance_usd >= 0).all()
    assert schedule.balance_usd[59] == 0.0 and conserved(schedule)


def test_a_floating_sculpted_loan_discounts_at_each_month_s_rate():
    cfads, rates = rising_rent(40), np.linspace(0.05, 0.10, 40)
    schedule = sculpted_schedule(1e7, rates, cfads, 12, 24, 40)
    factor = np.cumprod(1 / (1 + rates[12:36] / 12))
    k = 1e7 / np.sum(cfads[12:36] * factor)
    assert np.allclose(-schedule.debt_service_usd[12:36], k * cfads[12:36], rtol=1e-9)
    assert schedule.balance_usd[35] == 0.0 and np.array_equal(schedule.rate_per_year, rates)


def test_sculpting_needs_a_forecast_to_the_last_payment():
    with pytest.raises(ValueError, match="cfads_forecast_usd has 50 months"):
        sculpted_schedule(1e6, 0.05, np.ones(50), 12, 48, 60)


# --- construction -------------------------------------------------------------------------
def test_construction_capitalises_interest_as_a_hand_loop_does():
    capex = np.array([0, 4e6, 6e6, 0, 5e6, 3e6, 0, 0, 0, 0])
    loan = construction_draws(capex, 0.8, 0.0775, upfront_fee=0.01)
    balance, capitalised = 0.0, []
    for spent in capex[:6]:
        capitalised.append(balance * 0.0775 / 12)
        balance += capitalised[-1] + 0.8 * spent
    assert np.allclose(loan.capitalised_interest_usd[:6], capitalised, rtol=1e-12)
    assert np.isclose(loan.draw_usd.sum(), 0.8 * capex.sum(), rtol=1e-12)
    assert loan.completion_month == loan.conversion_month == 5
    assert np.isclose(loan.balance_at_completion_usd, balance, rtol=1e-12)
    assert not loan.balance_usd[6:].any() and not loan.capitalised_interest_usd[6:].any()
    assert loan.fees_usd[1] == -0.01 * 0.8 * capex.sum() and np.count_nonzero(loan.fees_usd) == 1


def test_construction_interest_runs_to_a_later_conversion():
    capex = np.r_[np.full(6, 1e6), np.zeros(6)]
    early = construction_draws(capex, 0.5, 0.06)
    late = construction_draws(capex, 0.5, 0.06, conversion_month=8)
    assert np.isclose(late.balance_at_completion_usd, early.balance_at_completion_usd * 1.005 ** 3,
                      rtol=1e-12)
    assert late.balance_usd[8] == late.balance_at_completion_usd and not late.balance_usd[9:].any()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(2, 150), st.booleans())
def test_construction_loans_together_are_each_alone_to_the_last_bit(seed, projects, months, floating):
    """Rows of spending at odd times and sizes, fixed or floating rates: each row as if alone."""
    rng = np.random.default_rng(seed)
    capex = rng.uniform(1e5, 3e7, (projects, months)) * (rng.random((projects, months)) < 0.2)
    capex[0] = 0.0  # a project that spends nothing
    last_spent = [int(row.nonzero()[0][-1]) if row.any() else 0 for row in capex]
    conversions = [None if rng.random() < 0.3 or not row.any() else int(rng.integers(last, months))
                   for row, last in zip(capex, last_spent)]
    rate = 0.03 + 0.05 * rng.random(months) if floating else 0.0775
    together = construction_loans(capex, 0.8, rate, 0.015, conversions)
    for row, conversion, loan in zip(capex, conversions, together):
        alone = construction_loans(row[None, :], 0.8, rate, 0.015, [conversion])[0]
        for name in ("draw_usd", "capitalised_interest_usd", "fees_usd", "balance_usd"):
            assert getattr(loan, name).tobytes() == getattr(alone, name).tobytes()
        assert (loan.completion_month, loan.conversion_month, loan.balance_at_completion_usd) == (
            alone.completion_month, alone.conversion_month, alone.balance_at_completion_usd)


def test_no_projects_no_construction_loans():
    assert construction_loans(np.zeros((0, 12)), 0.8, 0.07, 0.01, []) == []
    with pytest.raises(ValueError, match="conversion months"):
        construction_loans(np.ones((2, 12)), 0.8, 0.07, 0.01, [None])


def test_zero_loan_to_cost_borrows_nothing():
    loan = construction_draws(np.array([1e6, 2e6, 0.0]), 0.0, 0.08, upfront_fee=0.02)
    assert not any(getattr(loan, name).any() for name in
                   ("draw_usd", "capitalised_interest_usd", "fees_usd", "balance_usd"))
    assert loan.balance_at_completion_usd == 0.0 and loan.completion_month == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"loan_to_cost": 1.2}, r"loan_to_cost\(=1.2\)"), ({"loan_to_cost": -0.1}, "loan_to_cost"),
    ({"rate": -13.0}, "rate"), ({"upfront_fee": -0.01}, "upfront_fee"),
    ({"conversion_month": 1}, "conversion_month"),
])
def test_construction_rejects_bad_terms(kwargs, message):
    arguments = {"capex_usd": np.array([1e6, 1e6, 1e6, 0.0]), "loan_to_cost": 0.8, "rate": 0.07} | kwargs
    with pytest.raises(ValueError, match=message):
        construction_draws(**arguments)


def test_a_construction_loan_converts_into_its_term_loan():
    loan = construction_draws(np.r_[np.full(12, 1e6), np.zeros(48)], 0.8, 0.0775)
    term = level_schedule(loan.balance_at_completion_usd, 0.0775, 36, loan.conversion_month + 1, 60)
    outstanding = loan.balance_usd + term.balance_usd
    assert np.isclose(term.opening_balance_usd[12], outstanding[11], rtol=1e-12)
    assert outstanding[47] == 0.0 and (outstanding[:47] > 0).all()


# --- equipment loans ----------------------------------------------------------------------
def test_equipment_loan_is_a_level_tranche_per_purchase_from_the_next_month():
    price = np.array([1e6, 0.0, 2e6])
    loan = equipment_loan(price, 0.7, 0.09, 36, 60)
    assert loan.draw_usd[:3].tolist() == [7e5, 0.0, 1.4e6]
    first, second = hand_level_table(7e5, 0.09, 36), hand_level_table(1.4e6, 0.09, 36)
    expected = np.zeros(60)
    expected[1:37] += first[:, 2]
    expected[3:39] += second[:, 2]
    expected[0] += 7e5
    expected[2] += 1.4e6
    assert np.allclose(loan.balance_usd, expected, rtol=1e-10, atol=1e-6)
    assert np.isclose(-loan.schedule.principal_usd.sum(), 2.1e6, rtol=1e-12)
    assert loan.schedule.principal_usd[1] < 0 and loan.schedule.principal_usd[0] == 0


# --- prepayment ---------------------------------------------------------------------------
def test_prepayment_lowers_the_balance_by_its_amount_and_shortens_the_loan():
    schedule = level_schedule(1e6, 0.08, 60, 0, 72)
    after = prepay(schedule, 10, 2e5)
    assert after.prepaid_usd[10] == -2e5 and after.principal_usd[10] == schedule.principal_usd[10] - 2e5
    still_paying = schedule.balance_usd - 2e5 > 0
    assert np.allclose((schedule.balance_usd - after.balance_usd)[10:][still_paying[10:]], 2e5, rtol=1e-9)
    paying = np.flatnonzero(after.balance_usd[11:] > 0) + 11  # each instalment as planned, till the end
    assert paying.size > 30
    assert np.allclose(after.principal_usd[paying], schedule.principal_usd[paying], rtol=1e-12)
    assert (after.interest_usd[11:] >= schedule.interest_usd[11:]).all()  # less interest paid
    assert np.allclose(-after.interest_usd[11:], after.balance_usd[10:-1] * 0.08 / 12, rtol=1e-12)
    ends = [int(np.flatnonzero(s.debt_service_usd)[-1]) for s in (schedule, after)]
    assert ends[1] < ends[0] == 59
    assert after.balance_usd[ends[1]] == 0.0 and conserved(after)


def test_prepaying_a_sum_of_loans_goes_pro_rata_to_the_tranches_outstanding():
    loan = equipment_loan(np.array([1e6, 0.0, 3e6, 0.0, 2e6]), 1.0, 0.09, 12, 24)
    first, second, third = (hand_level_table(p, 0.09, 12)[:, 2] for p in (1e6, 3e6, 2e6))
    owed = first[2] + second[0]  # month 3: the first tranche has paid 3 instalments, the second 1
    after = prepay(loan.schedule, 3, owed / 2)
    assert np.isclose(after.balance_usd[3], owed / 2, rtol=1e-12)
    assert np.isclose(after.balance_usd[4], first[3] - first[2] / 2 + second[1] - second[0] / 2,
                      rtol=1e-9)
    assert np.isclose(after.balance_usd[5] - loan.schedule.balance_usd[5], -owed / 2, rtol=1e-9)
    later = after.tranches[2]  # funded after the prepayment: as planned
    assert np.allclose(later.balance_usd[5:17], third, rtol=1e-9, atol=1e-6) and not later.prepaid_usd.any()
    assert conserved(after) and len(after.tranches) == 3


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.tuples(st.integers(0, 59), st.floats(0.0, 1.0)),
                                           min_size=1, max_size=8))
def test_a_facility_knows_which_tranches_may_rise_after_each_prepayment(seed, prepayments):
    """Against the definition, after prepayments in any order: funded, capitalised or prepaid
    after the month, or at a negative rate then."""
    rng = np.random.default_rng(seed)
    cfads = rng.uniform(-2e5, 1e6, 60)  # a sculpted tranche capitalises where its forecast is low
    rates = np.r_[np.full(30, 0.06), np.full(30, -0.01)] if seed % 3 == 0 else 0.06
    loan = Facility(combine([level_schedule(1e6, rates, 36, 2, 60),
                             bullet_schedule(5e5, 0.08, 24, 10, 60),
                             sculpted_schedule(8e5, 0.07, cfads, 0, 48, 60)]))
    for month, share in prepayments:
        loan.prepay(month, share * float(loan.balance_usd[month]))
        rows = loan.rows
        for after in range(60):
            later = slice(after + 1, 60)
            rises = (rows["funded_usd"][:, later].any(axis=1)
                     | rows["capitalised_interest_usd"][:, later].any(axis=1)
                     | rows["prepaid_usd"][:, later].any(axis=1)
                     | (rows["monthly"][:, later] < 0).any(axis=1))
            assert [not loan._only_falls_after(k, after) for k in range(len(rises))] == rises.tolist()


SCHEDULE_ARRAYS = ("funded_usd", "interest_usd", "capitalised_interest_usd", "principal_usd",
                   "prepaid_usd", "balance_usd", "rate_per_year")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(),
       st.lists(st.tuples(st.integers(0, 59), st.floats(0.0, 1.0)), min_size=1, max_size=10))
def test_a_facility_prepays_a_sum_from_its_rows_as_from_its_tranches_to_the_last_bit(seed, level,
                                                                                   prepayments):
    """A sum keeps its tranches' arrays as `rows`, which a Facility copies: the same schedules as
    one that stacks the tranches again, after each prepayment; and each schedule's `rows` stay
    its tranches' arrays while the facility prepays on."""
    rng = np.random.default_rng(seed)
    if level:  # the covenant's case: level loans that start apart, falling once they have
        loan = level_loans(rng.uniform(1e5, 1e7, 5).tolist(), 0.0775, 36, rng.integers(0, 40, 5).tolist(),
                           60)
    else:
        cfads = rng.uniform(-2e5, 1e6, 60)
        loan = combine([level_schedule(1e6, 0.06, 36, 2, 60), bullet_schedule(5e5, 0.08, 24, 10, 60),
                        sculpted_schedule(8e5, 0.07, cfads, 0, 48, 60)])
    assert loan.rows is not None
    from_rows, stacked = Facility(loan), Facility(dataclasses.replace(loan, rows=None))
    schedules = []
    for month, share in prepayments:
        amount = share * float(from_rows.balance_usd[month])
        from_rows.prepay(month, amount)
        stacked.prepay(month, amount)
        ours, theirs = from_rows.schedule(), stacked.schedule()
        for name in SCHEDULE_ARRAYS:
            assert getattr(ours, name).tobytes() == getattr(theirs, name).tobytes()
            for mine, other in zip(ours.tranches, theirs.tranches):
                assert getattr(mine, name).tobytes() == getattr(other, name).tobytes()
        schedules.append((ours, {name: getattr(ours, name).tobytes() for name in SCHEDULE_ARRAYS}))
    for schedule, then in [(loan, {name: getattr(loan, name).tobytes() for name in SCHEDULE_ARRAYS}),
                           *schedules]:
        for name in SCHEDULE_ARRAYS:
            assert getattr(schedule, name).tobytes() == then[name]  # as it was returned
            assert schedule.rows[name].tobytes() == np.array(
                [getattr(part, name) for part in schedule.tranches]).tobytes()


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 12), st.sampled_from([1, 2, 60]),
       st.lists(st.tuples(st.integers(0, 59), st.floats(0.0, 1.0)), min_size=1, max_size=12))
def test_a_facility_reads_a_month_and_prepays_rows_as_views_to_the_last_bit(seed, n_loans, n_months,
                                                                          prepayments):
    """After each prepayment, `month_usd` is the month of the sums numpy makes (each tranche in
    turn), and the rows prepaid as slices (tranches that follow one another) are those prepaid
    as arrays of tranches: level loans that start and end apart owe in runs and in gaps."""
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n_months, n_loans).tolist()
    loan = level_loans(rng.uniform(1e5, 1e7, n_loans).tolist(), 0.0775, int(rng.integers(1, 30)), starts,
                       n_months)
    as_views = Facility(loan)
    arrays = lambda which: np.array(which, dtype=np.intp)  # noqa: E731 - every set of tranches an array
    with mock.patch.object(schedule_module, "_tranches", arrays):  # the same prepayments
        as_arrays = Facility(loan)
        for month, share in prepayments:
            as_arrays.prepay(month % n_months, share * float(as_arrays.balance_usd[month % n_months]))
    for month, share in prepayments:
        month %= n_months
        as_views.prepay(month, share * as_views.month_usd(month)[2])
        for m in range(n_months):
            read = as_views.month_usd(m)
            summed = (as_views.interest_usd[m], as_views.principal_usd[m], as_views.balance_usd[m])
            assert np.array(read).tobytes() == np.array(summed).tobytes()
            as_views.sums = None  # read the next month from the rows again
    for name in SCHEDULE_ARRAYS:
        assert getattr(as_views.schedule(), name).tobytes() == getattr(as_arrays.schedule(), name).tobytes()


def test_a_sum_of_loans_at_different_rates_is_rated_by_balance():
    both = combine([level_schedule(1e6, 0.05, 12, 0, 12), level_schedule(3e6, 0.09, 12, 0, 12)])
    assert np.isclose(both.rate_per_year[0], (1e6 * 0.05 + 3e6 * 0.09) / 4e6, rtol=1e-12)
    assert np.isclose(-both.interest_usd[0], 1e6 * 0.05 / 12 + 3e6 * 0.09 / 12, rtol=1e-12)


def test_prepaying_everything_ends_the_loan():
    schedule = bullet_schedule(5e5, 0.07, 24, 0, 24)
    after = prepay(schedule, 4, float(schedule.balance_usd[4]))
    assert not after.balance_usd[4:].any() and not after.debt_service_usd[5:].any()
    with pytest.raises(ValueError, match="amount_usd"):
        prepay(schedule, 4, 6e5)


@settings(max_examples=60, deadline=None)
@given(principal=st.floats(1.0, 1e9), rate=st.floats(0.0, 0.25), months=st.integers(1, 240),
       start=st.integers(0, 24), n_months=st.integers(1, 300),
       kind=st.sampled_from(["level", "bullet", "sculpted", "combined"]), prepaid_share=st.floats(0.0, 1.0),
       prepay_at=st.integers(0, 299))
def test_money_is_conserved_and_balances_stay_positive(principal, rate, months, start, n_months, kind,
                                                        prepaid_share, prepay_at):
    if kind == "sculpted":
        cfads = np.random.default_rng(months).uniform(-1e5, 1e6, start + months)
        cfads[-1] = 1e5  # some forecast CFADS to repay from
        schedule = sculpted_schedule(principal, rate, cfads, start, months, n_months)
    elif kind == "combined":  # two loans, the second funded later at another rate
        schedule = combine([level_schedule(principal, rate, months, start, n_months),
                            bullet_schedule(principal / 2, rate + 0.01, months, start + 3, n_months)])
    else:
        build = level_schedule if kind == "level" else bullet_schedule
        schedule = build(principal, rate, months, start, n_months)
    month = prepay_at % n_months
    prepaid = prepay(schedule, month, prepaid_share * float(schedule.balance_usd[month]))
    for s in (schedule, prepaid):
        assert conserved(s)
        assert (s.balance_usd >= 0).all() and (s.principal_usd <= 0).all() and (s.interest_usd <= 0).all()
        assert (s.capitalised_interest_usd >= 0).all()
    if start + months <= n_months and kind != "combined":
        assert schedule.balance_usd[start + months - 1] == 0.0


def closed_form_level(principal, rate, months, start, n_months):
    """Return (interest, principal, balance) of a level loan at one rate by the closed form, one
    loan at a time on slices: after k payments P·g^k − A·(g^k − 1)/r (the loan's own rule)."""
    r = rate / 12.0
    payment = principal * r / (1.0 - (1.0 + r) ** -months) if abs(r) >= 1e-15 else principal / months
    interest, repaid_by_month, balance = np.zeros(n_months), np.zeros(n_months), np.zeros(n_months)
    stop = min(start + months, n_months)
    if principal > 0 and start < stop:
        k = np.arange(stop - start, dtype=float)
        if abs(r) < 1e-15:
            before = principal - payment * k
        else:
            gained = np.expm1(k * np.log1p(r))
            before = principal * (1.0 + gained) - payment * gained / r
        repaid = np.minimum(payment - before * r, before)
        if start + months <= n_months:
            repaid[-1] = before[-1]
        interest[start:stop], repaid_by_month[start:stop] = -(before * r), -repaid
        balance[start:stop] = before - repaid
    return interest, repaid_by_month, balance


@settings(max_examples=100, deadline=None)
@given(loans=st.lists(st.tuples(st.floats(0.0, 1e9), st.integers(0, 130)), min_size=1, max_size=8),
       rate=st.sampled_from([0.0, 1e-16, 0.0775, 0.25, -0.01]), months=st.integers(1, 150),
       n_months=st.integers(1, 130))
def test_level_loans_together_are_each_loan_by_the_closed_form_to_the_last_bit(loans, rate, months,
                                                                               n_months):
    together = level_loans([p for p, _ in loans], rate, months, [s for _, s in loans], n_months)
    parts = together.tranches or (together,)
    assert len(parts) == len(loans)
    for (principal, start), part in zip(loans, parts):
        interest, repaid, balance = closed_form_level(principal, rate, months, start, n_months)
        for got, expected in ((part.interest_usd, interest), (part.principal_usd, repaid),
                              (part.balance_usd, balance)):
            assert got.tobytes() == expected.tobytes()
        assert part.funded_usd.tolist() == [principal if m == start else 0.0 for m in range(n_months)]
    if len(loans) > 1:  # summed as combine sums the loans one at a time
        alone = combine([level_schedule(p, rate, months, s, n_months) for p, s in loans])
        for name in ("interest_usd", "principal_usd", "balance_usd", "rate_per_year"):
            assert getattr(together, name).tobytes() == getattr(alone, name).tobytes()


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 40), st.sampled_from([1, 2, 3, 121]))
def test_a_sum_of_rows_is_each_table_summed_alone_to_the_last_bit(seed, n_loans, n_months):
    """The tables of a sum of loans, reduced together, keep the bits of each table's own sum
    over its rows (a single month's rows sum pairwise, longer ones row by row), and the rate
    is the balance-weighted one of those sums."""
    rng = np.random.default_rng(seed)
    names = (*schedule_module._SUMMED, "rate_per_year")
    rows = {name: rng.normal(size=(n_loans, n_months)) * 10.0 ** rng.integers(-2, 9, size=(n_loans, n_months))
            for name in names}
    rows["rate_per_year"] = rng.uniform(0.0, 0.2, size=(n_loans, n_months))
    summed = schedule_module.sum_of_rows(rows)
    for name in schedule_module._SUMMED:
        assert getattr(summed, name).tobytes() == rows[name].sum(axis=0).tobytes(), name
    opening = np.zeros_like(rows["balance_usd"])
    opening[:, 1:] = rows["balance_usd"][:, :-1]
    opening += rows["funded_usd"]
    total = opening.sum(axis=0)
    rate = np.divide((opening * rows["rate_per_year"]).sum(axis=0), total,
                     out=rows["rate_per_year"][0].copy(), where=total > 0)
    assert summed.rate_per_year.tobytes() == rate.tobytes()
