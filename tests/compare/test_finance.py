"""Financing in the comparison (#10): equity and DSCR metrics, the report's Financing
section, comparison.csv's financing columns, and runs made before financing existed."""

import base64
import io
import re

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import yaml

from sim.compare import compare_runs, finance, plots
from sim.compare import main as compare_main
from sim.compare.analysis import analyse
from sim.compare.load import load_runs
from sim.compare.page import fmt
from sim.compare.pipeline import draw_financing
from sim.compare.plots import axis_unit, metric_name
from sim.compare.stats import higher_is_better


def _section(run) -> str:
    text = (run / "report.html").read_text(encoding="utf-8")
    return text[text.index('<h2 id="financing">'):text.index('<h2 id="configuration">')]


def test_the_financing_categories_are_the_contracts_five():
    assert set(finance.FINANCING_CATEGORIES) == {"debt_draw", "interest", "principal",
                                                 "fees", "tax"}
    assert len(finance.FINANCING_CATEGORIES) == 5


def test_unlevered_cash_leaves_the_financing_categories_out(tmp_path, run_factory,
                                                            financing_factory):
    plain = run_factory(tmp_path / "plain", replications=8)
    financed = financing_factory(run_factory(tmp_path / "financed", replications=8))
    flows = pd.read_parquet(financed / "cashflows.parquet")
    debt = flows[flows["category"].isin(finance.FINANCING_CATEGORIES)]
    assert set(debt["strategy"]) == {"phased", "convert_all"} and debt["usd"].abs().sum() > 0
    before, after = analyse(load_runs([plain])), analyse(load_runs([financed]))
    assert before.cash.keys() == after.cash.keys()
    for key, wide in before.cash.items():
        pd.testing.assert_frame_equal(after.cash[key], wide)
    table = after.table.set_index("strategy")
    assert table["incremental_irr"].equals(before.table.set_index("strategy")["incremental_irr"])


def _by_hand(summary: pd.DataFrame, strategy: str) -> dict:
    rows = summary[summary["strategy"] == strategy]
    dscr = rows["min_dscr"].dropna().to_numpy()
    return {"min_dscr_p5": np.percentile(dscr, 5) if dscr.size else np.nan,
            "min_dscr_p50": np.median(dscr) if dscr.size else np.nan,
            "covenant_breach_share": rows["covenant_breached"].sum() / len(rows),
            "equity_npv_mean_usd": rows["equity_npv_usd"].sum() / len(rows),
            # the median of the worlds that define it, where they are at least half
            "equity_irr_median": np.median(rows["equity_irr"].dropna()) if
            rows["equity_irr"].notna().mean() >= 0.5 else np.nan,
            "peak_equity_mean_usd": rows["peak_equity_usd"].mean(),
            "npv_after_tax_mean_usd": rows["npv_after_tax_usd"].mean()}


def test_comparison_csv_carries_each_strategys_financing_figures(financed):
    run, _ = financed
    summary = pd.read_parquet(run / "summary.parquet")
    csv = pd.read_csv(run / "comparison.csv").set_index("strategy")
    assert list(csv.columns[-len(finance.CSV_COLUMNS):]) == list(finance.CSV_COLUMNS)
    for strategy in ("stay_mining", "phased", "convert_all"):
        for column, value in _by_hand(summary, strategy).items():
            assert csv.loc[strategy, column] == pytest.approx(value, rel=1e-12, nan_ok=True)
    assert 0 < csv.loc["phased", "covenant_breach_share"] < 1  # the data breaches sometimes
    assert np.isnan(csv.loc["stay_mining", "min_dscr_p5"])
    assert csv.loc["stay_mining", "covenant_breach_share"] == 0


