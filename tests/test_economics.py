"""The facts of Bitcoin and money against published figures, closed forms and hand sums."""

import ast
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sim import economics, ledger
from sim.compare import stats
from sim.economics import (HURDLE_TOP, IRR_GRID, TARGET_TIMESPAN_S, below_breakeven, breakeven_power_usd_per_mwh,
                           discount_factors, first_month_share, hashprice_usd_per_ph_day, irr, mining_margin,
                           mining_revenue_usd_per_day, mining_revenue_usd_per_mw_day, npv,
                           payback_years, peak_funding_usd, power_cost_usd_per_mw_day, retarget,
                           subsidy_btc, subsidy_sats, th_per_mw)

T = TARGET_TIMESPAN_S
cash_flows = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=60)


def test_economics_is_the_bottom_layer():
    tree = ast.parse(open(economics.__file__, encoding="utf-8").read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name for name in imported if name.split(".")[0] == "sim"} <= {"sim.errors", "sim.memo"}


# --- hashprice and breakeven ----------------------------------------------------------------
def test_hashprice_matches_the_hand_calculation_and_hashrate_index():
    fees = 3.125 * 0.0055 / (1 - 0.0055)  # fees are 0.55% of the whole reward (≈0.0173 BTC)
    hashprice = hashprice_usd_per_ph_day(3.125, fees, 91_132.0, 148.26e12)
    # 86,400 s · 1e15 H/s · 3.1422 BTC · $91,132 / (148.26e12 · 2^32 hashes per block)
    assert hashprice == pytest.approx(38.85, abs=0.01)
    assert abs(hashprice / 39.53 - 1) < 0.03  # Luxor's Hashrate Index, 2026-01-12


def test_a_mw_mines_a_million_over_joules_per_th_and_pue():
    assert th_per_mw(17.5, 1.05) == pytest.approx(1e6 / 18.375)  # 54,421.8 TH/s
    assert mining_revenue_usd_per_day(1_000.0, 50.0) == pytest.approx(50.0)  # 1 PH/s at $50


def test_breakeven_price_is_the_closed_form_and_revenue_there_pays_the_power():
    hashprice, j_per_th, pue, fee = 50.0, 17.5, 1.05, 0.02
    revenue = mining_revenue_usd_per_mw_day(hashprice, th_per_mw(j_per_th, pue), fee)
    breakeven = breakeven_power_usd_per_mwh(revenue)
    # p* = hashprice per TH-day · (1 − fee) / (J/TH · 24e-6 MWh per W-day · PUE) = $111.11
    assert breakeven == pytest.approx(0.05 * 0.98 / (17.5 * 24e-6 * 1.05), rel=1e-12)
    assert power_cost_usd_per_mw_day(breakeven) == pytest.approx(revenue, rel=1e-12)
    assert not below_breakeven(revenue, breakeven * (1 - 1e-9))
    assert below_breakeven(revenue, breakeven * (1 + 1e-9))
    spot = np.array([100.0, 111.0, 112.0, 200.0])
    assert list(below_breakeven(revenue, spot)) == [False, False, True, True]


def test_mining_margin_is_one_less_cost_over_revenue():
    assert mining_margin(2_400.0, 50.0) == pytest.approx(0.5)  # $1,200 of power a day
    assert mining_margin(2_400.0, 100.0) == pytest.approx(0.0)
    assert mining_margin(0.0, 50.0) == pytest.approx(1.0 - 1_200.0 / 1e-9)  # revenue floored


# --- retarget ---------------------------------------------------------------------------------
def test_retarget_clamps_to_a_factor_of_four_on_scalars_and_arrays():
    assert retarget(1e14, T) == 1e14
    assert retarget(1e14, T / 2) == 2e14
    assert retarget(1e14, T / 4) == retarget(1e14, T / 10) == 4e14
    assert retarget(1e14, 4 * T) == retarget(1e14, 10 * T) == 2.5e13
    assert isinstance(retarget(1e14, T), float)
    spans = np.array([T / 10, T / 2, 2 * T, 10 * T])
    np.testing.assert_array_equal(retarget(np.full(4, 8.0), spans), [32.0, 16.0, 4.0, 2.0])


