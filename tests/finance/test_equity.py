"""The equity's view of a replication (sim.finance.equity), against tables built in the test.

One block of 10 MW on a flat market (tests/constant_market.py): a fixed retrofit and capex,
one tenant waiting for the hall, so every monthly line of debt and equity can be built
here by hand, month by month, as a spreadsheet would.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

import sim
from sim.config_checks import settings
from sim.config_objects import build_strategies
from sim.economics import npv
from sim.finance import equity
from sim.finance.equity import FINANCE_CATEGORIES
from sim.ledger import CATEGORIES, Account
from sim.site import simulate

RATE = 0.0775
MONTHLY = RATE / 12
ONE_BLOCK = ["site.grid_mw=10", "site.blocks=1", "strategy=convert_all",
             "site.conversion.decommission_days=fixed:30", "site.conversion.retrofit_days=fixed:365",
             "site.conversion.capex_usd_per_mw_it=fixed:9e6",
             # one tenant for the whole hall, asking on day 0 and waiting two years
             "market.demand.requests=[[0, 7.6923, 3652, 120, 730]]",
             "site.sign_converting=true", "run.deterministic=true", "finance.debt.target_dscr=1.0",
             "finance.covenant.min_dscr=1.0"]
NO_TAX = ["finance.tax.federal_rate=0", "finance.tax.state_rate=0"]


def account(compose, *overrides) -> Account:
    cfg = compose(*ONE_BLOCK, *overrides)
    checked = settings(cfg)
    world = sim.sample_world(cfg, 0)
    strategy = build_strategies(cfg)["convert_all"]
    return Account(checked, world, simulate(checked, world, strategy))


def month_of_each_day(acc: Account) -> np.ndarray:
    """Return each day's month index from the calendar (not from the ledger's month starts)."""
    dates = pd.to_datetime(acc.world.date)
    months = dates.year * 12 + dates.month
    return np.asarray(months - months[0])


def annuity(principal, rate, n):
    return principal * rate / (1 - (1 + rate) ** -n)


def test_every_line_of_a_one_block_loan_matches_a_spreadsheet(compose_constant):
    acc = account(compose_constant, *NO_TAX)
    fin = acc.financing
    n = acc.monthly.shape[1]
    (hall,) = acc.record.conversions
    assert (hall.start_day, hall.end_day) == (30, 395)
    # Capex is spent evenly on days 30..394: by calendar month.
    month = month_of_each_day(acc)
    capex = np.zeros(n)
    for day in range(30, 395):
        capex[month[day]] += hall.capex_usd / 365
    np.testing.assert_allclose(capex, -acc.monthly[CATEGORIES.index("capex_conversion")], atol=1e-6)
    # The tenant signs against the converting hall and its lease starts when it is ready:
    # the construction loan converts at the end of the month of day 395.
    lease = acc.record.leases[0]
    assert lease.start_day == 395
    convert = month[395]
    draws = 0.8 * capex
    balance, capitalised = 0.0, np.zeros(n)
    for m in range(convert + 1):
        capitalised[m] = balance * MONTHLY
        balance += capitalised[m] + draws[m]
    payment = annuity(balance, MONTHLY, 120)
    interest, principal = np.zeros(n), np.zeros(n)
    owed = balance
    for m in range(convert + 1, n):
        interest[m] = -owed * MONTHLY
        principal[m] = -(payment + interest[m])
        owed += principal[m]
    principal[-1] -= owed  # the sale at the horizon repays the rest
    fees = np.zeros(n)
    fees[np.flatnonzero(capex > 0)[0]] = -0.02 * 0.8 * capex.sum()
    lines = dict(zip(FINANCE_CATEGORIES, fin.lines))
    np.testing.assert_allclose(lines["debt_draw"], draws, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(lines["interest"], interest, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(lines["principal"], principal, rtol=1e-9, atol=1e-4)
    np.testing.assert_allclose(lines["fees"], fees, rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(lines["tax"], 0.0)
    equity = acc.monthly.sum(axis=0) + draws + interest + principal + fees
    np.testing.assert_allclose(fin.equity_usd, equity, rtol=1e-9, atol=1e-4)
    # The cover of a let hall: rent less opex over the level payment, once tested.
    rent = 7692.3 * 120 * 12 - 7692.3 * 18 * 12
    assert fin.min_dscr == pytest.approx(rent / (12 * payment), rel=0.01)
    assert not fin.breach_months


def test_without_debt_or_tax_the_equity_is_the_unlevered_site(compose_constant):
    acc = account(compose_constant, *NO_TAX, "finance.debt.loan_to_cost=0")
    fin = acc.financing
    np.testing.assert_array_equal(fin.lines, 0.0)
    np.testing.assert_array_equal(fin.equity_usd, acc.monthly.sum(axis=0))
    assert np.isnan(fin.dscr).all()
    row = acc.summary()
    assert row["equity_npv_usd"] == npv(acc.monthly.sum(axis=0), 0.15, acc.first_share)
    assert row["npv_after_tax_usd"] == row["npv_usd"]
    assert not row["covenant_breached"] and np.isnan(row["min_dscr"])


def test_tax_of_a_profitable_mine_by_hand(compose_constant):
    """A mine on a flat market, never upgraded, never makes a loss: each year pays 21% of
    EBITDA less the machines bought back (expensed: 100% bonus), the last year also of the
    sale (no basis left)."""
    cfg = compose_constant("strategy=stay_mining", "run.deterministic=true", "finance.debt.loan_to_cost=0",
                           "fleet.upgrade_every_years=null")
    checked = settings(cfg)
    world = sim.sample_world(cfg, 0)
    acc = Account(checked, world, simulate(checked, world, build_strategies(cfg)["stay_mining"]))
    rows = {name: acc.monthly[i] for i, name in enumerate(CATEGORIES)}
    n = acc.monthly.shape[1]
    ebitda = sum(rows[c] for c in ("mining_revenue", "pool_fees", "power_cost", "power_resale",
                                   "demand_response", "opex")) + rows["asic_salvage"]
    capex = -(rows["capex_asic_refresh"] + rows["capex_gpu"])
    expected = np.zeros(n)
    for start in range(0, n, 12):
        year = slice(start, min(start + 12, n))
        taxable = ebitda[year].sum() - capex[year].sum()
        if year.stop == n:
            taxable += rows["terminal_value"][-1]
        assert taxable > 0
        expected[year.stop - 1] = -0.21 * taxable
    np.testing.assert_allclose(acc.financing.lines[FINANCE_CATEGORIES.index("tax")], expected,
                               rtol=1e-9)
    np.testing.assert_allclose(acc.financing.tax_unlevered_usd, expected, rtol=1e-9)


@pytest.mark.parametrize("overrides", [["finance.debt.loan_to_cost=0"], []])
def test_peak_equity_is_before_the_sale_and_its_tax(compose_constant, overrides):
    """peak_equity_usd is the equity's deepest cumulative deficit before the horizon sale:
    the same whatever the sale fetches (its tax included), and here, where the last month
    earns rent, the deepest point of the months before it."""
    for method in ("market", "contracted", "none"):
        acc = account(compose_constant, f"run.terminal_value={method}", *overrides)
        before_last = np.cumsum(acc.financing.equity_usd[:-1])
        assert acc.summary()["peak_equity_usd"] == pytest.approx(-before_last.min(), rel=1e-12)
        assert before_last.min() < 0


@pytest.mark.parametrize("horizon_years", [1.09, 1.12])
def test_an_equipment_loan_drawn_in_the_last_month_is_repaid_by_the_sale(compose_constant,
                                                                         horizon_years):
    """The hall's GPUs are bought in month 13: the last month of a 1.09-year horizon, the
    one before the last of a 1.12-year one. Either way the sale repays everything drawn."""
    acc = account(compose_constant, "strategy.convert_all.use=cloud",
                  "finance.equipment.loan_to_value=0.5", f"run.horizon_years={horizon_years}")
    gpus = acc.monthly[acc.category_index["capex_gpu"]]
    assert np.flatnonzero(gpus).tolist() == [13]
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    assert lines["debt_draw"][13] >= -0.5 * gpus[13]
    assert -lines["principal"].sum() >= lines["debt_draw"].sum()


def test_a_one_block_cloud_hall_is_financed_as_a_cloud_hall(compose_constant):
    """A cloud hall's construction loan converts when the hall is ready (day 395, month 13),
    and pays interest from then, as a let hosting hall's does; it was recorded as a hosting
    hall, so its loan waited for a tenant that never comes and paid no interest at all."""
    acc = account(compose_constant, "strategy.convert_all.use=cloud", "run.horizon_years=3")
    assert [c.use for c in acc.record.conversions] == ["cloud"]
    interest = acc.financing.lines[FINANCE_CATEGORIES.index("interest")]
    assert np.flatnonzero(interest < 0).tolist() == list(range(14, len(interest)))


def test_a_default_hands_the_site_to_the_lender(compose_constant):
    acc = account(compose_constant, *NO_TAX, "finance.covenant.min_dscr=5", "finance.covenant.cure=default")
    fin = acc.financing
    assert fin.default_month is not None and fin.breach_months == (fin.default_month,)
    np.testing.assert_array_equal(fin.equity_usd[fin.default_month:], 0.0)
    np.testing.assert_array_equal(fin.lines[:, fin.default_month:], 0.0)
    assert acc.summary()["covenant_breached"]


def test_a_sweep_repays_the_loan_faster_and_is_logged(compose_constant):
    plain = account(compose_constant, *NO_TAX)
    swept = account(compose_constant, *NO_TAX, "finance.covenant.min_dscr=5", "run.event_log=true")
    p = FINANCE_CATEGORIES.index("principal")
    assert swept.financing.breach_months
    # Before the last month (the sale), the sweep has repaid more than the schedule.
    assert swept.financing.lines[p, :-1].sum() < plain.financing.lines[p, :-1].sum()
    events = [e.event for e in swept.events()]
    assert events.count("covenant_breach") == len(swept.financing.breach_months)


def test_a_loan_is_no_larger_than_the_forecast_covers(compose_constant):
    """At target 1.3 the level payment is the forecast (rent less opex) over 1.3."""
    acc = account(compose_constant, *NO_TAX, "finance.debt.target_dscr=1.3")
    fin = acc.financing
    forecast = 7692.3 * (120 - 18)
    first = np.flatnonzero(fin.lines[FINANCE_CATEGORIES.index("interest")] < 0)[0]
    service = -(fin.lines[1, first] + fin.lines[2, first])
    assert service == pytest.approx(forecast / 1.3, rel=1e-3)


def construction_balance_by_hand(acc, through_month, monthly=None):
    """Return the draws (80% of each month's capex) and the balance with interest capitalised
    at 7.75% / 12 (or `monthly`, a rate by month), month by month to the end of `through_month`."""
    capex = -acc.monthly[CATEGORIES.index("capex_conversion")]
    balance = 0.0
    for m in range(through_month + 1):
        balance += balance * (MONTHLY if monthly is None else monthly[m]) + 0.8 * capex[m]
    return 0.8 * capex, balance


def level_capacity_by_hand(kw_it, cover=1.3):
    """Return the most a level 10-year loan may be against the hall's rent less opex at `cover`."""
    payment = kw_it * (120 - 18) / cover
    return payment * (1 - (1 + MONTHLY) ** -120) / MONTHLY


def test_a_hall_never_let_repays_its_construction_loan_at_maturity(compose_constant):
    """No tenant: the construction loan matures 36 months after its first draw, and the
    equity repays it then, capitalised interest and all; it never pays interest in cash.
    It was carried to the horizon, doubling on capitalised interest, for the sale to repay."""
    acc = account(compose_constant, *NO_TAX, "market.demand.requests=[]")
    assert not acc.record.leases
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    first = int(np.flatnonzero(lines["debt_draw"])[0])
    maturity = first + 36  # drawn from month 1 (July 2026), due in month 37 (July 2029)
    draws, balance = construction_balance_by_hand(acc, maturity)
    np.testing.assert_allclose(lines["debt_draw"], draws, rtol=1e-12, atol=1e-6)
    principal = np.zeros_like(draws)
    principal[maturity] = -balance
    np.testing.assert_allclose(lines["principal"], principal, rtol=1e-12, atol=1e-6)
    np.testing.assert_array_equal(lines["interest"], 0.0)
    # Without a maturity it is still owed at the horizon, as before.
    forever = account(compose_constant, *NO_TAX, "market.demand.requests=[]",
                      "finance.debt.construction_months=null")
    owed = dict(zip(FINANCE_CATEGORIES, forever.financing.lines))["principal"]
    assert np.flatnonzero(owed).tolist() == [len(owed) - 1]
    assert -owed[-1] == pytest.approx(construction_balance_by_hand(acc, len(owed) - 1)[1], rel=1e-12)


@pytest.mark.parametrize("asked_day", [0, 800])
def test_construction_draws_do_not_look_ahead_to_the_letting(compose_constant, asked_day):
    """The construction loan draws 80% of the capex as it is spent, whenever a tenant comes
    later; at conversion the balance above what the lender's forecast covers at 1.3 is paid
    down by the equity. The draws were scaled from the first month by that later cover: a
    hall let in month 27 drew less, from month 1, than one let in month 13."""
    acc = account(compose_constant, *NO_TAX, f"market.demand.requests=[[{asked_day}, 7.6923, 3652, 120, 730]]",
                  "finance.debt.target_dscr=1.3")
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    convert = int(month_of_each_day(acc)[int(acc.record.leases[0].start_day)])
    assert convert == (13 if asked_day == 0 else 27)
    draws, balance = construction_balance_by_hand(acc, convert)
    np.testing.assert_allclose(lines["debt_draw"], draws, rtol=1e-12, atol=1e-6)
    capacity = level_capacity_by_hand(acc.record.conversions[0].kw_it)
    assert capacity < balance
    assert lines["principal"][convert] == pytest.approx(-(balance - capacity), rel=1e-9)
    assert np.flatnonzero(lines["interest"])[0] == convert + 1
    assert -lines["interest"][convert + 1] == pytest.approx(capacity * MONTHLY, rel=1e-9)


def test_a_hall_let_after_the_loan_matured_borrows_again(compose_constant):
    """A tenant asks on day 1,300, after the 36 months: the equity repays the construction
    loan at maturity, and the hall borrows again when let: what its forecast covers, at most
    80% of its cost, with its own 2% fee, repaid from the next month."""
    acc = account(compose_constant, *NO_TAX, "market.demand.requests=[[1300, 7.6923, 3652, 120, 730]]",
                  "finance.debt.target_dscr=1.3")
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    first = int(np.flatnonzero(lines["debt_draw"])[0])
    maturity = first + 36  # drawn from month 1 (July 2026), due in month 37 (July 2029)
    let = int(month_of_each_day(acc)[1300])
    assert maturity < let
    draws, balance = construction_balance_by_hand(acc, maturity)
    (hall,) = acc.record.conversions
    again = min(0.8 * hall.capex_usd, level_capacity_by_hand(hall.kw_it))
    draws[let] += again
    np.testing.assert_allclose(lines["debt_draw"], draws, rtol=1e-12, atol=1e-6)
    assert lines["principal"][maturity] == pytest.approx(-balance, rel=1e-12)
    assert lines["principal"][maturity + 1:let + 1].tolist() == [0.0] * (let - maturity)
    assert lines["fees"][let] == pytest.approx(-0.02 * again, rel=1e-12)
    assert np.flatnonzero(lines["interest"])[0] == let + 1
    assert -lines["interest"][let + 1] == pytest.approx(again * MONTHLY, rel=1e-9)


def levered_interest_by_year(compose_constant, monkeypatch, *overrides):
    """Return the account and the interest by tax year each levered tax (`_Taxes._monthly`)
    deducts (the cover's, with a term loan; the tax's; the sale's, where a cure changed the
    debt), spied on."""
    seen = []
    real = equity._Taxes._monthly
    monkeypatch.setattr(equity._Taxes, "_monthly",
                        lambda self, ebitda, depreciation, interest: seen.append(interest) or real(
                            self, ebitda, depreciation, interest))
    acc = account(compose_constant, *overrides)
    assert acc.financing is not None  # computed when first read
    return acc, [interest for interest in seen if np.ndim(interest)]  # not the unlevered tax's 0.0


def test_upfront_fees_are_deducted_as_interest_over_their_loans_lives(compose_constant, monkeypatch):
    """The construction loan's fee (2% of 80% of the capex, paid at the first draw, month 1)
    is deducted as interest evenly over the loan's months as known then, to its maturity
    (month 37); once it becomes a term loan (month 13) what is left is spread over the term
    loan's months (14 to 133), the rest in the horizon's month, when the sale repays the
    loan. The tax reads the interest paid plus that, by tax year. It was never deducted;
    then it was spread to the term loan's last month from the start, so the tax before the
    letting depended on when the letting came."""
    acc, levered = levered_interest_by_year(compose_constant, monkeypatch)
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    n = len(lines["fees"])
    (paid,) = np.flatnonzero(lines["fees"])
    fee = -lines["fees"][paid]
    convert = int(month_of_each_day(acc)[395])
    maturity, last = paid + 36, convert + 120
    assert (paid, convert, maturity) == (1, 13, 37) and last > n - 1
    deducted = np.zeros(n)
    deducted[paid:convert + 1] = fee / (maturity - paid + 1)
    left = fee - deducted.sum()
    deducted[convert + 1:] = left / (last - convert)
    deducted[-1] += left - deducted[convert + 1:].sum()
    by_year = [(-lines["interest"][y:y + 12] + deducted[y:y + 12]).sum() for y in range(0, n, 12)]
    # the cover's, the tax's (the sale's is the cover's: no cure changed the debt)
    assert len(levered) == 2 and not acc.financing.breach_months
    for interest in levered:
        np.testing.assert_allclose(interest, by_year, rtol=1e-12)
        assert sum(interest) == pytest.approx(fee - lines["interest"].sum(), rel=1e-12)


def test_halls_let_after_maturity_borrow_on_the_rent_index_of_their_letting(compose_constant):
    """A new loan on halls let after their construction loan matured closes when they are
    let: its lender reads the lease index of then ($100 from day 1,000), not of the day the
    build began ($120), which no lender would see at the new close (it lent 80% of cost)."""
    acc = account(compose_constant, *NO_TAX, "market.demand.requests=[[1300, 7.6923, 3652, 120, 730]]",
                  "finance.debt.target_dscr=1.3", "market.ai._target_=constant_market.SteppedAI",
                  "+market.ai.later_usd_per_kw_month=100", "+market.ai.step_day=1000")
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    let = int(month_of_each_day(acc)[1300])
    (hall,) = acc.record.conversions
    payment = hall.kw_it * (100 - 18) / 1.3
    capacity = payment * (1 - (1 + MONTHLY) ** -120) / MONTHLY
    assert capacity < 0.8 * hall.capex_usd
    assert lines["debt_draw"][let] == pytest.approx(capacity, rel=1e-12)


@pytest.mark.parametrize("asked_day", [0, 800, None])
def test_nothing_deducted_before_the_letting_depends_on_when_it_comes(compose_constant, monkeypatch,
                                                                      asked_day):
    """Year 0's deductions (the fee's share to month 11, 1/37 of it a month) are the same
    whether the hall is let in month 13, in month 27 or never: the fee was spread from the
    start to the term loan's last month, so the tax before the letting knew when it came.
    And once built (month 13) a hall waiting for a tenant deducts the interest its loan
    accrues (it joined the hall's basis)."""
    requests = "[]" if asked_day is None else f"[[{asked_day}, 7.6923, 3652, 120, 730]]"
    acc, levered = levered_interest_by_year(compose_constant, monkeypatch,
                                            f"market.demand.requests={requests}")
    assert len(levered) >= 2  # the tax's, the sale's (and the cover's, with a term loan)
    for interest in levered[1:]:
        np.testing.assert_array_equal(interest, levered[0])
    by_year = np.array(levered[0])
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    fee = -lines["fees"][1]
    assert by_year[0] == pytest.approx(fee * 11 / 37, rel=1e-12)
    if asked_day is None:  # never let: repaid in month 37; months 13 to 37 accrue after completion
        capex = -acc.monthly[CATEGORIES.index("capex_conversion")]
        built = int(np.flatnonzero(capex)[-1])
        balance, accrued = 0.0, np.zeros(len(capex))
        for m in range(38):
            accrued[m] = balance * MONTHLY
            balance += accrued[m] + 0.8 * capex[m]
        assert built == 13
        assert by_year[1] == pytest.approx(fee * 12 / 37 + accrued[14:24].sum(), rel=1e-12)
        assert by_year[3] == pytest.approx(fee * 2 / 37 + accrued[36:38].sum(), rel=1e-12)


def test_a_floating_loan_is_sized_at_the_rate_known_at_close(compose_constant):
    """A floating rate is sized at its month of close (the month's mean short rate plus the
    spread, held flat), not on the rates realised over the term."""
    acc = account(compose_constant, *NO_TAX, "finance.debt.target_dscr=1.3", "finance.debt.rate=floating")
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    month = month_of_each_day(acc)
    convert = int(month[395])
    short = acc.world.short_rate
    at_close = short[month == convert].mean() + 0.0275
    assert np.ptp(short) > 0.001  # the rates move over the term
    draws, balance = construction_balance_by_hand(acc, convert, monthly=[
        short[month == m].mean() / 12 + 0.0275 / 12 for m in range(convert + 1)])
    r = at_close / 12
    capacity = acc.record.conversions[0].kw_it * (120 - 18) / 1.3 * (1 - (1 + r) ** -120) / r
    assert capacity < balance
    assert lines["principal"][convert] == pytest.approx(-(balance - capacity), rel=1e-9)


def test_a_fee_is_deducted_over_its_loan_or_at_the_horizon_by_hand():
    """1,200 paid in month 2 on a loan whose last month is 13, on a 10-month grid: 100 a month
    from month 2, and the 400 left in month 9, when the sale repays the loan; 600 paid in
    month 1 on a loan repaid in month 3: 200 a month in months 1 to 3; 1,400 paid in month 0
    on a construction loan due in month 6 (200 a month) that becomes in month 1 a term loan
    to month 8: 200 in months 0 and 1, the 1,000 left over months 2 to 8, 1000/7 each."""
    deducted = equity._fee_deductions([(1200.0, 2, 13, None), (600.0, 1, 3, None),
                                       (1400.0, 0, 6, (1, 8))], 10)
    term = 1000 / 7
    np.testing.assert_allclose(deducted, [200, 400, 300 + term, 300 + term, 100 + term, 100 + term,
                                          100 + term, 100 + term, 100 + term, 500])
    assert deducted.sum() == pytest.approx(3200.0, rel=1e-12)




@hsettings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ltc=st.floats(0.1, 0.9), amortisation=st.sampled_from(["level", "sculpted", "bullet"]),
       term=st.sampled_from([3, 7, 12]))
