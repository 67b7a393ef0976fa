"""Fits of the AI price indices' trends and noise (`sim.processes.ai.AIMarket`).

Each index: log price = a + g·t + X, t in years, X a stationary Ornstein–Uhlenbeck
process (sd σ, mean reversion κ = ln 2 / half-life) seen on the file's dates, whatever
their steps (month starts are 28 to 31 days apart): from one date to the next, Δt later,
X is an AR(1) with coefficient exp(−κΔt), so the likelihood is exact. The fit is
restricted maximum likelihood (REML): at each κ the trend by generalised least squares,
σ and κ by the likelihood of what the trend leaves, which counts the trend's two degrees
of freedom. Least squares then the lag-one autocorrelation of the residuals, as before,
returned on 5 years of a monthly index with a 1-year half-life a third of the half-life
and half the sd; REML is close to unbiased once the sample spans ten half-lives or so.

Standard errors: of κ from the observed information of the restricted likelihood (the
half-life's by the delta method). Those of the drift, of σ and of the expected price at
the last date (below) allow for what the data leave unknown of κ: each is the least e such
that value ± 1.96·e spans its 95% interval given κ (σ and the trend refitted: generalised
least squares, σ's relative error 1 / sqrt(2 (n − 2))) at every κ of the half-life's 95%
likelihood interval and at the κ used, fitted or assumed: the union of the intervals given each κ, as Berger
and Boos's tests maximise over a confidence set of the nuisance.
Given the κ used alone, the errors were too small wherever κ is loosely known: on 200
samples of 5 monthly years of a random walk (a quarter of them with a spurious half-life
identified) the drifts spread twice that error and drift ± 1.96 errors covered the true
drift in 60% of them, and in 78% with a 1-year half-life (underestimated); the union
covers it in 94% and 97%. Where the interval reaches a random walk the drift's error is
the random walk's, which on data with a real half-life is wider than their drifts' spread
(twice on 5 years with a 1-year half-life, five times on 20): the data cannot exclude a
random walk, and under one the drift is that uncertain. σ's and the expected price's errors
are then infinite: a random walk's stationary sd, and with it its expected price, has no
bound. On the same samples σ ± 1.96 errors given κ (the observed information's where the
half-life was fitted) covered the true 0.15 in 63% (7% where fitted) and, over 20 years,
88%; the expected price on the last date ± 1.96 errors covered the true one in 82% (40%
of random walks) and 86%. The unions cover them in 96% to 100%; their errors are finite
in 5% of 5-year samples and 42% of 20-year ones, which cover 95% (σ) and 99%. The errors
given the κ used are printed beside them (`errors["drift_given_half_life"]`,
`"log_sd_given_half_life"` and `"start_given_half_life"` of `fit_trend`). A half-life is
identified only when the sample spans at least `MIN_HALF_LIVES` of the fitted one and fits
better than a random walk (`MIN_OVER_RANDOM_WALK`): otherwise the written option keeps
the shipped half-life (market/ai=base), fits σ and the trend given it, and says so. Every half-life is printed
with its 95% likelihood interval, which on short samples often reaches a random walk.
On 5 years of a monthly index with a 1-year half-life REML still returns about half of
both (the bias of autoregressive estimates near a unit root) and the half-life is
identified in about a third of samples, where its estimate is lower still.
Where the noise is white at the file's step, the half-life is written as at most a
quarter of the step, σ then being the residuals' sd.

The expected price at the last date, exp(a + g·t_end + σ²/2), is printed as information:
the option's day-0 price stays the snapshot's, as market/ai=base has it. The GPU regimes
are not fitted: the written option sets both regime multipliers to 1, so the fitted noise
carries all of the price's swings around its trend.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sim.calibrate.fit import Fit, check_enough, covariance, period_of, shipped_option
from sim.economics import DAYS_PER_YEAR

#: The fewest dated prices an index's fit takes: its four numbers (level, trend, noise sd,
#: its half-life) from a year of a monthly index at least.
MIN_PRICES = 12
#: A fitted half-life is used only where the sample spans at least this many of it, and
#: where 2·log of its likelihood over that of a random walk exceeds `MIN_OVER_RANDOM_WALK`
#: (1: the random walk lies outside its 68% likelihood interval). Detrended, a random walk
#: shows a half-life of a fraction of the sample: of 200 monthly random walks of 5 years,
#: 58% pass the first test, 23% both. Both pass 88% of 20-year samples of an index with a
#: 1-year half-life, 36% of 5-year ones (data that tell it little from a random walk).
MIN_HALF_LIVES = 3.0
MIN_OVER_RANDOM_WALK = 1.0
#: The half-lives searched: from this share of the file's median step (the noise is white
#: at that step) to this many times the sample's span (a random walk over the sample).
_SHORTEST_STEPS = 0.25
_LONGEST_SPANS = 100.0
#: Points of the grid of log κ whose best starts the bounded search.
_GRID = 60
#: Half the 95% point of chi-squared with one degree of freedom: the rise of −log L that
#: bounds a 95% likelihood interval.
_HALF_CHI2_95 = 0.5 * stats.chi2.ppf(0.95, 1)
#: The normal's 97.5% point: a 95% interval is ± this many standard errors.
_Z_95 = float(stats.norm.ppf(0.975))


def check_index(prices: pd.Series) -> None:
    """Raise UserError unless the index's prices are enough to fit: `MIN_PRICES`, not all equal."""
    check_enough(prices, MIN_PRICES, "dated price(s)", "its trend, noise and the noise's "
                 "autocorrelation: a year of a monthly index",
                 "prices never change: no trend or noise to fit")


