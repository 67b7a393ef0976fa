"""Building the objects a config describes: every shipped option builds, and a
constructor's error names the key."""

import sys

import pytest
from omegaconf import OmegaConf

import sim
from history_files import HISTORY_FILES
from sim.config_objects import build_processes, build_strategies, instantiate
from sim.config_tree import config_dir
from sim.errors import UserError


def test_every_shipped_option_instantiates():
    """Each config group option builds (lightning-hydra-template's instantiate-all test)."""
    root = config_dir()
    for group in ["market/btc", "market/network", "market/power", "market/ai", "market/demand",
                  "fleet", "site"]:
        for option in sorted((root / group).glob("*.yaml")):
            selector = f"{group}={option.stem}"
            cfg = sim.compose([selector, *HISTORY_FILES.get(selector, [])])
            build_processes(cfg)
    for option in sorted((root / "strategy").glob("*.yaml")):
        assert list(build_strategies(sim.compose([f"strategy={option.stem}"]))) == [option.stem]


def test_a_plugin_constructor_that_raises_is_named_with_the_type_and_line(tmp_path, monkeypatch):
    """Before: 'market.btc: cannot be built: division by zero', where a failing `sample`
    names the exception and its line."""
    (tmp_path / "failing_on_init.py").write_text(
        "class Broken:\n    def __init__(self, usd=1.0):\n        self.usd = usd / 0\n\n"
        "    def sample(self, days, rng, upstream):\n        return {}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "failing_on_init", raising=False)
    with pytest.raises(UserError) as refused:
        instantiate(OmegaConf.create({"_target_": "failing_on_init.Broken", "usd": 2.0}), "market.btc")
    assert str(refused.value) == ("market.btc: cannot be built: failing_on_init.Broken raised "
                                  "ZeroDivisionError: float division by zero (at failing_on_init.py:3 "
                                  "in __init__)")


def test_constructor_errors_name_the_key():
    cfg = sim.compose(["strategy=phased", "strategy.phased.max_share=2"])
    with pytest.raises(UserError, match=r"^strategy.phased.max_share=2: must be in \[0, 1\]$"):
        build_strategies(cfg)
    with pytest.raises(UserError, match="market.network.start_difficulty"):
        instantiate(sim.compose(["market.network.start_difficulty=-1"]).market.network,
                    "market.network")



def test_a_plugin_target_that_builds_no_process_is_refused_naming_the_key(tmp_path, monkeypatch):
    """A `_target_` naming a function that returns no process passed the config's checks
    (only a class is checked for `sample`) and failed at sampling, after the run directory
    was made: 'market.power (int), replication 0, seed ...: raised AttributeError' (an audit)."""
    (tmp_path / "factory_plugin.py").write_text("def make_power(**_):\n    return 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "factory_plugin", raising=False)
    cfg = sim.compose(["market.power._target_=factory_plugin.make_power"])
    with pytest.raises(UserError) as refused:
        build_processes(cfg)
    assert str(refused.value) == ("market.power._target_='factory_plugin.make_power': built int, "
                                  "which has no sample method; a process needs "
                                  "sample(days, rng, upstream)")
