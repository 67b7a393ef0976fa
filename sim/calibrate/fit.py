"""A fitted market option, and the numerical helpers the fits share (Hessian, delta method)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from sim.errors import UserError


#: Why a fitted network option's day-0 keys hold what they hold: it starts where the
#: history ends, at the first block of its last epoch.
NETWORK_START_NOTES = {
    "start_height": "the history's last epoch",
    "start_difficulty": "the history's last epoch",
    "fees_btc_per_block": "assumed (--fees-btc-per-block), used in the hashprice",
    "start_hashrate_ehs": "null: 600 s blocks at start_difficulty",
    "start_epoch_elapsed_days": "null: day 0 is the last epoch's first block",
}


@dataclass
class Fit:
    """One fitted option: constructor arguments, standard errors, period and goodness of fit.

    ``params`` holds every argument the written option sets, in order; ``errors`` the
    standard error of those that were fitted (the others are stated assumptions, with a
    note in ``notes``).
    """

    group: str
    name: str
    target: str
    params: dict
    errors: dict
    period: tuple[str, str, int]
    goodness: dict
    method: str
    notes: dict = field(default_factory=dict)
    #: What the period's count counts (the data the fit's likelihood or squares sum over).
    observed: str = "observations"

    def summary(self) -> str:
        """Return the printed report: the option, its period, every parameter ± error, the fit."""
        first, last, count = self.period
        lines = [f"market/{self.group}={self.name} ({self.target}); {self.method}; "
                 f"{first} to {last}, {count} {self.observed}"]
        for key, value in self.params.items():
            error = self.errors.get(key)
            spread = f" ± {error:.4g}" if error is not None else f"  ({self.notes.get(key, 'set')})"
            lines.append(f"  {key:32s} {value!s:>14}{spread}" if not isinstance(value, float)
                         else f"  {key:32s} {value:14.6g}{spread}")
        lines.append("  goodness of fit: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float)
                                                        else f"{k} {v}"
                                                        for k, v in self.goodness.items()))
        return "\n".join(lines)

    def not_finite(self) -> list[str]:
        """Return the names of the numeric parameters that are NaN or infinite."""
        return [key for key, value in self.params.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
                and not math.isfinite(value)]


def check_enough(prices: pd.Series, fewest: int, counted: str, why: str, unchanging: str) -> None:
    """Raise UserError unless there are `fewest` prices and they change: the first line
    counts them as `counted` and says `why` so many are needed, the second ends with
    `unchanging` (what prices that never change leave to fit)."""
    if len(prices) < fewest:
        raise UserError(f"{len(prices)} {counted}; the fit needs at least {fewest} ({why})")
    if prices.min() == prices.max():
        raise UserError(f"the {len(prices)} {unchanging}")


def period_of(index) -> tuple[str, str, int]:
    """Return (first date, last date, count) of a date index."""
    dates = pd.DatetimeIndex(index)
    return f"{dates[0]:%Y-%m-%d}", f"{dates[-1]:%Y-%m-%d}", len(dates)


def hessian(func: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Return the central-difference Hessian of `func` at `x` (steps relative to max(|x|, 1))."""
    x = np.asarray(x, dtype=float)
    h = step * np.maximum(np.abs(x), 1.0)
    n = len(x)
    out = np.empty((n, n))
    for i in range(n):
        for j in range(i, n):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                y = x.copy()
                y[i] += si * h[i]
                y[j] += sj * h[j]
                total += sign * func(y)
            out[i, j] = out[j, i] = total / (4 * h[i] * h[j])
    return out


def covariance(negative_loglik: Callable[[np.ndarray], float], x: np.ndarray) -> np.ndarray:
    """Return the asymptotic covariance of an MLE: the inverse Hessian of −log L at `x`.

    Where the Hessian is not positive definite (too few data, or `x` not a maximum of the
    likelihood) the parameters are not identified: every entry is infinite.
    """
    matrix = hessian(negative_loglik, x)
    if not np.all(np.isfinite(matrix)):
        return np.full(matrix.shape, np.inf)
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return np.full(matrix.shape, np.inf)
    return np.linalg.inv(matrix)


def delta_se(func: Callable[[np.ndarray], float], x: np.ndarray, cov: np.ndarray,
             step: float = 1e-6) -> float:
    """Return the delta-method standard error of func(x) given cov(x)."""
    x = np.asarray(x, dtype=float)
    h = step * np.maximum(np.abs(x), 1.0)
    grad = np.array([(func(x + h[i] * e) - func(x - h[i] * e)) / (2 * h[i])
                     for i, e in enumerate(np.eye(len(x)))])
    if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(cov))):
        return math.inf  # not identified: unknown, not zero
    return float(np.sqrt(max(grad @ cov @ grad, 0.0)))
