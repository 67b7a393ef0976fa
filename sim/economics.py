"""The facts of Bitcoin and of money, written once: every caller in the model uses these.

Bitcoin: a miner's revenue per unit of hashrate (hashprice), what a MW of grid mines
and earns, the power price at which it breaks even, the difficulty retarget every 2016
blocks and the subsidy that halves every 210,000. Money: discount factors, NPV, IRR,
payback and peak funding of a series of cash flows (inflows positive, outflows
negative, period 0 undiscounted). docs/model.md gives the sources.

This is the bottom layer, beside the config schema: it imports nothing from the model.
The formulas keep the exact order of their floating-point operations, so that every
number the model computed before they were gathered here stays identical.
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np

from sim.memo import read_only_cache

SECONDS_PER_DAY = 86_400.0
DAYS_PER_YEAR = 365.25  # the calendar of the whole model: years and months of equal length
DAYS_PER_MONTH = DAYS_PER_YEAR / 12
HOURS_PER_DAY = 24.0
TWO_POW_32 = 2.0 ** 32
TARGET_TIMESPAN_S = 1_209_600  # two weeks: 2016 blocks of 600 s
TARGET_SPACING_S = 600
BLOCKS_PER_EPOCH = 2016
HALVING_INTERVAL = 210_000
INITIAL_SUBSIDY_SATS = 5_000_000_000
SATS_PER_BTC = 100_000_000
MIN_TIMESPAN_S, MAX_TIMESPAN_S = TARGET_TIMESPAN_S / 4, TARGET_TIMESPAN_S * 4


# --- Bitcoin --------------------------------------------------------------------------------
def hashprice_usd_per_ph_day(subsidy_btc, fees_btc_per_block, btc_usd, difficulty):
    """Return hashprice in USD per PH/s per day: 8.64e19 · reward · price / (D · 2^32)."""
    return SECONDS_PER_DAY * 1e15 * (subsidy_btc + fees_btc_per_block) * btc_usd / (
        difficulty * TWO_POW_32)


def frontier_j_per_th(level_j_per_th, gain_per_year, years):
    """Return the J/TH of the newest machines `years` after the date of `level_j_per_th`.

    The one frontier law of the ASIC market: the site's upgrades (sim.fleet) and the
    economic network's new machines (sim.processes.network_economic) both follow it.
    """
    return level_j_per_th * (1 - gain_per_year) ** years


def th_per_mw(j_per_th, pue):
    """Return the TH/s that one MW of grid mines at efficiency `j_per_th` and overhead `pue`."""
    return 1e6 / (j_per_th * pue)


def mining_revenue_usd_per_day(th, hashprice_usd_per_ph_day):
    """Return the USD a day that `th` TH/s earn at a hashprice, before pool fees."""
    return th / 1000.0 * hashprice_usd_per_ph_day


def mining_revenue_usd_per_mw_day(hashprice_usd_per_ph_day, th_per_mw, pool_fee):
    """Return the mining revenue after pool fees of one MW of grid per day, at a hashprice."""
    return hashprice_usd_per_ph_day / 1000.0 * th_per_mw * (1.0 - pool_fee)


def power_cost_usd_per_mw_day(power_usd_per_mwh):
    """Return what one MW drawn for a whole day costs at `power_usd_per_mwh`."""
    return HOURS_PER_DAY * power_usd_per_mwh


def breakeven_power_usd_per_mwh(revenue_usd_per_mw_day):
    """Return the power price at which a MW's mining revenue per day equals its power cost."""
    return revenue_usd_per_mw_day / HOURS_PER_DAY


def below_breakeven(revenue_usd_per_mw_day, power_usd_per_mwh):
    """Return True (elementwise) where a MW earns less a day mining than its power costs.

    The test is `revenue < 24 · power`, never a division into a breakeven price, so that a
    curtailment or upgrade decision right at breakeven is the same as it always was.
    """
    return revenue_usd_per_mw_day < HOURS_PER_DAY * power_usd_per_mwh


def mining_margin(revenue_usd_per_mw_day, power_usd_per_mwh):
    """Return 1 − power cost / mining revenue of a MW (revenue floored at 1e-9 USD)."""
    return 1.0 - HOURS_PER_DAY * power_usd_per_mwh / max(revenue_usd_per_mw_day, 1e-9)


