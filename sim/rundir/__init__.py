"""The run directory: the one place that knows its files, its run.json and its chunks.

A run directory holds what `Result.save` writes (the outcome tables as parquet, the
resolved `config.yaml`, and `run.json`), what Hydra writes (`.hydra/`), the chunks a
Monte Carlo run keeps as they finish (`chunks/`), the verdict's robustness
(`robustness.csv`, by the command line) and what a comparison writes (`comparison.csv`,
`report.html`, `plots/`); a sweep's directory holds its numbered job folders and
`sweep.json`, the jobs it runs. `run.json` says who made the run and how
far it got: its status is `running`, `complete`, `failed` or `interrupted`, and only a
complete run is compared.

Every file is written under a temporary name and renamed into place (`write_atomic`,
`write_folder_atomic`), so a reader never sees half of one, and a run's outcome tables
are moved in as a set (`RunDir.write_outcome`), so it never sees two runs' side by side;
each chunk carries a manifest of its files, so a chunk damaged later is recomputed, never
read. A run directory belongs to one config: `check_claim` refuses another, naming the
keys that differ, except keys that only change how the run executes
(`sim.rundir.fingerprints.EXECUTION_KEYS`), and it belongs to one command at a time:
`RunDir.lock` holds an OS lock on its `.lock` file.

This module holds `RunDir`, the names of the directory's files and the claims on it
(`check_claim`); the package's other modules hold one idea each: `files` (atomic writes),
`lock` (one command at a time), `fingerprints` (which keys, code and files decide a run's
numbers), `info` (run.json), `robustness_record` (run.json's record of the robustness
reruns), `comparison_files` (what a comparison writes), `chunk_store` (the chunks a rerun
resumes), `manifest` (what a chunk holds) and `sweep` (a sweep's record of its jobs).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.errors import UserError
from sim.interrupts import signals_held
from sim.rundir.chunk_store import CHUNKS_DIR, ChunkStore, chunks, plan
from sim.rundir.comparison_files import COMPARISON_CSV, PLOTS_DIR, REPORT_HTML, remove_comparison
from sim.rundir.files import temporary, write_atomic, write_folder_atomic, write_json
from sim.rundir.fingerprints import (code_digest, config_digest, fingerprint, is_outcome_neutral, strategy_options,
                                     world_key)
from sim.rundir.info import now, run_info, status_said
from sim.rundir.lock import LOCK_FILE, check_unlocked, hold
from sim.rundir.manifest import ChunkDamaged
from sim.rundir.robustness_record import ROBUSTNESS_CSV
from sim.rundir.sweep import read_sweep, write_sweep

# Besides its own, the package gives the names its importers take from it: the atomic writes
# (sim.rundir.files), a comparison's files (sim.rundir.comparison_files), a damaged chunk
# (sim.rundir.manifest), a run's fingerprint (sim.rundir.fingerprints), its run.json
# (sim.rundir.info), its chunks (sim.rundir.chunk_store) and a sweep's record of its jobs
# (sim.rundir.sweep).
__all__ = ["CHUNKS_DIR", "COMPARISON_CSV", "CONFIG_FILE", "FITS_DIR", "HYDRA_DIR", "INFO_FILE", "PLOTS_DIR",
           "REPORT_HTML", "ROBUSTNESS_CSV", "RUN_DIR_OWN", "TABLES",
           "ChunkDamaged", "ChunkStore", "RunDir", "check_claim", "check_no_strangers", "check_only_own",
           "chunks", "code_digest", "config_digest", "fingerprint", "is_outcome_neutral", "now", "plan",
           "read_sweep", "remove_comparison", "run_info", "status_said", "strategy_options", "world_key",
           "write_atomic", "write_folder_atomic", "write_sweep"]

#: The outcome tables, one `<name>.parquet` each; a new table is one more name here.
TABLES = ("summary", "cashflows", "timeline", "worlds", "world_monthly", "events")
INFO_FILE = "run.json"
CONFIG_FILE = "config.yaml"
HYDRA_DIR = ".hydra"
#: Where a run keeps the trained policies of its learning strategies (sim.policies).
FITS_DIR = "fits"


# --- claims on the directory: one config, one command, no one else's files ------------------------
def check_claim(run_dir, cfg, key: str = "hydra.run.dir") -> None:
    """Raise UserError if another command holds `run_dir`, or another config made it; write
    nothing. `key` is the setting that chose the directory, named in the refusal.

    The command line calls it before anything is written into the directory, so that a
    refused command leaves the directory byte-identical.
    """
    check_unlocked(run_dir, key)
    check_no_strangers(run_dir, key)
    ChunkStore(run_dir).check(cfg, key)


#: What a run directory may hold before its tables are written: Hydra's record of the
#: command and its log, and the lock, chunks and trained policies of a run that stopped
#: early (or of `sim.run(cfg, out_dir)`, which writes no tables).
RUN_DIR_OWN = frozenset({HYDRA_DIR, "hashpivot.log", LOCK_FILE, CHUNKS_DIR, FITS_DIR})


def check_no_strangers(run_dir, key: str = "hydra.run.dir") -> None:
    """Raise UserError if `run_dir` holds files that no hashpivot run wrote (a user's
    folder, a comparison's --out): the run's tables, report and plots would be written
    among them, replacing theirs of the same name. An empty directory, or one holding a
    run (to resume or to refuse by its config), passes."""
    path = Path(run_dir)
    if path.is_dir() and not RunDir(path).is_run():
        check_only_own(path, RUN_DIR_OWN, lambda why: UserError(f"{key}={run_dir}: {why}"),
                       "a hashpivot run's", "a run writes its tables, report and plots")


def check_only_own(folder, own, refusal, whose: str, writes: str) -> None:
    """Raise `refusal(why)` (a UserError) if `folder` holds entries whose names are not in
    `own`: the command that `writes` ("a search writes its trials") there would replace
    files of the same name. A missing or empty folder passes. `whose` names the command's
    outputs in the line ("a search's")."""
    path = Path(folder)
    strangers = sorted(entry.name for entry in path.iterdir() if entry.name not in own) \
        if path.is_dir() else []
    if strangers:
        shown = ", ".join(strangers[:3]) + (f" and {len(strangers) - 3} more" if len(strangers) > 3 else "")
        raise refusal(f"holds files that are not {whose} ({shown}); {writes} there and would "
                      "replace files of the same name: choose a new or empty directory")


# --- the directory ------------------------------------------------------------------------------
def _write_robustness(table: pd.DataFrame, path: Path) -> None:
    path.write_text(table.to_csv(index=False), encoding="utf-8")


class RunDir:
    """One run directory: its outcome tables, its config, its run.json and its chunks."""

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def is_run(self) -> bool:
        """Return whether the directory holds a run (a summary table or a run.json)."""
        return self.table_path("summary").is_file() or (self.path / INFO_FILE).is_file()

    def table_path(self, name: str) -> Path:
        """Return the parquet file of table `name`."""
        if name not in TABLES:
            raise ValueError(f"table(={name!r}) must be one of {', '.join(TABLES)}")
        return self.path / f"{name}.parquet"

    def tables(self) -> list[str]:
        """Return the names of the tables present, in the order of TABLES."""
        return [name for name in TABLES if self.table_path(name).is_file()]

    def read_table(self, name: str) -> pd.DataFrame | None:
        """Return table `name`, or None if the directory does not hold it."""
        file = self.table_path(name)
        if not file.is_file():
            return None
        try:
            return pd.read_parquet(file)
        except Exception as error:  # pyarrow raises several unrelated types
            raise UserError(f"{file}: cannot read it ({type(error).__name__}: {error})") from None

    def write_table(self, name: str, table: pd.DataFrame) -> None:
        """Write table `name` as parquet, atomically."""
        file = self.table_path(name)
        self.path.mkdir(parents=True, exist_ok=True)
        write_atomic(file, lambda tmp: table.to_parquet(tmp, index=False))

    def remove_table(self, name: str) -> None:
        """Remove table `name` if present (a saved Result that no longer holds it)."""
        self.table_path(name).unlink(missing_ok=True)

    def write_outcome(self, tables: dict, cfg, info: dict, robustness: pd.DataFrame | None = None,
                      drop_robustness: bool = False) -> None:
        """Replace what the directory holds of a run's outcome by `tables` ({name: DataFrame};
        a table of TABLES not among them is removed), `cfg` as config.yaml and run.json `info`
        (status complete), so that a reader finds the earlier run's tables whole or these
        whole, never a mix. `robustness` is written as robustness.csv; without one the
        folder's is kept, or removed if `drop_robustness`.

        Every file is written first into a staging folder in the directory (`temporary`'s
        `.tmp-outcome-<pid>`: removed if the writing fails or is interrupted, and by the next
        `claim` where a killed save left it). Then, with Ctrl-C and SIGTERM held, run.json
        says running, the earlier summary.parquet (what readers take for the run's outcome)
        goes first, the other files are moved in, run.json says complete, and summary.parquet
        comes last: the folder holds a summary only beside the tables it belongs to.
        """
        self.path.mkdir(parents=True, exist_ok=True)
        staging = temporary(self.path / "outcome")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir()
            for name, table in tables.items():
                table.to_parquet(staging / self.table_path(name).name, index=False)
            (staging / CONFIG_FILE).write_text(OmegaConf.to_yaml(cfg, resolve=True))
            if robustness is not None:
                _write_robustness(robustness, staging / ROBUSTNESS_CSV)
            with signals_held():  # a handful of renames: the set is whole before an interrupt acts
                write_json(self.path / INFO_FILE, dict(info, status="running", finished=None))
                self.remove_table("summary")
                for name in TABLES:
                    if name not in tables:
                        self.remove_table(name)
                if robustness is None and drop_robustness:
                    (self.path / ROBUSTNESS_CSV).unlink(missing_ok=True)
                summary = staging / self.table_path("summary").name
                for new in staging.iterdir():
                    if new != summary:
                        os.replace(new, self.path / new.name)
                write_json(self.path / INFO_FILE, info)
                if summary.exists():
                    os.replace(summary, self.table_path("summary"))
                staging.rmdir()
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def read_config(self) -> DictConfig | None:
        """Return the run's config (config.yaml, else Hydra's), or None if it has neither."""
        for file in (self.path / CONFIG_FILE, self.path / HYDRA_DIR / "config.yaml"):
            if file.is_file():
                try:
                    return OmegaConf.load(file)
                except (yaml.YAMLError, OmegaConfBaseException) as error:
                    raise UserError(f"{file}: not valid YAML ({error})".replace("\n", " ")) from None
        return None

    def overrides(self) -> list[str]:
        """Return the Hydra overrides the run was made with ([] when not run by Hydra)."""
        file = self.path / HYDRA_DIR / "overrides.yaml"
        if not file.is_file():
            return []
        try:
            return [str(o) for o in yaml.safe_load(file.read_text()) or []]
        except yaml.YAMLError as error:
            raise UserError(f"{file}: not valid YAML ({error})".replace("\n", " ")) from None

    def write_info(self, cfg, status: str, started: str | None = None, **extra) -> dict:
        """Write run.json for `cfg` at `status`, atomically; return what was written."""
        info = run_info(cfg, status, started, **extra)
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / INFO_FILE, info)
        return info

    def read_info(self) -> dict | None:
        """Return the contents of run.json, or None if there is none."""
        file = self.path / INFO_FILE
        if not file.is_file():
            return None
        try:
            return json.loads(file.read_text())
        except (OSError, ValueError) as error:
            raise UserError(f"{file}: cannot read it ({error})") from None

    def read_robustness(self) -> pd.DataFrame | None:
        """Return robustness.csv as written (its text columns as text), or None without one;
        its columns are the comparison's to check (`sim.compare.load.checked_robustness`)."""
        file = self.path / ROBUSTNESS_CSV
        if not file.is_file():
            return None
        try:
            table = pd.read_csv(file, keep_default_na=False, na_values=[""],
                                dtype={"overrides": str, "alternative": str, "strategy": str,
                                       "against": str, "against_role": str, "higher_mean": str})
        except (OSError, ValueError) as error:
            raise UserError(f"{file}: cannot read it ({type(error).__name__}: {error})") from None
        if "overrides" in table.columns:
            table["overrides"] = table["overrides"].fillna("")
        return table

    def write_robustness(self, table: pd.DataFrame) -> None:
        """Write `table` as robustness.csv, atomically."""
        write_atomic(self.path / ROBUSTNESS_CSV, lambda tmp: _write_robustness(table, tmp))

    @property
    def chunks(self) -> ChunkStore:
        """Return the store of the run's finished chunks."""
        return ChunkStore(self.path)

    def lock(self, key: str = "hydra.run.dir"):
        """Return a context that holds the directory's lock; refuse if another process holds it
        (naming `key`, the setting that chose the directory)."""
        return hold(self.path, key)

    def claim(self, cfg) -> ChunkStore:
        """Return the chunk store, made this config's; refuse a directory of another config.
        What a killed save was writing (`.tmp-*`, read by nothing) is removed."""
        store = self.chunks
        store.claim(cfg)
        for stale in self.path.glob(".tmp-*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
        return store
