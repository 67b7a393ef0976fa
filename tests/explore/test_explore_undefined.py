"""A metric undefined (NaN) in some worlds: refused where most worlds leave it undefined, as
hashpivot-compare refuses it, and otherwise counted, never averaged or dropped silently."""

import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.explore.analysis import check_defined, discover, points_table
from sim.explore.cli import main
from sim.explore.words import sentence

NAN = np.nan


def rows_of(values: dict) -> pd.DataFrame:
    """Return explore's rows from {(point, strategy): payback_years per replication}; input x = point."""
    rows = [{"point": point, "x": float(point), "strategy": strategy, "replication": r,
             "payback_years": v}
            for (point, strategy), per_world in values.items() for r, v in enumerate(per_world)]
    return pd.DataFrame(rows)


#: b against a, payback_years (lower is better); 3 of the 16 worlds undefined, one in four
#: at most for a strategy at a point.
ROWS = rows_of({(0, "a"): [5, 6, NAN, 7], (0, "b"): [4, NAN, 5, 9],
                (1, "a"): [5, 5, 5, 5], (1, "b"): [6, 4, 4, NAN]})


def test_each_statistic_says_how_many_worlds_define_it():
    table = points_table(ROWS, ["x"], "payback_years", "a").set_index(["point", "strategy"])
    # by hand: (5 + 6 + 7) / 3, (4 + 5 + 9) / 3, (6 + 4 + 4) / 3
    assert table.loc[(0, "a"), "payback_years mean"] == pytest.approx(6.0)
    assert table.loc[(0, "b"), "payback_years mean"] == pytest.approx(6.0)
    assert table.loc[(1, "b"), "payback_years mean"] == pytest.approx(14 / 3)
    assert table["payback_years undefined share"].tolist() == [0.25, 0.25, 0.0, 0.25]
    # both defined: point 0 replications 0 and 3 (4 - 5, 9 - 7); point 1 replications 0-2
    assert table.loc[(0, "b"), "difference vs a pairs"] == 2
    assert table.loc[(0, "b"), "difference vs a mean"] == pytest.approx(0.5)
    assert table.loc[(1, "b"), "difference vs a pairs"] == 3
    assert table.loc[(1, "b"), "difference vs a mean"] == pytest.approx(-1 / 3)


def test_prim_counts_the_cases_it_leaves_out_and_the_sentence_says_so():
    scenario = discover(ROWS, ["x"], "payback_years", "b", "a")
    # b pays back sooner in replication 0 of point 0 and replications 1, 2 of point 1;
    # later in replication 3 of point 0 and 0 of point 1; 3 of the 8 cases lack a pair
    assert (scenario.cases, scenario.undefined) == (5, 3)
    assert scenario.discovery.base_density == pytest.approx(3 / 5)
    text = sentence(scenario, {"x": ""})
    assert "of the 5 cases where both define payback_years (3 of all 8 left out: undefined)" in text


def test_a_metric_undefined_in_more_than_half_the_worlds_at_one_point_is_refused():
    check_defined(ROWS, "payback_years", "a", ["a", "b"])  # a quarter at most: kept
    half = rows_of({(0, "a"): [5, 6, 7, 8], (0, "b"): [4, NAN, NAN, 9]})
    check_defined(half, "payback_years", "a", ["a", "b"])  # defined in exactly half: kept, as compare
    most = rows_of({(0, "a"): [5, 6, 7, 8], (0, "b"): [4, NAN, NAN, 9],
                    (1, "a"): [5, 6, 7, 8], (1, "b"): [NAN, NAN, NAN, 9],
                    (0, "c"): [5, 6, 7, 8], (1, "c"): [5, 6, 7, 8]})
    with pytest.raises(UserError, match=r"^metric='payback_years': undefined \(NaN\) in more than "
                                        r"half of the worlds of b at 1 of 2 points \(point 1: 3 of 4 "
                                        r"worlds\); .*npv_usd, or leave b out with strategy=\['a', 'c'\]\)$"):
        check_defined(most, "payback_years", "a", ["a", "b", "c"])


CLI = ["site.blocks=4", "--strategies", "stay_mining,convert_all", "--replications", "8",
       "--design", "lhs", "--points", "2", "--no-progress", "explore.run.discount_rate=0.07:0.12"]


def test_the_command_refuses_a_metric_most_worlds_leave_undefined_and_writes_no_tables(capsys, tmp_path):
    assert main([*CLI, "--metric", "irr", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    kept = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "points").glob("*.parquet"))])
    mining = kept[kept["strategy"] == "stay_mining"]
    undefined = mining["irr"].isna().groupby(mining["point"]).sum()
    assert (undefined > 4).all()  # stay_mining has no IRR in most of its 8 worlds at each point
    worst = undefined.idxmax()
    assert err == (f"hashpivot-explore: error: --metric=irr: undefined (NaN) in more than half of "
                   f"the worlds of stay_mining at 2 of 2 points (point {worst}: {undefined[worst]} "
                   f"of 8 worlds); it can be explored only where every strategy defines it in at "
                   f"least half of its worlds at every point (choose a metric such as npv_usd)\n")
    assert not (tmp_path / "points.csv").exists() and not (tmp_path / "explore.html").exists()
    assert main([*CLI, "--out", str(tmp_path)]) == 0  # another metric reads the points back


def test_the_command_counts_the_worlds_that_leave_the_metric_undefined(capsys, tmp_path):
    assert main([*CLI, "--metric", "payback_years", "--out", str(tmp_path), "--xlsx"]) == 0
    out = capsys.readouterr().out
    kept = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "points").glob("*.parquet"))])
    paired = kept.pivot(index=["point", "replication"], columns="strategy", values="payback_years")
    left_out = int(paired.isna().any(axis=1).sum())
    assert 0 < left_out < len(paired)  # stay_mining never pays back in some worlds
    assert (f"of the {len(paired) - left_out} cases where both define payback_years "
            f"({left_out} of all {len(paired)} left out: undefined)") in out
    assert "payback_years is undefined (NaN) in some worlds of stay_mining" in out
    points = pd.read_csv(tmp_path / "points.csv").set_index(["point", "strategy"])
    mining = kept[kept["strategy"] == "stay_mining"]
    share = mining["payback_years"].isna().groupby(mining["point"]).mean()
    assert points.xs("stay_mining", level="strategy")["payback_years undefined share"].tolist() \
        == share.tolist()
    headers = pd.read_excel(tmp_path / "explore.xlsx", sheet_name="points").columns
    assert {"payback_years undefined share (fraction)", "difference vs stay_mining pairs (count)",
            "payback_years mean (years)"} <= set(headers)
