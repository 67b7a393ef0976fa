"""Experiments over uncertain assumptions (`hashpivot-explore`): designs, PRIM, Sobol' and Morris.

    experiment = sim.explore.prepare(sim.compose(["strategy=[stay_mining,convert_all]"]),
                                     {"run.discount_rate": "0.07:0.12"}, design="saltelli", points=64)
    found = sim.explore.explore(experiment, out_dir="outputs/explore")
    found.sentences, found.sensitivity

Every design point runs the same worlds (common random numbers); PRIM finds where one
strategy beats another, SALib's Sobol' indices say which input drives the outcome.
"""

from sim.explore.design import Design, draw
from sim.explore.pipeline import explore, findings
from sim.explore.prim import Box, Discovery, prim
from sim.explore.report import Findings
from sim.explore.run import Experiment, prepare
from sim.explore.sensitivity import morris_screen, sobol_indices
from sim.explore.space import Range, parse_range

__all__ = ["Box", "Design", "Discovery", "Experiment", "Findings", "Range", "draw", "explore",
           "findings", "morris_screen", "parse_range", "prepare", "prim", "sobol_indices"]
