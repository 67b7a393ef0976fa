"""How much memory a run's tables need, estimated before it starts, and what is available.

A run keeps its outcome tables in memory until they are written: the summary rows
always, the monthly cash flows and timeline with `run.detail=monthly`. `check_memory`
refuses, in one line with the estimate and the fix, a run that would not fit.
"""

from __future__ import annotations

import math
from pathlib import Path

from sim.errors import UserError

#: Peak memory a run adds per strategy, replication and simulated month with
#: run.detail=monthly (cash flows and timeline, held until the tables are written), and
#: per strategy and replication whatever the detail (summary row, world features, chunk
#: bookkeeping). Measured as the growth of the peak RSS of `sim.run` between runs of the
#: default experiment (5 strategies, serial) of different sizes, 2026-11 on Linux x86-64,
#: numpy 2.4 and pandas 3.1: monthly, 10 years (121 months), 50 -> 250 -> 500
#: replications: +515 kB a replication, 872 B a strategy-month; monthly, 3 years (37
#: months), 50 -> 250: +164 kB, 906 B a strategy-month; summary, 10 years, 50 -> 500:
#: +16.5 kB a replication, 3.4 kB a strategy. The tables themselves (DataFrame
#: memory_usage, deep) are about half of the monthly figure: the rest is the copies made
#: while they are concatenated and written. The default command also compares the run it
#: wrote (the report reads the cash flows back): its peak RSS (`/usr/bin/time -v
#: hashpivot run.replications=N`, 6 strategies, 121 months, 2026-11-28) was 684 MB at 500
#: and 1,664 MB at 1,500 replications, 163 kB a strategy-replication, so 1,320 B a
#: strategy-month beyond the summary's; 900 B had left 2,000 replications' run at 2.2 GB
#: against an estimate of 1.35 GB.
MONTHLY_BYTES_PER_STRATEGY_MONTH = 1_350
SUMMARY_BYTES_PER_STRATEGY = 3_500
#: Memory each worker process adds (`run.executor=process`): its proportional set size
#: (PSS: the pages it shares with the parent it forked from counted by their share),
#: measured as the growth of the whole process tree's peak PSS between 1, 4 and 8 workers
#: (`hashpivot run.executor=process run.workers=K run.replications=400 run.detail=summary
#: 'strategy=[stay_mining,convert_all]'`, 2026-11-28, Linux x86-64): 291, 523 and 818 MB,
#: 75 MB a worker.
WORKER_BYTES = 80_000_000


def memory_needed_bytes(settings, n_strategies: int, detail: str | None = None) -> int:
    """Return the memory a run of `settings` needs for its tables, in bytes (an estimate).

    `detail` stands in for `run.detail` (to price the other choice).
    """
    run = settings.run
    replications = most_replications(run)
    per_strategy = SUMMARY_BYTES_PER_STRATEGY
    if (detail or run.detail) == "monthly":
        per_strategy += MONTHLY_BYTES_PER_STRATEGY_MONTH * math.ceil(run.horizon_years * 12 + 1)
    return replications * n_strategies * per_strategy


def most_replications(run) -> int:
    """Return the most replications a run of `run` (settings.run) may do: run.max_replications
    under run.until_confident, which alone reads it, else run.replications."""
    if run.until_confident is not None and run.max_replications:
        return max(run.replications, run.max_replications)
    return run.replications


#: A container's memory limit, its use and its use's breakdown: cgroup v2, then v1 (where
#: an unlimited v1 limit reads as about 2^63).
CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat",
     "inactive_file"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
     "/sys/fs/cgroup/memory/memory.stat", "total_inactive_file"),
)
NO_LIMIT = 2 ** 60


def available_memory_bytes(cgroup_files=CGROUP_FILES) -> int | None:
    """Return the memory a run may take, in bytes: MemAvailable from /proc/meminfo, or the
    room left under this container's cgroup limit if that is less (a container sees its
    host's meminfo); None where neither can be read."""
    found = [room for room in (_meminfo_available(), _cgroup_room(cgroup_files)) if room is not None]
    return min(found) if found else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room(cgroup_files) -> int | None:
    """Return the cgroup's limit less its working set (its use but the inactive page cache,
    which the kernel reclaims first), or None without a limit."""
    for limit_file, usage_file, stat_file, inactive_key in cgroup_files:
        try:
            limit = Path(limit_file).read_text(encoding="ascii").strip()
            usage = int(Path(usage_file).read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if limit == "max" or not limit.isdigit() or int(limit) >= NO_LIMIT:
            return None
        inactive = 0
        try:
            for line in Path(stat_file).read_text(encoding="ascii").splitlines():
                name, _, value = line.partition(" ")
                if name == inactive_key:
                    inactive = int(value)
        except (OSError, ValueError):
            pass
        return max(0, int(limit) - (usage - inactive))
    return None


def check_memory(settings, n_strategies: int, available: int | None = None, workers: int = 0) -> None:
    """Raise UserError if the run's tables and its `workers` worker processes (0: it runs in
    this process) would not fit in the memory available now."""
    available = available_memory_bytes() if available is None else available
    needed = memory_needed_bytes(settings, n_strategies)
    if available is None or needed + workers * WORKER_BYTES <= available:
        return
    if needed <= available:  # the tables fit: the workers are too many
        most = max(1, (available - needed) // WORKER_BYTES)
        raise UserError(f"run.workers={workers}: {workers} worker processes need about "
                        f"{_bytes(workers * WORKER_BYTES)} of memory (about {_bytes(WORKER_BYTES)} "
                        f"each) beside the run's tables ({_bytes(needed)}), more than the "
                        f"{_bytes(available)} available; set run.workers to at most {most}")
    run = settings.run
    count = most_replications(run)
    capped = run.until_confident is not None and run.max_replications
    key = "run.max_replications" if capped else "run.replications"
    per_replication = needed / count
    most = max(1, int((available - workers * WORKER_BYTES) // per_replication))
    text = (f"{key}={count}: needs about {_bytes(needed)} of memory with run.detail={run.detail} "
            f"({_bytes(per_replication)} a replication over {n_strategies} strategies), "
            f"more than the {_bytes(available)} available; ")
    if run.detail == "monthly":
        summary = memory_needed_bytes(settings, n_strategies, detail="summary")
        text += (f"set run.detail=summary (about {_bytes(summary / max(count, 1))} a "
                 f"replication) or {key} to at most {most}")
    else:
        text += f"set {key} to at most {most}"
    raise UserError(text)


def _bytes(count: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:,.1f} {unit}"
    return f"{count:.0f} B"
