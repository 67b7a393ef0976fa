"""Every shipped conf/market option builds its process and samples a valid world."""

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from history_files import HISTORY_FILES
from sim.world import PROCESS_FIELDS, day_grid, hashprice_usd_per_ph_day, rng_for, validate_output

MARKET = Path(__file__).resolve().parents[2] / "conf" / "market"
OPTIONS = sorted((path.parent.name, path.stem) for path in MARKET.glob("*/*.yaml"))
#: Day 0's hashprice as published on the snapshot's date: every option starts near it.
PUBLISHED_HASHPRICE = OmegaConf.load(MARKET.parent / "asof" / "2026-06-26.yaml").hashprice_usd_per_ph_day
DEFAULTS = {"btc": "gbm", "network": "economic", "power": "ercot", "ai": "base", "demand": "poisson",
            "rates": "vasicek"}


def build(choices: dict) -> dict:
    overrides = ["+asof=2026-06-26", "+fleet=s21"]  # day 0 and the ASIC frontier the options read
    overrides += [f"+market/{name}={option}" for name, option in choices.items()]
    overrides += [o for name, option in choices.items()
                  for o in HISTORY_FILES.get(f"market/{name}={option}", [])]
    with initialize_config_dir(config_dir=str(MARKET.parent), version_base="1.3"):
        cfg = compose(config_name=None, overrides=overrides)
    return {name: instantiate(cfg.market[name], _convert_="all") for name in PROCESS_FIELDS}


def sample(processes: dict, deterministic: bool) -> dict:
    day, date = day_grid("2027-01-01", 10)
    paths = {"day": day, "date": date}
    for name, fields in PROCESS_FIELDS.items():
        rng = None if deterministic else rng_for(20270101, 0, name)
        out = processes[name].sample(day, rng, MappingProxyType(paths))
        paths.update(validate_output(out, fields, len(day), name))
        if name == "network":
            paths["hashprice_usd_per_ph_day"] = hashprice_usd_per_ph_day(
                paths["subsidy_btc"], paths["fees_btc_per_block"], paths["btc_usd"],
                paths["difficulty"])
    return paths


def test_every_group_has_its_default_option():
    assert {name for name, _ in OPTIONS} == set(PROCESS_FIELDS)
    assert set(DEFAULTS.items()) <= set(OPTIONS)


@pytest.mark.parametrize("group, option", OPTIONS)
def test_option_builds_and_samples_a_valid_world(group, option):
    processes = build({**DEFAULTS, group: option})
    for deterministic in (True, False):
        world = sample(processes, deterministic)
        assert world["hashprice_usd_per_ph_day"][0] == pytest.approx(PUBLISHED_HASHPRICE, rel=0.05)


def test_constant_hashrate_option_holds_the_hashrate():
    world = sample(build({**DEFAULTS, "network": "constant_hashrate"}), deterministic=False)
    assert np.ptp(world["network_hashrate_ehs"]) == 0