def retarget(difficulty, actual_timespan_s):
    """Return the next epoch's difficulty, D · T / clamp(actual, T/4, 4T) (Bitcoin Core pow.cpp).

    `actual_timespan_s` is the time from the epoch's first to its last block (2015
    intervals, as Core measures it). Scalars give a float, arrays an array.
    """
    scalars = isinstance(actual_timespan_s, float) and isinstance(difficulty, float)  # the epoch loop
    if scalars or (np.ndim(difficulty) == 0 and np.ndim(actual_timespan_s) == 0):
        actual = min(max(float(actual_timespan_s), MIN_TIMESPAN_S), MAX_TIMESPAN_S)
        return float(difficulty) * TARGET_TIMESPAN_S / actual
    actual = np.clip(np.asarray(actual_timespan_s, dtype=float), MIN_TIMESPAN_S, MAX_TIMESPAN_S)
    return np.asarray(difficulty, dtype=float) * TARGET_TIMESPAN_S / actual


def subsidy_sats(height):
    """Return the block subsidy in satoshis at `height`: 50 BTC >> (height // 210,000), exact."""
    height = np.asarray(height)
    if not np.issubdtype(height.dtype, np.integer):
        raise TypeError(f"height must be an integer block height, got dtype {height.dtype}")
    if np.any(height < 0):
        raise ValueError("height must be >= 0")
    halvings = height.astype(np.int64) // HALVING_INTERVAL
    sats = np.where(halvings < 64, np.int64(INITIAL_SUBSIDY_SATS) >> np.minimum(halvings, 63), 0)
    return int(sats) if sats.ndim == 0 else sats.astype(np.int64)


def subsidy_btc(height):
    """Return the block subsidy in BTC at `height`."""
    sats = subsidy_sats(height)
    return sats / SATS_PER_BTC if isinstance(sats, int) else sats / float(SATS_PER_BTC)


# --- money ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def first_month_share(day0) -> float:
    """Return the share of its calendar month that month 0 covers: from day 0 (a date) to the
    month's end. 1.0 for a start on the 1st; 5/30 for a start on 26 June. Once per start
    date: every account of a run asks it of the same day 0, and numpy's dates are slow."""
    day = np.datetime64(day0, "D")
    month = day.astype("datetime64[M]")
    ends = (month + 1).astype("datetime64[D]")
    return float((ends - day).astype(int)) / float((ends - month.astype("datetime64[D]")).astype(int))


def month_years(n_months: int, first_share: float = 1.0, first_month: int = 0,
                periods_per_year: float = 12.0) -> np.ndarray:
    """Return the years from day 0 to the first day of months m = first_month ..
    first_month + n_months − 1: m / 12, less the part of month 0 before day 0 (a month
    0 that covers `first_share` of its calendar month is that share of a twelfth of a
    year long), so that month m ≥ 1 is (m − 1 + first_share) / 12 years away. Periods of
    another length than a month: `periods_per_year`."""
    months = np.arange(first_month, first_month + n_months)
    if first_share == 1.0:
        return months / periods_per_year
    return np.where(months > 0, months - (1.0 - first_share), 0.0) / periods_per_year


def discount_factors(n_months: int, rate_per_year: float, first_month: int = 0,
                     first_share: float = 1.0) -> np.ndarray:
    """Return (1 + rate) ** −t for the months m = first_month .. first_month + n_months − 1,
    t the years from day 0 to the month's first day (`month_years`): m / 12 where month 0
    is a whole calendar month."""
    return (1.0 + rate_per_year) ** -month_years(n_months, first_share, first_month)


@read_only_cache(maxsize=64)
def _shared_discount_factors(n_months: int, rate_per_year: float, first_share: float) -> np.ndarray:
    """Return `discount_factors(n_months, rate_per_year)`, computed once per rate (read-only)."""
    return discount_factors(n_months, rate_per_year, first_share=first_share)


def npv(cash_usd: np.ndarray, rate_per_year: float, first_share: float = 1.0) -> float:
    """Return the NPV of monthly cash flows at an annual discount rate: each month's cash on
    its first day (month 0's on day 0, undiscounted); month 0 covers `first_share` of its
    calendar month (`month_years`)."""
    n_months = len(cash_usd)
    if isinstance(rate_per_year, float):  # the model's rates: the same factors every replication
        return float(cash_usd @ _shared_discount_factors(n_months, float(rate_per_year), float(first_share)))
    return float(cash_usd @ discount_factors(n_months, rate_per_year, first_share=first_share))


