"""Where a job stands in its sweep, and what a sweep left: how to rerun the command into the
same folder, the jobs an interrupt kept from starting, the jobs that failed."""

from __future__ import annotations

import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from sim.errors import UserError
from sim.rundir import RunDir, read_sweep


def _in_sweep() -> bool:
    """Return whether this process runs a job of a Hydra sweep (`-m`)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _same_command(out_dir) -> str:
    """Return how to rerun this command into the folder it ran in, `out_dir` or its sweep's
    (the default folder is named by the time: the same command alone would start afresh)."""
    if _in_sweep():
        return f"the same command with hydra.sweep.dir={HydraConfig.get().sweep.dir}"
    return f"the same command with hydra.run.dir={out_dir}"


def _job_dir(sweep_dir, number: int) -> Path:
    """Return the folder of job `number` of the sweep in `sweep_dir` (hydra.sweep.subdir as
    shipped: the job's number)."""
    return Path(str(sweep_dir)) / str(number)


def _say_what_the_sweep_left(hydra_cfg) -> None:
    """Where the job interrupted is a sweep's, say which jobs did not start (`sweep.json`:
    those without a run.json, whichever launcher ran them) and how to resume them."""
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return
    jobs, number = read_sweep(hydra_cfg.sweep.dir) or [], int(hydra_cfg.job.num)
    left = [n for n in range(len(jobs))
            if n != number and not (_job_dir(hydra_cfg.sweep.dir, n) / "run.json").is_file()]
    if left:
        which = f"job {left[0]}" if len(left) == 1 else f"jobs {', '.join(map(str, left))}"
        print(f"hashpivot: the sweep stopped in job {number} of {len(jobs)} (numbered from 0): "
              f"{which} did not start. Rerun {_same_command(None)} to resume the sweep; "
              f"hashpivot-compare {hydra_cfg.sweep.dir} refuses it until then (or compares "
              f"the finished jobs alone with --finished-only)", file=sys.stderr)


def _failed_job_line(hydra_cfg) -> str:
    """Return the line for a sweep's job that failed: whether the sweep goes on (it does not
    after its last job; a job not started, or still running beside it, is one to go on with)."""
    number = int(hydra_cfg.job.num)
    line = f"job {number} of the sweep failed"
    for other in range(len(read_sweep(hydra_cfg.sweep.dir) or [])):
        try:
            info = RunDir(_job_dir(hydra_cfg.sweep.dir, other)).read_info()
        except UserError:
            info = None
        if other != number and (info or {}).get("status", "running") == "running":
            return f"{line}; the sweep goes on with the others"
    return line


#: The folder and job count of the sweep this process launched (Preflight records them), so
#: that `main` can say which jobs failed once Hydra's launcher has run them all.
_LAUNCHED: dict = {}


def _failed_jobs_line() -> str | None:
    """Return one line naming the jobs of the sweep just run whose run.json says failed,
    with the first one's error; None if none failed (or no sweep ran)."""
    if not _LAUNCHED:
        return None
    sweep_dir, jobs = _LAUNCHED["dir"], _LAUNCHED["jobs"]
    failed = {}
    for number in range(len(jobs)):
        try:
            info = RunDir(_job_dir(sweep_dir, number)).read_info()
        except (UserError, OSError):
            continue
        if info is None:  # no run.json: a job whose launcher's process died before writing it
            continue
        if info.get("status") == "failed":
            failed[number] = info.get("error", "")
    if not failed:
        return None
    first = next(iter(failed))
    numbers = ", ".join(map(str, failed))
    return (f"{len(failed)} of {len(jobs)} jobs of the sweep failed ({numbers}); job {first} "
            f"({' '.join(jobs[first])}): {failed[first]}. Fix it and rerun with "
            f"hydra.sweep.dir={sweep_dir}: the complete jobs are kept (to rerun a failed job "
            "with other values, remove its folder first)")
