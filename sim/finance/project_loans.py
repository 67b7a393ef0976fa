"""The conversion projects' loans: a construction loan per project, the term loan it becomes.

`project_debt(cfg, account, rate, n)` reads the record's conversion projects and the
leased kW of an `sim.ledger.Account`, and returns their debt by month (`ProjectDebt`):
each project (the halls a crew builds together and that are let in the same month:
`_loan_groups`) borrows `loan_to_cost` of its capex as it is spent; interest is capitalised
until its halls are let (`let_days`), when the balance becomes a term loan sized at close
on the lender's forecast (`capacity_usd`, `flat_capacities_usd`); halls not let by the
loan's maturity repay it from equity and borrow again once they are. `term_loans` makes
the schedules. `sim.finance.equity` adds equipment loans, the covenant and taxes; the
rules, with their sources, are in its docstring and in docs/model.md.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from sim.finance.debt import (Schedule, bullet_schedule, construction_rows, construction_rows_at,
                              level_capacities_usd, level_loans, level_schedule, sculpted_capacity_usd,
                              sculpted_schedule)
from sim.finance.schedule import last_month_by_row
from sim.memo import read_only_cache


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


def term_loans(debt, terms, rate, n_months: int) -> list[Schedule]:
    """Return the term loans of `terms` (principal, lender's forecast, first month), in order;
    level loans as one sum of loans (`level_loans`: the same numbers, computed together)."""
    if debt.amortisation == "level" and terms:
        return [level_loans([principal for principal, _, _ in terms], rate, months_of(debt.term_years),
                            [start for _, _, start in terms], n_months)]
    return [_term_loan(debt, principal, rate, forecast, start, n_months)
            for principal, forecast, start in terms]


def _loan_groups(conversions, account, month_of_day: np.ndarray, n: int):
    """Return (hall, monthly capex, month let, first and last month of spending) for each loan:
    halls built alike, one loan.

    Halls with the same construction days and the same month of letting are one project
    and share one loan, on their summed capex and kW (sized on them together); their days
    are the same, so are their months of spending (the loan's first draw, its building's
    completion). The month let is the first month the halls count as let, once their
    spending is done (None: never let within the horizon).
    """
    if not conversions:  # a site that converts nothing borrows nothing for it
        return []
    let = let_days(conversions, account.rates.kw_it_leased)
    capex_rows = projects_capex_by_month(conversions, account.n_days, month_of_day, n)
    spending = capex_rows > 0
    groups: dict[tuple, list] = {}
    for i, (hall, capex, first, spent) in enumerate(zip(conversions, capex_rows,
                                                         spending.argmax(axis=1).tolist(),
                                                         last_month_by_row(spending).tolist())):
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
            groups[key] = [hall, capex, let_month, first, spent]
    return [tuple(group) for group in groups.values()]


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


@dataclass(eq=False)
class ProjectDebt:
    """The conversion projects' debt by month: their construction loans, and what the term
    loans they become start from (`project_debt` builds it; `sim.finance.equity.financing`
    adds the equipment loans' draws)."""

    draws: np.ndarray        # drawn (>= 0)
    fees: np.ndarray         # upfront fees paid (<= 0)
    capitalised: np.ndarray  # interest capitalised while halls are built: joins their basis
    accrued: np.ndarray      # interest built halls accrue while they wait for a tenant: deducted
    # What the equity repays outside the schedules (<= 0): a construction balance above
    # what its term loan may be, or one whose halls were not let by its maturity.
    paid_down: np.ndarray
    # What the horizon owes outside the schedules: construction balances, a last draw.
    unconverted: float = 0.0
    # (upfront fee, month paid, last month of its loan as known when paid, and, for a
    # construction loan that became a term loan, (that month, the term loan's last)) of
    # each loan, for its deduction (`_fee_deductions`)
    fee_lives: list = dataclasses.field(default_factory=list)
    # (principal, lender's forecast (sculpted loans only), first month) of each term loan
    terms: list = dataclasses.field(default_factory=list)

def project_debt(cfg, account, rate, n: int) -> ProjectDebt:
    """Return the conversion projects' debt over `n` months at `rate`: a construction loan per
    loan group (`_loan_groups`), each ending as the term loan it becomes once its halls are
    let, or repaid at its maturity (and borrowed again once they are), or owed at the horizon."""
    debt = cfg.finance.debt
    ltc = float(debt.loan_to_cost)
    groups = (_loan_groups(account.record.conversions, account, account.world.month_of_day(), n)
              if ltc > 0 else [])
    maturity_months = None if debt.construction_months is None else int(debt.construction_months)
    capex_rows = np.array([capex for _, capex, *_ in groups]).reshape(len(groups), n)
    first_spent, last_spent = [group[3] for group in groups], [group[4] for group in groups]
    maturities = [_maturity_month(first, last, maturity_months, n)
                  for first, last in zip(first_spent, last_spent)]
    ends = [_conversion_month(let_month, due, n) for (_, _, let_month, *_), due in zip(groups, maturities)]
    builds = (construction_rows_at(capex_rows, ltc, rate, float(debt.upfront_fee), last_spent,
                                   [end for end, _ in ends])
              if groups else construction_rows(capex_rows, ltc, rate, float(debt.upfront_fee)))
    # Interest capitalised while a hall is built joins its basis; once built (placed in
    # service), the interest it accrues is deducted as interest, as a term loan's is.
    built = np.arange(n) > np.array(last_spent, dtype=int)[:, None]
    accruing = builds.capitalised_interest_usd
    owed = ProjectDebt(*_in_turn(np.array(
        [builds.draw_usd, builds.fees_usd, np.where(built, 0.0, accruing), np.where(built, accruing, 0.0)])),
        paid_down=np.zeros(n))
    # (group, first month of the term loan, most it may be) of the loans sized at close: each
    # construction loan let by its maturity, and the new loan of halls let after it
    closing: list[tuple[int, int, float]] = []
    term_months = months_of(debt.term_years)
    fees_paid = (-np.add.reduce(builds.fees_usd, axis=1)).tolist()  # a row's one fee, in its first month
    for k, ((_, capex, let_month, *_), (end, let), due) in enumerate(zip(groups, ends, maturities)):
        balance = builds.balance_at_completion_usd[k]
        fee = (fees_paid[k], first_spent[k], due)
        if end + 1 >= n:  # still a construction loan at the horizon
            owed.unconverted += balance
            owed.fee_lives.append((*fee, None))
        elif let:
            closing.append((k, end + 1, balance))
            owed.fee_lives.append((*fee, (end, end + term_months)))
        else:  # matured before its halls were let: the equity repays it
            owed.paid_down[end] -= balance
            owed.fee_lives.append((*fee, None))
            if let_month is not None and let_month + 1 < n:  # and borrows again once they are
                closing.append((k, let_month + 1, ltc * float(capex.sum())))
    _size_term_loans(owed, cfg, account.world, rate, groups, ends, closing)
    return owed


def _size_term_loans(owed: ProjectDebt, cfg, world, rate, groups, ends, closing) -> None:
    """Add to `owed` the term loan of each loan `closing` (group, first month, most it may be)
    at its close: what the lender's forecast covers, at most the most; the construction
    balance above it paid down at conversion, or, for halls let after their construction
    loan matured, a new loan drawn in the month let, with its own fee."""
    debt = cfg.finance.debt
    term_months = months_of(debt.term_years)
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
        forecasts = [_lender_forecast(project, cfg, world, term_months, start)
                     for project, start in zip(projects, starts)]
        capacities = [capacity_usd(debt, forecast, known, start)
                      for forecast, known, start in zip(forecasts, at_close, starts)]
    else:
        forecasts = [None] * len(closing)
        lowest = (_lowest_forecasts_usd(projects, cfg, world, term_months).tolist()
                  if projects else [])
        capacities = (flat_capacities_usd(debt, lowest, rate, starts) if isinstance(rate, float)
                      else [flat_capacities_usd(debt, [usd], known, [start])[0]
                            for usd, known, start in zip(lowest, at_close, starts)])
    for (k, start, most), forecast, covered in zip(closing, forecasts, capacities):
        principal = min(most, covered)
        if ends[k][1]:  # the construction balance above the term loan is paid down at conversion
            owed.paid_down[start - 1] -= most - principal
        else:  # a new loan, drawn in the month the halls are let, with its own fee
            owed.draws[start - 1] += principal
            owed.fees[start - 1] -= float(debt.upfront_fee) * principal
            owed.fee_lives.append((float(debt.upfront_fee) * principal, start - 1, start - 1 + term_months,
                                   None))
        owed.terms.append((principal, forecast, start))
