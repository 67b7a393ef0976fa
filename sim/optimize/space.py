"""A search space: the strategy parameters to vary, and the range or choices of each.

A dimension is written ``KEY=SPEC`` on the command line, or ``KEY: SPEC`` under
``space:`` in a YAML file, where SPEC is one of::

    int:LOW:HIGH          a whole number in [LOW, HIGH]
    float:LOW:HIGH        a number in [LOW, HIGH], searched evenly
    logfloat:LOW:HIGH     a number in [LOW, HIGH] (LOW > 0), searched evenly in its logarithm
    choice:A,B,C          one of the listed values (numbers, true/false or words)

Every key must be a parameter of the chosen strategy (``strategy.phased.max_share``), and
the range must lie within what the parameter itself allows (its `sim.params` rule): a
whole-number parameter takes `int`, a choice parameter takes `choice` of its own values.
A bad dimension raises `UserError` with one line ``KEY=SPEC: what is allowed``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass

import yaml

from sim.arguments import ArgumentError
from sim.errors import UserError
from sim.params import Choice, Flag, Number
from sim.ranges import read_ranges_file

KINDS = ("int", "float", "logfloat", "choice")
SPEC_FORMS = "int:LOW:HIGH, float:LOW:HIGH, logfloat:LOW:HIGH (LOW > 0) or choice:A,B,C"


@dataclass(frozen=True)
class Dimension:
    """One searched parameter: its dotted key, its kind and its range (or its choices)."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    @property
    def spec(self) -> str:
        """Return the dimension in its canonical command-line form (`int:0:5`)."""
        if self.kind == "choice":
            return "choice:" + ",".join(_word(c) for c in self.choices)
        return f"{self.kind}:{_word(self.low)}:{_word(self.high)}"

    def contains(self, value) -> bool:
        """Return True if `value` is a point of this dimension."""
        if self.kind == "choice":
            return any(value == c and type(value) is type(c) for c in self.choices)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and not float(value).is_integer():
            return False
        return self.low <= value <= self.high


def _word(value) -> str:
    """Return a value as the spec syntax writes it (true, 0.25, 3, lease)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(int(value)) if abs(value) < 1e16 else repr(value)
    return str(value)


def parse_dimension(key: str, spec, strategy_class) -> Dimension:
    """Return the Dimension `key=spec`, checked against the parameter's own rule in `strategy_class`."""
    shown = spec if isinstance(spec, str) else _mapping_spec(key, spec)
    kind, _, rest = shown.partition(":")
    if kind not in KINDS or not rest:
        raise UserError(f"{key}={shown}: must be {SPEC_FORMS}")
    if kind == "choice":
        values = [yaml.safe_load(v) if v.strip() else None for v in rest.split(",")]
        if any(v is None or isinstance(v, (list, dict)) for v in values):
            raise UserError(f"{key}={shown}: choice needs values separated by commas, e.g. choice:lease,cloud")
        if len(set(map(repr, values))) < len(values):
            raise UserError(f"{key}={shown}: a choice is listed twice")
        dimension = Dimension(key, kind, choices=tuple(values))
    else:
        parts = rest.split(":")
        try:
            low, high = (float(p) for p in parts) if len(parts) == 2 else (None, None)
        except ValueError:
            low = high = None
        if low is None or not (math.isfinite(low) and math.isfinite(high)):
            raise UserError(f"{key}={shown}: {kind} needs two finite numbers, {kind}:LOW:HIGH")
        if low >= high:
            raise UserError(f"{key}={shown}: LOW must be below HIGH")
        if kind == "logfloat" and low <= 0:
            raise UserError(f"{key}={shown}: logfloat needs LOW > 0 (it searches the logarithm)")
        if kind == "int":
            if not (low.is_integer() and high.is_integer()):
                raise UserError(f"{key}={shown}: int needs whole numbers, e.g. int:0:5")
            low, high = int(low), int(high)
        dimension = Dimension(key, kind, low, high)
    _check_against_param(dimension, shown, strategy_class)
    return dimension


def _mapping_spec(key: str, spec) -> str:
    """Return the spec string of a YAML mapping {type: int, low: 0, high: 5} or {choices: [a, b]}."""
    if isinstance(spec, dict):
        if set(spec) == {"choices"} and isinstance(spec["choices"], list) and spec["choices"]:
            return "choice:" + ",".join(_word(c) for c in spec["choices"])
        if set(spec) == {"type", "low", "high"}:
            return f"{spec['type']}:{_word(spec['low'])}:{_word(spec['high'])}"
    raise UserError(f"{key}={spec!r}: must be {SPEC_FORMS}, or a mapping "
                    "{type: int|float|logfloat, low: L, high: H} or {choices: [A, B]}")


