"""A fitted market option, and the numerical helpers the fits share (Hessian, delta method)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.config_tree import config_dir
from sim.errors import UserError


def shipped_option(group: str, option: str) -> dict:
    """Return the shipped option conf/market/<group>/<option>.yaml as written: its
    interpolations (``${asof.btc_usd}``) unresolved."""
    path = config_dir() / "market" / group / f"{option}.yaml"
    return OmegaConf.to_container(OmegaConf.load(path), resolve=False)


def default_day0() -> str:
    """Return day 0 of the default experiment: the date of the snapshot conf/config.yaml selects."""
    for entry in OmegaConf.to_container(OmegaConf.load(config_dir() / "config.yaml"))["defaults"]:
        if isinstance(entry, dict) and "asof" in entry:
            return str(OmegaConf.load(config_dir() / "asof" / f"{entry['asof']}.yaml").date)
    raise FileNotFoundError("conf/config.yaml selects no asof snapshot")


@dataclass
class Fit:
    """One fitted option: constructor arguments, standard errors, period and goodness of fit.

    ``params`` holds the arguments the fit sets; ``errors`` the standard error of those
    that were fitted (the others are stated choices, with a note in ``notes``). The
    written option is the shipped option ``shipped`` (conf/market/<group>/<shipped>.yaml)
    with ``params`` in place of its values: every other key, the day-0 state among them
    (``${asof.*}``: the snapshot's), stays as shipped, and ``notes`` may say what the
    history gave for it (its end state), which is information, not written.
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
    #: The shipped option of the group this fit replaces (its other keys are kept).
    shipped: str = ""

    def written(self) -> dict:
        """Return {key: (value, note)} of the written option, in the shipped option's order:
        the fit's value (a fitted one's note may be None: its standard error says enough),
        or the shipped value, interpolations unresolved, noted as not fitted."""
        shipped = shipped_option(self.group, self.shipped)
        if shipped.pop("_target_") != self.target:
            raise ValueError(f"market/{self.group}={self.shipped} is not a {self.target}")
        out = {}
        for key, value in {**shipped, **self.params}.items():
            if key in self.params:
                default = None if key in self.errors else "set by the fit"
            else:
                default = f"not fitted: as market/{self.group}={self.shipped}"
            out[key] = (value, self.notes.get(key, default))
        return out

    def summary(self) -> str:
        """Return the printed report: the option, its period, every value ± error and its
        note, the fit."""
        first, last, count = self.period
        lines = [f"market/{self.group}={self.name} ({self.target}); {self.method}; "
                 f"{first} to {last}, {count} {self.observed}"]
        for key, (value, note) in self.written().items():
            spread = (f" ± {self.errors[key]:.4g}" if key in self.errors else "") + (
                f"  ({note})" if note else "")
            shown = f"{value:14.6g}" if isinstance(value, float) else f"{_as_written(value):>14}"
            lines.append(f"  {key:32s} {shown}{spread}")
        lines.append("  goodness of fit: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float)
                                                        else f"{k} {v}"
                                                        for k, v in self.goodness.items()))
        return "\n".join(lines)

    def not_finite(self) -> list[str]:
        """Return the names of the numeric parameters that are NaN or infinite."""
        return [key for key, value in self.params.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
                and not math.isfinite(value)]


def _as_written(value) -> str:
    """Return a value that is not a float as the written option (YAML) and an override spell
    it: null, true, false (Python printed None, True, False); else as it is."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value)


def network_start_notes(epochs: pd.DataFrame, fees_btc_per_block: float) -> dict:
    """Return the notes of a fitted network option's day-0 keys: the snapshot's, and what the
    history's last epoch and the fit's fee level were (information, not written)."""
    last = epochs.iloc[-1]
    began = f"{pd.Timestamp(int(last['timestamp']), unit='s'):%Y-%m-%d}"
    return {"start_height": f"day 0: the snapshot's; the history's last epoch began at "
                            f"{int(last['height'])} on {began}",
            "start_difficulty": f"day 0: the snapshot's; the history's last epoch: "
                                f"{float(last['difficulty']):.8g}",
            "start_hashrate_ehs": "day 0: the snapshot's",
            "fees_btc_per_block": f"day 0: the snapshot's; the fit took {fees_btc_per_block:g} "
                                  "BTC a block in the history's hashprice "
                                  "(--fees-btc-per-block)"}


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


def covariance(negative_loglik: Callable[[np.ndarray], float], x: np.ndarray,
               observations: int | None = None) -> np.ndarray:
    """Return the asymptotic covariance of an MLE: the inverse Hessian of −log L at `x`.

    Where the Hessian is not positive definite (too few data, or `x` not a maximum of the
    likelihood) the parameters are not identified: every entry is infinite. So too where
    the fit had no more `observations` (if given) than parameters, whatever the Hessian's
    rounding (a jump diffusion's five parameters on two returns came out positive definite
    on one CPU and not on another).
    """
    if observations is not None and observations <= len(x):
        return np.full((len(x), len(x)), np.inf)
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
