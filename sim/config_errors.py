"""Hydra's, YAML's and OmegaConf's errors on a config, each said in one line: the key or
override, the value given, and what is allowed (a key that does not exist names those
its section has).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import yaml
from omegaconf.errors import (ConfigKeyError, InterpolationResolutionError,
                              OmegaConfBaseException)

from sim.arguments import names_listed
from sim.config_tree import SECTIONS, shipped_options
from sim.params import described, meta_of, shown
from sim.schema import REMOVED_KEYS, Settings


#: Hydra plug-in options that an extra of the package installs: (group, option) -> extra.
PLUGIN_EXTRAS = {("hydra/launcher", "joblib"): "joblib"}


def hydra_error_line(err: Exception, overrides: Sequence[str] = ()) -> str:
    """Return one line explaining a Hydra composition or override error.

    `overrides` are the command's overrides: Hydra's error on a config group given a
    value that is not an option name (``market/ai=null``) does not say which one it was.
    """
    from hydra.errors import MissingConfigException, OverrideParseException

    broken = err
    while broken is not None and not isinstance(broken, yaml.YAMLError):
        broken = broken.__cause__ or broken.__context__
    if broken is not None:  # a config file of a --config-dir that does not parse
        return yaml_error_line(broken)
    if isinstance(err, (ValueError, TypeError)):  # how Hydra fails on `market/ai=null`
        line = group_value_line(overrides)
        if line is not None:
            return line
    if isinstance(err, OverrideParseException):
        return override_parse_line(str(err.override), str(err.message))
    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, option = err.missing_cfg_file.rpartition("/")
        # Hydra names the options only for a group given one value, not for a list of them
        allowed = ", ".join(sorted(err.options or shipped_options(group))) or "see conf/"
        if group:
            extra = PLUGIN_EXTRAS.get((group, option))
            hint = f" (install it: pip install 'hashpivot[{extra}]')" if extra else ""
            return f"{group}={option}: no such option; allowed: {allowed}{hint}"
        return f"{err.missing_cfg_file}: no such config; allowed: {allowed}"
    twice = re.match(r"Multiple values for (\S+)\.|(\S+) appears more than once in the final "
                     r"defaults list", str(err))
    if twice:  # `+asof=...` adds a group the defaults already select
        return _added_twice_line(twice[1] or twice[2], overrides)
    cause = err
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    if cause is not None and cause.full_key and "Could not override" not in str(err):
        return omegaconf_error_line(cause)
    text = " ".join(str(err).split())
    match = re.search(r"Could not override '([^']+)'", text)
    if match:
        given = re.search(r"use \+[^=\s]+=(\S+)", text)  # Hydra names the value here
        return no_such_key(match.group(1), given.group(1) if given else None,
                           _selected_strategies(overrides))
    match = re.search(r"Could not find '([^']+)'", text)
    if match:
        return f"{match.group(1)}: no such config option"
    return text.split(" Available options")[0][:500]


def _added_twice_line(group: str, overrides: Sequence[str]) -> str:
    """Return the line for a config group added with `+` that the defaults already select
    (Hydra: "Multiple values for asof. To override a value use 'override asof: ...'")."""
    added = [o for o in overrides if o.split("=", 1)[0] == f"+{group}"]
    if not added:
        return f"{group}: selected twice; choose its option once, as {group}=OPTION"
    option = added[-1].split("=", 1)[1]
    return (f"{added[-1]}: {group} is selected already (the defaults choose one); replace it "
            f"without the '+': {group}={option}")


def yaml_error_line(err: yaml.YAMLError, path=None) -> str:
    """Return one line on a YAML file that does not parse: the file (`path`, else the one
    the error names), the line and column, and what is wrong there."""
    mark = getattr(err, "problem_mark", None)
    where = str(path or getattr(mark, "name", "") or "a YAML file")
    if mark is not None:
        where += f", line {mark.line + 1}, column {mark.column + 1}"
    problem = getattr(err, "problem", None) or " ".join(str(err).split())
    return f"{where}: not valid YAML ({problem})"


def group_value_line(overrides: Sequence[str]) -> str | None:
    """Return one line on the first override of a config group whose value YAML does not
    read as a string (``null``, ``true``, ``1``, ``nan``, or one in a list), naming the
    options the shipped tree has; None if there is none."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()
    for text in overrides:
        if text.startswith("-") or "=" not in text:
            continue  # a flag (-m, --config-dir), or a deletion without a value
        try:
            override = parser.parse_override(text)
        except Exception:  # Hydra reports an unparsable override itself
            continue
        group = override.key_or_group
        if "." in group or override.is_sweep_override():
            continue  # a key, not a group; a sweep is checked job by job
        value = override.value()
        if isinstance(value, str) or (isinstance(value, list) and not override.is_delete()
                                      and all(isinstance(item, str) for item in value)):
            continue
        allowed = ", ".join(shipped_options(group)) or "see conf/"
        if isinstance(value, list):
            item = next(item for item in value if not isinstance(item, str))
            return f"{text}: no such option ({override_value(item)}); allowed: {allowed}"
        named = override_value(value)
        return (f"{text}: no such option; allowed: {allowed} (YAML reads {named} as no name: "
                f"an option of your own named so is quoted, \"{group}='{named}'\")")
    return None


