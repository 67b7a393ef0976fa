"""Fits of the BTC price processes (`sim.processes.btc`) to daily closes, by maximum likelihood.

GBM: daily log returns are N((drift − σ²/2)·dt, σ²·dt), dt = 1/365.25 year; the MLE is
the sample mean and variance. Merton jump diffusion: a day's log return is a Poisson
mixture over its jump count n of N(μ·dt + n·m, σ²·dt + n·s²); maximised numerically,
standard errors from the inverse Hessian, derived parameters by the delta method.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats
from scipy.special import gammaln, logsumexp

from sim.calibrate.fit import Fit, covariance, delta_se, period_of
from sim.economics import DAYS_PER_YEAR
from sim.errors import UserError
from sim.processes.series import MIN_CLOSES

DT_YEARS = 1.0 / DAYS_PER_YEAR
#: Jump counts summed in a day's mixture (P(n > 8) is negligible at under 50 jumps a year).
_MAX_JUMPS = 8


def log_returns(closes: pd.Series) -> np.ndarray:
    """Return the daily log returns of consecutive closes."""
    return np.diff(np.log(closes.to_numpy(dtype=float)))


def check_closes(closes: pd.Series, fewest: int = MIN_CLOSES) -> None:
    """Raise UserError unless the closes are enough to fit: `fewest` of them, not all equal.

    The command asks for `MIN_CLOSES`; the fits themselves refuse only what has no
    variance to estimate (under 3 closes), and give infinite standard errors where the
    likelihood does not identify a parameter.
    """
    if len(closes) < fewest:
        raise UserError(f"{len(closes)} close(s), {max(len(closes) - 1, 0)} daily return(s); the "
                        f"fits need at least {fewest} closes" + (
                            " (a year of daily returns: the jump diffusion's five parameters "
                            "need jumps to be seen)" if fewest == MIN_CLOSES else ""))
    if np.ptp(log_returns(closes)) == 0:
        raise UserError(f"the {len(closes) - 1} daily returns are all equal: no volatility to fit")


def _returns_period(closes: pd.Series) -> tuple[str, str, int]:
    """Return (first date, last date, number of daily returns) of the closes."""
    first, last, count = period_of(closes.index)
    return first, last, count - 1


def fit_gbm(closes: pd.Series) -> Fit:
    """Return the GBM fit: expected drift and volatility per year with standard errors."""
    check_closes(closes, fewest=3)
    r = log_returns(closes)
    n = len(r)
    mean, sd = float(r.mean()), float(r.std())
    sigma = sd / math.sqrt(DT_YEARS)
    drift = mean / DT_YEARS + sigma ** 2 / 2
    se_sigma = sigma / math.sqrt(2 * n)
    se_mean = sd / math.sqrt(n) / DT_YEARS
    se_drift = math.sqrt(se_mean ** 2 + (sigma * se_sigma) ** 2)
    loglik = float(np.sum(stats.norm.logpdf(r, mean, sd)))
    ks = stats.kstest((r - mean) / sd, "norm").statistic
    return Fit("btc", "fitted_gbm", "sim.processes.btc.GBM",
               {"drift_per_year": drift, "volatility_per_year": sigma},
               {"drift_per_year": se_drift, "volatility_per_year": se_sigma},
               _returns_period(closes), {"log_likelihood": loglik, "ks_statistic": float(ks)},
               "maximum likelihood on daily log returns", _start_note(closes),
               observed="daily returns", shipped="gbm")


def _start_note(closes: pd.Series) -> dict:
    """Return the note of the written start_usd: day 0's close is the snapshot's, and the
    history's last close is information."""
    return {"start_usd": f"day 0: the snapshot's; the history's last close, "
                         f"{closes.index[-1]:%Y-%m-%d}: {float(closes.iloc[-1]):.8g}"}


def _components(theta: np.ndarray):
    """Return (log weights, means, sds) of the jump-count mixture, each shaped (1, n)."""
    mu, log_s, log_rate, jump_mean, log_jump_sd = theta
    count = np.arange(_MAX_JUMPS + 1)[None, :]
    rate = math.exp(log_rate)
    log_weight = count * log_rate - rate - gammaln(count + 1)
    sd = np.sqrt(math.exp(2 * log_s) + count * math.exp(2 * log_jump_sd))
    return log_weight, mu + count * jump_mean, sd


def _negative_loglik(theta: np.ndarray, r: np.ndarray) -> float:
    log_weight, mean, sd = _components(theta)
    if not np.all(np.isfinite(sd)) or np.any(sd <= 0):
        return np.inf
    z = (r[:, None] - mean) / sd
    log_density = log_weight - 0.5 * z * z - np.log(sd) - 0.5 * math.log(2 * math.pi)
    return -float(np.sum(logsumexp(log_density, axis=1)))


def _jump_params(theta: np.ndarray) -> dict:
    """Return JumpDiffusion's arguments (compensated) from the daily mixture parameters."""
    mu, log_s, log_rate, jump_mean, log_jump_sd = theta
    sigma = math.exp(log_s) / math.sqrt(DT_YEARS)
    rate = math.exp(log_rate) / DT_YEARS
    jump_sd = math.exp(log_jump_sd)
    with np.errstate(over="ignore"):  # an absurd jump's k is inf: refused as not finite
        k = float(np.expm1(jump_mean + jump_sd ** 2 / 2))
    return {"drift_per_year": mu / DT_YEARS + sigma ** 2 / 2 + rate * k,
            "volatility_per_year": sigma, "jumps_per_year": rate,
            "jump_log_mean": jump_mean, "jump_log_sd": jump_sd}


def fit_jump(closes: pd.Series) -> Fit:
    """Return the Merton jump-diffusion fit (compensated: the drift is the total expected return)."""
    check_closes(closes, fewest=3)
    r = log_returns(closes)
    sd = float(r.std())
    start = np.array([float(np.median(r)), math.log(0.7 * sd), math.log(5 * DT_YEARS), 0.0,
                      math.log(2 * sd)])
    best = optimize.minimize(_negative_loglik, start, args=(r,), method="BFGS")
    theta = best.x
    cov = covariance(lambda x: _negative_loglik(x, r), theta, observations=len(r))
    params = _jump_params(theta)
    errors = {key: delta_se(lambda x, key=key: _jump_params(x)[key], theta, cov) for key in params}
    log_weight, mean, sds = _components(theta)
    pit = np.sum(np.exp(log_weight) * stats.norm.cdf(r[:, None], mean, sds), axis=1)
    return Fit("btc", "fitted_jump", "sim.processes.btc.JumpDiffusion",
               {**params, "compensated": True},
               errors, _returns_period(closes),
               {"log_likelihood": -float(best.fun),
                "ks_statistic": float(stats.kstest(pit, "uniform").statistic)},
               "maximum likelihood on daily log returns (Poisson mixture of normals)",
               {**_start_note(closes), "compensated": "drift is the total return"},
               observed="daily returns", shipped="jump")
