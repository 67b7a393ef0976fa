"""How much memory a run's tables need, estimated before it starts, and what is available.

A run keeps its outcome tables in memory until they are written: the summary rows
always, the monthly cash flows and timeline with `run.detail=monthly`. `check_memory`
refuses, in one line with the estimate and the fix, a run that would not fit.
"""

from __future__ import annotations

import math
from pathlib import Path

from sim.errors import UserError

#: Peak memory a run adds, with run.detail=monthly, per strategy and simulated month of a
#: replication (its cash flows and timeline, joined from the chunks and written: about
#: twice the tables), and per simulated month of a replication whatever the strategies
#: (the comparison's grouping of ONE strategy's cash flows at a time by replication and
#: month, several times that strategy's rows, and the monthly world paths); and per
#: strategy and replication whatever the detail (summary row, world features, chunk
#: bookkeeping). A per-strategy figure alone (1,350 B a strategy-month until 2026-11-29,
#: fitted on runs of 5-6 strategies) priced a 1-strategy run at half its cost.
#:
#: Measured as the growth of the peak RSS (ru_maxrss) of the command's stages in one
#: fresh process, `sim.run(cfg, out_dir)`, `Result.save`, `compare_runs` (what `hashpivot`
#: does; robustness off, serial), between 200 and 1,600 replications of the first S of
#: stay_mining, convert_all, phased, threshold, real_option, build_to_suit:
#: `python scripts/memory_peak.py N monthly stay_mining [convert_all ...]
#: [run.horizon_years=3]`, 2026-11-29, Linux x86-64, numpy 2.4, pandas 3.1. In kB a
#: replication, measured / estimated:
#:   monthly, 10 years (121 months): S=1 293 / 367, S=2 399 / 491, S=3 446 / 616,
#:     S=6 734 / 989;
#:   monthly, 3 years (37 months): S=1 104 / 115, S=6 231 / 317;
#:   summary, 10 years: S=1 2.9 / 3.5, S=6 11.7 / 21.
#: The whole command's peak RSS (`/usr/bin/time -f %M hashpivot ... run.executor=process
#: run.compare=true run.robustness.replications=0`, 200 -> 1,600, two workers) grew 315 kB
#: a replication for S=1 and 891 kB for S=6 (10 years); the default command's 980 kB for
#: six (2026-11-28, 500 -> 1,500 replications, with robustness). The tables themselves
#: (DataFrame memory_usage, deep) are 74 kB a replication for one strategy over 10 years
#: (cash flows 57, timeline 9, world paths 8) and 402 kB for six. Each size's peak also
#: holds a fixed part (the comparison's plots, real_option's training: 40 to 220 MB), not
#: priced here.
MONTHLY_BYTES_PER_STRATEGY_MONTH = 1_000
MONTHLY_BYTES_PER_REPLICATION_MONTH = 2_000
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
    per_replication = n_strategies * SUMMARY_BYTES_PER_STRATEGY
    if (detail or run.detail) == "monthly":
        months = math.ceil(run.horizon_years * 12 + 1)
        per_replication += months * (n_strategies * MONTHLY_BYTES_PER_STRATEGY_MONTH
                                     + MONTHLY_BYTES_PER_REPLICATION_MONTH)
    return replications * per_replication


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
