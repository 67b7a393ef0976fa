"""Debt of a conversion project: the construction loan, the term loan it becomes, equipment loans.

A conversion is financed as a development is: a construction loan funds a share of each
month's capex as it is spent (loan-to-cost) and adds its interest to the balance; at
energisation it converts into a term loan, repaid by level payments (an annuity), by
payments sculpted to the lender's forecast of the cash flow available for debt service
(CFADS), or in one bullet at maturity. Mining and GPU purchases may carry equipment loans
(a loan-to-value, level payments from the month after the purchase).

Every array is monthly, in USD, month 0 being the first month of the simulation, signed
as the ledger signs cash seen from the equity holder: draws positive (cash in); interest,
principal and fees negative. Rates are nominal annual rates (decimals) compounded
monthly, as loan tables quote them: a month's interest is its opening balance × rate / 12.
A rate is a float, or an array of the annual rate of each month (floating debt: a short
rate plus a spread); an array shorter than a loan's life holds its last rate after its end.

These are pure functions of plain arguments: the ledger calls them, and
sim.finance.covenants applies the lender's tests to what they return. The loan table
itself, sums of loans and prepayment are in sim.finance.schedule (and named here too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.finance.schedule import (
    Schedule, amortise, annuity_usd, combine, last_month_by_row, prepay, rates_per_year, sum_of_rows,
)
from sim.memo import read_only, read_only_cache

__all__ = ["Construction", "ConstructionRows", "EquipmentLoan", "Schedule", "annuity_usd", "bullet_schedule", "combine",
           "construction_draws", "construction_loans", "construction_rows", "equipment_loan", "level_capacities_usd",
           "level_capacity_usd", "level_loans", "level_schedule", "prepay", "rates_per_year",
           "sculpted_capacity_usd", "sculpted_schedule"]


@dataclass(frozen=True)
class Construction:
    """A construction loan: draws with the capex, capitalised interest, the fee, the balance.

    `completion_month` is the last month with spending (None without any) and
    `conversion_month` the month at whose end the loan converts into a term loan (the
    completion month unless given); `balance_at_completion_usd` is the balance then, which
    the term loan takes over from the next month, so `balance_usd` is zero after it.
    """

    draw_usd: np.ndarray
    capitalised_interest_usd: np.ndarray
    fees_usd: np.ndarray
    balance_usd: np.ndarray
    completion_month: int | None
    conversion_month: int | None
    balance_at_completion_usd: float

    def __post_init__(self):
        read_only(self.draw_usd, self.capitalised_interest_usd, self.fees_usd, self.balance_usd)


@dataclass(frozen=True)
class EquipmentLoan:
    """Equipment loans: the draw of each purchase month, and the sum of their level schedules."""

    draw_usd: np.ndarray
    schedule: Schedule

    def __post_init__(self):
        read_only(self.draw_usd)

    @property
    def balance_usd(self) -> np.ndarray:
        """Return the balance of all tranches at each month end, this month's draws included."""
        return self.schedule.balance_usd + self.draw_usd


def _check_term(principal_usd: float, months: int, start_month: int, n_months: int) -> None:
    """Raise ValueError unless a loan's principal, term, start and horizon make sense."""
    if not math.isfinite(principal_usd) or principal_usd < 0:
        raise ValueError(f"principal_usd(={principal_usd}) must be >= 0.")
    if months < 1:
        raise ValueError(f"months(={months}) must be >= 1.")
    if start_month < 0:
        raise ValueError(f"start_month(={start_month}) must be >= 0.")
    if n_months < 1:
        raise ValueError(f"n_months(={n_months}) must be >= 1.")


def _funding(principal_usd: float, start_month: int, length: int) -> np.ndarray:
    """Return an array of `length` months with `principal_usd` starting to accrue at start_month."""
    funded = np.zeros(length)
    if start_month < length:
        funded[start_month] = principal_usd
    return funded


# --- term loans ----------------------------------------------------------------------------
def level_schedule(principal_usd: float, rate, months: int, start_month: int, n_months: int) -> Schedule:
    """Return a level-payment (annuity) loan of `months` payments, the first at start_month.

    The principal accrues interest from start_month (funded at the end of the month before).
    With a rate per month (floating debt) each payment is the annuity of the balance over
    the payments left at that month's rate, as floating amortising loans are reset; with a
    fixed rate that is the same payment every month. Payments past n_months are not in the
    arrays; the balance they would repay is `balance_usd[-1]`.
    """
    _check_term(principal_usd, months, start_month, n_months)
    rates = rates_per_year(rate, n_months)
    last = start_month + months - 1
    if isinstance(rate, float) or (rates == rates[0]).all():  # a fixed rate: the annuity table in closed form
        return level_loans([principal_usd], rate, months, [start_month], n_months)

    def due(t, opening, owed):
        if t == last:
            return owed, opening
        return owed, annuity_usd(opening, rates[t] / 12.0, last - t + 1) - owed

    return amortise(_funding(principal_usd, start_month, n_months), rates, due, n_months)


