"""The checks of a composed config: `settings` gives the plain, typed `Settings` the
engine reads."""

import dataclasses

import pytest
from omegaconf import DictConfig, OmegaConf

import sim
from sim import distributions
from sim.config_checks import settings
from sim.errors import UserError
from sim.schema import Settings


def test_settings_are_plain_typed_objects_and_round_trip():
    cfg = sim.compose(["site.grid_mw=80", "fleet.upgrade_every_years=null", "run.workers=2",
                       "site.conversion.retrofit_days=fixed:300"])
    checked = settings(cfg)
    assert isinstance(checked, Settings) and settings(checked) is checked
    assert isinstance(checked.site.grid_mw, float) and checked.site.grid_mw == 80.0
    assert isinstance(checked.site.blocks, int) and checked.run.workers == 2
    assert checked.fleet.upgrade_every_years is None
    assert checked.site.conversion.retrofit_days == distributions.Fixed(300)  # parsed once
    assert checked.run.terminal_multiple["hosting"] == checked.run.terminal_multiple.hosting == 12.0
    assert type(checked.market["btc"]) is dict and checked.market["btc"]["_target_"].endswith("GBM")
    assert not any(isinstance(v, DictConfig) for v in vars_of(checked))
    # the same Settings from a saved, untyped copy (a run directory's config.yaml) ...
    assert settings(OmegaConf.create(OmegaConf.to_yaml(cfg))) == checked
    # ... and from the object itself, through OmegaConf and back
    assert OmegaConf.to_object(OmegaConf.structured(checked)) == checked


def vars_of(obj):
    """Yield every value inside a dataclass tree."""
    for spec in dataclasses.fields(obj):
        value = getattr(obj, spec.name)
        yield value
        if dataclasses.is_dataclass(value):
            yield from vars_of(value)



@pytest.mark.parametrize("file, override, says", [
    # a user's option file that spells the key otherwise: it said 'select an option for it
    # (e.g. market/power)', of the option the user had selected (an audit)
    ("target: sim.processes.power.SeasonalLogOU\nmean_usd_per_mwh: 45.0\n", "market/power=mine",
     "market.power: has no _target_ (it holds target, mean_usd_per_mwh); an option names the "
     "class it builds: _target_: mymodule.MyClass"),
    # an empty _target_: it said the same, of a node that has one
    (None, "market.power._target_=", "market.power._target_='': must name an importable class, "
                                     "e.g. mymodule.MyDemand"),
    (None, "market.power._target_=null", "market.power._target_=null: must name an importable "
                                         "class, e.g. mymodule.MyDemand"),
])
def test_a_process_without_a_target_says_what_its_node_holds(tmp_path, file, override, says):
    if file is not None:
        (tmp_path / "market" / "power").mkdir(parents=True)
        (tmp_path / "market" / "power" / "mine.yaml").write_text(file)
    with pytest.raises(UserError) as refused:
        sim.compose([override], config_dirs=[tmp_path])
    assert str(refused.value) == says
