"""The chunks a run keeps as they finish, so that a rerun resumes them: the chunk store.

A Monte Carlo run cuts its replications into chunks (`chunks`) and writes each, when it
finishes, into the run directory's `chunks/` folder (`ChunkStore.write`), under a manifest
of its files (`sim.rundir.manifest`). A rerun reads what is finished and runs the rest
(`plan`), whatever chunk size made the chunks on disk. The store belongs to the config
whose fingerprint its `config.json` holds (`sim.rundir.fingerprints`): `ChunkStore.claim`
refuses a store another config made, naming the keys that differ.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from sim.errors import UserError
from sim.rundir.files import temporary, write_folder_atomic, write_json
from sim.rundir.fingerprints import CHANGED, _canonical, _fingerprint_digest, fingerprint
from sim.rundir.manifest import ChunkDamaged, read_chunk, read_manifest, write_chunk

#: The folder of a run directory that holds its finished chunks.
CHUNKS_DIR = "chunks"
_CHUNK_NAME = re.compile(r"^(\d+)-(\d+)$")


def _flatten(data, prefix=""):
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


class ChunkStore:
    """A run directory's finished chunks, one folder per chunk, renamed in when complete.

    Each chunk folder holds its tables and, written last, their manifest
    (`sim.rundir.manifest`): `read` returns a chunk's tables only when they match it.
    `chunks/config.json` holds the fingerprint of the config that made the chunks.
    """

    def __init__(self, run_dir):
        self.root = Path(run_dir) / CHUNKS_DIR
        self.config_sha256 = None  # the digest of the config that claimed the store

    @property
    def config_file(self) -> Path:
        """Return the file that names the config the chunks belong to."""
        return self.root / "config.json"

    def check(self, cfg, key: str = "hydra.run.dir", mine: dict | None = None) -> bool:
        """Return whether config.json must be written for `cfg` (its fingerprint `mine`, if
        made already); refuse another config's store (naming `key`, the setting that chose
        the directory).

        Writes nothing. An unreadable config.json is rewritten only when every chunk's
        manifest shows that this config made it; otherwise the directory is refused.
        """
        if not self.config_file.is_file():
            return True
        mine = fingerprint(cfg) if mine is None else mine
        try:
            theirs = json.loads(self.config_file.read_text())
        except (OSError, ValueError) as error:
            digest = _fingerprint_digest(mine)
            strangers = [f.name for f in self._folders() if not self._made_by(f, digest)]
            if strangers:
                raise UserError(f"{self.config_file}: cannot read it ({type(error).__name__}), and chunk "
                                f"{strangers[0]} does not show it was made by this config; choose a new "
                                f"{key}, or delete {self.root} to recompute every chunk") from None
            return True
        if _canonical(theirs) != _canonical(mine):
            a, b = _flatten(theirs), _flatten(mine)
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            ran, runs = (list((run.get("strategy") or {})) for run in (theirs, mine))
            if ran != runs:  # say which strategies, not which of their inner keys differ
                keys = ["strategy", *(k for k in keys if not k.startswith("strategy."))]
                a["strategy"], b["strategy"] = ran, runs
            shown = ", ".join(f"{k} ({a.get(k)!r} there, {b.get(k)!r} now)" for k in keys[:3])
            changed = [why for key, why in CHANGED.items()
                       if any(k == key or k.startswith(f"{key}.") for k in keys)]
            code = f" ({', '.join(changed)} since its chunks were made)" if changed else ""
            raise UserError(f"{self.root.parent}: holds a run made with another config "
                            f"(differs at {shown}{' ...' if len(keys) > 3 else ''}){code}; "
                            f"choose a new {key}{self._unfinished_advice()}")
        return False

    def _unfinished_advice(self) -> str:
        """Return, for a run that did not finish (a sweep's failed job, fixed since), how to
        run the new config in its place; "" for a finished run, whose results it holds."""
        from sim.rundir import RunDir  # the store's own directory (imported here: it imports the store)

        try:
            status = (RunDir(self.root.parent).read_info() or {}).get("status")
        except (UserError, OSError, ValueError):
            return ""
        if status in (None, "complete"):
            return ""
        # running while none holds the lock (a holder is refused before): its process ended
        how = ("its process ended without saving its status: killed, or out of memory"
               if status == "running" else f"it is {status}")
        return (f", or, as that run did not finish ({how}), remove "
                f"{self.root.parent} to run this config there (a sweep's other jobs are kept)")

    def claim(self, cfg) -> None:
        """Make the store this config's, or refuse one that another config made."""
        mine = fingerprint(cfg)
        existed, write = self.config_file.is_file(), self.check(cfg, mine=mine)
        self.root.mkdir(parents=True, exist_ok=True)
        if write:
            write_json(self.config_file, mine)
        if write and existed:
            print(f"hashpivot: {self.config_file} was unreadable; rewritten, since every chunk's "
                  "manifest shows this config made it", file=sys.stderr)
        self.config_sha256 = _fingerprint_digest(mine)
        for stale in self.root.glob(".tmp-*"):  # a chunk a killed run was writing, or a discarded one
            shutil.rmtree(stale, ignore_errors=True)

    def path(self, start: int, stop: int) -> Path:
        """Return the folder of chunk [start, stop)."""
        return self.root / f"{start:09d}-{stop:09d}"

    def _folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(folder for folder in self.root.iterdir() if _CHUNK_NAME.match(folder.name))

    @staticmethod
    def _made_by(folder: Path, config_sha256: str) -> bool:
        try:
            return read_manifest(folder).get("config_sha256") == config_sha256
        except ChunkDamaged:
            return False

    def finished(self) -> list[tuple[int, int]]:
        """Return the chunks on disk (each still to be checked against its manifest), in order."""
        found = (_CHUNK_NAME.match(folder.name) for folder in self._folders())
        return sorted((int(m[1]), int(m[2])) for m in found)

    def write(self, start: int, stop: int, tables: dict) -> None:
        """Write a chunk's tables and their manifest into its folder, atomically."""
        write_folder_atomic(self.path(start, stop),
                            lambda folder: write_chunk(folder, start, stop, tables, self.config_sha256))

    def read(self, start: int, stop: int, lo: int | None = None, hi: int | None = None,
             expected=None) -> dict:
        """Return a finished chunk's tables (those `expected`, else all), keeping replications [lo, hi).

        Raise ChunkDamaged if its files do not match its manifest.
        """
        lo, hi = start if lo is None else lo, stop if hi is None else hi
        tables = read_chunk(self.path(start, stop), start, stop, expected, self.config_sha256)
        if (lo, hi) != (start, stop):
            for name, table in tables.items():
                keep = table["replication"].between(lo, hi - 1).to_numpy()
                tables[name] = table[keep].reset_index(drop=True)
        return tables

    def discard(self, start: int, stop: int) -> None:
        """Remove a chunk's folder (a damaged chunk, to be recomputed)."""
        folder = self.path(start, stop)
        gone = temporary(folder)
        shutil.rmtree(gone, ignore_errors=True)
        folder.rename(gone)  # out of `finished` at once, even if the removal below fails
        shutil.rmtree(gone, ignore_errors=True)


def chunks(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """Return [start, stop) cut at multiples of `size` (so boundaries never depend on stop)."""
    edges = list(range((start // size) * size, stop, size)) + [stop]
    return [(max(a, start), min(b, stop)) for a, b in zip(edges[:-1], edges[1:]) if max(a, start) < min(b, stop)]


def plan(start: int, stop: int, size: int, finished: list[tuple[int, int]]):
    """Return (reuse, todo) for replications [start, stop).

    `reuse` lists ``(chunk, lo, hi)``: finished chunks and the replications [lo, hi) needed
    from each; `todo` lists the chunks still to run, cut at multiples of `size`. Chunks on
    disk may have any boundaries (an earlier run may have used another chunk size).
    """
    reuse, todo, cursor = [], [], start
    for a, b in sorted(finished):
        lo, hi = max(a, cursor), min(b, stop)
        if lo < hi:
            todo += chunks(cursor, lo, size)
            reuse.append(((a, b), lo, hi))
            cursor = hi
    return reuse, todo + chunks(cursor, stop, size)
