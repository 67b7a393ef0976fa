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
sim.finance.covenants applies the lender's tests to what they return.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: (month, opening balance, interest due) -> (interest paid in cash, principal repaid)
Due = Callable[[int, float, float], tuple[float, float]]


def _frozen(*arrays: np.ndarray) -> None:
    """Make arrays read-only, so that a frozen result cannot change under its reader."""
    for array in arrays:
        array.setflags(write=False)


@dataclass(frozen=True)
class Schedule:
    """A loan month by month: principal that starts to accrue, interest, repayments, balance.

    `funded_usd` (>= 0) is the principal that starts accruing interest in a month; the cash
    that funds it is the caller's (a construction loan converting, an equipment draw the
    month before). `interest_usd` (<= 0) is interest paid in cash and
    `capitalised_interest_usd` (>= 0) interest added to the balance instead.
    `principal_usd` (<= 0) is every repayment, the prepayments `prepaid_usd` (<= 0)
    included. `balance_usd` (>= 0) is the balance at the end of each month: the last is what
    remains after the horizon. `rate_per_year` is the annual rate of each month. A sum of
    loans (`combine`) keeps them as `tranches`, and its rate is theirs weighted by balance.
    """

    funded_usd: np.ndarray
    interest_usd: np.ndarray
    capitalised_interest_usd: np.ndarray
    principal_usd: np.ndarray
    prepaid_usd: np.ndarray
    balance_usd: np.ndarray
    rate_per_year: np.ndarray
    tranches: tuple[Schedule, ...] = ()

    def __post_init__(self):
        _frozen(self.funded_usd, self.interest_usd, self.capitalised_interest_usd,
                self.principal_usd, self.prepaid_usd, self.balance_usd, self.rate_per_year)

    @property
    def debt_service_usd(self) -> np.ndarray:
        """Return the cash paid to the lender each month (<= 0): interest plus principal."""
        return self.interest_usd + self.principal_usd

    @property
    def scheduled_service_usd(self) -> np.ndarray:
        """Return the debt service each month without prepayments (<= 0): what covenants test."""
        return self.interest_usd + (self.principal_usd - self.prepaid_usd)

    @property
    def opening_balance_usd(self) -> np.ndarray:
        """Return the balance on which each month's interest accrues: last month's plus funding."""
        return np.concatenate(([0.0], self.balance_usd[:-1])) + self.funded_usd


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
        _frozen(self.draw_usd, self.capitalised_interest_usd, self.fees_usd, self.balance_usd)


@dataclass(frozen=True)
class EquipmentLoan:
    """Equipment loans: the draw of each purchase month, and the sum of their level schedules."""

    draw_usd: np.ndarray
    schedule: Schedule

    def __post_init__(self):
        _frozen(self.draw_usd)

    @property
    def balance_usd(self) -> np.ndarray:
        """Return the balance of all tranches at each month end, this month's draws included."""
        return self.schedule.balance_usd + self.draw_usd


# --- rates and the one loop every loan runs --------------------------------------------------
def rates_per_year(rate, n_months: int) -> np.ndarray:
    """Return the annual rate of each of `n_months` months from a float or a per-month array.

    An array longer than n_months is cut; a shorter one holds its last rate after its end.
    """
    given = np.atleast_1d(np.asarray(rate, dtype=float))
    if given.ndim != 1 or given.size == 0:
        raise ValueError(f"rate(={rate!r}) must be a float or a non-empty 1-d array of annual rates.")
    if not np.all(np.isfinite(given)) or np.any(given <= -12.0):
        raise ValueError(f"rate(={rate!r}) must be finite and above -12 (a monthly rate above -100%).")
    if given.size >= n_months:
        return given[:n_months].copy()
    return np.concatenate((given, np.full(n_months - given.size, given[-1])))