def test_report_shows_terms_cover_breach_and_equity_beside_unlevered(financed):
    run, _ = financed
    summary = pd.read_parquet(run / "summary.parquet")
    section = _section(run)
    for key in ("debt.loan_to_cost", "covenant.min_dscr", "cost_of_equity", "tax.state_rate"):
        assert f"<td>finance.{key}</td>" in section
    assert "<td>sculpted</td>" in section and "<td>0.0775</td>" in section
    rows = re.findall(r"<tr>\s*<td>default</td>\s*<td>([^<]+)</td>(.*?)</tr>", section, re.S)
    cells = {name: re.findall(r"<td(?: class=\"num\")?>([^<]*)</td>", rest) for name, rest in rows}
    for strategy in ("stay_mining", "phased", "convert_all"):
        hand = _by_hand(summary, strategy)
        npv = summary.loc[summary["strategy"] == strategy, "npv_usd"].mean()
        assert cells[strategy] == [
            fmt(hand["min_dscr_p5"], "dscr"), fmt(hand["min_dscr_p50"], "dscr"),
            fmt(hand["covenant_breach_share"], "share"),
            fmt(hand["equity_npv_mean_usd"], "x_usd"), fmt(hand["equity_irr_median"], "irr"),
            fmt(npv, "x_usd"), fmt(hand["npv_after_tax_mean_usd"], "x_usd"),
            fmt(hand["peak_equity_mean_usd"], "x_usd")]
    assert cells["stay_mining"][:2] == ["–", "–"]


def test_an_equity_irr_undefined_in_most_worlds_is_left_blank_and_the_report_says_why(
        tmp_path, run_factory, financing_factory):
    run = financing_factory(run_factory(tmp_path / "run", replications=20))
    summary = pd.read_parquet(run / "summary.parquet")
    worlds = summary["replication"].to_numpy()
    # stay_mining defines its equity IRR in 9 of 20 worlds, phased in 10 (exactly half)
    stay = (summary["strategy"] == "stay_mining").to_numpy()
    summary.loc[stay, "equity_irr"] = np.where(worlds[stay] < 9, 0.05 + 0.01 * worlds[stay], np.nan)
    half = (summary["strategy"] == "phased").to_numpy() & (worlds >= 10)
    summary.loc[half, "equity_irr"] = np.nan
    summary.to_parquet(run / "summary.parquet")
    compare_runs(run)
    csv = pd.read_csv(run / "comparison.csv").set_index("strategy")
    assert np.isnan(csv.loc["stay_mining", "equity_irr_median"])
    phased = summary.loc[(summary["strategy"] == "phased") & (worlds < 10), "equity_irr"]
    assert csv.loc["phased", "equity_irr_median"] == pytest.approx(np.median(phased), rel=1e-12)
    assert csv.loc["convert_all", "equity_irr_median"] == pytest.approx(
        summary.loc[summary["strategy"] == "convert_all", "equity_irr"].median(), rel=1e-12)
    # the other figures of stay_mining are still there
    assert csv.loc["stay_mining", "equity_npv_mean_usd"] == pytest.approx(
        summary.loc[summary["strategy"] == "stay_mining", "equity_npv_usd"].mean(), rel=1e-12)
    text = " ".join(_section(run).split())
    assert ("The median equity IRR (equity_irr_median) is left blank for stay_mining: its "
            "equity_irr is undefined in 55% of its worlds") in text
    assert "left blank for phased" not in text and "left blank for convert_all" not in text


