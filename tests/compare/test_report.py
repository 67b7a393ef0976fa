"""The written comparison: files, a self-contained report, and plots that decode."""

import base64
import html
import io
import json
import re
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import yaml

from sim.compare import compare_runs, main
from sim.compare.analysis import analyse
from sim.compare.load import load_runs
from sim.compare.report import render
from sim.compare.verdict import verdict
from sim.errors import UserError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Collects what a browser would fetch, and the order of the page's parts."""

    def __init__(self):
        super().__init__()
        self.sources, self.links, self.tags, self.scripts = [], [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs.get("id")))
        if "src" in attrs:
            self.sources.append(attrs["src"])
        if "href" in attrs:
            self.links.append(attrs["href"])
        self.scripts += tag == "script"


def parse(path):
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def decode(source):
    assert source.startswith("data:image/png;base64,")
    data = base64.b64decode(source.split(",", 1)[1], validate=True)
    assert data.startswith(PNG_SIGNATURE)
    image = matplotlib.image.imread(io.BytesIO(data), format="png")
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 50
    return image


def test_report_is_self_contained_and_its_images_decode(compared):
    run, _ = compared
    page = parse(run / "report.html")
    assert page.sources, "the report embeds its plots"
    for source in page.sources:
        decode(source)
    assert not page.scripts
    assert not [link for link in page.links if not link.startswith("#")]
    text = (run / "report.html").read_text()
    assert "http://" not in text and "https://" not in text
    assert "@import" not in text and "url(" not in text
    assert len(page.sources) == len(list((run / "plots").glob("*.png")))


def test_report_opens_with_the_verdict_then_plots_tables_and_config(compared):
    run, comparison = compared
    page = parse(run / "report.html")
    order = [tag for tag, _ in page.tags]
    verdict = page.tags.index(("div", "verdict"))
    assert verdict < order.index("img") < order.index("table")
    text = (run / "report.html").read_text()
    assert text.index('id="configuration"') > text.index("<table")
    assert "blocks_per_quarter" in text           # the resolved config is shown
    assert comparison.best in comparison.verdict.splitlines()[0]
    assert "Main risk" in comparison.verdict


def test_files_are_written_and_no_temporary_is_left(compared):
    run, _ = compared
    for name in ("comparison.csv", "report.html", "regret.csv", "dominance.csv",
                 "incremental_cashflows.csv", "sensitivity.csv"):
        assert (run / name).is_file()
    names = {p.name for p in (run / "plots").glob("*.png")}
    assert {"ecdf.png", "box.png", "cumulative_cash.png", "mw_by_state.png",
            "paired_difference.png", "tornado.png", "world.png"} <= names
    assert not list(run.rglob("*.tmp"))


def test_comparison_csv_holds_per_strategy_and_paired_columns(compared):
    run, comparison = compared
    table = pd.read_csv(run / "comparison.csv")
    for column in ("mean", "ci_low", "ci_high", "std", "p5", "p50", "p95", "p_negative",
                   "cvar5", "diff_mean", "diff_ci_low", "diff_ci_high", "p_beats_baseline",
                   "fsd_vs_baseline", "ssd_vs_baseline", "incremental_irr", "regret"):
        assert column in table
    rows = table.set_index("strategy")
    assert rows.loc["phased", "paired"]
    assert rows.loc["phased", "diff_ci_high"] - rows.loc["phased", "diff_ci_low"] < \
        rows.loc["phased", "unpaired_ci_width"]
    assert np.isnan(rows.loc["stay_mining", "diff_mean"])
    pd.testing.assert_frame_equal(table, comparison.table.astype(table.dtypes.to_dict()),
                                  check_exact=False)


def test_incremental_cash_flows_and_their_irr(compared):
    _, comparison = compared
    inc = comparison.analysis.incremental
    phased = inc[inc["strategy"] == "phased"]
    assert list(phased["year"]) == [2027, 2028, 2029]
    assert phased["mean_usd"].iloc[0] < 0
    rate = comparison.table.set_index("strategy").loc["phased", "incremental_irr"]
    assert 0 < rate < 10


