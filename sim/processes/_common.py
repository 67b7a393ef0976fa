"""Shared helpers of the built-in processes: upstream paths, AR(1) filtering, calendar."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.errors import UserError



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
    """Return x with x[0] = e[0] and x[d] = phi · x[d-1] + e[d] (a vectorised AR(1))."""
    from scipy.signal import lfilter  # here, not above: it costs a process ~50 MB, and only
    # the processes that draw random worlds need it (not a Ray driver; a process pool's
    # parent imports it before forking, for its workers to share: sim.executors.FORK_PRELOAD)

    return lfilter([1.0], [1.0, -phi], innovations)


def persistence(half_life_days: float) -> float:
    """Return the daily AR(1) coefficient of a deviation that halves in `half_life_days`."""
    return float(0.5 ** (1.0 / half_life_days))


def day_of_year(date: np.ndarray) -> np.ndarray:
    """Return the day of the year (1 = January 1st) of each datetime64 date."""
    date = np.asarray(date, dtype="datetime64[D]")
    return (date - date.astype("datetime64[Y]")).astype(np.int64) + 1
