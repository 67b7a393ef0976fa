"""Atomic writes: every file and folder of a run directory appears whole or not at all."""

from __future__ import annotations

import glob
import json
import os
import shutil
from pathlib import Path


def _temporary_stem(path: Path) -> str:
    return f".tmp-{path.name}-"  # then the writer's process id


def temporary(path: Path) -> Path:
    """Return the temporary name `path` is written under before it is renamed into place."""
    return path.with_name(f"{_temporary_stem(path)}{os.getpid()}")


def left_behind(path: Path) -> list[Path]:
    """Return the temporary files of `path` that writers in any process left (`temporary`)."""
    return sorted(path.parent.glob(f"{glob.escape(_temporary_stem(path))}*"))


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