def test_the_incremental_irr_of_a_start_within_a_month_discounts_as_the_ledger_does():
    """A run that starts on 26 June: July opens 5 days after day 0, as the NPV discounts it."""
    from sim.compare.cash import incremental

    months = pd.DatetimeIndex(["2026-06-26", *pd.date_range("2026-07-01", periods=12, freq="MS")])
    usd = np.zeros((2, 13))
    usd[:, 0], usd[:, 12] = -100.0, 110.0  # +110 in the month that opens (11 + 5/30) / 12 years on
    frame = pd.DataFrame(usd, columns=months)
    none = pd.DataFrame(np.zeros((2, 13)), columns=months)
    cash = {("s", "a"): frame, ("s", "b"): none}
    rows = incremental(cash, {key: none for key in cash}, "s", "a", "b", [])
    expected = 1.1 ** (12 / (11 + 5 / 30)) - 1
    assert rows["incremental_irr"] == pytest.approx(expected, abs=1e-12)
    assert rows["incremental_irr_median"] == pytest.approx(expected, abs=1e-12)


def test_the_cash_shown_leaves_out_the_terminal_value_and_the_irr_counts_it(compared):
    """The value at the horizon is booked in the last month: in the cash shown it would
    read as the last year's cash (a real run's convert_all: $1,443.5M in 2036, not $19.0M)."""
    run, comparison = compared
    flows = pd.read_parquet(run / "cashflows.parquet")
    worlds = flows["replication"].nunique()
    ends = flows["category"] == "terminal_value"
    cash = flows[~ends].groupby("strategy")["usd"].sum() / worlds  # mean over the horizon
    value = flows[ends].groupby("strategy")["usd"].sum() / worlds
    assert value["phased"] - value["stay_mining"] > 1e8  # large enough to tell the two apart
    inc = comparison.analysis.incremental.set_index(["strategy", "year"])
    assert inc.loc[("phased", 2029), "cumulative_mean_usd"] == pytest.approx(
        cash["phased"] - cash["stay_mining"], rel=1e-9)
    assert inc.loc[("phased", 2029), "cumulative_mean_usd"] < 0  # the cash alone loses
    # the cumulative cash plot's data: per world, the sum of every category but that one
    drawn = comparison.analysis.cash[("default", "phased")]
    assert drawn.sum(axis=1).mean() == pytest.approx(cash["phased"], rel=1e-9)
    # the IRR of the mean incremental cash counts it, as the NPV does: it prices that cash
    mean = {s: part.groupby("month")["usd"].sum().sort_index().to_numpy() / worlds
            for s, part in flows.groupby("strategy")}
    increment = mean["phased"] - mean["stay_mining"]
    rate = comparison.table.set_index("strategy").loc["phased", "incremental_irr"]
    months = np.arange(len(increment))
    assert increment @ (1 + rate) ** (-months / 12) == pytest.approx(0, abs=1e-3 * np.abs(
        increment).sum())


def test_sensitivity_finds_the_feature_that_drives_the_difference(compared):
    _, comparison = compared
    sens = comparison.analysis.sensitivity
    phased = sens[sens["strategy"] == "phased"].set_index("feature")["spearman_rho"]
    assert phased.abs().idxmax() == "lease_usd_per_kw_month_mean"
    assert phased["lease_usd_per_kw_month_mean"] > 0.5


def test_a_summary_only_single_strategy_run_still_reports(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("phased",), detail="summary")
    comparison = compare_runs(run)
    names = {p.name for p in (run / "plots").glob("*.png")}
    assert names == {"ecdf.png", "box.png", "world.png"}
    assert comparison.best == "phased"
    assert "Only phased ran" in comparison.verdict
    for source in parse(run / "report.html").sources:
        decode(source)