@given(st.floats(1, 1e15), st.floats(1, 1e8), st.floats(1, 1e8))
def test_retarget_is_monotone_bounded_and_the_same_on_scalars_and_arrays(difficulty, span_a, span_b):
    short, long = sorted((span_a, span_b))
    assert retarget(difficulty, short) >= retarget(difficulty, long)
    for span in (short, long):
        new = retarget(difficulty, span)
        assert difficulty / 4 * (1 - 1e-12) <= new <= difficulty * 4 * (1 + 1e-12)
        assert retarget(np.array([difficulty]), np.array([span]))[0] == new  # bit for bit


# --- subsidy ----------------------------------------------------------------------------------
@pytest.mark.parametrize("height, sats", [
    (0, 5_000_000_000), (209_999, 5_000_000_000), (210_000, 2_500_000_000),
    (420_000, 1_250_000_000), (630_000, 625_000_000), (840_000, 312_500_000),
    (1_049_999, 312_500_000), (1_050_000, 156_250_000), (1_260_000, 78_125_000),
    (33 * 210_000, 0),  # 5e9 >> 33 rounds down to zero satoshis
])
def test_subsidy_at_the_halving_heights_in_exact_satoshis(height, sats):
    assert subsidy_sats(height) == sats and isinstance(subsidy_sats(height), int)
    assert subsidy_btc(height) == sats / 100_000_000


def test_subsidy_of_arrays_and_bad_heights():
    assert subsidy_sats(np.array([840_000, 1_049_999])).dtype == np.int64
    assert subsidy_btc(1_049_999) == 3.125 and subsidy_btc(1_050_000) == 1.5625
    with pytest.raises(TypeError, match="integer block height"):
        subsidy_sats(840_000.0)
    with pytest.raises(ValueError, match=">= 0"):
        subsidy_sats(-1)


@given(st.integers(1, 70))
def test_subsidy_halves_at_every_multiple_of_210000(halvings):
    boundary = halvings * 210_000
    assert subsidy_sats(boundary) == subsidy_sats(boundary - 1) >> 1
    assert subsidy_sats(boundary + 209_999) == subsidy_sats(boundary)


# --- discounting and NPV ------------------------------------------------------------------
def test_discount_factors_follow_the_monthly_convention():
    assert discount_factors(25, 0.10)[12] == pytest.approx(1 / 1.10)
    assert discount_factors(25, 0.10)[24] == pytest.approx(1 / 1.21)
    np.testing.assert_array_equal(discount_factors(24, 0.10, first_month=1),
                                  discount_factors(25, 0.10)[1:])


def test_npv_of_a_level_annuity_matches_its_closed_form():
    monthly = 1.1 ** (1 / 12) - 1
    closed = 1_000.0 * (1 - (1 + monthly) ** -120) / monthly * (1 + monthly)  # paid at month start
    assert npv(np.full(120, 1_000.0), 0.10) == pytest.approx(closed, rel=1e-12)


@pytest.mark.parametrize("day, share", [
    ("2026-07-01", 1.0), ("2026-06-26", 5 / 30), ("2026-06-30", 1 / 30), ("2026-01-12", 20 / 31),
    ("2026-02-28", 1 / 28), ("2028-02-28", 2 / 29), ("2026-12-31", 1 / 31)])
def test_month_0_covers_the_days_from_the_start_to_its_months_end(day, share):
    assert first_month_share(day) == pytest.approx(share, rel=1e-15)
    assert first_month_share(np.datetime64(day)) == first_month_share(day)


def test_a_start_within_a_month_discounts_month_m_by_the_time_from_day_0_to_its_first_day():
    # a start on 26 June: July opens 5 days (5/30 of a month) later, August a month after that
    factors = discount_factors(14, 0.10, first_share=5 / 30)
    assert factors[0] == 1.0
    assert factors[1] == pytest.approx(1.1 ** -(5 / 30 / 12), rel=1e-14)
    assert factors[13] == pytest.approx(1.1 ** -((12 + 5 / 30) / 12), rel=1e-14)
    np.testing.assert_array_equal(discount_factors(14, 0.10, first_share=1.0), discount_factors(14, 0.10))


@settings(max_examples=100, deadline=None)
@given(cash_flows, st.floats(0.01, 1.0), st.floats(-0.5, 1.0))
def test_a_late_start_brings_every_later_month_closer_by_the_days_month_0_lacks(flows, share, rate):
    cash = np.array(flows)
    later = npv(cash, rate) - cash[0]  # months 1.. as if month 0 were a whole month
    expected = cash[0] + later * (1 + rate) ** ((1 - share) / 12)
    assert npv(cash, rate, share) == pytest.approx(expected, rel=1e-9, abs=1e-6 * np.abs(cash).sum())


