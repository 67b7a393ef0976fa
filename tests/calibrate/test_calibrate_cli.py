"""`hashpivot-calibrate`: writes ready options that compose and build; bad files write nothing."""

import os
import stat

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

import sim
from economic_history import START, TRUTH, simulated_history
from history_files import HISTORY
from sim.calibrate.cli import main, parser
from sim.config_objects import build_processes
from sim.processes.history import read_epochs

BTC = str(HISTORY / "btc_daily.csv")
POWER = str(HISTORY / "power_daily.csv")


def test_help_explains_every_files_format():
    text = parser().format_help()
    for column in ("close_usd", "usd_per_mwh", "timestamp",
                   "usd_per_kw_month", "usd_per_hour"):
        assert column in text


def test_fits_are_written_as_options_that_compose_and_build(tmp_path, capsys):
    weekly = pd.read_csv(BTC)[::7].rename(columns={"close_usd": "usd_per_hour"})
    weekly["usd_per_hour"] = weekly["usd_per_hour"] / 15000
    weekly.to_csv(tmp_path / "gpu.csv", index=False)
    out = tmp_path / "fitted"
    assert main(["--btc", BTC, "--power", POWER, "--gpu", str(tmp_path / "gpu.csv"),
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "drift_per_year" in printed and "ks_statistic" in printed and "±" in printed
    for selector in ("market/btc=fitted_gbm", "market/btc=fitted_jump", "market/power=fitted",
                     "market/ai=fitted"):
        group, option = selector.split("=")
        text = (out / group / f"{option}.yaml").read_text()
        assert "(standard error)" in text and "Data: " in text and "2020-01-01 to 2022-12-" in text
        cfg = sim.compose([selector], config_dirs=[out])
        build_processes(cfg)
        written = OmegaConf.load(out / group / f"{option}.yaml")
        assert OmegaConf.to_container(cfg.market[group.split("/")[1]]) == OmegaConf.to_container(written)
    gbm = OmegaConf.load(out / "market/btc/fitted_gbm.yaml")
    assert OmegaConf.to_container(gbm)["start_usd"] == "${asof.btc_usd}"  # day 0: the snapshot's
    assert 0.55 < gbm.volatility_per_year < 0.65  # the synthetic file's GBM has 0.6


#: The keys each written option may change from the shipped option it replaces: those the
#: fit estimates or sets (the AI regimes off where the GPU price is fitted). Day 0's state
#: (start_usd, start_height, ..., the lease and GPU prices on day 0) is not among them.
MAY_CHANGE = {
    "market/btc=fitted_gbm": ("market/btc=gbm", {"drift_per_year", "volatility_per_year"}),
    "market/btc=fitted_jump": ("market/btc=jump", {"drift_per_year", "volatility_per_year",
                                                   "jumps_per_year", "jump_log_mean",
                                                   "jump_log_sd"}),
    "market/power=fitted": ("market/power=ercot", {
        "mean_usd_per_mwh", "seasonal_amplitude_log", "peak_day_of_year", "log_sd",
        "half_life_days", "spikes_per_year", "spike_log_mean", "spike_log_sd",
        "spike_half_life_days", "cap_usd_per_mwh"}),
    "market/network=fitted": ("market/network=reference", {
        "hashrate_trend_per_year", "elasticity_per_year", "hashprice_ref_usd_per_ph_day",
        "hashrate_volatility_per_year"}),
}
LEASE_KEYS = {"lease_drift_per_year", "lease_log_sd", "lease_half_life_years"}
GPU_KEYS = {"gpu_drift_per_year", "gpu_log_sd", "gpu_half_life_years", "scarcity_multiplier",
            "glut_multiplier"}
#: Day 0 of the default experiment's world, as the snapshot (conf/asof) sets it.
DAY0_FIELDS = ("btc_usd", "block_height", "difficulty", "fees_btc_per_block",
               "hashprice_usd_per_ph_day", "lease_usd_per_kw_month", "gpu_usd_per_hour")


def changed_keys(selector: str, shipped: str, out) -> set:
    """Return the keys of the composed option `selector` (from `out`) whose resolved values
    differ from those of the shipped option `shipped` in the default experiment."""
    group = selector.split("=")[0].split("/")[1]
    fitted, default = (OmegaConf.to_container(sim.compose([choice], config_dirs=[out]).market[group],
                                              resolve=True)
                       for choice in (selector, shipped))
    return {key for key in fitted.keys() | default.keys() if fitted.get(key) != default.get(key)}


def day0(overrides: list, out=None) -> dict:
    """Return day 0's values of DAY0_FIELDS in the deterministic world of the experiment."""
    cfg = sim.compose([*overrides, "run.deterministic=true", "run.horizon_years=1"],
                      config_dirs=[out] if out else [])
    world = sim.sample_world(cfg, 0)
    return {name: float(np.asarray(getattr(world, name))[0]) for name in DAY0_FIELDS}


def test_a_fitted_option_changes_only_what_it_fits_and_starts_on_the_snapshot(tmp_path, capsys):
    """Before: the written options put the history's end state on the snapshot's date (the
    last close as day 0's BTC price, the last epoch's height and difficulty), and every key
    not fitted at the class's built-in value (a --lease fit set the GPU's day-0 price to
    2.1 where market/ai=base takes the snapshot's 2.25)."""
    weekly = pd.read_csv(BTC)[::7]
    weekly.rename(columns={"close_usd": "usd_per_hour"}).assign(
        usd_per_hour=weekly["close_usd"] / 15000).to_csv(tmp_path / "gpu.csv", index=False)
    weekly.rename(columns={"close_usd": "usd_per_kw_month"}).assign(
        usd_per_kw_month=weekly["close_usd"] / 200).to_csv(tmp_path / "lease.csv", index=False)
    synthetic_epochs(tmp_path / "epochs.csv")
    both, lease_only = tmp_path / "both", tmp_path / "lease_only"
    assert main(["--btc", BTC, "--power", POWER, "--gpu", str(tmp_path / "gpu.csv"),
                 "--network", str(tmp_path / "epochs.csv"), "--network-model", "reference",
                 "--out", str(both)]) == 0
    assert main(["--lease", str(tmp_path / "lease.csv"), "--out", str(lease_only)]) == 0
    capsys.readouterr()
    for selector, (shipped, fitted) in MAY_CHANGE.items():
        assert changed_keys(selector, shipped, both) <= fitted, selector
    assert changed_keys("market/ai=fitted", "market/ai=base", both) <= GPU_KEYS
    assert changed_keys("market/ai=fitted", "market/ai=base", lease_only) <= LEASE_KEYS
    fitted = day0(["market/btc=fitted_jump", "market/power=fitted", "market/ai=fitted",
                   "market/network=fitted"], both)
    snapshot = day0(["market/network=reference"])
    assert fitted == pytest.approx(snapshot, rel=1e-12)
    cfg = sim.compose([])
    assert snapshot["btc_usd"] == cfg.asof.btc_usd and snapshot["block_height"] == cfg.asof.height
    assert snapshot["gpu_usd_per_hour"] == pytest.approx(cfg.asof.gpu_usd_per_hour)
    assert day0(["market/ai=fitted"], lease_only) == pytest.approx(day0([]), rel=1e-12)


def test_a_btc_file_whose_close_is_named_close_fits_as_the_same_file(tmp_path, capsys):
    """The close column may be named as the backtest and market/btc=bootstrap accept it."""
    renamed = tmp_path / "btc.csv"
    pd.read_csv(BTC).rename(columns={"close_usd": "close"}).to_csv(renamed, index=False)
    for name, path in (("as_shipped", BTC), ("renamed", str(renamed))):
        assert main(["--btc", path, "--out", str(tmp_path / name)]) == 0
    capsys.readouterr()
    shipped, other = (OmegaConf.load(tmp_path / name / "market/btc/fitted_gbm.yaml")
                      for name in ("as_shipped", "renamed"))
    assert OmegaConf.to_container(shipped) == OmegaConf.to_container(other)


def synthetic_epochs(path) -> None:
    """Write a synthetic epoch history over the synthetic prices: 2016 blocks every ~14 days."""
    closes = pd.read_csv(BTC)
    stamps = pd.to_datetime(closes["date"]).astype("datetime64[s]").astype("int64")
    n = 70
    rng = np.random.default_rng(4)
    epochs = pd.DataFrame({"height": 2016 * (400 + np.arange(n)),
                           "timestamp": stamps.iloc[0] + np.cumsum(np.r_[0, 14 * 86400
                                                                         * rng.uniform(0.9, 1.1, n - 1)]).astype(np.int64),
                           "difficulty": 1e13 * np.exp(np.cumsum(rng.normal(0.02, 0.03, n)))})
    epochs.to_csv(path, index=False)


def test_network_fit_is_written_from_the_epochs_and_prices(tmp_path):
    synthetic_epochs(tmp_path / "epochs.csv")
    out = tmp_path / "fitted"
    assert main(["--btc", BTC, "--network", str(tmp_path / "epochs.csv"), "--network-model",
                 "reference", "--out", str(out)]) == 0
    assert "sim.processes.network.Network" in (out / "market/network/fitted.yaml").read_text()
    build_processes(sim.compose(["market/network=fitted"], config_dirs=[out]))


def test_economic_network_fit_is_written_as_an_option_that_runs(tmp_path, capsys):
    # just over a year: the --btc fits need a year of daily returns (btc.MIN_CLOSES)
    epochs, closes = simulated_history(years=1.01, **TRUTH)
    epochs.to_csv(tmp_path / "epochs.csv", index=False)
    pd.DataFrame({"date": closes.index.astype(str), "close_usd": closes.to_numpy()}).to_csv(
        tmp_path / "btc.csv", index=False)
    out = tmp_path / "calibrated"
    assert main(["--btc", str(tmp_path / "btc.csv"), "--network", str(tmp_path / "epochs.csv"),
                 "--network-since", START, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "power_median_usd_per_mwh" in printed and "r_squared_log_difficulty" in printed
    text = (out / "market/network/fitted.yaml").read_text()
    assert "_target_: sim.processes.network_economic.EconomicNetwork" in text
    assert f"{START} to " in text and "(standard error)" in text
    assert "frontier_date: ${fleet.frontier_date}" in text
    assert "not fitted: as market/network=economic" in text
    cfg = sim.compose(["market/network=fitted", "run.horizon_years=1"], config_dirs=[out])
    written = OmegaConf.load(out / "market/network/fitted.yaml")
    assert OmegaConf.to_container(cfg.market.network) == OmegaConf.to_container(written)
    assert changed_keys("market/network=fitted", "market/network=economic", out) <= {
        "power_median_usd_per_mwh", "payback_target_days", "order_days"}
    assert day0(["market/network=fitted"], out) == pytest.approx(day0([]), rel=1e-12)
    network = build_processes(cfg)["network"]
    assert abs(network.power_median_usd_per_mwh / TRUTH["power_median_usd_per_mwh"] - 1) < 0.05
    days = np.arange(60)
    dates = np.datetime64("2027-01-01") + days
    path = network.sample(days, np.random.default_rng(0),
                          {"day": days, "date": dates, "btc_usd": np.full(60, 90_000.0)})
    assert np.all(path["difficulty"] > 0)


def test_help_names_both_network_models():
    text = " ".join(parser().format_help().split())
    assert "--network-model {economic,reference}" in text and "--network-since" in text


@pytest.mark.parametrize("args, fragment", [
    ([], "no history given"),
    (["--network", "x.csv"], "--network=x.csv: needs --btc"),
    (["--btc", "nope.csv"], "--btc=nope.csv: no such file"),
    (["--btc", BTC, "--power", "bad.csv"], "--power=bad.csv: row 3, column usd_per_mwh"),
    (["--btc", BTC, "--network", "epochs.csv", "--network-since", "2021-13-01"],
     "--network-since=2021-13-01: must be a date"),
    (["--btc", BTC, "--network", "epochs.csv"],
     "--network: the epochs (2023-09-20 on) and the --btc prices"),
])
def test_bad_inputs_are_one_line_and_write_nothing(tmp_path, monkeypatch, capsys, args, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("date,usd_per_mwh\n2024-01-01,5\n2024-01-02,0\n")
    # real epochs of 2024, after the prices of the synthetic BTC file (2020 to 2022)
    read_epochs(None).iloc[400:420].to_csv(tmp_path / "epochs.csv", index=False)
    assert main([*args, "--out", "fitted"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hashpivot-calibrate: error: ") and err.count("\n") == 1, err
    assert fragment in err
    assert not (tmp_path / "fitted").exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_the_options_written_follow_the_umask(tmp_path, capsys, umask, mode):
    """Before: they came out 0600 (mkstemp's mode) whatever the umask, where every other
    command's outputs follow it (0644 under 022)."""
    before = os.umask(umask)
    try:
        assert main(["--btc", BTC, "--out", str(tmp_path / "fitted")]) == 0
    finally:
        os.umask(before)
    for name in ("fitted_gbm.yaml", "fitted_jump.yaml"):
        written = tmp_path / "fitted" / "market" / "btc" / name
        assert stat.S_IMODE(written.stat().st_mode) == mode, name
