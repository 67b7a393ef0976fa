"""Fit of the reference `Network` hashrate rule (`market/network=reference`) to difficulty and prices.

Each epoch k of the history gives a hashrate, H_k = D_k · 2³² · 2016 / (its duration), and a
hashprice from its mean BTC close, its mean subsidy and a stated fee level. The rule says
log H drifts at trend + elasticity · (log(hp / ref₀) + trend · years), so the change of
log H from one epoch to the next, per year, is linear:
    β₀ + β₁ · years + β₂ · log hp,  β₂ = elasticity, β₁ = trend · elasticity,
    β₀ = trend − elasticity · log ref₀,
where hp and years average the two epochs whose hashprices set the drift across the
change (the rule lags one epoch). Least squares gives the β and their covariance; the
trend, elasticity and reference follow by the delta method; the reference is that of
day 0 (by default the default snapshot's date: the written option starts from the
snapshot), carried from the history at the fitted trend. The volatility comes from the residuals' variance after
removing the block-timing noise of the hashrate estimates (2/2016 per change): a
Brownian path's epoch means differ by (2/3)·σ²·Δt.
"""

from __future__ import annotations

import math
import numpy as np
import pandas as pd
from scipy import stats

from sim.calibrate.fit import Fit, default_day0, delta_se, network_start_notes
from sim.economics import (BLOCKS_PER_EPOCH, DAYS_PER_YEAR, SECONDS_PER_DAY, TWO_POW_32,
                           hashprice_usd_per_ph_day)
from sim.errors import UserError
from sim.processes.network import issued_btc

#: The log-variance of one epoch's hashrate estimate from its block times (Gamma(2016)).
_TIMING_VAR = 1.0 / BLOCKS_PER_EPOCH


def epoch_table(epochs: pd.DataFrame, closes: pd.Series, fees_btc_per_block: float) -> pd.DataFrame:
    """Return per epoch (those inside the price history): start date, years, hashrate, hashprice."""
    start_s = epochs["timestamp"].to_numpy(dtype=float)
    duration_days = np.diff(start_s) / SECONDS_PER_DAY
    height = epochs["height"].to_numpy()[:-1]
    difficulty = epochs["difficulty"].to_numpy(dtype=float)[:-1]
    hashrate = difficulty * TWO_POW_32 * BLOCKS_PER_EPOCH / (duration_days * SECONDS_PER_DAY) / 1e18
    first = np.datetime64("1970-01-01") + np.floor(start_s[:-1] / SECONDS_PER_DAY).astype("timedelta64[D]")
    last = np.datetime64("1970-01-01") + np.floor(start_s[1:] / SECONDS_PER_DAY).astype("timedelta64[D]")
    days = closes.index.to_numpy().astype("datetime64[D]")
    sums = np.concatenate(([0.0], np.cumsum(closes.to_numpy(dtype=float))))
    lo = np.searchsorted(days, first)
    hi = np.searchsorted(days, last, side="right")
    inside = (first >= days[0]) & (last <= days[-1]) & (hi > lo)
    mean_btc = np.where(inside, (sums[np.minimum(hi, len(days))] - sums[lo]) / np.maximum(hi - lo, 1), np.nan)
    subsidy = (issued_btc(height + BLOCKS_PER_EPOCH) - issued_btc(height)) / BLOCKS_PER_EPOCH
    hashprice = hashprice_usd_per_ph_day(subsidy, fees_btc_per_block, mean_btc, difficulty)
    table = pd.DataFrame({"first": first, "last": last, "start_days": start_s[:-1] / SECONDS_PER_DAY,
                          "duration_days": duration_days, "height": height,
                          "difficulty": difficulty, "hashrate_ehs": hashrate,
                          "hashprice": hashprice})
    return table[inside].reset_index(drop=True)


def _rule(beta: np.ndarray, day0_years: float) -> dict:
    """Return (trend, elasticity, reference at `day0_years`) from the regression's β."""
    elasticity = beta[2]
    trend = beta[1] / elasticity
    log_ref0 = (trend - beta[0]) / elasticity
    return {"hashrate_trend_per_year": trend, "elasticity_per_year": elasticity,
            "hashprice_ref_usd_per_ph_day": math.exp(log_ref0 - trend * day0_years)}


def fit_network(epochs: pd.DataFrame, closes: pd.Series, fees_btc_per_block: float = 0.025,
                day0: str | None = None) -> Fit:
    """Return today's Network rule fitted to the epochs inside the price history, its
    reference hashprice that of `day0` (default: the default snapshot's date)."""
    day0 = default_day0() if day0 is None else day0
    table = epoch_table(epochs, closes, fees_btc_per_block)
    if len(table) < 8:
        raise UserError(f"--network: only {len(table)} epochs lie inside the --btc prices' dates; "
                        "at least 8 are needed")
    years = (table["start_days"] + table["duration_days"] / 2 - table["start_days"][0]) / DAYS_PER_YEAR
    log_h, log_hp = np.log(table["hashrate_ehs"].to_numpy()), np.log(table["hashprice"].to_numpy())
    gap_years = np.diff(years.to_numpy())
    y = np.diff(log_h)[1:] / gap_years[1:]
    x_hp = (log_hp[:-2] + log_hp[1:-1]) / 2
    x_years = (years.to_numpy()[:-2] + years.to_numpy()[1:-1]) / 2
    design = np.column_stack([np.ones(len(y)), x_years, x_hp])
    weights = gap_years[1:]  # a change over a longer gap is less noisy per year
    w = np.sqrt(weights)
    beta, *_ = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)
    resid = (y - design @ beta) * gap_years[1:]  # per change, in log
    n = len(y)
    scale = float(np.sum(resid ** 2 / gap_years[1:]) / (n - 3))
    cov = scale * np.linalg.inv(design.T @ (design * weights[:, None]))
    day0_days = float((np.datetime64(day0, "D") - np.datetime64("1970-01-01", "D")).astype(int))
    day0_years = (day0_days - float(table["start_days"][0])) / DAYS_PER_YEAR
    rule = _rule(beta, day0_years)
    errors = {key: delta_se(lambda b, key=key: _rule(b, day0_years)[key], beta, cov) for key in rule}
    mean_gap = float(np.mean(gap_years[1:]))
    var_change = float(np.mean(resid ** 2)) * n / (n - 3)
    sigma_sq = max(var_change - 2 * _TIMING_VAR, 0.0) / (2 / 3 * mean_gap)
    sigma = math.sqrt(sigma_sq)
    se_var = var_change * math.sqrt(2 / n) / (2 / 3 * mean_gap)
    errors["hashrate_volatility_per_year"] = se_var / (2 * sigma) if sigma > 0 else math.inf
    params = {**rule, "hashrate_volatility_per_year": sigma}
    notes = {**network_start_notes(epochs, fees_btc_per_block),
             "hashprice_ref_usd_per_ph_day": f"on day 0, {day0}: at the fitted trend from "
                                             "the history"}
    standardized = resid / np.sqrt(var_change)
    goodness = {"r_squared": float(1 - np.var(y - design @ beta) / np.var(y)),
                "ks_statistic": float(stats.kstest(standardized, "norm").statistic),
                "epochs": int(len(table))}
    return Fit("network", "fitted", "sim.processes.network.Network", params, errors,
               (f"{table['first'].iloc[0]:%Y-%m-%d}", f"{table['last'].iloc[-1]:%Y-%m-%d}",
                int(len(table))), goodness,
               "least squares of the epoch-to-epoch change of log hashrate", notes,
               observed="epochs", shipped="reference")
