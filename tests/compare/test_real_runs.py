"""Compare on real hashpivot runs: pairing pays off under common random numbers; sweeps give regret."""

import pandas as pd
import pytest

from sim.cli import main
from sim.compare import compare_runs

QUICK = ["run.replications=40", "run.horizon_years=4", "run.progress=false", "run.compare=false",
         "run.robustness.replications=0"]


@pytest.mark.slow
def test_paired_interval_is_narrower_than_unpaired_on_a_crn_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # Strategies that share their exposure (both lease the same halls in the same worlds):
    # common random numbers make their difference's interval narrower than unpaired.
    assert main([*QUICK, "strategy=[stay_mining,convert_all,threshold,build_to_suit]",
                 f"hydra.run.dir={tmp_path / 'run'}"]) == 0
    comparison = compare_runs([tmp_path / "run"], out=tmp_path / "cmp", baseline="convert_all")
    rows = comparison.table.set_index("strategy").loc[["threshold", "build_to_suit"]]
    assert rows["paired"].all()
    paired_width = rows["diff_ci_high"] - rows["diff_ci_low"]
    assert (paired_width < rows["unpaired_ci_width"]).all()
    html = (tmp_path / "cmp" / "report.html").read_text()
    assert "stay_mining" in html and "<img" in html


@pytest.mark.slow
def test_sweep_over_markets_reports_regret_per_scenario(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    assert main(["-m", *QUICK, "market/ai=base,glut", "strategy=[stay_mining,convert_all]",
                 f"hydra.sweep.dir={sweep}"]) == 0
    comparison = compare_runs([sweep], out=tmp_path / "cmp")
    regret = comparison.analysis.regret
    assert regret.shape[1] >= 2                      # one column per scenario (+ max regret)
    table = pd.read_csv(tmp_path / "cmp" / "comparison.csv")
    assert set(table["scenario"]) == {"market/ai=base", "market/ai=glut"}
    assert (table["regret"] >= 0).all()
    for _, rows in table.groupby("scenario"):
        assert (rows["regret"] == 0).sum() == 1      # exactly one best per scenario