def test_a_metric_with_missing_values_is_compared(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased", "convert_all"))
    with pytest.raises(UserError, match="undefined .NaN. for stay_mining in 100% of its worlds"):
        compare_runs(run, out=tmp_path / "irr", metric="irr")  # stay_mining never defines it
    run = run_factory(tmp_path / "run2", ("phased", "convert_all"))
    comparison = compare_runs(run, out=tmp_path / "irr", metric="irr")
    table = comparison.table.set_index("strategy")
    assert (table["n"] == 40).all() and (table["undefined_share"] == 0).all()
    assert comparison.best in ("phased", "convert_all")
    assert (tmp_path / "irr" / "report.html").is_file()


def test_a_strategy_best_in_every_scenario_is_said_so_with_its_worst_tail_named(tmp_path,
                                                                                run_factory):
    for number, market in enumerate(("glut", "boom")):
        job = run_factory(tmp_path / "sweep" / str(number), ("stay_mining", "phased"),
                          market=[f"market/ai={market}"], effects={"phased": 2e9})
        pd.DataFrame({  # each job's verdict under other assumptions, as hashpivot writes it
            "alternative": ["as run", "terminal value: none"], "replications": [40, 40],
            "overrides": ["", "run.terminal_value=none"],
            "strategy": "phased", "against": "stay_mining", "against_role": "baseline",
            "strategy_npv_usd": [2e9, 1e8], "against_npv_usd": [1e8, 2e8 * (1 + number)],
            "diff_npv_usd": [1.9e9, 1e8 - 2e8 * (1 + number)], "diff_ci_low_usd": [1.8e9, -5e8],
            "diff_ci_high_usd": [2e9, 5e8], "p_strategy_beats": [1.0, 0.4],
            "higher_mean": ["phased", "stay_mining"], "verdict_holds": [True, False],
        }).to_csv(job / "robustness.csv", index=False)
    comparison = compare_runs([tmp_path / "sweep"], out=tmp_path / "out")
    regret = comparison.analysis.regret
    assert (regret.loc["phased", ["market/ai=glut", "market/ai=boom"]] == 0).all()
    lines = comparison.verdict.splitlines()
    assert lines[0] == ("Recommended across 2 scenarios: phased, the best strategy by "
                        "mean NPV in every one of them (no regret).")
    assert "trails" not in comparison.verdict
    table = comparison.table.set_index(["scenario", "strategy"])["cvar5"]
    worst = min(("market/ai=glut", "market/ai=boom"), key=lambda s: table[(s, "phased")])
    risk = next(line for line in lines if line.startswith("Main risk"))
    assert risk.startswith(f"Main risk of phased in scenario '{worst}' (where its worst 5% of "
                           f"worlds fare worst): ")
    # the runs are named by scenario, not by their folder numbers alone
    assert [line.split(":")[0] for line in lines if line.startswith("Under other")] == [
        "Under other assumptions (scenario 'market/ai=glut', 0)",
        "Under other assumptions (scenario 'market/ai=boom', 1)"]
    report = (tmp_path / "out" / "report.html").read_text()
    assert "Runs compared — scenario &#x27;market/ai=glut&#x27;, 0: seed" in report
    assert ("Verdict under other assumptions (mean NPV) — scenario &#x27;market/ai=boom&#x27;, "
            "1</h3>") in report


def test_market_scenarios_report_regret(tmp_path, run_factory):
    for number, market in enumerate(("glut", "boom")):
        run_factory(tmp_path / "sweep" / str(number), ("stay_mining", "phased"),
                    market=[f"market/ai={market}"])
    comparison = compare_runs([tmp_path / "sweep"], out=tmp_path / "out")
    regret = comparison.analysis.regret
    assert list(regret.columns[:2]) == ["market/ai=glut", "market/ai=boom"]
    assert (regret[["market/ai=glut", "market/ai=boom"]].min() == 0).all()
    assert comparison.best == regret["max_regret"].idxmin()
    assert (tmp_path / "out" / "plots" / "regret.png").is_file()
    assert "2 scenarios" in comparison.verdict.splitlines()[0]


def test_one_strategy_across_scenarios_is_not_recommended(tmp_path, run_factory):
    """Only phased compared, in two markets: nothing to weigh it against (it was
    'Recommended across 2 market scenarios: phased ... (no regret)')."""
    for number, market in enumerate(("glut", "boom")):
        run_factory(tmp_path / "sweep" / str(number), ("stay_mining", "phased"),
                    market=[f"market/ai={market}"])
    comparison = compare_runs([tmp_path / "sweep"], out=tmp_path / "out", strategies=["phased"])
    assert comparison.best is None
    assert comparison.verdict.splitlines()[0].startswith(
        "No recommendation across 2 scenarios: only phased ran in every scenario")


def test_cli_writes_the_comparison_and_explains_itself(tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"))
    assert main([str(run), "--out", str(tmp_path / "out"), "--baseline", "phased",
                 "--indifference", "5e6"]) == 0
    assert (tmp_path / "out" / "report.html").is_file()
    table = pd.read_csv(tmp_path / "out" / "comparison.csv").set_index("strategy")
    assert table.loc["stay_mining", "baseline"] == "phased"
    assert "$5.0M" in (tmp_path / "out" / "report.html").read_text()
    assert main(["--help"]) == 0
    assert "RUN_DIR" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["--confidence", "2", "x"],
                                  ["--indifference", "0", "x"]])
