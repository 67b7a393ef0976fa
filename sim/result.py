"""What a run leaves: the outcome tables, the config that made them, and their files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig

from sim.arguments import check_output_dir, folder_path
from sim.errors import UserError
from sim.rundir import (CHUNKS_DIR, HYDRA_DIR, INFO_FILE, TABLES, RunDir, read_sweep,
                        remove_comparison, run_info, status_said)

#: The run.json fields that tell one run from another (its robustness.csv is its own).
SAME_RUN = ("seed", "replications", "strategies", "world_key", "terminal_value", "discount_rates")


@dataclass
class Result:
    """The outcomes of a run: `summary`, `cashflows`, `timeline` and the sampled worlds.

    `robustness` is the verdict rerun under other assumptions (robustness.csv), which the
    command line computes after a run: `sim.load` reads it where the folder has one; a
    Result of `sim.run` has none (None).
    """

    summary: pd.DataFrame
    cashflows: pd.DataFrame
    timeline: pd.DataFrame
    worlds: pd.DataFrame
    world_monthly: pd.DataFrame
    config: DictConfig
    info: dict = field(default_factory=dict)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)  # with run.event_log=true
    robustness: pd.DataFrame | None = None

    def save(self, path) -> Path:
        """Write the tables, the resolved config and run.json (status complete) to `path`; return it.

        The directory then reads like one the command line wrote: `sim.load` and
        `hashpivot-compare` both accept it. A table this Result does not hold is removed;
        its `robustness` is written as robustness.csv, and without one another run's
        robustness.csv is removed (a run's own, the same run saved again, is kept), and so
        are another run's comparison (report.html, its tables and plots) and Hydra's
        record of its command (.hydra/), first. The tables are written aside and moved in
        as a set (`RunDir.write_outcome`): a save that fails or is interrupted leaves the
        folder's earlier tables as they were (another run's without its comparison).
        """
        run_dir = RunDir(folder_path("path", path))
        if run_dir.path.exists() and not run_dir.path.is_dir():
            raise UserError(f"{run_dir.path}: a file; Result.save writes a folder of tables, "
                            "give it a folder's path")
        check_output_dir(path, "path")  # before the first table: nothing is half-written
        before = run_dir.read_info() if run_dir.path.is_dir() else None
        info = run_info(self.config, "complete", self.info.get("started"), **self.recorded_info())
        another_run = before is None or any(before.get(key) != info[key] for key in SAME_RUN)
        if before is not None and another_run:
            _remove_earlier_runs_record(run_dir.path)
        tables = {name: getattr(self, name, None) for name in TABLES}
        # all or nothing: an interrupted save leaves the earlier tables whole, never a mix
        run_dir.write_outcome({name: table for name, table in tables.items()
                               if table is not None and len(table.columns)},
                              self.config, info, self.robustness,
                              drop_robustness=another_run)
        return run_dir.path

    def recorded_info(self) -> dict:
        """Return what of `info` run.json records beside the config's facts: the
        until_confident outcome and the learning strategies' training figures."""
        return {key: self.info[key] for key in ("until_confident", "policies") if key in self.info}

    def __repr__(self) -> str:
        strategies = list(self.summary["strategy"].unique()) if len(self.summary) else []
        n = int(self.summary["replication"].nunique()) if len(self.summary) else 0
        return f"Result({n} replications × strategies {strategies})"


def _remove_earlier_runs_record(path: Path) -> None:
    """Remove from `path` what spoke for the run saved there before another: its comparison
    (report, tables, plots; a user's own files stay) and Hydra's record of its command
    (.hydra/, whose overrides hashpivot-compare shows as the run's)."""
    remove_comparison(path)
    shutil.rmtree(path / HYDRA_DIR, ignore_errors=True)


def load(path) -> Result:
    """Return the Result saved in directory `path` (by `Result.save` or a `hashpivot` run)."""
    run_dir = RunDir(folder_path("path", path))
    if not run_dir.path.exists():
        raise UserError(f"{run_dir.path}: no such folder")
    # first: a command-line run stopped before its tables is to be rerun, not saved
    info = run_dir.read_info() or {"status": "complete"}
    if info.get("status") != "complete":  # its tables may be another run's, or partly written
        raise UserError(f"{run_dir.path}: {status_said(run_dir.path, info)}; its tables may be "
                        "partial or an earlier run's, so rerun it to completion first (the "
                        "same command into the same folder resumes)")
    if "summary" not in run_dir.tables():
        raise UserError(f"{run_dir.path}: not a hashpivot result (no summary.parquet)"
                        + _what_it_holds(run_dir.path))
    tables = {name: run_dir.read_table(name) for name in TABLES}
    cfg = run_dir.read_config()
    if cfg is None:
        raise UserError(f"{run_dir.path}: has no config.yaml or .hydra/config.yaml")
    return Result(config=cfg, info=run_dir.read_info() or {}, robustness=run_dir.read_robustness(),
                  **{name: pd.DataFrame() if table is None else table for name, table in tables.items()})


def _what_it_holds(path: Path) -> str:
    """Return what `path`, a folder without a summary, holds instead, as the end of
    `load`'s refusal ("" where it holds nothing hashpivot wrote)."""
    if (path / CHUNKS_DIR).is_dir():
        return ("; it holds a run's chunks only, kept for resuming (sim.run(cfg, out_dir) "
                "writes no tables: save its Result with result.save(DIR))")
    if read_sweep(path) is not None or (path / "0" / INFO_FILE).is_file():
        return (f"; it is a sweep's folder: load one of its numbered runs "
                f"(sim.load('{path / '0'}')), or compare them all with hashpivot-compare {path}")
    return ""
