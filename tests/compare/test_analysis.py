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


def _sized(path, run_factory, strategy, replications, npv_usd, seed=1):
    """Return a synthetic run of `strategy` over `replications` worlds with the NPVs given."""
    run = run_factory(path, (strategy,), replications=replications, seed=seed)
    summary = pd.read_parquet(run / "summary.parquet")
    summary["npv_usd"] = np.asarray(npv_usd, float)
    summary.to_parquet(run / "summary.parquet")
    return run


def test_runs_of_different_sizes_are_described_compared_and_ranked_on_the_replications_all_ran(
        tmp_path, run_factory):
    """An audit compared stay_mining over 200 worlds with convert_all over the first 100:
    the verdict ranked on the 100 both ran and recommended stay_mining, beside a table
    whose mean over all 200 put convert_all first, and a regret of 0 for convert_all."""
    from sim.compare.verdict import verdict

    rng = np.random.default_rng(3)
    early = 100e6 + rng.normal(0, 1e6, 20)
    a = _sized(tmp_path / "a", run_factory, "stay_mining", 40, np.r_[early, np.zeros(20)])
    b = _sized(tmp_path / "b", run_factory, "phased", 20, early - 10e6 + rng.normal(0, 1e5, 20))
    runset = load_runs([a, b])
    analysis = analyse(runset)
    table = analysis.table.set_index("strategy")
    assert table.loc["stay_mining", "mean"] == pytest.approx(early.mean(), rel=1e-12)
    assert table.loc["stay_mining", "n"] == table.loc["phased", "n"] == 20
    assert analysis.selections[runset.scenarios[0]].best == "stay_mining"
    assert analysis.regret.loc["stay_mining"].iloc[0] == 0 < analysis.regret.loc["phased"].iloc[0]
    note = ("The strategies ran different replications (stay_mining 40, phased 20): each is "
            "described, compared and ranked on the 20 that all of them ran; rerun them with the "
            "same run.replications to use them all.")
    assert note in analysis.notes
    lines = verdict(analysis, runset)
    assert lines[0].startswith("Recommended: stay_mining") and note in lines
    same = analyse(load_runs([a, _sized(tmp_path / "c", run_factory, "phased", 40, np.zeros(40))]))
    assert not [n for n in same.notes if "different replications" in n]


def test_runs_on_other_worlds_are_said_to_be_paired_by_number_only(tmp_path, run_factory):
    from sim.compare.verdict import verdict

    rng = np.random.default_rng(4)
    a = _sized(tmp_path / "a", run_factory, "stay_mining", 30, rng.normal(100e6, 1e6, 30))
    b = _sized(tmp_path / "b", run_factory, "phased", 30, rng.normal(90e6, 1e6, 30), seed=2)
    runset = load_runs([a, b])
    test = next(line for line in verdict(analyse(runset), runset) if "Bonferroni" in line)
    assert ("over all 30 replications, paired by number (not all the runs sampled the same "
            "worlds)") in test
    a2 = _sized(tmp_path / "a2", run_factory, "phased", 30, rng.normal(90e6, 1e6, 30))
    runset = load_runs([a, a2])
    test = next(line for line in verdict(analyse(runset), runset) if "Bonferroni" in line)
    assert "over all 30 replications gives" in test


def test_strategies_alike_in_every_world_are_one_strategy_with_nothing_to_rank_against(
        tmp_path, run_factory):
    """Only convert_all and real_option, the same in every world: the verdict said that
    convert_all beat 'every other outright' with 100% confidence, within a zone of '–'."""
    from sim.compare.verdict import verdict

    rng = np.random.default_rng(5)
    npv = rng.normal(100e6, 1e6, 10)
    a = _sized(tmp_path / "a", run_factory, "stay_mining", 10, npv)
    b = _sized(tmp_path / "b", run_factory, "phased", 10, npv)
    runset = load_runs([a, b])
    lines = verdict(analyse(runset), runset)
    assert lines[0].startswith("phased and stay_mining had the same NPV in every sampled world "
                               "(they acted alike): mean $")
    assert "there is no other strategy to rank them against" in lines[0]
    assert not [line for line in lines if "outright" in line or "–" in line.split("CI")[0]]


def test_runs_of_other_seeds_are_scenarios_and_a_strategy_is_never_ranked_against_itself(
        tmp_path, run_factory):
    """A sweep over run.seed was ranked as if its seeds were strategies: 'Recommended:
    phased [run.seed=2] ... beats every other outright', phased [run.seed=1] among them,
    replication k of one seed paired with replication k of another."""
    runs = [run_factory(tmp_path / str(seed), ("stay_mining", "phased"), replications=12,
                        seed=seed, overrides=(f"run.seed={seed}",)) for seed in (1, 2)]
    runset = load_runs(runs)
    assert runset.scenarios == ["run.seed=1", "run.seed=2"]
    assert set(runset.summary["label"]) == {"stay_mining", "phased"}
    analysis = analyse(runset)
    assert all(selection.best in ("stay_mining", "phased")
               for selection in analysis.selections.values())
    assert analysis.table["paired"].dropna().all()
