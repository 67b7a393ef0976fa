"""Composing the config from the shipped tree, as the command line would.

The Hydra config tree ships with the package (`sim.config_tree`); its keys are described
by the schema (`sim.schema`), registered here in Hydra's ConfigStore as
``hashpivot_schema``. `compose` builds a config from override strings exactly as the
command line would: it checks the overrides that Hydra would take but misread (a flag
given 2, a distribution given as a mapping, an interpolation that does not resolve),
says Hydra's errors in one line (`sim.config_errors`), and checks the result
(`sim.config_checks.validate`).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import InterpolationResolutionError

from sim.arguments import ArgumentError
from sim.config_checks import validate
from sim.config_errors import hydra_error_line, interpolation_failure
from sim.config_tree import check_config_dirs, config_dir
from sim.errors import UserError
from sim.params import Flag, keys, shown
from sim.schema import Settings

#: The schema node that conf/config.yaml lists first in its defaults: Hydra checks every
#: value of the YAML and the command line against it.
SCHEMA_NODE = "hashpivot_schema"
ConfigStore.instance().store(name=SCHEMA_NODE, node=Settings)


def _strings(name: str, given) -> list[str]:
    """Return `given`, Hydra overrides, as a list: one string is one override; anything but
    strings is refused naming `name` (a dict's items are written key=value)."""
    if isinstance(given, str):
        return [given]
    if isinstance(given, Mapping):
        raise UserError(f"{name}: a list of 'key=value' strings, not a mapping (from a "
                        f"dict: [f'{{k}}={{v}}' for k, v in the_dict.items()])")
    if not isinstance(given, Iterable):
        got = "None" if given is None else f"{given!r} ({type(given).__name__})"
        raise UserError(f"{name}: a list of 'key=value' strings, not {got}")
    items = list(given)
    wrong = next((item for item in items if not isinstance(item, str)), None)
    if wrong is not None:
        raise UserError(f"{name}: a list of 'key=value' strings; got {wrong!r} "
                        f"({type(wrong).__name__})")
    return items


def _paths(given) -> list:
    """Return the config directories `given` as a list: one path (str or Path) is one;
    anything else is refused naming `config_dirs`."""
    one = isinstance(given, (str, os.PathLike)) or not isinstance(given, Iterable)
    paths = [given] if one else list(given)
    for path in paths:
        if not isinstance(path, (str, os.PathLike)):
            raise ArgumentError(lambda name, path=path: f"{name('config_dirs', path)}: a config "
                                                        "directory's path or a list of them")
    return paths


def compose(overrides: Sequence[str] = (), config_dirs: Sequence[str | Path] = ()) -> DictConfig:
    """Return the config for Hydra-syntax `overrides`, as the CLI would build it, checked as far
    as composing can: the schema's keys (`run`, `asof`, `site`, `fleet`, `finance`: types and
    allowed values) and that every plug-in imports. A market process's or a strategy's own
    parameters are checked when they are built, by `sim.run` and `sample_world`.

    `config_dirs` are extra config directories (a user's plug-in configs) searched after
    the shipped tree, like ``hydra.searchpath``; each must exist.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    overrides, config_dirs = _strings("overrides", overrides), _paths(config_dirs)
    overrides = distributions_in_short_form(overrides)
    check_config_dirs(config_dirs)
    refuse_loose_flags(overrides)
    if config_dirs:
        paths = ",".join(f"file://{Path(d).resolve()}" for d in config_dirs)
        overrides.append(f"hydra.searchpath=[{paths}]")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except Exception as err:  # Hydra's composition errors, in one line
        raise UserError(hydra_error_line(err, overrides)) from None
    finally:
        GlobalHydra.instance().clear()
    refuse_unresolved(cfg, overrides)
    validate(cfg)
    return cfg


def refuse_loose_flags(overrides: Sequence[str]) -> None:
    """Raise UserError on an override giving a true-or-false key anything but true or false:
    OmegaConf reads 2, 'yes' or 'off' as a bool where a user may have meant something else
    (a sweep's values are each checked)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    for text in overrides:
        key = str(text).split("=", 1)[0].lstrip("+~")
        rule = _flag_rules().get(key)
        if rule is None or "=" not in str(text):
            continue
        try:
            override = OverridesParser.create().parse_override(str(text))
        except Exception:  # Hydra's composition refuses it with its own line
            continue
        values = list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]
        for value in values:
            if not (isinstance(value, bool) or (value is None and rule.nullable)):
                raise UserError(f"{key}={shown(value)}: must be true or false")


def distributions_in_short_form(overrides: Sequence[str]) -> list[str]:
    """Return `overrides` with every distribution given as a mapping (`key={dist: lognormal,
    median: 12, sigma: 0.3}`, or a sweep of such) written in its short form
    (`key=lognormal:12:0.3`), the others as they are.

    The two forms mean the same; on the command line Hydra merges a mapping into the
    key's default, so a mapping of another kind than the default's (lognormal over
    `{dist: fixed, value: 30}`) was refused as a key that does not exist. A mapping that
    is not a whole distribution is left for the checks to name."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from sim.distributions import short_form

    parser, rewritten = OverridesParser.create(), []
    for text in overrides:
        text = str(text)
        head, equals, tail = text.partition("=")
        if not equals or "dist" not in tail:
            rewritten.append(text)
            continue
        try:
            override = parser.parse_override(text)
            values = list(override.sweep_iterator()) if override.is_sweep_override() \
                else [override.value()]
        except Exception:  # Hydra's composition refuses it with its own line
            rewritten.append(text)
            continue
        forms = [short_form(value) if isinstance(value, Mapping) else None for value in values]
        if override.is_delete() or None in forms or (override.is_sweep_override()
                                                      and not override.is_choice_sweep()):
            rewritten.append(text)
        else:
            rewritten.append(f"{head}={','.join(forms)}")
    return rewritten


def refuse_unresolved(cfg, overrides: list[str]) -> None:
    """Raise UserError naming the first override whose `${...}` interpolation does not
    resolve in `cfg`: its key, its value as typed, and why (the key's own check would name
    the value null)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for text in overrides:
        try:
            override = parser.parse_override(text)
        except Exception:  # Hydra's composition refused it with its own line
            continue
        key, value = override.key_or_group, override.value()  # a sweep's job escapes the `${`
        if not isinstance(value, str) or "${" not in value or key.split(".")[0] == "hydra":
            continue  # Hydra resolves its own keys
        try:
            OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
        except InterpolationResolutionError as err:
            raise UserError(f"{key}={value}: {interpolation_failure(err)}") from None


@functools.cache
def _flag_rules() -> dict:
    """Return {dotted key: its rule} of the schema's true-or-false keys (read once)."""
    return {key: meta["rule"] for key, meta in keys(Settings) if isinstance(meta["rule"], Flag)}