@settings(max_examples=100, deadline=None)
@given(cash_flows, st.floats(0.01, 1.0))
def test_the_irr_of_a_late_start_zeroes_the_npv_discounted_alike(flows, share):
    for cash in (np.array(flows), -np.array(flows)):
        rate = irr(cash, first_share=share)
        if math.isnan(rate):
            continue
        assert abs(npv(cash, rate, share)) <= 1e-7 * np.abs(cash).sum()


def test_the_irr_of_a_late_start_is_the_rate_that_built_the_cash():
    # −100 on day 0, +110 a year after it: month 12 opens (11 + 5/30) / 12 years after day 0
    cash = np.zeros(13)
    cash[0], cash[12] = -100.0, 110.0
    years = (11 + 5 / 30) / 12
    assert irr(cash, first_share=5 / 30) == pytest.approx(1.1 ** (1 / years) - 1, rel=1e-14)
    assert irr(cash) == pytest.approx(0.10, rel=1e-14)


# --- IRR ----------------------------------------------------------------------------------
def test_every_caller_uses_the_one_irr():
    assert ledger.irr is economics.irr and stats.irr is economics.irr


def test_irr_of_a_single_outlay_and_return():
    """Closed forms, to a few units in the last place (the root-finder stops at the rounding)."""
    assert irr([-100.0, 110.0], periods_per_year=1) == pytest.approx(0.10, rel=1e-14)
    monthly = np.zeros(13)
    monthly[0], monthly[12] = -100.0, 110.0
    assert irr(monthly) == pytest.approx(0.10, rel=1e-14)
    assert irr([-100.0, 0.0, 121.0], periods_per_year=1) == pytest.approx(0.10, rel=1e-14)
    assert irr([-100.0, 50.0], periods_per_year=1) == pytest.approx(-0.5, rel=1e-14)


def test_irr_of_a_level_annuity():
    payment = 100.0 * 0.08 / (1 - 1.08 ** -5)  # $25.05 a year for five years repays $100 at 8%
    assert irr(np.r_[-100.0, np.full(5, payment)], periods_per_year=1) == pytest.approx(0.08, rel=1e-14)
    bond = np.r_[-100.0, 10.0, 10.0, 110.0]  # a 10% coupon bond bought at par
    assert irr(bond, periods_per_year=1) == pytest.approx(0.10, rel=1e-14)


def test_irr_of_two_roots_is_nan():
    cash = [-100.0, 230.0, -132.0]  # x = 1/(1+r): NPV = −132 (x − 10/11)(x − 5/6)
    for root in (0.10, 0.20):
        assert -100.0 + 230.0 / (1 + root) - 132.0 / (1 + root) ** 2 == pytest.approx(0, abs=1e-12)
    # NPV > 0 only between 10% and 20%: neither root says which hurdle rates the flows beat
    assert math.isnan(irr(cash, periods_per_year=1))
    monthly = np.zeros(25)
    monthly[[0, 12, 24]] = cash
    assert math.isnan(irr(monthly))


def test_irr_of_a_site_that_mines_a_month_before_it_invests_is_its_return():
    """A first month of mining cash, then a build, then rent: NPV > 0 below the return and
    < 0 above it up to 100% a year, and positive again at thousands of percent, where
    discounting leaves only the first month. The rule of the whole grid called that
    "several roots" and gave NaN: phased's equity IRR in 159 of 200 default worlds."""
    monthly = np.array([150.0] + [-100.0] * 6 + [12.0] * 113)  # mine, build for six months, let
    rate = irr(monthly)
    months = np.arange(monthly.size)
    assert npv(monthly, rate) == pytest.approx(0.0, abs=1e-9 * np.abs(monthly).sum())
    assert 0.25 < rate < 0.40  # 144 a year on 450 net for nine and a half years
    assert monthly @ (1.0 + 1e3) ** -(months / 12) > 0  # the second root, beyond any hurdle
    assert monthly @ (1.0 + HURDLE_TOP) ** -(months / 12) < 0


def test_irr_of_a_loan_is_nan():
    # cash first, costs later: NPV < 0 below 10% and > 0 above; 10% is a cost of borrowing
    assert math.isnan(irr([100.0, -110.0], periods_per_year=1))
    monthly = np.zeros(13)
    monthly[0], monthly[12] = 100.0, -110.0
    assert math.isnan(irr(monthly))
    assert irr([-100.0, 110.0], periods_per_year=1) == pytest.approx(0.10, rel=1e-14)  # its mirror