def level_loans(principals_usd, rate, months: int, start_months, n_months: int) -> Schedule:
    """Return level loans of one rate and term, from their start months, as one sum of loans:
    `combine` of their `level_schedule`s, the same numbers to the last bit (one loan: itself).

    At a fixed rate every loan's table is a row of one table, each element computed as
    `level_schedule` computes it alone; a rate that changes amortises each loan in turn.
    """
    principals = [float(principal) for principal in principals_usd]
    starts = [int(start) for start in start_months]
    if not principals or len(principals) != len(starts):
        raise ValueError(f"{len(principals)} principals for {len(starts)} start months: "
                         "one of each per loan, at least one loan.")
    for principal, start in zip(principals, starts):
        _check_term(principal, months, start, n_months)
    rates = rates_per_year(rate, n_months)
    if not (isinstance(rate, float) or (rates == rates[0]).all()):
        return combine([level_schedule(principal, rate, months, start, n_months)
                        for principal, start in zip(principals, starts)])
    return sum_of_rows(_level_fixed_rows(np.array(principals), rates, months, np.array(starts),
                                         n_months))


def _level_fixed_rows(principals: np.ndarray, rates: np.ndarray, months: int, starts: np.ndarray,
                      n_months: int) -> dict[str, np.ndarray]:
    """Return the tables of level loans at one rate, a row per loan: after k payments a balance is
    P·g^k − A·(g^k − 1)/r (g = 1 + r, A the annuity), each month's interest r times the
    balance before it, principal the rest of A, and the last payment what is left."""
    r = float(rates[0]) / 12.0
    n_loans = len(principals)
    payments = annuity_usd(principals, r, months)  # each loan's, as of its principal alone
    stops = np.minimum(starts + months, n_months)
    paid = np.arange(n_months) - starts[:, None]  # payments made before each month, from the start
    repaying = (paid >= 0) & (paid < (stops - starts)[:, None]) & (principals > 0)[:, None]
    paid = np.where(repaying, paid, 0)
    if abs(r) < 1e-15:  # as annuity_usd: no interest to speak of
        before = principals[:, None] - payments[:, None] * paid.astype(float)
    else:
        gained = _growth_less_one(r, n_months)[paid]
        before = principals[:, None] * (1.0 + gained) - payments[:, None] * gained / r
    paid_interest = before * r
    repaid = np.minimum(payments[:, None] - paid_interest, before)
    cleared = ((starts + months <= n_months) & np.logical_or.reduce(repaying, axis=1)).nonzero()[0]
    last = stops[cleared] - 1
    repaid[cleared, last] = before[cleared, last]  # the last payment clears the loan
    funded = np.zeros((n_loans, n_months))
    funding = (starts < n_months).nonzero()[0]
    funded[funding, starts[funding]] = principals[funding]
    return dict(funded_usd=funded, interest_usd=np.where(repaying, -paid_interest, 0.0),
                capitalised_interest_usd=np.zeros((n_loans, n_months)),
                principal_usd=np.where(repaying, -repaid, 0.0),
                prepaid_usd=np.zeros((n_loans, n_months)),
                balance_usd=np.where(repaying, before - repaid, 0.0),
                rate_per_year=rates[None, :].repeat(n_loans, axis=0))


@read_only_cache(maxsize=64)
def _growth_less_one(monthly_rate: float, n_payments: int) -> np.ndarray:
    """Return (1 + r)^k - 1 for k = 0 .. n_payments - 1, exact for tiny rates too (read-only)."""
    return np.expm1(np.arange(n_payments, dtype=float) * np.log1p(monthly_rate))


def bullet_schedule(principal_usd: float, rate, months: int, start_month: int, n_months: int) -> Schedule:
    """Return an interest-only loan from start_month whose principal is repaid in its last month.

    Interest is paid every month of the `months`; the whole principal with the last
    payment (start_month + months − 1), which may lie past the horizon.
    """
    _check_term(principal_usd, months, start_month, n_months)
    rates = rates_per_year(rate, n_months)
    last = start_month + months - 1
    return amortise(_funding(principal_usd, start_month, n_months), rates,
                    lambda t, opening, owed: (owed, opening if t == last else 0.0), n_months)


