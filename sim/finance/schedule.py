"""A loan's table, month by month, and what can be done to one: sum it with others, prepay it.

A `Schedule` holds the arrays of a loan table (what starts accruing, interest paid and
capitalised, principal repaid, the balance) and the annual rate of each month. Every
loan in sim.finance.debt is built by `amortise`, one loop over the months: each month
accrues its opening balance × rate / 12 (a nominal annual rate compounded monthly) and
pays what the loan's rule says is due. `combine` sums loans into one facility that keeps
its tranches; `prepay` pays extra principal, as the covenant's cures do.

Arrays are monthly in USD, month 0 first, signed as the ledger signs cash seen from the
equity holder (interest and principal negative).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: (month, opening balance, interest due) -> (interest paid in cash, principal repaid)
Due = Callable[[int, float, float], tuple[float, float]]


def read_only(*arrays: np.ndarray) -> None:
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
        read_only(self.funded_usd, self.interest_usd, self.capitalised_interest_usd,
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


def amortise(funded: np.ndarray, rates: np.ndarray, due: Due, n_months: int) -> Schedule:
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


def annuity_usd(principal_usd: float, monthly_rate: float, payments: int) -> float:
    """Return the level payment that repays `principal_usd` in `payments` months: P r / (1 − (1+r)^−n)."""
    if abs(monthly_rate) < 1e-15:
        return principal_usd / payments
    return principal_usd * monthly_rate / (1.0 - (1.0 + monthly_rate) ** -payments)


# --- sums of loans and prepayment --------------------------------------------------------
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
