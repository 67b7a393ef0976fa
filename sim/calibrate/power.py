"""Fit of the seasonal log-OU power price with spikes (`sim.processes.power.SeasonalLogOU`).

log p = log(level) + b_c·cos θ + b_s·sin θ + X + Y, θ = 2π·(day of year)/365.25: the
amplitude is hypot(b_c, b_s) and the peak day atan2(b_s, b_c)·365.25/2π. X is a Gaussian
AR(1) (φ, innovation sd s); Y is the spike component, AR(1) with coefficient ψ fed by
Poisson jumps. The fit alternates: the seasonal regression on log p − Y; a filter that
splits each day's deviation into X and Y, calling a day a jump when its innovation
exceeds `THRESHOLD` innovation sds; φ and s by least squares on the other days; ψ by
maximising the Gaussian likelihood of those innovations. Jump sizes are fitted by a
normal law truncated to the detected range, and the rate is divided by the probability
of detection, so that small jumps hidden in the noise are counted. Standard errors are
asymptotic (AR(1)-corrected regression, delta method); the spike sizes' come from the
truncated normal's observed information, and the rate's add the error of the detection
probability (from those sizes) to the count's Poisson error.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sim.calibrate.fit import (Fit, check_enough, covariance, delta_se, period_of,
                               shipped_option)
from sim.economics import DAYS_PER_YEAR
from sim.processes._common import day_of_year
from sim.processes.power import SeasonalLogOU

#: A day is a jump when its innovation exceeds this many innovation sds.
THRESHOLD = 4.0
#: The fewest days the fit takes: a whole year, since the seasonal cosine's amplitude and
#: peak day are not told apart from the level and the noise on less than one cycle.
MIN_DAYS = 366
_PASSES = 6
#: The fewest spike days whose sizes are fitted (a normal law's mean and sd, cut at the threshold).
MIN_SPIKES = 3
#: The spike keys: fitted where the history shows spikes, else kept from the shipped option.
SPIKE_KEYS = ("spikes_per_year", "spike_log_mean", "spike_log_sd", "spike_half_life_days")
#: The shipped option a power fit replaces.
SHIPPED = "ercot"


def peak_day(phase_days: float) -> float:
    """Return the day of the year, in [1, 366], at which a cosine of period 365.25 days in the
    day of the year peaks, given one day value `phase_days` where it peaks (any period away).

    The days of a year run from 1 to 366, 365 apart, a quarter day short of the period: a
    peak in (0.75, 1), equally (366, 366.25), lies between day 366 and day 1 and goes to the
    nearer of them in phase (a peak on 0.9, a tenth of a day before January 1st, is day 1).
    """
    day = float(phase_days) % DAYS_PER_YEAR
    day = day + DAYS_PER_YEAR if day < 1 else day  # [1, 366.25)
    if day <= 366:
        return day
    return 366.0 if day - 366 < DAYS_PER_YEAR + 1 - day else 1.0


def _split(e: np.ndarray, phi: float, psi: float, cut: float, jumps=None):
    """Return (X, Y, innovations, jump days): e split into noise and spikes.

    With `jumps` given, those days are the jumps; otherwise a day is a jump when its
    innovation e_t − φ·X_{t−1} − ψ·Y_{t−1} exceeds `cut` in absolute value.
    """
    x, y, u = np.empty(len(e)), np.empty(len(e)), np.empty(len(e))
    is_jump = np.zeros(len(e), dtype=bool) if jumps is None else jumps
    x[0], y[0], u[0] = e[0], 0.0, 0.0
    px, py = e[0], 0.0
    for t in range(1, len(e)):
        innovation = float(e[t]) - phi * px - psi * py
        if (abs(innovation) > cut) if jumps is None else is_jump[t]:
            is_jump[t] = True
            py = psi * py + innovation
            px = phi * px
        else:
            py = psi * py
            px = float(e[t]) - py
        x[t], y[t], u[t] = px, py, innovation
    return x, y, u, is_jump


def _noise_fit(x: np.ndarray, is_jump: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Return (φ, s, innovations) of the AR(1) X on the days that are not jumps."""
    keep = ~is_jump[1:]
    prev, now = x[:-1][keep], x[1:][keep]
    phi = float(np.clip(prev @ now / (prev @ prev), 1e-4, 0.9999))
    innovations = now - phi * prev
    return phi, float(np.sqrt(np.mean(innovations ** 2))), innovations


