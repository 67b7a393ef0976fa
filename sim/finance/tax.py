"""US federal income tax of a project: depreciation, the interest cap, losses carried forward.

A taxpayer deducts the cost of equipment and buildings over their recovery periods
(MACRS), the interest it pays up to a cap, and the losses of earlier years up to a limit;
tax is a rate on what is left, never refunded. The rules, as of 2026:

- Depreciation: IRS Publication 946, *How To Depreciate Property*, Appendix A. The
  General Depreciation System (GDS) recovers 3-, 5-, 7- and 10-year property by the 200%
  declining-balance method and 15- and 20-year property by the 150% method, switching to
  straight line in the first year that gives more, under the half-year convention (Table
  A-1); nonresidential real property over 39 years, straight line. Computer equipment
  (GPUs, servers) and ASIC miners are 5-year property (Publication 946, "Which Recovery
  Period Applies?"); qualified improvement property and land improvements 15-year.
- Bonus depreciation: IRC section 168(k). The One Big Beautiful Bill Act (P.L. 119-21,
  July 4, 2025) restored the 100% allowance for property acquired after January 19, 2025,
  so `bonus_share` = 1 expenses the whole cost in the year it is placed in service.
- Interest: IRC section 163(j) limits the deduction of business interest to 30% of
  adjusted taxable income (ATI); the same act made ATI EBITDA-based again for tax years
  beginning after December 31, 2024. Disallowed interest carries forward without limit
  and is deducted in later years under the same cap. (The small-business exemption and
  floor-plan interest are left out: a conversion project is far above the gross-receipts
  test.)
- Losses: IRC section 172 as amended by the Tax Cuts and Jobs Act (P.L. 115-97): a net
  operating loss (NOL) arising after 2017 is carried forward indefinitely, not back, and
  deducts at most 80% of the year's taxable income (before that deduction).

Amounts are US dollars per tax year, as positive numbers; `tax_usd` is the amount paid
(the ledger books it as an outflow). Tax years are counted from the run's first month
(calendar years for a run starting January 1st); each year's tax is paid in its last
month (`tax_by_month`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from sim.memo import read_only_cache

#: GDS recovery periods (years) of Publication 946, Table A-1 (and 39 for Table A-7a's
#: nonresidential real property), with the declining-balance rate of each (1 = straight line).
GDS_DECLINING_BALANCE = {3: 2.0, 5: 2.0, 7: 2.0, 10: 2.0, 15: 1.5, 20: 1.5, 39: 1.0}
METHODS = ("GDS", "SL")
STRAIGHT_PREFIX = "straight:"


def macrs_rates(recovery_years: int, method: str = "GDS") -> np.ndarray:
    """Return the shares of cost deducted in each tax year (recovery_years + 1 of them, sum 1).

    "GDS": Publication 946 Table A-1, half-year convention: the declining-balance rate
    (200% or 150% of 1/recovery_years) on what is left, half of it in the first year,
    switching to straight line over the remaining recovery period when that is larger;
    the last (half) year takes what is left. 39-year property is straight line, with a
    half year first and last: an approximation of the mid-month convention of Table A-7a
    (which depends on the month placed in service), the same 39 years in total.
    "SL": straight line over `recovery_years` (any whole number >= 1), half-year
    convention (Table A-8; also the Alternative Depreciation System's method).
    """
    if method not in METHODS:
        raise ValueError(f"method={method!r}: must be one of {', '.join(METHODS)}")
    years = int(recovery_years)
    if years != recovery_years or years < 1:
        raise ValueError(f"recovery_years={recovery_years!r}: must be a whole number >= 1")
    if method == "GDS" and years not in GDS_DECLINING_BALANCE:
        raise ValueError(f"recovery_years={recovery_years!r}: GDS periods are "
                         f"{', '.join(map(str, GDS_DECLINING_BALANCE))}; use method='SL' "
                         "for straight line over other periods")
    declining = GDS_DECLINING_BALANCE[years] if method == "GDS" else 1.0
    shares = np.zeros(years + 1)
    left = 1.0
    for year in range(years + 1):
        remaining_years = years + 0.5 - year  # of the recovery period, from this year's start
        if year == years:
            share = left  # the last half year takes what is left
        elif year == 0:
            share = 0.5 * declining / years  # half a year of the declining balance
        else:
            share = max(left * declining / years, left / remaining_years)
        shares[year] = share
        left -= share
    return shares


def recovery_shares(recovery_years: int | str) -> np.ndarray:
    """Return the yearly shares of `recovery_years`: a GDS period, or "straight:N" (SL, N years)."""
    return _recovery_shares(recovery_years).copy()


@read_only_cache(maxsize=32)
def _recovery_shares(recovery_years: int | str) -> np.ndarray:
    """Return `recovery_shares(recovery_years)`, computed once (read-only)."""
    return _shares_of(recovery_years)


def _shares_of(recovery_years: int | str) -> np.ndarray:
    """Return the yearly shares of a GDS period or of "straight:N"."""
    if isinstance(recovery_years, str) and recovery_years.startswith(STRAIGHT_PREFIX):
        text = recovery_years[len(STRAIGHT_PREFIX):]
        try:
            years = int(text)
        except ValueError:
            raise ValueError(f"recovery_years={recovery_years!r}: expected 'straight:N', "
                             "N a whole number of years") from None
        return macrs_rates(years, method="SL")
    return macrs_rates(recovery_years, method="GDS")


@dataclass(frozen=True)
class Depreciation:
    """Yearly tax depreciation of a series of purchases, and the basis left at the end."""

    depreciation_usd: np.ndarray  # deducted in each year of the series
    undepreciated_usd: float  # cost not yet deducted after the last year (for a terminal sale)


def depreciation_by_year(capex_by_year, recovery_years: int | str,
                         bonus_share: float = 0.0) -> Depreciation:
    """Return the depreciation of each year's spending over len(capex_by_year) years.

    Each year's spending is placed in service that year: `bonus_share` of it is expensed
    at once (IRC 168(k)), the rest is recovered by `recovery_shares(recovery_years)` from
    that year on. What the horizon cuts off is returned as `undepreciated_usd`.
    """
    capex = np.asarray(capex_by_year, dtype=float)
    if capex.ndim != 1:
        raise ValueError(f"capex_by_year has shape {capex.shape}; expected one value per year")
    if not 0.0 <= bonus_share <= 1.0:
        raise ValueError(f"bonus_share={bonus_share!r}: must be in [0, 1]")
    shares = _recovery_shares(recovery_years)
    total = np.add.reduce(capex)  # capex.sum()
    if bonus_share == 1.0 and math.isfinite(total):
        # Everything is expensed at once: the convolution below would add only zeros
        # (0 × cost), which leave 0 + cost as it is. Infinite costs take that path (0 × inf).
        depreciation = capex + 0.0  # 0 + cost, as there: a -0.0 becomes +0.0
    else:
        n_years = len(capex)
        full = np.zeros(n_years + len(shares))
        full[:n_years] += bonus_share * capex
        # Row i of the convolution: year i's spending spread over its recovery years.
        full[:n_years + len(shares) - 1] += np.convolve((1.0 - bonus_share) * capex, shares)
        depreciation = full[:n_years]
    return Depreciation(depreciation_usd=depreciation,
                        undepreciated_usd=float(total - np.add.reduce(depreciation)))


@dataclass(frozen=True)
class TaxYears:
    """A project's income tax, year by year (every array has one value per tax year)."""

    taxable_income_usd: np.ndarray  # after interest and NOL deductions; negative: a loss
    interest_deducted_usd: np.ndarray  # this year's and carried interest deducted under the cap
    interest_carried_usd: np.ndarray  # disallowed interest carried into the next year
    nol_used_usd: np.ndarray  # losses of earlier years deducted this year
    nol_balance_usd: np.ndarray  # losses carried into the next year
    tax_usd: np.ndarray  # tax paid, >= 0


def tax_by_year(ebitda_usd, depreciation_usd, interest_usd, rate,
                interest_cap_share: float = 0.3, nol_limit_share: float = 0.8) -> TaxYears:
    """Return each year's taxable income, interest and loss deductions, and tax paid.

    Year by year: the interest deductible is this year's interest plus that carried in,
    up to `interest_cap_share` × max(ATI, 0) with ATI = EBITDA (IRC 163(j)); the rest is
    carried. Income before losses = EBITDA − depreciation − interest deducted; a negative
    one adds to the NOL balance, a positive one is reduced by the balance, by at most
    `nol_limit_share` of it (IRC 172). Tax = rate × what remains, if positive; no refunds,
    no carry-back. `rate` is a number or one per year (federal plus state: `combined_rate`).
    """
    rows = _years(ebitda_usd, depreciation_usd, interest_usd, rate, interest_cap_share, nol_limit_share)
    columns = zip(*rows) if rows else ([] for _ in fields(TaxYears))
    return TaxYears(*(np.array(column, dtype=float) for column in columns))


def tax_usd_by_year(ebitda_usd, depreciation_usd, interest_usd, rate,
                    interest_cap_share: float = 0.3, nol_limit_share: float = 0.8) -> list[float]:
    """Return the tax paid in each year, `tax_by_year(...).tax_usd` as a list (without the
    other columns: what the ledger books, once per replication and debt)."""
    return [row[-1] for row in _years(ebitda_usd, depreciation_usd, interest_usd, rate,
                                       interest_cap_share, nol_limit_share)]


def _years(ebitda_usd, depreciation_usd, interest_usd, rate, interest_cap_share: float,
           nol_limit_share: float) -> list[tuple[float, ...]]:
    """Return each year's (taxable income, interest deducted, interest carried, NOL used, NOL
    balance, tax) by the rule of `tax_by_year` (`tax_rows_by_year`), once its arguments are
    checked."""
    ebitda = np.asarray(ebitda_usd, dtype=float)
    n_years = len(ebitda)
    depreciation = _per_year(depreciation_usd, n_years, "depreciation_usd")
    interest = _per_year(interest_usd, n_years, "interest_usd")
    rates = _per_year(rate, n_years, "rate")
    if any([value < 0 for value in interest + rates]):
        raise ValueError("interest_usd and rate must be >= 0")
    for name, share in (("interest_cap_share", interest_cap_share),
                        ("nol_limit_share", nol_limit_share)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name}={share!r}: must be in [0, 1]")
    return tax_rows_by_year(ebitda.tolist(), depreciation, interest, rates, interest_cap_share,
                            nol_limit_share)


def tax_rows_by_year(ebitda: list[float], depreciation: list[float], interest: list[float],
                     rates: list[float], interest_cap_share: float,
                     nol_limit_share: float) -> list[tuple[float, ...]]:
    """Return each year's (taxable income, interest deducted, interest carried, NOL used, NOL
    balance, tax) by the rule of `tax_by_year`, of lists of one float per year, unchecked:
    what `tax_usd_by_year` checks for its callers, the ledger's tax (sim.finance.equity)
    has built (interest >= 0) or its configuration has (rates and shares, sim.schema).

    In plain floats, year by year, without a call of max or min per year: `0.0 if 0.0 > x
    else x` is max(x, 0.0) and `y if y < x else x` is min(x, y), to the bit (as the builtins,
    they keep the first of equals: max(-0.0, 0.0) is -0.0).
    """
    rows = []
    carried, balance = 0.0, 0.0
    for ebitda_year, depreciation_year, interest_year, rate_year in zip(
            ebitda, depreciation, interest, rates):
        allowed = interest_cap_share * (0.0 if 0.0 > ebitda_year else ebitda_year)
        due = interest_year + carried
        deducted = allowed if allowed < due else due
        carried = due - deducted
        before_losses = ebitda_year - depreciation_year - deducted
        if before_losses > 0:
            limit = nol_limit_share * before_losses
            used = limit if limit < balance else balance
        else:
            used = 0.0
        loss = -before_losses
        balance += (0.0 if 0.0 > loss else loss) - used
        taxable = before_losses - used
        rows.append((taxable, deducted, carried, used, balance,
                     rate_year * (0.0 if 0.0 > taxable else taxable)))
    return rows


def combined_rate(federal: float, state: float) -> float:
    """Return the combined income tax rate when state tax is deductible federally: f + s (1 − f)."""
    return federal + state * (1.0 - federal)


def yearly_sums(monthly, months_per_year: int = 12) -> np.ndarray:
    """Return the sums of consecutive blocks of `months_per_year` months (the last may be short);
    of series given as the rows of one array, a row each (each row summed as alone)."""
    monthly = np.asarray(monthly, dtype=float)
    n_months = monthly.shape[-1]
    if not n_months:
        return np.zeros(monthly.shape)
    return np.add.reduceat(monthly, _year_starts(n_months, months_per_year), axis=-1)


@read_only_cache(maxsize=16)
def _year_starts(n_months: int, months_per_year: int) -> np.ndarray:
    """Return the first month of each tax year of `n_months` months (read-only)."""
    return np.arange(0, n_months, months_per_year)


def tax_by_month(tax_by_year_usd, n_months: int, months_per_year: int = 12) -> np.ndarray:
    """Return a monthly series holding each tax year's tax in that year's last month.

    Year k covers months [12k, 12k + 12); a short last year pays in the series' last month.
    """
    yearly = np.asarray(tax_by_year_usd, dtype=float)
    last_months = _last_months(n_months, months_per_year)
    if len(yearly) != len(last_months):
        raise ValueError(f"{len(yearly)} tax years given for {n_months} months; "
                         f"expected {len(last_months)}")
    monthly = np.zeros(n_months)
    monthly[last_months] = yearly
    return monthly


@read_only_cache(maxsize=16)
def _last_months(n_months: int, months_per_year: int) -> np.ndarray:
    """Return the month in which each tax year of `n_months` months pays its tax (read-only)."""
    n_years = -(-n_months // months_per_year)
    return np.minimum(np.arange(1, n_years + 1) * months_per_year, n_months) - 1


def _per_year(values, n_years: int, name: str) -> list[float]:
    """Return `values` (a number, or one per year) as a list of n_years floats."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        return [float(array)] * n_years
    if array.shape != (n_years,):
        raise ValueError(f"{name} has shape {array.shape}; expected ({n_years},), one per year")
    return array.tolist()
