"""Comparing strategies: outcome distributions across runs, paired on shared worlds.

`compare_runs` reads finished run directories and writes comparison.csv, report.html
and plots/*.png; `main` is the `hashpivot-compare` command line; `stats` holds the pure
statistics (including `select_by_mean`, the report's selection of the best strategy over
every replication, and `select_best`, the sequential one `run.until_confident` calls
between chunks).
In a notebook, the module itself is callable: `sim.compare(result_a, result_b, ...)` is
`compare_results`, which compares in-memory `sim.Result`s and writes nothing.
"""

import sys
import types

from sim.compare import stats
from sim.compare.cli import main
from sim.compare.notebook import Notebook, compare_results
from sim.compare.pipeline import Comparison, compare_runs
from sim.selection import Selection, required_replications, select_best, select_by_mean

__all__ = ["Comparison", "Notebook", "Selection", "compare_results", "compare_runs", "main",
           "required_replications", "select_best", "select_by_mean", "stats"]


class _CallableModule(types.ModuleType):
    """This module, callable: `sim.compare(...)` calls `compare_results(...)`."""

    def __call__(self, *results, **options) -> Notebook:
        """Return `compare_results(*results, **options)`: the in-memory comparison."""
        return compare_results(*results, **options)


sys.modules[__name__].__class__ = _CallableModule
