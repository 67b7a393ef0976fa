"""The equity holder's view of one replication: project debt, its covenant, income tax.

`financing(cfg, account)` reads an `sim.ledger.Account` (the unlevered monthly cash by
category, the record's conversion projects, the world's short rate) and `cfg.finance`,
and returns the financing lines the ledger adds next to the unlevered ones
(`FINANCE_CATEGORIES`), the trailing debt-service cover, the equity cash flow and the
after-tax outcomes. The unlevered categories and their NPV are not touched.

The rules (docs/model.md "Project finance: the equity's view" and "Taxes"):

- Each conversion project (the halls a crew builds together and that are let in the same
  month: one loan, sized on them together) borrows `loan_to_cost` of its capex as it is
  spent; interest accrues and is capitalised until the hall is let (`let_days`: leased
  kW matched to halls first ready, first let; a cloud hall on its readiness), when the
  balance becomes a term loan of `term_years` (level, sculpted or bullet); a hall counts
  as let once 90% of its kW are (est.: lenders term out stabilised assets). The
  lender's base case at financial close is the hall's kW of IT at the lease index of the
  project's first day, stepped by the escalator, less hosting opex: the loan is at most
  what that forecast covers at `target_dscr` (`capacity_usd`, at the rate known at close),
  and sculpting follows it; the equity pays down the construction balance above it at
  conversion. A construction loan matures `construction_months` after its first draw:
  halls not let by then repay it from equity, and borrow again in the month they are let
  (sized at that close, at most `loan_to_cost` of their cost, with its own fee).
- ASIC and GPU purchases borrow `loan_to_value` of their price, level over their term.
- CFADS is the month's operating cash (revenues less power and opex) less the income tax
  on operations (the tax on the horizon's sale is the sale's, not the operations').
  The covenant tests the trailing-twelve-month cover of the scheduled debt service each
  quarter; a breach is cured by a cash sweep, an equity cure, or a default that hands the
  site to the lender (the equity receives nothing from that month on).
- Tax years are the simulation's years (twelve months from month 0; tax paid in each
  year's last month). EBITDA is the operating cash plus ASIC resale; capex is depreciated
  by class with bonus depreciation; interest capitalised while a hall is built joins the
  conversion's basis, what it accrues once built is deducted as interest, and so is each
  loan's upfront fee over the loan's life as known when paid (`_fee_deductions`); the
  terminal value is a sale whose gain over the basis left is taxed. The unlevered
  after-tax NPV taxes the same income without interest.
- At the horizon the sale repays every balance still owed (construction loans included).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.economics import irr, npv, peak_funding_usd
from sim.finance.covenants import Covenanted, apply_covenant
from sim.finance.debt import Schedule, combine, equipment_loan
from sim.finance.project_loans import ProjectDebt, months_of, project_debt, term_loans
from sim.finance.tax import combined_rate, depreciation_by_year, tax_by_month, tax_rows_by_year, yearly_sums

#: The ledger's financing categories (cashflows.parquet), signed as the others: inflows +.
FINANCE_CATEGORIES = ("debt_draw", "interest", "principal", "fees", "tax")
#: The unlevered categories whose sum is the month's operating cash (before capex).
OPERATING = ("mining_revenue", "pool_fees", "power_cost", "power_resale", "demand_response",
             "hosting_rent", "cloud_revenue", "opex")


@dataclass(frozen=True, eq=False)
class Financing:
    """One replication's financing: monthly lines, cover, equity cash and outcomes."""

    lines: np.ndarray            # (len(FINANCE_CATEGORIES), months), USD, inflows +
    covenant: Covenanted | None  # the debt after its covenant (None: no debt)
    equity_usd: np.ndarray       # the equity's monthly cash, the horizon sale included
    breach_months: tuple[int, ...]
    cure: str | None             # how the breaches were cured (None: no breach)
    default_month: int | None
    min_dscr: float              # lowest tested cover (NaN: never tested)
    tax_unlevered_usd: np.ndarray  # monthly tax without debt (<= 0)
    sale_usd: float              # what the horizon sale leaves the equity: terminal value less
    #                              debt and less the tax on its gain

    @cached_property
    def dscr(self) -> np.ndarray:
        """Return the trailing-12-month cover at each month end; NaN without service (built when
        first read: the timeline reads it, a summary does not)."""
        if self.covenant is None:
            return np.full(self.lines.shape[1], np.nan)
        return self.covenant.dscr

    def outcomes(self, cost_of_equity: float, npv_usd: float, discount_rate: float,
                 first_share: float) -> dict:
        """Return the summary's equity and after-tax columns (NPV after tax at `discount_rate`;
        month 0 covers `first_share` of its calendar month, as the ledger discounts it)."""
        before_sale = self.equity_usd.copy()
        if self.default_month is None:
            before_sale[-1] -= self.sale_usd
        return dict(
            equity_npv_usd=npv(self.equity_usd, cost_of_equity, first_share),
            equity_irr=irr(self.equity_usd, first_share=first_share),
            min_dscr=self.min_dscr,
            covenant_breached=bool(self.breach_months),
            peak_equity_usd=peak_funding_usd(before_sale),
            npv_after_tax_usd=npv_usd + npv(self.tax_unlevered_usd, discount_rate, first_share),
        )


