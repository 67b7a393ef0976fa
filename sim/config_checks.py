"""The checks of a composed config: `settings` turns it into the plain, typed, checked
`Settings` the engine reads, and `validate` checks too that strategies are selected and
that every `_target_` imports a class with the method the engine calls; each raises
`UserError` with one line naming the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from importlib import import_module

from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from sim.config_errors import no_such_key, omegaconf_error_line
from sim.config_tree import MARKET_GROUPS, OPTIONAL_MARKET, TYPED_SECTIONS, shipped_options
from sim.errors import UserError, raised_at
from sim.params import check_fields, shown
from sim.schema import Settings


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
    phased's `use` too). Any other node without `_target_` (a typo) stays, to be refused;
    a shipped name given a value, not keys (`strategy.phased=3`), is refused here: it
    dropped the strategy from the run without a word."""
    strategies = cfg.get("strategy")
    if not strategies:
        return cfg
    shipped = set(shipped_options("strategy"))
    for name in shipped.intersection(strategies):
        if not isinstance(strategies[name], DictConfig):
            raise UserError(f"strategy.{name}={shown(strategies[name])}: must be a group of keys, "
                            f"the strategy's settings (strategy.{name}.KEY=VALUE); to leave "
                            f"{name} out, choose the strategies run: 'strategy=[...]'")
    with open_dict(strategies):
        for name in [name for name, node in strategies.items()
                     if name in shipped and "_target_" not in node]:
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
    if not target and isinstance(node, DictConfig) and "_target_" in node:
        raise UserError(f"{key}._target_={shown(target)}: must name an importable class, "
                        "e.g. mymodule.MyDemand")
    if not target and isinstance(node, DictConfig) and len(node):  # an option file without it
        raise UserError(f"{key}: has no _target_ (it holds {', '.join(map(str, node))}); an "
                        "option names the class it builds: _target_: mymodule.MyClass")
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
