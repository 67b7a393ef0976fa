"""Benchmark: strategy-replications per second of the default experiment, and peak memory.

Every measurement runs in a fresh Python process, so its peak memory is its own. Each
runs `sim.run` into a run directory, as `hashpivot` does (finished chunks written as
they come). `wall s` is that call alone: imports, composing the config and a warm-up
that starts every worker (and Ray) come before the clock. The warm-up also trains the
real_option policy, which `sim.policies` keeps for the process, so the timed run does not
train: the `real_option` section times training, and the `command` section includes it
(as a user's run does). `main MB` is the peak RSS of
the process that runs `sim.run` (the parent of the workers) during the run; it imports
what the run imports (`sim.compare`, which loads scipy.stats and matplotlib, only where
the report is timed). `worker MB` the largest peak RSS of its worker processes (shared
pages counted; Ray's workers are not its children, so not measured). `total MB` is the
peak of the summed proportional set size (PSS) of that process and all its descendants,
sampled every 0.25 s during the run (Linux only, else `-`): PSS divides each shared page
among the processes that map it, so the sum counts the machine's memory once, where the
RSS of forked workers counts the pages they share with their parent in each of them. A
sample can miss a peak shorter than 0.25 s; one takes about 4 ms per process (a 175 MB
one, on two busy cores), so the sampling thread holds under 2% of a core per process.
The `detail` section then times writing the tables (`Result.save`) and the report
(`compare_runs`) apart, each with its own peak RSS.

    python scripts/bench.py                      # default sections, ~5 min on 2 cores
    python scripts/bench.py --quick              # the same, with fewer replications
    python scripts/bench.py --workers 16 --sections executors   # scaling, 1..16 workers
    python scripts/bench.py --workers 2,16 --sections ceiling   # the machine's own: serial runs side by side
    python scripts/bench.py --sections chunks                  # serial, by run.chunk_size
    python scripts/bench.py --sections memory100k              # 100,000 replications
    python scripts/bench.py --sections memory100k-short        # the same, 3-month horizon
    python scripts/bench.py --sections profile --baseline c65e681   # where the time goes, then and now
    python scripts/bench.py --sections command --baseline c65e681   # the default `hashpivot`, end to end
    python scripts/bench.py --baseline c65e681 --sections executors --workers 1
                                          # each measurement also on that commit, side by side

With `--baseline COMMIT`, a git worktree of that commit is made in a temporary folder and
every measurement runs twice in turn, the baseline first, each in a fresh process that
imports that tree's `sim`; the findings add the ratios (absolute times drift between
runs on a shared machine, ratios measured side by side much less).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SECTIONS = ("executors", "ceiling", "replications", "chunks", "blocks", "horizon", "detail", "command",
            "memory100k", "memory100k-short", "real_option", "profile")
DEFAULT_SECTIONS = ("executors", "replications", "blocks", "horizon", "detail")
SUMMARY = ["run.detail=summary", "run.progress=false", "run.compare=false"]


# --- one measurement, in a fresh process -------------------------------------------------------------
def measure(spec: dict) -> dict:
    """Run one configuration (in this process) and return its timings and peak memory."""
    if "command" in spec:
        return measure_command(spec["command"])
    import sim

    overrides = spec["overrides"]
    if spec.get("if_present"):  # keys of a strategy that a baseline's experiment may lack
        strategies = sim.compose(overrides).strategy
        overrides = [*overrides, *(o for o in spec["if_present"]
                                   if o.split(".")[1] in strategies)]
    if spec.get("train"):
        return measure_training(overrides)
    if spec.get("profile"):
        return measure_profile(overrides)
    warm = sim.compose(overrides)  # warm up every worker (Ray's import sim on their first task)
    sim.run(sim.compose([*overrides, f"run.replications={warm.run.workers or 1}", "run.chunk_size=1"]))
    if spec.get("barrier"):  # one of several copies: start the clock when every copy is warm
        _wait_for_all(*spec["barrier"])
    cfg = sim.compose(overrides)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        began = time.perf_counter()
        with PssPeak() as total:
            result = sim.run(cfg, out_dir=out)
        m = dict(run_s=time.perf_counter() - began, strategy_replications=len(result.summary),
                 main_mb=_peak_rss_mb(), total_mb=total.peak_mb,
                 worker_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        if spec.get("save"):
            _reset_peak_rss()
            began = time.perf_counter()
            result.save(out)  # with run.json (complete), so the comparison reads it
            m.update(save_s=time.perf_counter() - began, save_mb=_peak_rss_mb())
            _write_run_info_before_rundir(cfg, out)
            del result
            _reset_peak_rss()
            began = time.perf_counter()
            from sim.compare import compare_runs  # only here: it loads scipy.stats and matplotlib

            compare_runs([out], out=out)
            m.update(report_s=time.perf_counter() - began, report_mb=_peak_rss_mb())
    return m


class PssPeak:
    """The peak summed PSS, in MB, of this process and its descendants over a `with` block.

    A thread sums /proc/<pid>/smaps_rollup's Pss over the process tree every `every_s`
    seconds. `peak_mb` is None where /proc has no smaps_rollup (not Linux).
    """

    def __init__(self, every_s: float = 0.25):
        self.every_s, self.peak_mb = every_s, None
        self._stop, self._thread = threading.Event(), None

    def __enter__(self) -> PssPeak:
        if Path("/proc/self/smaps_rollup").is_file():
            self.peak_mb = 0.0
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()

    def _sample(self) -> None:
        me = os.getpid()
        while True:
            kb = sum(_pss_kb(pid) for pid in [me, *_descendants(me)])
            self.peak_mb = max(self.peak_mb, kb / 1024)
            if self._stop.wait(self.every_s):
                return


def _pss_kb(pid: int) -> int:
    """Return the proportional set size of process `pid` in kB (0 once it has ended)."""
    try:
        match = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
    except OSError:
        return 0
    return int(match[1]) if match else 0


def _descendants(pid: int) -> list[int]:
    """Return the pids of the children of `pid`, their children, and so on (as /proc lists them)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            threads = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for thread in threads:
            try:
                children = [int(c) for c in Path(f"/proc/{parent}/task/{thread}/children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def _wait_for_all(folder: str, copies: int, patience_s: float = 900) -> None:
    """Leave a file in `folder`, then wait until `copies` processes have left theirs (a copy
    that failed before leaving its file ends the wait after `patience_s`, as a failure)."""
    Path(folder, str(os.getpid())).touch()
    given_up = time.monotonic() + patience_s
    while len(os.listdir(folder)) < copies:
        if time.monotonic() > given_up:
            raise SystemExit(f"bench: only {len(os.listdir(folder))} of {copies} copies started")
        time.sleep(0.01)


def measure_command(overrides: list[str]) -> dict:
    """Run the `hashpivot` command line in this process, as a user would; time it from the imports on."""
    began = time.perf_counter()
    from sim.cli import main as hashpivot

    with tempfile.TemporaryDirectory() as tmp, PssPeak() as total:
        out = Path(tmp) / "run"
        code = hashpivot([*overrides, f"hydra.run.dir={out}"])
        run_s = time.perf_counter() - began
        if code:
            raise SystemExit(f"hashpivot {' '.join(overrides)} exited with {code}")
        import pandas

        rows = len(pandas.read_parquet(out / "summary.parquet", columns=["replication"]))
    return dict(run_s=run_s, strategy_replications=rows, main_mb=_peak_rss_mb(), total_mb=total.peak_mb,
                worker_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def measure_training(overrides: list[str]) -> dict:
    """Train the real_option policy of `overrides` once; its 'replications' are engine runs."""
    import sim
    from sim.config_checks import settings
    from sim.config_objects import build_strategies
    from sim.executors import make_executor
    from sim.realoptions.training import train

    cfg = settings(sim.compose(overrides))
    spread = ("mapper" in inspect.signature(train).parameters  # older trees train here only
              and cfg.run.executor != "serial")  # as sim.policies: one worker trains here
    executor = make_executor(cfg) if spread else None
    spread_over = {}
    if spread:  # as sim.policies: the executor's map, and its workers where train takes them
        spread_over["mapper"] = executor.map
        if "workers" in inspect.signature(train).parameters:
            spread_over["workers"] = executor.workers
    began = time.perf_counter()
    try:
        policy = train(cfg, build_strategies(cfg)["real_option"], **spread_over)
    finally:
        if executor is not None:
            executor.close()
    return dict(run_s=time.perf_counter() - began, strategy_replications=policy.engine_runs,
                main_mb=_peak_rss_mb(),
                worker_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


#: Where the time of a serial run goes: (part, [(file, function), ...]) summed by cumulative
#: time. Names from before a refactor are listed too, so a baseline commit is measured alike;
#: an indented part is inside the one above it.
PARTS = (
    # a tree samples its worlds one by one (sample_world) or a chunk's together (sample_worlds),
    # and its economic network alone (NetworkBase.sample) or in a batch (sample_batch)
    ("world sampling", [("sim/world.py", "sample_world"), ("sim/world.py", "sample_worlds")]),
    ("  the network", [("sim/processes/network.py", "sample"),
                       ("sim/processes/network_economic.py", "sample_batch")]),
    ("  plug-in checks", [("sim/world.py", "validate_output"), ("sim/boundary.py", "validate_output")]),
    ("engine (simulate)", [("sim/site.py", "simulate")]),
    ("  SimPy's own", "simpy"),
    ("ledger (Account)", [("sim/ledger.py", "__init__"), ("sim/ledger.py", "summary")]),
    ("  financing", [("sim/finance/equity.py", "financing")]),
    ("  IRR", [("sim/economics.py", "irr"), ("sim/ledger.py", "irr")]),
)


def measure_profile(overrides: list[str]) -> dict:
    """Profile one serial run and return each part's share of the replications' time."""
    import cProfile
    import pstats

    import sim

    sim.run(sim.compose([*overrides, "run.replications=1", "run.chunk_size=1"]))  # trains, imports
    cfg = sim.compose(overrides)
    profile = cProfile.Profile()
    began = time.perf_counter()
    profile.enable()
    result = sim.run(cfg)
    profile.disable()
    run_s = time.perf_counter() - began
    stats = pstats.Stats(profile).stats  # {(file, line, function): (cc, nc, tottime, cumtime, callers)}
    chunks = sum(v[3] for (f, _, name), v in stats.items()
                 if f.endswith("sim/montecarlo.py") and name == "run_chunk")
    shares = {}
    for part, where in PARTS:
        if where == "simpy":
            seconds = sum(v[2] for (f, _, _), v in stats.items() if "/simpy/" in f)
        else:
            seconds = sum(v[3] for (f, _, name), v in stats.items()
                          if any(f.endswith(file) and name == fn for file, fn in where))
        shares[part] = seconds / chunks if chunks else float("nan")
    return dict(run_s=run_s, strategy_replications=len(result.summary), main_mb=_peak_rss_mb(),
                worker_mb=0.0, chunks_s=chunks, shares=shares)


def _write_run_info_before_rundir(cfg, out: Path) -> None:
    """Write run.json as the CLI did before `Result.save` wrote it (for --baseline trees)."""
    if (out / "run.json").is_file():
        return
    from sim.cli import run_info  # only trees before sim/rundir.py
    from sim.result import write_json

    write_json(out / "run.json", run_info(cfg, "complete", "-"))


def _reset_peak_rss() -> None:
    """Start this process's peak RSS afresh from its current RSS (Linux; elsewhere a no-op)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    """Return this process's peak RSS in MB (VmHWM on Linux: unlike ru_maxrss, not inherited)."""
    status = Path("/proc/self/status")
    if status.is_file():
        match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
        if match:
            return int(match[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def run_fresh(spec: dict, tree: Path | None = None) -> dict:
    """Return `measure(spec)` from a fresh Python process (importing `sim` from `tree`, if given).

    With `spec["copies"]` = n, n such processes measure it at once, each its own serial
    run, their clocks started together: the machine's own scaling, with no executor. Then
    the time is the slowest copy's, the strategy-replications all of theirs.
    """
    env = dict(os.environ, PYTHONPATH=str(tree)) if tree else None
    copies = spec.get("copies", 1)
    with tempfile.TemporaryDirectory() as barrier:
        one = {k: v for k, v in spec.items() if k != "copies"}
        if copies > 1:
            one["barrier"] = [barrier, copies]
        runs = [subprocess.Popen([sys.executable, __file__, "--measure", json.dumps(one)], text=True, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(copies)]
        outputs = [(run.communicate(), run.returncode) for run in runs]
    for (_, err), code in outputs:
        if code:
            raise SystemExit(f"bench: {spec.get('overrides', spec.get('command'))} failed:\n{err[-3000:]}")
    ms = [json.loads(out.strip().splitlines()[-1]) for (out, _), _ in outputs]
    if copies == 1:
        return ms[0]
    totals = [m.get("total_mb") for m in ms]
    return dict(run_s=max(m["run_s"] for m in ms), main_mb=max(m["main_mb"] for m in ms), worker_mb=0,
                total_mb=sum(totals) if None not in totals else None,  # each copy's own peak
                strategy_replications=sum(m["strategy_replications"] for m in ms))


# --- the sections -----------------------------------------------------------------------------------
def executor_runs(executor: str, workers: int) -> list[str]:
    """Return the overrides that run on `executor` with `workers` workers."""
    return [f"run.executor={executor}"] + ([f"run.workers={workers}"] if executor != "serial" else [])


def worker_counts(most: int) -> list[int]:
    """Return 1, 2, 4, ... up to `most` (and `most` itself)."""
    counts, n = [], 1
    while n < most:
        counts.append(n)
        n *= 2
    return counts + [most]


def has_ray() -> bool:
    """Return whether Ray is installed."""
    try:
        import ray  # noqa: F401  (only whether it imports)
    except ImportError:
        return False
    return True


def plan(sections, workers: int | list[int], quick: bool, ray: bool = True) -> list[tuple[str, str, dict]]:
    """Return (section, label, spec) of every measurement to make (Ray's only if `ray`).

    `workers`: the most workers (executors measured at 1, 2, 4, ... up to it), or the list of
    worker counts to measure them at (the other sections use its largest).
    """
    counts = worker_counts(workers) if isinstance(workers, int) else sorted(set(workers))
    workers = counts[-1]
    k = 10 if quick else 1
    reps = 1000 // k
    parallel = executor_runs("process", workers)
    todo = []
    if "executors" in sections:
        todo.append(("executors", "serial", SUMMARY + [f"run.replications={reps}", "run.executor=serial"]))
        for executor in ("process", "ray") if ray and has_ray() else ("process",):
            for n in counts:
                todo.append(("executors", f"{executor} ×{n}",
                             SUMMARY + [f"run.replications={reps}", *executor_runs(executor, n)]))
    if "ceiling" in sections:  # the machine's own scaling: serial runs side by side, no executor
        for n in [1] + [n for n in counts if n > 1]:
            todo.append(("ceiling", f"{n} serial run{'s' * (n > 1)} side by side",
                         dict(overrides=SUMMARY + [f"run.replications={reps // 5}", "run.executor=serial"],
                              copies=n)))
    if "replications" in sections:
        for n in (1000 // k, 10_000 // k):
            todo.append(("replications", f"{n:,} replications", SUMMARY + [f"run.replications={n}", *parallel]))
    if "chunks" in sections:  # a chunk's worlds are sampled together (up to sim.world.WORLDS_PER_BATCH)
        for size in (10, 50, 100):
            todo.append(("chunks", f"serial, chunks of {size}",
                         SUMMARY + [f"run.replications={400 // k}", "run.executor=serial",
                                    f"run.chunk_size={size}"]))
    if "blocks" in sections:
        for blocks in (10, 100, 1000):
            todo.append(("blocks", f"{blocks} blocks, 100 MW",
                         SUMMARY + [f"run.replications={200 // k}", *parallel, f"site.blocks={blocks}"]))
        # real_option decides in 2 tranches, as on the default site: the engine's scaling,
        # not training's (a rule per 5-block project would train 200 rules at 1,000 blocks)
        for blocks in (10, 100, 1000):
            todo.append(("site size", f"{blocks} blocks, {blocks * 10:,} MW, {blocks * 3 // 10} crews",
                         dict(overrides=SUMMARY + [f"run.replications={200 // k}", *parallel,
                                                   f"site.blocks={blocks}", f"site.grid_mw={blocks * 10}",
                                                   f"site.crews={blocks * 3 // 10}"],
                              if_present=[f"strategy.real_option.tranche_blocks={blocks // 2}"])))
    if "horizon" in sections:
        for years in (5, 10, 20):
            todo.append(("horizon", f"{years} years", SUMMARY + [f"run.replications={500 // k}", *parallel,
                                                                 f"run.horizon_years={years}"]))
    if "detail" in sections:
        for detail in ("summary", "monthly"):
            todo.append(("detail", f"detail={detail}, run + save + report",
                         dict(overrides=[f"run.replications={reps}", *parallel, f"run.detail={detail}",
                                         "run.progress=false", "run.compare=false"], save=True)))
    if "command" in sections:  # what a user waits for: `hashpivot`, imports, report and all
        todo.append(("command", f"hashpivot run.replications={reps}",
                     dict(command=[f"run.replications={reps}"])))
    if "memory100k" in sections:
        todo.append(("memory100k", f"{100_000 // k:,} replications, summary",
                     SUMMARY + [f"run.replications={100_000 // k}", *parallel]))
    if "memory100k-short" in sections:  # the same tables and chunks in a fifth of the time
        todo.append(("memory100k", f"{100_000 // k:,} replications, 3 months",
                     SUMMARY + [f"run.replications={100_000 // k}", *parallel, "run.horizon_years=0.25"]))
    if "profile" in sections:  # serial, under cProfile: the shares of the time, not the speed
        todo.append(("profile", "serial, cProfile, shares of the time", dict(overrides=SUMMARY + [
            f"run.replications={max(reps // 5, 20)}", "run.executor=serial"], profile=True)))
    if "real_option" in sections:  # training once, then the cost a replication of acting on it
        runs_on = {"serial": executor_runs("serial", 1)}
        if workers > 1:
            runs_on[f"process x{workers}"] = parallel
        for where, overrides in runs_on.items():
            todo.append(("real_option", f"training: engine runs (64 worlds), {where}",
                         dict(overrides=["strategy=real_option", *SUMMARY, *overrides], train=True)))
        for name in ("convert_all", "real_option"):
            todo.append(("real_option", f"strategy={name}, serial",
                         SUMMARY + [f"run.replications={reps}", f"strategy={name}", "run.robustness.replications=0"]))
    return [(s, label, spec if isinstance(spec, dict) else {"overrides": spec}) for s, label, spec in todo]


# --- reporting ---------------------------------------------------------------------------------------
def yaml_defaults_strategies() -> list[str]:
    """Return the strategies of the default experiment (conf/config.yaml's defaults list)."""
    text = (ROOT / "conf" / "config.yaml").read_text()
    block = re.search(r"- strategy:\n((?:\s+- \w+.*\n)+)", text)
    return [name for name in re.findall(r"- (\w+)", block[1]) if name != "_self_"] if block else []


def machine() -> str:
    """Return one line describing this machine and the library versions."""
    import numpy
    import pandas

    cpu = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match[1].strip() if match else cpu
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    if Path("/proc/meminfo").is_file():
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
        memory = f", {kb / 2**20:.0f} GiB"
    return (f"{cores} cores ({cpu}){memory}; Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, pandas {pandas.__version__}")


def row(section: str, label: str, m: dict) -> str:
    rate = m["strategy_replications"] / m["run_s"]
    extra = ""
    if "save_s" in m:
        extra = (f"  save {m['save_s']:.1f} s, {m['save_mb']:.0f} MB; "
                 f"report {m['report_s']:.1f} s, {m['report_mb']:.0f} MB")
    worker = f"{m['worker_mb']:11.0f}" if m["worker_mb"] else f"{'-':>11}"
    total = f"{m['total_mb']:10.0f}" if m.get("total_mb") else f"{'-':>10}"
    return (f"{section:<13}{label:<38}{m['strategy_replications']:>9,}{rate:>10,.0f}"
            f"{m['run_s']:>9.1f}{m['main_mb']:>10.0f}{worker}{total}{extra}")


def findings(results: dict, baseline: dict, commit: str | None) -> list[str]:
    """Return the lines that set the measurements against the issue's targets."""
    lines = []
    serial = results.get(("executors", "serial"))
    for executor in ("process", "ray"):
        runs = {int(label.split("×")[1]): m for (s, label), m in results.items()
                if s == "executors" and label.startswith(executor)}
        if serial and runs:  # the speed-up: serial's wall time over the executor's (same work)
            lines.append(f"{executor} against serial (speed-up; targets: x1.8 at 2 workers, x12 at 16): "
                         + ", ".join(f"x{serial['run_s'] / m['run_s']:.2f} at {n}"
                                     for n, m in sorted(runs.items())))
    alone = results.get(("ceiling", "1 serial run side by side"))
    side = {int(label.split()[0]): m for (s, label), m in results.items() if s == "ceiling"}
    if alone and len(side) > 1:  # what the executors can reach on this machine
        rate = alone["strategy_replications"] / alone["run_s"]
        ceiling = {n: m["strategy_replications"] / m["run_s"] / rate for n, m in side.items() if n > 1}
        lines.append("ceiling (n serial runs side by side, no executor; throughput against one run): "
                     + ", ".join(f"x{x:.2f} at {n}" for n, x in sorted(ceiling.items())))
        for executor in ("process", "ray") if serial else ():  # how much of the machine's own an executor gets
            reached = {n: serial["run_s"] / m["run_s"] / ceiling[n] for (s, label), m in results.items()
                       if s == "executors" and label.startswith(executor)
                       and (n := int(label.split("×")[1])) in ceiling}
            if reached:
                lines.append(f"{executor} against the ceiling (its speed-up over the ceiling's at as many): "
                             + ", ".join(f"{x:.0%} at {n}" for n, x in sorted(reached.items())))
    for section, what in (("blocks", "the same 100 MW split finer"),
                          ("site size", "a larger site, crews in proportion")):
        times = [m["run_s"] / m["strategy_replications"] for (s, _), m in results.items() if s == section]
        if len(times) == 3:
            lines.append(f"{what}: time per strategy-replication x{times[1] / times[0]:.2f} at "
                         f"100 blocks, x{times[2] / times[0]:.2f} at 1,000 (blocks x10, x100)")
    horizon = {int(label.split()[0]): m["run_s"] / m["strategy_replications"] * 1e3
               for (s, label), m in results.items() if s == "horizon"}
    if len(horizon) == 3:
        years, ms = zip(*sorted(horizon.items()))
        slope, intercept = _line(years, ms)
        worst = max(abs(intercept + slope * y - t) / t for y, t in zip(years, ms))
        lines.append(f"horizon: wall per strategy-replication {intercept:.2f} ms + {slope:.2f} ms a year "
                     f"(a line through 5, 10, 20 years, off by {worst:.0%} at most); "
                     f"x{ms[1] / ms[0]:.2f} at 10 years, x{ms[2] / ms[0]:.2f} at 20")
    detail = {label.split(",")[0]: m for (s, label), m in results.items() if s == "detail"}
    if len(detail) == 2:
        a, b = detail["detail=summary"], detail["detail=monthly"]
        lines.append(f"detail: monthly adds {b['run_s'] - a['run_s']:.1f} s to the run, "
                     f"{b['save_s']:.1f} s to save the monthly tables and {b['report_s']:.1f} s "
                     f"for the report (summary: {a['save_s']:.1f} s, {a['report_s']:.1f} s)")
    for (section, label), m in results.items():
        if "shares" in m:
            lines += profile_lines(m, baseline.get((section, label)), commit)
    return lines


def report(results: dict, baseline: dict, commit: str | None) -> None:
    """Print the findings and, with a baseline, the ratios."""
    for line in findings(results, baseline, commit):
        print(line)
    for (section, label), m in baseline.items():
        now = results[(section, label)]
        per_now = now["run_s"] / now["strategy_replications"]
        per_then = m["run_s"] / m["strategy_replications"]
        total = ""
        if now.get("total_mb") and m.get("total_mb"):
            total = f"; peak total PSS {now['total_mb']:.0f} vs {m['total_mb']:.0f} MB"
        print(f"against {commit}: {section} {label}: time per strategy-replication "
              f"{per_now * 1e3:.2f} ms vs {per_then * 1e3:.2f} ms (x{per_now / per_then:.2f}); "
              f"peak main RSS {now['main_mb']:.0f} vs {m['main_mb']:.0f} MB{total}")


def _line(x, y) -> tuple[float, float]:
    """Return the least-squares (slope, intercept) of y against x."""
    mx, my = sum(x) / len(x), sum(y) / len(y)
    slope = sum((a - mx) * (b - my) for a, b in zip(x, y)) / sum((a - mx) ** 2 for a in x)
    return slope, my - slope * mx


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", default=",".join(DEFAULT_SECTIONS),
                        help=f"comma-separated, from {', '.join(SECTIONS)} (default: %(default)s)")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--workers", default=str(cores),
                        help="most workers: executors are measured at 1, 2, 4, ... up to it; or a "
                             "comma-separated list of the worker counts to measure, e.g. 4,16 "
                             "(default: the %(default)s cores)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the replications")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also measure this git commit, side by side, and report ratios")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(json.loads(args.measure))))
        return 0
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    try:
        counts = [int(n) for n in args.workers.split(",")]
    except ValueError:
        counts = []
    if not counts or not all(1 <= n <= cores for n in counts):
        parser.error(f"--workers={args.workers}: must be a number, or comma-separated numbers, "
                     f"in [1, {cores}] (this machine's cores)")
    workers = counts[0] if len(counts) == 1 else counts

    print(f"hashpivot benchmark — {machine()}")
    strategies = len(yaml_defaults_strategies())
    print(f"default experiment: {strategies} strategies, 10 years, daily; {'quick' if args.quick else 'full'} sizes")
    print(f"{'section':<13}{'configuration':<38}{'strat-reps':>9}{'per s':>10}{'wall s':>9}"
          f"{'main MB':>10}{'worker MB':>11}{'total MB':>10}")
    print("(strat-reps: strategy-replications; per s: strategy-replications per second)")
    results, baseline = {}, {}
    began = time.perf_counter()
    tree = _worktree(args.baseline) if args.baseline else None
    try:
        if tree and has_ray() and "executors" in sections:
            print("(Ray is left out with --baseline: its workers import the installed hashpivot, "
                  "not the baseline's tree)")
        for section, label, spec in plan(sections, workers, args.quick, ray=tree is None):
            if tree:
                baseline[(section, label)] = run_fresh(spec, tree)
                print(row(section, f"{label} [{args.baseline}]", baseline[(section, label)]), flush=True)
            results[(section, label)] = run_fresh(spec)
            print(row(section, label, results[(section, label)]), flush=True)
    finally:
        if tree:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)
            shutil.rmtree(tree.parent, ignore_errors=True)
    print()
    report(results, baseline, args.baseline)
    print(f"benchmark wall time: {time.perf_counter() - began:.0f} s")
    return 0


def profile_lines(m: dict, then: dict | None, commit: str | None) -> list[str]:
    """Return a table of where the replications' time goes (and the baseline's, if measured)."""
    head = f"{'where the replications spend their time (cProfile)':<52}{'share':>8}"
    lines = [head + (f"{commit:>12}" if then else "")]
    for part, share in m["shares"].items():
        old = then["shares"].get(part, float("nan")) if then else None
        lines.append(f"{part:<52}{share:>8.1%}" + (f"{old:>12.1%}" if then else ""))
    per = m["chunks_s"] / m["strategy_replications"] * 1e3
    line = f"{'ms per strategy-replication under the profiler':<52}{per:>8.2f}"
    if then:
        line += f"{then['chunks_s'] / then['strategy_replications'] * 1e3:>12.2f}"
    return lines + [line]


def _worktree(commit: str) -> Path:
    """Return a fresh git worktree of `commit` in a temporary folder."""
    tree = Path(tempfile.mkdtemp(prefix="hashpivot-baseline-")) / "tree"
    done = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), commit],
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"bench: --baseline {commit}: {done.stderr.strip()}")
    return tree


if __name__ == "__main__":
    sys.exit(main())
