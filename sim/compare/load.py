"""Run directories read back for comparison: which strategies ran, on which worlds.

A hashpivot run directory holds one Monte Carlo run: `summary.parquet` (one row per
strategy and replication), `cashflows.parquet` and `timeline.parquet` (absent when the
run kept only its summary), the sampled world's features (`worlds.parquet`,
`world_monthly.parquet`), `run.json`, Hydra's `.hydra/` and, when the command line wrote
it, `robustness.csv` (the verdict under other valuation assumptions). A Hydra multirun leaves one
such directory per job under a sweep directory; passing the sweep directory expands it.

Across runs, a *scenario* is a set of sampled worlds: the runs whose `run.json` carries
the same `world_key` (the market, seed, start and horizon they sampled), so a strategy
under other worlds is never ranked against itself. It is named by its runs' overrides
that set its worlds apart (`market/ai=glut`, `run.seed=2`, `asof=2026-01-12`), or
"default". A strategy's *label* is its name, plus the other overrides that set it apart
from runs of the same name (`phased [blocks_per_quarter=2]`). Runs of one scenario share
worlds, so their outcomes pair replication by replication. Replication k's world depends
only on the seed and k, so a run of 1 replication holds the first world of a run of 3 on the same
seed: where a strategy ran in both with the same numbers on the shared worlds, the run
with more worlds is kept and the other left out (and said so).

Only finished runs are compared: a run whose `run.json` is missing or says anything but
`complete`, or that has no summary, is refused, naming it and why; with `finished_only`
it is left out instead, and the RunSet's `left_out` says so (the report and the terminal
repeat it). A sweep's job folders are all read, so a crashed or interrupted job is never
silently missing from the comparison.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.arguments import ArgumentError
from sim.errors import UserError
from sim.compare.robustness import COLUMNS as ROBUSTNESS_COLUMNS
from sim.compare.scenarios import is_scenario, scenario_keys, scenario_names, split_override
from sim.rundir import ROBUSTNESS_CSV, RunDir, is_outcome_neutral, read_sweep, status_said
from sim.rundir import strategy_options as config_strategy_options

REQUIRED_COLUMNS = ("strategy", "replication")
#: The tables besides the summary that a comparison reads (a subset of sim.rundir.TABLES).
READ_TABLES = ("cashflows", "timeline", "worlds", "world_monthly")


@dataclass(eq=False)
class Run:
    """One run directory: its outcomes, its sampled world and how it was configured."""

    path: Path
    info: dict
    config: dict
    overrides: list[str]
    summary: pd.DataFrame
    cashflows: pd.DataFrame | None = None
    timeline: pd.DataFrame | None = None
    worlds: pd.DataFrame | None = None
    world_monthly: pd.DataFrame | None = None
    robustness: pd.DataFrame | None = None

    @property
    def world_key(self) -> str:
        """Return the key that is equal for runs that sampled the same worlds."""
        key = self.info.get("world_key")
        return str(key) if key else f"run:{self.path}"


@dataclass(eq=False)
class RunSet:
    """Several runs, labelled: one summary table with scenario, label and run columns."""

    runs: list[Run]
    summary: pd.DataFrame
    labels: dict[tuple[int, str], str]
    scenarios: list[str]
    notes: list[str] = field(default_factory=list)
    #: Sentences naming what was read but is not compared (an unfinished job, a run whose
    #: worlds another run holds), each starting "Left out:".
    left_out: list[str] = field(default_factory=list)
    #: The strategies that ran but were not selected (`only`), in order.
    unselected: list[str] = field(default_factory=list)

    def only(self, strategies: list[str]) -> RunSet:
        """Return the runs restricted to the named strategies (by name or label); raise
        UserError naming what ran if one is not there or none is left."""
        ran = list(dict.fromkeys([*self.summary["strategy"], *self.summary["label"]]))
        missing = [name for name in strategies if name not in ran]
        if missing:
            shown = ", ".join(dict.fromkeys(self.summary["label"]))
            raise ArgumentError(lambda name: f"{name('strategies', missing)}: not among the "
                                             f"strategies that ran ({shown})")
        kept = self.summary["strategy"].isin(strategies) | self.summary["label"].isin(strategies)
        labels = {key: label for key, label in self.labels.items()
                  if key[1] in strategies or label in strategies}
        unselected = list(dict.fromkeys(self.summary.loc[~kept, "label"]))
        return dataclasses.replace(self, summary=self.summary[kept].reset_index(drop=True),
                                   labels=labels, unselected=unselected)

    def shared(self) -> RunSet:
        """Return the runs cut, scenario by scenario, to the replications every strategy ran,
        with a note where that leaves some out (itself where none is).

        Runs of different sizes compared in one scenario: the ranking pairs replications by
        number, so it can use only those every strategy has; the table, the regret, the
        headline's means, the financing figures and the plots are taken over the same ones,
        or the verdict would recommend a strategy whose mean in the table is lower than
        another's. Every table of a run is cut (a run belongs to one scenario)."""
        keep, notes, many = {}, [], len(self.scenarios) > 1
        for scenario in self.scenarios:
            here = self.summary[self.summary["scenario"] == scenario]
            ran = here.groupby("label", sort=False)["replication"].agg(lambda r: frozenset(r))
            common = frozenset.intersection(*ran) if len(ran) else frozenset()
            if len(set(ran)) < 2 or not common:
                continue
            counts = ", ".join(f"{label} {len(reps):,}" for label, reps in ran.items())
            where = f"In scenario '{scenario}', the" if many else "The"
            notes.append(f"{where} strategies ran different replications ({counts}): each is "
                         f"described, compared and ranked on the {len(common):,} that all of "
                         "them ran; rerun them with the same run.replications to use them all.")
            keep.update(dict.fromkeys(map(int, here["run"].unique()), common))
        if not keep:
            return self
        runs = [_cut(run, keep[index]) if index in keep else run
                for index, run in enumerate(self.runs)]
        rows = self.summary
        kept = [index not in keep or replication in keep[index]
                for index, replication in zip(rows["run"], rows["replication"])]
        return dataclasses.replace(self, runs=runs, summary=rows[kept].reset_index(drop=True),
                                   notes=[*self.notes, *notes])

    def table(self, name: str) -> pd.DataFrame | None:
        """Return `cashflows` or `timeline` of every run, labelled, or None if none kept it."""
        parts = []
        for (index, strategy), label in self.labels.items():
            frame = getattr(self.runs[index], name)
            if frame is None:
                continue
            part = frame[frame["strategy"] == strategy].copy()
            part["label"] = label
            part["scenario"] = self.summary.loc[self.summary["run"] == index,
                                                "scenario"].iloc[0]
            part["run"] = index
            parts.append(part)
        return pd.concat(parts, ignore_index=True) if parts else None

    def run_of(self, scenario: str, label: str) -> Run:
        """Return the run that produced `label` in `scenario`."""
        rows = self.summary[(self.summary["scenario"] == scenario)
                            & (self.summary["label"] == label)]
        return self.runs[int(rows["run"].iloc[0])]


