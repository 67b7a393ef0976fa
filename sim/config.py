"""The config: composing it from the shipped tree, checking it, and building its objects.

The Hydra config tree ships with the package (``sim/conf`` in a wheel, ``conf/`` in a
checkout); its keys are described by the schema (`sim.schema`), registered here in
Hydra's ConfigStore as ``hashpivot_schema``. `compose` builds a config from override
strings exactly as the command line would; `settings` turns it into the plain, checked
`Settings` the engine reads, raising `UserError` with one line naming the key, the value
and what is allowed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, OmegaConfBaseException

from sim.errors import UserError
from sim.params import check_fields, described, meta_of, shown
from sim.schema import Settings

PACKAGE_DIR = Path(__file__).resolve().parent
#: The typed sections of the config; `market` and `strategy` are free-form `_target_` nodes.
SECTIONS = ("run", "site", "fleet", "market", "strategy")
#: The schema node that conf/config.yaml lists first in its defaults: Hydra checks every
#: value of the YAML and the command line against it.
SCHEMA_NODE = "hashpivot_schema"
ConfigStore.instance().store(name=SCHEMA_NODE, node=Settings)


def config_dir() -> Path:
    """Return the directory of the shipped config tree (wheel or checkout)."""
    for candidate in (PACKAGE_DIR / "conf", PACKAGE_DIR.parent / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(f"hashpivot's config tree is missing next to {PACKAGE_DIR}")


def compose(overrides: Sequence[str] = (), config_dirs: Sequence[str | Path] = ()) -> DictConfig:
    """Return the checked config for Hydra-syntax `overrides`, as the CLI would build it.

    `config_dirs` are extra config directories (a user's plug-in configs) searched after
    the shipped tree, like ``hydra.searchpath``.
    """
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    overrides = list(overrides)
    if config_dirs:
        paths = ",".join(f"file://{Path(d).resolve()}" for d in config_dirs)
        overrides.append(f"hydra.searchpath=[{paths}]")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3"):
            cfg = hydra_compose(config_name="config", overrides=overrides)
    except Exception as err:  # Hydra's composition errors, in one line
        raise UserError(hydra_error_line(err)) from None
    finally:
        GlobalHydra.instance().clear()
    validate(cfg)
    return cfg


def hydra_error_line(err: Exception) -> str:
    """Return one line explaining a Hydra composition or override error."""
    from hydra.errors import MissingConfigException

    if isinstance(err, MissingConfigException) and err.missing_cfg_file:
        group, _, option = err.missing_cfg_file.rpartition("/")
        allowed = ", ".join(sorted(err.options or [])) or "see conf/"
        if group:
            return f"{group}={option}: no such option; allowed: {allowed}"
        return f"{err.missing_cfg_file}: no such config; allowed: {allowed}"
    cause = err
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    if cause is not None and cause.full_key and "Could not override" not in str(err):
        return omegaconf_error_line(cause)
    text = " ".join(str(err).split())
    match = re.search(r"Could not override '([^']+)'", text)
    if match:
        return no_such_key(match.group(1))
    match = re.search(r"Could not find '([^']+)'", text)
    if match:
        return f"{match.group(1)}: no such config option"
    return text.split(" Available options")[0][:500]


# --- checks ---------------------------------------------------------------------------------
def settings(cfg) -> Settings:
    """Return `cfg` as the plain, typed, checked `Settings` the engine reads (build it once).

    `cfg` is a composed config, or any mapping of the same shape (such as a run
    directory's saved config.yaml); a `Settings` is returned as it is.
    """
    if isinstance(cfg, Settings):
        return cfg
    parts = {name: cfg[name] for name in SECTIONS if name in cfg}
    try:
        node = OmegaConf.merge(OmegaConf.structured(Settings), parts)
        _refuse_unknown_keys(node, Settings, "")
        checked = OmegaConf.to_object(node)
    except OmegaConfBaseException as err:
        raise UserError(omegaconf_error_line(err)) from None
    check_fields(checked)
    return checked


def _refuse_unknown_keys(node: DictConfig, cls, prefix: str) -> None:
    """Raise UserError on a key the schema does not know (Hydra lets `+key=...` add one)."""
    known = {spec.name: spec for spec in dataclasses.fields(cls)}
    for name in node:
        spec = known.get(name)
        if spec is None:
            raise UserError(no_such_key(f"{prefix}{name}"))
        if "section" in spec.metadata:
            _refuse_unknown_keys(node[name], spec.metadata["section"], f"{prefix}{name}.")


def no_such_key(key: str) -> str:
    """Return one line saying `key` does not exist, with the keys its schema section has."""
    cls, parts = Settings, key.split(".")
    for name in parts[:-1]:
        spec = {f.name: f for f in dataclasses.fields(cls)}.get(name)
        if spec is None or "section" not in spec.metadata:  # market, strategy: plug-in nodes
            return (f"{key}: no such key, or a mapping that cannot be replaced by another "
                    f"(check the spelling; a plug-in's extra argument takes '+{key}=...')")
        cls = spec.metadata["section"]
    allowed = ", ".join(f.name for f in dataclasses.fields(cls) if described(f))
    return f"{key}: no such key; {'.'.join(parts[:-1]) or 'the config'} has {allowed}"


def omegaconf_error_line(err: OmegaConfBaseException) -> str:
    """Return one line naming the key and value OmegaConf refused, and what the schema allows."""
    key = err.full_key or err.key or "config"
    if isinstance(err, ConfigKeyError) or "not in" in str(err.msg):
        return no_such_key(str(key))
    meta = meta_of(Settings, str(key))
    allowed = meta["rule"].describe() if meta else "a group of keys (see the config reference)"
    value = err.value if err.value is not None else "?"
    if isinstance(value, str) and value.startswith("${"):
        return f"{key}={value!r}: {' '.join(str(err.msg).split())}"
    return f"{key}={shown(value)}: must be {allowed}"


def validate(cfg: DictConfig) -> Settings:
    """Return the checked `Settings` of `cfg`; raise UserError on the first value not allowed."""
    checked = settings(cfg)
    if not cfg.get("strategy"):
        raise UserError("strategy: none selected; choose one or more, e.g. strategy=phased "
                        "or 'strategy=[stay_mining,phased]'")
    for name in cfg.strategy:
        _check_target(cfg, f"strategy.{name}")
    for name in ("btc", "network", "power", "ai", "demand"):
        _check_target(cfg, f"market.{name}")
    return checked


def _get(cfg, key: str):
    value = OmegaConf.select(cfg, key, throw_on_missing=False)
    if value is None and OmegaConf.select(cfg, key, default="__absent__") == "__absent__":
        raise UserError(f"{key}: missing from the config")
    return value


def _check_target(cfg, key: str) -> None:
    node = _get(cfg, key)
    target = node.get("_target_") if isinstance(node, DictConfig) else None
    if not target:
        raise UserError(f"{key}: has no _target_; select an option for it "
                        f"(e.g. {key.replace('.', '/', 1) if key.startswith('market') else 'strategy=[...]'})")
    module_name, _, attr = str(target).rpartition(".")
    try:
        getattr(import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as err:
        raise UserError(f"{key}._target_={target!r}: does not import ({type(err).__name__}: "
                        f"{err}); it must name an importable class, e.g. mymodule.MyDemand") from None


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
        raise UserError(f"{key}: cannot be built: {message}") from None


def build_processes(cfg) -> dict:
    """Return the market processes by name, built from `cfg.market`."""
    return {name: instantiate(cfg.market[name], f"market.{name}")
            for name in ("btc", "network", "power", "ai", "demand")}


def build_strategies(cfg) -> dict:
    """Return the selected strategies by label (their `name`, or their option name)."""
    strategies = {}
    for option, node in cfg.strategy.items():
        node = dict(node) if isinstance(node, dict) else OmegaConf.to_container(node, resolve=True)
        label = str(node.pop("name", None) or option)
        if label in strategies:
            raise UserError(f"strategy.{option}.name={label!r}: another strategy has that label")
        strategies[label] = instantiate(node, f"strategy.{option}")
    return strategies