def _sculpting_inputs(cfads_forecast_usd, rate, start_month: int, months: int):
    """Return the forecast CFADS of the payment months and their discount factors.

    The CFADS is floored at 0; each payment month is discounted to the start of
    start_month at the loan rate.
    """
    forecast = np.asarray(cfads_forecast_usd, dtype=float)
    end = start_month + months
    if forecast.ndim != 1 or forecast.size < end:
        raise ValueError(f"cfads_forecast_usd has {forecast.size} months; the loan needs {end} "
                         f"(start_month {start_month} + {months} payments).")
    return np.maximum(forecast[start_month:end], 0.0), _discount(rate, start_month, months)


def _discount(rate, start_month: int, months: int) -> np.ndarray:
    """Return the discount factor of each payment month to the start of start_month, at the loan rate."""
    if isinstance(rate, float):
        return _fixed_discount(rates_per_year(rate, 1)[0], months)
    rates = rates_per_year(rate, start_month + months)
    return np.cumprod(1.0 / (1.0 + rates[start_month:] / 12.0))


@read_only_cache(maxsize=64)
def _fixed_discount(rate_per_year: float, months: int) -> np.ndarray:
    """Return the discount factor of each of `months` payment months at one rate (read-only)."""
    return np.cumprod(1.0 / (1.0 + np.full(months, rate_per_year) / 12.0))


def sculpted_capacity_usd(cfads_forecast_usd, rate, target_dscr: float, start_month: int,
                          months: int) -> float:
    """Return the most debt that CFADS / target_dscr repays: its present value at the loan rate.

    The value is at the start of start_month (the first payment month); months whose
    forecast CFADS is negative count as zero.
    """
    if not target_dscr > 0:
        raise ValueError(f"target_dscr(={target_dscr}) must be > 0.")
    payment_cfads, discount = _sculpting_inputs(cfads_forecast_usd, rate, start_month, months)
    return float(np.sum(payment_cfads / target_dscr * discount))


def level_capacity_usd(cfads_usd: float, rate, target_dscr: float, start_month: int,
                       months: int) -> float:
    """Return the most debt that a flat CFADS / target_dscr repays: `sculpted_capacity_usd` of a
    forecast of `cfads_usd` (floored at 0) in every payment month."""
    return level_capacities_usd([cfads_usd], rate, target_dscr, [start_month], months)[0]


def level_capacities_usd(cfads_usd, rate, target_dscr: float, start_months, months: int) -> list[float]:
    """Return `level_capacity_usd` of each flat CFADS and its start month, computed together:
    each loan's months are a row of one array, summed as the row alone would be."""
    if not target_dscr > 0:
        raise ValueError(f"target_dscr(={target_dscr}) must be > 0.")
    # Each month's CFADS / target_dscr is the same number: one division, not one per month.
    payments = np.array([max(cfads, 0.0) / target_dscr for cfads in cfads_usd])
    if isinstance(rate, float):  # one discount row for every loan
        discount = _discount(rate, 0, months)
    else:
        discount = np.array([_discount(rate, start, months) for start in start_months])
    return np.add.reduce(discount * payments[:, None], axis=1).tolist()  # .sum(axis=1)


def sculpted_schedule(principal_usd: float, rate, cfads_forecast_usd, start_month: int, months: int,
                      n_months: int, rate_at_close: float | None = None) -> Schedule:
    """Return a loan whose debt service is in proportion to the forecast CFADS and repays it exactly.

    `cfads_forecast_usd` is the lender's base case of each month from month 0 to the last
    payment at least (e.g. contracted rent less opex). Debt service is k × max(CFADS, 0) in
    each payment month; the balance at maturity is linear in k, so k = principal / the
    present value of the forecast CFADS. Where k × CFADS is below the month's interest, the
    shortfall is capitalised (added to the balance) rather than repaid as negative principal.
    A floating loan's k is set at `rate_at_close`, the rate known when it closes (without
    one, at `rate` itself): it accrues at the realised rates, and what they leave unpaid
    falls due at maturity.
    """
    _check_term(principal_usd, months, start_month, n_months)
    sculpt = rate if rate_at_close is None else float(rate_at_close)
    payment_cfads, discount = _sculpting_inputs(cfads_forecast_usd, sculpt, start_month, months)
    value = float(np.sum(payment_cfads * discount))
    if principal_usd > 0 and value <= 0:
        raise ValueError("cfads_forecast_usd must be positive in at least one payment month.")
    service = payment_cfads * (principal_usd / value if principal_usd > 0 else 0.0)
    last = start_month + months - 1

    def due(t, opening, owed):
        if t == last:
            return owed, opening
        paid = min(owed, service[t - start_month])
        return paid, service[t - start_month] - paid

    length = max(n_months, start_month + months)
    return amortise(_funding(principal_usd, start_month, length), rates_per_year(rate, length), due,
                    n_months)