def test_irr_of_rows_is_each_rows_irr():
    two = np.zeros((3, 25))
    two[:, 0] = -100
    two[0, 24] = 121.0                  # 10% a year over two years
    two[1, 12], two[1, 24] = 10.0, 110  # a 10% bond
    two[2, 0] = 0.0                     # no outlay: undefined
    rates = irr(two)
    assert rates[:2] == pytest.approx([0.10, 0.10], rel=1e-14) and math.isnan(rates[2])
    assert [irr(row) for row in two[:2]] == list(rates[:2])


@pytest.mark.parametrize("cash", [
    np.full(24, 5.0), np.full(24, -5.0), np.zeros(12), np.zeros(0),  # no outflow, no inflow, nothing
    np.r_[-100.0, 0.5],                                  # the root, −99.5% a year, is off the grid
    np.r_[-100.0, np.nan, 200.0], np.r_[-100.0, np.inf],  # not finite
])
def test_irr_is_nan_where_undefined(cash):
    assert math.isnan(irr(cash, periods_per_year=1))


def test_irr_rejects_a_bad_period():
    with pytest.raises(ValueError, match="periods_per_year"):
        irr([-1.0, 2.0], periods_per_year=0)


@settings(max_examples=60, deadline=None)
@given(st.floats(-0.5, 3.0), st.integers(13, 240))
def test_irr_recovers_the_rate_that_built_the_cash_flows(rate, months):
    cash = np.zeros(months)
    cash[0] = -100.0
    cash[-1] = 100.0 * (1 + rate) ** ((months - 1) / 12)
    assert irr(cash) == pytest.approx(rate, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(cash_flows)
def test_npv_at_the_irr_is_zero_and_no_lower_grid_rate_changes_its_sign(flows):
    for cash in (np.array(flows), -np.array(flows)):  # a loan's mirror is an investment
        rate = irr(cash)
        if math.isnan(rate):
            continue
        assert abs(npv(cash, rate)) <= 1e-7 * np.abs(cash).sum()
        below = np.array([npv(cash, r) for r in IRR_GRID[IRR_GRID < rate - 1e-9]])
        assert np.all(below > 0)  # the one root: none found before it


@settings(max_examples=300, deadline=None)
@given(cash_flows, st.sampled_from([1.0, 12.0]))
@example(flows=[100.0, -110.0], periods=1.0)  # a loan: the old lowest root said 10%
@example(flows=[-100.0, 230.0, -132.0], periods=1.0)  # two roots: the old rule said 10%
def test_irr_never_contradicts_the_npv_at_a_hurdle_rate(flows, periods):
    """Where `irr` gives r, the flows beat a grid rate h up to the hurdle range's top (100% a
    year, or r where it is higher) if and only if h < r: NPV(h) > 0 below r, < 0 above (a
    loan, or flows with several roots in that range, get NaN)."""
    minus_years = -(np.arange(len(flows)) / periods)
    for cash in (np.array(flows), -np.array(flows)):  # an investment's mirror is a loan, and back
        rate = irr(cash, periods_per_year=periods)
        if math.isnan(rate):
            continue
        hurdles = IRR_GRID[(IRR_GRID < rate) | (IRR_GRID <= HURDLE_TOP)]
        for hurdle in hurdles[np.abs(hurdles - rate) >= 0.05]:  # comfortably away from r
            terms = cash * (1.0 + hurdle) ** minus_years
            value = float(terms.sum())
            if abs(value) > 1e-9 * float(np.abs(terms).sum()):  # a sign that rounding cannot flip
                assert (value > 0) == (hurdle < rate), (hurdle, value)


def bisected_irr(cash, periods_per_year=12.0, first_share=1.0):
    """The rule of `irr`, its root found by bisecting every step, each computing its NPV: the
    lowest root, as first written, where NPV is positive at every grid rate below it and
    negative above (the reference `irr` used until issue #13, written plainly)."""
    cash = np.asarray(cash, dtype=float)
    if not (np.any(cash < 0) and np.any(cash > 0)) or not np.all(np.isfinite(cash)):
        return math.nan
    months = np.arange(len(cash))
    minus_years = -np.where(months > 0, months - 1 + first_share, 0.0) / periods_per_year
    values = (1.0 + IRR_GRID)[:, None] ** minus_years[None, :] @ cash
    change = np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0)
    exact = np.flatnonzero(values == 0)
    if exact.size and (change.size == 0 or exact[0] < change[0]):
        return beats_hurdles_below(float(IRR_GRID[exact[0]]), values)
    if change.size == 0:
        return math.nan
    low, high = float(IRR_GRID[change[0]]), float(IRR_GRID[change[0] + 1])
    rising = bool(values[change[0]] > 0)
    for _ in range(60):
        mid = 0.5 * (low + high)
        npv_mid = float(cash @ (1.0 + mid) ** minus_years)
        if (npv_mid > 0) if rising else (npv_mid < 0):
            if mid == low:
                break
            low = mid
        else:
            if mid == high:
                break
            high = mid
    return beats_hurdles_below(float(0.5 * (low + high)), values)