def _gls(t: np.ndarray, y: np.ndarray, kappa: float):
    """Return (β of a + g·t, (X'R⁻¹X)⁻¹, whitened residuals, log det R) of the generalised
    least squares under the OU correlation R of mean reversion `kappa` at times `t`: each
    value less exp(−κΔt) times the one before, over sqrt(1 − exp(−2κΔt))."""
    dt = np.diff(t)
    rho = np.exp(-kappa * dt)
    scale = np.sqrt(-np.expm1(-2 * kappa * dt))
    design = np.column_stack([np.ones(len(t)), t])
    white_y = np.concatenate(([y[0]], (y[1:] - rho * y[:-1]) / scale))
    white_x = np.vstack([design[:1], (design[1:] - rho[:, None] * design[:-1]) / scale[:, None]])
    unscaled = np.linalg.inv(white_x.T @ white_x)
    beta = unscaled @ (white_x.T @ white_y)
    return beta, unscaled, white_y - white_x @ beta, 2 * float(np.sum(np.log(scale)))


def _restricted(theta: np.ndarray, t: np.ndarray, y: np.ndarray) -> float:
    """Return −log of the restricted likelihood (constants dropped) at (log σ, log κ)."""
    log_sd, log_kappa = theta
    _, unscaled, resid, log_det = _gls(t, y, math.exp(log_kappa))
    return 0.5 * (2 * (len(y) - 2) * log_sd + log_det - np.linalg.slogdet(unscaled)[1]
                  + float(resid @ resid) * math.exp(-2 * log_sd))


def _profile(log_kappa: float, t: np.ndarray, y: np.ndarray) -> float:
    """Return `_restricted` at log κ and the σ that maximises it there."""
    _, unscaled, resid, log_det = _gls(t, y, math.exp(log_kappa))
    m = len(y) - 2
    return 0.5 * (m * math.log(float(resid @ resid) / m) + log_det - np.linalg.slogdet(unscaled)[1])


def _grid(step: float, span: float) -> np.ndarray:
    """Return the `_GRID` log κ searched, from a random walk over the sample (a half-life of
    `_LONGEST_SPANS` spans) to noise white at the file's step (`_SHORTEST_STEPS` of it)."""
    return np.linspace(math.log(math.log(2) / (_LONGEST_SPANS * span)),
                       math.log(math.log(2) / (_SHORTEST_STEPS * step)), _GRID)


def _best_log_kappa(t: np.ndarray, y: np.ndarray, grid: np.ndarray):
    """Return (the log κ of the highest restricted likelihood over `grid`, "inside" it or
    on its "short" or "long" bound, the 95% likelihood interval of log κ, its lower end −inf
    where a random walk lies inside it, its upper +inf where noise white at the step does, and
    2·log(L / L of a random walk), the random walk the grid's first point)."""
    values = np.array([_profile(g, t, y) for g in grid])
    best = int(np.argmin(values))
    if best in (0, _GRID - 1):
        log_kappa, least = float(grid[best]), float(values[best])
    else:
        found = optimize.minimize_scalar(_profile, bounds=(grid[best - 1], grid[best + 1]),
                                         args=(t, y), method="bounded", options={"xatol": 1e-9})
        log_kappa, least = float(found.x), float(found.fun)
    where = "long" if best == 0 else "short" if best == _GRID - 1 else "inside"

    def end(points) -> float:  # the log κ where −log L rises 1.92 above its least, or ±inf
        for inner, outer in zip(points[:-1], points[1:]):
            if values[outer] > least + _HALF_CHI2_95:
                return optimize.brentq(lambda g: _profile(g, t, y) - least - _HALF_CHI2_95,
                                       grid[inner] if inner != best else log_kappa, grid[outer])
        return -math.inf if points[-1] == 0 else math.inf
    longest, shortest = end(list(range(best, -1, -1))), end(list(range(best, _GRID)))
    return log_kappa, where, (longest, shortest), 2 * (float(values[0]) - least)


