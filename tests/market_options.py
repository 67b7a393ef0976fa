"""The shipped market options, `conf/market/<group>/<option>.yaml`, and the classes they build."""

import importlib

from omegaconf import OmegaConf

from sim.config_tree import config_dir

#: Every shipped market option's file, by group and option.
OPTION_FILES = sorted((config_dir() / "market").glob("*/*.yaml"))


def market_options():
    """Yield (path, its YAML node, unresolved, the class its `_target_` names) of each option
    with a class of its own (an option without one only sets another's keys)."""
    for path in OPTION_FILES:
        node = OmegaConf.load(path)
        if "_target_" in node:
            module, _, name = node["_target_"].rpartition(".")
            yield path, node, getattr(importlib.import_module(module), name)
