"""Executors: where chunks of replications run — here, in local processes, or on Ray.

Each backend is a small class with the same two methods, `map` and `close`;
`make_executor` picks one by `run.executor` (``auto``: process on every core for a run of
AUTO_PROCESS_FROM replications or more on a Linux machine of several cores, else serial).
``map(fn, cfg, chunks, tick)`` calls ``fn(cfg, start, stop, progress)`` for every chunk
and yields ``(chunk, result)`` as chunks finish; while they run, ``tick(start, n)`` is
called in this process each time `n` more replications of chunk `start` are done, so
one progress bar can count every worker. Backends only move work around: replication
k's numbers are the same on all.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial

from sim.errors import UserError

Chunk = tuple[int, int]
#: Seconds between a worker's progress reports, and between the parent's looks for them.
REPORT_EVERY_S = 0.25


class WorkerLost(UserError):
    """A worker died (killed, out of memory) before it finished its chunk."""


def default_workers() -> int:
    """Return the number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def local_workers(run_cfg) -> int:
    """Return how many worker processes `run.workers` asks for here (null: every core)."""
    return int(run_cfg.workers or default_workers())


class Reporter:
    """A worker's progress callback: counts replications, sends them at most every 0.25 s."""

    def __init__(self, send: Callable[[int, int], None], start: int):
        self.send = send
        self.start = start
        self.unsent = 0
        self.sent_at = time.monotonic()

    def __call__(self, n: int = 1) -> None:
        """Count `n` more finished replications; send the count if 0.25 s have passed."""
        self.unsent += n
        now = time.monotonic()
        if now - self.sent_at >= REPORT_EVERY_S:
            self.send(self.start, self.unsent)
            self.unsent, self.sent_at = 0, now


class SerialExecutor:
    """Run chunks one after another in this process."""

    def __init__(self, run_cfg):
        self.workers = 1

    def map(self, fn: Callable, cfg, chunks: list[Chunk], tick) -> Iterator[tuple[Chunk, dict]]:
        """Yield (chunk, fn(cfg, *chunk, progress)) for each chunk, in order."""
        for chunk in chunks:
            yield chunk, fn(cfg, *chunk, partial(tick, chunk[0]))

    def close(self) -> None:
        """Release nothing: there is nothing to release."""


# --- local worker processes ------------------------------------------------------------------------
_reports = None  # in a worker process: the queue its progress goes to


def _start_worker(reports) -> None:
    """Set up a worker process: its progress queue, no Ctrl-C, and an exit with its parent."""
    global _reports
    _reports = reports
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    """Exit this worker once its parent is gone (a parent killed by SIGKILL cannot stop it)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _call_reporting(fn, cfg, start, stop):
    """Return fn(cfg, start, stop, progress), its progress reported to the parent's queue."""
    return fn(cfg, start, stop, Reporter(lambda s, n: _reports.put((s, n)), start))


class ProcessExecutor:
    """Run chunks in local worker processes (`run.workers`, default: every core)."""

    def __init__(self, run_cfg):
        self.workers = local_workers(run_cfg)
        self.pool = self.reports = None
        self.running = {}  # the chunks in the workers' hands

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        self.reports = context.Queue()
        self.pool = ProcessPoolExecutor(self.workers, mp_context=context,
                                        initializer=_start_worker, initargs=(self.reports,))

    def map(self, fn, cfg, chunks, tick):
        """Yield (chunk, result) as worker processes finish them, keeping every worker busy."""
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        if self.pool is None and chunks:
            self._start()
        todo, pending = list(reversed(chunks)), {}
        self.running = pending
        lost = WorkerLost("a worker process died (killed, or out of memory) before finishing "
                          "its chunk")
        while todo or pending:
            try:
                while todo and len(pending) < 2 * self.workers:
                    chunk = todo.pop()
                    pending[self.pool.submit(_call_reporting, fn, cfg, *chunk)] = chunk
                finished, _ = wait(pending, timeout=REPORT_EVERY_S, return_when=FIRST_COMPLETED)
            except BrokenProcessPool:
                raise lost from None
            self._drain(tick)
            done, failed = [], None
            for future in finished:  # the chunks that did finish are kept, whatever the others did
                chunk = pending.pop(future)
                try:
                    done.append((chunk, future.result()))
                except BrokenProcessPool:
                    failed = failed or lost
                except Exception as err:  # the run's own error, raised once the others are kept
                    failed = failed or err
            yield from done
            if failed is lost:
                raise lost from None
            if failed is not None:
                raise failed

    def _drain(self, tick) -> None:
        while True:
            try:
                tick(*self.reports.get_nowait())
            except (queue.Empty, OSError, ValueError):
                return

    def close(self) -> None:
        """Stop the worker processes; chunks still being worked on are dropped at once."""
        if self.pool is None:
            return
        if self.running:  # stopped early (Ctrl-C, an error): end the chunks being worked on
            for process in list(getattr(self.pool, "_processes", {}).values()):  # no public handle
                process.terminate()
        self.pool.shutdown(wait=True, cancel_futures=True)  # the pool reaps its workers
        self.reports.close()
        self.pool = self.reports = None