def beats_hurdles_below(root, values):
    """`root` where the grid's NPVs (`values`) are > 0 at every rate below it and < 0 at every
    rate above it up to the hurdle range's top (or, past that top, at the next grid rate
    after a root that is a grid rate); else NaN."""
    above = IRR_GRID > root
    checked = above & (IRR_GRID <= HURDLE_TOP)
    if root in IRR_GRID:  # an exact zero: the next rate must cross, not touch
        checked[np.flatnonzero(above)[:1]] = True
    investment = np.all(values[IRR_GRID < root] > 0) and np.all(values[checked] < 0)
    return root if investment else math.nan


def three_roots(roots):
    """Annual flows whose NPV is zero at each of `roots`: −∏ (x − 1/(1 + r)), x = 1/(1 + rate)."""
    coefficients = -np.poly([1.0 / (1.0 + r) for r in roots])[::-1]  # cash of years 0, 1, 2, ...
    return coefficients * 1e6


def agrees(got, want):
    """Within 1e-12 of `want`, relative (issue #13's tolerance for a change of method), or
    within the bracket the reference's 60 bisections of a grid step leave, 0.01 / 2^60 (it
    returns that bracket's middle, so resolves an IRR under 1e-8 no finer)."""
    return abs(got - want) <= max(1e-12 * abs(want), 0.01 / 2 ** 60)


@st.composite
def investments(draw):
    """Monthly flows of a realistic project, one change of sign: up to three years of
    outlays, then income, 120-240 months in all, up to $1e9 a month; and month 0's share."""
    months = draw(st.integers(120, 240))
    outlays = draw(st.lists(st.floats(1.0, 1e9), min_size=1, max_size=36))
    income = draw(st.lists(st.floats(0.0, 1e9), min_size=months - len(outlays), max_size=months - len(outlays)))
    return np.array([-usd for usd in outlays] + income), draw(st.sampled_from([1.0, 5 / 30, 0.5]))


@settings(max_examples=200, deadline=None)
@given(investments())
@example(flows=(np.r_[-1e9, np.full(119, 1.5e7)], 1.0))
@example(flows=(np.r_[np.full(24, -1e9), np.full(216, 1e6)], 5 / 30))  # an IRR of −19% a year
@example(flows=(np.r_[-1e6, np.zeros(118), 1e6 + 1e-3], 1.0))  # an IRR of 1e-10 a year
@example(flows=(np.r_[-1e6, np.zeros(118), 1e6 * (1 + 1e-5) ** (119 / 12)], 1.0))  # 1e-5 a year
@example(flows=(np.r_[-1e6, np.full(119, 1.0)], 1.0))  # −68% a year: 1 + rate is finer than the rate
def test_irr_agrees_with_the_bisection_within_1e_12(flows):
    """On realistic flows (one root), the IRR is the root that bisecting to the last bit finds,
    within 1e-12 relative, also near 0: both find where 1 + rate rounds across the root."""
    cash, share = flows
    got, want = irr(cash, first_share=share), bisected_irr(cash, 12.0, share)
    assert math.isnan(got) == math.isnan(want)
    if not math.isnan(want):
        assert agrees(got, want), (got, want, abs(got - want) / abs(want))


