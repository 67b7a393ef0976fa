"""Fitted options written as Hydra config files, all or none."""

from __future__ import annotations

import datetime
import errno
import json
import os
import tempfile
from pathlib import Path

from sim._version import __version__
from sim.calibrate.fit import Fit


def yaml_value(value) -> str:
    """Return `value` as YAML text (floats to 8 significant digits, None as null, strings
    quoted, an interpolation such as ${asof.btc_usd} as written in the shipped options)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(f"{value:.8g}"))
    if isinstance(value, str) and not _is_interpolation(value):
        return json.dumps(value)  # quoted: a date such as 2024-01-01 stays a string
    return str(value)


def _is_interpolation(text: str) -> bool:
    return text.startswith("${") and text.endswith("}")


def render(fit: Fit, source: str, out_dir: str | Path) -> str:
    """Return the option file's text: provenance comments, `_target_`, every argument."""
    first, last, count = fit.period
    goodness = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in fit.goodness.items())
    lines = [f"# Fitted by hashpivot-calibrate {__version__} on {datetime.date.today()}: "
             f"{fit.method}.",
             f"# Data: {source}, {first} to {last} ({count} {fit.observed}).",
             f"# Goodness of fit: {goodness}.",
             f"# Use: hashpivot --config-dir {out_dir} market/{fit.group}={fit.name}",
             f"# Every key not fitted, day 0's state among them, is market/{fit.group}="
             f"{fit.shipped}'s (${{asof.*}}: the snapshot's).",
             f"_target_: {fit.target}"]
    written = fit.written()
    values = {key: yaml_value(value) for key, (value, _) in written.items()}
    width = max(len(f"{key}: {text}") for key, text in values.items()) + 2
    for key, text in values.items():
        note = written[key][1]
        if key in fit.errors:
            note = f"± {fit.errors[key]:.3g} (standard error)" + (f"; {note}" if note else "")
        lines.append(f"{key}: {text}".ljust(width) + f"# {note}")
    return "\n".join(lines) + "\n"


def write_all(files: dict[Path, str]) -> None:
    """Write every {path: text}, all or none: each first to a temporary file beside it, then
    all renamed, a file already there (a previous run's fit) first moved aside. On an
    OSError (naming the path that failed, never a temporary file) or an interruption
    (Ctrl-C) nothing this call wrote is left: its temporary files, the files it renamed
    into place and the directories it made are removed, the files it moved aside are put
    back, and the error is raised again."""
    made: list[Path] = []
    staged: list[tuple[str, Path]] = []
    placed: list[Path] = []
    aside: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            made += _make_directories(path.parent)
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, "a directory, not a file", str(path))
            staged.append((_stage(path, text), path))
        for temp, path in staged:
            try:
                if path.exists():
                    aside.append((_move_aside(path), path))
                os.replace(temp, path)
            except OSError as err:
                raise OSError(err.errno, err.strerror, str(path)) from None
            placed.append(path)
    except BaseException:  # an OSError, or KeyboardInterrupt: nothing of this call is left
        for leftover in [temp for temp, _ in staged] + placed:
            Path(leftover).unlink(missing_ok=True)
        for before, path in aside:
            os.replace(before, path)
        for directory in reversed(made):
            _remove_if_empty(directory)
        raise
    for before, _ in aside:
        Path(before).unlink(missing_ok=True)


def _move_aside(path: Path) -> str:
    """Return the name of a new temporary file beside `path` that now holds its file."""
    handle, before = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.before.")
    os.close(handle)
    os.replace(path, before)
    return before


def _make_directories(directory: Path) -> list[Path]:
    """Make `directory` and its missing parents; return those made, outermost first."""
    missing = [parent for parent in [directory, *directory.parents] if not parent.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _stage(path: Path, text: str) -> str:
    """Return the name of a new temporary file beside `path` holding `text`, with the mode
    a file the user creates gets (`_created_mode`), not mkstemp's private 0600."""
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            os.fchmod(stream.fileno(), _created_mode())
            stream.write(text)
    except OSError as err:
        Path(temp).unlink(missing_ok=True)
        raise OSError(err.errno, err.strerror, str(path)) from None
    return temp


def _created_mode() -> int:
    """Return the mode of a file created now: 0666 less the process's umask (0644 under 022),
    as every other command's outputs get."""
    umask = os.umask(0o077)  # read by setting; put back at once
    os.umask(umask)
    return 0o666 & ~umask


def _remove_if_empty(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError:
        pass  # not empty (it holds files of before) or already gone
