"""Executors move chunks of work around; they never change what a chunk computes.

These tests use toy chunk functions, so they check the backends themselves: every
chunk runs once, progress arrives while chunks run, a dead worker or a user error is
reported in one line, and closing stops busy workers at once.
"""

import os
import signal
import sys
import time

import pytest

from sim.errors import UserError
import sim.executors
from sim.executors import (AUTO_PROCESS_FROM, EXECUTORS, ProcessExecutor, SerialExecutor, WorkerLost,
                          executor_name, make_executor)
from sim.rundir import chunks


class RunCfg(dict):
    """The `run` section of a config, as an executor reads it."""

    __getattr__ = dict.get


def squares(cfg, start, stop, progress):
    """A chunk function: reports each item, returns the squares of [start, stop)."""
    for _ in range(start, stop):
        progress(1)
    return [i * i for i in range(start, stop)]


def slow(cfg, start, stop, progress):
    """A chunk function that takes `cfg` seconds per item."""
    for _ in range(start, stop):
        time.sleep(cfg)
        progress(1)
    return os.getpid()


def dies_at_four(cfg, start, stop, progress):
    """A chunk function whose worker is killed (SIGKILL) on the chunk holding item 4."""
    if start <= 4 < stop:
        os.kill(os.getpid(), signal.SIGKILL)
    return list(range(start, stop))


def refuses(cfg, start, stop, progress):
    """A chunk function that raises a user error, as a broken plug-in would."""
    raise UserError(f"market.demand: bad output in replication {start}")


def executor(name, workers=2):
    return EXECUTORS[name](RunCfg(workers=workers))


def run_all(ex, fn, cfg, todo):
    ticks = []
    try:
        results = dict(ex.map(fn, cfg, todo, lambda start, n: ticks.append((start, n))))
    finally:
        ex.close()
    return results, ticks


@pytest.mark.parametrize("name", ["serial", "process"])
def test_every_chunk_runs_once_and_its_progress_never_exceeds_its_size(name):
    todo = chunks(0, 23, 5)
    results, ticks = run_all(executor(name), squares, None, todo)
    assert sorted(results) == todo
    assert [x for chunk in todo for x in results[chunk]] == [i * i for i in range(23)]
    for start, stop in todo:
        assert sum(n for s, n in ticks if s == start) <= stop - start


def test_process_workers_report_progress_while_their_chunk_runs():
    ticks, first_result_at = [], None
    ex = executor("process")
    try:
        for _ in ex.map(slow, 0.1, [(0, 15), (15, 30)], lambda s, n: ticks.append(time.monotonic())):
            first_result_at = first_result_at or time.monotonic()
    finally:
        ex.close()
    assert ticks and min(ticks) < first_result_at - 0.5   # the bar moved long before a chunk ended


def test_process_executor_spreads_chunks_over_its_workers():
    results, _ = run_all(executor("process", workers=2), slow, 0.05, chunks(0, 8, 2))
    assert len(set(results.values())) == 2


def test_a_killed_worker_is_reported_in_one_line():
    with pytest.raises(WorkerLost, match="worker process died") as err:
        run_all(executor("process"), dies_at_four, None, chunks(0, 12, 2))
    assert "\n" not in str(err.value)


def dies_after_a_while(cfg, start, stop, progress):
    """A chunk function whose worker is killed on chunk [2, 4), once the other has finished."""
    if start == 2:
        time.sleep(0.3)
        os.kill(os.getpid(), signal.SIGKILL)
    return list(range(start, stop))


def test_a_chunk_finished_beside_a_killed_worker_is_kept(monkeypatch):
    """Before, a chunk that finished in the same wait as a dead worker's was dropped with it."""
    import concurrent.futures

    real_wait = concurrent.futures.wait

    def late_wait(*args, **kwargs):  # both chunks are over by the time the parent looks
        time.sleep(1.5)
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "wait", late_wait)
    ex, kept = executor("process", workers=2), []
    try:
        with pytest.raises(WorkerLost, match="worker process died"):
            for chunk, result in ex.map(dies_after_a_while, None, [(0, 2), (2, 4)], lambda s, n: None):
                kept.append((chunk, result))
    finally:
        ex.close()
    assert kept == [((0, 2), [0, 1])]


@pytest.mark.parametrize("name", ["serial", "process"])
def test_a_user_error_in_a_worker_reaches_the_caller_as_is(name):
    with pytest.raises(UserError, match="^market.demand: bad output in replication 0$"):
        run_all(executor(name), refuses, None, [(0, 2)])


class Stop(Exception):
    pass


