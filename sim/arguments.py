"""The arguments of the functions that a command line calls too: a bad one named as its
caller spells it, and the readings and checks that several commands share.

`ArgumentError` carries its line as a function of the arguments' names, so that a function
names them as Python passes them (`metric='irr'`) and a command line, through `flagged`, by
its flags (`--metric=irr`); `whole_argument`, `check_output_dir` and `names_listed` are
those readings and checks, with `folder_path`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from sim.errors import UserError, whole_number


class ArgumentError(UserError):
    """A bad argument of a function that a command line calls too, named as its caller spells it.

    `says(name)` writes the one line, calling `name(keyword, value)` for each argument it
    names, or `name(keyword)` for the argument alone. As raised, the line names them as
    Python passes them (`metric='irr'`, `metric=`); `flagged` names them by a command
    line's flags (`--metric=irr`, `--metric`): each message is written once, and each
    command knows its own flags.
    """

    def __init__(self, says):
        self.says = says
        super().__init__(says(_keyword))


def _keyword(keyword: str, *value) -> str:
    """Return argument `keyword` as Python passes it: `keyword=value` (a path as its string),
    or `keyword=`; a key that is no Python name (`hydra.run.dir`, a flag) with its value as typed."""
    if not value:
        return f"{keyword}="
    given = os.fspath(value[0]) if isinstance(value[0], os.PathLike) else value[0]
    return f"{keyword}={given!r}" if keyword.isidentifier() else f"{keyword}={given}"


def flagged(error: UserError, flags: Mapping[str, str]) -> str:
    """Return the line of `error` as a command line says it: each argument that `flags`
    ({keyword: flag}) lists named by its flag, a list typed as `a,b`, a mapping as `k=v`."""
    if not isinstance(error, ArgumentError):
        return str(error)

    def name(keyword: str, *value) -> str:
        if keyword not in flags:
            return _keyword(keyword, *value)
        typed = value[0] if value else None
        if isinstance(typed, Mapping):
            typed = " ".join(f"{k}={v}" for k, v in typed.items())
        elif isinstance(typed, (list, tuple)):
            typed = ",".join(map(str, typed))
        return flags[keyword] if typed in (None, "") else f"{flags[keyword]}={typed}"

    return error.says(name)


def whole_argument(keyword: str, value, minimum: int) -> int:
    """Return `value` as an int, or raise ArgumentError naming `keyword` (see `whole_number`)."""
    try:
        return whole_number(keyword, value, minimum)
    except UserError:
        raise ArgumentError(lambda name: f"{name(keyword, value)}: must be a whole number "
                                         f">= {minimum}") from None


def folder_path(key: str, value) -> Path:
    """Return `value`, a folder's path, as a Path, or raise ArgumentError naming `key` unless it
    is a str or a path-like (None or a number reached pathlib's TypeError, naming nothing)."""
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise ArgumentError(lambda name: f"{name(key, value)}: a folder's path (a str or "
                                     f"pathlib.Path), not {type(value).__name__}")


def check_output_dir(path, key: str) -> None:
    """Raise UserError (an ArgumentError naming `key`) unless `path` is a writable directory
    or can be made one.

    Nothing is left behind: the directory, or for a missing one its nearest existing
    parent, is tried by making (and removing) a temporary folder in it. (Permission bits
    alone would pass a root user on a read-only mount, or in /proc.)
    """
    path = folder_path(key, path)
    try:
        target = path.absolute()
        if target.exists():
            if not target.is_dir():
                raise ArgumentError(lambda name: f"{name(key, path)}: exists and is not a directory")
            try:
                _probe(target)
            except OSError as err:
                why = err.strerror or err
                raise ArgumentError(lambda name: f"{name(key, path)}: cannot write there ({why}); "
                                                 "choose a writable directory") from None
            return
        parent = target.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise ArgumentError(lambda name: f"{name(key, path)}: {parent} is a file, not a directory")
        _probe(parent)
    except OSError as err:
        why = err.strerror or err
        raise ArgumentError(lambda name: f"{name(key, path)}: cannot create it there ({why}); "
                                         "choose a writable directory") from None


def _probe(directory: Path) -> None:
    """Make a temporary folder in `directory` and remove it (OSError where it cannot be made):
    whether a run could write there, leaving nothing behind."""
    with tempfile.TemporaryDirectory(prefix=".hashpivot-probe-", dir=directory):
        pass


def names_listed(text: str) -> list[str]:
    """Return the names of a comma-separated list, spaces and empty items dropped
    ("a, b," -> ["a", "b"])."""
    return [name.strip() for name in text.split(",") if name.strip()]
