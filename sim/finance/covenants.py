"""The lender's covenant: a minimum debt-service cover ratio (DSCR), tested each quarter, and its cure.

Project lenders test the cash flow available for debt service (CFADS) against the debt
service it must pay, over the trailing twelve months, at each quarter end. A ratio below
the covenant is a breach, and the loan agreement says what follows: a cash sweep (all
cash after debt service prepays the loan until the test passes again), an equity cure
(the sponsor pays in what lifts the ratio back to the covenant, and it prepays the loan),
or a default, after which the lender takes the project and the equity receives nothing.

Arrays are monthly in USD as in sim.finance.debt (month 0 first; cash to the lender
negative). The functions are pure: the ledger logs the breaches and applies the mask.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.finance.debt import Schedule
from sim.finance.schedule import Facility
from sim.memo import read_only

CURES = ("sweep", "equity", "default")


def dscr(cfads_usd, debt_service_usd, window_months: int = 12) -> np.ndarray:
    """Return the trailing DSCR at each month end: sum of CFADS / sum of |debt service| in the window.

    The window is the `window_months` months ending at each month, but never reaches back
    before the first month of debt service: in the first year of service it holds only the
    months of service there have been. NaN before service and where the window holds no
    debt service (after the loan is repaid).
    """
    cfads = np.asarray(cfads_usd, dtype=float)
    service = np.abs(np.asarray(debt_service_usd, dtype=float))
    if cfads.shape != service.shape or cfads.ndim != 1:
        raise ValueError(f"cfads_usd {cfads.shape} and debt_service_usd {service.shape} "
                         "must be 1-d arrays of the same months.")
    if window_months < 1:
        raise ValueError(f"window_months(={window_months}) must be >= 1.")
    n = cfads.size
    ratio = np.full(n, np.nan)
    served = service > 0
    if not served.any():  # no service (or no months): NaN throughout
        return ratio
    first = int(served.argmax())  # the first month of service
    short = min(window_months - 1, n - first)  # the windows that start at `first`
    cumulative = np.empty((2, n + 1))  # CFADS and service summed to the start of each month
    cumulative[:, 0] = 0.0
    np.add.accumulate(cfads, out=cumulative[0, 1:])  # np.cumsum
    np.add.accumulate(service, out=cumulative[1, 1:])
    window = cumulative[:, first + 1:].copy()  # summed to each month's end, less to the window's start:
    window[:, :short] -= cumulative[:, first, None]  # from the first month of service,
    window[:, short:] -= cumulative[:, first:n - short]  # or window_months before
    covered, owed = window
    np.divide(covered, owed, out=ratio[first:], where=owed > 0)
    return ratio


@dataclass(frozen=True)
class Covenanted:
    """A loan after its covenant: the schedule as swept or cured, the DSCR, breaches and their cure.

    `schedule` includes every prepayment (sweeps and the prepayments that equity cures
    fund), so the equity's cash flow is CFADS + `schedule.debt_service_usd`, times
    `equity_mask`; `equity_cure_usd` (<= 0) is the part of those prepayments that the
    equity paid in, to report, not to add again. `dscr` is the trailing DSCR of each month
    over `window_months`, equity cures counted as CFADS (`cfads_usd`, as loan agreements deem
    them), computed when first read (a summary never reads it); `min_dscr` is the lowest
    DSCR as tested, each test before its own cure (NaN if never tested). Under `default`,
    `default_month` is the breach month, from which `equity_mask` is 0, and
    `default_balance_usd` what the lender was owed at its start; the schedule is left as
    planned (its cash after default is the lender's).
    """

    schedule: Schedule
    cfads_usd: np.ndarray
    window_months: int
    breach_months: list[int]
    cured_by: str | None
    equity_cure_usd: np.ndarray
    equity_mask: np.ndarray
    min_dscr: float
    default_month: int | None
    default_balance_usd: float

    def __post_init__(self):
        read_only(self.cfads_usd, self.equity_cure_usd, self.equity_mask)

    @cached_property
    def dscr(self) -> np.ndarray:
        """Return the trailing DSCR at each month end, equity cures counted as CFADS (read-only)."""
        cover = dscr(self.cfads_usd, self.schedule.scheduled_service_usd, self.window_months)
        read_only(cover)
        return cover


def covenant_test_months(first_service_month: int, n_months: int, test_every_months: int,
                         first_test_months: int) -> range:
    """Return the months at whose end the covenant is tested.

    Tests fall at the period ends of the simulation (months 2, 5, 8, … for quarters), once
    debt service has begun and from the first test date (`first_test_months` months of
    service, at least one) on.
    """
    earliest = first_service_month + max(first_test_months, 1) - 1
    first_test = earliest + (-(earliest + 1)) % test_every_months  # the next period end
    return range(first_test, n_months, test_every_months)


def _trailing(cfads: np.ndarray, service: np.ndarray, month: int, first: int, window: int):
    """Return (CFADS, |debt service|) summed over the trailing window that ends at `month`."""
    window_start = max(month - window + 1, first)
    return (float(np.add.reduce(cfads[window_start:month + 1])),
            float(-np.add.reduce(service[window_start:month + 1])))


def _trailing_at(cfads: np.ndarray, service: np.ndarray, months: range, first: int,
                 window: int) -> dict[int, tuple[float, float]]:
    """Return `_trailing` at each of `months`, the same sums (`_trailing_sums`), by month."""
    covered, owed = _trailing_sums(cfads, service, np.array(months, dtype=np.intp), first, window)
    return dict(zip(months, zip(covered.tolist(), owed.tolist())))


def _trailing_sums(cfads: np.ndarray, service: np.ndarray, months: np.ndarray, first: int,
                   window: int) -> tuple[np.ndarray, np.ndarray]:
    """Return `_trailing` at each of `months`: the CFADS and the |debt service| of each window,
    the same sums: full windows as the rows of one array.

    A row of a C-ordered array (here picked out by fancy indexing, a copy) is summed as
    a slice of the same length is (numpy's pairwise sum of each row), so the sums keep
    their last bits. A window cut short by the first month of service is summed alone.
    """
    if not months.size or months[0] - window + 1 >= first:  # every window whole (months ascend)
        spans = months[:, None] + np.arange(1 - window, 1)  # each window's months, a row
        return np.add.reduce(cfads[spans], axis=1), -np.add.reduce(service[spans], axis=1)
    sums = np.array([_trailing(cfads, service, month, first, window) for month in months.tolist()])
    return sums[:, 0], sums[:, 1]


def _passed_tests(cfads: np.ndarray, service: np.ndarray, openings: np.ndarray, tests: range,
                  first: int, window: int, min_dscr: float) -> tuple[list[float], int]:
    """Return the cover of each test passed before the first breach, in order, and the month of
    that breach (the schedule's length: none), all tests at once: until a breach is cured,
    nothing a test reads changes. A test reads a loan outstanding at its month's start and a
    window with debt service, as `apply_covenant`'s do."""
    months = np.arange(tests.start, tests.stop, tests.step)
    covered, owed = _trailing_sums(cfads, service, months, first, window)
    read = (openings[months] > 0) & (owed > 0)
    covers = covered[read] / owed[read]
    breached = (covers < min_dscr).nonzero()[0]
    if breached.size:
        return covers[:breached[0]].tolist(), int(months[read][breached[0]])
    return covers.tolist(), cfads.size


def _checked_cfads(cfads_usd, schedule: Schedule, min_dscr: float, cure: str,
                   test_every_months: int) -> np.ndarray:
    """Return the CFADS as an array of the schedule's months, once the covenant's terms are checked."""
    if cure not in CURES:
        raise ValueError(f"cure(={cure!r}) must be one of {', '.join(CURES)}.")
    if not min_dscr > 0:
        raise ValueError(f"min_dscr(={min_dscr}) must be > 0.")
    if test_every_months < 1:
        raise ValueError(f"test_every_months(={test_every_months}) must be >= 1.")
    cfads = np.asarray(cfads_usd, dtype=float)
    n_months = schedule.balance_usd.size
    if cfads.shape != (n_months,):
        raise ValueError(f"cfads_usd has shape {cfads.shape}; the schedule has {n_months} months.")
    return cfads


def _sweep(loan: Facility, month: int, cfads_usd: float) -> bool:
    """Prepay the month's cash after debt service, if any (to the balance); return True if it did."""
    interest, principal, owed = loan.month_usd(month)
    cash = cfads_usd + (interest + principal)
    if cash > 0 and owed > 0:
        loan.prepay(month, min(cash, owed))
        return True
    return False


def apply_covenant(cfads_usd, schedule: Schedule, min_dscr: float, cure: str,
                   test_every_months: int = 3, window_months: int = 12,
                   first_test_months: int = 1) -> Covenanted:
    """Return the loan after testing the trailing DSCR against `min_dscr` and curing each breach.

    The test runs at each period end of the simulation (quarter ends by default) from the
    first month of scheduled debt service, while the loan is outstanding. On a breach:
    `sweep` prepays, from the breach month, all cash after debt service (CFADS + debt
    service, where positive) each month until a test passes again; `equity` has the
    equity pay in what lifts the window's CFADS to min_dscr × its debt service, which
    prepays the loan in the breach month; `default` hands the project to the lender from
    the breach month (no more tests). The first test falls once `first_test_months`
    months of service have passed (loan agreements test from a first test date after
    the project stabilises).
    """
    cfads = _checked_cfads(cfads_usd, schedule, min_dscr, cure, test_every_months)
    n_months = cfads.size
    openings, service = schedule.opening_balance_usd, schedule.scheduled_service_usd
    served = (service != 0).nonzero()[0]
    first = int(served[0]) if served.size else n_months
    cured_cfads = cfads.copy()
    mask = np.ones(n_months)
    breaches = []
    sweeping, default_month, default_balance_usd = False, None, 0.0
    loan = Facility(schedule)  # prepaid in place; `schedule` itself is never changed
    prepaid = False  # since `openings` and `service` were read: they are read again at a test
    tests = covenant_test_months(first, n_months, test_every_months, first_test_months)
    windows = None  # the trailing sums of the tests to come, while CFADS and service stand
    # The tests before the first breach pass as they are; from it, the months in which
    # something happens: each test, and each month of a sweep.
    tested, t = _passed_tests(cured_cfads, service, openings, tests, first, window_months, min_dscr)
    while t < n_months:
        testing = t in tests
        if testing and prepaid:
            openings, service = loan.opening_balance_usd, loan.scheduled_service_usd
            prepaid = False
        if testing and openings[t] > 0:
            opening = float(openings[t])
            if windows is None and not sweeping:
                windows = _trailing_at(cured_cfads, service, tests[tests.index(t):], first,
                                       window_months)
            if windows is None:
                covered, owed = _trailing(cured_cfads, service, t, first, window_months)
            else:
                covered, owed = windows[t]
            if owed > 0:
                tested.append(covered / owed)
                breached = covered / owed < min_dscr
                sweeping = breached and cure == "sweep"
                if breached:
                    breaches.append(t)
                if breached and cure == "default":
                    mask[t:] = 0.0
                    default_month, default_balance_usd = t, opening
                    break
                if breached and cure == "equity":
                    paid_in = min(min_dscr * owed - covered, float(loan.balance_usd[t]))
                    loan.prepay(t, paid_in)
                    cured_cfads[t] += paid_in
                    prepaid, windows = True, None
        if sweeping and _sweep(loan, t, float(cfads[t])):  # what the tests read changes with the loan
            prepaid, windows = True, None
        # the next month of the sweep, or the next test (each month from the first test is
        # a test or a month of a sweep)
        t = t + 1 if sweeping else t + test_every_months - (t - tests.start) % test_every_months
    if loan.rows is not None:
        schedule = loan.schedule()
    return Covenanted(schedule, cured_cfads, window_months, breaches, cure if breaches else None,
                      cfads - cured_cfads, mask, min(tested) if tested else float("nan"), default_month,
                      default_balance_usd)
