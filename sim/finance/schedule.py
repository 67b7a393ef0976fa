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

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sim.memo import read_only

#: (month, opening balance, interest due) -> (interest paid in cash, principal repaid)
Due = Callable[[int, float, float], tuple[float, float]]


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
    loans (`combine`) keeps them as `tranches`, and its rate is theirs weighted by balance;
    `rows` holds the tranches' arrays, each name's as the rows of one read-only array: what
    a `Facility` copies rather than stacking the tranches again (None for a single loan).
    """

    funded_usd: np.ndarray
    interest_usd: np.ndarray
    capitalised_interest_usd: np.ndarray
    principal_usd: np.ndarray
    prepaid_usd: np.ndarray
    balance_usd: np.ndarray
    rate_per_year: np.ndarray
    tranches: Sequence[Schedule] = ()
    rows: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

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
    if isinstance(rate, float):  # a fixed rate: checked as the array's one element would be
        if not math.isfinite(rate) or rate <= -12.0:
            raise ValueError(f"rate(={rate!r}) must be finite and above -12 (a monthly rate above -100%).")
        return np.full(max(n_months, 0), float(rate))
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
    """Return the level payment that repays `principal_usd` in `payments` months: P r / (1 − (1+r)^−n)
    (of an array of principals, each one's, as computed alone)."""
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
    rows = _table(tranches)
    read_only(*rows.values())
    return _sum_of(tranches, rows)


#: The arrays of a loan table that a sum of loans adds up month by month.
_SUMMED = ("funded_usd", "interest_usd", "capitalised_interest_usd", "principal_usd", "prepaid_usd",
           "balance_usd")
#: The sums that a prepayment changes, which a `Facility` keeps (funding never changes).
_SERVICE = ("interest_usd", "principal_usd", "prepaid_usd", "balance_usd")


def _table(tranches: Sequence[Schedule]) -> dict[str, np.ndarray]:
    """Return the tranches' summed arrays and their `rate_per_year`, one row per tranche."""
    return {name: np.array([getattr(part, name) for part in tranches])
            for name in (*_SUMMED, "rate_per_year")}


def sum_of_rows(rows: dict[str, np.ndarray]) -> Schedule:
    """Return the loans whose arrays are the rows of `rows` (each of `_SUMMED` and
    `rate_per_year`), summed as `combine` sums them; a single loan is itself."""
    read_only(*rows.values())  # the loans' arrays are views of these rows
    tranches = _RowTranches(rows)
    return tranches[0] if len(tranches) == 1 else _sum_of(tranches, rows)


class _RowTranches(Sequence):
    """The tranches of a sum of loans, made from its rows when first read: a sum is often
    only summed (a covenant that never bites), and a `Schedule` per loan costs."""

    def __init__(self, rows: dict[str, np.ndarray]):
        self.rows = rows
        self.made: tuple[Schedule, ...] | None = None

    def __len__(self) -> int:
        return len(self.rows["balance_usd"])

    def __getitem__(self, k):
        if self.made is None:
            names = (*_SUMMED, "rate_per_year")
            self.made = tuple(Schedule(*(self.rows[name][i] for name in names))
                              for i in range(len(self)))
        return self.made[k]


def _sum_of(tranches: Sequence[Schedule], rows: dict[str, np.ndarray]) -> Schedule:
    """Return the sum of `tranches`, whose arrays are the rows of `rows` (read-only, kept as
    the sum's `rows`; see `combine`)."""
    opening = np.zeros(rows["balance_usd"].shape)  # each tranche's opening balance
    opening[:, 1:] = rows["balance_usd"][:, :-1]
    opening += rows["funded_usd"]
    rates = rows["rate_per_year"]
    # Every table summed tranche by tranche, in order, in one reduction over the tranches of
    # the tables stacked (the bits of each table's own sum over its rows).
    *sums, total, weighted = np.add.reduce(
        np.array([*(rows[name] for name in _SUMMED), opening, opening * rates]), axis=1)
    rate = np.divide(weighted, total, out=rates[0].copy(), where=total > 0)
    return Schedule(**dict(zip(_SUMMED, sums)), rate_per_year=rate, tranches=tranches, rows=rows)


def prepay(schedule: Schedule, month: int, amount_usd: float) -> Schedule:
    """Return the schedule with `amount_usd` of extra principal paid at the end of `month`.

    The prepayment shortens the loan, as a cash sweep does: it is applied to the scheduled
    instalments in the inverse order of maturity, so each later month repays the same
    principal as before until the balance runs out (earlier). Interest is recomputed on the
    lower balance; a month pays no more interest in cash than it did, and capitalises less.
    A sum of loans is prepaid pro rata to its tranches' balances in `month`, each shortened.
    """
    loan = Facility(schedule)
    loan.prepay(month, amount_usd)
    return loan.schedule()


class Facility:
    """A loan, or a sum of loans, prepaid in place month after month (a covenant's cures).

    Holds each tranche's arrays as the rows of one table and their sums by month (what
    `combine` gives), so that a prepayment costs a few array operations rather than new
    schedules. `schedule()` returns the `Schedule` that the same calls of `prepay` would
    have returned one after the other, to the last bit. Its `funded_usd`, `interest_usd`,
    `principal_usd`, `prepaid_usd` and `balance_usd` are the sums as they stand (what a
    covenant tests), summed when read after a prepayment; read them, do not write them.
    `month_usd` reads one month of them without summing the others.
    """

    def __init__(self, schedule: Schedule):
        self.original = schedule
        self.parts = schedule.tranches or (schedule,)
        self.pro_rata = bool(schedule.tranches)  # a sum of loans: each prepaid its share
        self.n_months = schedule.balance_usd.size
        self.funded_usd = schedule.funded_usd
        self.sums: dict[str, np.ndarray] | None = {  # None: the rows changed since they were summed
            name: getattr(schedule, name) for name in _SERVICE}
        self.rows: dict[str, np.ndarray] | None = None  # the tranches' arrays, once one is prepaid
        self.fixed_last: list[int] | None = None  # by tranche, with the rows (see `_rows`)
        self.moving_last: list[int] | None = None

    interest_usd = property(lambda self: self._summed()["interest_usd"], doc="Interest paid (<= 0).")
    principal_usd = property(lambda self: self._summed()["principal_usd"], doc="Principal repaid (<= 0).")
    prepaid_usd = property(lambda self: self._summed()["prepaid_usd"], doc="Prepayments (<= 0).")
    balance_usd = property(lambda self: self._summed()["balance_usd"], doc="Balance at month end.")

    @property
    def opening_balance_usd(self) -> np.ndarray:
        """Return the balance on which each month's interest accrues (as `Schedule`'s)."""
        return np.concatenate(([0.0], self.balance_usd[:-1])) + self.funded_usd

    @property
    def scheduled_service_usd(self) -> np.ndarray:
        """Return the debt service each month without prepayments (<= 0), as `Schedule`'s."""
        return self.interest_usd + (self.principal_usd - self.prepaid_usd)

    def month_usd(self, month: int) -> tuple[float, float, float]:
        """Return the interest, principal and balance of `month` as they stand, the bits of
        `interest_usd[month]` and the others, without summing every month."""
        return (self._month_of("interest_usd", month), self._month_of("principal_usd", month),
                self._month_of("balance_usd", month))

    def prepay(self, month: int, amount_usd: float) -> None:
        """Pay `amount_usd` of extra principal at the end of `month` (see `prepay`)."""
        n_months = self.n_months
        if not 0 <= month < n_months:
            raise ValueError(f"month(={month}) must be in [0, {n_months}).")
        owed_now = self._month_of("balance_usd", month)
        if not 0.0 <= amount_usd <= owed_now * (1 + 1e-12) + 1e-9:
            raise ValueError(f"amount_usd(={amount_usd}) must be in [0, {owed_now}], the balance then.")
        amount = min(float(amount_usd), owed_now)
        rows = self._rows()
        if not self.pro_rata:
            self._prepay_rows([0], month, [amount])
        else:  # each tranche owing in `month` prepays its part of the balance owed
            owed = rows["balance_usd"][:, month].tolist() if amount > 0 else []
            which = [k for k, owed_here in enumerate(owed) if owed_here > 0]
            shares = [min(amount * owed[k] / owed_now, owed[k]) for k in which]
            self._prepay_rows(which, month, shares)
        self.sums = None

    def _summed(self) -> dict[str, np.ndarray]:
        """Return the facility's arrays: its tranches' sums (a single loan: its own arrays),
        summed again if the rows changed."""
        if self.sums is None:
            rows = self.rows
            if self.pro_rata:
                self.sums = {name: np.add.reduce(rows[name], axis=0) for name in _SERVICE}  # .sum(axis=0)
            else:
                self.sums = {name: rows[name][0] for name in _SERVICE}
        return self.sums

    def _month_of(self, name: str, month: int) -> float:
        """Return `month` of the sum `name` as it stands.

        Where the sums are stale, the month's tranches are added in turn from 0.0: the bits
        of numpy's sum over the rows, which adds them row by row from its identity wherever
        a row has more than one month (a single month's rows it sums pairwise).
        """
        if self.sums is not None or not self.pro_rata or self.n_months == 1:
            return float(self._summed()[name][month])
        total = 0.0
        for usd in self.rows[name][:, month].tolist():
            total += usd
        return total

    def schedule(self) -> Schedule:
        """Return the loan as prepaid so far: a new `Schedule` (a sum keeps its tranches), or the
        loan itself if nothing was prepaid."""
        if self.rows is None:
            return self.original
        # The rows as they stand (later prepayments change the rows, not these copies),
        # summed as `combine` would after stacking the new tranches again.
        return sum_of_rows({name: self.rows[name].copy() for name in (*_SUMMED, "rate_per_year")})

    def _rows(self) -> dict[str, np.ndarray]:
        """Return the tranches' arrays, one row each (copied from them, or from a sum's `rows`,
        when first asked)."""
        if self.rows is None:
            table = self.original.rows
            self.rows = rows = (_table(self.parts) if table is None
                                else {name: row.copy() for name, row in table.items()})
            rows["monthly"] = rows["rate_per_year"] / 12.0
            rows["minus_monthly"] = -rows["monthly"]  # x * -m is -(x * m), sign and all
            if self.pro_rata:  # as `combine` sums them (prepayments never change what is funded)
                self.funded_usd = np.add.reduce(rows["funded_usd"], axis=0)
            # The last month in which each tranche is funded or at a negative rate (these
            # never change), and in which it capitalises or prepays (kept as they change).
            self.fixed_last = last_month_by_row((rows["funded_usd"] != 0)
                                                | (rows["monthly"] < 0)).tolist()
            self.moving_last = last_month_by_row((rows["capitalised_interest_usd"] != 0)
                                                 | (rows["prepaid_usd"] != 0)).tolist()
        return self.rows

    def _only_falls_after(self, k: int, month: int) -> bool:
        """Return whether tranche `k`'s balance can only fall after `month`: it is not funded,
        capitalised or prepaid later, nor at a negative rate (a later month of any would be
        its last one)."""
        return self.fixed_last[k] <= month and self.moving_last[k] <= month

    def _prepay_rows(self, which: list[int], month: int, amounts: list[float]) -> None:
        """Prepay `amounts` of the tranches `which` at the end of `month`, each shortened."""
        if not which:
            return
        rows, n_months = self.rows, self.n_months
        interest, capitalised = rows["interest_usd"], rows["capitalised_interest_usd"]
        principal, prepaid, balance = rows["principal_usd"], rows["prepaid_usd"], rows["balance_usd"]
        index = _tranches(which)
        paid = np.array(amounts)
        principal[index, month] -= paid
        prepaid[index, month] -= paid
        balance[index, month] -= paid
        moving_last = self.moving_last
        for k, prepaid_usd in zip(which, prepaid[index, month].tolist()):
            if moving_last[k] < month and prepaid_usd != 0:  # the last month it prepays is this one
                moving_last[k] = month
        # Where the balance only falls from here, it is the old one less the prepayment, until
        # zero; the others are run again month by month.
        fixed_last = self.fixed_last  # as `_only_falls_after`, without a call per tranche
        falls = [fixed_last[k] <= month and moving_last[k] <= month for k in which]
        if all(falls):
            fast, paid_fast = index, paid
        else:
            fast = _tranches([k for k, falling in zip(which, falls) if falling])
            paid_fast = np.array([usd for usd, falling in zip(amounts, falls) if falling])
        if paid_fast.size:
            later = slice(month + 1, n_months)
            fallen = np.maximum(balance[fast, later] - paid_fast[:, None], 0.0)
            balance[fast, later] = fallen
            before = balance[fast, month:n_months - 1]
            interest[fast, later] = before * rows["minus_monthly"][fast, later]
            principal[fast, later] = fallen - before
        for k, falling in zip(which, falls):
            if not falling:
                _rerun_after(k, month, rows, n_months)
                moving_last[k] = int(last_month_by_row((capitalised[k] != 0) | (prepaid[k] != 0))[0])


def _tranches(which: list[int]) -> slice | np.ndarray:
    """Return rows `which` (ascending) as an index: a slice where they follow one another (the
    rows as views, not copies), else an array."""
    if which and which[-1] - which[0] + 1 == len(which):
        return slice(which[0], which[-1] + 1)
    return np.array(which, dtype=np.intp)


def last_month_by_row(happens: np.ndarray) -> np.ndarray:
    """Return the last month in which something happens, by row of `happens` (-1: never):
    a Facility's tranches, a construction loan's spending (`sim.finance.debt`)."""
    happens = np.atleast_2d(happens)
    months = happens.shape[1] - 1 - happens[:, ::-1].argmax(axis=1)
    return np.where(happens.any(axis=1), months, -1)


def _rerun_after(k: int, month: int, rows: dict[str, np.ndarray], n_months: int) -> None:
    """Rerun tranche `k`'s table after a prepayment in `month`, month by month, in place.

    Each month accrues interest on the lower opening balance; it pays in cash no more
    interest than it did (the rest is capitalised), repays its scheduled principal and
    any later prepayment, capped at what is owed.
    """
    later = slice(month + 1, n_months)
    funded, monthly = rows["funded_usd"][k, later].tolist(), rows["monthly"][k, later].tolist()
    interest_was = rows["interest_usd"][k, later].tolist()
    principal_was, prepaid_was = rows["principal_usd"][k, later].tolist(), rows["prepaid_usd"][k, later].tolist()
    interest, capitalised, principal, prepaid, balance = ([0.0] * len(funded) for _ in range(5))
    left = float(rows["balance_usd"][k, month])
    for i in range(len(funded)):
        opening = left + funded[i]
        owed = opening * monthly[i]
        paid = min(owed, -interest_was[i])
        available = opening + (owed - paid)
        repaid = min(-(principal_was[i] - prepaid_was[i]), available)
        extra = min(-prepaid_was[i], available - repaid)  # an earlier prepayment, capped
        interest[i], capitalised[i] = -paid, owed - paid
        principal[i], prepaid[i] = -(repaid + extra), -extra
        left = available - repaid - extra
        balance[i] = left
    for name, values in (("interest_usd", interest), ("capitalised_interest_usd", capitalised),
                         ("principal_usd", principal), ("prepaid_usd", prepaid), ("balance_usd", balance)):
        rows[name][k, later] = values
