"""Executors: where chunks of replications run — here, in local processes, or on Ray.

Each backend is a small class with the same two methods, `map` (yield each chunk's
result as it finishes) and `close`; `make_executor` picks one by `run.executor`. They
only move work around: replication k's numbers are the same on every backend.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator

from sim.errors import UserError

Chunk = tuple[int, int]


def default_workers() -> int:
    """Return the number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SerialExecutor:
    """Run chunks one after another in this process."""

    def __init__(self, run_cfg):
        self.workers = 1

    def map(self, fn: Callable, cfg, chunks: list[Chunk]) -> Iterator[tuple[Chunk, dict]]:
        """Yield (chunk, fn(cfg, *chunk)) for each chunk, in order."""
        for chunk in chunks:
            yield chunk, fn(cfg, *chunk)

    def close(self) -> None:
        """Release nothing: there is nothing to release."""


class ProcessExecutor:
    """Run chunks in local worker processes (`run.workers`, default: every core)."""

    def __init__(self, run_cfg):
        self.workers = int(run_cfg.workers or default_workers())
        self.pool = None

    def map(self, fn, cfg, chunks):
        """Yield (chunk, result) as worker processes finish them."""
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

        if not chunks:
            return
        if self.pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method))
        pending = {self.pool.submit(fn, cfg, *chunk): chunk for chunk in chunks}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield pending.pop(future), future.result()
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        """Stop the worker processes, dropping work not yet started."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


class RayExecutor:
    """Run chunks as Ray tasks, on the cluster at `run.ray.address` or a local instance."""

    def __init__(self, run_cfg):
        try:
            import ray
        except ImportError:
            raise UserError("run.executor='ray': Ray is not installed; "
                            "pip install 'hashpivot[ray]'") from None
        self.ray = ray
        address = run_cfg.ray.address
        if not ray.is_initialized():
            options = dict(address=address, ignore_reinit_error=True, log_to_driver=False,
                           include_dashboard=False)
            if address is None and run_cfg.workers:
                options["num_cpus"] = int(run_cfg.workers)
            ray.init(**{k: v for k, v in options.items() if v is not None or k == "address"})
        self.workers = int(ray.available_resources().get("CPU", 1))

    def map(self, fn, cfg, chunks):
        """Yield (chunk, result) as Ray tasks finish them; failed tasks are retried."""
        ray = self.ray
        if not chunks:
            return
        remote = ray.remote(max_retries=3, retry_exceptions=False)(fn)
        cfg_ref = ray.put(cfg)
        pending = {remote.remote(cfg_ref, *chunk): chunk for chunk in chunks}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    yield pending.pop(ref), ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        """Leave the Ray instance running for the next run in this process."""


EXECUTORS = {"serial": SerialExecutor, "process": ProcessExecutor, "ray": RayExecutor}


def make_executor(cfg):
    """Return the executor that `run.executor` names."""
    return EXECUTORS[cfg.run.executor](cfg.run)
