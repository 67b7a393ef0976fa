"""Monte Carlo at scale: the same numbers whatever runs them, kept on disk as they finish.

Replication k's world depends only on (run.seed, k): executors, workers and chunk sizes
only move work around, a shorter run is a prefix of a longer one, and a rerun into the
same run directory resumes from the chunks there and ends where a clean run ends.
"""

import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from omegaconf import OmegaConf

import sim
import sim.executors
import sim.montecarlo as montecarlo
from constant_market import SIMPLE_TERMS
from sim.cli import main
from sim.errors import UserError
from sim.executors import SerialExecutor
from sim.montecarlo import Progress
from sim.rundir import TABLES, ChunkStore
from trained import QUICK_TRAINING

ROOT = Path(__file__).resolve().parents[1]
HASHPIVOT = str(Path(sys.executable).with_name("hashpivot"))


def assert_same(a, b, tables=TABLES):
    for name in tables:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


@pytest.fixture(scope="module")
def reference():
    """A clean serial run of 12 replications, every table kept (on compose_small's terms, with
    real_option trained on few worlds: the tests compare runs, not policies)."""
    return sim.run(sim.compose(["run.replications=12", "run.progress=false", "run.chunk_size=5",
                                *SIMPLE_TERMS, *QUICK_TRAINING]))


# --- seeds ------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides", [
    ["run.chunk_size=1"],
    ["run.chunk_size=50"],
    ["run.executor=process", "run.workers=2", "run.chunk_size=3"],
    ["run.executor=process", "run.workers=1", "run.chunk_size=7"],
])
def test_executors_workers_and_chunk_sizes_give_identical_tables(compose_small, reference, overrides):
    assert_same(sim.run(compose_small("run.replications=12", *QUICK_TRAINING, *overrides)), reference)


