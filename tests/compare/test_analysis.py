"""The comparison table's terminal-value columns: the share of mean NPV the horizon's value makes."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from sim.compare.analysis import analyse, terminal_share
from sim.compare.load import load_runs


def test_each_strategy_reports_its_terminal_value_share_of_mean_npv(tmp_path, run_factory):
    run = run_factory(tmp_path / "run")
    table = analyse(load_runs([run])).table.set_index("strategy")
    summary = pd.read_parquet(run / "summary.parquet").groupby("strategy")
    for strategy, rows in summary:
        pv = rows["terminal_value_pv_usd"].mean()
        assert table.loc[strategy, "terminal_value_pv_mean"] == pytest.approx(pv, rel=1e-12)
        share = pv / rows["npv_usd"].mean() if pv else 0.0
        assert table.loc[strategy, "terminal_value_share"] == pytest.approx(share, rel=1e-9)
    assert table.loc["stay_mining", "terminal_value_share"] == 0.0  # nothing converted
    assert 0 < table.loc["convert_all", "terminal_value_share"]


def test_other_metrics_and_older_runs_have_no_share(tmp_path, run_factory):
    run = run_factory(tmp_path / "run")
    assert analyse(load_runs([run]), metric="mw_converted").table[
        ["terminal_value_pv_mean", "terminal_value_share"]].isna().all().all()
    summary = pd.read_parquet(run / "summary.parquet").drop(columns="terminal_value_pv_usd")
    summary.to_parquet(run / "summary.parquet")
    assert analyse(load_runs([run])).table["terminal_value_share"].isna().all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9)), min_size=1, max_size=30))
def test_share_times_mean_npv_is_the_mean_terminal_pv(pairs):
    """Property: share × mean NPV = mean PV of the terminal value, over the defined worlds."""
    rows = pd.DataFrame(pairs + [(np.nan, 5e9)], columns=["npv_usd", "terminal_value_pv_usd"])
    mean = float(rows["npv_usd"].mean())
    found = terminal_share(rows, "npv_usd", mean)
    pv = float(np.mean([tv for _, tv in pairs]))
    assert found["terminal_value_pv_mean"] == pytest.approx(pv, rel=1e-9, abs=1e-3)
    share = found["terminal_value_share"]
    if abs(mean) >= 1.0:
        assert share * mean == pytest.approx(pv, rel=1e-9, abs=1e-3)
    else:  # a mean NPV too close to zero: no share, or one that still multiplies back
        assert np.isnan(share) or share * mean == pytest.approx(pv, rel=1e-9, abs=1e-3)
