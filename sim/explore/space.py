"""The uncertain assumptions of an experiment: config keys and the range each is varied over.

A range is written ``explore.KEY=LOW:HIGH`` on the command line, or ``KEY: LOW:HIGH``
(or ``KEY: [LOW, HIGH]``) under ``explore:`` in a YAML file. Each design point draws a
value of every key uniformly in its range (through the design: Sobol, LHS, Saltelli,
Morris). KEY is any number of the composed config (`run.discount_rate`,
`market.ai.lease_start_usd_per_kw_month`, `site.hosting.escalator_per_year`, ...). A
distribution-valued key (`site.conversion.capex_usd_per_mw_it`, a lognormal) varies its
*median*, keeping its sigma: the uncertainty explored is the analyst's about the typical
cost, the site's own scatter around it stays; a `fixed` distribution varies its value.
A whole-number key takes whole values, each of LOW..HIGH an equal share of the range.
Every key must exist, and both ends of its range must be allowed by the key's own rule
(composed and checked before any run);
otherwise `UserError` with one line ``KEY=SPEC: what is allowed``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from sim import distributions
from sim.config_checks import validate
from sim.config_errors import no_such_key
from sim.config_objects import build_processes, build_strategies
from sim.errors import UserError
from sim.params import Number, meta_of
from sim.ranges import read_ranges_file, with_values
from sim.schema import Settings

PREFIX = "explore."
SPEC_FORM = "LOW:HIGH, two numbers with LOW < HIGH, e.g. 0.07:0.12"
#: The parameter a distribution-valued key varies, by the distribution's kind.
VARIED_PARAMETER = {"lognormal": "median", "fixed": "value"}


@dataclass(frozen=True)
class Range:
    """One explored key: its dotted config key, its range, its unit and how a value is set."""

    key: str
    low: float
    high: float
    unit: str = "-"
    integer: bool = False
    parameter: str | None = None  # for a distribution: the varied parameter (median, value)

    @property
    def spec(self) -> str:
        """Return the range as the command line writes it (`0.07:0.12`)."""
        return f"{self.low:g}:{self.high:g}"

    @property
    def column(self) -> str:
        """Return the column name of this input in the tables (the key, `.median` for a distribution)."""
        return f"{self.key}.{self.parameter}" if self.parameter else self.key

    def value(self, x: float):
        """Return the config value at `x` in [low, high]; for a whole-number key, the whole
        number whose equal share of [low, high] holds `x` (each of LOW..HIGH is as likely in
        a uniform design: rounding `x` would give LOW and HIGH half the others' chance)."""
        if not self.integer:
            return float(x)
        share = (x - self.low) / (self.high - self.low) * (self.high - self.low + 1)
        return int(min(self.low + math.floor(share), self.high))


def split_assignment(text: str) -> tuple[str, str]:
    """Return (key, spec) of `explore.KEY=LOW:HIGH`; raise UserError if it is not that form."""
    key, equals, spec = text.partition("=")
    if not equals or not key.startswith(PREFIX) or len(key) == len(PREFIX):
        raise UserError(f"{text}: a range must be explore.KEY={SPEC_FORM}")
    return key[len(PREFIX):].strip(), spec.strip()


def is_range(text: str) -> bool:
    """Return True if a command-line argument is a range (`explore.KEY=...`), not a Hydra override."""
    return text.startswith(PREFIX)


def _bounds(key: str, spec) -> tuple[float, float, str]:
    """Return (low, high, shown spec) of a `LOW:HIGH` string or `[LOW, HIGH]` list."""
    shown = spec if isinstance(spec, str) else repr(spec)
    parts = spec.split(":") if isinstance(spec, str) else spec
    try:
        low, high = (float(p) for p in parts) if len(parts) == 2 else (None, None)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not (math.isfinite(low) and math.isfinite(high)):
        raise UserError(f"{key}={shown}: must be {SPEC_FORM}")
    if low >= high:
        raise UserError(f"{key}={shown}: LOW must be below HIGH")
    return low, high, shown


def rule_of(cfg, key: str) -> dict | None:
    """Return the metadata (unit, doc, rule) of `key`: the schema's, or its plug-in class's field."""
    head, _, rest = key.partition(".")
    if head in ("market", "strategy"):
        group, _, name = rest.partition(".")
        node = OmegaConf.select(cfg, f"{head}.{group}")
        target = node.get("_target_") if isinstance(node, DictConfig) else None
        if not target or "." in name:
            return None
        module, _, attr = str(target).rpartition(".")
        cls = getattr(import_module(module), attr, None)
        fields = getattr(cls, "__dataclass_fields__", {})
        return dict(fields[name].metadata) if name in fields and fields[name].metadata else None
    return meta_of(Settings, key)


def _refusal(cfg, key: str, value) -> str | None:
    """Return why `cfg` with `key` set to `value` is not a valid config, or None."""
    trial = with_values(cfg, {key: value})
    try:
        validate(trial)
        build_processes(trial)
        build_strategies(trial)
    except UserError as err:
        text = str(err)
        return text.partition(": ")[2] or text if text.startswith(key) else text
    return None


def parse_range(cfg, key: str, spec) -> Range:
    """Return the checked Range `key=spec` of the composed config `cfg`."""
    low, high, shown = _bounds(key, spec)
    current = OmegaConf.select(cfg, key, default="__absent__")
    if isinstance(current, str) and current == "__absent__":
        known = no_such_key(key).partition(": ")[2]  # with the keys its section has
        if not known.startswith("no such key;"):  # a plug-in's node: no list of its keys
            known = "no such key in the composed config (check the spelling)"
        raise UserError(f"explore.{key}={shown}: {known}")
    meta = rule_of(cfg, key) or {}
    unit = str(meta.get("unit", "-"))
    parameter = None
    if isinstance(current, Mapping) and "dist" not in current:  # a section, such as market.ai
        numbers = [k for k, v in current.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        example = f" such as {key}.{numbers[0]}" if numbers else ""
        raise UserError(f"{key}={shown}: only numbers can be explored; {key} is a section of the "
                        f"config: name one of its numbers{example}")
    if isinstance(current, Mapping):
        kind = distributions.normalise(OmegaConf.to_container(current), key).get("dist")
        parameter = VARIED_PARAMETER.get(kind)
        if parameter is None:
            raise UserError(f"{key}={shown}: a distribution key varies the median of a lognormal or "
                            f"the value of a fixed one; this one is {kind}")
    elif isinstance(current, bool) or not isinstance(current, (int, float)):
        raise UserError(f"{key}={shown}: only numbers can be explored; {key} is {current!r}")
    rule = meta.get("rule")
    if isinstance(rule, Number) and rule.among is not None:  # a range would draw the others
        raise UserError(f"{key}={shown}: takes only {rule.bounds()}, not a range; compare them "
                        f"with a sweep instead (hashpivot -m {key}=...)")
    integer = isinstance(rule, Number) and rule.integer
    if integer and not (low.is_integer() and high.is_integer()):
        raise UserError(f"{key}={shown}: a whole-number key takes whole LOW and HIGH")
    made = Range(key, low, high, unit, integer, parameter)
    for end in (low, high):
        refused = _refusal(cfg, key, set_value(current, made, end))
        if refused:
            raise UserError(f"{key}={shown}: {refused}")
    return made


def set_value(current, made: Range, x: float):
    """Return the config value of `made` at `x`: the number, or the distribution with its parameter set."""
    if made.parameter is None:
        return made.value(x)
    spec = distributions.normalise(OmegaConf.to_container(current) if isinstance(current, DictConfig)
                                   else dict(current), made.key)
    return {**spec, made.parameter: made.value(x)}


def parse_ranges(cfg, specs: Mapping) -> tuple[Range, ...]:
    """Return the checked Ranges of {key: spec}; raise UserError (one line) on the first bad one."""
    if not specs:
        raise UserError("no range given; name at least one, e.g. explore.run.discount_rate=0.07:0.12")
    return tuple(parse_range(cfg, key, spec) for key, spec in specs.items())


def point_config(cfg, ranges, row) -> object:
    """Return `cfg` with each range's key set to its value in `row` (one design point, in range order)."""
    values = {}
    for made, x in zip(ranges, row):
        values[made.key] = set_value(OmegaConf.select(cfg, made.key), made, float(x))
    return with_values(cfg, values)


def read_explore_file(path) -> dict:
    """Return {'explore': {key: spec}, 'overrides': [...]} read from a YAML file (both optional).

    A range is read as written: YAML 1.1 reads an unquoted ``4:12`` as the base-60
    number 252, so a value read as a number is replaced by its text (``4:12``).
    """
    read = read_ranges_file(path, "explore", "LOW:HIGH")
    texts = _plain_texts(path, "explore")
    read["explore"] = {key: texts.get(key, spec) if _number(spec) else spec
                       for key, spec in read["explore"].items()}
    return read


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _plain_texts(path, section: str) -> dict:
    """Return {key: the text as written} of each scalar value in the file's `section` mapping."""
    root = yaml.compose(Path(path).read_text())  # read_ranges_file has read and checked it
    for key, value in root.value if isinstance(root, yaml.MappingNode) else ():
        if key.value == section and isinstance(value, yaml.MappingNode):
            return {str(k.value): v.value for k, v in value.value if isinstance(v, yaml.ScalarNode)}
    return {}
