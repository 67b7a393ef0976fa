"""hashpivot: should a Bitcoin miner convert its sites to AI hosting, how fast, and when?

The public API::

    cfg = sim.compose(["strategy=phased", "run.replications=200"])
    world = sim.sample_world(cfg, replication=0)
    result = sim.run(cfg)
    result.save(path); sim.load(path)
    comparison = sim.compare(result)        # in memory: .table, .paired, .figures, .verdict
"""

import importlib
import logging

from sim._version import __version__
from sim.config import compose
from sim.montecarlo import run
from sim.result import Result, load
from sim.world import World, sample_world

__all__ = ["__version__", "compose", "sample_world", "run", "load", "compare", "World", "Result"]

# The sim.* loggers write to the handlers an application sets up (the command line: Hydra's
# job log, <run dir>/hashpivot.log); without any, nothing, not even warnings, reaches stderr
# twice (the lines that matter are printed there already).
logging.getLogger("sim").addHandler(logging.NullHandler())


def __getattr__(name: str):
    """Return `sim.compare` on first use: it loads scipy.stats and matplotlib, which a
    simulation (and every worker process) does without."""
    if name == "compare":
        return importlib.import_module("sim.compare")
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
