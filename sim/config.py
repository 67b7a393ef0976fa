"""The config: composing it from the shipped tree, checking it, and building its objects.

The Hydra config tree ships with the package (``sim/conf`` in a wheel, ``conf/`` in a
checkout). `compose` builds a config from override strings exactly as the command line
would; `validate` checks every value a user can set and raises `UserError` with one line
naming the key, the value and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from importlib import import_module
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from sim import distributions
from sim.errors import UserError

PACKAGE_DIR = Path(__file__).resolve().parent


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
    text = " ".join(str(err).split())
    match = re.search(r"Could not override '([^']+)'", text)
    if match:
        return (f"{match.group(1)}: no such key, or a mapping that cannot be replaced by another "
                f"(check the spelling; a plug-in's extra argument takes '+{match.group(1)}=...')")
    match = re.search(r"Could not find '([^']+)'", text)
    if match:
        return f"{match.group(1)}: no such config option"
    return text.split(" Available options")[0][:500]


# --- checks ---------------------------------------------------------------------------------
def _get(cfg, key: str):
    value = OmegaConf.select(cfg, key, throw_on_missing=False)
    if value is None and OmegaConf.select(cfg, key, default="__absent__") == "__absent__":
        raise UserError(f"{key}: missing from the config")
    return value


def _number(cfg, key: str, low=None, high=None, low_open=False, integer=False, allow_null=False):
    value = _get(cfg, key)
    if value is None and allow_null:
        return None
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and not math.isfinite(value)):
        raise UserError(f"{key}={value!r}: must be {kind}")
    if integer and int(value) != value:
        raise UserError(f"{key}={value!r}: must be {kind}")
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        if high is None:
            rule = f"> {low}" if low_open else f">= {low}"
        elif low is None:
            rule = f"<= {high}"
        else:
            rule = f"in ({low}, {high}]" if low_open else f"in [{low}, {high}]"
        raise UserError(f"{key}={value!r}: must be {rule}")
    return value


def _choice(cfg, key: str, allowed: Sequence):
    value = _get(cfg, key)
    if value not in allowed:
        raise UserError(f"{key}={value!r}: must be one of {', '.join(map(str, allowed))}")
    return value


def validate(cfg: DictConfig) -> None:
    """Raise UserError on the first config value outside what is allowed."""
    from sim.ledger import TERMINAL_VALUES

    _number(cfg, "run.seed", 0, integer=True)
    replications = _number(cfg, "run.replications", 1, integer=True)
    _number(cfg, "run.horizon_years", 0, 100, low_open=True)
    _number(cfg, "run.discount_rate", -1, low_open=True)
    _choice(cfg, "run.terminal_value", TERMINAL_VALUES)
    for use in ("mining", "hosting", "cloud"):
        _number(cfg, f"run.terminal_multiple.{use}", 0)
    _choice(cfg, "run.deterministic", (True, False))
    _choice(cfg, "run.executor", ("serial", "process", "ray"))
    _number(cfg, "run.workers", 1, integer=True, allow_null=True)
    _number(cfg, "run.chunk_size", 1, integer=True)
    _choice(cfg, "run.detail", ("monthly", "summary"))
    _choice(cfg, "run.progress", (True, False))
    _choice(cfg, "run.compare", (True, False))
    _choice(cfg, "run.event_log", (True, False))
    confident = _number(cfg, "run.until_confident", 0.5, 1, low_open=True, allow_null=True)
    if confident == 1:
        raise UserError("run.until_confident=1: must be < 1 (certainty needs infinite replications)")
    _number(cfg, "run.indifference_usd", 0, low_open=True)
    cap = _number(cfg, "run.max_replications", replications, integer=True, allow_null=True)
    if confident is not None and cap is None:
        raise UserError("run.max_replications=None: must be set (>= run.replications) "
                        "when run.until_confident is set")

    grid_mw = _number(cfg, "site.grid_mw", 0, low_open=True)
    _number(cfg, "site.blocks", 1, integer=True)
    try:
        pd.Timestamp(str(_get(cfg, "site.start_date")))
    except ValueError:
        raise UserError(f"site.start_date={_get(cfg, 'site.start_date')!r}: must be a date "
                        "such as 2027-01-01") from None
    _number(cfg, "site.pue_mining", 1)
    _number(cfg, "site.pue_ai", 1)
    _number(cfg, "site.crews", 1, integer=True)
    _number(cfg, "site.pool_fee", 0, 1)
    _number(cfg, "site.power.ppa_mw", 0, grid_mw)
    for key in ("power.ppa_usd_per_mwh", "power.demand_response_usd_per_mwh",
                "opex.mining_usd_per_mw_month", "opex.hosting_usd_per_kw_month",
                "opex.ready_usd_per_kw_month", "opex.cloud_usd_per_gpu_hour",
                "hosting.late_penalty_usd_per_kw_month", "cloud.gpus_per_mw_it",
                "cloud.usd_per_gpu"):
        _number(cfg, f"site.{key}", 0)
    _number(cfg, "site.hosting.renewal_probability", 0, 1)
    _number(cfg, "site.cloud.utilisation", 0, 1)
    _number(cfg, "site.cloud.gpu_life_years", 0, low_open=True)
    for key in ("decommission_days", "retrofit_days", "capex_usd_per_mw_it"):
        distributions.check(_get(cfg, f"site.conversion.{key}"), f"site.conversion.{key}")

    _number(cfg, "fleet.j_per_th", 0, low_open=True)
    _number(cfg, "fleet.failure_rate_per_year", 0, 1)
    _choice(cfg, "fleet.refresh", ("replace", "none"))
    _number(cfg, "fleet.upgrade_every_years", 0, low_open=True, allow_null=True)
    _number(cfg, "fleet.efficiency_gain_per_year", 0, 1)
    _number(cfg, "fleet.price_days_of_hashprice", 0)
    _number(cfg, "fleet.resale_share", 0, 1)

    if not cfg.get("strategy"):
        raise UserError("strategy: none selected; choose one or more, e.g. strategy=phased "
                        "or 'strategy=[stay_mining,phased]'")
    for name in cfg.strategy:
        _check_target(cfg, f"strategy.{name}")
    for name in ("btc", "network", "power", "ai", "demand"):
        _check_target(cfg, f"market.{name}")


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


# --- plain values for the hot loop --------------------------------------------------------
class Plain(dict):
    """A resolved config as plain dicts, read by attribute: fast in the engine's inner loop."""

    __slots__ = ()

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def plain(cfg) -> Plain:
    """Return `cfg` resolved into nested `Plain` dicts (OmegaConf access is slow per event)."""
    def convert(value):
        if isinstance(value, dict):
            return Plain({k: convert(v) for k, v in value.items()})
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value

    data = cfg if isinstance(cfg, Plain) else OmegaConf.to_container(cfg, resolve=True)
    return convert(data)


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
        node = OmegaConf.to_container(node, resolve=True)
        label = str(node.pop("name", None) or option)
        if label in strategies:
            raise UserError(f"strategy.{option}.name={label!r}: another strategy has that label")
        strategies[label] = instantiate(node, f"strategy.{option}")
    return strategies