#: Annual rates at which IRR looks for a change of sign of NPV: every point from −99% to
#: +100% a year, then 60 geometric steps (12.4% apart) up to +100,000% a year.
IRR_GRID = np.concatenate([np.linspace(-0.99, 1.0, 200), np.geomspace(1.01, 1e3, 60)])
IRR_GRID.setflags(write=False)
#: The spacing of floats at 1 and the smallest normal float: the units of the IRR's error bounds.
_EPSILON, _TINY = float(np.finfo(float).eps), float(np.finfo(float).tiny)
#: The top of the hurdle range, 100% a year: an IRR is checked against the NPV's sign at
#: every grid rate up to it (or up to the IRR, where that is higher), none above: no hurdle
#: rate is set there, and a stream that earns in its first month before it invests turns
#: positive again at rates of thousands of percent, discounting all but that month away.
HURDLE_TOP = 1.0
_HURDLE_TOP = int(np.flatnonzero(IRR_GRID <= HURDLE_TOP)[-1])


@read_only_cache(maxsize=8)
def _irr_factors(n_periods: int, periods_per_year: float, first_share: float) -> np.ndarray:
    """Return the discount factors of every period at every rate of the IRR grid (read-only)."""
    return (1.0 + IRR_GRID)[:, None] ** _minus_years(n_periods, periods_per_year, first_share)[None, :]


def irr(cash_usd, periods_per_year: int = 12, first_share: float = 1.0):
    """Return the annual IRR of cash flows (one row: a float; rows: an array), NaN if undefined.

    Period m is discounted by (1 + irr) ** (−m / periods_per_year): monthly flows by
    default, as the ledger keeps them; where period 0 covers only `first_share` of a
    period (a start within a calendar month), period m ≥ 1 by (1 + irr) ** (−(m − 1 +
    first_share) / periods_per_year), as `npv` discounts it. The rule, the same for every caller, returns a
    rate only where it means what a reader compares with a hurdle rate h: the flows beat
    h if and only if the IRR exceeds h. So:

    - NaN where the flows have no outflow or no inflow, or are not all finite;
    - otherwise NPV is evaluated on `IRR_GRID` (−99% to +100,000% a year). The IRR is
      the first rate at which NPV stops being positive: the grid rate where it is exactly
      zero, or the root between the last positive grid rate and the first negative one,
      refined by 60 bisections to machine precision. It is returned where NPV is
      positive at every grid rate below it and negative at every grid rate above it up
      to 100% a year (`HURDLE_TOP`; above that, where nobody sets a hurdle, only the rate
      after an exact zero is looked at). So against a hurdle rate h of at most 100%, an
      IRR above h means a positive NPV at h, and one below h a negative NPV;
    - NaN everywhere else: where NPV is positive on the whole grid, or not positive at
      −99% (a loan, cash first and costs later: +100 then −110 a year later gives NPV
      < 0 below 10% and > 0 above, so 10% is a cost of borrowing, not a return); where,
      up to 100% a year, it changes sign more than once or touches zero without
      crossing (several IRRs, none of which can be compared with a hurdle rate: −100,
      +230, −132 a year apart have roots at 10% and 20%, NPV > 0 only between them);
      and where NPV is NaN at a grid rate (flows so long that discounting at −99%
      overflows), as the rule cannot be checked there. Above 100% a year a second
      crossing is ignored: a stream that earns in its first month before it invests
      turns positive again at thousands of percent, where discounting leaves only that
      month.

    Two roots closer together than the grid's spacing (0.01 up to 100%, 12.4% of the rate
    above it) cancel out and are not seen.
    """
    if periods_per_year <= 0:
        raise ValueError(f"periods_per_year(={periods_per_year}) must be > 0.")
    cash = np.asarray(cash_usd, dtype=float)
    if cash.ndim == 2:
        return np.array([_irr_row(row, float(periods_per_year), float(first_share)) for row in cash],
                        dtype=float)
    if cash.ndim != 1:
        raise ValueError(f"cash_usd must be one row or rows of cash flows, got {cash.ndim} dims.")
    return _irr_row(cash, float(periods_per_year), float(first_share))