def _check_against_param(dimension: Dimension, shown: str, strategy_class) -> None:
    """Raise UserError unless `dimension` fits the kind and range its parameter allows."""
    key = dimension.key
    name = key.rpartition(".")[2]
    if dataclasses.is_dataclass(strategy_class):
        spec = {f.name: f for f in dataclasses.fields(strategy_class) if f.init}.get(name)
        if spec is None:  # parse_space has checked the key is a parameter
            return
        rule, default = spec.metadata.get("rule"), spec.default
    else:  # a plain class: no rule, only its __init__'s default
        rule, default = None, init_defaults(strategy_class).get(name)
    if isinstance(rule, Flag):
        if dimension.kind != "choice" or not all(isinstance(c, bool) for c in dimension.choices):
            raise UserError(f"{key}={shown}: a true/false parameter takes choice:true,false")
    elif isinstance(rule, Choice):
        if dimension.kind != "choice" or not set(dimension.choices) <= set(rule.choices):
            raise UserError(f"{key}={shown}: each choice must be one of {', '.join(map(str, rule.choices))} "
                            f"(e.g. choice:{','.join(map(str, rule.choices))})")
    elif isinstance(rule, Number):
        if dimension.kind == "choice":
            if not all(_fits(rule, c) for c in dimension.choices):
                raise UserError(f"{key}={shown}: every choice must be {rule.what()}")
        elif rule.integer and dimension.kind != "int":
            raise UserError(f"{key}={shown}: a whole-number parameter takes int:LOW:HIGH ({rule.what()})")
        elif not (_fits(rule, dimension.low) and _fits(rule, dimension.high)):
            raise UserError(f"{key}={shown}: LOW and HIGH must be {rule.bounds()}")
    elif isinstance(default, bool) and dimension.kind != "choice":
        raise UserError(f"{key}={shown}: a true/false parameter takes choice:true,false")


def _fits(rule: Number, value) -> bool:
    """Return True if the Number `rule` allows `value`."""
    try:
        rule.check(value, "")
    except UserError:
        return False
    return True


def parameter_names(strategy_class) -> list[str]:
    """Return the names of the parameters a strategy class takes (a dataclass's init fields;
    a plain class's `__init__` parameters that can be passed by keyword)."""
    if not dataclasses.is_dataclass(strategy_class):
        return list(init_defaults(strategy_class))
    return [f.name for f in dataclasses.fields(strategy_class) if f.init and not f.name.startswith("_")]


def init_defaults(strategy_class) -> dict:
    """Return {name: default, or None if it has none} of the parameters a plain class's
    `__init__` takes by keyword (not self, *args or **kwargs)."""
    by_keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = list(inspect.signature(strategy_class.__init__).parameters.values())[1:]  # not self
    return {p.name: None if p.default is inspect.Parameter.empty else p.default
            for p in parameters if p.kind in by_keyword and not p.name.startswith("_")}


def parse_space(specs: dict, strategy: str, strategy_class) -> tuple[Dimension, ...]:
    """Return the Dimensions of {key: spec}, every key a parameter of `strategy` (`strategy_class`)."""
    if not specs:
        example = {f"strategy.{strategy}.<param>": "int:0:5"}
        raise ArgumentError(lambda name: f"{name('space', specs)}: none given; e.g. "
                                         f"{name('space', example)}")
    names = parameter_names(strategy_class)
    prefix = f"strategy.{strategy}."
    dimensions = []
    for key, spec in specs.items():
        name = key[len(prefix):] if key.startswith(prefix) else None
        if name not in names:
            allowed = ", ".join(prefix + n for n in names) or f"none ({strategy} takes no parameters)"
            raise UserError(f"{key}={_shown_spec(spec)}: not a parameter of strategy {strategy}; "
                            f"allowed: {allowed}")
        dimensions.append(parse_dimension(key, spec, strategy_class))
    return tuple(dimensions)


def _shown_spec(spec) -> str:
    return spec if isinstance(spec, str) else repr(spec)


def split_assignment(text: str) -> tuple[str, str]:
    """Return (key, spec) of a command-line `KEY=SPEC`; raise UserError if it has no '='."""
    key, equals, spec = text.partition("=")
    if not equals or not key:
        raise UserError(f"--space {text}: must be KEY=SPEC, e.g. strategy.phased.max_share=float:0.2:1")
    return key.strip(), spec.strip()


def read_space_file(path) -> dict:
    """Return {'space': {key: spec}, 'overrides': [...]} read from a YAML file (both optional)."""
    return read_ranges_file(path, "space", "a spec such as float:0.2:1")