def _cut(run: Run, replications: frozenset) -> Run:
    """Return `run` with every table cut to `replications`."""
    def cut(frame):
        return None if frame is None else frame[frame["replication"].isin(replications)]
    return dataclasses.replace(run, summary=cut(run.summary), cashflows=cut(run.cashflows),
                               timeline=cut(run.timeline), worlds=cut(run.worlds),
                               world_monthly=cut(run.world_monthly))


def find_runs(paths) -> list[Path]:
    """Return the run directories named by `paths`, sweep directories expanded to every
    numbered job folder, finished or not (see `unfinished`)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise UserError(f"{path}: no such directory")
        if not path.is_dir():
            raise UserError(f"{path}: not a directory")
        if RunDir(path).is_run():
            found.append(path)
            continue
        jobs = [p for p in path.iterdir() if p.is_dir() and p.name.isdigit()]
        # a job the sweep records (sweep.json) but never started: unfinished, as it is
        jobs += [path / str(k) for k in range(len(read_sweep(path) or ()))
                 if not (path / str(k)).is_dir()]
        jobs.sort(key=lambda p: int(p.name))
        if not jobs:
            raise UserError(f"{path} is not a hashpivot run directory "
                            "(no summary.parquet or run.json, nor numbered job folders)")
        found.extend(jobs)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [Path(p) for p in unique]


def unfinished(path: Path) -> str | None:
    """Return why run directory `path` holds no finished run, or None if it does."""
    run_dir = RunDir(path)
    info = run_dir.read_info()
    if info is None:
        return ("no run.json: the job never started its run, or stopped before writing it"
                if not run_dir.table_path("summary").is_file() else "no run.json")
    if info.get("status") != "complete":
        return status_said(path, info)
    if not run_dir.table_path("summary").is_file():
        return "no summary.parquet, although run.json says 'complete'"
    return None


def _check_finished(paths: list[Path], finished_only: bool,
                    held: dict) -> tuple[list[Path], list[str]]:
    """Return (the finished runs among `paths`, a "Left out:" sentence per unfinished one);
    raise UserError naming the unfinished ones unless `finished_only`."""
    why = {path: unfinished(path) for path in paths if path.resolve() not in held}
    bad = [(path, reason) for path, reason in why.items() if reason]
    listed = "; ".join(f"{path} ({reason})" for path, reason in bad)
    if bad and not finished_only:
        raise UserError(f"not finished, so not compared: {listed}; rerun "
                        f"{'it' if len(bad) == 1 else 'them'} to completion (the same command "
                        "resumes), or compare the finished runs with --finished-only")
    finished = [path for path in paths if not why.get(path)]
    if not finished:
        raise UserError(f"no finished run to compare: {listed}")
    return finished, [f"Left out: {path}, not finished ({reason})." for path, reason in bad]


def read_run(path: Path, result=None) -> Run:
    """Return the run stored in `path`; refuse one that is foreign or not complete.

    `result`, the run's Result still in memory (the command line that just saved it),
    stands in for its tables, which are then not read back. The tables' `strategy`
    stays as stored (categorical): the comparison selects by label, never copies them.
    """
    run_dir = RunDir(path)
    info = run_dir.read_info()
    if info is None:
        raise UserError(f"{run_dir.path} is not a hashpivot run directory (no run.json)")
    if info.get("status") != "complete":
        raise UserError(f"{run_dir.path}: {status_said(run_dir.path, info)}; it may be "
                        "partial, so rerun it to completion before comparing (or leave it "
                        "out with --finished-only)")
    summary = run_dir.read_table("summary") if result is None else result.summary.copy()
    if summary is None:
        raise UserError(f"{run_dir.path} is not a hashpivot run directory (no summary.parquet)")
    missing = [c for c in REQUIRED_COLUMNS if c not in summary.columns]
    if missing:
        raise UserError(f"{run_dir.table_path('summary')}: missing column(s) {', '.join(missing)}")
    summary["strategy"] = summary["strategy"].astype(str)
    if result is None:
        tables = {name: run_dir.read_table(name) for name in READ_TABLES}
    else:
        tables = {name: getattr(result, name) for name in READ_TABLES}
        tables = {name: table if table is not None and len(table.columns) else None
                  for name, table in tables.items()}
    config = run_dir.read_config()
    return Run(path=run_dir.path, info=info, overrides=run_dir.overrides(), summary=summary,
               config={} if config is None else OmegaConf.to_container(config),
               robustness=read_robustness(run_dir.path), **tables)


def read_robustness(path: Path) -> pd.DataFrame | None:
    """Return the run's robustness.csv, or None if it has none; raise UserError if damaged."""
    return checked_robustness(RunDir(path).read_robustness(), Path(path) / ROBUSTNESS_CSV)


