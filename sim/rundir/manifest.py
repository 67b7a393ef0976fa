"""Chunk manifests: what a finished chunk holds, so that a damaged chunk is recomputed, never read.

A chunk folder holds one `<table>.parquet` per table and `manifest.json`, written last
and atomically: the chunk's replication range, the digest of the config that made it,
and for each table its file, row count, size in bytes and SHA-256. `read_chunk` returns
the tables only when every one of these matches; otherwise it raises `ChunkDamaged`
saying, in one line, what differs (a deleted, truncated or corrupted file, a missing
table, a missing or unreadable manifest).
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pandas as pd

from sim.errors import UserError
from sim.rundir.files import write_json

MANIFEST_FILE = "manifest.json"
FORMAT = 1


class ChunkDamaged(UserError):
    """A finished chunk whose files do not match its manifest."""


def digest(data: bytes) -> str:
    """Return the SHA-256 of `data`, in hex."""
    return hashlib.sha256(data).hexdigest()


def write_chunk(folder: Path, start: int, stop: int, tables: dict, config_sha256: str | None) -> None:
    """Write each table as `<name>.parquet` into `folder`, then the manifest, last and atomically."""
    entries = {}
    for name, table in tables.items():
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        data = buffer.getvalue()
        (folder / f"{name}.parquet").write_bytes(data)
        entries[name] = dict(file=f"{name}.parquet", rows=len(table), bytes=len(data), sha256=digest(data))
    write_json(folder / MANIFEST_FILE, dict(format=FORMAT, start=start, stop=stop,
                                            config_sha256=config_sha256, tables=entries))


def read_manifest(folder: Path) -> dict:
    """Return a chunk's manifest, checked for shape; raise ChunkDamaged if missing or malformed."""
    def damaged(reason: str):
        return ChunkDamaged(f"chunk {folder.name} is damaged ({MANIFEST_FILE}: {reason})")

    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        raise damaged("missing") from None
    except (OSError, ValueError) as error:  # ValueError: not JSON, or not UTF-8
        raise damaged(f"cannot read it, {type(error).__name__}") from None
    tables = manifest.get("tables") if isinstance(manifest, dict) else None
    fields = {"file": str, "rows": int, "bytes": int, "sha256": str}
    if (manifest.get("format") if isinstance(manifest, dict) else None) != FORMAT \
            or not isinstance(tables, dict) \
            or not all(isinstance(manifest.get(k), int) for k in ("start", "stop")) \
            or not all(isinstance(entry, dict) and entry.get("file") == f"{name}.parquet"
                       and all(isinstance(entry.get(k), t) for k, t in fields.items())
                       for name, entry in tables.items()):
        raise damaged("not a manifest of this format")
    return manifest


def read_chunk(folder: Path, start: int, stop: int, expected=None, config_sha256: str | None = None) -> dict:
    """Return {table: DataFrame} of the chunk in `folder` if its files match its manifest.

    `expected` names the tables the chunk must hold (the ones returned; default: all
    the manifest lists); `config_sha256`, if given, must be the digest the manifest
    records. Raise ChunkDamaged, naming the file and what differs, otherwise.
    """
    manifest = read_manifest(folder)

    def damaged(reason: str):
        return ChunkDamaged(f"chunk {folder.name} is damaged ({reason})")

    if (manifest["start"], manifest["stop"]) != (start, stop):
        raise damaged(f"{MANIFEST_FILE}: says replications {manifest['start']}-{manifest['stop']}")
    if config_sha256 is not None and manifest.get("config_sha256") != config_sha256:
        raise damaged(f"{MANIFEST_FILE}: made by another config")
    names = list(manifest["tables"]) if expected is None else list(expected)
    tables = {}
    for name in names:
        entry = manifest["tables"].get(name)
        if entry is None:
            raise damaged(f"{name}.parquet: not in {MANIFEST_FILE}")
        try:
            data = (folder / entry["file"]).read_bytes()
        except FileNotFoundError:
            raise damaged(f"{entry['file']}: missing") from None
        if len(data) != entry["bytes"]:
            raise damaged(f"{entry['file']}: {len(data)} bytes, {entry['bytes']} written")
        if digest(data) != entry["sha256"]:
            raise damaged(f"{entry['file']}: checksum differs")
        try:
            table = pd.read_parquet(io.BytesIO(data))
        except Exception as error:  # pyarrow raises several unrelated types
            raise damaged(f"{entry['file']}: cannot read it, {type(error).__name__}") from None
        if len(table) != entry["rows"]:
            raise damaged(f"{entry['file']}: {len(table)} rows, {entry['rows']} written")
        tables[name] = table
    return tables
