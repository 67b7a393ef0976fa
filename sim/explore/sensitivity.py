"""Global sensitivity of an output to the explored inputs: Sobol' indices and Morris' screen (SALib).

`sobol_indices(design, outputs)` takes a Saltelli design and one output per design point
(whatever computed it: `hashpivot-explore` passes the mean metric or mean paired
difference of each point; the tests pass the Ishigami function) and returns, per input,
the first-order index S1 (the share of the output's variance explained by that input
alone) and the total index ST (alone and through its interactions), each with the
half-width of its 95% bootstrap interval. `morris_screen(design, outputs)` returns
Morris' mu* (mean absolute elementary effect: how much the input moves the output) and
sigma (their spread: non-linearity or interaction), both in the output's unit for a step
across the input's whole range (SALib's effects are per unit of the scaled, 0-1 input):
mu* = $30M for capex over 4e6:11e6 is $30M over those $7M/MW, not per dollar.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.explore.design import Design, MORRIS_LEVELS, design_rng, salib

CONFIDENCE = 0.95
RESAMPLES = 200


def _outputs(design: Design, outputs) -> np.ndarray:
    """Return `outputs` as floats, one per design point; raise UserError if they cannot be analysed."""
    values = np.asarray(outputs, dtype=float).ravel()
    if values.size != len(design.points):
        raise UserError(f"{values.size} outputs for {len(design.points)} design points")
    if not np.all(np.isfinite(values)):
        raise UserError(f"{int(np.sum(~np.isfinite(values)))} design points have no finite output; "
                        "the indices need every point")
    return values


def sobol_indices(design: Design, outputs) -> pd.DataFrame:
    """Return one row per input: S1, S1_conf, ST, ST_conf (conf: half-width of the 95% interval)."""
    if design.kind != "saltelli":
        raise UserError(f"Sobol' indices need the saltelli design, not {design.kind}")
    values = _outputs(design, outputs)
    seed = int(design_rng(len(values)).integers(2 ** 31))
    if np.ptp(values) == 0:  # a constant output: no input explains any variance
        zeros = np.zeros(len(design.names))
        found = {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
    else:
        found = salib("analyze.sobol").analyze(design.problem(), values, calc_second_order=False,
                                               num_resamples=RESAMPLES, conf_level=CONFIDENCE,
                                               seed=seed)
    return pd.DataFrame({"input": list(design.names), "S1": found["S1"], "S1_conf": found["S1_conf"],
                         "ST": found["ST"], "ST_conf": found["ST_conf"]})


def morris_screen(design: Design, outputs) -> pd.DataFrame:
    """Return one row per input: mu_star, mu_star_conf, sigma (Morris' elementary effects)."""
    if design.kind != "morris":
        raise UserError(f"the Morris screen needs the morris design, not {design.kind}")
    values = _outputs(design, outputs)
    seed = int(design_rng(len(values)).integers(2 ** 31))
    found = salib("analyze.morris").analyze(design.problem(), design.points, values,
                                            num_resamples=RESAMPLES, conf_level=CONFIDENCE,
                                            num_levels=MORRIS_LEVELS, seed=seed)
    return pd.DataFrame({"input": list(design.names), "mu_star": np.asarray(found["mu_star"]),
                         "mu_star_conf": np.asarray(found["mu_star_conf"]),
                         "sigma": np.asarray(found["sigma"])})
