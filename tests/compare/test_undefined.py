"""Metrics undefined in some worlds (IRR without an outlay): reported, paired only where
both strategies define them, refused when most worlds do not; and where compare writes."""

import numpy as np
import pandas as pd
import pytest

from sim.compare import compare_runs
from sim.compare import main as compare_main
from sim.errors import UserError


def _blank(run, strategy: str, share: float, metric: str = "irr") -> pd.DataFrame:
    """Set `metric` to NaN in the first `share` of `strategy`'s replications; return the table."""
    summary = pd.read_parquet(run / "summary.parquet")
    rows = summary.index[summary["strategy"] == strategy]
    summary.loc[rows[: round(share * len(rows))], metric] = np.nan
    summary.to_parquet(run / "summary.parquet")
    return summary


def test_undefined_share_is_reported_and_pairs_use_only_worlds_both_define(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("phased", "convert_all"), replications=40)
    summary = _blank(run, "convert_all", 0.3)
    comparison = compare_runs(run, out=tmp_path / "out", metric="irr", baseline="phased")
    table = comparison.table.set_index("strategy")
    assert table.loc["convert_all", "undefined_share"] == pytest.approx(0.3)
    assert table.loc["phased", "undefined_share"] == 0
    assert (table.loc["convert_all", "n"], table.loc["convert_all", "n_missing"]) == (28, 12)
    # Independent truth: the paired difference over the replications where both are defined.
    wide = summary.pivot(index="replication", columns="strategy", values="irr").dropna()
    assert table.loc["convert_all", "n_pairs"] == len(wide) == 28
    assert table.loc["convert_all", "diff_mean"] == pytest.approx(
        (wide["convert_all"] - wide["phased"]).mean())
    note = "irr is undefined (NaN) for convert_all in 30% of its worlds"
    assert note in comparison.verdict
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert note in html and "undefined (NaN)" in html and "where both define the metric" in html
    csv = pd.read_csv(tmp_path / "out" / "comparison.csv").set_index("strategy")
    assert csv.loc["convert_all", "undefined_share"] == pytest.approx(0.3)


def test_a_metric_most_worlds_leave_undefined_is_refused(tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"))  # stay_mining: no IRR at all
    code = compare_main([str(run), "--metric", "irr", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert err.startswith("hashpivot-compare: error: --metric=irr: undefined (NaN) for "
                          "stay_mining in 100% of its worlds")
    assert not (tmp_path / "out").exists()


def test_the_half_line_is_where_refusal_starts(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("phased", "convert_all"), replications=40)
    _blank(run, "convert_all", 0.5)  # exactly half defined: compared
    assert compare_runs(run, out=tmp_path / "a", metric="irr").table["n"].min() == 20
    _blank(run, "convert_all", 0.525)  # 19 of 40 defined: refused
    with pytest.raises(UserError, match="convert_all in 52% of its worlds"):
        compare_runs(run, out=tmp_path / "b", metric="irr")


@pytest.mark.parametrize("where", ["/proc/nope/out", "{file}/out"])
def test_an_out_directory_that_cannot_be_written_is_one_line(where, tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=5)
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    out = where.format(file=blocker)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = compare_main([str(run), "--out", out])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and f"--out={out}" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (run / "report.html").exists()


def _payback(run, never: dict[str, float], years: dict[str, float]) -> None:
    """Give each strategy payback `years[s]` in every world but the first `never[s]` share,
    where it never pays back (NaN, with a cash deficit: peak funding > 0)."""
    summary = pd.read_parquet(run / "summary.parquet")
    for strategy, value in years.items():
        rows = summary.index[summary["strategy"] == strategy]
        summary.loc[rows, "payback_years"] = value
        summary.loc[rows, "peak_funding_usd"] = 5e7
        summary.loc[rows[: round(never.get(strategy, 0) * len(rows))], "payback_years"] = np.nan
    summary.to_parquet(run / "summary.parquet")


def test_a_strategy_that_never_pays_back_in_some_worlds_is_not_recommended_by_payback(
        tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "convert_all"), replications=30)
    _payback(run, never={"stay_mining": 1 / 3}, years={"stay_mining": 2.0, "convert_all": 8.0})
    assert compare_main([str(run), "--metric", "payback_years", "--out", str(tmp_path / "o")]) == 0
    out, err = capsys.readouterr()
    headline = out.splitlines()[0]
    assert "convert_all" in headline and "stay_mining" not in headline, headline
    assert "stay_mining" in err and "33% of its worlds" in err and "Left out" in err, err
    comparison = compare_runs(run, out=tmp_path / "o2", metric="payback_years")
    assert comparison.best == "convert_all"
    table = comparison.table.set_index("strategy")
    assert table.loc["stay_mining", "undefined_share"] == pytest.approx(1 / 3)
    assert not table.loc["stay_mining", "best_in_scenario"]


def test_when_every_strategy_leaves_the_metric_undefined_somewhere_none_is_recommended(
        tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "convert_all"), replications=30)
    _payback(run, never={"stay_mining": 0.2, "convert_all": 0.1},
             years={"stay_mining": 2.0, "convert_all": 8.0})
    assert compare_main([str(run), "--metric", "payback_years", "--out", str(tmp_path / "o")]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("No recommendation by payback"), out
    assert compare_runs(run, out=tmp_path / "o2", metric="payback_years").best is None