def test_money_is_conserved_between_the_lender_and_the_equity(compose_constant, ltc, amortisation, term):
    acc = account(compose_constant, f"finance.debt.loan_to_cost={ltc}",
                  f"finance.debt.amortisation={amortisation}", f"finance.debt.term_years={term}")
    lines = dict(zip(FINANCE_CATEGORIES, acc.financing.lines))
    # Everything drawn, with the interest capitalised in construction, is repaid by the end.
    borrowed = lines["debt_draw"].sum()
    assert -lines["principal"].sum() >= borrowed
    np.testing.assert_allclose(acc.financing.equity_usd,
                               acc.monthly.sum(axis=0) + acc.financing.lines.sum(axis=0), rtol=1e-12)


def test_a_floating_sculpted_loans_service_does_not_look_ahead_to_later_rates():
    """A sculpted loan's debt service is set at close, at the rate known then; the rates
    later months turn out to have accrue its interest but cannot reach back: 5 points more
    from month 60 moved month 14's service from $3.906M to $4.246M (an audit)."""
    import dataclasses

    cfg = sim.compose(["run.deterministic=true", "run.replications=1", "run.progress=false",
                       "run.compare=false", "finance.debt.rate=floating",
                       "finance.debt.amortisation=sculpted"])
    world = sim.sample_world(cfg, 0)
    later = np.array(world.short_rate, copy=True)
    later[world.month_starts()[60]:] += 0.05
    strategy = build_strategies(settings(cfg))["convert_all"]
    financed = [Account(cfg, w, simulate(cfg, w, strategy)).financing
                for w in (world, dataclasses.replace(world, short_rate=later))]
    service = [f.covenant.schedule.debt_service_usd for f in financed]
    interest = [dict(zip(FINANCE_CATEGORIES, f.lines))["interest"] for f in financed]
    assert int(np.flatnonzero(service[0])[0]) < 59  # it pays before the rates change
    assert np.all(interest[1][61:] < interest[0][61:])  # the later rates do accrue (cash out < 0)
    np.testing.assert_array_equal(service[1][:60], service[0][:60])