# --- Ray --------------------------------------------------------------------------------------------
class Tally:
    """A Ray actor that collects workers' progress reports until the driver drains them.

    One serves every run of a Ray session (`_session_tally`): starting an actor starts a
    worker process, about a second of CPU. Each report carries its run's `token`, so a run
    drains only its own.
    """

    def __init__(self):
        self.reports = {}

    def add(self, token: str, start: int, n: int) -> None:
        """Keep a report of run `token`: `n` more replications of the chunk at `start` are done."""
        self.reports.setdefault(token, []).append((start, n))

    def drain(self, token: str) -> list[tuple[int, int]]:
        """Return the reports of run `token` kept since its last drain, and forget them."""
        return self.reports.pop(token, [])

    def forget(self, token: str) -> None:
        """Drop run `token`'s reports (it has ended; its cancelled tasks may still report)."""
        self.reports.pop(token, None)


#: The Tally of the Ray session it was made in: {job id: actor handle}.
_TALLIES: dict = {}


def _session_tally(ray):
    """Return the Tally actor of the current Ray session, made on the first call."""
    job = ray.get_runtime_context().get_job_id()
    if job not in _TALLIES:
        _TALLIES.clear()  # an earlier session's actor went with it
        _TALLIES[job] = ray.remote(num_cpus=0)(Tally).remote()
    return _TALLIES[job]


def _call_on_ray(fn, cfg, start, stop, tally, token):
    """Return fn(cfg, start, stop, progress), its progress reported to the `tally` actor."""
    return fn(cfg, start, stop, Reporter(lambda s, n: tally.add.remote(token, s, n), start))


class _NotMainThread(logging.Filter):
    """Drop Ray's warning that a driver started off the main thread sets no SIGTERM handler
    (hashpivot handles SIGTERM itself)."""

    def filter(self, record) -> bool:
        """Return False for that one warning."""
        return not str(record.msg).startswith("SIGTERM handler is not set")


@contextlib.contextmanager
def _stderr_held():
    """Hold what is written to file descriptor 2 (C++ libraries included) while the block
    runs; yield a list that then holds it, as text."""
    sys.stderr.flush()
    saved, text = os.dup(2), []
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield text
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text.append(held.read().decode(errors="replace"))


def start_ray(ray, ray_cfg, options: dict) -> None:
    """Call ray.init(**options); connecting to `ray_cfg.address`, give up with UserError
    after `ray_cfg.timeout_s` seconds.

    ray.init can wait without end for a cluster that is not there (a wrong address), so
    a connection runs in a daemon thread that is left behind if it does not return in
    time. A local instance starts in this thread: Ray ties the life of the processes it
    starts to the thread that starts them.
    """
    if not ray_cfg.address:
        ray.init(**options)
        return
    outcome: list = []
    logging.getLogger("ray._private.worker").addFilter(_NotMainThread())

    def init():
        try:
            ray.init(**options)
            outcome.append(None)
        except BaseException as err:  # handed to the caller's thread
            outcome.append(err)

    thread = threading.Thread(target=init, name="ray-init", daemon=True)
    with _stderr_held() as held:  # Ray's core retries a bad address loudly on stderr
        thread.start()
        thread.join(ray_cfg.timeout_s)
    if outcome:  # it finished: what it said may matter
        sys.stderr.write(held[0])
    where = f"run.ray.address={ray_cfg.address!r}"
    if not outcome:
        raise UserError(f"{where}: Ray did not start or connect within run.ray.timeout_s="
                        f"{ray_cfg.timeout_s:g} s; check the address (host:port of the "
                        "cluster's head, or auto), or raise run.ray.timeout_s")
    if outcome[0] is not None:
        err = outcome[0]
        raise UserError(f"{where}: Ray could not start or connect ({type(err).__name__}: "
                        f"{' '.join(str(err).split())[:300]})") from None


