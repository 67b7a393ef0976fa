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

import dataclasses
import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.economics import irr, npv, peak_funding_usd
from sim.finance.covenants import Covenanted, apply_covenant
from sim.finance.debt import (Schedule, bullet_schedule, combine, construction_rows, equipment_loan,
                              level_capacities_usd, level_loans, level_schedule, sculpted_capacity_usd,
                              sculpted_schedule)
from sim.finance.schedule import last_month_by_row
from sim.finance.tax import combined_rate, depreciation_by_year, tax_by_month, tax_usd_by_year, yearly_sums
from sim.memo import read_only_cache

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


def projects_capex_by_month(projects, n_days: int, month_of_day: np.ndarray, n_months: int) -> np.ndarray:
    """Return each project's capex (>= 0) by month, one row each, paid evenly over its days
    as the engine books it.

    One bincount over every project's days (row k's months offset by k × n_months): each
    month sums its days' equal shares in day order from 0, as a bincount of the project alone.
    """
    firsts = [min(math.ceil(p.start_day), n_days) for p in projects]
    lasts = [max(first, min(math.ceil(p.end_day), n_days)) for p, first in zip(projects, firsts)]
    per_day = [p.usd_per_day for p in projects]
    days = np.array([last - first for first, last in zip(firsts, lasts)], dtype=np.intp)
    months = np.concatenate([month_of_day[first:last] for first, last in zip(firsts, lasts)]
                            + [np.zeros(0, dtype=month_of_day.dtype)])
    bins = months + np.repeat(np.arange(len(projects)) * n_months, days)
    return np.bincount(bins, weights=np.repeat(per_day, days),
                       minlength=len(projects) * n_months).reshape(len(projects), n_months)


#: The share of a hall's kW under lease at which it counts as let (stabilised) for its lender.
LET_SHARE = 0.9


def let_days(conversions, kw_it_leased: np.ndarray) -> dict[int, float]:
    """Return the day each hosting conversion is let (index in `conversions` -> day; absent: never).

    Leased kW are matched to halls in the order they are ready (first ready, first let): a
    hall is let on the first day from its readiness on when the leased kW cover every hall
    ready before it and `LET_SHARE` of its own. A cloud hall is in use the day it is ready.
    """
    out: dict[int, float] = {}
    covered = 0.0
    order = [i for _, i in sorted([(hall.end_day, i) for i, hall in enumerate(conversions)])]
    n_days = kw_it_leased.size
    for i in order:
        hall = conversions[i]
        ready = math.ceil(hall.end_day)
        if hall.use == "cloud":
            if ready < n_days:
                out[i] = float(ready)
            continue
        needed = covered + LET_SHARE * hall.kw_it
        covered += hall.kw_it
        if ready >= n_days:
            continue
        let = kw_it_leased[ready:] >= needed
        first = int(let.argmax())  # the first day with enough leased (argmax: the first True)
        if let[first]:
            out[i] = float(ready + first)
    return out


def _lender_cfads_usd(projects, cfg, world, escalation: np.ndarray) -> np.ndarray:
    """Return the lender's base-case CFADS of halls in months escalated by `escalation` (rent at
    close times it, less opex): one project's months, or a row per project of a list (escalation
    a row): the one formula of `_lender_forecast` and `_lowest_forecasts_usd`."""
    last = world.n_days - 1
    if isinstance(projects, list):
        days = [min(int(project.start_day), last) for project in projects]
        kw_it = np.array([project.kw_it for project in projects])[:, None]
        rent = world.lease_usd_per_kw_month[days][:, None]
    else:
        kw_it, rent = projects.kw_it, float(world.lease_usd_per_kw_month[min(int(projects.start_day), last)])
    opex = float(cfg.site.opex.hosting_usd_per_kw_month)
    return kw_it * (rent * escalation - opex)


def _lender_forecast(project, cfg, world, term_months: int, start_month: int) -> np.ndarray:
    """Return the lender's base-case CFADS of a hall by month: rent at close, escalated, less opex."""
    escalator = float(cfg.site.hosting.escalator_per_year)
    forecast = np.zeros(start_month + term_months)
    forecast[start_month:] = _lender_cfads_usd(project, cfg, world, _escalation(escalator, term_months))
    return forecast


