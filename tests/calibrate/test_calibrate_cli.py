"""`hashpivot-calibrate`: writes ready options that compose and build; bad files write nothing."""

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

import sim
from history_files import HISTORY
from sim.calibrate.cli import main, parser
from sim.config import build_processes
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
    assert gbm.start_usd == pytest.approx(pd.read_csv(BTC)["close_usd"].iloc[-1])
    assert 0.55 < gbm.volatility_per_year < 0.65  # the synthetic file's GBM has 0.6


def test_network_fit_is_written_from_the_epochs_and_prices(tmp_path):
    epochs = read_epochs(None)
    closes = pd.read_csv(BTC)
    stamps = pd.to_datetime(closes["date"]).astype("datetime64[s]").astype("int64")
    # a synthetic epoch history over the synthetic prices: 2016 blocks every ~14 days
    n = 70
    rng = np.random.default_rng(4)
    epochs = pd.DataFrame({"height": 2016 * (400 + np.arange(n)),
                           "timestamp": stamps.iloc[0] + np.cumsum(np.r_[0, 14 * 86400
                                                                         * rng.uniform(0.9, 1.1, n - 1)]).astype(np.int64),
                           "difficulty": 1e13 * np.exp(np.cumsum(rng.normal(0.02, 0.03, n)))})
    epochs.to_csv(tmp_path / "epochs.csv", index=False)
    out = tmp_path / "fitted"
    assert main(["--btc", BTC, "--network", str(tmp_path / "epochs.csv"), "--out", str(out)]) == 0
    build_processes(sim.compose(["market/network=fitted"], config_dirs=[out]))


@pytest.mark.parametrize("args, fragment", [
    ([], "no history given"),
    (["--network", "x.csv"], "--network x.csv: needs --btc"),
    (["--btc", "nope.csv"], "--btc nope.csv: no such file"),
    (["--btc", BTC, "--power", "bad.csv"], "--power bad.csv: row 3, column usd_per_mwh"),
])
def test_bad_inputs_are_one_line_and_write_nothing(tmp_path, monkeypatch, capsys, args, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text("date,usd_per_mwh\n2024-01-01,5\n2024-01-02,0\n")
    assert main([*args, "--out", "fitted"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hashpivot-calibrate: error: ") and err.count("\n") == 1, err
    assert fragment in err
    assert not (tmp_path / "fitted").exists()