def checked_robustness(table: pd.DataFrame | None, where) -> pd.DataFrame | None:
    """Return a robustness table (None: none) once it has every column; raise UserError naming
    `where` (its file, or the Result that holds it) if it lacks one."""
    if table is None:
        return None
    missing = [c for c in ROBUSTNESS_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{where}: missing column(s) {', '.join(missing)}")
    return table


def run_name(run, runset: RunSet) -> str:
    """Return how the report names `run` among the runs compared: its folder, and where
    the runs span scenarios, its scenario first (a sweep's folders are numbers)."""
    if len(runset.scenarios) > 1:
        index = next(i for i, other in enumerate(runset.runs) if other is run)
        scenario = runset.summary.loc[runset.summary["run"] == index, "scenario"].iloc[0]
        return f"scenario '{scenario}', {run.path.name}"
    return run.path.name


def strategy_options(run: Run) -> dict[str, str]:
    """Return {label in summary: option name in the config} for the run's strategies."""
    return config_strategy_options(run.config)


def relevant_overrides(run: Run, option: str, scenario: frozenset = frozenset()) -> dict[str, str]:
    """Return the overrides of `run` that can change strategy `option`'s outcomes, but for
    those that name a scenario (the market, the seed, the keys in `scenario`)."""
    relevant = {}
    for key, value in map(split_override, run.overrides):
        if is_scenario(key) or key in scenario or key == "strategy" or is_outcome_neutral(key):
            continue
        if key.startswith("strategy.") and not key.startswith(f"strategy.{option}."):
            continue
        relevant[key] = value
    return relevant


def _config_value(config: dict, key: str) -> str:
    node = config
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return "default"
        node = node[part]
    return str(node)


def label_runs(runs: list[Run], scenarios: list[str]) -> tuple[dict[tuple[int, str], str], list[str]]:
    """Return ({(run index, strategy): label}, left out) with labels unique per scenario
    (`scenarios`: each run's, `scenario_names`); a run whose worlds another run holds is left
    out (see `_deduplicate`)."""
    entries = []  # (run index, strategy, option, relevant overrides)
    scenario = frozenset(scenario_keys(scenarios))
    for index, run in enumerate(runs):
        options = strategy_options(run)
        for strategy in dict.fromkeys(run.summary["strategy"]):
            option = options.get(strategy, strategy)
            entries.append((index, strategy, option, relevant_overrides(run, option, scenario)))
    labels = {}
    for strategy in dict.fromkeys(e[1] for e in entries):
        group = [e for e in entries if e[1] == strategy]
        keys = list(dict.fromkeys(k for e in group for k in e[3]))
        values = {k: [e[3].get(k, _config_value(runs[e[0]].config, k)) for e in group]
                  for k in keys}
        differing = [k for k in keys if len(set(values[k])) > 1]
        for i, (index, _, option, _) in enumerate(group):
            shown = [f"{_short(k, option)}={values[k][i]}" for k in differing]
            labels[(index, strategy)] = strategy + (f" [{', '.join(shown)}]" if shown else "")
    return _deduplicate(runs, labels, scenarios)


def _short(key: str, option: str) -> str:
    prefix = f"strategy.{option}."
    return key[len(prefix):] if key.startswith(prefix) else key


def _deduplicate(runs, labels, scenarios):
    """Return (labels, left out): one run per (scenario, label) where runs hold the same
    worlds, the run with the most of them kept; runs that only share a seed and market
    but differ on shared worlds keep each its own label, marked by its folder."""
    left_out, kept, seen = {}, {}, {}
    scenario = dict(enumerate(scenarios))
    for (index, strategy), label in labels.items():
        seen.setdefault((scenario[index], label), []).append((index, strategy))
    for (_, label), members in seen.items():
        worlds = {runs[i].world_key for i, _ in members}
        rows = {m: _rows(runs[m[0]], m[1]) for m in members}
        # the largest; of those alike, one that kept its monthly detail, then the first
        largest = max(members, key=lambda m: (len(rows[m]), runs[m[0]].cashflows is not None))
        if len(members) == 1 or (len(worlds) == 1 and all(
                _holds(rows[largest], rows[m]) for m in members)):
            kept[largest] = label
            for index, strategy in members:
                if (index, strategy) != largest:
                    why = (len(rows[(index, strategy)]), len(rows[largest]))
                    left_out.setdefault((index, largest[0], why), []).append(label)
        else:
            for index, strategy in members:
                kept[(index, strategy)] = f"{label} [{runs[index].path.name}]"
    notes = []
    for (index, other, (n, total)), names in left_out.items():
        which = (f"it ran on the same {total} worlds as {runs[other].path}, which is kept"
                 if n == total else f"its {n} world{'s are' if n != 1 else ' is'} the first "
                 f"{n} of the {total} worlds of {runs[other].path}, which is kept")
        notes.append(f"Left out: {runs[index].path} for {', '.join(names)}: {which}.")
    return kept, notes


def _rows(run: Run, strategy: str) -> pd.DataFrame:
    """Return the run's summary rows of `strategy`, indexed by replication."""
    return run.summary[run.summary["strategy"] == strategy].set_index("replication")


def _holds(large: pd.DataFrame, small: pd.DataFrame) -> bool:
    """Return whether summary rows `large` hold `small`: its every replication, with the
    same numbers (a run's first worlds, as a run of fewer replications samples them)."""
    if not small.index.isin(large.index).all():
        return False
    numbers = [c for c in small.columns if c in large.columns
               and pd.api.types.is_numeric_dtype(small[c])]
    a = large.loc[small.index, numbers].to_numpy(float)
    b = small[numbers].to_numpy(float)
    return bool(np.allclose(a, b, rtol=1e-9, atol=0.0, equal_nan=True))


def load_runs(paths, metric: str = "npv_usd", results: dict | None = None,
              finished_only: bool = False) -> RunSet:
    """Return the labelled runs named by `paths`; raise UserError on bad input.

    `results` ({run directory: Result}) holds runs still in memory: their tables are
    taken from there instead of read back (see `read_run`). An unfinished run (a sweep's
    crashed job) is refused, or with `finished_only` left out and named in `left_out`.
    """
    held = {Path(path).resolve(): result for path, result in (results or {}).items()}
    finished, left_out = _check_finished(find_runs(paths), finished_only, held)
    runs = [read_run(p, held.get(Path(p).resolve())) for p in finished]
    check_metric(runs, metric)
    runset = runset_of(runs)
    runset.left_out[:0] = left_out
    return runset


def check_metric(runs: list[Run], metric: str, held: bool = False) -> None:
    """Raise UserError, naming the numeric columns, unless every run's summary has `metric`
    (`held`: the runs are Results in memory, named by their names, not by a file)."""
    for run in runs:
        numeric = [c for c in run.summary.columns if c != "replication"
                   and pd.api.types.is_numeric_dtype(run.summary[c])]
        if metric not in numeric:  # the replication is the worlds' index, not an outcome
            where = f"{run.path}'s summary" if held else run.path / "summary.parquet"
            raise UserError(f"metric {metric!r} is not a numeric column of {where}; choose one "
                            "of: " + ", ".join(numeric))


def runset_of(runs: list[Run]) -> RunSet:
    """Return `runs` labelled as one RunSet; raise UserError if they cannot be compared."""
    names = scenario_names(runs)  # once, of every run read: the labels are made with them
    labels, left_out = label_runs(runs, names)
    used = sorted({index for index, _ in labels})  # a run left out whole is not compared
    position = {index: k for k, index in enumerate(used)}
    runs = [runs[index] for index in used]
    labels = {(position[index], strategy): label for (index, strategy), label in labels.items()}
    parts = []
    scenario = [names[index] for index in used]
    for (index, strategy), label in labels.items():
        run = runs[index]
        part = run.summary[run.summary["strategy"] == strategy].copy()
        part["label"], part["run"], part["world_key"] = label, index, run.world_key
        part["scenario"] = scenario[index]
        parts.append(part)
    summary = pd.concat(parts, ignore_index=True)
    scenarios = list(dict.fromkeys(summary["scenario"]))
    if len(scenarios) > 1:
        common = set.intersection(*(set(summary.loc[summary["scenario"] == s, "label"])
                                    for s in scenarios))
        if not common:
            raise UserError("runs with no common strategy: no strategy ran in every "
                            f"scenario ({'; '.join(scenarios)}), so they cannot be compared")
    if summary.groupby(["scenario", "label", "replication"]).size().max() > 1:
        raise UserError("a summary.parquet holds a (strategy, replication) twice; "
                        "the run directory is damaged")
    return RunSet(runs=runs, summary=summary, labels=labels, scenarios=scenarios,
                  left_out=left_out)


def same_worlds(first: Run, second: Run) -> bool:
    """Return whether two runs sampled the same worlds (equal key, agreeing features)."""
    if first is second:
        return True
    if first.world_key != second.world_key or not first.info.get("world_key"):
        return False
    if first.worlds is None or second.worlds is None:
        return True
    both = first.worlds.merge(second.worlds, on="replication", suffixes=("_a", "_b"))
    for column in first.worlds.columns:
        if column != "replication" and f"{column}_b" in both:
            a, b = both[f"{column}_a"].to_numpy(float), both[f"{column}_b"].to_numpy(float)
            if not np.allclose(a, b, rtol=1e-9, equal_nan=True):
                return False
    return True
