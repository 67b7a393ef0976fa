"""run.json: who made a run and how far it got.

`run_info` makes what a run directory's run.json holds: the package version, git commit
and code digest that made the run, its seed, replications and strategies, the key of the
worlds it sampled (`world_key`), its discounting, terminal value, detail and executor, and
its status (one of `STATUSES`) with when it started and finished. `RunDir.write_info`
writes it; only a complete run is compared.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

from sim._version import __version__
from sim.executors import executor_name
from sim.rundir.fingerprints import code_digest, strategy_options, world_key
from sim.rundir.lock import live_holder
from sim.valuation import kind_rates

STATUSES = ("running", "complete", "failed", "interrupted")


def now() -> str:
    """Return the current UTC time, to the second, in ISO 8601."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def status_said(path, info: dict) -> str:
    """Return why the run in folder `path`, whose run.json holds `info`, is not complete, as a
    reader says it: run.json says running both while its process writes the folder and
    after that process was killed (SIGKILL, out of memory) before it could save another
    status; the folder's lock, held until its holder ends however it ends, tells them apart."""
    status = info.get("status")
    if status != "running":
        error = f" ({info['error']})" if info.get("error") else ""
        return f"run status is {status!r}{error}, not 'complete'"
    pid = live_holder(path)
    if pid is not None:
        return f"run status is 'running', not 'complete': pid {pid} is still writing into it"
    return ("the run stopped without saving its status: run.json says 'running', but its "
            "process ended, killed or out of memory")


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