def monthly_rates(finance, world) -> float | np.ndarray:
    """Return the project debt's annual rate: fixed, or each month's mean short rate plus the spread."""
    debt = finance.debt
    if debt.rate == "fixed":
        return float(debt.fixed_rate)
    return np.add.reduceat(world.short_rate, world.month_starts()) / world.days_by_month() + float(debt.spread)


def financing(cfg, account) -> Financing:
    """Return the financing of one replication's `account` under `cfg.finance`."""
    fin = cfg.finance
    monthly, idx = account.monthly, account.category_index
    n = monthly.shape[1]
    rate = monthly_rates(fin, account.world)
    owed = project_debt(cfg, account, rate, n)
    loans = term_loans(fin.debt, owed.terms, rate, n)
    equipment_price = -(monthly[idx["capex_gpu"]] + monthly[idx["capex_asic_refresh"]])
    if fin.equipment.loan_to_value > 0 and np.any(equipment_price > 0):
        gear = equipment_loan(np.maximum(equipment_price, 0.0), float(fin.equipment.loan_to_value),
                              float(fin.equipment.rate),
                              months_of(fin.equipment.term_years), n)
        owed.draws += gear.draw_usd
        loans.append(gear.schedule)
        # A tranche drawn in the last month repays from the next: not in the schedule, still owed.
        owed.unconverted += float(gear.draw_usd[-1])
    return _equity_view(cfg, account, owed, loans, equipment_price)


def _equity_view(cfg, account, owed: ProjectDebt, loans: list[Schedule],
                 equipment_price: np.ndarray) -> Financing:
    """Return the financing of `account` whose debt is `owed` and scheduled as `loans`: its
    income tax with and without the debt, its covenant, and the equity's cash."""
    fin = cfg.finance
    monthly, idx = account.monthly, account.category_index
    n = monthly.shape[1]
    operating = sum(monthly[idx[name]] for name in OPERATING)
    taxes = _Taxes(cfg, account, operating, equipment_price, owed.capitalised)
    # Interest deducted beside what is paid: the fees over their loans' lives, and the
    # interest built halls accrue while they wait for a tenant.
    more_interest = _fee_deductions(owed.fee_lives, n) + owed.accrued
    schedule = (loans[0] if len(loans) == 1 else combine(loans)) if loans else None
    if schedule is None:
        tax = taxes.levered_usd(more_interest)
        covenanted = None
        breaches, cure, default, lowest = (), None, None, float("nan")
        interest, principal = np.zeros(n), owed.paid_down
        balance = owed.unconverted
        operations_tax = None
    else:
        # CFADS: operating cash less the tax on operations (not the tax on the horizon's sale).
        first_tax = taxes.levered_usd(more_interest - schedule.interest_usd, sale=False)
        covenanted = apply_covenant(operating + first_tax, schedule, float(fin.covenant.min_dscr),
                                    fin.covenant.cure,
                                    first_test_months=int(fin.covenant.first_test_months))
        # Without a cure the debt is as it was: operations alone owe the cover's tax.
        operations_tax = first_tax if covenanted.schedule is schedule else None
        schedule = covenanted.schedule
        tax = taxes.levered_usd(more_interest - schedule.interest_usd)
        breaches = tuple(int(m) for m in covenanted.breach_months)
        cure, default, lowest = covenanted.cured_by, covenanted.default_month, covenanted.min_dscr
        interest, principal = schedule.interest_usd.copy(), schedule.principal_usd + owed.paid_down
        balance = float(schedule.balance_usd[-1]) + owed.unconverted
    principal[-1] -= balance  # the sale at the horizon repays what is still owed
    # An equity cure is already in `principal`: the equity's money prepays the debt.
    lines = np.array([owed.draws, interest, principal, owed.fees, tax])
    equity = np.add.reduce(monthly, axis=0) + np.add.reduce(lines, axis=0)  # ndarray.sum's
    if default is not None:  # from the default on, the cash is the lender's
        equity *= covenanted.equity_mask
        lines *= covenanted.equity_mask
    # The tax on the sale's gain: the last month's tax less what operations alone would owe.
    if operations_tax is None and default is None:
        operations_tax = taxes.levered_usd(more_interest - interest, sale=False)
    sale_tax = float(tax[-1] - operations_tax[-1]) if default is None else 0.0
    return Financing(lines=lines, covenant=covenanted, equity_usd=equity, breach_months=breaches,
                     cure=cure, default_month=default, min_dscr=lowest,
                     tax_unlevered_usd=taxes.unlevered_usd(),
                     sale_usd=float(monthly[idx["terminal_value"], -1]) - balance + sale_tax)


