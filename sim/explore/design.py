"""Designs of an experiment: the points at which the explored keys are set.

    sobol     scrambled Sobol' low-discrepancy points (scipy.stats.qmc), `points` of them
    lhs       a Latin hypercube (scipy.stats.qmc), `points` of them
    saltelli  Saltelli's design for Sobol' indices (SALib): `points` x (k + 2) points
    morris    Morris' elementary-effect trajectories (SALib): `points` x (k + 1) points

for k explored keys. Every design is drawn from its own stream of the run seed
(`numpy.random.SeedSequence(seed, spawn_key=(DESIGN_STREAM,))`), so the same command
draws the same points. Sobol' points cover the ranges evenly only in a power of 2 (the
sobol design's points, the saltelli design's N base points); another number is drawn all
the same, and `Design.balance_note` says so (in place of SciPy's warning). SALib is an
optional dependency (``pip install 'hashpivot[explore]'``), needed by the saltelli and
morris designs and by the indices.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from importlib import import_module

import numpy as np
from scipy.stats import qmc

from sim.arguments import ArgumentError
from sim.errors import UserError

KINDS = ("sobol", "lhs", "saltelli", "morris")
#: SeedSequence spawn key of the design's stream.
DESIGN_STREAM = 0xE8
MORRIS_LEVELS = 4
#: The designs drawn from Sobol' points (saltelli: its N base points).
SOBOL_KINDS = ("sobol", "saltelli")
#: SciPy's warning on a number of Sobol' points that is not a power of 2 (balance_note says it).
SOBOL_BALANCE = "The balance properties of Sobol' points require n to be a power of 2"
INSTALL = ("SALib is not installed; the saltelli and morris designs need it: "
           "pip install 'hashpivot[explore]' (or: pip install 'SALib>=1.5')")


def salib(module: str):
    """Return SALib's `module` (e.g. 'sample.sobol'), or raise UserError saying how to install it."""
    try:
        return import_module(f"SALib.{module}")
    except ImportError:
        raise UserError(INSTALL) from None


@dataclass(frozen=True)
class Design:
    """A drawn design: its kind, the input names and bounds, and the points (one row each)."""

    kind: str
    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    points: np.ndarray
    base_points: int  # the N asked for (Saltelli's and Morris' N, else the number of points)

    def problem(self) -> dict:
        """Return SALib's problem dict of this design."""
        return {"num_vars": len(self.names), "names": list(self.names),
                "bounds": [list(b) for b in self.bounds]}

    def balance_note(self, points_name: str = "points") -> str | None:
        """Return a line on a design of Sobol' points whose N is not a power of 2 (they then cover
        the ranges less evenly), naming the argument `points_name`; None otherwise."""
        n = self.base_points
        if self.kind not in SOBOL_KINDS or n & (n - 1) == 0:
            return None
        lower, upper = 1 << (n.bit_length() - 1), 1 << n.bit_length()
        drawn = "" if self.kind == "sobol" else " (its base points)"
        return (f"{points_name}={n}: the {self.kind} design draws {n} Sobol' points{drawn}, which "
                f"cover the ranges evenly only in a power of 2 ({lower}, {upper}, ...); {n} leave "
                f"parts of them denser than others: pass {points_name}={upper} (or {lower})")


def design_rng(seed: int) -> np.random.Generator:
    """Return the design's Generator, drawn from the run seed by SeedSequence."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(DESIGN_STREAM,)))


def draw(kind: str, names, bounds, points: int, seed: int) -> Design:
    """Return the `kind` design with `points` (its N) over inputs `names` in `bounds`, seeded by `seed`."""
    if kind not in KINDS:
        raise ArgumentError(lambda name: f"{name('design', kind)}: must be one of {', '.join(KINDS)}")
    if int(points) < 2:
        raise ArgumentError(lambda name: f"{name('points', points)}: must be >= 2")
    names, bounds = tuple(names), tuple((float(lo), float(hi)) for lo, hi in bounds)
    rng, k = design_rng(seed), len(names)
    low, high = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    with warnings.catch_warnings():  # balance_note says it, once, in the project's words
        warnings.filterwarnings("ignore", message=re.escape(SOBOL_BALANCE), category=UserWarning)
        if kind == "sobol":
            unit = qmc.Sobol(k, scramble=True, seed=rng).random(int(points))
            matrix = qmc.scale(unit, low, high)
        elif kind == "lhs":
            unit = qmc.LatinHypercube(k, seed=rng).random(int(points))
            matrix = qmc.scale(unit, low, high)
        else:
            problem = {"num_vars": k, "names": list(names), "bounds": [list(b) for b in bounds]}
            if kind == "saltelli":
                matrix = salib("sample.sobol").sample(problem, int(points), calc_second_order=False,
                                                      seed=rng)
            else:
                matrix = salib("sample.morris").sample(problem, int(points),
                                                       num_levels=MORRIS_LEVELS, seed=rng)
    return Design(kind, names, bounds, np.asarray(matrix, dtype=float), int(points))