def test_cli_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_a_confidence_given_in_percent_is_named_with_the_share_it_means(capsys):
    assert main(["--confidence", "95", "x"]) == 2
    assert capsys.readouterr().err == ("hashpivot-compare: error: --confidence=95: must be between "
                                       "0 and 1, a share (0.95 for 95%)\n")


def test_strategies_none_of_a_runs_are_chosen_compare_the_others(tmp_path, run_factory, capsys):
    """A sweep over strategy=stay_mining,phased,convert_all compared with --strategies
    stay_mining,phased: the third run holds neither. Before, the worlds' figure read its
    scenario from no rows: IndexError, exit 1, new CSVs beside the earlier plots."""
    runs = [run_factory(tmp_path / name, (name,), replications=4)
            for name in ("stay_mining", "phased", "convert_all")]
    out = tmp_path / "out"
    assert main([*map(str, runs), "--out", str(out), "--strategies", "stay_mining,phased"]) == 0
    assert (out / "report.html").is_file() and list((out / "plots").glob("world*.png"))
    table = pd.read_csv(out / "comparison.csv")
    assert set(table["strategy"]) == {"stay_mining", "phased"}


@pytest.mark.parametrize("given", ["", ",", " , "])
def test_strategies_that_name_none_are_refused_not_read_as_all(given, tmp_path, run_factory,
                                                                capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=4)
    assert main([str(run), "--out", str(tmp_path / "out"), f"--strategies={given}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--strategies={given!r}: name at least one" in err
    assert not (tmp_path / "out").exists()


def test_ctrl_c_leaves_one_line_and_no_report(tmp_path, run_factory, capsys, monkeypatch):
    import matplotlib.figure

    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=4)
    assert main([str(run)]) == 0 and (run / "report.html").is_file()
    capsys.readouterr()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", interrupted)
    assert main([str(run)]) == 130
    assert capsys.readouterr().err == ("hashpivot-compare: interrupted; the comparison is "
                                       "unfinished and its report.html not written: rerun the "
                                       "same command\n")
    assert not (run / "report.html").exists()


def test_a_full_disk_while_plotting_is_one_line_and_no_report(tmp_path, run_factory, capsys,
                                                               monkeypatch):
    """Before: a 60-line traceback from PIL and matplotlib, exit 1."""
    import errno

    import matplotlib.figure

    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=4)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", disk_full)
    assert main([str(run)]) == 2
    assert capsys.readouterr().err == (f"hashpivot-compare: error: {run / 'plots'}: a plot cannot "
                                       "be written (No space left on device); the report was "
                                       "not written\n")
    assert not (run / "report.html").exists()


def test_an_earlier_comparisons_tables_never_stay_beside_a_new_one(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=4)
    out = tmp_path / "out"
    out.mkdir()
    for name in ("comparison.xlsx", "dominance.csv", "sensitivity.csv", "report.html"):
        (out / name).write_text("an earlier comparison's")
    compare_runs(run, out=out)
    assert not (out / "comparison.xlsx").exists()  # no --xlsx this time
    for name in ("dominance.csv", "sensitivity.csv", "report.html"):
        path = out / name
        assert not path.exists() or path.read_text() != "an earlier comparison's"


def _names(folder):
    return {p.name for p in folder.iterdir()}


def test_an_earlier_comparisons_plots_never_stay_beside_a_new_one(tmp_path, run_factory):
    """Before: a one-strategy comparison into the folder of a two-strategy one left the
    first's paired_difference.png and tornado.png beside its report."""
    both = run_factory(tmp_path / "both", ("stay_mining", "phased"), replications=4)
    alone = run_factory(tmp_path / "alone", ("stay_mining",), replications=4)
    out = tmp_path / "out"
    compare_runs(both, out=out)
    assert {"paired_difference.png", "tornado.png"} <= _names(out / "plots")
    (out / "plots" / "my_chart.png").write_bytes(b"the user's")  # not a comparison's plot
    (out / "plots" / "ecdf.png.bak").write_bytes(b"the user's")
    (out / "notes.txt").write_text("the user's")
    comparison = compare_runs(alone, out=out)
    names = _names(out / "plots")
    assert "paired_difference.png" not in names and "tornado.png" not in names
    drawn = {p.name for p in comparison.plots}
    assert names == drawn | {"my_chart.png", "ecdf.png.bak"}
    assert (out / "plots" / "my_chart.png").read_bytes() == b"the user's"
    assert (out / "notes.txt").read_text() == "the user's"