def _profile(e, phi, psi, is_jump) -> float:
    """Return −(Gaussian log-likelihood) of the noise innovations when spikes decay at ψ."""
    x, _, _, _ = _split(e, phi, psi, 0.0, jumps=is_jump)
    _, s, innovations = _noise_fit(x, is_jump)
    return 0.5 * len(innovations) * math.log(s * s) if s > 0 else -math.inf


def _seen(theta: np.ndarray, cut: float) -> float:
    """Return P(|J| > cut) for J normal with (mean, log sd) = theta: the chance a jump is seen."""
    mean, sd = theta[0], math.exp(theta[1])
    return float(stats.norm.sf((cut - mean) / sd) + stats.norm.cdf((-cut - mean) / sd))


def _truncated_normal(sizes: np.ndarray, cut: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ((mean, log sd), their covariance) of a normal law fitted by maximum likelihood
    to sizes seen only beyond ±cut; the covariance is the inverse observed information."""
    def negative_loglik(theta):
        seen = _seen(theta, cut)
        if not seen > 0:
            return math.inf
        return -(np.sum(stats.norm.logpdf(sizes, theta[0], math.exp(theta[1])))
                 - len(sizes) * math.log(seen))
    start = [float(np.mean(sizes)), math.log(max(float(np.std(sizes)), cut / 4))]
    best = optimize.minimize(negative_loglik, start, method="Nelder-Mead",
                             options={"xatol": 1e-8, "fatol": 1e-10})
    return best.x, covariance(negative_loglik, best.x)


def _season(y: np.ndarray, design: np.ndarray):
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return beta


def _alternate(log_p: np.ndarray, design: np.ndarray):
    """Return (β, deviations, φ, ψ, s, jump days, innovations, noise innovations) after
    alternating the seasonal regression and the noise/spike split `_PASSES` times."""
    spikes = np.zeros(len(log_p))
    phi, psi, s, is_jump = 0.9, 0.5, None, None
    for _ in range(_PASSES):
        beta = _season(log_p - spikes, design)
        e = log_p - design @ beta
        if s is None:
            phi, s, _ = _noise_fit(e, np.zeros(len(e), dtype=bool))
            s = 1.4826 * float(np.median(np.abs(e[1:] - phi * e[:-1])))
        _, _, _, is_jump = _split(e, phi, psi, THRESHOLD * s)
        psi = optimize.minimize_scalar(lambda v: _profile(e, phi, v, is_jump),
                                       bounds=(0.01, 0.99), method="bounded").x
        x, spikes, u, _ = _split(e, phi, psi, 0.0, jumps=is_jump)
        phi, s, innovations = _noise_fit(x, is_jump)
    return beta, e, phi, psi, s, is_jump, u, innovations


def check_prices(prices: pd.Series) -> None:
    """Raise UserError unless the daily prices are enough to fit: `MIN_DAYS` of them, not all equal."""
    check_enough(prices, MIN_DAYS, "day(s) of prices",
                 "a whole year: the seasonal amplitude and peak day need one cycle",
                 "days' prices never change: no noise to fit")


def fit_power(prices: pd.Series, cap_usd_per_mwh: float = 5000.0) -> Fit:
    """Return the SeasonalLogOU fit to daily prices, with approximate standard errors."""
    check_prices(prices)
    log_p = np.log(prices.to_numpy(dtype=float))
    theta = 2 * np.pi * day_of_year(prices.index.to_numpy()) / DAYS_PER_YEAR
    design = np.column_stack([np.ones(len(log_p)), np.cos(theta), np.sin(theta)])
    beta, e, phi, psi, s, is_jump, u, innovations = _alternate(log_p, design)
    n, years = len(innovations), len(log_p) / DAYS_PER_YEAR
    se_psi = _curvature_se(lambda v: _profile(e, phi, v, is_jump), psi)
    spikes, spike_errors, notes = _spike_fit(u[is_jump], s, years, psi, se_psi)
    amplitude = float(math.hypot(beta[1], beta[2]))
    peak = peak_day(math.atan2(beta[2], beta[1]) * DAYS_PER_YEAR / (2 * np.pi))
    log_sd = s / math.sqrt(1 - phi ** 2)
    half_life = math.log(0.5) / math.log(phi)
    # regression errors, widened for the AR(1) noise; φ, s, ψ and the jumps asymptotic
    beta_cov = (log_sd ** 2 * (1 + phi) / (1 - phi)) * np.linalg.inv(design.T @ design)
    se_phi = math.sqrt((1 - phi ** 2) / n)
    se_s = s / math.sqrt(2 * n)
    kept = {key: float(value) for key, value in shipped_option("power", SHIPPED).items()
            if key in SPIKE_KEYS}  # the spike keys the history does not identify stay
    process = SeasonalLogOU(mean_usd_per_mwh=1.0, seasonal_amplitude_log=amplitude,
                            peak_day_of_year=float(peak), log_sd=log_sd,
                            half_life_days=half_life, **{**kept, **spikes},
                            cap_usd_per_mwh=max(cap_usd_per_mwh, 1.5))
    mean = math.exp(beta[0]) / process.level_usd_per_mwh()
    grad_amp = np.array([beta[1], beta[2]]) / max(amplitude, 1e-12)
    grad_peak = np.array([-beta[2], beta[1]]) / max(amplitude ** 2, 1e-12) * DAYS_PER_YEAR / (2 * np.pi)
    params = {"mean_usd_per_mwh": mean, "seasonal_amplitude_log": amplitude,
              "peak_day_of_year": float(peak), "log_sd": log_sd, "half_life_days": half_life,
              **spikes, "cap_usd_per_mwh": float(max(cap_usd_per_mwh, math.ceil(prices.max())))}
    dlogsd_dphi = s * phi / (1 - phi ** 2) ** 1.5
    errors = {"seasonal_amplitude_log": math.sqrt(grad_amp @ beta_cov[1:, 1:] @ grad_amp),
              "peak_day_of_year": math.sqrt(grad_peak @ beta_cov[1:, 1:] @ grad_peak),
              "log_sd": math.hypot(se_s / math.sqrt(1 - phi ** 2), dlogsd_dphi * se_phi),
              "half_life_days": -math.log(0.5) / (phi * math.log(phi) ** 2) * se_phi,
              **spike_errors}
    # the mean is exp(intercept) over the level the noise, seasons and spikes leave it:
    # their errors count too (a spike rate known to 9% moved it by 2.3%: an audit found
    # the intercept's error alone 1.4 times too small with frequent, lasting spikes)
    errors["mean_usd_per_mwh"] = mean * math.hypot(math.sqrt(beta_cov[0, 0]),
                                                   _log_level_se(process, errors))
    errors = {name: errors[name] for name in params if name in errors}  # in the params' order
    goodness = {"log_likelihood": float(np.sum(stats.norm.logpdf(innovations, 0, s))),
                "ks_statistic": float(stats.kstest(innovations / s, "norm").statistic),
                "spike_days": int(np.sum(is_jump))}
    return Fit("power", "fitted", "sim.processes.power.SeasonalLogOU", params, errors,
               period_of(prices.index), goodness,
               "seasonal regression + AR(1) noise/spike filter (likelihood of the noise days)",
               {"cap_usd_per_mwh": "not fitted: the market's cap, or the highest price seen",
                **notes},
               observed="daily prices", shipped=SHIPPED)


#: The parameters the level of a mean price reads beside the mean itself (`level_usd_per_mwh`).
LEVEL_PARAMS = ("seasonal_amplitude_log", "log_sd", "spikes_per_year", "spike_log_mean",
                "spike_log_sd", "spike_half_life_days")


def _log_level_se(process: SeasonalLogOU, errors: dict) -> float:
    """Return the standard error of log `process.level_usd_per_mwh()` from the errors of the
    parameters it reads (`LEVEL_PARAMS`), by the delta method, taken as independent (a
    central difference, one-sided at a bound of 0); one without an error (not fitted: kept
    as shipped, or a rate of 0 where no spike was seen) is a stated choice and adds none."""
    def log_level(**changed) -> float:
        return math.log(dataclasses.replace(process, **changed).level_usd_per_mwh())

    total = 0.0
    for name in LEVEL_PARAMS:
        se, x = errors.get(name, 0.0), float(getattr(process, name))
        if se == 0:
            continue
        if not math.isfinite(se):
            return math.inf
        h = 1e-6 * max(abs(x), 1e-3)
        low = x - h if x - h > 0 else x
        slope = (log_level(**{name: x + h}) - log_level(**{name: low})) / (x + h - low)
        total += (slope * se) ** 2
    return math.sqrt(total)


def _spike_fit(sizes: np.ndarray, s: float, years: float, psi: float,
               se_psi: float) -> tuple[dict, dict, dict]:
    """Return ({key: value}, {key: standard error}, {key: note}) of the spike keys that the
    spike days' innovations `sizes` identify, the others noted as kept from the shipped
    option: from `MIN_SPIKES` spike days on, every spike key; with fewer, the rate (every
    spike taken as seen) and the half-life, the sizes kept; with none, a rate of 0 (noted
    with its 95% upper bound, not given an error) and the sizes and half-life kept (they do
    nothing at 0 spikes a year; a ψ fitted to no spike is any value)."""
    count, cut = len(sizes), THRESHOLD * s
    if count == 0:
        kept = (f"not fitted: no spike day in the history; as market/power={SHIPPED}, "
                "of no effect at 0 spikes a year")
        return {"spikes_per_year": 0.0}, {}, {
            "spikes_per_year": f"no spike day in the history (an innovation over {THRESHOLD:g} "
                               f"sds): at most {-math.log(0.05) / years:.3g} a year at 95%",
            **{key: kept for key in SPIKE_KEYS if key != "spikes_per_year"}}
    half_life = {"spike_half_life_days": math.log(0.5) / math.log(psi)}
    half_life_se = {"spike_half_life_days": -math.log(0.5) / (psi * math.log(psi) ** 2) * se_psi}
    if count < MIN_SPIKES:
        rate = count / years
        kept = (f"not fitted: {count} spike day(s) in the history, {MIN_SPIKES} needed for "
                f"their sizes; as market/power={SHIPPED}")
        return ({"spikes_per_year": rate, **half_life},
                {"spikes_per_year": rate / math.sqrt(count), **half_life_se},
                {key: kept for key in ("spike_log_mean", "spike_log_sd")})
    jump, jump_cov = _truncated_normal(sizes, cut)
    rate = count / _seen(jump, cut) / years
    values = {"spikes_per_year": rate, "spike_log_mean": float(jump[0]),
              "spike_log_sd": math.sqrt(max(math.exp(2 * jump[1]) - s ** 2, 0.0)), **half_life}
    return values, {**_spike_errors(jump, jump_cov, count, rate, s, cut), **half_life_se}, {}


def _spike_errors(jump: np.ndarray, cov: np.ndarray, count: int, rate: float, s: float,
                  cut: float) -> dict:
    """Return the standard errors of the spike rate, log mean and log sd: the sizes' from
    the truncated normal's covariance `cov` of (mean, log sd) `jump`, by the delta method;
    the rate's, count / P(seen) / years, from the count's Poisson error and that of
    log P(seen)."""
    log_seen_se = delta_se(lambda x: math.log(_seen(x, cut)), jump, cov)
    return {"spikes_per_year": rate * math.sqrt(1 / count + log_seen_se ** 2),
            "spike_log_mean": math.sqrt(cov[0, 0]),
            "spike_log_sd": delta_se(lambda x: math.sqrt(max(math.exp(2 * x[1]) - s * s, 0.0)),
                                     jump, cov)}


def _curvature_se(negative_loglik, x: float, h: float = 1e-3) -> float:
    """Return 1/sqrt(second derivative of −log L at x), or inf where it is not positive."""
    second = (negative_loglik(x + h) - 2 * negative_loglik(x) + negative_loglik(x - h)) / h ** 2
    return 1 / math.sqrt(second) if second > 0 else math.inf
