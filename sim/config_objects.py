"""Building the objects a config describes: the market processes and the strategies, each
from its `_target_` node, a constructor's error naming the key.
"""

from __future__ import annotations

import re

from omegaconf import DictConfig, OmegaConf

from sim.config_tree import MARKET_GROUPS, OPTIONAL_MARKET
from sim.errors import UserError, raised_at


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
    """Return the market processes by name, built from `cfg.market` (`OPTIONAL_MARKET` where
    absent); raise UserError, naming the key, for a `_target_` that builds no process (a
    function returning something without a `sample` method)."""
    processes = {}
    for name in MARKET_GROUPS:
        node = cfg.market[name] if name in cfg.market else OPTIONAL_MARKET[name]
        process = processes[name] = instantiate(node, f"market.{name}")
        if not callable(getattr(process, "sample", None)):
            raise UserError(f"market.{name}._target_={node.get('_target_')!r}: built "
                            f"{type(process).__name__}, which has no sample method; a process "
                            "needs sample(days, rng, upstream)")
    return processes


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
