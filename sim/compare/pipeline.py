"""From run directories to a written comparison: tables, plots and the report.

`compare_runs` reads the runs, analyses them, draws the plots and writes
`comparison.csv` (one row per scenario and strategy), the supporting tables
(`dominance.csv`, `regret.csv`, `incremental_cashflows.csv`, `sensitivity.csv`),
`plots/*.png` and, last of all, `report.html` (with a Financing section and DSCR fans,
`plots/dscr*.png`, when the runs carry financing). An earlier comparison's report, tables
and plots in the same folder are removed first, so what is there is one comparison's. Each
file is written under a temporary name and renamed into place, so a crash never leaves a
report that looks complete.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from sim.arguments import check_output_dir
from sim.compare import finance, plots
from sim.compare.analysis import Analysis, analyse
from sim.compare.drawing import Drawing
from sim.compare.load import RunSet, load_runs
from sim.compare.report import FINANCING, render
from sim.compare.verdict import robust_choice, verdict
from sim.compare.workbook import workbook_path, write_workbook
from sim.selection import Selection
from sim.errors import UserError
from sim.rundir import COMPARISON_CSV, PLOTS_DIR, REPORT_HTML, RunDir, write_atomic
from sim.rundir.comparison_files import remove_comparison

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Comparison:
    """A finished comparison: its tables, the selection per scenario and the verdict."""

    analysis: Analysis
    runset: RunSet
    verdict: str
    out: Path
    plots: list[Path] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        """Return the per-(scenario, strategy) table written as comparison.csv."""
        return self.analysis.table

    @property
    def selections(self) -> dict[str, Selection]:
        """Return the Selection of the best strategy in each scenario."""
        return self.analysis.selections

    @property
    def left_out(self) -> list[str]:
        """Return what was read but not compared, one sentence each ("Left out: ...")."""
        return self.analysis.left_out

    @property
    def valued_differently(self) -> list[str]:
        """Return the sentence, if any, naming the valuation settings the runs differ in
        (their NPVs do not compare; the verdict says it after its headline)."""
        return self.analysis.valued_differently

    @property
    def best(self) -> str | None:
        """Return the recommended strategy: the best, or the least-regret one across
        scenarios."""
        if len(self.selections) == 1:
            return next(iter(self.selections.values())).best
        return robust_choice(self.analysis.regret)


def compare_runs(run_dirs, out=None, baseline: str | None = None,
                 metric: str = "npv_usd", confidence: float = 0.95,
                 delta: float | None = None, strategies: list[str] | None = None,
                 xlsx: str | os.PathLike | None = None, results: dict | None = None,
                 finished_only: bool = False) -> Comparison:
    """Return the Comparison of `run_dirs`, written to `out` (raise UserError on bad input).

    `baseline` defaults to stay_mining, or to the first strategy when stay_mining did
    not run; `out` defaults to the run directory when one is given, else the current one.
    `delta` is the indifference zone of the selection, in the metric's units (default:
    the runs' `run.indifference_usd` for a USD metric, else 1% of the largest mean).
    `strategies`, if given, restricts the comparison to those strategies (names or labels).
    `xlsx`, if given, also writes the tables as one workbook: at that path, or at
    `<out>/comparison.xlsx` when it is "" (see `sim.compare.workbook`). `results`
    ({run directory: Result}) are runs still in memory, whose tables are not read back.
    An unfinished run (a sweep's crashed or interrupted job) is refused, or with
    `finished_only` left out and named in the report and `Comparison.left_out`.
    """
    if delta is not None and not (delta > 0 and math.isfinite(delta)):
        raise UserError(f"the indifference zone (--indifference={delta}) must be a finite "
                        f"number > 0, in the metric's units")
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    if not run_dirs:
        raise UserError("no run directory given")
    started = time.perf_counter()
    runset, analysis = analyse_runset(load_runs(run_dirs, metric, results, finished_only), metric, baseline,
                                      confidence, delta, strategies)
    log.info("comparison of %d run(s) by %s analysed in %.2f s", len(runset.runs), metric,
             time.perf_counter() - started)
    if out is None:
        out = Path(run_dirs[0]) if len(run_dirs) == 1 else Path.cwd()
    out, key = Path(out), "--out"
    book = workbook_path(out, xlsx) if xlsx is not None else None
    check_output_dir(out, key)  # before anything is written, so nothing is half-written
    check_not_another_run(out, run_dirs, key)
    if book is not None and book.parent.absolute() != out.absolute():
        check_output_dir(book.parent, "--xlsx's folder")  # and the workbook's, written last
    try:
        (out / PLOTS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"{key}={out}: cannot write there ({error.strerror})") from None
    try:
        remove_comparison(out)
    except OSError as error:
        raise UserError(f"{key}={out}: cannot write there ({error.strerror})") from None
    _write_csv(analysis.table, out / COMPARISON_CSV)
    for name, frame in (("dominance", analysis.dominance), ("incremental_cashflows",
                        analysis.incremental), ("sensitivity", analysis.sensitivity)):
        if not frame.empty:
            _write_csv(frame, out / f"{name}.csv")
    _write_csv(analysis.regret.reset_index(names="strategy"), out / "regret.csv")
    started = time.perf_counter()
    drawing = Drawing()  # the plots are drawn side by side, and all written before the report
    try:
        figures = draw(analysis, runset, out / PLOTS_DIR, drawing)
        financing = draw_financing(runset, out / PLOTS_DIR, drawing)
        lines = verdict(analysis, runset)
        drawing.finish()
    except OSError as error:  # a full disk: the report is not written, never half-written
        raise UserError(f"{out / PLOTS_DIR}: a plot cannot be written ({error.strerror or error}); "
                        "the report was not written") from None
    _write_text(render(analysis, runset, figures, lines, financing), out / REPORT_HTML)
    drawn = figures + (financing.figures if financing is not None else [])
    log.info("report and %d plot(s) written to %s in %.2f s", len(drawn), out,
             time.perf_counter() - started)
    if book is not None:
        started = time.perf_counter()
        write_workbook(analysis, runset, book)
        log.info("workbook %s written in %.2f s", book, time.perf_counter() - started)
    return Comparison(analysis=analysis, runset=runset, verdict="\n".join(lines), out=out,
                      plots=[path for _, path in drawn])


def check_not_another_run(out: Path, run_dirs, key: str) -> None:
    """Raise UserError if `out` is the directory of a run not compared: writing there would
    replace that run's own report.html and comparison.csv with another comparison's."""
    if not RunDir(out).is_run():
        return
    compared = {Path(d).resolve() for d in run_dirs}
    if out.resolve() not in compared:
        raise UserError(f"{key}={out}: is the directory of another run, not one compared (its "
                        "report.html and comparison.csv would be replaced); choose another folder")


def analyse_runset(runset: RunSet, metric: str = "npv_usd", baseline: str | None = None,
                   confidence: float = 0.95, delta: float | None = None,
                   strategies: list[str] | None = None) -> tuple[RunSet, Analysis]:
    """Return (the runs kept, their Analysis): `runset` restricted to `strategies`, and
    `delta` defaulting to the runs' `run.indifference_usd` for a USD metric."""
    if strategies:
        runset = runset.only(strategies)
    runset = runset.shared()  # what the analysis, the financing figures and the plots all use
    if delta is None and metric.endswith("_usd"):
        delta = (runset.runs[0].config.get("run") or {}).get("indifference_usd")
    return runset, analyse(runset, metric, baseline, confidence, delta)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    _write_text(frame.to_csv(index=False), path)


def _write_text(text: str, path: Path) -> None:
    try:
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as error:
        raise UserError(f"{path}: cannot be written ({error.strerror or error})") from None


def _at(folder: Path | None, name: str) -> Path | None:
    """Return the file `name`.png in `folder`, or None to draw in memory."""
    return None if folder is None else folder / f"{name}.png"


def draw(analysis: Analysis, runset: RunSet, folder: Path | None,
         drawing: Drawing | None = None) -> list[tuple[str, Path]]:
    """Return (caption, path) of every plot drawn into `folder` (caption, Figure when None);
    see `draw_named` for `drawing`."""
    return [(caption, drawn) for _, caption, drawn in draw_named(analysis, runset, folder, drawing)]


def draw_named(analysis: Analysis, runset: RunSet, folder: Path | None,
               drawing: Drawing | None = None) -> list[tuple[str, str, Path]]:
    """Return (name, caption, path) of every plot drawn into `folder`, the name being the
    file's stem (`ecdf`, `tornado`, ...); with `folder=None` the Figure replaces the path.
    With a `drawing`, the plots are queued on it, and written by its `finish`."""
    metric, many = analysis.metric, len(runset.scenarios) > 1
    name = plots.metric_name(metric)
    summary, figures = runset.summary, []
    timeline = _timeline_means(runset)
    drawn = _drawer(drawing)

    def add(stem: str, caption: str, plot, *args) -> None:  # plot(*args, path): drawn now or later,
        figures.append((stem, caption, drawn(_at(folder, stem), partial(plot, *args))))  # so bound now

    for scenario in runset.scenarios:
        end = f"_{plots.slug(scenario)}" if many else ""
        where = f" — scenario {scenario}" if many else ""
        here = summary[summary["scenario"] == scenario]
        values = {label: part[metric].to_numpy(float)
                  for label, part in here.groupby("label", sort=False)}
        add(f"ecdf{end}", f"ECDF of {name} per strategy{where}", plots.ecdf,
            values, metric, f"Distribution of {name}{where}")
        add(f"box{end}", f"Box plots of {name}{where}", plots.boxes,
            values, metric, f"{name} per strategy{where}")
        table = analysis.table[analysis.table["scenario"] == scenario].set_index("strategy")
        diffs = {f"{label} − {table.at[label, 'baseline']}":
                 analysis.differences[(scenario, label)] for label in values
                 if (scenario, label) in analysis.differences
                 and np.isfinite(analysis.differences[(scenario, label)]).any()}
        if diffs:
            add(f"paired_difference{end}", f"Paired differences against the baseline{where}",
                plots.differences, diffs, metric, f"Paired differences of {name}{where}")
        sens = analysis.sensitivity[analysis.sensitivity["scenario"] == scenario]
        if not sens.empty:
            add(f"tornado{end}", f"What drives the difference against the baseline{where}",
                plots.tornado, sens, f"What drives the {name} difference{where}")
        cash = {label: analysis.cash[(scenario, label)] for label in values
                if (scenario, label) in analysis.cash}
        if cash:
            add(f"cumulative_cash{end}", f"Cumulative net cash before debt, tax and the "
                f"terminal value, P5–P95 and median{where}", plots.cash_fans, cash,
                f"Cumulative net cash before debt, tax and terminal value (undiscounted){where}")
        states = {label: timeline[(scenario, label)] for label in values
                  if (scenario, label) in timeline}
        if states:
            add(f"mw_by_state{end}", f"Mean MW by state over time{where}",
                plots.mw_states, states, f"Capacity by state{where}")
    if many:
        add("regret", "Regret per strategy and scenario",
            plots.regret_heatmap, analysis.regret, metric)
    return figures + _world_figures(runset, folder, drawn)


def _drawer(drawing: Drawing | None):
    """Return what draws a figure `make` into a path: `drawing.add`, or `make(path)` at once."""
    return drawing.add if drawing is not None else (lambda path, make: make(path))


def draw_financing(runset: RunSet, folder: Path | None,
                   drawing: Drawing | None = None) -> finance.Financing | None:
    """Return the report's financing section, its DSCR fans drawn into `folder` (as
    Figures when None; queued on `drawing` if given), or None when no run carries financing."""
    if not finance.has_financing(runset):
        return None
    many, figures, notes = len(runset.scenarios) > 1, [], []
    drawn = _drawer(drawing)
    for scenario in runset.scenarios:
        end = f"_{plots.slug(scenario)}" if many else ""
        where = f" — scenario {scenario}" if many else ""
        paths, undebted = finance.dscr_paths(runset, scenario)
        if paths:
            covenant = {label: finance.covenant_dscr(runset.run_of(scenario, label))
                        for label in paths}
            labels = runset.summary.loc[runset.summary["scenario"] == scenario, "label"]
            places = {label: k for k, label in enumerate(dict.fromkeys(labels))}
            figures.append((f"Trailing-12-month DSCR over time: median, P25–P75 and "
                            f"P5–P95{where}", drawn(_at(folder, f"dscr{end}"), partial(
                                plots.dscr_fans, paths, covenant,
                                f"Debt service cover ratio{where}", places=places))))
        notes += finance.no_debt_notes(undebted, bool(paths), where)
    if not any(finance.has_dscr(run) for run in runset.runs):
        notes.append("The runs kept no monthly DSCR (run.detail=summary, or made before "
                     "financing), so the DSCR over time is not drawn.")
    headings = {column: heading for column, (heading, _) in FINANCING.items()}  # the report's
    return finance.Financing(terms=finance.terms_table(runset),
                             table=finance.strategy_table(runset), figures=figures,
                             notes=finance.rarely_defined_notes(runset, headings) + notes)


def _timeline_means(runset: RunSet) -> dict[tuple[str, str], pd.DataFrame]:
    """Return each strategy's mean MW in each state by month (they add up to the site's MW),
    averaged in each run's own timeline (not copied: a labelled copy of every row took
    more memory than the rest of the comparison)."""
    means, found = {}, {}
    for (index, strategy), label in runset.labels.items():
        frame = runset.runs[index].timeline
        if frame is None or frame.empty:
            continue
        if index not in found:
            columns = [c for c in plots.MW_STATES if c in frame]
            found[index] = frame.groupby(["strategy", "month"], observed=True)[columns].mean()
        if strategy in found[index].index.get_level_values("strategy"):
            scenario = runset.summary.loc[runset.summary["run"] == index, "scenario"].iloc[0]
            means[(scenario, label)] = found[index].xs(strategy, level="strategy")
    return means


def _world_figures(runset: RunSet, folder: Path | None, drawn) -> list[tuple[str, str, Path]]:
    worlds = {}
    for index, run in enumerate(runset.runs):
        compared = runset.summary.loc[runset.summary["run"] == index, "scenario"]
        if compared.empty:  # --strategies kept none of this run's strategies
            continue
        if run.world_monthly is not None and not run.world_monthly.empty:
            worlds.setdefault(run.world_key, (run, []))[1].append(compared.iloc[0])
    figures = []
    for i, (run, scenarios) in enumerate(worlds.values()):
        names = ", ".join(dict.fromkeys(scenarios))
        title = f"Sampled worlds — scenario {names}, seed {run.info.get('seed', '?')}"
        end = "" if len(worlds) == 1 else f"_{i + 1}_{plots.slug(names)}"
        figures.append((f"world{end}", title, drawn(_at(folder, f"world{end}"), partial(
            plots.world_fans, run.world_monthly, title))))
    return figures