@read_only_cache(maxsize=8)
def _minus_years(n_periods: int, periods_per_year: float, first_share: float = 1.0) -> np.ndarray:
    """Return −t for periods m = 0 .. n_periods − 1, t their years from day 0 (`month_years`,
    in periods of 1 / periods_per_year of a year; read-only)."""
    return -month_years(n_periods, first_share, periods_per_year=periods_per_year)


def _irr_row(cash: np.ndarray, periods_per_year: float, first_share: float = 1.0) -> float:
    """Return the IRR of one row of cash flows by the rule of `irr`.

    The bisection runs on Python floats, the same arithmetic as numpy's scalars; it
    stops early once a step leaves the bracket as it was (the bracket's ends are then
    neighbouring floats, and every step left would be that same step). Each step needs
    only the sign of NPV at its midpoint. Where NPV falls steeply over the bracket, a
    midpoint farther than `_steep_radius` from the root Newton's method finds takes the
    sign of its side of that root; otherwise, where `_certain_signs` knows the sign, the
    step takes it from there. Every other step computes NPV as it always has (the dot
    product of the cash and the discount factors; `ndarray.dot` is the same BLAS call as
    `@`), with the factors of the midpoints on the predicted path computed at once
    (`_path_factors`: the same bits as a midpoint's own `np.power`, the same elementwise loop).
    """
    if not cash.size:
        return math.nan
    lowest, highest = cash.min(), cash.max()  # NaN in either where any flow is NaN
    if not (lowest < 0 < highest and math.isfinite(lowest) and math.isfinite(highest)):
        return math.nan
    n_periods = len(cash)
    minus_years = _minus_years(n_periods, periods_per_year, first_share)
    grid = _irr_factors(n_periods, periods_per_year, first_share)
    values = grid @ cash
    if np.isnan(values).any():  # the rule cannot be checked where discounting overflows
        return math.nan
    signs = np.sign(values)
    below = signs <= 0
    first = int(below.argmax())  # the first grid rate where NPV is not positive
    if not below[first] or first == 0:  # positive everywhere, or not positive at the lowest rate
        return math.nan
    # negative after it, up to the top of the hurdle range, and at the grid rate after a zero
    end = _HURDLE_TOP + 1 if first <= _HURDLE_TOP else first + 1
    after = signs[first + 1:max(end, first + 2) if signs[first] == 0 else end]
    if after.size and after.max() >= 0:
        return math.nan
    if signs[first] == 0:
        return float(IRR_GRID[first])
    low, high = float(IRR_GRID[first - 1]), float(IRR_GRID[first])  # NPV > 0, then < 0
    return _bisect(cash, minus_years, low, high, values[first - 1:first + 1], grid[first - 1], grid[first])


def _bisect(cash: np.ndarray, minus_years: np.ndarray, low: float, high: float, ends: np.ndarray,
            low_factors: np.ndarray, high_factors: np.ndarray) -> float:
    """Return the root of NPV that bisecting [low, high] finds (NPV > 0 at low, < 0 at high:
    `ends`; `low_factors`, `high_factors` their discount factors), as `_irr_row` describes."""
    factors = np.empty(len(cash))
    root = _newton_root(cash, minus_years, low, high, ends, factors)
    radius = None if root is None else _steep_radius(cash, minus_years, low, high, root, factors,
                                                     low_factors, high_factors)
    if radius is None:
        x_root, radius = 0.0, math.inf  # no side is known
        known, ahead = _certain_signs(cash, minus_years, low, high, root)
    else:
        x_root, known, ahead = 1.0 + root, None, None  # the factors near the root: when first needed
    for _ in range(60):
        mid = 0.5 * (low + high)
        gap = 1.0 + mid - x_root
        if gap < -radius or gap > radius:  # far from the root: the sign of its side
            npv_mid = 1.0 if gap < 0 else -1.0
        else:
            npv_mid = None if known is None else known.get(mid)
        if npv_mid is None:
            if ahead is None:
                ahead = _path_factors(low, high, root, minus_years)
            discount = ahead.get(mid)
            if discount is None:
                discount = np.power(1.0 + mid, minus_years, out=factors)
            npv_mid = float(cash.dot(discount))
        if npv_mid > 0:  # the sign at `low` (not 0, not NaN)
            if mid == low:
                break
            low = mid
        else:
            if mid == high:
                break
            high = mid
    return float(0.5 * (low + high))


