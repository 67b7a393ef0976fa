"""A process built from Python without arguments is its shipped option: the constructors'
defaults equal the literal values of every `conf/market/<group>/<option>.yaml` that builds
the class (interpolations, such as the day-0 state from conf/asof, are left out)."""

import dataclasses
import math

import pytest
from omegaconf import OmegaConf

from market_options import OPTION_FILES, market_options


def default_of(field: dataclasses.Field):
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def same(a, b) -> bool:
    if isinstance(a, dict) or hasattr(a, "keys"):
        return (isinstance(b, dict) and dict(a).keys() == b.keys()
                and all(same(a[k], b[k]) for k in b))
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


def test_every_market_option_is_found():
    groups = {path.parent.name for path in OPTION_FILES}
    assert {"btc", "network", "power", "demand"} <= groups and len(OPTION_FILES) > 15


@pytest.mark.parametrize(("node", "cls"), [
    pytest.param(node, cls, id=f"{path.parent.name}/{path.stem}")
    for path, node, cls in market_options()])
def test_the_constructor_defaults_are_the_options_values(node, cls):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    differ = []
    for key in node:
        if key.startswith("_") or OmegaConf.is_interpolation(node, key):
            continue
        value = OmegaConf.to_container(node, resolve=False)[key]
        field = fields[key]  # a key the class lacks would fail to build, elsewhere
        if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            continue  # a required argument: the YAML must give it
        if not same(default_of(field), value):
            differ.append(f"{key}: YAML {value!r}, constructor {default_of(field)!r}")
    assert not differ, differ
