"""A whole experiment: run the design points, then PRIM, the indices and the outputs."""

from __future__ import annotations

import time
from pathlib import Path

from sim.explore.analysis import (check_choices, check_columns, check_defined, discover, points_table,
                                  sensitivity, undefined_note, wide_intervals_note)
from sim.explore.report import Findings, write_outputs
from sim.explore.run import Experiment, run_in_memory, run_points
from sim.explore.words import sentence
from sim.optimize.search import summary_columns


def findings(experiment: Experiment, rows, metric: str = "npv_usd", against: str = "stay_mining",
             threshold: float = 0.0, features: bool = False) -> Findings:
    """Return the Findings of an experiment's `rows`: points table, PRIM per strategy, indices,
    sentences; raise UserError if `metric` is undefined in most of a strategy's worlds at a point."""
    check_columns(rows, metric, against, experiment.strategies)
    check_defined(rows, metric, against, experiment.strategies)
    points = points_table(rows, experiment.inputs, metric, against)
    scenarios = [discover(rows, experiment.inputs, metric, s, against, threshold, features)
                 for s in experiment.strategies if s != against]
    units = {r.column: r.unit for r in experiment.ranges}
    indices = sensitivity(experiment, points, metric, against)
    return Findings(points, scenarios, indices,
                    [*(sentence(s, units) for s in scenarios),
                     *undefined_note(rows, metric, against, experiment.strategies),
                     *wide_intervals_note(indices, experiment.design.base_points)], units)


def explore(experiment: Experiment, out_dir=None, metric: str = "npv_usd", against: str = "stay_mining",
            threshold: float = 0.0, features: bool = False, xlsx: bool = False,
            progress: bool = False) -> Findings:
    """Return the Findings of `experiment`, run (resuming in `out_dir`, where the outputs are written)."""
    started = time.perf_counter()
    # what can be checked is, before any point runs: the summary's columns from a one-world probe;
    # whether the metric is defined in most worlds only once they ran (points/ keeps them)
    check_choices(metric, against, experiment.strategies, summary_columns(experiment.cfg))
    if out_dir is None:
        rows = run_in_memory(experiment)
    else:
        rows = run_points(experiment, out_dir, progress)
    found = findings(experiment, rows, metric, against, threshold, features)
    if out_dir is not None:
        write_outputs(Path(out_dir), experiment, found, metric, time.perf_counter() - started, xlsx)
    return found