def _certain_signs(cash: np.ndarray, minus_years: np.ndarray, low: float, high: float,
                   root: float | None) -> tuple[dict[float, float], dict[float, np.ndarray]]:
    """Return ±1.0, the sign of the NPV that `_irr_row` would compute, at midpoints where it is
    certain, and the discount factors of the other midpoints it predicted (read-only rows).

    The midpoints are those that bisecting [low, high] meets if NPV changes sign once, at
    `root` (Newton's method's, `_newton_root`; None: no sign is known, no factor predicted).
    All are discounted at once (a matrix product, which sums in another order than the
    bisection's dot product); a sign counts as certain where that NPV exceeds twice the
    bound on the rounding error of either sum, 2 (n + 16) ε Σ|cash × factor| (a dot
    product of n terms errs by at most n ε/2 of it, and the factors by a few ulps each;
    a floor of Σ|cash| + 1 times the smallest normal float covers factors and products
    that underflow). There, the NPV the bisection would compute has the same sign,
    whatever the root; a midpoint near it, or one the prediction missed, is computed as
    before (from the factors computed here where it was predicted: `(1 + mid) ** minus_years`
    by the same elementwise loop, a row at a time, as `np.power` of the midpoint alone).
    """
    if root is None:
        return {}, {}
    rows = _path_factors(low, high, root, minus_years)
    if not rows:
        return {}, {}
    discount = np.array(list(rows.values()))
    npvs = (discount @ cash).tolist()
    absolute = np.abs(cash)
    floor = (float(absolute.sum()) + 1.0) * _TINY
    bounds = ((2.0 * (len(cash) + 16) * _EPSILON) * (discount @ absolute + floor)).tolist()
    known, ahead = {}, {}
    for (mid, row), npv, bound in zip(rows.items(), npvs, bounds):
        if abs(npv) > bound:
            known[mid] = math.copysign(1.0, npv)
        else:
            ahead[mid] = row
    return known, ahead


def _newton_root(cash: np.ndarray, minus_years: np.ndarray, low: float, high: float, ends: np.ndarray,
                 factors: np.ndarray) -> float | None:
    """Return a root of NPV near [low, high]: three steps of Newton's method from the root of
    the chord between the NPVs at the ends (`ends`); None where a step starts outside the
    bracket or meets a zero slope. `factors` is scratch space."""
    low_npv, high_npv = float(ends[0]), float(ends[1])
    root = low - low_npv * (high - low) / (high_npv - low_npv)
    weighted = cash * minus_years
    for _ in range(3):  # NPV' = Σ cash × −m/ppy × factor / (1 + r)
        if not low < root < high:
            return None
        np.power(1.0 + root, minus_years, out=factors)
        slope = float(weighted.dot(factors)) / (1.0 + root)
        if not slope:
            return None
        root -= float(cash.dot(factors)) / slope
    return root


def _path_factors(low: float, high: float, root: float, minus_years: np.ndarray) -> dict[float, np.ndarray]:
    """Return the discount factors of each midpoint that bisecting [low, high] meets on its way
    to `root` (read-only rows, by midpoint), all computed at once: `(1 + mid) ** minus_years`
    by the same elementwise loop, a row at a time, as `np.power` of the midpoint alone."""
    mids = []
    for _ in range(60):
        mid = 0.5 * (low + high)
        if mid == low or mid == high:
            break
        mids.append(mid)
        if mid < root:
            low = mid
        else:
            high = mid
    discount = (1.0 + np.array(mids))[:, None] ** minus_years
    discount.setflags(write=False)
    return dict(zip(mids, discount))