def test_dscr_fan_is_drawn_without_the_strategies_that_carry_no_debt(financed):
    run, comparison = financed
    assert run / "plots" / "dscr.png" in comparison.plots
    images = re.findall(r'src="([^"]+)"', _section(run))
    assert len(images) == 1
    data = base64.b64decode(images[0].removeprefix("data:image/png;base64,"), validate=True)
    assert data == (run / "plots" / "dscr.png").read_bytes()
    assert matplotlib.image.imread(io.BytesIO(data), format="png").shape[0] > 50
    assert "stay_mining carries no debt in any sampled world" in _section(run)
    paths, undebted = finance.dscr_paths(comparison.runset, "default")
    assert list(paths) == ["phased", "convert_all"] and undebted == ["stay_mining"]
    # Independent truth: each month's quantiles over the worlds with a DSCR that month.
    timeline = pd.read_parquet(run / "timeline.parquet")
    phased = timeline[timeline["strategy"] == "phased"]
    fan = finance.dscr_fan(paths["phased"])
    for month, part in phased.groupby("month"):
        values = part["dscr"].dropna().to_numpy()
        expected = np.percentile(values, [5, 25, 50, 75, 95]) if values.size else [np.nan] * 5
        np.testing.assert_allclose(fan.loc[month].to_numpy(float), expected, rtol=1e-12)
    assert fan.iloc[:6].isna().all().all() and fan.iloc[6:].notna().all().all()
    config = yaml.safe_load((run / ".hydra" / "config.yaml").read_text())
    assert finance.covenant_dscr(comparison.runset.runs[0]) == \
        config["finance"]["covenant"]["min_dscr"]


def test_each_strategy_has_the_colour_in_the_dscr_chart_that_it_has_in_the_ecdf(financed):
    run, _ = financed
    runset = load_runs([run])
    (_, fan), = draw_financing(runset, None).figures  # stay_mining has no debt: not drawn
    medians = {ax.get_title(): [line.get_color() for line in ax.get_lines()
                                if line.get_label() == "median"] for ax in fan.axes}
    values = {label: part["npv_usd"].to_numpy(float)
              for label, part in runset.summary.groupby("label", sort=False)}
    ecdf = plots.ecdf(values, "npv_usd", "ECDF", None)
    colours = {line.get_label(): line.get_color() for line in ecdf.axes[0].get_lines()}
    assert list(values) == ["stay_mining", "phased", "convert_all"]
    assert medians == {"phased": [colours["phased"]], "convert_all": [colours["convert_all"]]}
    assert colours["phased"] != colours["convert_all"]


def test_the_log_counts_every_plot_written_the_dscr_fan_included(tmp_path, run_factory,
                                                                 financing_factory, caplog):
    run = financing_factory(run_factory(tmp_path / "run", replications=8))
    with caplog.at_level("INFO", logger="sim.compare.pipeline"):
        compare_runs(run)
    written = sorted(p.name for p in (run / "plots").glob("*.png"))
    assert "dscr.png" in written
    counted = re.findall(r"report and (\d+) plot\(s\) written", caplog.text)
    assert counted == [str(len(written))]


