"""Atomic writes: every file and folder of a run directory appears whole or not at all."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path


def temporary(path: Path) -> Path:
    """Return the temporary name `path` is written under before it is renamed into place."""
    return path.with_name(f".tmp-{path.name}-{os.getpid()}")


def write_atomic(path, write) -> None:
    """Call `write(tmp_path)`, then rename the file into `path`; a failed write leaves nothing."""
    path = Path(path)
    tmp = temporary(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_folder_atomic(path, write) -> None:
    """Call `write(tmp_folder)`, then rename the folder into `path`; a failed write leaves nothing."""
    path = Path(path)
    tmp = temporary(path)
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_json(path, data: dict) -> None:
    """Write `data` as indented JSON to `path`, atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2, default=str) + "\n"))