def _given(t: np.ndarray, y: np.ndarray, log_kappa: float) -> dict:
    """Return {drift, log_sd, start: (estimate, standard error)} given the mean reversion
    exp(`log_kappa`): the trend by generalised least squares, σ the whitened residuals' sd
    over n − 2 (relative error 1 / sqrt(2 (n − 2))), and the expected price at the last date,
    exp(a + g·t_end + σ²/2), its error from the level's and σ's (independent given κ)."""
    beta, unscaled, resid, _ = _gls(t, y, math.exp(log_kappa))
    m = len(y) - 2
    log_sd = math.sqrt(float(resid @ resid) / m)
    log_sd_error = log_sd / math.sqrt(2 * m)
    at_end = np.array([1.0, t[-1]])
    start = math.exp(float(at_end @ beta) + log_sd ** 2 / 2)
    level_variance = log_sd ** 2 * float(at_end @ unscaled @ at_end)
    return {"drift": (float(beta[1]), log_sd * math.sqrt(float(unscaled[1, 1]))),
            "log_sd": (log_sd, log_sd_error),
            "start": (start, start * math.sqrt(level_variance + (log_sd * log_sd_error) ** 2))}


def _union(t: np.ndarray, y: np.ndarray, grid: np.ndarray, ends: tuple[float, float],
           log_kappa: float, used: dict) -> dict:
    """Return {name: error} for each of `used` ({name: (estimate, error)} of `_given` at
    `log_kappa`): the least e such that estimate ± `_Z_95`·e spans its 95% interval given
    each log κ of the half-life's 95% likelihood interval (`ends`, the longer first,
    searched on `grid`) and given `log_kappa` (σ and the trend refitted). Where that
    interval reaches a random walk (its longer end −inf) σ's and the start's errors are
    infinite: as κ falls to 0 the stationary sd, and with it the expected price, grow
    without bound (the drift's error stays finite)."""
    longest, shortest = max(ends[0], grid[0]), min(ends[1], grid[-1])
    kappas = [*grid[(grid > longest) & (grid < shortest)], longest, shortest, log_kappa]
    given = [_given(t, y, each) for each in kappas]
    errors = {name: max(abs(each[name][0] - estimate) / _Z_95 + each[name][1] for each in given)
              for name, (estimate, _) in used.items()}
    if ends[0] == -math.inf:
        errors.update(log_sd=math.inf, start=math.inf)
    return errors


def _half_life(log_kappa: float) -> float:
    """Return ln 2 / κ in years (infinite at κ = 0, log κ = −inf)."""
    return math.log(2) * math.exp(-log_kappa) if log_kappa > -math.inf else math.inf


def fit_trend(prices: pd.Series, assumed_half_life_years: float) -> dict:
    """Return {start, drift, log_sd, half_life_years, their errors (the start's, drift's
    and log_sd's over the half-life's 95% likelihood interval, and given the half-life used
    alone: start_given_half_life, drift_given_half_life, log_sd_given_half_life),
    half_life_note, assumed (whether the half-life is `assumed_half_life_years`, the data
    not identifying it: σ and the trend are then fitted given it), period, goodness} of
    one index."""
    check_index(prices)
    days = prices.index.to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
    t = (days - days[0]) / DAYS_PER_YEAR
    y = np.log(prices.to_numpy(dtype=float))
    n, span = len(y), float(t[-1])
    step_days = float(np.median(np.diff(days)))
    grid = _grid(step_days / DAYS_PER_YEAR, span)
    log_kappa, where, (longest, shortest), over_random_walk = _best_log_kappa(t, y, grid)
    low, high = _half_life(shortest), _half_life(longest)
    half_life = _half_life(log_kappa)
    _, _, resid, _ = _gls(t, y, math.exp(log_kappa))
    theta = np.array([0.5 * math.log(float(resid @ resid) / (n - 2)), log_kappa])
    cov = covariance(lambda x: _restricted(x, t, y), theta)
    interval = f"95% likelihood interval {low:.3g} to " + (
        f"{high:.3g} years" if math.isfinite(high) else "a random walk")
    assumed = False
    if where == "short":  # the noise is white at the file's step: σ is its sd
        note, se_half_life = f"at most: the noise is white at the file's {step_days:g}-day step", math.inf
    elif (where == "inside" and span >= MIN_HALF_LIVES * half_life
          and over_random_walk > MIN_OVER_RANDOM_WALK and np.all(np.isfinite(cov))):
        note, se_half_life = interval, half_life * math.sqrt(float(cov[1, 1]))
    else:
        why = (f"the {span:.3g} years of prices span under {MIN_HALF_LIVES:g} of the fitted "
               f"{half_life:.3g} years" if span < MIN_HALF_LIVES * half_life else
               f"a random walk fits about as well as the fitted {half_life:.3g} years"
               if over_random_walk <= MIN_OVER_RANDOM_WALK else
               "the likelihood has no maximum there")
        note = f"not identified: {why} ({interval})"
        assumed, half_life, se_half_life = True, assumed_half_life_years, None
        log_kappa = math.log(math.log(2) / assumed_half_life_years)
    used = _given(t, y, log_kappa)
    errors = _union(t, y, grid, (longest, shortest), log_kappa, used)
    errors.update({f"{name}_given_half_life": error for name, (_, error) in used.items()})
    beta, _, resid, _ = _gls(t, y, math.exp(log_kappa))
    log_sd = used["log_sd"][0]
    trend_resid = y - beta[0] - beta[1] * t
    return {**{name: estimate for name, (estimate, _) in used.items()},
            "half_life_years": half_life, "half_life_note": note, "assumed": assumed,
            "errors": {**errors, "half_life_years": se_half_life},
            "period": period_of(prices.index),
            "goodness": {"ks_statistic": float(stats.kstest(resid / log_sd, "norm").statistic),
                         "r_squared": float(1 - trend_resid.var() / y.var())}}


