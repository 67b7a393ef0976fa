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
#: Brent's method takes steps of at least this times the larger of |r| and 1 + r (r the
#: rate): about a unit in the last place of the rate, or of the 1 + r its discount factors
#: are powers of, whichever is coarser; within a bracket so narrow it bisects. At most
#: `_BRENT_STEPS` steps: bisecting a grid step of 0.01 to neighbouring floats takes about 50.
_ROUNDING = float(np.finfo(float).eps)
_BRENT_STEPS = 200
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
      found by Brent's method to the last bit: where 1 + rate, which is what is
      discounted, rounds across the root. It is returned where NPV is
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
    above it) cancel out and are not seen; of three within one step of the grid, the IRR
    is whichever the root-finder meets.
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

    The grid's NPVs are one matrix product with the cached discount factors of every grid
    rate (`_irr_factors`); the root between two grid rates is `_brent`'s: five or six NPVs
    for nearly every IRR of a default run, where the bisection of 60 steps that came before
    it (until issue #13) needed a batch of fifty midpoints' discount factors and more. The
    two agree within a few units in the last place (tests/test_economics.py keeps a plain
    bisection as the reference).
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
    return _brent(cash, minus_years, low, high, float(values[first - 1]), float(values[first]))


def _brent(cash: np.ndarray, minus_years: np.ndarray, low: float, high: float,
           low_npv: float, high_npv: float) -> float:
    """Return the root of NPV in [low, high] (NPV > 0 at low, `low_npv`; < 0 at high,
    `high_npv`) by Brent's method, as `_irr_row` describes: secant and inverse quadratic
    steps, and a bisection wherever they would not shrink the bracket fast enough (scipy's
    brentq, after Brent 1973, ch. 4). NPV at a rate is the dot product of the cash and
    its discount factors, as `npv` computes it.

    It stops where NPV is exactly 0, or where 1 + rate at the bracket's two ends are
    neighbouring floats: NPV, a function of 1 + rate, changes sign where 1 + rate rounds
    from the one to the other, `_rounding_edge` (as a bisection of every step finds it,
    to its last bit or two)."""
    factors = np.empty(len(cash))
    x_pre, f_pre, x_cur, f_cur = low, low_npv, high, high_npv
    x_blk, f_blk, s_pre, s_cur = 0.0, 0.0, 0.0, 0.0
    for _ in range(_BRENT_STEPS):
        if (f_pre < 0) != (f_cur < 0):  # the root lies between the last two rates (neither NPV is 0)
            x_blk, f_blk, s_pre = x_pre, f_pre, x_cur - x_pre
            s_cur = s_pre
        if abs(f_blk) < abs(f_cur):  # the rate nearer the root, by its NPV, is the current one
            x_pre, x_cur, x_blk = x_cur, x_blk, x_cur
            f_pre, f_cur, f_blk = f_cur, f_blk, f_cur
        if f_cur == 0:
            return x_cur
        if math.nextafter(1.0 + x_cur, 1.0 + x_blk) == 1.0 + x_blk:
            return _rounding_edge(x_cur, x_blk)
        delta = _ROUNDING * max(1.0 + x_cur, abs(x_cur))
        s_bis = 0.5 * (x_blk - x_cur)
        if abs(s_bis) < delta:  # a few floats apart: bisect
            if x_cur + s_bis in (x_cur, x_blk):  # neighbouring rates
                return x_cur + s_bis
            s_pre = s_cur = step = s_bis
        else:
            s_pre, s_cur = _brent_step(x_pre, f_pre, x_cur, f_cur, x_blk, f_blk, s_pre, s_cur, s_bis, delta)
            step = s_cur if abs(s_cur) > delta else math.copysign(delta, s_bis)
        x_pre, f_pre = x_cur, f_cur
        x_cur += step
        f_cur = float(cash.dot(np.power(1.0 + x_cur, minus_years, out=factors)))
    return x_cur


def _rounding_edge(rate: float, other: float) -> float:
    """Return the rate between `rate` and `other` at which 1 + rate rounds from 1 + `rate` to
    1 + `other`, neighbouring floats: halfway between them, less 1."""
    one, one_other = 1.0 + rate, 1.0 + other
    return (one - 1.0) + 0.5 * (one_other - one)


def _brent_step(x_pre: float, f_pre: float, x_cur: float, f_cur: float, x_blk: float, f_blk: float,
                s_pre: float, s_cur: float, s_bis: float, delta: float) -> tuple[float, float]:
    """Return Brent's next (previous step, step) from x_cur: the secant through the last
    two rates, or the inverse quadratic through three, where it is short enough; else the
    bisection's step, `s_bis`."""
    if abs(s_pre) > delta and abs(f_cur) < abs(f_pre):
        if x_pre == x_blk:  # secant
            trial = -f_cur * (x_cur - x_pre) / (f_cur - f_pre)
        else:  # inverse quadratic interpolation
            d_pre = (f_pre - f_cur) / (x_pre - x_cur)
            d_blk = (f_blk - f_cur) / (x_blk - x_cur)
            denominator = d_blk * d_pre * (f_blk - f_pre)
            trial = -f_cur * (f_blk * d_blk - f_pre * d_pre) / denominator if denominator else math.inf
        if 2.0 * abs(trial) < min(abs(s_pre), 3.0 * abs(s_bis) - delta):
            return s_cur, trial
    return s_bis, s_bis


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
