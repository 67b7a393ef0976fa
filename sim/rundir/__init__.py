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
keys that differ, except keys that only change how the run executes (`EXECUTION_KEYS`),
and it belongs to one command at a time: `RunDir.lock` holds an OS lock on its `.lock`
file.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim._version import __version__
from sim.config_objects import strategy_label
from sim.errors import UserError
from sim.executors import executor_name
from sim.interrupts import signals_held
from sim.rundir.files import temporary, write_atomic, write_folder_atomic, write_json
from sim.rundir.lock import LOCK_FILE, check_unlocked, hold
from sim.rundir.manifest import MANIFEST_FILE, ChunkDamaged, read_chunk, read_manifest, write_chunk
from sim.valuation import kind_rates

#: The outcome tables, one `<name>.parquet` each; a new table is one more name here.
TABLES = ("summary", "cashflows", "timeline", "worlds", "world_monthly", "events")
INFO_FILE = "run.json"
CONFIG_FILE = "config.yaml"
HYDRA_DIR = ".hydra"
CHUNKS_DIR = "chunks"
#: Where a run keeps the trained policies of its learning strategies (sim.policies).
FITS_DIR = "fits"
COMPARISON_CSV = "comparison.csv"
ROBUSTNESS_CSV = "robustness.csv"
REPORT_HTML = "report.html"
PLOTS_DIR = "plots"
#: In a sweep's directory, beside its numbered job folders: the jobs the sweep will run.
SWEEP_FILE = "sweep.json"
STATUSES = ("running", "complete", "failed", "interrupted")

#: Config keys (dotted) that change how a run executes, not what it computes: a rerun
#: with other values resumes the same chunks, and a comparison does not label by them.
EXECUTION_KEYS = ("hydra", "run.executor", "run.workers", "run.chunk_size", "run.progress",
                  "run.ray", "run.replications", "run.until_confident",
                  "run.max_replications", "run.compare", "run.robustness")
#: Config keys that change which tables a run keeps, not their numbers: a comparison does
#: not label by them, but a rerun cannot resume chunks kept at another detail.
DETAIL_KEYS = ("run.detail",)


# --- which keys decide the numbers ----------------------------------------------------------------
def _under(key: str, keys) -> bool:
    return any(key == k or key.startswith((f"{k}.", f"{k}/")) for k in keys)


def is_execution_key(key: str) -> bool:
    """Return whether config or override `key` only changes how a run executes."""
    return _under(key, EXECUTION_KEYS)


def is_outcome_neutral(key: str) -> bool:
    """Return whether `key` changes no outcome number (how a run executes, or what it keeps)."""
    return _under(key, EXECUTION_KEYS + DETAIL_KEYS)


def _canonical(data) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def fingerprint(cfg) -> dict:
    """Return the config that decides a run's numbers (the execution keys left out)."""
    if isinstance(cfg, DictConfig) and "hydra" in cfg:  # Hydra's node may not resolve yet
        cfg = OmegaConf.masked_copy(cfg, [key for key in cfg if key != "hydra"])
    data = json.loads(_canonical(OmegaConf.to_container(cfg, resolve=True)
                                 if isinstance(cfg, DictConfig) else cfg))
    for key in EXECUTION_KEYS:
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    # The code and the files a run reads decide its numbers as much as its settings do.
    data[CODE] = code_digest()
    sources, files = plugin_sources(data), data_files(data)
    if sources:
        data[PLUGIN_SOURCES] = sources
    if files:
        data[DATA_FILES] = files
    return json.loads(_canonical(data))


#: The fingerprint's keys for hashpivot's own code, the plug-in modules a config names, and
#: the data files it reads, each with what a rerun that finds it changed says.
CODE, PLUGIN_SOURCES, DATA_FILES = "hashpivot", "plugin_sources", "data_files"
CHANGED = {CODE: "hashpivot's code changed", PLUGIN_SOURCES: "a plug-in's code changed",
           DATA_FILES: "a data file changed"}