def _error_note(fit: dict, part: str) -> str:
    """Return the note on the error of `fit_trend`'s `part` (drift, log_sd or start): over
    the half-life's 95% likelihood interval, or infinite where that reaches a random walk,
    and its error given the half-life used alone."""
    alone = (f"± {fit['errors'][part + '_given_half_life']:.3g} given the "
             f"{'assumed' if fit['assumed'] else 'fitted'} half-life alone")
    if math.isinf(fit["errors"][part]):
        return ("error infinite: the half-life's 95% likelihood interval reaches a random "
                f"walk, whose stationary sd (and so expected price) has no bound; {alone}")
    return f"error over the half-life's 95% likelihood interval; {alone}"


def fit_ai(lease: pd.Series | None, gpu: pd.Series | None) -> Fit:
    """Return the AIMarket option fitted to the lease index and/or the GPU price."""
    shipped = shipped_option("ai", "base")
    params, errors, notes, goodness, periods = {}, {}, {}, {}, []
    for name, series, keys in (
            ("lease", lease, ("lease_start_usd_per_kw_month", "lease_drift_per_year",
                              "lease_log_sd", "lease_half_life_years")),
            ("gpu", gpu, ("gpu_start_usd_per_hour", "gpu_drift_per_year", "gpu_log_sd",
                          "gpu_half_life_years"))):
        if series is None:
            continue
        start_key, drift_key, sd_key, half_life_key = keys
        fit = fit_trend(series, float(shipped[half_life_key]))
        for key, part in ((drift_key, "drift"), (sd_key, "log_sd"),
                          (half_life_key, "half_life_years")):
            if not (part == "half_life_years" and fit["assumed"]):
                params[key], errors[key] = fit[part], fit["errors"][part]
        notes[half_life_key] = fit["half_life_note"] + (
            f"; as market/ai=base, {sd_key} and {drift_key} fitted given it"
            if fit["assumed"] else "")
        notes[drift_key], notes[sd_key] = _error_note(fit, "drift"), _error_note(fit, "log_sd")
        notes[start_key] = (f"day 0: the snapshot's; the fit's expected price on "
                            f"{fit['period'][1]}: {fit['start']:.6g} ± {fit['errors']['start']:.3g}; "
                            + _error_note(fit, "start"))
        goodness.update({f"{name}_{k}": v for k, v in fit["goodness"].items()})
        periods.append(fit["period"])
    if gpu is not None:
        params.update(scarcity_multiplier=1.0, glut_multiplier=1.0)
        notes.update(scarcity_multiplier="regimes off: the fitted noise carries the swings",
                     glut_multiplier="regimes off: the fitted noise carries the swings")
    first = min(p[0] for p in periods)
    last = max(p[1] for p in periods)
    return Fit("ai", "fitted", "sim.processes.ai.AIMarket", params, errors,
               (first, last, sum(p[2] for p in periods)), goodness,
               "restricted maximum likelihood of a log-linear trend with Ornstein-Uhlenbeck "
               "noise", notes, observed="dated prices", shipped="base")