# --- the construction loan and equipment loans --------------------------------------------
def construction_draws(capex_usd, loan_to_cost: float, rate, upfront_fee: float = 0.0,
                       conversion_month: int | None = None) -> Construction:
    """Return the construction loan of one project whose monthly spending is `capex_usd` (>= 0).

    The loan funds `loan_to_cost` of each month's spending as it is spent (a draw at the
    month's end); each month it accrues interest on its opening balance, added to the
    balance (no cash). The upfront fee, a share of the commitment (loan_to_cost × total
    capex), is paid in the month of the first draw. At the end of `conversion_month`
    (default: the last month of spending) the balance converts into a term loan.
    """
    capex = np.asarray(capex_usd, dtype=float)
    # min >= 0 is False where any month is NaN (min propagates it); max < inf rules out +inf.
    if capex.ndim != 1 or capex.size == 0 or not (capex.min() >= 0.0 and capex.max() < math.inf):
        raise ValueError("capex_usd must be a non-empty 1-d array of spending >= 0.")
    return construction_loans(capex[None, :], loan_to_cost, rate, upfront_fee, [conversion_month])[0]


def construction_loans(capex_usd, loan_to_cost: float, rate, upfront_fee: float = 0.0,
                       conversion_months=None) -> list[Construction]:
    """Return the construction loans of several projects, one per row of `capex_usd` (>= 0).

    Each is `construction_draws` of its row and its conversion month (None: the last
    month of spending), the same numbers to the last bit: the rows are computed together
    (`construction_rows`), and numpy sums and accumulates each row of an array as it does
    the row alone.
    """
    return construction_rows(capex_usd, loan_to_cost, rate, upfront_fee, conversion_months).loans()


@dataclass(frozen=True, eq=False)
class ConstructionRows:
    """The construction loans of several projects as the rows of `Construction`'s arrays.

    What the ledger reads of many loans at once, without a `Construction` each (`loans()`
    makes them); `balance_at_completion_usd` is each row's balance in its conversion month
    (0 without one).
    """

    draw_usd: np.ndarray
    capitalised_interest_usd: np.ndarray
    fees_usd: np.ndarray
    balance_usd: np.ndarray
    completion_months: list[int | None]
    conversion_months: list[int | None]
    balance_at_completion_usd: list[float]

    def loans(self) -> list[Construction]:
        """Return one `Construction` per row (its arrays are views of the rows)."""
        return [Construction(self.draw_usd[k], self.capitalised_interest_usd[k], self.fees_usd[k],
                             self.balance_usd[k], completion, conversion, owed)
                for k, (completion, conversion, owed) in enumerate(zip(
                    self.completion_months, self.conversion_months, self.balance_at_completion_usd))]


def construction_rows(capex_usd, loan_to_cost: float, rate, upfront_fee: float = 0.0,
                      conversion_months=None) -> ConstructionRows:
    """Return `construction_loans` of the rows of `capex_usd` as rows (`ConstructionRows`)."""
    capex = np.asarray(capex_usd, dtype=float)
    if capex.ndim != 2 or capex.shape[1] == 0 or not (
            capex.size == 0 or (capex.min() >= 0.0 and capex.max() < math.inf)):
        raise ValueError("capex_usd must be rows of months of spending >= 0.")
    if not 0.0 <= loan_to_cost <= 1.0:
        raise ValueError(f"loan_to_cost(={loan_to_cost}) must be in [0, 1].")
    if not upfront_fee >= 0.0:
        raise ValueError(f"upfront_fee(={upfront_fee}) must be >= 0.")
    n_projects, n_months = capex.shape
    conversion_months = [None] * n_projects if conversion_months is None else list(conversion_months)
    if len(conversion_months) != n_projects:
        raise ValueError(f"{len(conversion_months)} conversion months for {n_projects} projects.")
    if not n_projects:
        return ConstructionRows(*(np.zeros((0, n_months)) for _ in range(4)), [], [], [])
    # completion: each row's last month of spending (None without any)
    completions = [None if month < 0 else month for month in last_month_by_row(capex > 0).tolist()]
    conversions = []
    for completion, conversion_month in zip(completions, conversion_months):
        conversion = completion if conversion_month is None else int(conversion_month)
        if conversion is not None and not (completion or 0) <= conversion < n_months:
            raise ValueError(f"conversion_month(={conversion_month}) must be in [{completion or 0}, "
                             f"{n_months}): after the spending, within the horizon.")
        conversions.append(conversion)
    return construction_rows_at(capex, loan_to_cost, rate, upfront_fee, completions, conversions)