def _digest(path: Path) -> str:
    """Return "name <sha-256 of its bytes, 16 hex>" of the file at `path`."""
    return f"{path.name} {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"


@functools.cache
def code_digest() -> str:
    """Return hashpivot's version and a digest of every file of its package (its code and
    the history it ships), made once a process: an upgrade, or an edit, between a run and
    its rerun must not mix the two versions' chunks."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{__version__} {digest.hexdigest()[:16]}"


def data_files(data) -> dict[str, str]:
    """Return {key: "file.csv <sha-256, 16 hex>"} of the market's `file` keys that name a file
    (read relative to the working directory, as the processes read them)."""
    market = data.get("market") if isinstance(data, dict) else None
    files = {}
    for name, node in (market.items() if isinstance(market, dict) else ()):
        path = node.get("file") if isinstance(node, dict) else None
        if isinstance(path, str) and Path(path).is_file():
            files[f"market.{name}.file"] = _digest(Path(path))
    return files


def plugin_sources(data) -> dict[str, str]:
    """Return {module: "file.py <sha-256, 16 hex>"} of every module outside hashpivot that a
    `_target_` in `data` (a plain config) names and that is a file: a rerun after the code
    changed must not resume from chunks the old code made."""
    targets, stack = set(), [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            target = node.get("_target_")
            if isinstance(target, str) and "." in target:
                targets.add(target.rpartition(".")[0])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    sources = {}
    for module in sorted(targets):
        if module.split(".")[0] == "sim":
            continue
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):  # not importable: the config check names it
            continue
        origin = Path(spec.origin) if spec is not None and spec.origin else None
        if origin is not None and origin.is_file():
            sources[module] = _digest(origin)
    return sources


def config_digest(cfg) -> str:
    """Return the SHA-256 of the config's fingerprint (recorded in each chunk's manifest)."""
    return _fingerprint_digest(fingerprint(cfg))


def _fingerprint_digest(made: dict) -> str:
    """Return the SHA-256 of a fingerprint already made (it reads the code, plug-in and data
    files: a claim makes it once)."""
    return hashlib.sha256(_canonical(made).encode()).hexdigest()


def _flatten(data, prefix=""):
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


def world_key(cfg) -> str:
    """Return a key equal for configs that sample the same worlds (market, seed, calendar)."""
    # Resolved in place: the market reads day 0 from `asof` and the ASIC frontier from `fleet`.
    world = {"market": OmegaConf.to_container(cfg.market, resolve=True)}
    world.update(seed=cfg.run.seed, start=str(cfg.site.start_date),
                 horizon=cfg.run.horizon_years, deterministic=cfg.run.deterministic)
    return hashlib.sha256(json.dumps(world, sort_keys=True).encode()).hexdigest()[:16]


def strategy_options(config) -> dict[str, str]:
    """Return {label: option name} of the config's strategies (label: `name`, else the option)."""
    mapping = (dict, DictConfig)
    options = config.get("strategy") if isinstance(config, mapping) else None
    if not isinstance(options, mapping):
        return {}
    return {strategy_label(option, node): str(option) for option, node in options.items()}


