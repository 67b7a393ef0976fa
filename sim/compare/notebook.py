"""Comparing in-memory results in a notebook: the tables and the figures, nothing written.

`compare_results(result_a, result_b, ...)` (also `sim.compare(result_a, ...)`) reads
`sim.Result`s as `hashpivot-compare` reads run directories, and returns a `Notebook`
with the same per-strategy table as comparison.csv, the paired differences, the verdict
and the report's figures as open matplotlib Figures. It writes no file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from omegaconf import OmegaConf

from sim.arguments import names_listed
from sim.compare.analysis import Analysis
from sim.compare.load import Run, RunSet, check_metric, checked_robustness, runset_of
from sim.compare.pipeline import analyse_runset, draw_financing, draw_named
from sim.compare.verdict import robust_choice, verdict
from sim.compare.workbook import PAIRED, yearly_cash
from sim.errors import UserError
from sim.result import Result
from sim.rundir import run_info


@dataclass(eq=False)
class Notebook:
    """An in-memory comparison: `.table`, `.paired`, `.figures` (name -> Figure), `.verdict`."""

    analysis: Analysis
    runset: RunSet
    verdict: str
    figures: dict[str, Figure] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """Return the per-(scenario, strategy) table, as comparison.csv holds it."""
        return self.analysis.table

    @property
    def paired(self) -> pd.DataFrame:
        """Return each strategy's difference from its baseline (paired on shared worlds)."""
        table = self.analysis.table
        return table.loc[table["diff_mean"].notna(), [c for c in PAIRED if c in table]]

    @property
    def replications(self) -> pd.DataFrame:
        """Return the per-replication summary of every strategy compared, labelled."""
        return self.runset.summary

    @property
    def cash_flow_yearly(self) -> pd.DataFrame:
        """Return the yearly net cash flow before debt, tax and the terminal value per
        strategy: mean, P5, P50, P95 over the worlds."""
        return yearly_cash(self.runset)

    @property
    def valued_differently(self) -> list[str]:
        """Return the sentence, if any, naming the valuation settings the results differ in
        (their NPVs do not compare; the verdict says it after its headline)."""
        return self.analysis.valued_differently

    @property
    def best(self) -> str | None:
        """Return the recommended strategy: the best, or the least-regret one across scenarios."""
        selections = self.analysis.selections
        if len(selections) == 1:
            return next(iter(selections.values())).best
        return robust_choice(self.analysis.regret)

    def _repr_markdown_(self) -> str:
        return "\n\n".join(self.verdict.splitlines())

    def __repr__(self) -> str:
        return f"Notebook(best={self.best!r}, figures={list(self.figures)})"


def run_of(result: Result, name: str) -> Run:
    """Return `result` as a Run named `name` (what a run directory holding it would read as)."""
    if not isinstance(result, Result):
        raise UserError(f"{name}: a sim.Result is needed (from sim.run or sim.load), not "
                        f"{type(result).__name__}")
    if result.summary is None or result.summary.empty:
        raise UserError(f"{name}: the result holds no replications")
    info = {**run_info(result.config, "complete", result.info.get("started"),
                       **result.recorded_info()), **result.info}
    summary = result.summary.copy()
    summary["strategy"] = summary["strategy"].astype(str)
    tables = {}
    for table in ("cashflows", "timeline", "worlds", "world_monthly"):
        frame = getattr(result, table, None)
        if frame is not None and len(frame.columns):
            tables[table] = frame  # not copied: the comparison only reads it
    robustness = checked_robustness(getattr(result, "robustness", None), f"{name}.robustness")
    return Run(path=Path(name), info=info, config=OmegaConf.to_container(result.config,
                                                                         resolve=True),
               overrides=[], summary=summary, robustness=robustness, **tables)


def compare_results(*results: Result, names: list[str] | None = None, baseline: str | None = None,
                    metric: str = "npv_usd", confidence: float = 0.95, delta: float | None = None,
                    strategies: list[str] | None = None, figures: bool = True) -> Notebook:
    """Return the Notebook comparison of in-memory `results`, writing nothing.

    The options are `compare_runs`'s. Results on the same worlds (same seed and market)
    pair replication by replication. A strategy that appears in several results on
    other worlds is labelled with the result's name: `names` (default result_1,
    result_2, ...). `figures=False` skips drawing.
    """
    if not results:
        raise UserError("no result given")
    if isinstance(strategies, str):  # "a,b" as on the command line, not its characters
        strategies = names_listed(strategies)
    if isinstance(names, str):
        raise UserError(f"names={names!r}: a list of names, one per result")
    if (isinstance(confidence, (str, bool)) or not isinstance(confidence, (int, float))
            or not 0 < confidence < 1):
        raise UserError(f"confidence={confidence!r}: a number between 0 and 1, e.g. 0.95")
    if delta is not None and (isinstance(delta, (str, bool)) or not isinstance(delta, (int, float))
                              or not 0 < delta < float("inf")):
        raise UserError(f"delta={delta!r}: an indifference zone > 0 in the metric's units "
                        "(e.g. 5e6 for $5M of NPV), or None for 1% of the largest mean")
    names = list(names) if names is not None else [f"result_{i + 1}" for i in range(len(results))]
    if len(names) != len(results) or len(set(names)) != len(names):
        raise UserError(f"names: {len(results)} distinct names needed, one per result")
    runs = [run_of(result, name) for result, name in zip(results, names)]
    check_metric(runs, metric, held=True)
    runset, analysis = analyse_runset(runset_of(runs), metric, baseline, confidence, delta,
                                      strategies)
    drawn = {}
    if figures:
        drawn = {stem: figure for stem, _, figure in draw_named(analysis, runset, None)}
        financing = draw_financing(runset, None)
        if financing is not None:
            drawn.update({f"dscr_{i + 1}" if i else "dscr": figure
                          for i, (_, figure) in enumerate(financing.figures)})
        for figure in drawn.values():  # kept in .figures, not left open in pyplot: a notebook
            plt.close(figure)          # shows open figures at a cell's end, and they add up
    return Notebook(analysis=analysis, runset=runset,
                    verdict="\n".join(verdict(analysis, runset)), figures=drawn)
