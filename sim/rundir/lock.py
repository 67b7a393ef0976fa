"""The run directory's lock: one command writes into a run directory at a time.

The lock is an OS file lock (`flock`) on the directory's `.lock` file, which holds the
holder's pid. The OS releases it when the holder exits, however it exits (SIGKILL
included), so a lock is never stale. Within one process the lock is re-entrant: the
command line takes it, then `sim.run` takes it again without blocking itself.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from sim.errors import UserError

LOCK_FILE = ".lock"
#: How long a taker retries before refusing: a `holder` probe holds the lock for microseconds.
RETRY_S = 0.5
_held: dict[str, list[int]] = {}  # resolved run directory -> [file descriptor, depth]


def _key(run_dir: Path) -> str:
    return str(Path(run_dir).resolve())


def _pid_in(fd: int) -> str:
    """Return the holder's pid written in the lock file, or '?' if it has not been written yet."""
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return text if text.isdigit() else "?"


def _refusal(run_dir: Path, pid: str, key: str = "hydra.run.dir") -> UserError:
    return UserError(f"{run_dir}: another hashpivot (pid {pid}) is writing into this run directory; "
                     f"wait for it to finish, or choose a new {key}")


def holder(run_dir) -> str | None:
    """Return the pid of another process that holds the run directory's lock, or None; write nothing."""
    run_dir = Path(run_dir)
    if _key(run_dir) in _held:
        return None
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _pid_in(fd)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def live_holder(run_dir) -> str | None:
    """Return the pid of the process that holds the run directory's lock, this one included,
    or None where none does (a run.json that says running is then a run whose process ended)."""
    if _key(Path(run_dir)) in _held:
        return str(os.getpid())
    return holder(run_dir)


def check_unlocked(run_dir, key: str = "hydra.run.dir") -> None:
    """Raise UserError naming the holder's pid if another process holds the run directory's
    lock (`key`: the setting that chose the directory, named in the refusal)."""
    pid = holder(run_dir)
    if pid is not None:
        raise _refusal(Path(run_dir), pid, key)


@contextmanager
def hold(run_dir, key: str = "hydra.run.dir"):
    """Hold the run directory's lock (creating the directory); refuse if another process holds
    it (naming `key`, the setting that chose the directory)."""
    run_dir = Path(run_dir)
    key = _key(run_dir)
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(run_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + RETRY_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                pid = _pid_in(fd)
                os.close(fd)
                raise _refusal(run_dir, pid, key) from None
            time.sleep(0.05)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = [fd, 1]
        yield
    finally:
        _held.pop(key, None)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
