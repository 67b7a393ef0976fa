"""Designs of an experiment: the points at which the explored keys are set.

    sobol     scrambled Sobol' low-discrepancy points (scipy.stats.qmc), `points` of them
    lhs       a Latin hypercube (scipy.stats.qmc), `points` of them
    saltelli  Saltelli's design for Sobol' indices (SALib): `points` x (k + 2) points
    morris    Morris' elementary-effect trajectories (SALib): `points` x (k + 1) points

for k explored keys. Every design is drawn from its own stream of the run seed
(`numpy.random.SeedSequence(seed, spawn_key=(DESIGN_STREAM,))`), so the same command
draws the same points. SALib is an optional dependency (``pip install 'hashpivot[explore]'``),
needed by the saltelli and morris designs and by the indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

import numpy as np
from scipy.stats import qmc

from sim.config import ArgumentError
from sim.errors import UserError

KINDS = ("sobol", "lhs", "saltelli", "morris")
#: SeedSequence spawn key of the design's stream.
DESIGN_STREAM = 0xE8
MORRIS_LEVELS = 4
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
            matrix = salib("sample.morris").sample(problem, int(points), num_levels=MORRIS_LEVELS,
                                                   seed=rng)
    return Design(kind, names, bounds, np.asarray(matrix, dtype=float), int(points))
