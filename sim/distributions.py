"""Distributions named in the config: conversion durations, capex, tenant sizes and terms.

Each kind of distribution is a small class that checks its parameters when it is built
and knows its mean, its median and how to sample itself::

    Fixed(10)   Exponential(365)   Lognormal(median=12, sigma=0.35)   Uniform(10, 50)

In the config a distribution is a small mapping, so that any of them can be set to a
constant from the command line::

    {dist: fixed, value: 10}
    {dist: exponential, mean: 365}
    {dist: lognormal, median: 12, sigma: 0.35}
    {dist: uniform, low: 10, high: 50}

On the command line, where Hydra will not swap one mapping for another, the same can
be written as a string of the kind and its parameters in the order above:
``site.conversion.retrofit_days=fixed:335``, ``lognormal:335:0.3``, ``uniform:10:50``.
That string is also what a distribution's ``repr`` prints.

`parse(spec, key)` turns either form into a `Distribution`; the module-level `check`,
`mean`, `median` and `draw` accept a spec or a `Distribution`. ``draw(..., deterministic=True)``
returns the mean, repeated, which is what `run.deterministic=true` uses.
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import InitVar, dataclass, field, fields
from functools import cache
from typing import ClassVar

import numpy as np

from sim.errors import UserError


class Distribution(ABC):
    """A non-negative random quantity of the model, such as the days a retrofit takes.

    A subclass is a frozen dataclass whose fields are its parameters, in the order the
    string form lists them; it names itself in `kind`, draws in `sample`, and provides
    `mean` and `median` (as a parameter or a property). Its parameters are checked when
    it is built; pass ``key=`` (the config key) so that a bad one is reported by name.
    Two distributions are equal when they are of one kind with equal parameters.
    """

    kind: ClassVar[str]
    mean: float
    median: float

    def __post_init__(self, key: str | None) -> None:
        self.check(key if key is not None else self.kind)
        for name, value in self.parameters().items():  # 335 and 335.0 draw alike
            object.__setattr__(self, name, float(value))

    @abstractmethod
    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return `size` independent draws, using `rng`."""

    def check(self, key: str) -> None:
        """Raise UserError naming `key` unless every parameter is a finite number >= 0."""
        for name, value in self.parameters().items():
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not math.isfinite(value)):
                raise UserError(f"{key}.{name}={value!r} must be a finite number")
            if value < 0:
                raise UserError(f"{key}.{name}={value!r} must be >= 0")

    def parameters(self) -> dict:
        """Return the parameters as {name: value}, in the order of the string form."""
        return {name: getattr(self, name) for name in _parameter_names(type(self))}

    def expected(self, size: int) -> np.ndarray:
        """Return the mean, repeated `size` times: the draws of a deterministic run."""
        return np.full(size, self.mean)

    def draw(self, rng: np.random.Generator | None, size: int,
             deterministic: bool = False) -> np.ndarray:
        """Return `size` draws (the mean, repeated, when deterministic), checked for sense."""
        if deterministic:
            return self.expected(size)
        values = self.sample(rng, size)
        if np.shape(values) != (size,):
            raise UserError(f"{self!r} drew an array of shape {np.shape(values)}; "
                            f"wanted ({size},)")
        if size and not 0 <= values.min() <= values.max() < np.inf:  # also false for NaN
            bad = ~(np.isfinite(values) & (values >= 0))
            raise UserError(f"{self!r} drew {float(values[bad][0])!r}; wanted finite numbers >= 0")
        return values

    def as_dict(self) -> dict:
        """Return the mapping form, {dist: kind, parameters...}, as the config writes it."""
        return {"dist": self.kind, **self.parameters()}

    def __repr__(self) -> str:
        return ":".join([self.kind, *(_number_text(v) for v in self.parameters().values())])


