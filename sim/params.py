"""Described parameters: a dataclass field that carries its unit, doc and rule, and one checker.

`param` makes a field whose metadata says what the value means (unit, one-line doc) and
what it may be: a small `Rule` object (`Number`, `Flag`, `Choice`, `Text`, `Date` or
`Distribution`) that checks a value and describes itself in words. `check_fields` checks
every field of a dataclass (nested ones under their own prefix) and raises `UserError`
with one line naming the key, the value and what is allowed. The config schema
(`sim.schema`) is built from these fields; so are the constructor arguments of the
built-in processes and strategies, which inherit `Checked` to be checked when built, as
any plug-in may.
"""

import dataclasses
import datetime
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from sim import distributions
from sim.errors import UserError


def shown(value) -> str:
    """Return `value` as an error message shows it (a whole float without its '.0', None as
    the config writes it, null)."""
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return repr(int(value))
    return repr(value)


# --- rules: what one key allows ---------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """What one key allows; `nullable` also allows null. Subclasses say what else."""

    nullable: bool = False
    #: The key's type in a word, as the config reference shows it.
    type_name = "value"

    def describe(self) -> str:
        """Return what the key allows, in words ("a number > 0", "one of a, b", ...)."""
        return self.what() + (", or null" if self.nullable else "")

    def what(self) -> str:
        """Return what a non-null value must be, in words."""
        raise NotImplementedError

    def convert(self, value, key: str):
        """Return `value` in the form the model works with (itself, for most rules)."""
        return value

    def check(self, value, key: str) -> None:
        """Raise UserError naming `key` and `value` unless the rule allows `value`."""
        if value is None and self.nullable:
            return
        if not self.allows(value):
            raise UserError(f"{key}={shown(value)}: must be {self.what()}")

    def allows(self, value) -> bool:
        """Return True if the rule allows a non-null `value`."""
        raise NotImplementedError

    def refusal(self, key: str, value) -> str:
        """Return the line refusing `value` at `key` (where the config's typing refused it
        before the rule saw it): the key, the value and all the rule allows."""
        return f"{key}={shown(value)}: must be {self.describe()}"


#: The largest number, in size, any key takes: 1e18 is far past any quantity of the model
#: (difficulty is about 1.4e14, money at most about 1e11), and products of a few such
#: numbers stay far from a float's overflow (1.8e308), which 1e308 reached as NaN or -inf
#: results, or a traceback; it is also within int64 (9.2e18), which a block height needs.
LARGEST = 1e18


