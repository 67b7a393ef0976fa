"""Fit of the economic network (`market/network=economic`) to difficulty and BTC history.

The model is started, as `hashpivot-backtest` starts it, from the history's state at
00:00 UTC on the first day of the fit window (height, difficulty, the time since the
epoch's first block, the hashrate of at least the last week: `sim.backtest.history.start_state`)
and driven by the realised BTC closes, in deterministic mode (`EconomicNetwork.sample`
with rng=None: no noise, no fee spikes, no per-world power median). Its daily hashrate,
averaged over each real epoch of the window (by its work: the integral of the daily path
between the epoch's first and last block), predicts that epoch's real hashrate,
D · 2³² · 2016 / duration, many epochs ahead. Least
squares of the log errors (`scipy.optimize.least_squares`: a few steps from each of the
four best points of a coarse grid, then to convergence from the best), on the logs of m,
T − k and the order time (so that the payback target always exceeds the ASIC price k),
fits `power_median_usd_per_mwh` (m), `payback_target_days` (T) and `order_days`; every
other parameter keeps its built-in value (market/network=economic's with the default
fleet). The written option is market/network=economic with those three replaced: it
starts from the snapshot's day 0, as the shipped option does.

Standard errors are σ² (JᵀJ)⁻¹ at the optimum (J the Jacobian of the log errors, σ² their
mean square over n − 3), carried to the natural units by the delta method. The errors of
a free-running path are strongly autocorrelated (a level error persists for many
epochs), so these standard errors treat about a hundred dependent errors as independent
and are optimistic: read them as lower bounds. A parameter that does not move the errors
at all (no machine is ordered in the window, so the payback target and the order time do
nothing) or that ends on a bound of the search gets an infinite standard error.

Goodness of fit: the residual log-sd (root mean square of the log errors) of the epochs'
hashrate, R² of log hashrate and R² of log difficulty (the simulated difficulty in force
on each real epoch's middle day against the real one).
"""

from __future__ import annotations

import datetime
import itertools
import math
import re
from dataclasses import fields

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from sim.backtest.history import realised_epochs, start_state
from sim.calibrate.fit import Fit, network_start_notes
from sim.economics import BLOCKS_PER_EPOCH, DAYS_PER_YEAR, SECONDS_PER_DAY, TWO_POW_32
from sim.errors import UserError
from sim.processes.network_economic import EconomicNetwork

#: The fitted parameters, in the order of the least-squares vector.
FITTED = ("power_median_usd_per_mwh", "payback_target_days", "order_days")
#: The default fit window: the last this many years of the overlap of epochs and prices.
WINDOW_YEARS = 4.0
#: The fewest real epochs a window must hold.
MIN_EPOCHS = 8
#: Bounds of the fit, natural units: (m USD/MWh, T − k days, order days).
_LOW = np.log([1.0, 5.0, 1.0])
_HIGH = np.log([1000.0, 20_000.0, 5000.0])
#: The coarse grid whose best point starts the least squares (m, T − k, order days): the
#: sum of squares has local minima and long flat valleys (payback target with order time).
_GRID = ((25.0, 40.0, 60.0, 90.0), (100.0, 300.0, 900.0, 2700.0), (30.0, 100.0, 300.0, 1000.0))
#: How many of the grid's best points start a short least squares (of at most
#: `_SCOUT_EVALUATIONS` steps), and the steps the best one may then take to converge.
_STARTS = 4
_SCOUT_EVALUATIONS = 8
_MAX_EVALUATIONS = 60
#: Relative finite-difference step of the Jacobian: wide enough to step over the small
#: jumps of a simulated path (a retarget's new drift starts on a whole day).
_STEP = 1e-2
#: Log error of every epoch when the model cannot be run at a trial point.
_FAILED = 10.0


