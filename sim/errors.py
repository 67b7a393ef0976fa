"""Errors a user can cause and fix: they are reported in one line, never as a traceback."""

import argparse
import functools
import numbers
import sys
import sysconfig
import traceback
from pathlib import Path


class UserError(ValueError):
    """A bad config value, bad input file or misbehaving plug-in, explained in one line."""


class Resumable(UserError):
    """A failure after which the same run into the same folder resumes: `says(rerun)` writes
    the line around how to rerun it (a Python call as raised; a command line says its own)."""

    def __init__(self, says, out_dir):
        self.says = says
        super().__init__(says(f"sim.run(cfg, out_dir='{out_dir}')"))


class LookAheadError(LookupError):
    """A strategy tried to read market data after its decision day, or anything its views do not offer."""


def warn_user(log, line: str) -> None:
    """Print `line` on stderr as ``hashpivot: line`` and write it to `log` as a warning
    (marked printed, so the console handler does not show it twice)."""
    print(f"hashpivot: {line}", file=sys.stderr)
    log.warning("%s", line, extra={"printed": True})


def whole_number(name: str, value, minimum: int) -> int:
    """Return `value` as an int, or raise UserError naming `name` unless it is a whole number
    >= `minimum` (a bool, a float such as 2.5 or 2.0, or a string is refused, not rounded)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise UserError(f"{name}={value!r}: must be a whole number >= {minimum}")
    return int(value)


@functools.cache
def _not_user_code() -> tuple[str, ...]:
    """Return where hashpivot and the libraries live: a frame outside them is a user's own
    code (read once, when a plug-in first fails: sysconfig takes milliseconds, which every
    command's start would pay otherwise)."""
    return tuple({str(Path(__file__).resolve().parent), *(
        str(Path(sysconfig.get_paths()[name]).resolve()) for name in ("stdlib", "purelib", "platlib"))})


def raised_at(err: BaseException) -> str:
    """Return where `err` was raised in a user's own code, as " (at plug.py:12 in helper)":
    the innermost frame of its traceback outside hashpivot, the standard library and the
    installed packages, or of its cause's (SimPy raises a copy of a process's exception,
    the original its cause); "" if none (e.g. hashpivot refused what a strategy returned)."""
    while err is not None:
        for frame in reversed(traceback.extract_tb(err.__traceback__)):
            path = Path(frame.filename)
            if frame.filename.startswith("<") or str(path.resolve()).startswith(_not_user_code()):
                continue
            return f" (at {path.name}:{frame.lineno} in {frame.name})"
        err = err.__cause__
    return ""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, "PROG: error: ... (see --help)", exit 2
    (argparse's own print the usage block first: seven lines for one typo). An option it
    does not take is named even where a required argument is missing too (argparse said
    only "the following arguments are required: RUN_DIR" of `hashpivot-compare --bogus`)."""

    def parse_known_args(self, args=None, namespace=None):
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message):
        if message.startswith("the following arguments are required"):
            unknown = [arg for arg in getattr(self, "_given", []) if not self._takes(arg)]
            if unknown:
                message = f"unrecognized arguments: {' '.join(unknown)}"
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def _takes(self, arg: str) -> bool:
        """Return whether `arg` is no option, or an option this parser takes (or abbreviates)."""
        if not arg.startswith("-") or arg == "-" or self._negative_number_matcher.match(arg):
            return True
        name = arg.split("=", 1)[0]
        return any(option == name or (name.startswith("--") and option.startswith(name))
                   for option in self._option_string_actions)
