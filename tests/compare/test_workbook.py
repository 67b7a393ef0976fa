"""The workbook of `hashpivot-compare --xlsx`: its sheets hold the same numbers as the tables."""

import openpyxl
import pandas as pd
import pytest

from sim.compare import main
from sim.compare.finance import FINANCING_CATEGORIES
from sim.compare.workbook import unit_of, with_units, workbook_path
from sim.errors import UserError


def sheet(path, name) -> pd.DataFrame:
    """Return a sheet as a DataFrame, read with openpyxl itself (not through pandas)."""
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book[name].iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_the_workbook_opens_and_its_totals_equal_the_tables(real_run):
    _, run_dir = real_run
    path = run_dir / "comparison.xlsx"
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["about", "strategies", "paired_differences", "replications",
                               "cash_flow_yearly", "cash_flow_by_category"]
    summary = pd.read_parquet(run_dir / "summary.parquet")
    reps = sheet(path, "replications")
    # per strategy, the sum of NPV over the worlds equals summary.parquet's
    by_hand = summary.groupby("strategy")["npv_usd"].sum()
    assert reps.groupby("strategy")["npv_usd (USD)"].sum().to_dict() == pytest.approx(
        by_hand.to_dict(), rel=1e-12)
    assert len(reps) == len(summary)
    # the per-strategy sheet is comparison.csv with units in the headers
    csv = pd.read_csv(run_dir / "comparison.csv").set_index("strategy")
    table = sheet(path, "strategies").set_index("strategy")
    assert table["mean (USD)"].to_dict() == pytest.approx(csv["mean"].to_dict(), rel=1e-12)
    assert table.loc["convert_all", "mean (USD)"] == pytest.approx(
        summary.loc[summary["strategy"] == "convert_all", "npv_usd"].mean(), rel=1e-12)
    paired = sheet(path, "paired_differences").set_index("strategy")
    assert paired.loc["convert_all", "diff_mean (USD)"] == pytest.approx(
        csv.loc["convert_all", "diff_mean"], rel=1e-12)
    # yearly net cash before debt, tax and the terminal value: mean and P50 over the
    # worlds, from cashflows.parquet by hand (the run borrows: its debt and tax flows are
    # left out; so is the value at the horizon, booked in the last month)
    flows = pd.read_parquet(run_dir / "cashflows.parquet")
    flows["year"] = pd.to_datetime(flows["month"]).dt.year
    left_out = (*FINANCING_CATEGORIES, "terminal_value")
    financing = flows["category"].isin(left_out)
    assert flows.loc[financing & (flows["category"] == "debt_draw"), "usd"].abs().sum() > 0
    assert flows.loc[flows["category"] == "terminal_value", "usd"].abs().sum() > 0
    per_world = flows[~financing].groupby(["strategy", "year", "replication"],
                                          observed=True)["usd"].sum()
    yearly = sheet(path, "cash_flow_yearly").set_index(["strategy", "year (calendar year)"])
    for (strategy, year), mean in per_world.groupby(level=[0, 1]).mean().items():
        assert yearly.loc[(strategy, year), "mean_usd (USD)"] == pytest.approx(mean, rel=1e-9)
    medians = per_world.groupby(level=[0, 1]).median()
    assert yearly["p50_usd (USD)"].to_numpy() == pytest.approx(
        medians.loc[yearly.index].to_numpy(), rel=1e-9)
    # mean by category (debt, tax and the terminal value included) sums, over the
    # categories but those, to the yearly mean net cash
    categories = sheet(path, "cash_flow_by_category").set_index(["strategy", "year (calendar year)"])
    assert {f"{c}_usd (USD)" for c in left_out} <= set(categories.columns)
    total = categories[[c for c in categories.columns if c.endswith("(USD)")
                        and c.removesuffix("_usd (USD)") not in left_out]].sum(axis=1)
    assert total.loc[yearly.index].to_numpy() == pytest.approx(
        yearly["mean_usd (USD)"].to_numpy(), rel=1e-9, abs=1e-3)


def test_every_number_and_true_false_of_the_strategies_sheet_names_its_unit(real_run):
    _, run_dir = real_run
    table = sheet(run_dir / "comparison.xlsx", "strategies")
    valued = [c for c in table.columns if table[c].map(
        lambda v: isinstance(v, (bool, int, float)) and v == v).any()]
    assert {"mean (USD)", "diff_std (USD)", "terminal_value_pv_mean (USD)",
            "best_in_scenario (true/false)"} <= set(valued)
    assert [c for c in valued if not c.endswith(")")] == []


def test_units_come_from_the_column_names():
    assert unit_of("npv_usd") == "USD" and unit_of("irr") == "fraction per year"
    assert unit_of("payback_years") == "years" and unit_of("curtailed_mwh") == "MWh"
    assert unit_of("mw_converted") == "MW" and unit_of("tenant_mw_it_rejected") == "MW"
    assert unit_of("mean", "min_dscr") == "times" and unit_of("mean", "npv_usd") == "USD"
    assert unit_of("p_negative") == "fraction" and unit_of("strategy") == ""
    frame = with_units(pd.DataFrame(columns=["strategy", "npv_usd", "payback_years"]))
    assert list(frame.columns) == ["strategy", "npv_usd (USD)", "payback_years (years)"]


def test_a_workbook_path_must_end_in_xlsx(real_run, tmp_path, capsys):
    _, run_dir = real_run
    assert main([str(run_dir), "--out", str(tmp_path / "out"), "--xlsx",
                 str(tmp_path / "book.csv")]) == 2
    assert "--xlsx" in capsys.readouterr().err and not (tmp_path / "book.csv").exists()
    assert not (tmp_path / "out").exists()  # refused before anything is written
    with pytest.raises(UserError, match="ending in .xlsx"):
        workbook_path(tmp_path, "x.txt")
    assert workbook_path(tmp_path, "") == tmp_path / "comparison.xlsx"


def test_a_workbook_folder_that_cannot_be_made_is_refused_before_anything_is_written(
        real_run, tmp_path, capsys):
    _, run_dir = real_run
    taken = tmp_path / "taken"
    taken.write_text("a file, where the workbook's folder would be")
    assert main([str(run_dir), "--out", str(tmp_path / "out"), "--xlsx",
                 str(taken / "book.xlsx")]) == 2
    err = capsys.readouterr().err
    assert err == (f"hashpivot-compare: error: --xlsx's folder={taken}: exists and is not a "
                   "directory\n")
    assert not (tmp_path / "out").exists()  # the comparison waits for a workbook it can write
