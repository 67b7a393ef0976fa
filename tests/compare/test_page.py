"""How the report writes numbers: years, counts, amounts, shares, and cells that do not wrap."""

import html

import numpy as np
import pandas as pd
import pytest

from sim.compare.page import MINUS, fmt, nowrap_numbers, share, table


@pytest.mark.parametrize("value, unit, text", [
    (2027, "year", "2027"), (2027.0, "year", "2027"),           # a year has no separator
    (18439, "count", "18,439"), (18439.0, "", "18,439"),        # counts have one
    (1.46e8, "regret_usd", "$146.0M"), (-4.3e6, "x_usd", f"{MINUS}$4.3M"),
    (1.46e8, "", "146,000,000"), (123456.7, "", "123,457"),     # never 1.46e+08
    (0.0775, "", "0.0775"), (-0.25, "share", f"{MINUS}25.0%"), (np.nan, "x_usd", "–"),
])
def test_numbers_read_as_a_person_writes_them(value, unit, text):
    assert fmt(value, unit) == text
    assert "e+" not in fmt(value, unit)


@pytest.mark.parametrize("value, text", [(0.005, "<1%"), (0.0, "0%"), (0.01, "1%"),
                                         (0.995, ">99%"), (1.0, "100%"), (0.5, "50%")])
def test_a_nonzero_share_never_reads_zero(value, text):
    assert share(value) == text


def test_a_negative_amount_stays_on_one_line():
    text = nowrap_numbers(f"it averages {fmt(-4.3e6, 'x_usd')} & gains $5.0M")
    assert f'<span class="num">{MINUS}$4.3M</span>' in text and "&amp;" in text
    cells = table(pd.DataFrame({"strategy": ["a"], "mean": [-4.3e6], "year": [2027]}),
                  {"mean": "npv_usd", "year": "year"}, {"mean": "mean NPV"})
    assert f'<td class="num">{MINUS}$4.3M</td>' in cells and '<td class="num">2027</td>' in cells
    assert "<th>mean NPV</th>" in cells and "<td>a</td>" in cells
    assert cells.startswith('<div class="scroll">')  # a wide table scrolls, the page does not


@pytest.mark.parametrize("value, text", [
    (0.0004, "<0.1%"), (-0.0004, f"{MINUS}<0.1%"), (0.0, "0.0%"), (0.0005, "0.1%"),
    (0.9996, ">99.9%"), (1.0, "100.0%"), (1.0004, ">100.0%"), (1.194, "119.4%"),
    (-0.9996, f"{MINUS}>99.9%"), (-1.0, f"{MINUS}100.0%"), (-1.00001, f"{MINUS}>100.0%")])
def test_a_share_in_a_table_never_rounds_to_nought_or_to_all(value, text):
    """A table cell wrote 0.0% of a share of 1 in 3,000 and 100.0% of 2,999 in 3,000."""
    assert fmt(value, "share") == text
    cells = table(pd.DataFrame({"strategy": ["a"], "p_negative": [value]}),
                  {"p_negative": "share"}, {})
    assert f'<td class="num">{html.escape(text)}</td>' in cells


@pytest.mark.parametrize("value, text", [(1.0, ">99.9%"), (0.99996, ">99.9%"),
                                         (0.95, "95.0%"), (0.0, "0.0%")])
def test_a_tests_confidence_is_never_certain(value, text):
    """The verdict gave "100.0% confidence" from 50 worlds: the paired test's p-value had
    rounded to 0 in floating point, and a share of exactly 1 is written 100.0%."""
    assert fmt(value, "confidence") == text


@pytest.mark.parametrize("value, unit, text", [
    (-3e4, "swing_usd", "$0.0M"), (-4.9e4, "x_usd", "$0.0M"), (-5.1e4, "x_usd", f"{MINUS}$0.1M"),
    (-0.0004, "irr", "0.0%"), (-0.0006, "equity_irr", f"{MINUS}0.1%")])
def test_an_amount_that_rounds_to_nought_has_no_sign(value, unit, text):
    """The sensitivity table gave network hashrate growth's swing as −$0.0M (−$16,598)."""
    assert fmt(value, unit) == text


@pytest.mark.parametrize("value, text", [
    (-0.005298, f"{MINUS}0.01"), (-0.004, "0.00"), (0.1152, "0.12"), (-0.6049, f"{MINUS}0.60"),
    (1.0, "1.00")])
def test_a_rank_correlation_has_two_decimals_whatever_its_size(value, text):
    """The sensitivity table wrote ρ with four significant digits: −0.005298 beside 0.1152."""
    assert fmt(value, "correlation") == text