def fit_window(epochs: pd.DataFrame, closes: pd.Series, since: str | None = None) -> tuple[str, int]:
    """Return (first day, days) of the fit window: from `since` (default: `WINDOW_YEARS`
    before the end of the overlap of the epochs and the closes) to that end; raise
    UserError if the window holds under `MIN_EPOCHS` whole real epochs."""
    check_epochs(epochs)
    if since is not None:
        start = parse_since(since)
    times = epochs["timestamp"].to_numpy()
    dates = closes.index.to_numpy().astype("datetime64[D]")
    first_epoch = np.datetime64(int(times[1]), "s").astype("datetime64[D]") + 1
    end = min(np.datetime64(int(times[-1]), "s").astype("datetime64[D]"), dates[-1])
    earliest = max(first_epoch, dates[0])
    if end <= earliest:
        raise UserError(f"--network: the epochs ({first_epoch} on) and the --btc prices "
                        f"({dates[0]} to {dates[-1]}) do not overlap")
    if since is None:
        start = max(end - int(round(WINDOW_YEARS * DAYS_PER_YEAR)), earliest)
    else:
        if start < earliest or start >= end:
            raise UserError(f"--network-since={since}: must lie from {earliest} (the epochs "
                            f"and prices overlap from then) to before {end}")
    n_days = int((end - start).astype(int)) + 1
    count = len(realised_epochs(str(start), n_days, epochs))
    if count < MIN_EPOCHS:
        raise UserError(f"--network: only {count} whole epochs lie inside {start} to {end} "
                        f"(the fit window within the --btc prices' dates); at least "
                        f"{MIN_EPOCHS} are needed")
    return str(start), n_days


def parse_since(since: str) -> np.datetime64:
    """Return --network-since's day, or raise UserError unless it is a date YYYY-MM-DD."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
            return np.datetime64(datetime.date.fromisoformat(since), "D")
    except ValueError:
        pass
    raise UserError(f"--network-since={since}: must be a date YYYY-MM-DD")


def check_epochs(epochs: pd.DataFrame) -> None:
    """Raise UserError unless the history has the rows of `MIN_EPOCHS` whole epochs: their
    first blocks and the next epoch's."""
    if len(epochs) < MIN_EPOCHS + 1:
        raise UserError(f"{len(epochs)} row(s) of epochs; the fit needs at least {MIN_EPOCHS + 1} rows (the "
                        f"first blocks of {MIN_EPOCHS} whole epochs and of the next)")