def test_strategies_compared_into_the_run_directory_leave_no_plot_of_the_others(
        tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=4)
    compare_runs(run)
    assert (run / "plots" / "tornado.png").is_file()
    comparison = compare_runs(run, strategies=["phased"])
    assert {p.name for p in (run / "plots").iterdir()} == {p.name for p in comparison.plots}


def test_every_plot_a_comparison_draws_is_one_it_removes(tmp_path, run_factory,
                                                        financing_factory):
    """The names `remove_comparison` recognises cover every plot: scenarios, worlds, DSCR."""
    from sim.rundir.comparison_files import is_plot

    runs = [financing_factory(run_factory(tmp_path / name, ("stay_mining", "phased"),
                                          replications=4, market=market, seed=seed))
            for name, market, seed in (("a", (), 1), ("b", ("market/ai=glut",), 2))]
    comparison = compare_runs(runs, out=tmp_path / "out")
    names = [p.name for p in comparison.plots]
    assert any(n.startswith("regret") for n in names) and any(n.startswith("dscr_") for n in names)
    assert any(n.startswith("world_") for n in names)
    assert all(is_plot(name) for name in names), names
    assert not is_plot("my_chart.png") and not is_plot("ecdf.png.bak") and not is_plot("ecdf.PNG")


@pytest.mark.parametrize("zone", ["inf", "nan", "-5e6"])
def test_an_indifference_zone_that_is_not_a_finite_positive_amount_is_refused(
        zone, tmp_path, run_factory, capsys):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=4)
    assert main([str(run), "--out", str(tmp_path / "out"), f"--indifference={zone}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--indifference={float(zone)}" in err
    assert "finite number > 0" in err and not (tmp_path / "out").exists()


def test_a_clear_winner_is_recommended_with_its_confidence(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", effects={"convert_all": 2e9})
    comparison = compare_runs(run)
    headline = comparison.verdict.splitlines()[0]
    assert headline.startswith("Recommended: convert_all")
    assert "95% Monte Carlo confidence (sampling error only, given the model's assumptions)" in headline
    assert comparison.selections["default"].confident
    assert comparison.table.set_index("strategy").loc["convert_all", "best_in_scenario"]


def test_the_report_names_rates_by_kind_and_shows_the_terminal_value_share(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "convert_all"), detail="summary")
    info = json.loads((run / "run.json").read_text())
    info["discount_rates"] = {"mining": 0.1, "contracted": 0.0725, "merchant_ai": 0.1}
    (run / "run.json").write_text(json.dumps(info))
    compare_runs(run)
    html = (run / "report.html").read_text()
    assert "discount rate 10%, terminal value" in html
    assert "rates by kind: mining 10%, contracted 7.25%, merchant_ai 10%" in html
    assert "terminal value / NPV" in html


# --- the verdict under other assumptions (robustness.csv, written by the command line) -------
def robustness_csv(run, against_role="baseline", holds=(True, True, False)):
    """Write a hand-made robustness.csv for `run` (phased against stay_mining)."""
    labels = ["as run", "terminal value: none", "horizon 20 years"]
    table = pd.DataFrame({
        "alternative": labels, "overrides": ["", "run.terminal_value=none", "run.horizon_years=20"],
        "replications": [40, 20, 20], "strategy": "phased", "against": "stay_mining",
        "against_role": against_role, "strategy_npv_usd": [30e6, 20e6, 5e6],
        "against_npv_usd": [10e6, 12e6, 9e6], "diff_npv_usd": [20e6, 8e6, -4e6],
        "diff_ci_low_usd": [15e6, 2e6, -9e6], "diff_ci_high_usd": [25e6, 14e6, -1e6],
        "p_strategy_beats": [0.9, 0.7, 0.3],
        "higher_mean": ["phased" if h else "stay_mining" for h in holds],
        "verdict_holds": list(holds)})
    table.to_csv(run / "robustness.csv", index=False)
    return table


def report_of(run):
    """Return (verdict lines, report HTML, analysis) of `run`, without drawing the plots."""
    runset = load_runs([run])
    analysis = analyse(runset, "npv_usd", None, 0.95, 5e6)
    lines = verdict(analysis, runset)
    return lines, render(analysis, runset, [], lines), analysis


def test_the_report_shows_the_robustness_table_beside_the_verdict(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=8)
    robustness_csv(run)
    lines, text, _ = report_of(run)
    assert any(line.startswith("Under other assumptions: phased against stay_mining on mean "
                               "NPV, each alternative rerun with the run's seed, both "
                               "strategies on the same worlds") for line in lines)
    assert lines[-1].endswith("The verdict changes under: horizon 20 years.")
    assert text.index('id="verdict"') < text.index('id="robustness"') < text.index('id="plots"')
    section = text[text.index('id="robustness"'):text.index('id="plots"')]
    for cell in ("terminal value: none", "horizon 20 years", "phased mean NPV",
                 "stay_mining mean NPV", "P(phased beats stay_mining)", "$30.0M", "−$4.0M",
                 "30.0%", "<td>no</td>", "<td>yes</td>"):
        assert cell in section, cell


def test_a_flip_within_the_noise_is_marked_in_the_table_and_the_sentence(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=8)
    table = robustness_csv(run)
    table.loc[2, "diff_ci_high_usd"] = 1e6  # the horizon row's interval now spans zero
    table.to_csv(run / "robustness.csv", index=False)
    lines, text, _ = report_of(run)
    assert lines[-1].endswith("No alternative reverses the verdict. Within the noise under: horizon "
                              "20 years (the difference's 95% interval spans zero: neither strategy "
                              "is shown to be ahead).")
    section = text[text.index('id="robustness"'):text.index('id="plots"')]
    assert "<td>not shown (within noise)</td>" in section and "<td>yes</td>" in section
    assert "<td>no (within noise)</td>" not in section and "yes (within noise)" not in section


def test_a_robust_verdict_and_a_runner_up_are_said_plainly(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=8)
    robustness_csv(run, against_role="runner-up", holds=(True, True, True))
    lines, _, _ = report_of(run)
    assert "The verdict holds under every alternative." in lines[-1]
    assert "(the runner-up: phased is the baseline itself)" in lines[-1]


def test_a_run_without_robustness_csv_has_no_robustness_section(compared):
    run, comparison = compared
    assert 'id="robustness"' not in (run / "report.html").read_text()
    assert "Under other assumptions" not in comparison.verdict


def test_the_terminal_values_share_is_one_sentence_when_the_table_has_it(tmp_path, run_factory):
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=8,
                      effects={"phased": 2e9})
    _, _, analysis = report_of(run)
    table = analysis.table
    analysis.table = table.assign(terminal_value_share=np.where(
        table["strategy"] == "phased", 0.62, 0.05))
    assert ("The terminal value (what the site is assumed to be worth at the horizon, discounted) "
            "makes up 62.0% of phased's and 5.0% of stay_mining's mean NPV.") in verdict(analysis, load_runs([run]))
    config_file = run / ".hydra" / "config.yaml"  # the method is named where the runs state it
    config = yaml.safe_load(config_file.read_text())
    config["run"].update(terminal_value="market", valuation={"cap_rate": 0.065})
    config_file.write_text(yaml.safe_dump(config))
    # each part of the site named: the baseline's share is often its mine's (it said only the
    # halls, and stay_mining, which has none, owed 35.9% of its NPV to "the AI halls")
    assert ("worth at the horizon, discounted; run.terminal_value=market: the AI halls at a year's "
            "forward net income over a 6.5% cap rate, the mine as a going concern, GPUs at "
            "resale) makes up 62.0%" in " ".join(verdict(analysis, load_runs([run]))))
    config["run"]["terminal_value"] = "contracted"
    config_file.write_text(yaml.safe_dump(config))
    assert ("discounted; run.terminal_value=contracted) makes up 62.0%"
            in " ".join(verdict(analysis, load_runs([run]))))
    analysis.table = table.assign(terminal_value_share=np.where(
        table["strategy"] == "phased", 1.25, 0.05))
    assert any(line.endswith("makes up 125.0% of phased's and 5.0% of stay_mining's mean NPV. Above "
                             "100%, the cash within the horizon, discounted, loses money on "
                             "average: phased rests on that value.") for line in verdict(analysis, load_runs([run])))


def test_the_pages_numbers_have_no_scientific_notation_and_years_no_separator(compared):
    run, _ = compared
    text = (run / "report.html").read_text(encoding="utf-8")
    cells = re.findall(r'<td class="num">([^<]*)</td>', text)
    assert cells and not [c for c in cells if re.search(r"\de[+-]\d", c)]
    assert '<td class="num">2027</td>' in text and "2,027" not in text
    for feature in ("btc_usd_mean", "lease_usd_per_kw_month_mean", "halving_day"):
        assert f"<td>{feature}</td>" not in text  # labels in words, never raw column names
    assert "<details>" in text  # the long tables folded



@pytest.mark.parametrize("detail", ["summary", "monthly"])
def test_a_run_without_monthly_tables_says_what_the_report_leaves_out(tmp_path, run_factory,
                                                                       detail):
    """Under run.detail=summary the cash and capacity plots were missing and the incremental
    IRR columns held only dashes, with no word why (the DSCR chart alone had its note)."""
    from sim.compare.report import NO_MONTHLY

    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=8,
                      detail=detail)
    _, text, _ = report_of(run)
    assert (html.escape(NO_MONTHLY) in text) == (detail == "summary")


