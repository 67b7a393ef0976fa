"""Errors a user can cause and fix: they are reported in one line, never as a traceback."""

import numbers
import sys


class UserError(ValueError):
    """A bad config value, bad input file or misbehaving plug-in, explained in one line."""


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
