"""The wheel carries the config tree and data, so an installed hashpivot works from anywhere."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_regular_install_works_from_another_directory(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w",
                            str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("hashpivot-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "sim/conf/config.yaml" in names and "sim/conf/strategy/phased.yaml" in names
    assert "sim/data/difficulty_epochs.csv" in names
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--target",
                                str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = ("import sim, sim.config_tree as c\n"
              "assert str(c.config_dir()).startswith(%r), c.config_dir()\n"
              "cfg = sim.compose(['run.replications=2', 'run.horizon_years=2', 'run.progress=false'])\n"
              "summary = sim.run(cfg).summary\n"
              "print(len(summary), sorted(summary.columns))\n") % str(target)
    env = {**os.environ, "PYTHONPATH": str(target)}
    done = subprocess.run([sys.executable, "-c", script], cwd=elsewhere, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    local = sim.run(sim.compose(["run.replications=1", "run.horizon_years=1", "run.progress=false",
                                 "strategy=stay_mining"])).summary
    assert done.stdout.strip() == f"12 {sorted(local.columns)}"  # 6 strategies x 2 worlds, every column


def test_every_test_module_has_a_basename_of_its_own():
    """pytest imports the test modules by basename (tests/ holds no packages): two files
    of one name in two folders stop a fresh run at collection ('import file mismatch')."""
    names = [path.name for path in (ROOT / "tests").rglob("test_*.py")]
    assert sorted(name for name in set(names) if names.count(name) > 1) == []
