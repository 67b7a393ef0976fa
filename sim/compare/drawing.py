"""A report's plots drawn side by side, in forked worker processes.

Matplotlib draws on one core, and a report's figures are independent of one another: each
reads the analysis and writes its own PNG (atomically, `sim.compare.plots`). `Drawing`
queues them and, on `finish`, draws them in worker processes forked from this one, which
inherit the queued figures and the data they read (nothing is pickled), so a report on two
cores is drawn in about half the time. Where the system does not fork (macOS and Windows
spawn), or one figure or one core is all there is, they are drawn here, one after another.
The files are the same either way, byte for byte.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

from sim.errors import UserError
from sim.executors import ProcessExecutor, WorkerLost, default_workers
from sim.rundir.files import left_behind

#: In a forked worker: the figures queued before the fork, (make, path) by number.
_QUEUED: list[tuple[Callable, Path]] = []


def _draw_queued(_, start: int, stop: int, progress=None) -> int:
    """Draw queued figures [start, stop) (the executors' chunk function); return how many."""
    for make, path in _QUEUED[start:stop]:
        make(path)
    return stop - start


class Drawing:
    """Figures to draw, each by `make(path)`: now when `path` is None (the Figure is
    returned), else on `finish`, side by side on up to `workers` processes (default: every core)."""

    def __init__(self, workers: int | None = None):
        self.workers = int(workers or default_workers())
        self.queued: list[tuple[Callable, Path]] = []

    def add(self, path: Path | None, make: Callable):
        """Return `path`, its figure queued; with `path` None, the Figure `make(None)` draws now."""
        if path is None:
            return make(None)
        self.queued.append((make, path))
        return path

    def finish(self) -> None:
        """Draw every queued figure; return once each file is written (or raise what failed)."""
        global _QUEUED
        queued, self.queued = self.queued, []
        workers = min(self.workers, len(queued))
        if workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
            for make, path in queued:
                make(path)
            return
        _QUEUED = queued  # before the executor forks its workers: they inherit it
        executor = ProcessExecutor(SimpleNamespace(workers=workers))
        try:
            for _ in executor.map(_draw_queued, None, [(i, i + 1) for i in range(len(queued))],
                                  lambda start, n: None):
                pass
        except WorkerLost:
            raise UserError("a process drawing the report's plots died (killed, or out of "
                            "memory) before finishing its plot") from None
        finally:
            executor.close()  # stopped early (Ctrl-C, an error): the workers still drawing end now
            _QUEUED = []
            for _, path in queued:  # and what they were writing goes: a plot is whole or absent
                for tmp in left_behind(path):
                    tmp.unlink(missing_ok=True)

