"""A backtest's outputs, written into --out as one set: the tables and one plot per start
date are written into a hidden staging folder, then moved in, replacing an earlier
backtest's, while Ctrl-C and SIGTERM are held; a run that fails or is interrupted leaves
--out as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from sim.backtest.plot import plot
from sim.coverage import PIT_BINS, pit_histogram
from sim.interrupts import signals_held

#: The tables a backtest writes under --out, beside one plot per start date (PLOTS).
TABLES = ("coverage", "epochs", "hashprice", "pit")
PLOTS = "bands_*.png"


def _writers(args, table: pd.DataFrame, epochs: pd.DataFrame, months: pd.DataFrame,
             mode: str) -> dict:
    """Return {file name: a function writing it to a path} for every output of the run."""
    pit = pd.DataFrame({"start": np.repeat(args.start, PIT_BINS),
                        "bin_low": np.tile(np.arange(PIT_BINS) / PIT_BINS, len(args.start))})
    for column, scored in (("share", epochs), ("hashprice_share", months)):
        pit[column] = np.concatenate([pit_histogram(scored.loc[scored["start"] == s, "pit"]
                                                    .to_numpy()) for s in args.start])
    writers = {f"{name}.csv": lambda path, frame=frame: frame.to_csv(path, index=False)
               for name, frame in zip(TABLES, (table, epochs, months, pit))}
    for start in args.start:
        writers[f"bands_{args.network}_{start}.png"] = (
            lambda path, start=start: plot(epochs, months, start, mode, path,
                                           table.loc[table["start"] == start].iloc[0]))
    return writers


#: The hidden folder in --out that a backtest writes its outputs into before moving them
#: in, named `.backtest-<its process id>`.
STAGING_PREFIX = ".backtest-"


def left_behind(out: Path) -> list[Path]:
    """Return the staging folders in `out` whose backtest no longer runs: one killed
    (SIGKILL, a crash) before it moved its outputs in, or one of an earlier version (named
    at random)."""
    def running(name: str) -> bool:
        pid = name[len(STAGING_PREFIX):]
        if not pid.isdigit() or int(pid) in (0, os.getpid()):
            return False
        try:
            os.kill(int(pid), 0)  # signal 0: is there such a process
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's
            return True
        return True

    return sorted(folder for folder in out.glob(f"{STAGING_PREFIX}*")
                  if folder.is_dir() and not running(folder.name))


def stage_outputs(out: Path, writers: dict) -> Path:
    """Return a new hidden folder in `out` (made if missing) holding every output, each
    written by its writer; on any failure or interruption the folder is removed (and `out`,
    if this call made it and it is empty), so `out` is as it was. A staging folder that a
    killed backtest left in `out` is removed first."""
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    for stale in left_behind(out):
        shutil.rmtree(stale, ignore_errors=True)
    staging = out / f"{STAGING_PREFIX}{os.getpid()}"
    try:
        staging.mkdir()
        for name, write in writers.items():
            with signals_held():  # Agg turns an interrupt inside savefig into a ValueError
                write(staging / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if made:
            try:
                out.rmdir()
            except OSError:
                pass  # not empty: someone else's files
        raise
    return staging


def place_outputs(out: Path, staging: Path) -> None:
    """Replace the outputs of an earlier backtest in `out` (TABLES and PLOTS) by those in
    `staging`, and remove it; Ctrl-C and SIGTERM are held until the set is whole, so `out`
    never holds this run's tables beside an earlier run's plots."""
    with signals_held():
        for old in [*(out / f"{name}.csv" for name in TABLES), *out.glob(PLOTS)]:
            old.unlink(missing_ok=True)
        for new in staging.iterdir():
            os.replace(new, out / new.name)
        staging.rmdir()