def test_the_incremental_cash_table_lists_the_strategies_in_their_order(tmp_path, run_factory):
    """Its columns came in alphabetical order (build_to_suit, convert_all, phased, ...),
    unlike every other table of the report, which follows the run's strategies."""
    strategies = ("stay_mining", "threshold", "convert_all", "build_to_suit")
    run = run_factory(tmp_path / "run", strategies, replications=8)
    _, text, _ = report_of(run)
    section = text[text.index("Incremental net cash flow against the baseline"):]
    header = section[section.index("<tr>"):section.index("</tr>")]
    found = re.findall(r"<th>([^<]*)</th>", header)
    assert found == ["scenario", "year", *strategies[1:]]


def per_strategy_cells(text):
    """Return {strategy: {header: cell text}} of the report's per-strategy table."""
    section = text[text.index("Per-strategy statistics"):]
    section = section[:section.index("</table>")]
    headers = re.findall(r"<th>([^<]*)</th>", section)
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in section.split("<tr>")[2:]]
    return {row[headers.index("strategy")]: dict(zip(headers, map(html.unescape, row)))
            for row in rows}


def test_the_per_strategy_table_shows_each_strategys_mean_contract_value(tmp_path, run_factory):
    """summary.parquet's contract_value_usd (the rent of the contracts signed: the figure
    that ties a preset's run to its deal, core_scientific's $8.7B) was in no table of the
    report: a reader comparing a run with the deal had to read the parquet."""
    run = run_factory(tmp_path / "run", ("stay_mining", "phased", "convert_all"), replications=8)
    summary = pd.read_parquet(run / "summary.parquet")
    signed = (summary["strategy"] != "stay_mining").to_numpy()
    draws = np.random.default_rng(3).uniform(1e9, 9e9, len(summary))
    summary["contract_value_usd"] = np.where(signed, draws, 0.0)
    summary.to_parquet(run / "summary.parquet")
    cells = per_strategy_cells(report_of(run)[1])
    means = summary.groupby("strategy")["contract_value_usd"].mean()
    assert set(cells) == set(means.index)
    for strategy, mean in means.items():
        assert cells[strategy]["mean contract value"] == f"${mean / 1e6:,.1f}M"


@pytest.mark.parametrize("contracts", ["none signed", "not saved"])
def test_a_run_without_contracts_has_no_contract_column(tmp_path, run_factory, contracts):
    """Where no strategy signed a contract (stay_mining alone, or a run saved before the
    column), a column of $0.0M or dashes would say nothing."""
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=8)
    if contracts == "none signed":
        summary = pd.read_parquet(run / "summary.parquet")
        summary.assign(contract_value_usd=0.0).to_parquet(run / "summary.parquet")
    cells = per_strategy_cells(report_of(run)[1])
    assert "mean contract value" not in cells["phased"] and "mean" in cells["phased"]
