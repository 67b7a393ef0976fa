"""Search a strategy's parameters for the best mean of a metric (`hashpivot-optimize`).

    optimum = sim.optimize.optimize("phased", {"strategy.phased.blocks_per_quarter": "int:0:5"},
                                    overrides=["market/ai=glut"], trials=20, replications=100)
    optimum.params, optimum.fresh["difference"]

Every trial runs the same worlds (common random numbers); the best parameters are then
run next to the configured strategy on fresh worlds, and the paired difference reported.
"""

from sim.optimize.result import Optimum, render
from sim.optimize.search import evaluate, fresh_seed, optimize, prepare
from sim.optimize.space import Dimension, parse_dimension, parse_space, read_space_file

__all__ = ["Dimension", "Optimum", "evaluate", "fresh_seed", "optimize", "parse_dimension",
           "parse_space", "prepare", "read_space_file", "render"]
