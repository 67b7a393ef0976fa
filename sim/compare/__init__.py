"""Comparing strategies: outcome distributions across runs, paired on shared worlds.

`compare_runs` reads finished run directories and writes comparison.csv, report.html
and plots/*.png; `main` is the `hashpivot-compare` command line; `stats` holds the pure
statistics (including `select_best`, which `run.until_confident` calls between chunks).
"""

from sim.compare import stats
from sim.compare.cli import main
from sim.compare.pipeline import Comparison, compare_runs
from sim.selection import Selection, required_replications, select_best

__all__ = ["Comparison", "Selection", "compare_runs", "main", "required_replications",
           "select_best", "stats"]