@dataclass(frozen=True)
class Number(Rule):
    """A finite number (a whole one if `integer`) in low..high; `low_open` excludes low,
    `high_open` high.

    `low_text` shows `low` in words where a fraction reads better ("1/12 (one month)").
    `among`, if given, holds the only values allowed (the tax code's recovery periods).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    low_text: str | None = None
    among: tuple | None = None

    @property
    def type_name(self) -> str:
        """Return 'int' or 'float'."""
        return "int" if self.integer else "float"

    def bounds(self) -> str:
        """Return the range in words ('> 0', 'in [0, 1]', 'one of 3, 5'), or '' if there is none."""
        if self.among is not None:
            return "one of " + ", ".join(map(str, self.among))
        low, high = (self.low if self.low_text is None else self.low_text), self.high
        if low is None and high is None:
            return ""
        if high is None:
            return f"{'>' if self.low_open else '>='} {low}"
        if low is None:
            return f"{'<' if self.high_open else '<='} {high}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"

    def what(self) -> str:
        """Return 'a number > 0', 'a whole number >= 1', 'one of 3, 5', ..."""
        if self.among is not None:
            return self.bounds()
        return " ".join(filter(None, ["a whole number" if self.integer else "a number", self.bounds()]))

    def check(self, value, key: str) -> None:
        """Raise UserError naming `key` unless `value` is a finite number in range."""
        if value is None and self.nullable:
            return
        kind = Integral if self.integer else Real
        if self.integer and isinstance(value, float) and value.is_integer():
            raise UserError(self.refusal(key, value))
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
            raise UserError(f"{key}={shown(value)}: must be {'a whole number' if self.integer else 'a number'}")
        if not math.isfinite(value):
            raise UserError(f"{key}={shown(value)}: must be a finite number")
        if abs(value) > LARGEST:  # its products would overflow, far past any real quantity
            raise UserError(f"{key}={shown(value)}: too large to compute with; every number "
                            f"in the config must be at most {LARGEST:g} in size")
        too_low = self.low is not None and (value <= self.low if self.low_open else value < self.low)
        outside = self.among is not None and value not in self.among
        too_high = self.high is not None and (value >= self.high if self.high_open else value > self.high)
        if too_low or too_high or outside:
            raise UserError(f"{key}={shown(value)}: must be {self.bounds()}")

    def refusal(self, key: str, value) -> str:
        """Return the line refusing `value` at `key`; a whole float given a whole-number key
        (1e3, 2.0) keeps its '.0', which is why it is refused, and says the number to write
        where that number is allowed: 'k=1000.0: must be a whole number >= 1 (write 1000)'."""
        if not (self.integer and isinstance(value, float) and value.is_integer()):
            return super().refusal(key, value)
        try:
            self.check(int(value), key)
            write = f" (write {int(value)})"
        except UserError:  # the whole number is refused too: say only what is allowed
            write = ""
        return f"{key}={value!r}: must be {self.describe()}{write}"


@dataclass(frozen=True)
class Flag(Rule):
    """True or false."""

    type_name = "bool"

    def what(self) -> str:
        """Return 'true or false'."""
        return "true or false"

    def allows(self, value) -> bool:
        """Return True for a bool (numpy's included)."""
        return isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Choice(Rule):
    """One of a few strings."""

    choices: tuple = ()
    type_name = "str"

    def what(self) -> str:
        """Return 'one of a, b, c'."""
        return "one of " + ", ".join(map(str, self.choices))

    def allows(self, value) -> bool:
        """Return True for one of the choices."""
        return isinstance(value, str) and value in self.choices


@dataclass(frozen=True)
class Text(Rule):
    """Any string (a label, an address)."""

    type_name = "str"

    def what(self) -> str:
        """Return 'a string'."""
        return "a string"

    def allows(self, value) -> bool:
        """Return True for a string."""
        return isinstance(value, str)


ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Date(Rule):
    """A calendar date in ISO form, YYYY-MM-DD (2027-01-01); 01/02/2027 is ambiguous, refused."""

    type_name = "date"

    #: The years a date may fall in: Bitcoin's history and a century ahead (a day grid of
    #: 9999-12-31 plus the horizon failed past the calendar's end, with a traceback).
    YEARS = (1970, 2200)

    def what(self) -> str:
        """Return 'a date YYYY-MM-DD from 1970 to 2200, such as 2027-01-01'."""
        return f"a date YYYY-MM-DD from {self.YEARS[0]} to {self.YEARS[1]}, such as 2027-01-01"

    def allows(self, value) -> bool:
        """Return True for a real calendar day written YYYY-MM-DD (or a `datetime.date`), in YEARS."""
        if isinstance(value, datetime.date):  # a YAML loader may have read it already
            value = value.isoformat()[:10]
        if not isinstance(value, str) or not ISO_DATE.fullmatch(value):
            return False
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            return False
        return self.YEARS[0] <= day.year <= self.YEARS[1]


@dataclass(frozen=True)
class Distribution(Rule):
    """A distribution spec of sim.distributions: a mapping, or the `kind:p1:p2` shorthand."""

    type_name = "distribution"

    def what(self) -> str:
        """Return an example of both forms."""
        return "a distribution such as {dist: lognormal, median: 12, sigma: 0.3} or lognormal:12:0.3"

    def check(self, value, key: str) -> None:
        """Raise UserError (sim.distributions' own line) unless `value` is a valid spec."""
        if value is None and self.nullable:
            return
        distributions.check(value, key)

    def convert(self, value, key: str):
        """Return the spec parsed once into its `sim.distributions.Distribution`."""
        return value if value is None else distributions.parse(value, key)


# --- fields and the checker --------------------------------------------------------------------
def param(default, *, unit: str, doc: str, low=None, high=None, low_open: bool = False,
          high_open: bool = False, choices=None, integer: bool = False, nullable: bool = False,
          rule: Rule | None = None):
    """Return a dataclass field for one key: its default, and its rule, unit and doc as metadata.

    The rule is `rule` if given (`Text`, `Date`, `Distribution`, ...), else `Choice` with
    `choices`, `Flag` for a bool default, else `Number` (low <= value, or low < value if
    `low_open`; value <= high, or value < high if `high_open`; whole if `integer`).
    """
    if rule is None:
        if choices:
            rule = Choice(nullable=nullable, choices=tuple(choices))
        elif isinstance(default, bool):
            rule = Flag(nullable)
        else:
            rule = Number(nullable=nullable, low=low, high=high, low_open=low_open,
                          high_open=high_open, integer=integer)
    meta = dict(unit=unit, doc=doc, rule=rule)
    if isinstance(default, (Mapping, list)):
        return field(default_factory=lambda: _copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def section(cls, *, doc: str):
    """Return a dataclass field holding a nested group of keys (defaults from `cls`)."""
    return field(default_factory=cls, metadata=dict(unit="-", doc=doc, section=cls))


def _copy(value):
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def described(spec: dataclasses.Field) -> bool:
    """Return True if a dataclass field was made by `param` or `section`."""
    return "rule" in spec.metadata or "section" in spec.metadata


def check_fields(obj, prefix: str = "") -> None:
    """Raise UserError on the first field of `obj` outside its rule, named `prefix` + name.

    Nested sections are checked with their own prefix, then the object's cross-field
    rules (its `cross_check(prefix)` method, if it has one). A checked value is kept in
    its rule's working form (`Rule.convert`: a distribution spec is parsed once, here).
    """
    for spec in dataclasses.fields(obj):
        key, value = f"{prefix}{spec.name}", getattr(obj, spec.name)
        if "section" in spec.metadata:
            check_fields(value, f"{key}.")
        elif "rule" in spec.metadata:
            rule = spec.metadata["rule"]
            rule.check(value, key)
            converted = rule.convert(value, key)
            if converted is not value:
                object.__setattr__(obj, spec.name, converted)
    cross = getattr(obj, "cross_check", None)
    if cross is not None:
        cross(prefix)


class Checked:
    """Mix-in for constructor dataclasses: check every argument when the object is built."""

    def __post_init__(self):
        check_fields(self)


def keys(cls, prefix: str = "") -> Iterator[tuple[str, dict]]:
    """Yield (dotted key, metadata: unit, doc, rule) for every leaf key of `cls`, in order."""
    for spec in dataclasses.fields(cls):
        key = f"{prefix}{spec.name}"
        if "section" in spec.metadata:
            yield from keys(spec.metadata["section"], f"{key}.")
        elif "rule" in spec.metadata:
            yield key, dict(spec.metadata)


def meta_of(cls, key: str) -> dict | None:
    """Return the metadata of dotted `key` under schema class `cls`, or None if it has none."""
    return dict(keys(cls)).get(key)
