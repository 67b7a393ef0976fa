"""Scenario discovery: PRIM, the Patient Rule Induction Method (Friedman & Fisher, 1999).

Given cases (rows of numeric inputs) and which of them are "of interest" (a boolean
outcome, e.g. converting beats mining by more than $X), PRIM looks for a box (a range
per input) where the cases of interest are dense. It starts with the box holding every
case and *peels*: of all the ways to cut the lowest or highest `alpha` share of the
cases left in the box along one input, it takes the one leaving the highest density
of cases of interest, and repeats until fewer than `min_mass` of all cases remain. Each
box on the way is a point of the peeling trajectory, a trade-off between

    coverage = cases of interest in the box / all cases of interest
    density  = cases of interest in the box / cases in the box

The chosen box is the densest one with at least `min_coverage`; it is then *pasted*
(each bound widened by up to `alpha` of the box's cases, while the density does not
fall, so that the box takes in every neighbouring case of interest it can) and
every restriction whose removal lowers the density by less than its standard error is
dropped, so that inputs without influence stay unrestricted; a bound beyond which no case
within the other limits lies is dropped too (it cuts nothing).

Written here rather than taken from the EMA Workbench: its install pulls scikit-learn,
statsmodels, seaborn and Platypus for this one algorithm, and its PRIM is interactive
(a user inspects and selects boxes); the trajectory, the choice rule and the
pasting are all this module needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

ALPHA = 0.05
MIN_MASS = 0.05
MIN_COVERAGE = 0.5


@dataclass(frozen=True)
class Box:
    """A box: (low, high) per input (inclusive; ±inf where unrestricted), its coverage, density and mass."""

    limits: dict
    coverage: float
    density: float
    mass: float
    points: int = 0  # the distinct input rows (design points) among its cases

    def restricted(self, bounds: dict) -> dict:
        """Return the limits that cut into `bounds` (the inputs' own (min, max)): {input: (low, high)}."""
        cut = {}
        for name, (low, high) in self.limits.items():
            lo, hi = bounds[name]
            if low > lo or high < hi:
                cut[name] = (low if low > lo else None, high if high < hi else None)
        return cut


def _inside(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    return np.all((x >= low) & (x <= high), axis=1)


def _measure(inside: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Return (coverage, density, mass) of the cases `inside` a box."""
    n_in = int(inside.sum())
    hits = float(y[inside].sum())
    total = float(y.sum())
    return (hits / total if total else 0.0, hits / n_in if n_in else 0.0, n_in / len(y))


def peel(x: np.ndarray, y: np.ndarray, alpha: float = ALPHA, min_mass: float = MIN_MASS):
    """Return the peeling trajectory: a list of (low, high) arrays, the first the whole data's range."""
    low, high = x.min(axis=0).astype(float), x.max(axis=0).astype(float)
    trajectory = [(low.copy(), high.copy())]
    n = len(y)
    while True:
        inside = _inside(x, low, high)
        if inside.sum() / n <= min_mass:
            break
        best = None
        removed = max(1, int(alpha * inside.sum()))
        for j in range(x.shape[1]):
            values = np.sort(x[inside, j])
            for side in ("low", "high"):
                if side == "low":  # cut the `removed` lowest (and any tied with the last of them)
                    keep = inside & (x[:, j] > values[removed - 1])
                else:
                    keep = inside & (x[:, j] < values[-removed])
                kept = int(keep.sum())
                if kept == 0 or kept == int(inside.sum()) or kept / n < min_mass:
                    continue
                density = float(y[keep].mean())
                if best is None or density > best[0] + 1e-12:
                    best = (density, j, side, x[keep, j].min() if side == "low" else x[keep, j].max())
        if best is None:
            break
        _, j, side, bound = best
        if side == "low":
            low[j] = bound
        else:
            high[j] = bound
        trajectory.append((low.copy(), high.copy()))
    return trajectory


def paste(x: np.ndarray, y: np.ndarray, low, high, alpha: float = ALPHA):
    """Return (low, high) widened bound by bound, by up to `alpha` of the box's cases, while the density does not fall."""
    low, high = low.copy(), high.copy()
    while True:
        inside = _inside(x, low, high)
        density = float(y[inside].mean()) if inside.any() else 0.0
        step = max(1, int(round(alpha * inside.sum())))
        best = None  # (density, cases added, low, high)
        for j in range(x.shape[1]):
            others = _inside(np.delete(x, j, axis=1), np.delete(low, j), np.delete(high, j))
            below = np.sort(x[others & (x[:, j] < low[j]), j])[::-1][:step]
            above = np.sort(x[others & (x[:, j] > high[j]), j])[:step]
            for side, values in (("low", below), ("high", above)):
                for added in range(values.size, 0, -1):  # the widest widening that keeps the density
                    trial_low, trial_high = low.copy(), high.copy()
                    (trial_low if side == "low" else trial_high)[j] = values[added - 1]
                    gain = float(y[_inside(x, trial_low, trial_high)].mean())
                    if gain >= density - 1e-12:
                        if best is None or (gain, added) > best[:2]:
                            best = (gain, added, trial_low, trial_high)
                        break
        if best is None:
            return low, high
        low, high = best[2], best[3]


def _drop_idle(x, y, low, high, full_low, full_high):
    """Return (low, high) without the restrictions whose removal lowers the density by less than its standard error.

    The standard error is that of the box's density as a share of its cases,
    sqrt(d (1 - d) / n), taken once for the box as it came in, so that all the dropped
    restrictions together cost at most that much; the restriction that costs least is
    dropped first.
    """
    low, high = low.copy(), high.copy()
    inside = _inside(x, low, high)
    density = _measure(inside, y)[1]
    floor = density - np.sqrt(density * (1 - density) / max(int(inside.sum()), 1)) - 1e-12
    while True:
        best = None
        for j in range(x.shape[1]):
            if low[j] <= full_low[j] and high[j] >= full_high[j]:
                continue
            trial_low, trial_high = low.copy(), high.copy()
            trial_low[j], trial_high[j] = full_low[j], full_high[j]
            kept = _measure(_inside(x, trial_low, trial_high), y)[1]
            if kept >= floor and (best is None or kept > best[0]):
                best = (kept, trial_low, trial_high)
        if best is None:
            return low, high
        low, high = best[1], best[2]


def _distinct(rows: np.ndarray) -> int:
    """Return how many distinct rows (design points, each repeated over its worlds) there are."""
    return len(np.unique(rows, axis=0)) if len(rows) else 0


def _drop_empty_sides(x, low, high, full_low, full_high):
    """Return (low, high) with each bound beyond which no case within the box's other limits
    lies set back to the input's own end: it cuts nothing, though an earlier peel needed it
    (a later one cut those cases along another input), and stated it would say that the
    cases beyond it do not pay, where there are none. The cases inside do not change."""
    low, high = low.copy(), high.copy()
    for j in range(x.shape[1]):
        others = _inside(np.delete(x, j, axis=1), np.delete(low, j), np.delete(high, j))
        if not (others & (x[:, j] < low[j])).any():
            low[j] = full_low[j]
        if not (others & (x[:, j] > high[j])).any():
            high[j] = full_high[j]
    return low, high


@dataclass(frozen=True)
class Discovery:
    """PRIM's result: the trajectory (a table), the chosen box, the inputs' own bounds and the base density."""

    trajectory: pd.DataFrame
    box: Box
    bounds: dict
    base_density: float
    points: int = 0  # the distinct input rows (design points) of all the cases


def prim(cases: pd.DataFrame, interesting, alpha: float = ALPHA, min_mass: float = MIN_MASS,
         min_coverage: float = MIN_COVERAGE, points=None) -> Discovery:
    """Return the Discovery of PRIM on `cases` (numeric columns) for the boolean outcome
    `interesting`; `points`, the design point of each case, counts the points (by default
    each distinct row of `cases` is one: not so where the world's features are columns)."""
    names = list(cases.columns)
    x = cases.to_numpy(dtype=float)
    labels = x if points is None else np.asarray(points).reshape(len(x), -1)
    y = np.asarray(interesting, dtype=float)
    full_low, full_high = x.min(axis=0), x.max(axis=0)
    bounds = {n: (float(lo), float(hi)) for n, lo, hi in zip(names, full_low, full_high)}
    rows = []
    for step, (low, high) in enumerate(peel(x, y, alpha, min_mass)):
        coverage, density, mass = _measure(_inside(x, low, high), y)
        rows.append(dict(step=step, coverage=coverage, density=density, mass=mass,
                         **{f"{n} low": lo for n, lo in zip(names, low)},
                         **{f"{n} high": hi for n, hi in zip(names, high)}))
    trajectory = pd.DataFrame(rows)
    eligible = trajectory[trajectory["coverage"] >= min_coverage]
    eligible = eligible if len(eligible) else trajectory.iloc[:1]
    chosen = eligible.sort_values(["density", "coverage"], ascending=[False, False]).iloc[0]
    low = np.array([chosen[f"{n} low"] for n in names])
    high = np.array([chosen[f"{n} high"] for n in names])
    low, high = paste(x, y, low, high, alpha)
    low, high = _drop_idle(x, y, low, high, full_low, full_high)
    low, high = _drop_empty_sides(x, low, high, full_low, full_high)
    inside = _inside(x, low, high)
    coverage, density, mass = _measure(inside, y)
    limits = {n: (float(lo), float(hi)) for n, lo, hi in zip(names, low, high)}
    trajectory["chosen"] = trajectory["step"] == int(chosen["step"])
    return Discovery(trajectory, Box(limits, coverage, density, mass, _distinct(labels[inside])),
                     bounds, float(y.mean()), _distinct(labels))