def _check_term(principal_usd: float, months: int, start_month: int, n_months: int) -> None:
    """Raise ValueError unless a loan's principal, term, start and horizon make sense."""
    if not np.isfinite(principal_usd) or principal_usd < 0:
        raise ValueError(f"principal_usd(={principal_usd}) must be >= 0.")
    if months < 1:
        raise ValueError(f"months(={months}) must be >= 1.")
    if start_month < 0:
        raise ValueError(f"start_month(={start_month}) must be >= 0.")
    if n_months < 1:
        raise ValueError(f"n_months(={n_months}) must be >= 1.")


def _run(funded: np.ndarray, rates: np.ndarray, due: Due, n_months: int) -> Schedule:
    """Return the schedule of a loan funded by `funded` and repaid as `due` says, cut to n_months.

    Each month the interest due is the opening balance × rate / 12; what `due` does not pay
    in cash is capitalised; `due` never repays more than the balance.
    """
    length = funded.size
    interest, capitalised, principal, balance = (np.zeros(length) for _ in range(4))
    monthly = rates / 12.0
    left = 0.0
    for t in range(length):
        opening = left + funded[t]
        if opening == 0.0:
            continue
        owed = opening * monthly[t]
        paid, repaid = due(t, opening, owed)
        available = opening + (owed - paid)
        repaid = min(repaid, available)
        interest[t], capitalised[t], principal[t] = -paid, owed - paid, -repaid
        left = available - repaid
        balance[t] = left
    cut = slice(0, n_months)
    return Schedule(funded[cut].copy(), interest[cut], capitalised[cut], principal[cut],
                    np.zeros(n_months), balance[cut], rates[:n_months].copy())


def _funding(principal_usd: float, start_month: int, length: int) -> np.ndarray:
    """Return an array of `length` months with `principal_usd` starting to accrue at start_month."""
    funded = np.zeros(length)
    if start_month < length:
        funded[start_month] = principal_usd
    return funded


def annuity_usd(principal_usd: float, monthly_rate: float, payments: int) -> float:
    """Return the level payment that repays `principal_usd` in `payments` months: P r / (1 − (1+r)^−n)."""
    if abs(monthly_rate) < 1e-15:
        return principal_usd / payments
    return principal_usd * monthly_rate / (1.0 - (1.0 + monthly_rate) ** -payments)


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

    def due(t, opening, owed):
        if t == last:
            return owed, opening
        return owed, annuity_usd(opening, rates[t] / 12.0, last - t + 1) - owed

    return _run(_funding(principal_usd, start_month, n_months), rates, due, n_months)


def bullet_schedule(principal_usd: float, rate, months: int, start_month: int, n_months: int) -> Schedule:
    """Return an interest-only loan from start_month whose principal is repaid in its last month.

    Interest is paid every month of the `months`; the whole principal with the last
    payment (start_month + months − 1), which may lie past the horizon.
    """
    _check_term(principal_usd, months, start_month, n_months)
    rates = rates_per_year(rate, n_months)
    last = start_month + months - 1
    return _run(_funding(principal_usd, start_month, n_months), rates,
                lambda t, opening, owed: (owed, opening if t == last else 0.0), n_months)


def _sculpting_inputs(cfads_forecast_usd, rate, start_month: int, months: int):
    """Return the forecast CFADS of the payment months, the rates, and the discount factors.

    The CFADS is floored at 0; the rates run from month 0 to the last payment; each
    payment month is discounted to the start of start_month at the loan rate.
    """
    forecast = np.asarray(cfads_forecast_usd, dtype=float)
    end = start_month + months
    if forecast.ndim != 1 or forecast.size < end:
        raise ValueError(f"cfads_forecast_usd has {forecast.size} months; the loan needs {end} "
                         f"(start_month {start_month} + {months} payments).")
    rates = rates_per_year(rate, end)
    payment_cfads = np.maximum(forecast[start_month:end], 0.0)
    discount = np.cumprod(1.0 / (1.0 + rates[start_month:end] / 12.0))
    return payment_cfads, rates, discount