# --- run.json ---------------------------------------------------------------------------------------
def now() -> str:
    """Return the current UTC time, to the second, in ISO 8601."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).parent, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def run_info(cfg, status: str, started: str | None, **extra) -> dict:
    """Return the contents of run.json for `cfg` at `status` (extra: error, until_confident)."""
    if status not in STATUSES:
        raise ValueError(f"status(={status!r}) must be one of {', '.join(STATUSES)}")
    until = extra.get("until_confident") or {}  # a run that added replications: those it ran
    # the code's digest tells two runs of one commit apart where the tree was edited between them
    return dict(package_version=__version__, git_commit=_git_commit(), code=code_digest(),
                seed=int(cfg.run.seed),
                replications=int(until.get("replications", cfg.run.replications)),
                strategies=list(strategy_options(cfg)),
                world_key=world_key(cfg), discount_rate=float(cfg.run.discount_rate),
                discount_rates=kind_rates(cfg.run),
                terminal_value=str(cfg.run.terminal_value), detail=str(cfg.run.detail),
                executor=executor_name(cfg.run), status=status, started=started,
                finished=None if status == "running" else now(), **extra)


# --- chunks -----------------------------------------------------------------------------------------
_CHUNK_NAME = re.compile(r"^(\d+)-(\d+)$")


class ChunkStore:
    """A run directory's finished chunks, one folder per chunk, renamed in when complete.

    Each chunk folder holds its tables and, written last, their manifest
    (`sim.rundir.manifest`): `read` returns a chunk's tables only when they match it.
    `chunks/config.json` holds the fingerprint of the config that made the chunks.
    """

    def __init__(self, run_dir):
        self.root = Path(run_dir) / CHUNKS_DIR
        self.config_sha256 = None  # the digest of the config that claimed the store

    @property
    def config_file(self) -> Path:
        """Return the file that names the config the chunks belong to."""
        return self.root / "config.json"

    def check(self, cfg, key: str = "hydra.run.dir", mine: dict | None = None) -> bool:
        """Return whether config.json must be written for `cfg` (its fingerprint `mine`, if
        made already); refuse another config's store (naming `key`, the setting that chose
        the directory).

        Writes nothing. An unreadable config.json is rewritten only when every chunk's
        manifest shows that this config made it; otherwise the directory is refused.
        """
        if not self.config_file.is_file():
            return True
        mine = fingerprint(cfg) if mine is None else mine
        try:
            theirs = json.loads(self.config_file.read_text())
        except (OSError, ValueError) as error:
            digest = _fingerprint_digest(mine)
            strangers = [f.name for f in self._folders() if not self._made_by(f, digest)]
            if strangers:
                raise UserError(f"{self.config_file}: cannot read it ({type(error).__name__}), and chunk "
                                f"{strangers[0]} does not show it was made by this config; choose a new "
                                f"{key}, or delete {self.root} to recompute every chunk") from None
            return True
        if _canonical(theirs) != _canonical(mine):
            a, b = _flatten(theirs), _flatten(mine)
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            ran, runs = (list((run.get("strategy") or {})) for run in (theirs, mine))
            if ran != runs:  # say which strategies, not which of their inner keys differ
                keys = ["strategy", *(k for k in keys if not k.startswith("strategy."))]
                a["strategy"], b["strategy"] = ran, runs
            shown = ", ".join(f"{k} ({a.get(k)!r} there, {b.get(k)!r} now)" for k in keys[:3])
            changed = [why for key, why in CHANGED.items()
                       if any(k == key or k.startswith(f"{key}.") for k in keys)]
            code = f" ({', '.join(changed)} since its chunks were made)" if changed else ""
            raise UserError(f"{self.root.parent}: holds a run made with another config "
                            f"(differs at {shown}{' ...' if len(keys) > 3 else ''}){code}; "
                            f"choose a new {key}{self._unfinished_advice()}")
        return False

    def _unfinished_advice(self) -> str:
        """Return, for a run that did not finish (a sweep's failed job, fixed since), how to
        run the new config in its place; "" for a finished run, whose results it holds."""
        try:
            status = (RunDir(self.root.parent).read_info() or {}).get("status")
        except (UserError, OSError, ValueError):
            return ""
        if status in (None, "complete"):
            return ""
        return (f", or, as that run did not finish (it is {status}), remove "
                f"{self.root.parent} to run this config there (a sweep's other jobs are kept)")

    def claim(self, cfg) -> None:
        """Make the store this config's, or refuse one that another config made."""
        mine = fingerprint(cfg)
        existed, write = self.config_file.is_file(), self.check(cfg, mine=mine)
        self.root.mkdir(parents=True, exist_ok=True)
        if write:
            write_json(self.config_file, mine)
        if write and existed:
            print(f"hashpivot: {self.config_file} was unreadable; rewritten, since every chunk's "
                  "manifest shows this config made it", file=sys.stderr)
        self.config_sha256 = _fingerprint_digest(mine)
        for stale in self.root.glob(".tmp-*"):  # a chunk a killed run was writing, or a discarded one
            shutil.rmtree(stale, ignore_errors=True)

    def path(self, start: int, stop: int) -> Path:
        """Return the folder of chunk [start, stop)."""
        return self.root / f"{start:09d}-{stop:09d}"

    def _folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(folder for folder in self.root.iterdir() if _CHUNK_NAME.match(folder.name))

    @staticmethod
    def _made_by(folder: Path, config_sha256: str) -> bool:
        try:
            return read_manifest(folder).get("config_sha256") == config_sha256
        except ChunkDamaged:
            return False

    def finished(self) -> list[tuple[int, int]]:
        """Return the chunks on disk (each still to be checked against its manifest), in order."""
        found = (_CHUNK_NAME.match(folder.name) for folder in self._folders())
        return sorted((int(m[1]), int(m[2])) for m in found)

    def write(self, start: int, stop: int, tables: dict) -> None:
        """Write a chunk's tables and their manifest into its folder, atomically."""
        write_folder_atomic(self.path(start, stop),
                            lambda folder: write_chunk(folder, start, stop, tables, self.config_sha256))

    def read(self, start: int, stop: int, lo: int | None = None, hi: int | None = None,
             expected=None) -> dict:
        """Return a finished chunk's tables (those `expected`, else all), keeping replications [lo, hi).

        Raise ChunkDamaged if its files do not match its manifest.
        """
        lo, hi = start if lo is None else lo, stop if hi is None else hi
        tables = read_chunk(self.path(start, stop), start, stop, expected, self.config_sha256)
        if (lo, hi) != (start, stop):
            for name, table in tables.items():
                keep = table["replication"].between(lo, hi - 1).to_numpy()
                tables[name] = table[keep].reset_index(drop=True)
        return tables

    def discard(self, start: int, stop: int) -> None:
        """Remove a chunk's folder (a damaged chunk, to be recomputed)."""
        folder = self.path(start, stop)
        gone = temporary(folder)
        shutil.rmtree(gone, ignore_errors=True)
        folder.rename(gone)  # out of `finished` at once, even if the removal below fails
        shutil.rmtree(gone, ignore_errors=True)


def write_sweep(sweep_dir, jobs: list[list[str]]) -> None:
    """Record in `sweep_dir` the overrides of each job of a sweep, in its launcher's
    numbering (job k runs in folder k), before any runs: so that a sweep stopped before
    its last job is known to be short of it."""
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    write_json(Path(sweep_dir) / SWEEP_FILE, {"jobs": [" ".join(job) for job in jobs]})


def read_sweep(sweep_dir) -> list[str] | None:
    """Return the overrides of every job of the sweep in `sweep_dir` (one line a job), or
    None where the sweep recorded none (made before `write_sweep`) or its record is unreadable."""
    try:
        jobs = json.loads((Path(sweep_dir) / SWEEP_FILE).read_text(encoding="utf-8"))["jobs"]
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return [str(job) for job in jobs] if isinstance(jobs, list) else None


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


def chunks(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """Return [start, stop) cut at multiples of `size` (so boundaries never depend on stop)."""
    edges = list(range((start // size) * size, stop, size)) + [stop]
    return [(max(a, start), min(b, stop)) for a, b in zip(edges[:-1], edges[1:]) if max(a, start) < min(b, stop)]


def plan(start: int, stop: int, size: int, finished: list[tuple[int, int]]):
    """Return (reuse, todo) for replications [start, stop).

    `reuse` lists ``(chunk, lo, hi)``: finished chunks and the replications [lo, hi) needed
    from each; `todo` lists the chunks still to run, cut at multiples of `size`. Chunks on
    disk may have any boundaries (an earlier run may have used another chunk size).
    """
    reuse, todo, cursor = [], [], start
    for a, b in sorted(finished):
        lo, hi = max(a, cursor), min(b, stop)
        if lo < hi:
            todo += chunks(cursor, lo, size)
            reuse.append(((a, b), lo, hi))
            cursor = hi
    return reuse, todo + chunks(cursor, stop, size)


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