def test_closing_stops_busy_workers_at_once():
    ex = executor("process")

    def interrupt(start, n):
        raise Stop  # as Ctrl-C would, while workers are mid-chunk

    with pytest.raises(Stop):
        for _ in ex.map(slow, 0.2, chunks(0, 400, 100), interrupt):
            pass
    workers = list(ex.pool._processes.values())
    began = time.monotonic()
    ex.close()
    assert time.monotonic() - began < 5
    assert not any(w.is_alive() for w in workers)


def test_serial_executor_runs_in_this_process():
    results, ticks = run_all(SerialExecutor(RunCfg()), slow, 0, [(0, 3)])
    assert results == {(0, 3): os.getpid()}
    assert ticks == [(0, 1), (0, 1), (0, 1)]


def test_the_executor_is_chosen_by_name():
    cfg = type("Cfg", (), {"run": RunCfg(executor="process", workers=3)})()
    ex = make_executor(cfg)
    assert isinstance(ex, ProcessExecutor) and ex.workers == 3
    assert set(EXECUTORS) == {"serial", "process", "ray"}


@pytest.mark.parametrize(("executor", "workers", "cores", "replications", "expected"), [
    ("auto", None, 8, AUTO_PROCESS_FROM, "process"),       # a big run, every core
    ("auto", None, 8, AUTO_PROCESS_FROM - 1, "serial"),    # too small to repay starting workers
    ("auto", None, 1, 10_000, "serial"),                   # one core: nothing to spread over
    ("auto", 1, 8, 10_000, "serial"),                      # one worker asked for
    ("auto", 4, 1, 10_000, "process"),                     # workers asked for, whatever the cores
    ("serial", None, 8, 10_000, "serial"),                 # a named executor is never changed
    ("process", None, 8, 1, "process"),
    ("ray", None, 1, 1, "ray"),
])
def test_auto_runs_a_big_run_on_every_core_and_a_small_one_here(monkeypatch, executor, workers, cores,
                                                                  replications, expected):
    monkeypatch.setattr(sim.executors, "default_workers", lambda: cores)
    monkeypatch.setattr(sys, "platform", "linux")
    run = RunCfg(executor=executor, workers=workers, replications=replications)
    assert executor_name(run) == expected
    if expected != "ray":
        made = make_executor(type("Cfg", (), {"run": run})())
        expected_workers = (workers or cores) if expected == "process" else 1
        assert isinstance(made, EXECUTORS[expected]) and made.workers == expected_workers


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_auto_is_serial_off_linux(monkeypatch, platform):
    monkeypatch.setattr(sim.executors, "default_workers", lambda: 8)
    monkeypatch.setattr(sys, "platform", platform)
    assert executor_name(RunCfg(executor="auto", workers=None, replications=10_000)) == "serial"


def test_ray_missing_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(UserError, match=r"pip install 'hashpivot\[ray\]'"):
        executor("ray")


# --- Ray's progress tally -----------------------------------------------------------------------
def test_a_tally_gives_each_run_its_own_reports_once():
    tally = sim.executors.Tally()
    tally.add("run-a", 0, 1)
    tally.add("run-b", 10, 2)
    tally.add("run-a", 5, 1)
    assert tally.drain("run-a") == [(0, 1), (5, 1)]
    assert tally.drain("run-a") == []  # drained
    tally.forget("run-b")  # run b ended: a late report of its cancelled tasks goes nowhere
    assert tally.drain("run-b") == [] and tally.drain("run-c") == []


class FakeRay:
    """What `_session_tally` reads of Ray: the session's job id, and `remote` to make actors."""

    def __init__(self):
        self.job, self.made = "01000000", []

    def get_runtime_context(self):
        return type("Context", (), {"get_job_id": lambda _: self.job})()

    def remote(self, **options):
        assert options == {"num_cpus": 0}  # the tally takes no CPU from the tasks
        def actor_class(cls):
            def start(_):  # an actor's handle: here, its number
                self.made.append(cls)
                return len(self.made)
            return type("Actor", (), {"remote": start})()
        return actor_class


def test_one_tally_actor_serves_every_run_of_a_ray_session(monkeypatch):
    monkeypatch.setattr(sim.executors, "_TALLIES", {})
    ray = FakeRay()
    first = sim.executors._session_tally(ray)
    assert sim.executors._session_tally(ray) == first and len(ray.made) == 1  # no second worker
    ray.job = "02000000"  # ray.shutdown() and ray.init(): the old actor is gone
    assert sim.executors._session_tally(ray) != first and len(ray.made) == 2
    assert list(sim.executors._TALLIES) == ["02000000"]