class _Problem:
    """The window's data and the model run at trial parameters (vector: logs of m, T − k and
    the order time)."""

    def __init__(self, epochs: pd.DataFrame, closes: pd.Series, start: str, n_days: int,
                 fees_btc_per_block: float, base: dict):
        self.day = np.arange(n_days)
        self.date = np.datetime64(start, "D") + self.day
        self.btc_usd = closes.reindex(self.date).to_numpy(float)
        self.state = start_state(start, epochs)
        self.base = {**base, **self.state, "fees_btc_per_block": fees_btc_per_block}
        origin = (np.datetime64(start, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
        times = epochs["timestamp"].to_numpy(dtype=float) / SECONDS_PER_DAY - origin
        begin, end = times[:-1], times[1:]
        inside = (begin >= 0) & (end <= n_days)
        self.begin, self.end = begin[inside], end[inside]
        self.difficulty = epochs["difficulty"].to_numpy(dtype=float)[:-1][inside]
        self.log_ehs = np.log(self.difficulty * TWO_POW_32 * BLOCKS_PER_EPOCH
                              / ((self.end - self.begin) * SECONDS_PER_DAY) / 1e18)
        self.middle = np.minimum(((self.begin + self.end) / 2).astype(int), n_days - 1)

    def network(self, theta) -> EconomicNetwork:
        """Return the model at the parameter vector `theta`."""
        return EconomicNetwork(**self.base, **dict(zip(FITTED, natural(theta, self.base))))

    def run(self, theta) -> tuple[np.ndarray, np.ndarray]:
        """Return (predicted log hashrate of each real epoch, simulated difficulty on its
        middle day) at `theta`."""
        out = self.network(theta).sample(self.day, None, {"day": self.day, "date": self.date,
                                                          "btc_usd": self.btc_usd})
        work = np.concatenate(([0.0], np.cumsum(out["network_hashrate_ehs"])))
        grid = np.arange(len(work), dtype=float)
        mean_ehs = ((np.interp(self.end, grid, work) - np.interp(self.begin, grid, work))
                    / (self.end - self.begin))
        return np.log(mean_ehs), out["difficulty"][self.middle]

    def residuals(self, theta) -> np.ndarray:
        """Return the log errors (predicted − real) of the epochs' hashrate at `theta`."""
        try:
            predicted, _ = self.run(theta)
        except (UserError, RuntimeError, FloatingPointError):
            return np.full(len(self.log_ehs), _FAILED)
        errors = predicted - self.log_ehs
        return np.where(np.isfinite(errors), errors, _FAILED)


def natural(theta, base: dict) -> tuple[float, float, float]:
    """Return (m, T, order days) from the vector (log m, log(T − k), log order days)."""
    log_m, log_excess, log_order = (float(v) for v in theta)
    return (math.exp(log_m), base["asic_price_days_of_hashprice"] + math.exp(log_excess),
            math.exp(log_order))


def fit_economic_network(epochs: pd.DataFrame, closes: pd.Series,
                         fees_btc_per_block: float = 0.025, since: str | None = None) -> Fit:
    """Return EconomicNetwork's m, payback target and order time fitted to the epochs of the
    window (`fit_window`) driven by the realised closes (module docstring)."""
    start, n_days = fit_window(epochs, closes, since)
    defaults = {f.name: f.default for f in fields(EconomicNetwork)}
    base = {key: value for key, value in defaults.items() if key not in FITTED}
    problem = _Problem(epochs, closes, start, n_days, fees_btc_per_block, base)
    grid = [np.log(point) for point in itertools.product(*_GRID)]
    squares = [float(np.sum(np.square(problem.residuals(theta)))) for theta in grid]

    def solve(theta, evaluations):
        return least_squares(problem.residuals, theta, bounds=(_LOW, _HIGH), diff_step=_STEP,
                             x_scale="jac", xtol=1e-8, ftol=1e-10, max_nfev=evaluations)

    best = min((solve(grid[i], _SCOUT_EVALUATIONS) for i in np.argsort(squares)[:_STARTS]),
               key=lambda fitted: fitted.cost)
    result = solve(best.x, _MAX_EVALUATIONS)
    resid = result.fun
    count = len(resid)
    sigma_sq = float(resid @ resid) / max(count - len(FITTED), 1)
    jac = result.jac
    cov = sigma_sq * np.linalg.pinv(jac.T @ jac)
    values = natural(result.x, base)
    scale = np.array([values[0], values[1] - base["asic_price_days_of_hashprice"], values[2]])
    standard = scale * np.sqrt(np.maximum(np.diag(cov), 0.0))
    column = np.linalg.norm(jac, axis=0)
    unknown = ((column <= 1e-9 * max(float(column.max()), 1e-300))
               | np.isclose(result.x, _LOW, rtol=0, atol=1e-6)
               | np.isclose(result.x, _HIGH, rtol=0, atol=1e-6))
    errors = dict(zip(FITTED, np.where(unknown, math.inf, standard).tolist()))
    _, simulated_difficulty = problem.run(result.x)
    log_d = np.log(problem.difficulty)
    goodness = {
        "residual_log_sd": float(np.sqrt(np.mean(np.square(resid)))),
        "r_squared_log_hashrate": _r_squared(problem.log_ehs, resid),
        "r_squared_log_difficulty": _r_squared(log_d, np.log(simulated_difficulty) - log_d),
        "epochs": count,
    }
    end = np.datetime64(start, "D") + n_days - 1
    return Fit("network", "fitted", "sim.processes.network_economic.EconomicNetwork",
               dict(zip(FITTED, values)), errors, (start, str(end), count), goodness,
               "least squares of log hashrate per epoch, the model run deterministically from "
               f"{start}'s state on the realised BTC path (standard errors optimistic: the "
               "errors are autocorrelated)", network_start_notes(epochs, fees_btc_per_block),
               observed="epochs", shipped="economic")


def _r_squared(observed: np.ndarray, errors: np.ndarray) -> float:
    """Return 1 − Σ errors² / Σ (observed − its mean)²."""
    spread = float(np.sum(np.square(observed - observed.mean())))
    return float(1 - np.sum(np.square(errors)) / spread) if spread > 0 else math.nan