def test_runs_made_before_financing_render_without_the_section(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", replications=6)
    comparison = compare_runs(run)
    text = re.sub(r'src="[^"]*"', "", (run / "report.html").read_text(encoding="utf-8"))
    assert 'id="financing"' not in text and "DSCR" not in text and "equity" not in text
    assert not (run / "plots" / "dscr.png").exists()
    csv = pd.read_csv(run / "comparison.csv")
    assert not set(finance.CSV_COLUMNS) & set(csv.columns)
    assert not finance.has_financing(comparison.runset)


def test_old_and_financed_runs_compare_together(tmp_path, run_factory, financing_factory):
    old = run_factory(tmp_path / "old", ("stay_mining", "phased"), replications=6)
    new = financing_factory(run_factory(tmp_path / "new", ("convert_all",), replications=6))
    comparison = compare_runs([old, new], out=tmp_path / "out")
    terms = finance.terms_table(comparison.runset).set_index("term")
    assert list(terms.columns) == ["meaning", "old", "new"]
    assert terms.loc["finance.debt.loan_to_cost", "old"] == "–"
    assert terms.loc["finance.debt.loan_to_cost", "new"] == "0.8"
    table = comparison.table.set_index("strategy")
    assert np.isnan(table.loc["phased", "equity_npv_mean_usd"])
    assert table.loc["convert_all", "min_dscr_p5"] > 1
    assert 'id="financing"' in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("metric", ["equity_npv_usd", "npv_after_tax_usd",
                                    "peak_equity_usd", "covenant_breached"])
def test_each_financing_metric_gets_the_paired_statistics(financed, metric):
    run, _ = financed
    table = analyse(load_runs([run], metric), metric).table.set_index("strategy")
    wide = pd.read_parquet(run / "summary.parquet").pivot(
        index="replication", columns="strategy", values=metric).astype(float)
    for strategy in ("phased", "convert_all"):
        d = wide[strategy] - wide["stay_mining"]
        assert table.loc[strategy, "paired"] and table.loc[strategy, "n_pairs"] == len(d)
        assert table.loc[strategy, "diff_mean"] == pytest.approx(d.mean(), rel=1e-9, abs=1e-12)
        assert table.loc[strategy, "diff_std"] == pytest.approx(d.std(), rel=1e-9, abs=1e-12)
        wins = -d if metric in ("peak_equity_usd", "covenant_breached") else d
        beats = ((wins > 0) + 0.5 * (wins == 0)).mean()  # a tie counts half
        assert table.loc[strategy, "p_beats_baseline"] == pytest.approx(beats)
    assert table.loc["stay_mining", "mean"] == pytest.approx(wide["stay_mining"].mean())


def test_dscr_and_equity_irr_compare_among_strategies_with_debt(tmp_path, run_factory,
                                                                financing_factory):
    run = financing_factory(run_factory(tmp_path / "run", ("phased", "convert_all"),
                                        replications=12))
    code = compare_main([str(run), "--metric", "min_dscr", "--out", str(tmp_path / "out")])
    assert code == 0
    table = pd.read_csv(tmp_path / "out" / "comparison.csv").set_index("strategy")
    wide = pd.read_parquet(run / "summary.parquet").pivot(
        index="replication", columns="strategy", values="min_dscr")
    assert table.loc["convert_all", "diff_mean"] == pytest.approx(
        (wide["convert_all"] - wide["phased"]).mean())
    irr = analyse(load_runs([run], "equity_irr"), "equity_irr").table
    assert irr["n"].tolist() == [12, 12]


def test_dscr_beside_a_strategy_without_debt_is_refused_in_one_line(financed, tmp_path, capsys):
    run, _ = financed
    code = compare_main([str(run), "--metric", "min_dscr", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert "min_dscr: undefined (NaN) for stay_mining in 100% of its worlds" in err
    # ... and the line says how to leave it out; doing so compares the others.
    others = err.split("--strategies=")[1].rstrip(")")
    assert "stay_mining" not in others
    code = compare_main([str(run), "--metric", "min_dscr", "--strategies", others,
                         "--out", str(tmp_path / "o")])
    assert code == 0
    table = pd.read_csv(tmp_path / "o" / "comparison.csv")
    assert set(table["strategy"]) == set(others.split(","))


def test_strategies_not_in_the_run_are_named_in_one_line(financed, tmp_path, capsys):
    run, _ = financed
    code = compare_main([str(run), "--strategies", "nope", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--strategies=nope: not among the strategies that ran" in err


@pytest.mark.parametrize("metric", ["equity_npv", "dscr"])
def test_an_unknown_metric_is_still_one_line(financed, tmp_path, capsys, metric):
    run, _ = financed
    code = compare_main([str(run), "--metric", metric, "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert f"metric {metric!r} is not a numeric column" in err and "equity_npv_usd" in err


def test_a_financing_metric_of_an_old_run_is_one_line(tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", replications=4)
    code = compare_main([str(run), "--metric", "equity_npv_usd", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "'equity_npv_usd' is not" in err


@pytest.mark.parametrize("metric, value, text", [
    ("equity_npv_usd", -2.46e6, "−$2.5M"), ("peak_equity_usd", 140e6, "$140.0M"),
    ("npv_after_tax_usd", 1.5e9, "$1,500.0M"), ("equity_irr", 0.1934, "19.3%"),
    ("min_dscr", 1.2449, "1.24x"), ("dscr", 0.9, "0.90x"),
    ("covenant_breached", 0.35, "35.0%"), ("covenant_breach_share", 0.05, "5.0%")])
def test_financing_metrics_are_shown_in_their_units(metric, value, text):
    assert fmt(value, metric) == text


def test_financing_metrics_have_names_axes_and_a_direction():
    assert [metric_name(m) for m in finance.SUMMARY_COLUMNS] == [
        "equity NPV", "equity IRR", "minimum DSCR", "covenant breach", "peak equity",
        "after-tax NPV"]
    assert axis_unit("equity_npv_usd") == ("equity NPV (USD millions)", 1e-6)
    assert axis_unit("equity_irr") == ("equity IRR (% per year)", 100.0)
    assert axis_unit("irr") == ("IRR (% per year)", 100.0)
    label, scale = axis_unit("min_dscr")
    assert label.startswith("minimum DSCR (×") and scale == 1.0
    assert axis_unit("covenant_breached")[1] == 1.0
    lower = {m for m in finance.SUMMARY_COLUMNS if not higher_is_better(m)}
    assert lower == {"peak_equity_usd", "covenant_breached"}


def test_financing_without_debt_draws_no_fan_and_says_why(tmp_path, run_factory,
                                                         financing_factory):
    run = financing_factory(run_factory(tmp_path / "run", ("stay_mining", "phased"),
                                        replications=4), debt=())
    section = draw_financing(load_runs([run]), tmp_path)
    assert section.figures == [] and not list(tmp_path.glob("*.png"))
    # (the synthetic stay_mining has no IRR in any world, the phased one in every world)
    assert section.notes == [
        "The median equity IRR (equity_irr_median) is left blank for stay_mining: its "
        "equity_irr is undefined in every one of its worlds (no one rate has the NPV of its "
        "cash to equity positive below it and negative above).",
        "No strategy carries debt in any sampled world (stay_mining, phased): there is no "
        "DSCR to chart."]
    assert section.table["covenant_breach_share"].tolist() == [0.0, 0.0]
    assert section.table["min_dscr_p5"].isna().all()


def test_runs_that_kept_only_their_summary_say_the_dscr_is_not_drawn(tmp_path, run_factory,
                                                                      financing_factory):
    run = financing_factory(run_factory(tmp_path / "run", replications=4, detail="summary"))
    section = draw_financing(load_runs([run]), tmp_path)
    assert section.figures == [] and "DSCR over time is not drawn" in section.notes[-1]
    assert section.table.set_index("strategy").loc["phased", "min_dscr_p5"] > 1


def test_the_verdict_tells_lenders_how_often_the_recommended_strategy_breaks_its_covenant(
        tmp_path, run_factory, financing_factory, compared):
    """A lender reads the covenant breaches, the low tail of the cover and the equity's peak
    first; they sat in the financing section only (an audit of the default report)."""
    from sim.compare import compare_runs

    run = financing_factory(run_factory(tmp_path / "run", ("stay_mining", "phased"),
                                        replications=20, effects={"phased": 2e9}))
    comparison = compare_runs([run])
    hand = _by_hand(pd.read_parquet(run / "summary.parquet"), "phased")
    assert comparison.verdict.startswith("Recommended: phased")
    assert 0 < hand["covenant_breach_share"] < 1
    assert (f"For lenders: phased's debt breaks its minimum DSCR of 1.20 in "
            f"{fmt(hand['covenant_breach_share'], 'share')} of sampled worlds; the lowest cover in a "
            f"world is {hand['min_dscr_p5']:.2f} or less in 5% of them (median "
            f"{hand['min_dscr_p50']:.2f}), and its equity at its peak averages "
            f"{fmt(hand['peak_equity_mean_usd'], 'npv_usd')} (Financing, below).") in comparison.verdict
    assert "For lenders" not in compared[1].verdict  # no financing, no line