def _number_text(value) -> str:
    """Return `value` as the shortest text that reads back to the same float."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True, repr=False)
class Fixed(Distribution):
    """Always `value`: a duration or cost taken as known."""

    kind: ClassVar[str] = "fixed"
    value: float
    key: InitVar[str | None] = field(default=None, kw_only=True)  # named in errors

    @property
    def mean(self) -> float:
        """Return the value."""
        return self.value

    @property
    def median(self) -> float:
        """Return the value."""
        return self.value

    def sample(self, rng, size):
        """Return `value`, `size` times (`rng` is not used)."""
        return np.full(size, self.mean)


@dataclass(frozen=True, repr=False)
class Exponential(Distribution):
    """Memoryless waits of a given `mean`, such as the time to the next event."""

    kind: ClassVar[str] = "exponential"
    mean: float
    key: InitVar[str | None] = field(default=None, kw_only=True)  # named in errors

    @property
    def median(self) -> float:
        """Return mean · ln 2."""
        return float(self.mean * np.log(2))

    def sample(self, rng, size):
        """Return `size` exponential draws of mean `mean`."""
        return rng.exponential(self.mean, size)


@dataclass(frozen=True, repr=False)
class Lognormal(Distribution):
    """Durations and costs with a long right tail: `median` · exp(`sigma` · Z), Z ~ N(0, 1)."""

    kind: ClassVar[str] = "lognormal"
    median: float
    sigma: float
    key: InitVar[str | None] = field(default=None, kw_only=True)  # named in errors

    @property
    def mean(self) -> float:
        """Return median · exp(sigma² / 2)."""
        return float(self.median * np.exp(self.sigma ** 2 / 2))

    def sample(self, rng, size):
        """Return `size` draws of median · exp(sigma · Z), one standard normal Z each."""
        return self.median * np.exp(self.sigma * rng.standard_normal(size))


@dataclass(frozen=True, repr=False)
class Uniform(Distribution):
    """Equally likely anywhere from `low` to `high`: a range with no favourite inside it."""

    kind: ClassVar[str] = "uniform"
    low: float
    high: float
    key: InitVar[str | None] = field(default=None, kw_only=True)  # named in errors

    @property
    def mean(self) -> float:
        """Return the midpoint, (low + high) / 2."""
        return float((self.low + self.high) / 2)

    @property
    def median(self) -> float:
        """Return the midpoint, (low + high) / 2."""
        return self.mean

    def check(self, key: str) -> None:
        """Raise UserError naming `key` unless low and high are finite, >= 0 and low <= high."""
        super().check(key)
        if self.low > self.high:
            raise UserError(f"{key}.low={self.low!r} must be <= {key}.high={self.high!r}")

    def sample(self, rng, size):
        """Return `size` uniform draws on [low, high)."""
        return rng.uniform(self.low, self.high, size)


DISTRIBUTIONS: dict[str, type[Distribution]] = {
    cls.kind: cls for cls in (Fixed, Exponential, Lognormal, Uniform)}


@cache
def _parameter_names(cls: type[Distribution]) -> tuple[str, ...]:
    """Return the parameter names of a distribution class, in the order of the string form."""
    return tuple(f.name for f in fields(cls))


def parse(spec, key: str = "distribution") -> Distribution:
    """Return the Distribution a mapping, a ``kind:p1:p2`` string or a Distribution describes."""
    if isinstance(spec, Distribution):
        return spec
    if isinstance(spec, str):
        kind, *texts = spec.split(":")
        if kind not in DISTRIBUTIONS:
            raise UserError(f"{key}={spec!r} must start with one of {', '.join(DISTRIBUTIONS)}")
        names = _parameter_names(DISTRIBUTIONS[kind])
        if len(texts) != len(names):
            raise UserError(f"{key}={spec!r}: {kind} takes {len(names)} number(s), "
                            f"{':'.join([kind, *names])}")
        try:
            values = [float(text) for text in texts]
        except ValueError:
            raise UserError(f"{key}={spec!r}: the parameters must be numbers") from None
        return DISTRIBUTIONS[kind](*values, key=key)
    if not isinstance(spec, Mapping) or "dist" not in spec:
        raise UserError(f"{key}={spec!r} must be a distribution such as "
                        "{dist: lognormal, median: 12, sigma: 0.3} or lognormal:12:0.3")
    kind = spec["dist"]
    if kind not in DISTRIBUTIONS:
        raise UserError(f"{key}.dist={kind!r} is not one of {', '.join(DISTRIBUTIONS)}")
    wanted = set(_parameter_names(DISTRIBUTIONS[kind]))
    given = set(spec) - {"dist"}
    if given != wanted:
        raise UserError(f"{key} ({kind}) takes exactly {', '.join(sorted(wanted))}; "
                        f"got {', '.join(sorted(map(str, given))) or 'nothing'}")
    return DISTRIBUTIONS[kind](**{name: spec[name] for name in wanted}, key=key)


def short_form(spec: Mapping) -> str | None:
    """Return a distribution mapping as its ``kind:p1:p2`` string, or None where it is not a
    whole distribution of numbers (the checks then name what is wrong)."""
    kind = spec.get("dist")
    if kind not in DISTRIBUTIONS:
        return None
    names = _parameter_names(DISTRIBUTIONS[kind])
    values = [spec.get(name) for name in names]
    if set(spec) != {"dist", *names} or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return None
    return ":".join([kind, *map(repr, values)])


def normalise(spec, key: str = "distribution") -> dict:
    """Return `spec` as a checked mapping {dist: ..., parameters...}, reading the shorthand."""
    return parse(spec, key).as_dict()


def check(spec, key: str) -> None:
    """Raise UserError naming `key` unless `spec` is a valid non-negative distribution."""
    parse(spec, key)


def mean(spec) -> float:
    """Return the mean of a distribution (spec or Distribution)."""
    return parse(spec).mean


def median(spec) -> float:
    """Return the median of a distribution (spec or Distribution)."""
    return parse(spec).median


def draw(spec, rng: np.random.Generator | None, size: int,
         deterministic: bool = False) -> np.ndarray:
    """Return `size` draws from `spec` (its mean, repeated, when deterministic)."""
    return parse(spec).draw(rng, size, deterministic)
