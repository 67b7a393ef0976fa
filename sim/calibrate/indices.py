"""Fits of the AI price indices' trends and noise (`sim.processes.ai.AIMarket`).

Each index: log price = a + g·t + X, t in years, X an AR(1) between observations (any
regular step: daily, weekly, monthly). The trend g is the least-squares slope (its
standard error widened by (1 + φ)/(1 − φ) for the autocorrelated noise); the noise's
stationary sd is the residuals' sd and its half-life follows from the lag-one
autocorrelation φ at the file's step. The expected price at the last date, exp(a +
g·t_end + sd²/2), is printed as information: the option's day-0 price stays the
snapshot's, as market/ai=base has it. The GPU regimes are not fitted: the
written option sets both regime multipliers to 1, so the fitted noise carries all of
the price's swings around its trend.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from sim.calibrate.fit import Fit, check_enough, period_of
from sim.economics import DAYS_PER_YEAR

#: The fewest dated prices an index's fit takes: its four numbers (level, trend, noise sd,
#: lag-one autocorrelation) from a year of a monthly index at least.
MIN_PRICES = 12


def check_index(prices: pd.Series) -> None:
    """Raise UserError unless the index's prices are enough to fit: `MIN_PRICES`, not all equal."""
    check_enough(prices, MIN_PRICES, "dated price(s)", "its trend, noise and the noise's "
                 "autocorrelation: a year of a monthly index",
                 "prices never change: no trend or noise to fit")


def fit_trend(prices: pd.Series) -> dict:
    """Return {start, drift, log_sd, half_life_years, their errors, period, goodness} of one index."""
    check_index(prices)
    days = (prices.index.to_numpy().astype("datetime64[D]").astype(np.int64)).astype(float)
    t = (days - days[0]) / DAYS_PER_YEAR
    y = np.log(prices.to_numpy(dtype=float))
    design = np.column_stack([np.ones(len(y)), t])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ beta
    n = len(y)
    step_days = float(np.median(np.diff(days)))
    phi = float(np.clip(resid[:-1] @ resid[1:] / (resid[:-1] @ resid[:-1]), 1e-3, 0.999))
    log_sd = float(resid.std())
    half_life_years = math.log(0.5) / math.log(phi) * step_days / DAYS_PER_YEAR
    cov = log_sd ** 2 * (1 + phi) / (1 - phi) * np.linalg.inv(design.T @ design)
    se_phi = math.sqrt((1 - phi ** 2) / n)
    start = math.exp(beta[0] + beta[1] * t[-1] + log_sd ** 2 / 2)
    se_level = math.sqrt(np.array([1, t[-1]]) @ cov @ np.array([1, t[-1]]))
    innovations = (resid[1:] - phi * resid[:-1]) / (log_sd * math.sqrt(1 - phi ** 2))
    return {"start": start, "drift": float(beta[1]), "log_sd": log_sd,
            "half_life_years": half_life_years,
            "errors": {"start": start * se_level, "drift": math.sqrt(cov[1, 1]),
                       "log_sd": log_sd / math.sqrt(2 * n) * math.sqrt((1 + phi ** 2) / (1 - phi ** 2)),
                       "half_life_years": (-math.log(0.5) / (phi * math.log(phi) ** 2) * se_phi
                                           * step_days / DAYS_PER_YEAR)},
            "period": period_of(prices.index),
            "goodness": {"ks_statistic": float(stats.kstest(innovations, "norm").statistic),
                         "r_squared": float(1 - resid.var() / y.var()) if y.var() > 0 else 0.0}}


def fit_ai(lease: pd.Series | None, gpu: pd.Series | None) -> Fit:
    """Return the AIMarket option fitted to the lease index and/or the GPU price."""
    params, errors, notes, goodness, periods = {}, {}, {}, {}, []
    for name, series, keys in (
            ("lease", lease, ("lease_start_usd_per_kw_month", "lease_drift_per_year",
                              "lease_log_sd", "lease_half_life_years")),
            ("gpu", gpu, ("gpu_start_usd_per_hour", "gpu_drift_per_year", "gpu_log_sd",
                          "gpu_half_life_years"))):
        if series is None:
            continue
        fit = fit_trend(series)
        for key, part in zip(keys[1:], ("drift", "log_sd", "half_life_years")):
            params[key], errors[key] = fit[part], fit["errors"][part]
        notes[keys[0]] = (f"day 0: the snapshot's; the fit's expected price on {fit['period'][1]}: "
                          f"{fit['start']:.6g} ± {fit['errors']['start']:.3g}")
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
               "least-squares log-linear trend with AR(1) noise", notes, observed="dated prices",
               shipped="base")
