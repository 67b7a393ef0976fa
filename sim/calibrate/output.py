"""Fitted options written as Hydra config files, all or none."""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from pathlib import Path

from sim._version import __version__
from sim.calibrate.fit import Fit


def yaml_value(value) -> str:
    """Return `value` as YAML text (floats to 8 significant digits, None as null, strings quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(float(f"{value:.8g}"))
    if isinstance(value, str):
        return json.dumps(value)  # quoted: a date such as 2024-01-01 stays a string
    return str(value)


def render(fit: Fit, source: str, out_dir: str | Path) -> str:
    """Return the option file's text: provenance comments, `_target_`, every argument."""
    first, last, count = fit.period
    goodness = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in fit.goodness.items())
    lines = [f"# Fitted by hashpivot-calibrate {__version__} on {datetime.date.today()}: "
             f"{fit.method}.",
             f"# Data: {source}, {first} to {last} ({count} observations).",
             f"# Goodness of fit: {goodness}.",
             f"# Use: hashpivot --config-dir {out_dir} market/{fit.group}={fit.name}",
             f"_target_: {fit.target}"]
    values = {key: yaml_value(value) for key, value in fit.params.items()}
    width = max(len(f"{key}: {text}") for key, text in values.items()) + 2
    for key, text in values.items():
        error = fit.errors.get(key)
        note = (f"± {error:.3g} (standard error)" if error is not None
                else fit.notes.get(key, "not fitted"))
        lines.append(f"{key}: {text}".ljust(width) + f"# {note}")
    return "\n".join(lines) + "\n"


def write_all(files: dict[Path, str]) -> None:
    """Write every {path: text}: each first to a temporary file beside it, then all renamed."""
    staged = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            staged.append((temp, path))
    except OSError:
        for temp, _ in staged:
            os.unlink(temp)
        raise
    for temp, path in staged:
        os.replace(temp, path)
