"""The config: composing it from the shipped tree, checking it, and building its objects.

The Hydra config tree ships with the package (``sim/conf`` in a wheel, ``conf/`` in a
checkout); its keys are described by the schema (`sim.schema`), registered here in
Hydra's ConfigStore as ``hashpivot_schema``. `compose` builds a config from override
strings exactly as the command line would; `settings` turns it into the plain, checked
`Settings` the engine reads, raising `UserError` with one line naming the key, the value
and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from importlib import import_module
from pathlib import Path

import yaml
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigKeyError, InterpolationResolutionError, OmegaConfBaseException

from sim.errors import UserError, raised_at, whole_number
from sim.params import Flag, check_fields, described, keys, meta_of, shown
from sim.schema import REMOVED_KEYS, Settings

PACKAGE_DIR = Path(__file__).resolve().parent
#: The typed sections of the config; `market` and `strategy` are free-form `_target_` nodes.
SECTIONS = ("run", "asof", "site", "fleet", "finance", "market", "strategy")
#: The sections the schema types key by key.
TYPED_SECTIONS = ("run", "asof", "site", "fleet", "finance")
#: The schema node that conf/config.yaml lists first in its defaults: Hydra checks every
#: value of the YAML and the command line against it.
SCHEMA_NODE = "hashpivot_schema"
ConfigStore.instance().store(name=SCHEMA_NODE, node=Settings)
#: The market groups, in the order the world samples them.
MARKET_GROUPS = ("btc", "network", "power", "ai", "demand", "rates")
#: The node of a market group a config may lack, having been written before the group
#: existed: without `market/rates` (issue #10) the short rate is constant.
OPTIONAL_MARKET = {"rates": {"_target_": "sim.processes.rates.ConstantRate"}}


def config_dir() -> Path:
    """Return the directory of the shipped config tree (wheel or checkout)."""
    for candidate in (PACKAGE_DIR / "conf", PACKAGE_DIR.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"hashpivot's config tree is missing next to {PACKAGE_DIR}")


def check_config_dirs(config_dirs: Sequence[str | Path], keyword: str = "config_dirs") -> None:
    """Raise UserError (an ArgumentError naming `keyword`, the argument or setting that gave
    them) unless every extra config directory exists, as hashpivot's --config-dir does
    (Hydra would only warn, and compose without it), and holds no file of a name hashpivot
    ships: Hydra reads the shipped one first, so the user's file would be ignored without a
    word (a copy of gbm.yaml edited in place)."""
    for path in config_dirs:
        if not Path(path).is_dir():
            raise ArgumentError(lambda name: f"{name(keyword, path)}: additional config "
                                             f"directory '{Path(path).absolute()}' not found")
    shipped = config_dir()
    for path in config_dirs:
        for found in sorted(Path(path).rglob("*.yaml")):
            file = found.relative_to(path)
            if (shipped / file).is_file():
                raise ArgumentError(lambda name: f"{name(keyword, path)}: {file.as_posix()} has "
                                                 f"the name of a file hashpivot ships, which is read "
                                                 f"instead of it; give yours another name (e.g. "
                                                 f"{file.stem}_mine.yaml) and select that")


def user_config_dirs(cfg) -> dict[str, list[Path]]:
    """Return the extra config directories a command-line `cfg` was composed with, by what
    gave them: `config_dirs` (--config-dir) and `hydra.searchpath`; Hydra's file sources
    other than the shipped tree."""
    sources = OmegaConf.select(cfg, "hydra.runtime.config_sources", default=None) or []
    dirs: dict[str, list[Path]] = {}
    for source in sources:
        if source.schema == "file" and source.provider != "main":
            key = "hydra.searchpath" if source.provider.startswith("hydra.searchpath") else "config_dirs"
            dirs.setdefault(key, []).append(Path(source.path))
    return dirs


def _strings(name: str, given) -> list[str]:
    """Return `given`, Hydra overrides, as a list: one string is one override; anything but
    strings is refused naming `name` (a dict's items are written key=value)."""
    if isinstance(given, str):
        return [given]
    if isinstance(given, Mapping):
        raise UserError(f"{name}: a list of 'key=value' strings, not a mapping (from a "
                        f"dict: [f'{{k}}={{v}}' for k, v in the_dict.items()])")
    items = list(given)
    wrong = next((item for item in items if not isinstance(item, str)), None)
    if wrong is not None:
        raise UserError(f"{name}: a list of 'key=value' strings; got {wrong!r} "
                        f"({type(wrong).__name__})")
    return items


def _paths(given) -> list:
    """Return the config directories `given` as a list: one path (str or Path) is one."""
    return [given] if isinstance(given, (str, os.PathLike)) else list(given)


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


def shipped_options(group: str) -> list[str]:
    """Return the options of config group `group` that hashpivot ships, sorted ([] for none)."""
    return sorted(p.stem for p in (config_dir() / group).glob("*.yaml")) if group else []


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


# --- checks ---------------------------------------------------------------------------------
def settings(cfg) -> Settings:
    """Return `cfg` as the plain, typed, checked `Settings` the engine reads (build it once).

    `cfg` is a composed config, or any mapping of the same shape (such as a run
    directory's saved config.yaml); a `Settings` is returned as it is.
    """
    if isinstance(cfg, Settings):
        return cfg
    typed = {name: cfg[name] for name in TYPED_SECTIONS if name in cfg}
    try:
        node = OmegaConf.merge(_schema_template(), typed)  # merge copies the template
        _refuse_unknown_keys(node, Settings, "")
        checked = OmegaConf.to_object(node)
        for name in ("market", "strategy"):  # free-form: plain dicts, no merge needed
            if name in cfg:
                setattr(checked, name, _plain(cfg[name], name))
    except OmegaConfBaseException as err:
        raise UserError(omegaconf_error_line(err)) from None
    check_fields(checked)
    return checked


@functools.cache
def _schema_template() -> DictConfig:
    """Return the schema as an OmegaConf node, built once (building it costs ~40 ms)."""
    return OmegaConf.structured(Settings)


def _plain(node, name: str) -> dict:
    """Return a free-form section (market, strategy) as plain, resolved dicts."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    if isinstance(node, Mapping):
        return OmegaConf.to_container(OmegaConf.create(dict(node)), resolve=True,
                                      throw_on_missing=True)
    raise UserError(f"{name}={shown(node)}: must be a group of keys (see the config reference)")


def _refuse_unknown_keys(node: DictConfig, cls, prefix: str) -> None:
    """Raise UserError on a key the schema does not know (Hydra lets `+key=...` add one)."""
    known = {spec.name: spec for spec in dataclasses.fields(cls)}
    for name in node:
        spec = known.get(name)
        if spec is None:
            raise UserError(no_such_key(f"{prefix}{name}"))
        if "section" in spec.metadata:
            _refuse_unknown_keys(node[name], spec.metadata["section"], f"{prefix}{name}.")


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
            missing = re.match(r"Interpolation key '(.*)' not found", str(err.msg))
            why = (f"the interpolation's key {missing[1]} is not in the config" if missing
                   else f"the interpolation cannot be resolved ({str(err.msg).splitlines()[0]})")
            raise UserError(f"{key}={value}: {why}") from None


@functools.cache
def _flag_rules() -> dict:
    """Return {dotted key: its rule} of the schema's true-or-false keys (read once)."""
    return {key: meta["rule"] for key, meta in keys(Settings) if isinstance(meta["rule"], Flag)}


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


def omegaconf_error_line(err: OmegaConfBaseException) -> str:
    """Return one line naming the key and value OmegaConf refused, and what the schema allows."""
    key = err.full_key or err.key or "config"
    if isinstance(err, ConfigKeyError) or "not in" in str(err.msg):
        return no_such_key(str(key))
    meta = meta_of(Settings, str(key))
    allowed = meta["rule"].describe() if meta else "a group of keys (see the config reference)"
    value = err.value
    if isinstance(value, str) and value.startswith("${"):
        return f"{key}={value!r}: {' '.join(str(err.msg).split())}"
    if meta:  # a whole float for a whole-number key keeps its '.0': "1000.0 ... (write 1000)"
        return meta["rule"].refusal(str(key), value)
    return f"{key}={shown(value)}: must be {allowed}"


def validate(cfg: DictConfig) -> Settings:
    """Return the checked `Settings` of `cfg`; raise UserError on the first value not allowed.
    Settings given to strategies that are not selected are removed first
    (`drop_unselected_strategies`)."""
    if not isinstance(cfg, DictConfig):
        raise UserError(f"cfg: a config made by sim.compose([...]), not a "
                        f"{type(cfg).__name__}: e.g. sim.run(sim.compose(['run.replications=4']))")
    drop_unselected_strategies(cfg)
    checked = settings(cfg)
    if not cfg.get("strategy"):
        raise UserError("strategy: none selected; choose one or more, e.g. strategy=phased "
                        "or 'strategy=[stay_mining,phased]'")
    if "_target_" in cfg.strategy:  # an option file's keys landed on `strategy` itself
        raise UserError(f"strategy._target_={cfg.strategy['_target_']!r}: a strategy option file "
                        "put its keys on strategy, not strategy.<its name>; its first line must be "
                        "'# @package strategy.<its name>' (see conf/strategy/phased.yaml)")
    for name in cfg.strategy:
        strategy_class = _check_target(cfg, f"strategy.{name}", needs="decide(day, view, site)")
        _check_cloud_fits(checked, cfg.strategy[name], strategy_class, f"strategy.{name}")
    for name in MARKET_GROUPS:
        if name in OPTIONAL_MARKET and _absent(cfg, f"market.{name}"):
            continue
        _check_target(cfg, f"market.{name}", needs="sample(days, rng, upstream)")
    return checked


def drop_unselected_strategies(cfg: DictConfig) -> DictConfig:
    """Return `cfg` without the nodes under `strategy` that name a shipped strategy option but
    have no `_target_`: settings for a strategy the run does not select, which an experiment
    gives every strategy it applies to (`+experiment=cloud strategy=convert_all` sets
    phased's `use` too). Any other node without `_target_` (a typo) stays, to be refused."""
    strategies = cfg.get("strategy")
    if not strategies:
        return cfg
    shipped = set(shipped_options("strategy"))
    with open_dict(strategies):
        for name in [name for name, node in strategies.items()
                     if name in shipped and not (isinstance(node, DictConfig) and "_target_" in node)]:
            del strategies[name]
    return cfg


def _check_cloud_fits(checked: Settings, node, strategy_class, key: str) -> None:
    """Raise UserError if the strategy at `key` runs a GPU cloud on a site that holds no GPUs."""
    use = node.get("use") if "use" in node else getattr(strategy_class, "use", None)
    gpus = checked.site.cloud.gpus_per_mw_it
    if use == "cloud" and gpus <= 0:
        raise UserError(f"site.cloud.gpus_per_mw_it={shown(gpus)}: must be > 0 when a strategy "
                        f"runs its own GPU cloud ({key}.use=cloud)")


def _absent(cfg, key: str) -> bool:
    """Return True if the config has no node at `key` (not even a null one)."""
    return OmegaConf.select(cfg, key, default="__absent__") == "__absent__"


def _get(cfg, key: str):
    value = OmegaConf.select(cfg, key, throw_on_missing=False)
    if value is None and _absent(cfg, key):
        raise UserError(f"{key}: missing from the config")
    return value


def _check_target(cfg, key: str, needs: str | None = None):
    """Return the class that the `_target_` of the node at `key` names; raise UserError if none,
    or if it is a class without the method `needs` names ("sample(days, rng, upstream)")."""
    node = _get(cfg, key)
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    if node is not None and not isinstance(node, DictConfig) and key.startswith("market."):
        group = key.replace(".", "/", 1)  # market.ai=glut for market/ai=glut
        options = ", ".join(shipped_options(group))
        raise UserError(f"{key}={node}: {key} is a process, chosen as a config group: "
                        f"{group}={node}" + (f" (options: {options})" if options else ""))
    if not target:
        raise UserError(f"{key}: has no _target_; select an option for it "
                        f"(e.g. {key.replace('.', '/', 1) if key.startswith('market') else 'strategy=[...]'})")
    module_name, _, attr = str(target).rpartition(".")
    try:
        found = getattr(import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as err:
        where = ("; a module of your own is looked up in the directory you run from (cd "
                 "there, or add it to PYTHONPATH)" if isinstance(err, ModuleNotFoundError) else "")
        raise UserError(f"{key}._target_={target!r}: does not import ({type(err).__name__}: "
                        f"{err}); it must name an importable class, e.g. mymodule.MyDemand{where}") from None
    except Exception as err:  # the module itself fails: a SyntaxError, a raise at its top level
        raise UserError(f"{key}._target_={target!r}: importing {module_name} raised "
                        f"{type(err).__name__}: {err}{raised_at(err)}") from err
    method = needs and needs.partition("(")[0]
    if method and isinstance(found, type) and not callable(getattr(found, method, None)):
        raise UserError(f"{key}._target_={target!r}: {found.__name__} has no {method} method; "
                        f"it needs {needs}")
    return found


class ArgumentError(UserError):
    """A bad argument of a function that a command line calls too, named as its caller spells it.

    `says(name)` writes the one line, calling `name(keyword, value)` for each argument it
    names, or `name(keyword)` for the argument alone. As raised, the line names them as
    Python passes them (`metric='irr'`, `metric=`); `flagged` names them by a command
    line's flags (`--metric=irr`, `--metric`): each message is written once, and each
    command knows its own flags.
    """

    def __init__(self, says):
        self.says = says
        super().__init__(says(_keyword))


def _keyword(keyword: str, *value) -> str:
    """Return argument `keyword` as Python passes it: `keyword=value` (a path as its string),
    or `keyword=`; a key that is no Python name (`hydra.run.dir`, a flag) with its value as typed."""
    if not value:
        return f"{keyword}="
    given = os.fspath(value[0]) if isinstance(value[0], os.PathLike) else value[0]
    return f"{keyword}={given!r}" if keyword.isidentifier() else f"{keyword}={given}"


def flagged(error: UserError, flags: Mapping[str, str]) -> str:
    """Return the line of `error` as a command line says it: each argument that `flags`
    ({keyword: flag}) lists named by its flag, a list typed as `a,b`, a mapping as `k=v`."""
    if not isinstance(error, ArgumentError):
        return str(error)

    def name(keyword: str, *value) -> str:
        if keyword not in flags:
            return _keyword(keyword, *value)
        typed = value[0] if value else None
        if isinstance(typed, Mapping):
            typed = " ".join(f"{k}={v}" for k, v in typed.items())
        elif isinstance(typed, (list, tuple)):
            typed = ",".join(map(str, typed))
        return flags[keyword] if typed in (None, "") else f"{flags[keyword]}={typed}"

    return error.says(name)


def whole_argument(keyword: str, value, minimum: int) -> int:
    """Return `value` as an int, or raise ArgumentError naming `keyword` (see `whole_number`)."""
    try:
        return whole_number(keyword, value, minimum)
    except UserError:
        raise ArgumentError(lambda name: f"{name(keyword, value)}: must be a whole number "
                                         f">= {minimum}") from None


def check_output_dir(path, key: str) -> None:
    """Raise UserError (an ArgumentError naming `key`) unless `path` is a writable directory
    or can be made one.

    Nothing is left behind: the directory, or for a missing one its nearest existing
    parent, is tried by making (and removing) a temporary folder in it. (Permission bits
    alone would pass a root user on a read-only mount, or in /proc.)
    """
    path = Path(path)
    try:
        target = path.absolute()
        if target.exists():
            if not target.is_dir():
                raise ArgumentError(lambda name: f"{name(key, path)}: exists and is not a directory")
            try:
                with tempfile.TemporaryDirectory(prefix=".hashpivot-probe-", dir=target):
                    pass
            except OSError as err:
                why = err.strerror or err
                raise ArgumentError(lambda name: f"{name(key, path)}: cannot write there ({why}); "
                                                 "choose a writable directory") from None
            return
        parent = target.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise ArgumentError(lambda name: f"{name(key, path)}: {parent} is a file, not a directory")
        with tempfile.TemporaryDirectory(prefix=".hashpivot-probe-", dir=parent):
            pass
    except OSError as err:
        why = err.strerror or err
        raise ArgumentError(lambda name: f"{name(key, path)}: cannot create it there ({why}); "
                                         "choose a writable directory") from None


# --- objects ----------------------------------------------------------------------------------
def instantiate(node, key: str):
    """Return the object a `_target_` node describes; constructor errors name `key`."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    try:
        return hydra_instantiate(node, _convert_="all")
    except UserError as err:
        raise UserError(f"{key}.{err}") from None
    except InstantiationException as err:
        cause = err.__cause__
        if isinstance(cause, UserError):
            raise UserError(f"{key}.{cause}") from None
        message = " ".join(str(cause or err).split())
        unknown = re.search(r"unexpected keyword argument '(\w+)'", message)
        if unknown:
            raise UserError(f"{key}.{unknown.group(1)}: no such argument of "
                            f"{node.get('_target_')}") from None
        at = raised_at(cause) if cause is not None else ""
        if at:  # raised in a plug-in's own code: what and where, as a failing `sample` says
            message = f"{node.get('_target_')} raised {type(cause).__name__}: {message}{at}"
        raise UserError(f"{key}: cannot be built: {message}") from None


def build_processes(cfg) -> dict:
    """Return the market processes by name, built from `cfg.market` (`OPTIONAL_MARKET` where absent)."""
    return {name: instantiate(cfg.market[name] if name in cfg.market else OPTIONAL_MARKET[name],
                              f"market.{name}")
            for name in MARKET_GROUPS}


def strategy_label(option, node) -> str:
    """Return the label a strategy's rows carry: its node's `name`, else its option name."""
    name = node.get("name") if isinstance(node, (dict, DictConfig)) else None
    return str(name or option)


def check_labels(nodes: dict) -> None:
    """Raise UserError unless the strategies' labels ({option: node}) differ, naming the
    `strategy.<option>.name` a user set to a label another strategy carries."""
    owners = {}  # label -> the option whose rows carry it
    for option, node in nodes.items():
        label = strategy_label(option, node)
        rival = owners.setdefault(label, option)
        if rival != option:
            named = option if label != option else rival  # the one relabelled to the other's name
            other = rival if named == option else option
            taken = ", ".join(strategy_label(o, n) for o, n in nodes.items() if o != named)
            raise UserError(f"strategy.{named}.name={label!r}: strategy {other} carries that label; "
                            f"allowed: a label no other selected strategy carries (not {taken})")


def build_strategies(cfg) -> dict:
    """Return the selected strategies by label (see `strategy_label`).

    A learning strategy's node may carry its trained policy as `policy` (put there by
    sim.policies.with_policies, never by a config file): it is handed to the built
    strategy as it is, not through the constructor.
    """
    nodes = {option: dict(node) if isinstance(node, dict) else OmegaConf.to_container(node, resolve=True)
             for option, node in cfg.strategy.items()}
    check_labels(nodes)
    strategies = {}
    for option, node in nodes.items():
        label = strategy_label(option, node)
        node.pop("name", None)
        policy = node.pop("policy", None)
        strategies[label] = instantiate(node, f"strategy.{option}")
        if policy is not None:
            if not callable(getattr(policy, "starts", None)) or not hasattr(strategies[label], "policy"):
                raise UserError(f"strategy.{option}.policy: set by training, not by a config "
                                f"(a learning strategy applies another run's policy with fit_file)")
            strategies[label].policy = policy
    return strategies


def read_ranges_file(path, section: str, example: str) -> dict:
    """Return {section: {key: spec}, 'overrides': [...]} read from a YAML file (both optional).

    The file of `hashpivot-optimize --config` (section 'space') and of `hashpivot-explore
    --config` (section 'explore'); `example` shows a spec in the error lines.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise UserError(f"--config {path}: cannot be read ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise UserError(f"--config {yaml_error_line(err, path)}") from None
    data = {} if data is None else data
    if not isinstance(data, dict) or set(data) - {section, "overrides"}:
        raise UserError(f"--config {path}: must be a mapping with '{section}' (KEY: {example}) "
                        "and optionally 'overrides' (a list of KEY=VALUE)")
    ranges, overrides = data.get(section) or {}, data.get("overrides") or []
    if not isinstance(ranges, dict) or not isinstance(overrides, list):
        raise UserError(f"--config {path}: '{section}' must map keys to {example} and 'overrides' be a list")
    return {section: {str(k): v for k, v in ranges.items()}, "overrides": [str(o) for o in overrides]}


def file_ranges(path, read, section: str) -> tuple[dict, list[str], dict]:
    """Return (ranges, overrides, where each range was given) of the --config file at `path`
    as `read` reads it (its `section` and its overrides), all empty where `path` is None."""
    if not path:
        return {}, [], {}
    found = read(path)
    ranges = found[section]
    return ranges, found["overrides"], {key: f" in {path}" for key in ranges}


def names_listed(text: str) -> list[str]:
    """Return the names of a comma-separated list, spaces and empty items dropped
    ("a, b," -> ["a", "b"])."""
    return [name.strip() for name in text.split(",") if name.strip()]


def add_range(ranges: dict, given_in: dict, key: str, spec, text: str) -> None:
    """Add `key`'s range `spec`, given on the command line as `text`, to `ranges` (those of a
    --config file, `given_in` naming where each came from); raise UserError if the key
    already has one: the last silently winning would hide a typo."""
    if key in ranges:
        raise UserError(f"{text}: {key} is already given{given_in.get(key, '')} "
                        f"({ranges[key]}); give each key once")
    ranges[key] = spec


def with_values(cfg, values: Mapping) -> DictConfig:
    """Return a copy of `cfg` with dotted keys set to `values` (new keys added)."""
    cfg = copy.deepcopy(cfg)
    with open_dict(cfg):
        for key, value in values.items():
            OmegaConf.update(cfg, key, value, merge=False, force_add=True)
    return cfg
