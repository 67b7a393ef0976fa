"""scripts/network_falls.py: the figures docs/model.md quotes on how fast the network sheds hashrate."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def falls():
    spec = importlib.util.spec_from_file_location("network_falls", ROOT / "scripts" / "network_falls.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_largest_yearly_fall_is_the_worst_ratio_a_year_apart(falls):
    days = np.arange(800)
    difficulty = np.where(days < 400, 100.0, 40.0)  # a step down to 40% on day 400
    assert falls.largest_yearly_fall(difficulty) == pytest.approx(2.5)
    assert falls.largest_yearly_fall(np.exp(0.001 * days)) == pytest.approx(np.exp(-0.365))  # never falls
    assert np.isnan(falls.largest_yearly_fall(np.ones(300)))


def test_the_history_never_fell_more_than_a_quarter_in_a_year_since_2014(falls):
    ratio, ending = falls.history_fall()
    assert ratio == pytest.approx(1.2687, abs=1e-4) and ending == "2021-07-17"  # China's ban


def test_the_script_prints_each_figure(falls, capsys):
    assert falls.main(["--replications", "8", "run.horizon_years=2"]) == 0
    out = capsys.readouterr().out
    assert "largest one-year fall of difficulty in a world (8 worlds): P10" in out
    assert "installed over running hashrate at the first epoch's end: P10" in out
    assert "2032-06-01" not in out  # a two-year horizon does not reach it


def test_the_replayed_falls_are_history_sized(falls):
    """With the realised BTC path the network's largest yearly falls are history's size
    (docs/model.md: 1.19-1.28 at the median world from 2014-2016); needs the closes file."""
    btc = Path("/work/shared/data/btc_daily.csv")
    if not btc.is_file():
        pytest.skip("the BTC closes are not shipped (licence): tests use them where present")
    from sim.btc_closes import read_btc_csv

    replayed = falls.replayed_falls(read_btc_csv(btc), ["2015-01-01"], 9, 20)["2015-01-01"]
    assert len(replayed) == 20 and 1.0 < np.median(replayed) < 1.6


def test_a_missing_btc_file_is_one_line_before_any_figure(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "network_falls.py"), "--btc",
                           str(tmp_path / "nope.csv"), "--replications", "4"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"network_falls: error: --btc={tmp_path / 'nope.csv'}: no such file\n"
