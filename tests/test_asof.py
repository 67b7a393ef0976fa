"""The as-of snapshot: day 0's market comes from one dated, sourced file in conf/asof."""

import numpy as np
import pytest
from omegaconf import OmegaConf

import sim
from sim.config_checks import settings
from sim.config_tree import config_dir
from sim.errors import UserError

SNAPSHOTS = sorted(path.stem for path in (config_dir() / "asof").glob("*.yaml"))


def snapshot(name: str) -> dict:
    return OmegaConf.to_container(OmegaConf.load(config_dir() / "asof" / f"{name}.yaml"))


def test_the_default_experiment_starts_from_the_latest_snapshot():
    cfg = settings(sim.compose([]))
    assert SNAPSHOTS and cfg.asof.date == max(SNAPSHOTS)
    assert cfg.site.start_date == cfg.asof.date


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_each_snapshot_is_named_by_its_date_and_sources_every_value(name):
    text = (config_dir() / "asof" / f"{name}.yaml").read_text()
    assert snapshot(name)["date"] == name
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert "#" in line, f"{name}: no source for {line!r}"


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_published_hashprice_matches_the_snapshots_own_figures(name):
    """Hashprice by hand: 86,400 s x 1e15 H/s per PH/s x (subsidy + fees) x price / (D x 2^32)."""
    s = snapshot(name)
    subsidy = 50.0 / 2 ** (s["height"] // 210_000)
    implied = 86_400 * 1e15 * (subsidy + s["fees_btc_per_block"]) * s["btc_usd"] / (s["difficulty"] * 2 ** 32)
    assert implied == pytest.approx(s["hashprice_usd_per_ph_day"], rel=0.05)


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_the_world_starts_at_the_snapshot(name):
    cfg = sim.compose([f"asof={name}", "run.deterministic=true", "run.horizon_years=1"])
    s = snapshot(name)
    world = sim.sample_world(cfg, 0)
    assert world.date[0] == np.datetime64(s["date"])
    assert world.btc_usd[0] == pytest.approx(s["btc_usd"])
    assert world.difficulty[0] == pytest.approx(s["difficulty"])
    assert world.block_height[0] == s["height"]
    assert world.lease_usd_per_kw_month[0] == pytest.approx(s["lease_usd_per_kw_month"])
    hashrate = s["hashrate_ehs"] or s["difficulty"] * 2 ** 32 / 600 / 1e18
    assert world.network_hashrate_ehs[0] == pytest.approx(hashrate, rel=1e-9)


def test_a_value_set_on_a_process_wins_over_the_snapshot():
    cfg = settings(sim.compose(["market.btc.start_usd=123456", "site.start_date=2027-01-01"]))
    assert cfg.market["btc"]["start_usd"] == 123456
    assert cfg.site.start_date == "2027-01-01"
    assert cfg.market["network"]["start_height"] == cfg.asof.height


@pytest.mark.parametrize("override, fragment", [
    ("asof.difficulty=1.3387e11", "asof.hashprice_usd_per_ph_day=29: must be within 10% of 28,348.97"),
    ("asof.btc_usd=0", "asof.btc_usd=0: must be > 0"),
    ("asof.date=2026-13-01", "asof.date='2026-13-01': must be a date"),
    ("asof=1999-01-01", "asof=1999-01-01: no such option; allowed: 2026-01-12, 2026-06-26"),
])
def test_a_bad_snapshot_gets_one_line(override, fragment):
    with pytest.raises(UserError) as err:
        settings(sim.compose([override]))
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_a_snapshot_without_a_published_hashprice_is_not_checked():
    cfg = settings(sim.compose(["asof.difficulty=1.3387e11", "asof.hashprice_usd_per_ph_day=null"]))
    assert cfg.asof.hashprice_usd_per_ph_day is None