def _lowest_forecasts_usd(projects, cfg, world, term_months: int) -> np.ndarray:
    """Return the lowest month of each project's `_lender_forecast` over its term, without the
    arrays of months: each year's months are escalated alike, so the lowest is that of the
    years' first months (a row per project)."""
    escalator = float(cfg.site.hosting.escalator_per_year)
    yearly = _escalation(escalator, term_months)[::12]  # the same numbers as every month's
    return _lender_cfads_usd(projects, cfg, world, yearly[None, :]).min(axis=1)


@read_only_cache(maxsize=16)
def _escalation(escalator_per_year: float, term_months: int) -> np.ndarray:
    """Return (1 + escalator) ** (k // 12) for months k = 0 .. term_months - 1 (read-only)."""
    return (1 + escalator_per_year) ** (np.arange(term_months) // 12)


def months_of(years: float) -> int:
    """Return a loan term in years as its number of monthly payments (at least one)."""
    return max(1, int(round(float(years) * 12)))


def capacity_usd(debt, forecast: np.ndarray, rate, start_month: int) -> float:
    """Return the most a lender lends against `forecast` at `debt.target_dscr`, by amortisation.

    Sculpted: the present value of forecast / target over the term. Level and bullet: what
    the forecast's lowest month of the term covers (`flat_capacities_usd`).
    """
    months = months_of(debt.term_years)
    if debt.amortisation == "sculpted":
        return sculpted_capacity_usd(forecast, rate, float(debt.target_dscr), start_month, months)
    return flat_capacities_usd(debt, [float(forecast[start_month:start_month + months].min())], rate,
                               [start_month])[0]


def flat_capacities_usd(debt, lowest_usd, rate, start_months) -> list[float]:
    """Return the most a lender lends, by level or bullet amortisation, against forecasts whose
    lowest months of the term are `lowest_usd` (floored at 0), from `start_months`.

    Level: the present value of lowest / target over the term (a level payment must be
    covered every month). Bullet: the interest that the lowest month covers, capitalised
    at the loan's rate.
    """
    months = months_of(debt.term_years)
    target = float(debt.target_dscr)
    lowest = [max(0.0, usd) for usd in lowest_usd]
    if debt.amortisation == "level":
        return level_capacities_usd(lowest, rate, target, start_months, months) if lowest else []
    annual = float(np.mean(np.atleast_1d(rate)))
    return [usd / target / (annual / 12.0) if annual > 0 else float("inf") for usd in lowest]


def _rate_at_close(rate, start_month: int) -> float:
    """Return the rate a loan starting to repay in `start_month` is sized at: a fixed one, or
    a floating one's in the month it closes (the month before), held flat."""
    return rate if isinstance(rate, float) else float(rate[max(start_month - 1, 0)])


def _term_loan(debt, principal: float, rate, forecast: np.ndarray | None, start_month: int,
               n_months: int) -> Schedule:
    """Return the term loan a project's construction loan becomes."""
    months = months_of(debt.term_years)
    if debt.amortisation == "bullet":
        return bullet_schedule(principal, rate, months, start_month, n_months)
    if debt.amortisation == "sculpted" and np.any(forecast[start_month:] > 0):
        return sculpted_schedule(principal, rate, forecast, start_month, months, n_months,
                                 _rate_at_close(rate, start_month))  # k set as the loan was sized
    return level_schedule(principal, rate, months, start_month, n_months)


def _term_loans(debt, terms, rate, n_months: int) -> list[Schedule]:
    """Return the term loans of `terms` (principal, lender's forecast, first month), in order;
    level loans as one sum of loans (`level_loans`: the same numbers, computed together)."""
    if debt.amortisation == "level" and terms:
        return [level_loans([principal for principal, _, _ in terms], rate, months_of(debt.term_years),
                            [start for _, _, start in terms], n_months)]
    return [_term_loan(debt, principal, rate, forecast, start, n_months)
            for principal, forecast, start in terms]


def _loan_groups(conversions, account, month_of_day: np.ndarray, n: int):
    """Return (hall, monthly capex, month let) for each loan: halls built alike, one loan.

    Halls with the same construction days and the same month of letting are one project
    and share one loan, on their summed capex and kW (sized on them together). The month
    let is the first month the halls count as let, once their spending is done (None:
    never let within the horizon).
    """
    if not conversions:  # a site that converts nothing borrows nothing for it
        return []
    let = let_days(conversions, account.rates.kw_it_leased)
    capex_rows = projects_capex_by_month(conversions, account.n_days, month_of_day, n)
    groups: dict[tuple, list] = {}
    for i, (hall, capex, spent) in enumerate(zip(conversions, capex_rows,
                                                  last_month_by_row(capex_rows > 0).tolist())):
        if spent < 0:  # nothing spent within the horizon
            continue
        let_month = max(spent, int(month_of_day[int(let[i])])) if i in let else None
        key = (hall.start_day, hall.end_day, let_month)
        if key in groups:
            group = groups[key]
            group[0] = dataclasses.replace(group[0], capex_usd=group[0].capex_usd + hall.capex_usd,
                                           kw_it=group[0].kw_it + hall.kw_it)
            group[1] = group[1] + capex
        else:
            groups[key] = [hall, capex, let_month]
    return [tuple(group) for group in groups.values()]


def _spending_months(capex_rows: np.ndarray) -> tuple[list[int], list[int]]:
    """Return the first and the last month of spending of each row of `capex_rows` (>= 0, every
    row spending in some month): a loan's first draw, its building's completion."""
    if not capex_rows.size:  # no loans
        return [], []
    spending = capex_rows > 0
    return spending.argmax(axis=1).tolist(), last_month_by_row(spending).tolist()


def _maturity_month(first_spent: int, last_spent: int, maturity_months: int | None, n: int) -> int:
    """Return the month at whose end a construction loan matures, as known at its close:
    `maturity_months` after the month of its first draw (`first_spent`; Galaxy Helios I: drawn
    from August 2025, due August 2028), never before its spending is done (`last_spent`);
    without a maturity, the horizon's month (n - 1), whose sale repays it. It may lie past the
    horizon."""
    if maturity_months is None:
        return n - 1
    return max(last_spent, first_spent + maturity_months)


def _conversion_month(let_month: int | None, maturity: int, n: int) -> tuple[int, bool]:
    """Return the month at whose end a construction loan ends, and whether it ends let.

    It converts into a term loan at the end of the month its halls are let, if that comes
    by its `maturity` month; otherwise it is repaid at maturity (False), or still owed at
    the horizon (month n - 1, which the sale repays).
    """
    if let_month is not None and let_month <= min(maturity, n - 1):
        return let_month, True
    return min(maturity, n - 1), False


def _in_turn(rows: np.ndarray) -> np.ndarray:
    """Return zeros plus each row in turn, of `rows` (rows of months) or of each stack of rows
    (axis -2), by `total += row` in a loop: in order at any size, where a sum over rows may
    not be (numpy sums a single month's rows pairwise)."""
    total = np.zeros((*rows.shape[:-2], rows.shape[-1]))
    for k in range(rows.shape[-2]):  # each stack's row k at once
        total += rows[..., k, :]
    return total


def financing(cfg, account) -> Financing:
    """Return the financing of one replication's `account` under `cfg.finance`."""
    fin = cfg.finance
    monthly = account.monthly
    idx = account.category_index
    n = monthly.shape[1]
    world, record = account.world, account.record
    month_of_day = world.month_of_day()  # day 0 opens the first month
    rate = monthly_rates(fin, world)
    # (principal, lender's forecast (sculpted loans only), first month) of each term loan
    terms: list[tuple[float, np.ndarray | None, int]] = []
    unconverted = 0.0  # what the horizon owes outside the schedules: construction balances, a last draw
    debt = fin.debt
    ltc = float(debt.loan_to_cost)
    groups = _loan_groups(record.conversions, account, month_of_day, n) if ltc > 0 else []
    maturity_months = None if debt.construction_months is None else int(debt.construction_months)
    capex_rows = np.array([capex for _, capex, _ in groups]).reshape(len(groups), n)
    first_spent, last_spent = _spending_months(capex_rows)
    maturities = [_maturity_month(first, last, maturity_months, n)
                  for first, last in zip(first_spent, last_spent)]
    ends = [_conversion_month(let_month, due, n) for (_, _, let_month), due in zip(groups, maturities)]
    builds = construction_rows(capex_rows, ltc, rate, float(debt.upfront_fee), [end for end, _ in ends])
    # Interest capitalised while a hall is built joins its basis; once built (placed in
    # service), the interest it accrues is deducted as interest, as a term loan's is.
    built = np.arange(n) > np.array([n if c is None else c for c in builds.completion_months])[:, None]
    accruing = builds.capitalised_interest_usd
    draws, fees, capitalised, accrued = _in_turn(np.array(
        [builds.draw_usd, builds.fees_usd, np.where(built, 0.0, accruing), np.where(built, accruing, 0.0)]))
    # What the equity repays outside the schedules, by month (<= 0): a construction balance
    # above what its term loan may be, or one whose halls were not let by its maturity.
    paid_down = np.zeros(n)
    # (group, first month of the term loan, most it may be) of the loans sized at close: each
    # construction loan let by its maturity, and the new loan of halls let after it
    closing: list[tuple[int, int, float]] = []
    term_months = months_of(debt.term_years)
    # (upfront fee, month paid, last month of its loan as known when paid, and, for a
    # construction loan that became a term loan, (that month, the term loan's last)) of
    # each loan, for its deduction
    fee_lives: list[tuple[float, int, int, tuple[int, int] | None]] = []
    fees_paid = (-np.add.reduce(builds.fees_usd, axis=1)).tolist()  # a row's one fee, in its first month
    for k, ((_, capex, let_month), (end, let), due) in enumerate(zip(groups, ends, maturities)):
        owed = builds.balance_at_completion_usd[k]
        fee = (fees_paid[k], first_spent[k], due)
        if end + 1 >= n:  # still a construction loan at the horizon
            unconverted += owed
            fee_lives.append((*fee, None))
        elif let:
            closing.append((k, end + 1, owed))
            fee_lives.append((*fee, (end, end + term_months)))
        else:  # matured before its halls were let: the equity repays it
            paid_down[end] -= owed
            fee_lives.append((*fee, None))
            if let_month is not None and let_month + 1 < n:  # and borrows again once they are
                closing.append((k, let_month + 1, ltc * float(capex.sum())))
    starts = [start for _, start, _ in closing]
    # The lender's rent at close: the index of the project's first day for a construction
    # loan (its close), of the first day of the month let for a new loan on halls let late.
    first_days = world.month_starts()
    projects = [groups[k][0] if ends[k][1] else
                dataclasses.replace(groups[k][0], start_day=float(first_days[start - 1]))
                for k, start, _ in closing]
    # Sized at close: what the forecast covers (level and bullet read only its lowest month),
    # at the rate known then (a floating one: the rate of the month of close, held flat).
    at_close = [_rate_at_close(rate, start) for start in starts]
    if debt.amortisation == "sculpted":
        forecasts = [_lender_forecast(project, cfg, world, months_of(debt.term_years), start)
                     for project, start in zip(projects, starts)]
        capacities = [capacity_usd(debt, forecast, known, start)
                      for forecast, known, start in zip(forecasts, at_close, starts)]
    else:
        forecasts = [None] * len(closing)
        lowest = (_lowest_forecasts_usd(projects, cfg, world, months_of(debt.term_years)).tolist()
                  if projects else [])
        capacities = (flat_capacities_usd(debt, lowest, rate, starts) if isinstance(rate, float)
                      else [flat_capacities_usd(debt, [usd], known, [start])[0]
                            for usd, known, start in zip(lowest, at_close, starts)])
    for (k, start, most), forecast, covered in zip(closing, forecasts, capacities):
        principal = min(most, covered)
        if ends[k][1]:  # the construction balance above the term loan is paid down at conversion
            paid_down[start - 1] -= most - principal
        else:  # a new loan, drawn in the month the halls are let, with its own fee
            draws[start - 1] += principal
            fees[start - 1] -= float(debt.upfront_fee) * principal
            fee_lives.append((float(debt.upfront_fee) * principal, start - 1, start - 1 + term_months,
                              None))
        terms.append((principal, forecast, start))
    loans = _term_loans(debt, terms, rate, n)
    equipment_price = -(monthly[idx["capex_gpu"]] + monthly[idx["capex_asic_refresh"]])
    if fin.equipment.loan_to_value > 0 and np.any(equipment_price > 0):
        gear = equipment_loan(np.maximum(equipment_price, 0.0), float(fin.equipment.loan_to_value),
                              float(fin.equipment.rate),
                              months_of(fin.equipment.term_years), n)
        draws += gear.draw_usd
        loans.append(gear.schedule)
        # A tranche drawn in the last month repays from the next: not in the schedule, still owed.
        unconverted += float(gear.draw_usd[-1])
    operating = sum(monthly[idx[name]] for name in OPERATING)
    taxes = _Taxes(cfg, account, operating, equipment_price, capitalised)
    # Interest deducted beside what is paid: the fees over their loans' lives, and the
    # interest built halls accrue while they wait for a tenant.
    more_interest = _fee_deductions(fee_lives, n) + accrued
    schedule = (loans[0] if len(loans) == 1 else combine(loans)) if loans else None
    if schedule is None:
        tax = taxes.levered_usd(more_interest)
        covenanted = None
        breaches, cure, default, lowest = (), None, None, float("nan")
        interest, principal = np.zeros(n), paid_down
        owed = unconverted
    else:
        # CFADS: operating cash less the tax on operations (not the tax on the horizon's sale).
        first_tax = taxes.levered_usd(more_interest - schedule.interest_usd, sale=False)
        covenanted = apply_covenant(operating + first_tax, schedule, float(fin.covenant.min_dscr),
                                    fin.covenant.cure,
                                    first_test_months=int(fin.covenant.first_test_months))
        schedule = covenanted.schedule
        tax = taxes.levered_usd(more_interest - schedule.interest_usd)
        breaches = tuple(int(m) for m in covenanted.breach_months)
        cure, default, lowest = covenanted.cured_by, covenanted.default_month, covenanted.min_dscr
        interest, principal = schedule.interest_usd.copy(), schedule.principal_usd + paid_down
        owed = float(schedule.balance_usd[-1]) + unconverted
    principal[-1] -= owed  # the sale at the horizon repays what is still owed
    # An equity cure is already in `principal`: the equity's money prepays the debt.
    lines = np.array([draws, interest, principal, fees, tax])
    equity = np.add.reduce(monthly, axis=0) + np.add.reduce(lines, axis=0)  # ndarray.sum's
    if default is not None:  # from the default on, the cash is the lender's
        equity *= covenanted.equity_mask
        lines *= covenanted.equity_mask
    # The tax on the sale's gain: the last month's tax less what operations alone would owe.
    sale_tax = (float(tax[-1] - taxes.levered_usd(more_interest - interest, sale=False)[-1])
                if default is None else 0.0)
    return Financing(lines=lines, covenant=covenanted, equity_usd=equity, breach_months=breaches,
                     cure=cure, default_month=default, min_dscr=lowest,
                     tax_unlevered_usd=taxes.unlevered_usd(),
                     sale_usd=float(monthly[idx["terminal_value"], -1]) - owed + sale_tax)


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
        years = tax_usd_by_year(ebitda, depreciation, interest_by_year, self.rate, self.cap, self.nol)
        return -tax_by_month(years, self.n_months)

    def levered_usd(self, interest_paid: np.ndarray, sale: bool = True) -> np.ndarray:
        """Return the monthly tax (<= 0) with the debt's interest (>= 0 by month) deducted;
        without `sale`, the tax on operations alone (what debt service is covered from)."""
        income = self.levered if sale else self.levered_operations
        return self._monthly(*income, yearly_sums(interest_paid, 12))

    def unlevered_usd(self) -> np.ndarray:
        """Return the monthly tax (<= 0) of the same income without debt."""
        return self._monthly(*self.unlevered, 0.0)