def _steep_radius(cash: np.ndarray, minus_years: np.ndarray, low: float, high: float, root: float,
                  factors: np.ndarray, low_factors: np.ndarray, high_factors: np.ndarray) -> float | None:
    """Return a distance r: at every rate of [low, high] whose 1 + rate lies more than r from
    1 + root, the NPV `_irr_row` computes is positive below the root and negative above it.
    None where the root is not inside the bracket, or NPV cannot be shown to fall over the
    whole bracket. `low_factors` and `high_factors` are the discount factors at low and at
    high (`np.power` of 1 + low, 1 + high); `factors` is scratch space.

    With x = 1 + rate, NPV is g(x) = Σ cash × x ** t (t = `minus_years`, ≤ 0), and each term
    of its slope, cash × t × x ** (t − 1), moves one way in x: its largest over [1 + low,
    1 + high] is at 1 + low for an outflow, at 1 + high for an inflow. The sum of those
    largest terms, plus a bound on its rounding (2 (n + 16) ε of the sum of their sizes, as
    `_certain_signs` bounds a dot product), is `slope`: where it is negative, g falls at
    least |slope| per unit of x over the bracket. There the NPV computed at any x errs by
    at most `error` (the factors are largest at 1 + low), and |g(1 + root)| is at most
    the NPV computed there plus `error`; so at x more than 2 (|NPV at the root| + 2 `error`)
    / |slope| from 1 + root, |g(x)| exceeds `error`, with the sign of its side.
    """
    if not low < root < high:
        return None
    x_low, x_high = 1.0 + low, 1.0 + high
    weighted = cash * minus_years
    sizes = np.abs(weighted)
    largest = np.where(cash < 0, low_factors / x_low, high_factors / x_high)
    slack = 2.0 * (len(cash) + 16) * _EPSILON
    slope = float(weighted.dot(largest)) + slack * (float(sizes.dot(largest)) + (float(sizes.sum()) + 1.0) * _TINY)
    if not slope < 0:
        return None
    absolute = np.abs(cash)
    error = slack * (float(absolute.dot(low_factors)) + (float(absolute.sum()) + 1.0) * _TINY)
    np.power(1.0 + root, minus_years, out=factors)
    radius = 2.0 * (abs(float(cash.dot(factors))) + 2.0 * error) / -slope
    return radius if math.isfinite(radius) else None


def payback_years(cash_usd: np.ndarray, first_share: float = 1.0) -> float:
    """Return the years until cumulative monthly cash first recovers from its deficit, or NaN:
    to the end of the month it recovers in (`month_years`: month 0 covers `first_share` of its
    calendar month).

    NaN where cumulative cash is never negative (no investment) or never recovers.
    """
    cumulative = np.asarray(cash_usd).cumsum()
    worst = int(cumulative.argmin())
    if cumulative[worst] >= 0:
        return math.nan
    recovered = (cumulative[worst:] >= 0).nonzero()[0]
    return math.nan if recovered.size == 0 else (worst + recovered[0] + first_share) / 12.0


def peak_funding_usd(cash_usd: np.ndarray) -> float:
    """Return the largest cumulative cash deficit, as a positive number (0 if none)."""
    return float(max(0.0, -np.asarray(cash_usd).cumsum().min()))


def growing_annuity_pv(first_payment: float, growth: float, rate: float, periods: int) -> float:
    """Return the PV of `periods` end-of-period payments, the first `first_payment`, growing by `growth`.

    Payment k (k = 1 .. periods) is `first_payment · (1 + growth) ** (k − 1)`, discounted
    by `(1 + rate) ** −k`: `P / (r − g) · (1 − ((1 + g) / (1 + r)) ** n)`, or `P · n / (1 + r)`
    where the rates are equal. Computed as `P / (1 + r) · (q^n − 1) / (q − 1)` with
    `q = (1 + g) / (1 + r)` through log1p and expm1, exact also where g is close to r.
    """
    if rate <= -1 or growth <= -1:
        raise ValueError(f"rate(={rate}) and growth(={growth}) must be > -1.")
    if periods < 0 or int(periods) != periods:
        raise ValueError(f"periods(={periods}) must be a whole number >= 0.")
    log_q = math.log1p(growth) - math.log1p(rate)
    if abs(log_q) < sys.float_info.min:  # equal rates, or a subnormal gap: the ratio below
        # would be a subnormal over a subnormal (first_payment · 5e-324 rounds to a
        # multiple of 5e-324: 1.5 became 2), while the sum's limit n is exact here
        return first_payment * periods / (1.0 + rate)
    return first_payment / (1.0 + rate) * math.expm1(periods * log_q) / math.expm1(log_q)