@settings(max_examples=300, deadline=None)
@given(cash_flows, st.sampled_from([1.0, 4.0, 12.0]))
@example(flows=list(three_roots([0.1002, 0.1055, 0.1097])), periods=1.0)  # three roots in a step
@example(flows=list(three_roots([0.1012, 0.1025, 0.104])), periods=1.0)
@example(flows=[-1e6, 1e6 + 1e-3], periods=1.0)  # an IRR of 1e-9
@example(flows=[100.0, -110.0], periods=1.0)  # a loan
@example(flows=[-100.0, 230.0, -132.0], periods=1.0)  # two roots
def test_irr_is_nan_where_the_bisection_is_and_else_a_root_in_the_same_step_of_the_grid(flows, periods):
    """On any flows, `irr` is NaN exactly where the reference is; otherwise both lie between
    the same two grid rates, and agree within 1e-12 where NPV has one root there (three
    roots within one step may give either method another of them)."""
    for cash in (np.array(flows), -np.array(flows)):  # a loan's mirror is an investment, and back
        got, want = irr(cash, periods_per_year=periods), bisected_irr(cash, periods)
        assert math.isnan(got) == math.isnan(want)
        if math.isnan(want):
            continue
        step = np.searchsorted(IRR_GRID, want)
        assert IRR_GRID[max(step - 1, 0)] <= got <= IRR_GRID[step]
        rates = np.linspace(IRR_GRID[max(step - 1, 0)], IRR_GRID[step], 201)
        values = (1.0 + rates)[:, None] ** -(np.arange(len(cash)) / periods) @ cash
        if np.count_nonzero(np.diff(np.sign(values))) == 1:  # one root in the step, seen from 201 rates
            assert agrees(got, want), (got, want)


# --- payback and peak funding -------------------------------------------------------------
def test_payback_and_peak_funding_of_a_simple_project():
    cash = np.r_[-120.0, np.full(23, 10.0)]
    assert peak_funding_usd(cash) == 120.0
    assert payback_years(cash) == pytest.approx(13 / 12)  # cumulative reaches 0 after month 13
    assert math.isnan(payback_years(np.r_[-100.0, np.full(11, 1.0)]))  # never paid back
    # started on 26 June, month 13 ends 12 + 5/30 months after day 0
    assert payback_years(cash, first_share=5 / 30) == pytest.approx((12 + 5 / 30) / 12)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=60))
def test_without_a_deficit_payback_is_nan_and_no_funding_is_needed(flows):
    assert math.isnan(payback_years(np.array(flows)))
    assert peak_funding_usd(np.array(flows)) == 0.0


@given(cash_flows)
def test_peak_funding_is_the_deepest_cumulative_deficit(flows):
    running, deepest = 0.0, 0.0
    for usd in flows:  # the hand sum
        running += usd
        deepest = min(deepest, running)
    assert peak_funding_usd(np.array(flows)) == pytest.approx(-deepest, abs=1e-6)
    years = payback_years(np.array(flows))
    if not math.isnan(years):  # paid back in month `month`, the first >= 0 after the worst
        month = round(years * 12)
        cumulative = np.cumsum(flows)
        worst = int(np.argmin(cumulative))
        assert deepest < 0 and month - 1 > worst and cumulative[month - 1] >= 0
        assert np.all(cumulative[worst:month - 1] < 0)


# --- growing annuity ------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(first=st.floats(-1e6, 1e6), growth=st.floats(-0.5, 0.5), rate=st.floats(-0.5, 1.0),
       periods=st.integers(0, 240))
@example(first=1.5, growth=5e-324, rate=0.0, periods=1)  # a subnormal gap: found by hypothesis in CI
def test_growing_annuity_is_the_sum_of_its_payments(first, growth, rate, periods):
    by_hand = sum(first * (1 + growth) ** (k - 1) * (1 + rate) ** -k for k in range(1, periods + 1))
    assert economics.growing_annuity_pv(first, growth, rate, periods) == pytest.approx(
        by_hand, rel=1e-9, abs=1e-9 * (1 + abs(first)) * (1 + periods))


def test_growing_annuity_closed_forms():
    assert economics.growing_annuity_pv(100.0, 0.05, 0.05, 10) == pytest.approx(1000 / 1.05)
    assert economics.growing_annuity_pv(100.0, 0.0, 0.10, 3) == pytest.approx(
        100 / 1.1 + 100 / 1.21 + 100 / 1.331)
    assert economics.growing_annuity_pv(100.0, 0.03, 0.10, 0) == 0.0
    for bad in (dict(rate=-1.0, periods=3), dict(rate=0.1, periods=-1), dict(rate=0.1, periods=2.5)):
        with pytest.raises(ValueError):
            economics.growing_annuity_pv(100.0, 0.0, **bad)