class RayExecutor:
    """Run chunks as Ray tasks, on the cluster at `run.ray.address` or a local instance."""

    def __init__(self, run_cfg):
        try:
            import ray
        except ImportError:
            raise UserError("run.executor='ray': Ray is not installed; "
                            "pip install 'hashpivot[ray]'") from None
        self.ray = ray
        if not ray.is_initialized():
            # a local instance: its workers import plug-ins from the current directory, as we do
            path = os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH")) if p)
            local = dict(num_cpus=run_cfg.workers, include_dashboard=False,
                         runtime_env={"env_vars": {"PYTHONPATH": path}})
            options = {} if run_cfg.ray.address else {k: v for k, v in local.items() if v is not None}
            start_ray(ray, run_cfg.ray, dict(address=run_cfg.ray.address, log_to_driver=False,
                                             logging_level=logging.WARNING, **options))
        self.workers = int(ray.cluster_resources().get("CPU", 1))

    def map(self, fn, cfg, chunks, tick):
        """Yield (chunk, result) as Ray tasks finish them; tasks on lost workers are retried."""
        ray = self.ray
        if not chunks:
            return
        tally, token = _session_tally(ray), uuid.uuid4().hex
        remote = ray.remote(max_retries=3, retry_exceptions=False)(_call_on_ray)
        cfg_ref, todo, pending = ray.put(cfg), list(reversed(chunks)), {}
        try:
            while todo or pending:
                while todo and len(pending) < 2 * self.workers:
                    chunk = todo.pop()
                    pending[remote.remote(fn, cfg_ref, *chunk, tally, token)] = chunk
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=REPORT_EVERY_S)
                for report in ray.get(tally.drain.remote(token)):
                    tick(*report)
                for ref in ready:
                    chunk = pending.pop(ref)
                    yield chunk, self._get(ref, chunk)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            tally.forget.remote(token)

    def _get(self, ref, chunk):
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as err:
            if isinstance(err.cause, UserError):
                raise err.cause from None
            raise
        except self.ray.exceptions.RayError as err:  # lost workers or nodes, after every retry
            raise WorkerLost(f"replications {chunk[0]}-{chunk[1] - 1} failed on Ray after "
                             f"every retry ({type(err).__name__})") from None

    def close(self) -> None:
        """Leave the Ray instance running for the next run in this process."""


EXECUTORS = {"serial": SerialExecutor, "process": ProcessExecutor, "ray": RayExecutor}
#: Replications from which `auto` starts worker processes: below, starting them (about a
#: second on 2 cores) costs much of what they save.
AUTO_PROCESS_FROM = 100


def executor_name(run_cfg) -> str:
    """Return the executor a run with these `run` settings uses: `run.executor`, auto resolved.

    `auto` starts worker processes on Linux alone, where they fork from this process: on
    macOS, forking a process that loaded system frameworks can crash it, and starting
    workers afresh (spawn) would cost each a second of imports; there, `auto` is serial.
    """
    if run_cfg.executor != "auto":
        return str(run_cfg.executor)
    several = local_workers(run_cfg) > 1
    big = int(run_cfg.replications) >= AUTO_PROCESS_FROM
    return "process" if several and big and sys.platform.startswith("linux") else "serial"


def make_executor(cfg):
    """Return the executor that `run.executor` names (see `executor_name`)."""
    return EXECUTORS[executor_name(cfg.run)](cfg.run)