@given(workers=st.integers(1, 64), replications=st.integers(1, 100_000), most=st.integers(1, 500))
def test_chunks_give_each_worker_four_when_there_are_enough(workers, replications, most):
    size = montecarlo.chunk_size(OmegaConf.create({"run": {"chunk_size": most}}), workers, replications)
    assert 1 <= size <= most
    if workers == 1:
        assert size == most  # a serial run keeps the chunks it always had
    elif size < most:
        share = montecarlo.CHUNKS_PER_WORKER * workers
        assert -(-replications // size) >= min(replications, share)  # enough chunks
        assert replications // (size + 1) < share  # and none smaller than that needs


class _FourWorkers(SerialExecutor):
    """A serial executor that says it has four workers, and keeps the chunks it runs."""

    def __init__(self, run_cfg):
        self.workers, self.chunks = 4, []

    def map(self, fn, cfg, chunks, tick):
        if fn is montecarlo.run_chunk:
            self.chunks += chunks
        return super().map(fn, cfg, chunks, tick)


def test_a_run_on_several_workers_cuts_smaller_chunks_and_the_same_tables(compose_small, reference,
                                                                           monkeypatch):
    pools = []
    monkeypatch.setattr(montecarlo, "make_executor", lambda cfg: pools.append(_FourWorkers(cfg)) or pools[-1])
    result = sim.run(compose_small("run.replications=12", "run.chunk_size=50", *QUICK_TRAINING))
    assert pools[0].chunks == [(k, k + 1) for k in range(12)]  # 12 // 16 -> 1: 12 chunks, not one
    assert_same(result, reference)


def test_fewer_replications_give_the_first_rows(compose_small):
    long = sim.run(compose_small("run.replications=40", "run.chunk_size=7", "run.detail=summary",
                                 *QUICK_TRAINING))
    short = sim.run(compose_small("run.replications=10", "run.chunk_size=7", "run.detail=summary",
                                  *QUICK_TRAINING))
    first = long.summary[long.summary["replication"] < 10].reset_index(drop=True)
    pd.testing.assert_frame_equal(short.summary, first, check_exact=True)


def test_summary_detail_keeps_one_row_per_strategy_replication(compose_small, reference):
    result = sim.run(compose_small("run.replications=12", "run.detail=summary", *QUICK_TRAINING))
    assert len(result.summary) == 12 * 6 and result.cashflows.empty and result.timeline.empty
    assert_same(result, reference, tables=("summary", "worlds"))


# --- chunks on disk and resume ------------------------------------------------------------
def test_a_rerun_resumes_from_finished_chunks_of_any_size(compose_small, reference, tmp_path, monkeypatch):
    sim.run(compose_small("run.replications=7", "run.chunk_size=5", *QUICK_TRAINING), out_dir=tmp_path)
    ran = []
    real = montecarlo.run_chunk
    monkeypatch.setattr(montecarlo, "run_chunk", lambda cfg, a, b, p: ran.append((a, b)) or real(cfg, a, b, p))
    resumed = sim.run(compose_small("run.replications=12", "run.chunk_size=4", "run.executor=serial",
                                    *QUICK_TRAINING), out_dir=tmp_path)
    assert ran == [(7, 8), (8, 12)]
    assert_same(resumed, reference)
    ran.clear()
    again = sim.run(compose_small("run.replications=12", *QUICK_TRAINING), out_dir=tmp_path)  # all on disk now
    assert ran == [] and sorted(ChunkStore(tmp_path).finished()) == [(0, 5), (5, 7), (7, 8), (8, 12)]
    assert_same(again, reference)


def test_a_half_written_chunk_is_discarded(compose_small, reference, tmp_path):
    sim.run(compose_small("run.replications=5", "run.chunk_size=5", *QUICK_TRAINING), out_dir=tmp_path)
    half = tmp_path / "chunks" / ".tmp-000000005-4242"
    half.mkdir()
    (half / "summary.parquet").write_bytes(b"PAR1 truncated")
    resumed = sim.run(compose_small("run.replications=12", "run.chunk_size=5", *QUICK_TRAINING),
                      out_dir=tmp_path)
    assert not half.exists()
    assert_same(resumed, reference)


def test_a_run_directory_of_another_config_is_refused(compose_small, tmp_path):
    compose_small = functools.partial(compose_small, "strategy=[stay_mining,phased]")
    sim.run(compose_small("run.replications=2", "run.seed=1"), out_dir=tmp_path)
    with pytest.raises(UserError, match=r"another config \(differs at run.seed \(1 there, 2 now\)\); "
                                        r"choose a new out_dir$"):
        sim.run(compose_small("run.replications=2", "run.seed=2"), out_dir=tmp_path)
    with pytest.raises(UserError, match=r"site.blocks \(10 there, 20 now\)"):
        sim.run(compose_small("run.replications=2", "run.seed=1", "site.blocks=20"), out_dir=tmp_path)
    assert ChunkStore(tmp_path).finished() == [(0, 2)]  # nothing was mixed in
    # how a run is executed is not part of what it computes
    sim.run(compose_small("run.replications=3", "run.seed=1", "run.chunk_size=2", "run.executor=process",
                          "run.workers=1", "run.progress=true", "run.compare=true"), out_dir=tmp_path)


@pytest.mark.parametrize("given, says", [
    ("a_file", "out_dir={path!r}: exists and is not a directory"),
    (3, "out_dir=3: a folder's path (a str or pathlib.Path), not int"),
])
def test_an_out_dir_that_cannot_hold_a_run_is_named(compose_small, tmp_path, given, says):
    """sim.run(cfg, out_dir=<a file>) ended in FileExistsError from pathlib's mkdir, and
    out_dir=3 in a TypeError, neither naming out_dir."""
    path = tmp_path / "a_file"
    path.write_text("mine")
    out_dir = str(path) if given == "a_file" else given
    with pytest.raises(UserError, match=re.escape(says.format(path=str(path)))):
        sim.run(compose_small("run.replications=1", "strategy=stay_mining"), out_dir=out_dir)
    assert path.read_text() == "mine"


# --- progress ---------------------------------------------------------------------------------
def test_progress_counts_each_replication_once_even_when_reported_twice(compose_small):
    progress = Progress(compose_small("run.progress=true"), total=10, initial=2, todo=[(2, 6), (6, 10)])
    progress.tick(2, 3)
    progress.tick(2, 3)      # a retried task reports its replications again
    progress.tick(6, 1)
    progress.finish((2, 6))
    progress.finish((6, 10))
    assert progress.bar.n == 10
    progress.close()


def test_one_bar_counts_replications_across_workers(compose_small, capsys):
    sim.run(compose_small("run.replications=12", "run.chunk_size=4", "run.executor=process",
                          "run.detail=summary", "run.progress=true"))
    err = capsys.readouterr().err
    assert "replications" in err and "12/12" in err and "rep/s" in err and "13/12" not in err


def test_until_confidents_later_looks_go_on_counting_replications(compose_small, capsys):
    """Each look had a bar of its own from 0 ('replications: 50/50' for replications 70 to
    119), which read as a run of 50: each now counts from replication 0 ('120/120')."""
    result = sim.run(compose_small("strategy=[phased,convert_all,real_option]",
                                   "run.replications=20", "run.until_confident=0.95",
                                   "run.max_replications=300", "run.detail=summary",
                                   "run.progress=true", *QUICK_TRAINING))
    done = result.info["until_confident"]["replications"]
    bars = [line for line in re.split(r"[\r\n]", capsys.readouterr().err) if "rep/s" in line]
    ends = [int(m.group(1)) for m in (re.search(r"\| *(\d+)/(\d+) \[", b) for b in bars) if m
            and m.group(1) == m.group(2)]
    looks = list(dict.fromkeys(ends))  # each look's bar, once (tqdm prints a full bar twice)
    assert done > 20 and looks[0] == 20 and looks[-1] == done
    assert looks == sorted(looks)


def test_progress_false_is_silent(compose_small, capsys):
    sim.run(compose_small("run.replications=2", "run.executor=process", "run.progress=false"))
    assert capsys.readouterr().err == ""


# --- Ray ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ray_session():
    """Ray, started by the first test that needs it and shut down after this module."""
    ray = pytest.importorskip("ray")
    yield ray
    if ray.is_initialized():
        ray.shutdown()


@pytest.mark.slow
def test_ray_gives_the_same_tables_as_serial(compose_small, reference, ray_session, capsys):
    cfg = compose_small("run.replications=12", "run.executor=ray", "run.workers=2",
                        "run.chunk_size=3", "run.progress=true", *QUICK_TRAINING)
    for _ in range(2):  # the second run shares the first's progress actor, not its reports
        assert_same(sim.run(cfg), reference)
        err = capsys.readouterr().err
        assert "12/12" in err and "13/12" not in err
    assert len(sim.executors._TALLIES) == 1


def dies_on_first_try(cfg, start, stop, progress):
    """A chunk function whose worker is killed (SIGKILL) the first time it runs chunk 0."""
    marker = Path(cfg) / f"tried-{start}"
    if start == 0 and not marker.exists():
        marker.touch()
        progress(1)
        os.kill(os.getpid(), signal.SIGKILL)
    for _ in range(start, stop):
        progress(1)
    return list(range(start, stop))


@pytest.mark.slow
def test_ray_retries_a_task_whose_worker_died(ray_session, tmp_path):
    from ray import cloudpickle

    from sim.executors import RayExecutor

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray's workers cannot import tests
    run_cfg = sim.compose(["run.executor=ray"]).run
    progress = Progress(sim.compose(["run.progress=true"]), total=9, initial=0, todo=[(0, 3), (3, 6), (6, 9)])
    ex = RayExecutor(run_cfg)
    try:
        results = dict(ex.map(dies_on_first_try, str(tmp_path), [(0, 3), (3, 6), (6, 9)], progress.tick))
        for chunk in results:
            progress.finish(chunk)
    finally:
        ex.close()
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert results == {(0, 3): [0, 1, 2], (3, 6): [3, 4, 5], (6, 9): [6, 7, 8]}
    assert (tmp_path / "tried-0").exists() and progress.bar.n == 9
    progress.close()


# --- memory -------------------------------------------------------------------------------------
PEAK_RSS = """
import re, sys
from pathlib import Path
import sim
quick = ["run.progress=false", "run.compare=false", "strategy=stay_mining", "run.horizon_years=2",
         "run.detail=" + sys.argv[2]]
sim.run(sim.compose(["run.replications=1", *quick]))
sim.run(sim.compose(["run.replications=" + sys.argv[1], *quick]))
print(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1])
"""


def peak_rss_bytes(replications: int, detail: str) -> int:
    """Return the peak RSS of a fresh process that runs `replications` (VmHWM: not inherited)."""
    out = subprocess.run([sys.executable, "-c", PEAK_RSS, str(replications), detail],
                         capture_output=True, text=True, check=True)
    return int(out.stdout) * 1024


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_summary_only_memory_does_not_grow_with_replications():
    sizes = (100, 300, 700)
    summary = [peak_rss_bytes(n, "summary") for n in sizes]
    monthly = [peak_rss_bytes(n, "monthly") for n in (sizes[0], sizes[-1])]
    per_replication = (summary[-1] - summary[0]) / (sizes[-1] - sizes[0])
    monthly_per_replication = (monthly[-1] - monthly[0]) / (sizes[-1] - sizes[0])
    assert monthly_per_replication > 20_000, monthly  # the measurement can see growth...
    # ...and summary-only runs have little: their rows, and the allocator's high-water mark
    # creeping up (3-6 kB a replication measured at 100-4,000 replications, falling with
    # size; Python's own allocations, by tracemalloc, grow about 2 kB).
    assert per_replication < 8_000, summary


# --- the command line: kill, interrupt, resume --------------------------------------------------
RUN = ["run.executor=process", "run.workers=2", "run.chunk_size=10", "run.detail=summary",
       "run.compare=false", "run.progress=false", "'strategy=[stay_mining,phased]'",
       "run.horizon_years=3", "run.robustness.replications=0"]  # about chunks, not the model


def hashpivot(*args, **popen):
    return subprocess.Popen([HASHPIVOT, *(a.strip("'") for a in args)], cwd=popen.pop("cwd"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def as_from_a_terminal() -> None:
    """In a child about to run a command: SIGINT at its default and not blocked."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def wait_for_chunks(run_dir: Path, n: int, process, timeout_s=60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(ChunkStore(run_dir).finished() if (run_dir / "chunks").is_dir() else []) < n:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no chunk finished in time"
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


def wait_gone(pids, timeout_s=10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(Path(f"/proc/{p}").exists() for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(Path(f"/proc/{p}").exists() for p in pids)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_resume_after_sigkill_matches_the_clean_run(tmp_path):
    run_dir = tmp_path / "run"
    args = [*RUN, "run.replications=200", f"hydra.run.dir={run_dir}"]
    process = hashpivot(*args, cwd=tmp_path)
    wait_for_chunks(run_dir, 2, process)
    workers = children(process.pid)
    process.kill()                                      # SIGKILL: no chance to clean up
    process.communicate()
    assert wait_gone(workers), "workers outlived their killed parent"
    kept = ChunkStore(run_dir).finished()
    assert 2 <= len(kept) < 20
    rerun = hashpivot(*args, cwd=tmp_path)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    clean = sim.run(sim.compose([a.strip("'") for a in RUN] + ["run.replications=200"]))
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "summary.parquet"), clean.summary,
                                  check_exact=True)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_killed_worker_fails_in_one_line_and_a_rerun_completes(tmp_path):
    run_dir = tmp_path / "run"
    args = [*RUN, "run.replications=200", f"hydra.run.dir={run_dir}"]
    process = hashpivot(*args, cwd=tmp_path)
    wait_for_chunks(run_dir, 1, process)
    os.kill(children(process.pid)[0], signal.SIGKILL)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        f"hashpivot: error: a worker process died (killed, or out of memory) before finishing its "
        f"chunk; finished chunks are kept in {run_dir}: rerun the same command with "
        f"hydra.run.dir={run_dir} to resume"]
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"
    rerun = hashpivot(*args, cwd=tmp_path)
    assert rerun.communicate(timeout=120) and rerun.returncode == 0
    assert len(pd.read_parquet(run_dir / "summary.parquet")) == 400


def test_npvs_too_large_to_compute_with_are_not_marked_complete():
    """Each value within its bounds, together out of reach: before, a complete run of -inf
    NPVs (hosting opex of 1e308 a kW-month) with a report and a robustness verdict."""
    from sim.montecarlo import check_finite_npv

    fine = pd.DataFrame({"strategy": ["a", "b"], "replication": [0, 0], "npv_usd": [1e9, -3e8]})
    check_finite_npv(fine)
    for bad in (-np.inf, np.nan, 4.4e23):
        with pytest.raises(UserError, match=rf"^npv_usd is {re.escape(str(bad))} for b in "
                                            r"replication 0 \(1 of 2 rows\): values of the "
                                            r"config too large"):
            check_finite_npv(fine.assign(npv_usd=[1e9, bad]))


def test_a_worker_lost_while_training_does_not_claim_finished_chunks(tmp_path, monkeypatch, capsys):
    """Before, a worker killed in real_option's training said 'finished chunks are kept'
    when none had run. From Python the line says how to rerun in Python (it named the
    command line's hydra.run.dir); the command line says its own."""
    import sim.montecarlo as montecarlo
    from sim.executors import WorkerLost

    def lost(*args, **kwargs):
        raise WorkerLost("a worker process died (killed, or out of memory) before finishing its chunk")

    monkeypatch.setattr(montecarlo, "trained", lost)
    with pytest.raises(UserError) as refused:
        sim.run(sim.compose(["run.replications=2", "run.progress=false"]), out_dir=tmp_path)
    assert str(refused.value) == (
        "a worker process died (killed, or out of memory) before finishing its chunk, while "
        "training the learning strategies (no replication had run yet): rerun "
        f"sim.run(cfg, out_dir='{tmp_path}')")
    run_dir = tmp_path / "run"
    assert main(["run.replications=2", "run.progress=false", f"hydra.run.dir={run_dir}"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        "hashpivot: error: a worker process died (killed, or out of memory) before finishing its "
        "chunk, while training the learning strategies (no replication had run yet): rerun the "
        f"same command with hydra.run.dir={run_dir}")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_stops_the_workers_and_keeps_finished_chunks(tmp_path):
    run_dir = tmp_path / "run"
    # A shell starts background jobs with Ctrl-C ignored, and a child inherits that (and a
    # thread's blocked signals): the command must start as from a terminal, whatever started
    # pytest, with SIGINT at its default and not blocked.
    process = hashpivot(*RUN, "run.replications=2000", f"hydra.run.dir={run_dir}", cwd=tmp_path,
                        start_new_session=True, preexec_fn=as_from_a_terminal)
    wait_for_chunks(run_dir, 1, process)
    workers = children(process.pid)
    os.killpg(process.pid, signal.SIGINT)               # what Ctrl-C in a terminal sends
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "interrupted; finished chunks are kept" in err and "Traceback" not in err
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert wait_gone(workers)
    assert ChunkStore(run_dir).finished()



@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("second_after_s", [0.02, "its line"])
def test_a_second_ctrl_c_during_the_clean_up_says_one_line_and_no_traceback(second_after_s, tmp_path):
    """A second Ctrl-C lands in the clean-up (the workers' shutdown, run.json's record: the
    same handler says it, exit 130) or after the line, in Python's own finalization, which
    has set Ctrl-C back to its default: the process ends by the signal (a shell's $? reads
    130 all the same). Either way one line, no traceback, and run.json says interrupted."""
    run_dir = tmp_path / "run"
    process = hashpivot(*RUN, "run.replications=2000", f"hydra.run.dir={run_dir}", cwd=tmp_path,
                        start_new_session=True, preexec_fn=as_from_a_terminal)
    wait_for_chunks(run_dir, 1, process)
    os.killpg(process.pid, signal.SIGINT)
    if second_after_s == "its line":
        lines = [process.stderr.readline()]
        while "interrupted" not in lines[-1] and lines[-1]:
            lines.append(process.stderr.readline())
    else:
        lines = []
        time.sleep(second_after_s)
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:  # it had ended
        pass
    err = "".join(lines) + process.communicate(timeout=30)[1]
    assert process.returncode in (130, -signal.SIGINT), err
    assert err.count("hashpivot: interrupted; finished chunks are kept") == 1, err
    assert "Traceback" not in err and "Error executing job" not in err, err
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert ChunkStore(run_dir).finished()

# --- Hydra multirun with the joblib and Ray launchers ---------------------------------------------
def launcher_example(name: str, tmp_path: Path) -> Path:
    """Run examples/launchers' `name` sweep (6 replications a job); return its sweep directory."""
    sweep = tmp_path / "sweep"
    process = hashpivot("-m", "--config-dir", str(ROOT / "examples" / "launchers" / "conf"),
                        f"+experiment={name}", "run.replications=6", "run.compare=false",
                        "strategy.real_option.training_replications=8",
                        "strategy.real_option.tranche_blocks=5",
                        "run.progress=false", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [json.loads((job / "run.json").read_text())["status"] for job in jobs] == ["complete"] * 3
    assert all((job / "summary.parquet").is_file() for job in jobs)
    worlds = {json.loads((job / "run.json").read_text())["world_key"] for job in jobs}
    assert len(worlds) == 3   # base, boom and glut AI markets: three different worlds
    return sweep


@pytest.mark.slow
def test_the_joblib_launcher_example_runs_a_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep = launcher_example("joblib_sweep", tmp_path)
    assert "JoblibLauncher" in (sweep / "multirun.yaml").read_text()


@pytest.mark.slow
def test_the_ray_launcher_example_runs_a_sweep(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_ray_launcher")
    sweep = launcher_example("ray_sweep", tmp_path)
    assert "RayLauncher" in (sweep / "multirun.yaml").read_text()


def test_until_confident_stops_once_the_best_is_identified(compose_small):
    cfg = compose_small("strategy=[stay_mining,convert_all]", "run.replications=20",
                        "run.until_confident=0.95", "run.max_replications=200")
    info = sim.run(cfg).info["until_confident"]
    assert info["reached"] and info["best"] == "stay_mining"
    assert 20 <= info["replications"] < 200


def test_until_confident_reports_the_cap_when_it_cannot_decide(compose_small):
    """With a one-dollar indifference zone no affordable sample separates two strategies."""
    cfg = compose_small("strategy=[phased,build_to_suit]", "run.indifference_usd=1",
                        "run.replications=20", "run.until_confident=0.95", "run.max_replications=60",
                        "run.horizon_years=2")
    result = sim.run(cfg)
    info = result.info["until_confident"]
    assert not info["reached"] and info["replications"] == 60
    assert result.summary["replication"].nunique() == 60


@pytest.mark.parametrize("chunk_size", [7, 200])
def test_until_confident_stops_where_it_would_whatever_the_chunk_size(compose_small, chunk_size):
    """run.chunk_size may change between resumes, so it must not move where a sequential run
    looks (it added at least a chunk a look: 220 replications with 7 or 200, 280 with 50)."""
    overrides = ("strategy=[phased,convert_all,real_option]", "run.replications=20",
                 "run.until_confident=0.95", "run.max_replications=300", "run.detail=summary",
                 *QUICK_TRAINING)
    default = sim.run(compose_small(*overrides))
    assert default.info["until_confident"]["replications"] > 20  # it took more than one look
    other = sim.run(compose_small(*overrides, f"run.chunk_size={chunk_size}"))
    assert other.info["until_confident"] == default.info["until_confident"]
    assert_same(other, default, tables=("summary",))


def test_until_confident_looks_first_after_kim_nelsons_first_stage(compose_small):
    """Three replications asked, a zone no pair approaches: it stopped at 3 ('reached after
    3 replications'), a first stage of 3 where Kim–Nelson's variance needs 20."""
    cfg = compose_small("strategy=[stay_mining,convert_all]", "run.replications=3",
                        "run.until_confident=0.95", "run.max_replications=200",
                        "run.indifference_usd=1e8", "run.horizon_years=2")
    result = sim.run(cfg)
    info = result.info["until_confident"]
    assert info["replications"] >= 20 and info["kim_nelson_stage"] >= 20
    assert result.summary["replication"].nunique() == info["replications"]
    means = result.summary.groupby("strategy", observed=True)["npv_usd"].mean()
    assert info["best"] == means.idxmax()  # the best mean over every replication run


def test_the_until_confident_sentence_names_kim_nelsons_pick_where_it_differs():
    from sim.selection import until_confident_sentence

    same = dict(confidence=0.95, reached=True, best="a", kim_nelson_best="a",
                kim_nelson_stage=20, replications=100, max_replications=1000)
    assert until_confident_sentence(same) == (
        "until_confident=0.95: reached after 100 replications (cap 1000); best by mean NPV "
        "over them: a")
    other = {**same, "kim_nelson_best": "b"}
    assert until_confident_sentence(other).endswith(
        "best by mean NPV over them: a (Kim–Nelson, which decided when to stop, picked b on "
        "its 20 replications: within its indifference zone of the best, or one of two "
        "strategies it cannot tell apart)")


def test_every_world_feature_has_words_and_no_words_name_a_feature_not_computed():
    """The report's labels and hashpivot-explore's words of the world features come from one
    table beside world_features (they were two tables, kept in step by hand)."""
    from sim.montecarlo import WORLD_FEATURE_WORDS, world_features

    world = sim.sample_world(sim.compose(["run.horizon_years=2"]), replication=0)
    assert set(world_features(world)) - {"replication"} == set(WORLD_FEATURE_WORDS)