def construction_rows_at(capex: np.ndarray, loan_to_cost: float, rate, upfront_fee: float,
                         completions: list[int | None], conversions: list[int | None]) -> ConstructionRows:
    """Return `construction_rows` of at least one row of `capex`, whose completion and conversion
    months are given and, like the other arguments, already checked (project debt knows them)."""
    n_projects, n_months = capex.shape
    draw = loan_to_cost * capex
    # A fixed rate needs no array of rates: each month's is the same.
    monthly = rates_per_year(rate, 1 if isinstance(rate, float) else n_months) / 12.0
    capitalised, balance, fees = (np.zeros((n_projects, n_months)) for _ in range(3))
    drawn = draw > 0
    borrowers = drawn.any(axis=1).nonzero()[0]  # the fee falls in each one's month of first draw
    fees[borrowers, drawn[borrowers].argmax(axis=1)] = -upfront_fee * np.add.reduce(draw[borrowers], axis=1)
    last = np.array([-1 if c is None else c for c in conversions])  # no balance after the conversion
    after = np.arange(n_months) > last[:, None]
    if isinstance(rate, float) or (monthly == monthly[0]).all():
        # One rate: the balance after month t is sum over k <= t of draw_k (1 + r)^(t - k).
        one_rate = float(monthly[0])
        growth = _growth(one_rate, n_months)
        balance[:] = growth * np.add.accumulate(draw / growth, axis=1)  # np.cumsum
        capitalised[:, 1:] = balance[:, :-1] * one_rate
        balance[after] = 0.0
        capitalised[after] = 0.0
    else:
        for k, conversion in enumerate(conversions):
            months = 0 if conversion is None else conversion + 1
            rates, drawn_usd = monthly[:months].tolist(), draw[k, :months].tolist()
            interest, owed = [0.0] * months, [0.0] * months
            left = 0.0
            for t in range(months):
                interest[t] = left * rates[t]
                left += interest[t] + drawn_usd[t]
                owed[t] = left
            capitalised[k, :months], balance[k, :months] = interest, owed
    owed = np.where(last >= 0, balance[np.arange(n_projects), last], 0.0).tolist()  # 0 without a conversion
    return ConstructionRows(draw, capitalised, fees, balance, completions, conversions, owed)


@read_only_cache(maxsize=64)
def _growth(monthly_rate: float, n_months: int) -> np.ndarray:
    """Return (1 + r)^t for t = 0 .. n_months - 1 (read-only): a balance's growth at one rate."""
    return (1.0 + monthly_rate) ** np.arange(n_months, dtype=float)


def equipment_loan(price_usd_by_month, loan_to_value: float, rate, term_months: int,
                   n_months: int) -> EquipmentLoan:
    """Return the equipment loans of a stream of purchases: one tranche per purchase month.

    Each month's purchases are financed at `loan_to_value` (a draw in that month), repaid
    by level payments over `term_months` from the next month; the schedule is the sum of
    the tranches (a rate per month floats every tranche alike).
    """
    price = np.asarray(price_usd_by_month, dtype=float)
    if (price.ndim != 1 or price.size > n_months or np.any(price < 0)
            or not np.all(np.isfinite(price))):
        raise ValueError(f"price_usd_by_month must be a 1-d array of prices >= 0, "
                         f"at most {n_months} months.")
    if not 0.0 <= loan_to_value <= 1.0:
        raise ValueError(f"loan_to_value(={loan_to_value}) must be in [0, 1].")
    draw = np.zeros(n_months)
    draw[:price.size] = loan_to_value * price
    months = np.flatnonzero(draw > 0)
    schedule = (level_loans(draw[months], rate, term_months, months + 1, n_months) if months.size
                else level_schedule(0.0, rate, term_months, 0, n_months))
    return EquipmentLoan(draw, schedule)
