"""A sweep's record of its jobs: `sweep.json`, beside its numbered job folders.

Before any job runs, `write_sweep` records the overrides of every job, in its launcher's
numbering, so that a sweep stopped before its last job is known to be short of it;
`read_sweep` returns them (None for a sweep that recorded none).
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.rundir.files import write_json

#: In a sweep's directory, beside its numbered job folders: the jobs the sweep will run.
SWEEP_FILE = "sweep.json"


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
