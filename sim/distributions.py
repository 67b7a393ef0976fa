"""Distributions named in the config: conversion durations, capex, tenant sizes and terms.

A distribution is a small mapping in the config, so that any of them can be set to a
constant from the command line::

    {dist: fixed, value: 10}
    {dist: exponential, mean: 365}
    {dist: lognormal, median: 12, sigma: 0.35}
    {dist: uniform, low: 10, high: 50}

On the command line, where Hydra will not swap one mapping for another, the same can
be written as a string of the kind and its parameters in the order above:
``site.conversion.retrofit_days=fixed:335``, ``lognormal:335:0.3``, ``uniform:10:50``.

`draw(spec, rng, size)` samples it; with ``deterministic=True`` it returns the mean,
which is what `run.deterministic=true` uses.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.errors import UserError

_PARAMS = {
    "fixed": ("value",),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
    "uniform": ("low", "high"),
}


def normalise(spec, key: str = "distribution") -> dict:
    """Return `spec` as a mapping {dist: ..., parameters...}, reading the string shorthand."""
    if isinstance(spec, str):
        kind, *values = spec.split(":")
        if kind not in _PARAMS:
            raise UserError(f"{key}={spec!r} must start with one of {', '.join(_PARAMS)}")
        names = _PARAMS[kind]
        if len(values) != len(names):
            raise UserError(f"{key}={spec!r}: {kind} takes {len(names)} number(s), "
                            f"{':'.join([kind, *names])}")
        try:
            return {"dist": kind, **{n: float(v) for n, v in zip(names, values)}}
        except ValueError:
            raise UserError(f"{key}={spec!r}: the parameters must be numbers") from None
    if not isinstance(spec, Mapping) or "dist" not in spec:
        raise UserError(f"{key}={spec!r} must be a distribution such as "
                        "{dist: lognormal, median: 12, sigma: 0.3} or lognormal:12:0.3")
    return dict(spec)


def check(spec, key: str) -> None:
    """Raise UserError naming `key` unless `spec` is a valid non-negative distribution."""
    spec = normalise(spec, key)
    kind = spec["dist"]
    if kind not in _PARAMS:
        raise UserError(f"{key}.dist={kind!r} is not one of {', '.join(_PARAMS)}")
    wanted = set(_PARAMS[kind])
    given = set(spec) - {"dist"}
    if given != wanted:
        raise UserError(f"{key} ({kind}) takes exactly {', '.join(sorted(wanted))}; "
                        f"got {', '.join(sorted(given)) or 'nothing'}")
    for name in wanted:
        value = spec[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise UserError(f"{key}.{name}={value!r} must be a finite number")
        if value < 0:
            raise UserError(f"{key}.{name}={value!r} must be >= 0")
    if kind == "uniform" and spec["low"] > spec["high"]:
        raise UserError(f"{key}.low={spec['low']!r} must be <= {key}.high={spec['high']!r}")


def mean(spec) -> float:
    """Return the mean of a distribution spec."""
    spec = normalise(spec)
    kind = spec["dist"]
    if kind == "fixed":
        return float(spec["value"])
    if kind == "exponential":
        return float(spec["mean"])
    if kind == "lognormal":
        return float(spec["median"] * np.exp(spec["sigma"] ** 2 / 2))
    return float((spec["low"] + spec["high"]) / 2)


def median(spec) -> float:
    """Return the median of a distribution spec."""
    spec = normalise(spec)
    kind = spec["dist"]
    if kind == "exponential":
        return float(spec["mean"] * np.log(2))
    if kind == "lognormal":
        return float(spec["median"])
    return mean(spec)


def draw(spec, rng: np.random.Generator, size: int,
         deterministic: bool = False) -> np.ndarray:
    """Return `size` draws from `spec` (its mean, repeated, when deterministic)."""
    spec = normalise(spec)
    kind = spec["dist"]
    if deterministic or kind == "fixed":
        return np.full(size, mean(spec))
    if kind == "exponential":
        return rng.exponential(spec["mean"], size)
    if kind == "lognormal":
        return spec["median"] * np.exp(spec["sigma"] * rng.standard_normal(size))
    return rng.uniform(spec["low"], spec["high"], size)