def sculpted_capacity_usd(cfads_forecast_usd, rate, target_dscr: float, start_month: int,
                          months: int) -> float:
    """Return the most debt that CFADS / target_dscr repays: its present value at the loan rate.

    The value is at the start of start_month (the first payment month); months whose
    forecast CFADS is negative count as zero.
    """
    if not target_dscr > 0:
        raise ValueError(f"target_dscr(={target_dscr}) must be > 0.")
    payment_cfads, _, discount = _sculpting_inputs(cfads_forecast_usd, rate, start_month, months)
    return float(np.sum(payment_cfads / target_dscr * discount))


def sculpted_schedule(principal_usd: float, rate, cfads_forecast_usd, start_month: int, months: int,
                      n_months: int) -> Schedule:
    """Return a loan whose debt service is in proportion to the forecast CFADS and repays it exactly.

    `cfads_forecast_usd` is the lender's base case of each month from month 0 to the last
    payment at least (e.g. contracted rent less opex). Debt service is k × max(CFADS, 0) in
    each payment month; the balance at maturity is linear in k, so k = principal / the
    present value of the forecast CFADS. Where k × CFADS is below the month's interest, the
    shortfall is capitalised (added to the balance) rather than repaid as negative principal.
    """
    _check_term(principal_usd, months, start_month, n_months)
    payment_cfads, rates, discount = _sculpting_inputs(cfads_forecast_usd, rate, start_month, months)
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
    return _run(_funding(principal_usd, start_month, length), rates_per_year(rates, length), due,
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
    if capex.ndim != 1 or capex.size == 0 or not np.all(np.isfinite(capex)) or np.any(capex < 0):
        raise ValueError("capex_usd must be a non-empty 1-d array of spending >= 0.")
    if not 0.0 <= loan_to_cost <= 1.0:
        raise ValueError(f"loan_to_cost(={loan_to_cost}) must be in [0, 1].")
    if not upfront_fee >= 0.0:
        raise ValueError(f"upfront_fee(={upfront_fee}) must be >= 0.")
    n_months = capex.size
    spent = np.flatnonzero(capex > 0)
    completion = int(spent[-1]) if spent.size else None
    conversion = completion if conversion_month is None else int(conversion_month)
    if conversion is not None and not (completion or 0) <= conversion < n_months:
        raise ValueError(f"conversion_month(={conversion_month}) must be in "
                         f"[{completion or 0}, {n_months}): after the spending, within the horizon.")
    draw = loan_to_cost * capex
    monthly = rates_per_year(rate, n_months) / 12.0
    capitalised, balance, fees = np.zeros(n_months), np.zeros(n_months), np.zeros(n_months)
    drawn = np.flatnonzero(draw > 0)
    if drawn.size:
        fees[drawn[0]] = -upfront_fee * float(draw.sum())
    left = 0.0
    for t in range(0 if conversion is None else conversion + 1):
        capitalised[t] = left * monthly[t]
        left += capitalised[t] + draw[t]
        balance[t] = left
    at_conversion = float(balance[conversion]) if conversion is not None else 0.0
    return Construction(draw, capitalised, fees, balance, completion, conversion, at_conversion)


def combine(schedules: Sequence[Schedule]) -> Schedule:
    """Return loans summed month by month into one schedule that keeps them as its tranches.

    Its `rate_per_year` is the tranches' rates weighted by their opening balances (the
    first tranche's rate in months without any).
    """
    tranches = tuple(part for s in schedules for part in (s.tranches or (s,)))
    if not tranches:
        raise ValueError("combine needs at least one schedule.")
    if len({part.balance_usd.size for part in tranches}) > 1:
        raise ValueError("combine sums schedules of the same months only.")
    if len(tranches) == 1:
        return tranches[0]
    fields = ("funded_usd", "interest_usd", "capitalised_interest_usd", "principal_usd",
              "prepaid_usd", "balance_usd")
    summed = {name: np.sum([getattr(part, name) for part in tranches], axis=0) for name in fields}
    opening = np.array([part.opening_balance_usd for part in tranches])
    rates = np.array([part.rate_per_year for part in tranches])
    total = opening.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(total > 0, (opening * rates).sum(axis=0) / total, rates[0])
    return Schedule(**summed, rate_per_year=rate, tranches=tranches)


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
    tranches = [level_schedule(float(draw[m]), rate, term_months, int(m) + 1, n_months)
                for m in np.flatnonzero(draw > 0)]
    schedule = combine(tranches) if tranches else level_schedule(0.0, rate, term_months, 0, n_months)
    return EquipmentLoan(draw, schedule)


# --- prepayment ---------------------------------------------------------------------------
def prepay(schedule: Schedule, month: int, amount_usd: float) -> Schedule:
    """Return the schedule with `amount_usd` of extra principal paid at the end of `month`.

    The prepayment shortens the loan, as a cash sweep does: it is applied to the scheduled
    instalments in the inverse order of maturity, so each later month repays the same
    principal as before until the balance runs out (earlier). Interest is recomputed on the
    lower balance; a month pays no more interest in cash than it did, and capitalises less.
    A sum of loans is prepaid pro rata to its tranches' balances in `month`, each shortened.
    """
    n_months = schedule.balance_usd.size
    if not 0 <= month < n_months:
        raise ValueError(f"month(={month}) must be in [0, {n_months}).")
    owed_now = float(schedule.balance_usd[month])
    if not 0.0 <= amount_usd <= owed_now * (1 + 1e-12) + 1e-9:
        raise ValueError(f"amount_usd(={amount_usd}) must be in [0, {owed_now}], the balance then.")
    amount = min(float(amount_usd), owed_now)
    if schedule.tranches:
        return combine([_prepaid_share(part, month, amount, owed_now) for part in schedule.tranches])
    interest, capitalised = schedule.interest_usd.copy(), schedule.capitalised_interest_usd.copy()
    principal, prepaid = schedule.principal_usd.copy(), schedule.prepaid_usd.copy()
    balance = schedule.balance_usd.copy()
    principal[month] -= amount
    prepaid[month] -= amount
    left = owed_now - amount
    balance[month] = left
    monthly = schedule.rate_per_year / 12.0
    later = slice(month + 1, n_months)
    if not (schedule.funded_usd[later].any() or schedule.capitalised_interest_usd[later].any()
            or prepaid[later].any() or (monthly[later] < 0).any()):
        # The balance only falls from here: it is the old one less the prepayment, until zero.
        balance[later] = np.maximum(schedule.balance_usd[later] - amount, 0.0)
        interest[later] = -(balance[month:-1] * monthly[later])
        principal[later] = balance[later] - balance[month:-1]
        return Schedule(schedule.funded_usd.copy(), interest, capitalised, principal, prepaid,
                        balance, schedule.rate_per_year.copy())
    for t in range(month + 1, n_months):
        opening = left + schedule.funded_usd[t]
        owed = opening * monthly[t]
        paid = min(owed, -schedule.interest_usd[t])
        available = opening + (owed - paid)
        repaid = min(-(schedule.principal_usd[t] - schedule.prepaid_usd[t]), available)
        extra = min(-schedule.prepaid_usd[t], available - repaid)  # an earlier prepayment, capped
        interest[t], capitalised[t] = -paid, owed - paid
        principal[t], prepaid[t] = -(repaid + extra), -extra
        left = available - repaid - extra
        balance[t] = left
    return Schedule(schedule.funded_usd.copy(), interest, capitalised, principal, prepaid, balance,
                    schedule.rate_per_year.copy())


def _prepaid_share(tranche: Schedule, month: int, amount_usd: float, owed_usd: float) -> Schedule:
    """Return a tranche with its share (its part of the balance owed) of a prepayment made."""
    owed_here = float(tranche.balance_usd[month])
    if amount_usd <= 0 or owed_here <= 0:
        return tranche
    return prepay(tranche, month, min(amount_usd * owed_here / owed_usd, owed_here))
