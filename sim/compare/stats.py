"""Outcome statistics across strategies: one number per replication, many replications.

Every strategy runs on the same sampled worlds (common random numbers), so two
strategies' outcomes come in pairs, one per replication. A paired difference cancels
the world's own variance (a high BTC price lifts every strategy), so its interval is
far narrower than the interval of two independent samples. When two runs did not
sample the same worlds, the unpaired (Welch) statistics are the honest fallback.

Every function takes plain arrays. `higher_is_better=False` serves metrics such as
`payback_years` or `peak_funding_usd`, where less is better: "beats", "dominates" and
the worst tail (CVaR) then read the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _scipy

from sim.economics import irr
from sim.selection import (LOWER_IS_BETTER, Selection, required_replications, select_best,
                           select_by_mean)
from sim.selection import metric_higher_is_better as higher_is_better

#: The least share of its worlds in which a strategy must define a metric (not NaN) for a
#: statistic of it to be shown, or the metric to be compared.
MIN_DEFINED_SHARE = 0.5

__all__ = ["Difference", "LOWER_IS_BETTER", "Selection", "cvar", "describe", "dominance",
           "higher_is_better", "irr", "mean_interval", "paired_difference", "p_beats",
           "required_replications", "select_best", "select_by_mean", "unpaired_difference"]


def _clean(values) -> np.ndarray:
    array = np.asarray(values, dtype=float).ravel()
    return array[np.isfinite(array)]


def mean_interval(values, confidence: float = 0.95) -> tuple[float, float, float]:
    """Return (mean, low, high): the mean and its Student-t confidence interval."""
    x = _clean(values)
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(x.mean())
    if x.size < 2:
        return (mean, np.nan, np.nan)
    half = _t(confidence, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return (mean, mean - half, mean + half)


def _t(confidence: float, df: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence(={confidence}) must be in (0, 1).")
    return float(_scipy.t.ppf(0.5 + confidence / 2, df))


def cvar(values, level: float = 0.05, higher_is_better: bool = True) -> float:
    """Return the CVaR: the mean of the worst `level` share of outcomes (at least one)."""
    x = np.sort(_clean(values))
    if x.size == 0:
        return np.nan
    k = max(1, int(np.ceil(level * x.size - 1e-9)))
    return float(x[:k].mean() if higher_is_better else x[-k:].mean())


def describe(values, confidence: float = 0.95, higher_is_better: bool = True) -> dict:
    """Return n, mean with its interval, std, P5/P50/P95, P(<0) and CVaR 5% of `values`."""
    x = _clean(values)
    mean, low, high = mean_interval(x, confidence)
    p5, p50, p95 = np.percentile(x, [5, 50, 95]) if x.size else (np.nan,) * 3
    return {"n": int(x.size), "n_missing": int(np.size(values) - x.size),
            "mean": mean, "ci_low": low, "ci_high": high,
            "std": float(x.std(ddof=1)) if x.size > 1 else np.nan,
            "p5": float(p5), "p50": float(p50), "p95": float(p95),
            "p_negative": float((x < 0).mean()) if x.size else np.nan,
            "cvar5": cvar(x, 0.05, higher_is_better)}


@dataclass(frozen=True)
class Difference:
    """A strategy's outcome minus its baseline's: mean, interval, and how often it wins."""

    mean: float
    ci_low: float
    ci_high: float
    std: float
    n: int
    p_beats: float
    paired: bool

    @property
    def width(self) -> float:
        """Return the width of the confidence interval."""
        return self.ci_high - self.ci_low


def paired_difference(x, y, confidence: float = 0.95,
                      higher_is_better: bool = True) -> Difference:
    """Return the paired difference x − y (same worlds, pair i with pair i)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length ({x.size} and {y.size}).")
    keep = np.isfinite(x) & np.isfinite(y)
    d = x[keep] - y[keep]
    mean, low, high = mean_interval(d, confidence)
    wins = d if higher_is_better else -d
    p_beats = float(((wins > 0) + 0.5 * (wins == 0)).mean()) if d.size else np.nan
    return Difference(mean, low, high, float(d.std(ddof=1)) if d.size > 1 else np.nan,
                      int(d.size), p_beats, True)


def unpaired_difference(x, y, confidence: float = 0.95,
                        higher_is_better: bool = True) -> Difference:
    """Return the difference of means x − y of independent samples (Welch interval)."""
    x, y = _clean(x), _clean(y)
    if x.size == 0 or y.size == 0:
        return Difference(np.nan, np.nan, np.nan, np.nan, 0, np.nan, False)
    mean = float(x.mean() - y.mean())
    low = high = std = np.nan
    if x.size > 1 and y.size > 1:
        vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
        std = float(np.sqrt(x.var(ddof=1) + y.var(ddof=1)))
        se = np.sqrt(vx + vy)
        if se > 0:
            df = (vx + vy) ** 2 / (vx ** 2 / (x.size - 1) + vy ** 2 / (y.size - 1))
            half = _t(confidence, df) * se
        else:
            half = 0.0
        low, high = mean - half, mean + half
    return Difference(mean, low, high, std, int(min(x.size, y.size)),
                      p_beats(x, y, higher_is_better), False)


def p_beats(x, y, higher_is_better: bool = True) -> float:
    """Return P(a draw of x beats an independent draw of y), ties counted half."""
    x, y = _clean(x), _clean(y)
    if x.size == 0 or y.size == 0:
        return np.nan
    ranks = pd.Series(np.concatenate([x, y])).rank(method="average").to_numpy()
    u = ranks[: x.size].sum() - x.size * (x.size + 1) / 2
    share = u / (x.size * y.size)
    return float(share if higher_is_better else 1 - share)


def dominance(x, y, order: int = 1, higher_is_better: bool = True) -> str:
    """Return "x", "y", "equal" or "neither": which sample stochastically dominates.

    First order: one ECDF lies nowhere above the other. Second order: the expected
    shortfall E[(t − X)+] of one lies nowhere above the other's, for every level t
    (every risk-averse decision maker prefers it). Checked exactly on the samples.
    """
    if order not in (1, 2):
        raise ValueError(f"order(={order}) must be 1 or 2.")
    x, y = _clean(x), _clean(y)
    if x.size == 0 or y.size == 0:
        return "neither"
    if not higher_is_better:
        x, y = -x, -y
    x, y = np.sort(x), np.sort(y)
    points = np.union1d(x, y)
    if order == 1:
        fx = np.searchsorted(x, points, side="right") / x.size
        fy = np.searchsorted(y, points, side="right") / y.size
        tol = 1e-12
    else:
        fx, fy = _shortfall(x, points), _shortfall(y, points)
        tol = 1e-11 * max(1.0, float(np.abs(points).max()))
    x_ok, y_ok = np.all(fx <= fy + tol), np.all(fy <= fx + tol)
    if x_ok and y_ok:
        return "equal"
    return "x" if x_ok else "y" if y_ok else "neither"


def _shortfall(sorted_values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """E[(t − X)+] at each t of `points` for the sample `sorted_values`."""
    count = np.searchsorted(sorted_values, points, side="right")
    below = np.concatenate([[0.0], np.cumsum(sorted_values)])[count]
    return (count * points - below) / sorted_values.size