def override_value(value) -> str:
    """Return `value` as an override writes it: null, true, false, or its text."""
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def override_parse_line(override: str, message: str) -> str:
    """Return one line on an override Hydra could not parse; say how to quote a non-ASCII one."""
    key, equals, value = override.partition("=")
    if equals and not value.isascii():
        return (f"{override}: Hydra reads only ASCII characters unquoted; quote the value, "
                f"e.g. '{key}=\"{value}\"' (the single quotes are for the shell)")
    reason = " ".join(message.split()).split(" See https://")[0]
    return f"{override}: cannot be read ({reason}); quote values with spaces or symbols"


def _selected_strategies(overrides) -> tuple[str, ...] | None:
    """Return the strategies a `strategy=` override selects, or None where none does."""
    for override in overrides or ():
        name, _, value = str(override).partition("=")
        if name == "strategy":
            return tuple(names_listed(value.strip("[] ")))
    return None


def no_such_key(key: str, value: str | None = None, selected: tuple[str, ...] | None = None) -> str:
    """Return one line saying `key` (given `value`, if known) does not exist, with the keys
    its schema section has, or, for a config group the defaults do not select, how to add it;
    a shipped strategy's key where the `selected` strategies (a strategy= override's) leave
    it out says to select it."""
    if key in REMOVED_KEYS:
        return f"{key}: {REMOVED_KEYS[key]}"
    cls, parts = Settings, key.split(".")
    if (len(parts) >= 3 and parts[0] == "strategy" and selected is not None
            and parts[1] in shipped_options("strategy") and parts[1] not in selected):
        return (f"{key}: strategy {parts[1]} is not among the strategies run "
                f"(strategy=[{','.join(selected)}]); select it to set its keys, e.g. "
                f"strategy=[{','.join((*selected, parts[1]))}] {key}={value or 'VALUE'}")
    if len(parts) == 1 and key not in SECTIONS and shipped_options(key):
        options = ", ".join(shipped_options(key))
        return (f"{key}={value or 'OPTION'}: {key} is a config group the defaults do not "
                f"select; add it with +{key}={value or 'OPTION'} (options: {options})")
    for name in parts[:-1]:
        spec = {f.name: f for f in dataclasses.fields(cls)}.get(name)
        if spec is None or "section" not in spec.metadata:  # market, strategy: plug-in nodes
            return (f"{key}: no such key, or a mapping that cannot be replaced by another "
                    f"(check the spelling; a plug-in's extra argument takes '+{key}=...')")
        cls = spec.metadata["section"]
    allowed = [f.name for f in dataclasses.fields(cls) if described(f)]
    if cls is Settings:  # and the plug-in nodes, which the schema does not describe
        allowed += [name for name in SECTIONS if name not in allowed]
    return f"{key}: no such key; {'.'.join(parts[:-1]) or 'the config'} has {', '.join(allowed)}"


def interpolation_failure(err: InterpolationResolutionError) -> str:
    """Return why a `${...}` interpolation does not resolve: the key it names is not in the
    config, or OmegaConf's own first line."""
    missing = re.match(r"Interpolation key '(.*)' not found", str(err.msg))
    return (f"the interpolation's key {missing[1]} is not in the config" if missing
            else f"the interpolation cannot be resolved ({str(err.msg).splitlines()[0]})")


#: OmegaConf's names of the types of a key outside the schema (Hydra's own, hydra.job.chdir),
#: as an error line says what is allowed.
_TYPE_WORDS = {"bool": "true or false", "int": "a whole number", "float": "a number",
               "str": "text", "string": "text"}


def _typed(message: str) -> str:
    """Return what a key outside the schema allows, from OmegaConf's refusal `message`: its type
    (hydra.job.chdir=maybe said 'must be a group of keys'), else a group of keys."""
    match = re.search(r"is not a valid (\w+)|Cannot convert '\w+' to (\w+)", message)
    word = _TYPE_WORDS.get(match[1] or match[2]) if match else None
    return word or "a group of keys (see the config reference)"


def omegaconf_error_line(err: OmegaConfBaseException) -> str:
    """Return one line naming the key and value OmegaConf refused, and what the schema allows."""
    key = err.full_key or err.key or "config"
    if isinstance(err, InterpolationResolutionError):  # in a config file: no value to show
        return f"{key}: {interpolation_failure(err)}"
    if isinstance(err, ConfigKeyError) or "not in" in str(err.msg):
        return no_such_key(str(key))
    meta = meta_of(Settings, str(key))
    allowed = meta["rule"].describe() if meta else _typed(str(err.msg))
    value = err.value
    if isinstance(value, str) and value.startswith("${"):
        return f"{key}={value!r}: {' '.join(str(err.msg).split())}"
    if meta:  # a whole float for a whole-number key keeps its '.0': "1000.0 ... (write 1000)"
        return meta["rule"].refusal(str(key), value)
    return f"{key}={shown(value)}: must be {allowed}"