def _fee_deductions(fee_lives, n: int) -> np.ndarray:
    """Return the upfront fees deducted each month (>= 0), as interest.

    Each (fee, month paid, last month, switch) is spread evenly over its loan's months as
    known when paid, from the month paid to its last (Treas. Reg. 1.446-5 amortises debt
    issuance costs over the loan's term, as interest for the 163(j) cap: straight-line
    here, not by constant yield). A construction loan that becomes a term loan at the end
    of month c (switch (c, the term loan's last month)) spreads what is left over the term
    loan from c + 1: nothing deducted before it is let depends on when that is. What is
    left at the horizon is deducted in its month, when the sale repays the loan.
    """
    deducted = np.zeros(n)
    for usd, paid, last, switch in fee_lives:
        if usd <= 0 or paid >= n:
            continue
        if switch is None:
            _spread(deducted, usd, paid, last)
        else:
            converted, term_last = switch
            before = usd * (converted - paid + 1) / (last - paid + 1)
            _spread(deducted, before, paid, converted)
            _spread(deducted, usd - before, converted + 1, term_last)
    return deducted


def _spread(deducted: np.ndarray, usd: float, first: int, last: int) -> None:
    """Add `usd` to `deducted` evenly over months first..last, what falls past its end in its
    last month."""
    n = deducted.size
    per_month = usd / (last - first + 1)
    deducted[first:min(last, n - 1) + 1] += per_month
    if last > n - 1:
        deducted[n - 1] += usd - per_month * (n - first)


class _Taxes:
    """Income tax of one replication, with or without the interest its debt deducts."""

    def __init__(self, cfg, account, operating: np.ndarray, equipment_price: np.ndarray,
                 capitalised_interest: np.ndarray):
        tax = cfg.finance.tax
        monthly, idx = account.monthly, account.category_index
        self.n_months = monthly.shape[1]
        self.rate = combined_rate(float(tax.federal_rate), float(tax.state_rate))
        self.cap, self.nol = float(tax.interest_cap_share), float(tax.nol_limit_share)
        series = np.empty((4, self.n_months))  # summed by tax year as the rows of one array
        np.add(operating, monthly[idx["asic_salvage"]], out=series[0])
        np.negative(monthly[idx["capex_conversion"]], out=series[1])
        series[2] = equipment_price
        series[3] = capitalised_interest
        self.ebitda, conversion, equipment, capitalised_by_year = yearly_sums(series, 12)
        building = depreciation_by_year(conversion * float(tax.building_share), int(tax.building_years))
        parts = [building,
                 depreciation_by_year(conversion * (1 - float(tax.building_share)),
                                      int(tax.improvements_years), float(tax.bonus_share)),
                 depreciation_by_year(np.maximum(equipment, 0.0), int(tax.equipment_years),
                                      float(tax.bonus_share))]
        capitalised = depreciation_by_year(capitalised_by_year, int(tax.improvements_years),
                                           float(tax.bonus_share))
        self.sale = float(monthly[idx["terminal_value"], -1])
        # Summed part by part, the capitalised interest last (the debt's own basis).
        depreciation = sum(part.depreciation_usd for part in parts)
        left = sum(part.undepreciated_usd for part in parts)
        levered = depreciation + capitalised.depreciation_usd
        self.unlevered = self._with_sale(left), depreciation
        self.levered = self._with_sale(left + capitalised.undepreciated_usd), levered
        self.levered_operations = self.ebitda, levered

    def _with_sale(self, undepreciated_usd: float) -> np.ndarray:
        """Return EBITDA by tax year with the horizon sale's gain over the basis left in the last."""
        ebitda = self.ebitda.copy()
        ebitda[-1] += self.sale - undepreciated_usd
        return ebitda

    def _monthly(self, ebitda, depreciation, interest_by_year) -> np.ndarray:
        """Return the monthly tax (<= 0) of `ebitda`, `depreciation` and interest (arrays by tax
        year; no interest: 0.0)."""
        n_years = ebitda.size
        interest = ([float(interest_by_year)] * n_years if np.ndim(interest_by_year) == 0
                    else interest_by_year.tolist())
        rows = tax_rows_by_year(ebitda.tolist(), depreciation.tolist(), interest,
                                [self.rate] * n_years, self.cap, self.nol)
        return -tax_by_month([row[-1] for row in rows], self.n_months)

    def levered_usd(self, interest_paid: np.ndarray, sale: bool = True) -> np.ndarray:
        """Return the monthly tax (<= 0) with the debt's interest (>= 0 by month) deducted;
        without `sale`, the tax on operations alone (what debt service is covered from)."""
        income = self.levered if sale else self.levered_operations
        return self._monthly(*income, yearly_sums(interest_paid, 12))

    def unlevered_usd(self) -> np.ndarray:
        """Return the monthly tax (<= 0) of the same income without debt."""
        return self._monthly(*self.unlevered, 0.0)
