"""US federal tax of a project: MACRS tables, bonus depreciation, the interest cap, NOLs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.finance.tax import (GDS_DECLINING_BALANCE, combined_rate, depreciation_by_year,
                             macrs_rates, recovery_shares, tax_by_month, tax_by_year,
                             tax_usd_by_year, yearly_sums)
from sim.schema import GDS_PERIODS

#: IRS Publication 946, Table A-1 (GDS, half-year convention), in percent as printed.
TABLE_A1 = {
    3: [33.33, 44.45, 14.81, 7.41],
    5: [20.00, 32.00, 19.20, 11.52, 11.52, 5.76],
    7: [14.29, 24.49, 17.49, 12.49, 8.93, 8.92, 8.93, 4.46],
    15: [5.00, 9.50, 8.55, 7.70, 6.93, 6.23, 5.90, 5.90, 5.91, 5.90, 5.91, 5.90, 5.91, 5.90,
         5.91, 2.95],
}


@pytest.mark.parametrize("years", sorted(TABLE_A1))
def test_gds_rates_match_publication_946_table_a1(years):
    printed = np.array(TABLE_A1[years])
    ours = 100 * macrs_rates(years)
    assert printed.sum() == pytest.approx(100.0)
    # The table rounds to 2 decimals and nudges equal straight-line years (8.925 -> 8.93,
    # 8.92, 8.93) so that each column sums to 100: within 0.0075 of a point of every entry.
    assert len(ours) == len(printed)
    assert np.max(np.abs(ours - printed)) < 0.0075


def test_the_config_allows_exactly_the_periods_the_tables_have():
    assert GDS_PERIODS == tuple(sorted(GDS_DECLINING_BALANCE))


@pytest.mark.parametrize("years", [3, 5, 7, 10, 15, 20, 39])
def test_every_gds_period_recovers_the_whole_cost_once(years):
    shares = macrs_rates(years)
    assert len(shares) == years + 1 and shares.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(shares > 0)


def test_39_year_property_is_straight_line_with_half_years_at_the_ends():
    shares = macrs_rates(39)
    assert shares[0] == pytest.approx(0.5 / 39) and shares[-1] == pytest.approx(0.5 / 39)
    np.testing.assert_allclose(shares[1:-1], 1 / 39)


def test_straight_line_over_any_period_is_table_a8():
    np.testing.assert_allclose(100 * recovery_shares("straight:5"), [10, 20, 20, 20, 20, 10])
    np.testing.assert_allclose(recovery_shares("straight:4"), macrs_rates(4, method="SL"))
    np.testing.assert_allclose(recovery_shares(5), macrs_rates(5))


@pytest.mark.parametrize("years, method", [(6, "GDS"), (0, "SL"), (2.5, "SL"), (5, "DB")])
def test_unknown_periods_and_methods_are_refused(years, method):
    with pytest.raises(ValueError, match="recovery_years|method"):
        macrs_rates(years, method)
    with pytest.raises(ValueError, match="straight:N"):
        recovery_shares("straight:five")


def test_depreciation_of_two_purchases_with_partial_bonus_by_hand():
    capex = [1000.0, 0.0, 500.0]
    out = depreciation_by_year(capex, 5, bonus_share=0.4)
    # Year 0: 40% of 1000 expensed, 20% of the other 600. Year 1: 32% of 600.
    # Year 2: 19.2% of 600, plus 40% of 500 expensed and 20% of the other 300.
    expected = [400 + 0.2 * 600, 0.32 * 600, 0.192 * 600 + 200 + 0.2 * 300]
    np.testing.assert_allclose(out.depreciation_usd, expected)
    assert out.undepreciated_usd == pytest.approx(1500 - sum(expected))


def test_full_bonus_expenses_everything_at_once_and_none_leaves_the_macrs_tail():
    full = depreciation_by_year([0.0, 900.0, 0.0], 7, bonus_share=1.0)
    np.testing.assert_allclose(full.depreciation_usd, [0, 900, 0])
    assert full.undepreciated_usd == 0
    none = depreciation_by_year([100.0, 0.0, 0.0], 15, bonus_share=0.0)
    np.testing.assert_allclose(none.depreciation_usd, 100 * macrs_rates(15)[:3])
    assert none.undepreciated_usd == pytest.approx(100 * macrs_rates(15)[3:].sum())
    with pytest.raises(ValueError, match="bonus_share"):
        depreciation_by_year([1.0], 5, bonus_share=1.5)


def test_losses_then_profits_by_hand():
    """Six years at 21%: the cap binds in years 1, 2 and 5, the 80% limit in year 3."""
    ebitda = [100, 50, 400, 500, 20, 300]
    depreciation = [300, 100, 50, 50, 50, 50]
    interest = [50, 40, 40, 30, 30, 30]
    out = tax_by_year(ebitda, depreciation, interest, rate=0.21)
    # Year 1: cap 0.3·100 = 30 of 50 deducted, 20 carried; 100 − 300 − 30 = −230, an NOL.
    # Year 2: cap 15 of 40 + 20; 45 carried; 50 − 100 − 15 = −65; NOLs 295.
    # Year 3: cap 120 ≥ 40 + 45: all 85 deducted; 400 − 50 − 85 = 265; NOL used
    #         min(295, 0.8·265 = 212) = 212, 83 left; taxable 53.
    # Year 4: 500 − 50 − 30 = 420; the last 83 of NOLs used; taxable 337.
    # Year 5: cap 6 of 30, 24 carried; 20 − 50 − 6 = −36, a new NOL.
    # Year 6: cap 90 ≥ 30 + 24; 300 − 50 − 54 = 196; 36 used (< 0.8·196); taxable 160.
    np.testing.assert_allclose(out.interest_deducted_usd, [30, 15, 85, 30, 6, 54])
    np.testing.assert_allclose(out.interest_carried_usd, [20, 45, 0, 0, 24, 0])
    np.testing.assert_allclose(out.nol_used_usd, [0, 0, 212, 83, 0, 36])
    np.testing.assert_allclose(out.nol_balance_usd, [230, 295, 83, 0, 36, 0])
    np.testing.assert_allclose(out.taxable_income_usd, [-230, -65, 53, 337, -36, 160])
    np.testing.assert_allclose(out.tax_usd, [0, 0, 0.21 * 53, 0.21 * 337, 0, 0.21 * 160])


def test_zero_rate_pays_no_tax_and_a_rate_per_year_applies_year_by_year():
    out = tax_by_year([100, 200], [10, 10], [0, 0], rate=0.0)
    np.testing.assert_array_equal(out.tax_usd, [0, 0])
    np.testing.assert_allclose(out.taxable_income_usd, [90, 190])
    by_year = tax_by_year([100, 200], [10, 10], [0, 0], rate=[0.1, 0.2])
    np.testing.assert_allclose(by_year.tax_usd, [9, 38])


def test_combined_rate_deducts_state_tax_federally():
    assert combined_rate(0.21, 0.0) == 0.21
    assert combined_rate(0.21, 0.10) == pytest.approx(0.21 + 0.079)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="interest_usd has shape"):
        tax_by_year([1, 2], [0, 0], [1, 2, 3], rate=0.2)
    with pytest.raises(ValueError, match="nol_limit_share"):
        tax_by_year([1], [0], [0], rate=0.2, nol_limit_share=1.2)
    with pytest.raises(ValueError, match=">= 0"):
        tax_by_year([1], [0], [-1], rate=0.2)


def test_each_years_tax_is_paid_in_its_last_month():
    monthly = tax_by_month([5.0, 7.0, 3.0], n_months=30)
    assert np.flatnonzero(monthly).tolist() == [11, 23, 29]
    np.testing.assert_array_equal(monthly[[11, 23, 29]], [5, 7, 3])
    np.testing.assert_array_equal(yearly_sums(monthly), [5, 7, 3])
    np.testing.assert_array_equal(yearly_sums(np.arange(14.0), months_per_year=12), [66, 25])
    with pytest.raises(ValueError, match="tax years"):
        tax_by_month([1.0, 2.0], n_months=36)


money = st.floats(-1e6, 1e6, allow_nan=False)
positive = st.floats(0, 1e6, allow_nan=False)


@st.composite
def years(draw):
    n = draw(st.integers(1, 12))
    ebitda = draw(st.lists(money, min_size=n, max_size=n))
    depreciation = draw(st.lists(positive, min_size=n, max_size=n))
    interest = draw(st.lists(positive, min_size=n, max_size=n))
    return ebitda, depreciation, interest


@settings(max_examples=200, deadline=None)
@given(years(), st.floats(0, 0.6))
def test_tax_is_never_negative_and_nols_used_never_exceed_losses(series, rate):
    ebitda, depreciation, interest = series
    out = tax_by_year(ebitda, depreciation, interest, rate)
    assert np.all(out.tax_usd >= 0)
    losses = np.maximum(-out.taxable_income_usd, 0.0)
    assert out.nol_used_usd.sum() <= losses.sum() * (1 + 1e-12) + 1e-6
    assert out.nol_used_usd.sum() + out.nol_balance_usd[-1] == pytest.approx(losses.sum(), abs=1e-6)
    assert (out.interest_deducted_usd.sum() + out.interest_carried_usd[-1]
            == pytest.approx(sum(interest), rel=1e-12, abs=1e-6))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(positive, positive), min_size=1, max_size=12), st.floats(0, 0.6))
def test_without_interest_or_losses_tax_is_rate_times_ebitda_less_depreciation(pairs, rate):
    ebitda = [max(a, b) for a, b in pairs]
    depreciation = [min(a, b) for a, b in pairs]
    out = tax_by_year(ebitda, depreciation, np.zeros(len(pairs)), rate)
    np.testing.assert_allclose(out.tax_usd, rate * (np.array(ebitda) - np.array(depreciation)),
                               rtol=1e-12, atol=1e-9)
    assert not out.nol_used_usd.any()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(positive, st.just(0.0), st.just(-0.0), st.just(np.inf)), min_size=1,
                max_size=12), st.sampled_from([5, 15, 39, "straight:7"]))
def test_full_bonus_is_the_convolution_of_nothing_to_the_last_bit(capex, years):
    """With bonus_share 1 the recovery schedule adds only zeros (NaN after an infinite cost):
    what the general rule gives, bit for bit."""
    cost = np.array(capex)
    full = np.zeros(len(cost) + len(recovery_shares(years)))
    full[:len(cost)] += 1.0 * cost
    full[:-1] += np.convolve(0.0 * cost, recovery_shares(years))
    out = depreciation_by_year(cost, years, bonus_share=1.0)
    assert out.depreciation_usd.tobytes() == full[:len(cost)].tobytes()
    assert np.float64(out.undepreciated_usd).tobytes() == (cost.sum() - full[:len(cost)].sum()).tobytes()


@settings(max_examples=200, deadline=None)
@given(years(), st.floats(0, 0.6))
def test_the_tax_alone_is_the_tax_of_every_column(series, rate):
    ebitda, depreciation, interest = series
    assert tax_usd_by_year(ebitda, depreciation, interest, rate) == tax_by_year(
        ebitda, depreciation, interest, rate).tax_usd.tolist()
    with pytest.raises(ValueError, match=">= 0"):
        tax_usd_by_year(ebitda, depreciation, interest, -0.1)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(0, 130))
def test_yearly_sums_of_rows_are_each_rows_sums_to_the_last_bit(seed, n_rows, n_months):
    """Series as the rows of one array (sums of many magnitudes, whose order shows in their
    last bits) are summed by year each as alone."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n_rows, n_months)) * 10.0 ** rng.integers(-2, 9, size=(n_rows, n_months))
    got = yearly_sums(rows)
    assert got.shape == (n_rows, -(-n_months // 12))
    assert [row.tobytes() for row in got] == [yearly_sums(row).tobytes() for row in rows]
