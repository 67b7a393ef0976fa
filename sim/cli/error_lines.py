"""How the `hashpivot` command says an error: one line on stderr (`hashpivot: error: ...`)
and exit code 2, with the flag a check names; an exception as one line."""

from __future__ import annotations

import sys

USAGE_ERROR = 2
#: The flag of each argument its checks name (they name the argument as Python passes it).
FLAGS = {"config_dirs": "--config-dir"}


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def one_line(error: BaseException) -> str:
    """Return `error` as one line: its type and its message, whitespace collapsed."""
    return " ".join(f"{type(error).__name__}: {error}".split())
