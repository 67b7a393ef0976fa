"""Shared helpers of the built-in processes: upstream paths, AR(1) filtering, calendar."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.economics import DAYS_PER_YEAR
from sim.errors import UserError

#: The most events a year a Poisson rate may ask for: one a day, the day grid's resolution.
#: Far above it the sampler draws more events than days (at 1e9 a year it does not end).
MOST_PER_YEAR = DAYS_PER_YEAR
#: The most a log standard deviation or a volatility (per sqrt(year)) may be: five is a
#: factor of 148 for one standard deviation, beyond anything priced; far beyond it the
#: draws overflow.
MOST_LOG_SD = 5.0
#: The shortest mean duration of a regime spell, in years: a day, the grid's resolution.
LEAST_SPELL_YEARS = 1 / DAYS_PER_YEAR


def upstream_path(upstream: Mapping, name: str, n_days: int) -> np.ndarray:
    """Return the upstream daily path `name` as a float array, or raise UserError."""
    if name not in upstream:
        raise UserError(f"needs the upstream path {name!r}, which was not sampled before it")
    path = np.asarray(upstream[name], dtype=float)
    if path.shape != (n_days,):
        raise UserError(f"upstream {name} has shape {path.shape}; expected ({n_days},)")
    return path


def upstream_dates(upstream: Mapping, n_days: int) -> np.ndarray:
    """Return the upstream `date` path as datetime64[D], or raise UserError."""
    if "date" not in upstream:
        raise UserError("needs the upstream path 'date'")
    date = np.asarray(upstream["date"], dtype="datetime64[D]")
    if date.shape != (n_days,):
        raise UserError(f"upstream date has shape {date.shape}; expected ({n_days},)")
    return date


def ar1(innovations: np.ndarray, phi: float) -> np.ndarray:
    """Return x with x[0] = e[0] and x[d] = phi · x[d-1] + e[d] along the last axis.

    A doubling scan: after the pass of shift s, x[d] holds Σ phi^j · e[d-j] over j < 2s, so
    log2(n) passes of elementwise numpy compute the recursion. Each product and sum is
    rounded once, as IEEE prescribes, so every machine gets the same bits; they lie within a
    few ulps of the sequential recursion's (tests/processes/test_common.py). It replaces
    scipy.signal.lfilter, whose import costs every process that draws a world ~48 MB.
    """
    x = np.array(innovations, dtype=float)  # a copy: the passes work in place
    shift, power = 1, float(phi)
    while shift < x.shape[-1]:
        x[..., shift:] += power * x[..., :-shift]  # the product is made before the sum
        shift, power = 2 * shift, power * power
    return x


def persistence(half_life_days: float) -> float:
    """Return the daily AR(1) coefficient of a deviation that halves in `half_life_days`."""
    return float(0.5 ** (1.0 / half_life_days))


def day_of_year(date: np.ndarray) -> np.ndarray:
    """Return the day of the year (1 = January 1st) of each datetime64 date."""
    date = np.asarray(date, dtype="datetime64[D]")
    return (date - date.astype("datetime64[Y]")).astype(np.int64) + 1
