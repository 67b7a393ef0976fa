"""sim.compare on in-memory results: the command line's tables and the report's figures, no file."""

import html
import io
import os

import pandas as pd
import pytest
from matplotlib.figure import Figure

import sim
from sim.compare import Notebook, compare_results
from sim.compare import main as compare_main
from sim.errors import UserError


def test_in_memory_comparison_equals_the_command_line_and_writes_nothing(real_run, tmp_path,
                                                                         monkeypatch):
    result, run_dir = real_run
    monkeypatch.chdir(tmp_path)
    comparison = sim.compare(result)
    assert isinstance(comparison, Notebook)
    assert os.listdir(tmp_path) == []  # nothing written, not even plots
    # the table is comparison.csv's, to the last digit a CSV keeps; only the run's name differs
    written = pd.read_csv(run_dir / "comparison.csv")
    ours = pd.read_csv(io.StringIO(comparison.table.to_csv(index=False)))
    assert set(ours["run"]) == {"result_1"} and set(written["run"]) == {str(run_dir)}
    pd.testing.assert_frame_equal(ours.drop(columns="run"), written.drop(columns="run"))
    assert comparison.best == written.loc[written["best_in_scenario"], "strategy"].iloc[0]
    assert list(comparison.paired["strategy"]) == ["convert_all"]
    assert html.escape(comparison.verdict.splitlines()[0]) in (run_dir / "report.html").read_text()
    # the report's figures, as open Figures, named as the files of plots/
    assert set(comparison.figures) == {p.stem for p in (run_dir / "plots").glob("*.png")}
    assert all(isinstance(f, Figure) for f in comparison.figures.values())
    yearly = comparison.cash_flow_yearly
    assert set(yearly["strategy"]) == {"stay_mining", "convert_all"}


def test_two_results_on_the_same_worlds_pair_and_options_pass_through(real_run):
    result, _ = real_run
    alone = sim.compare.compare_results(result, figures=False)
    stay = result.summary[result.summary["strategy"] == "stay_mining"]
    other = sim.Result(**{**vars(result), "summary": stay})
    both = compare_results(result, other, names=["a", "b"], baseline="convert_all",
                           figures=False)
    assert both.figures == {} and alone.figures == {}
    table = both.table.set_index("strategy")
    assert table.loc["stay_mining", "baseline"] == "convert_all"
    assert table.loc["stay_mining", "paired"]


def test_figures_are_kept_in_the_notebook_not_left_open_in_pyplot(real_run):
    import matplotlib.pyplot as plt

    result, _ = real_run
    before = len(plt.get_fignums())
    comparison = sim.compare(result, strategies="stay_mining,convert_all")  # as on the CLI
    assert comparison.figures and len(plt.get_fignums()) == before
    assert set(comparison.table["strategy"]) == {"stay_mining", "convert_all"}
    buffer = io.BytesIO()  # a closed figure still draws
    next(iter(comparison.figures.values())).savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_bad_input_is_a_user_error(real_run):
    result, _ = real_run
    with pytest.raises(UserError, match="confidence='0.9': a number between 0 and 1"):
        sim.compare(result, confidence="0.9", figures=False)
    with pytest.raises(UserError, match="confidence=1.5: a number between 0 and 1"):
        sim.compare(result, confidence=1.5, figures=False)  # was a bare ValueError
    with pytest.raises(UserError, match="delta=-1: an indifference zone > 0"):
        sim.compare(result, delta=-1, figures=False)
    with pytest.raises(UserError, match="names='a': a list of names"):
        sim.compare(result, names="a", figures=False)
    with pytest.raises(UserError, match="no result"):
        sim.compare()
    with pytest.raises(UserError, match="sim.Result"):
        sim.compare("outputs/run")
    with pytest.raises(UserError, match="distinct names"):
        sim.compare(result, result, names=["a", "a"])
    with pytest.raises(UserError, match="metric 'nope'"):
        sim.compare(result, metric="nope", figures=False)


UNDEFINED_IRR = ("undefined (NaN) for stay_mining in 100% of its worlds; it can be compared only "
                 "when every strategy defines it in at least half of its worlds (choose a metric "
                 "such as npv_usd, or leave stay_mining out with {})")


@pytest.mark.parametrize("options, flags, python, command_line", [
    (dict(baseline="nope"), ["--baseline", "nope"], "baseline='nope'", "--baseline=nope"),
    (dict(strategies=["nope", "convert_all"]), ["--strategies", "nope,convert_all"],
     "strategies=['nope']", "--strategies=nope"),
    (dict(metric="irr"), ["--metric", "irr"], "metric='irr'", "--metric=irr"),
])
def test_errors_name_the_keyword_and_the_command_line_its_flag(real_run, tmp_path, capsys, options,
                                                               flags, python, command_line):
    """sim.compare's lines named hashpivot-compare's flags ("choose one with --baseline",
    "--strategies nope", "--metric irr ... --strategies convert_all"), never typed in Python."""
    result, run_dir = real_run
    says = {"baseline": ": not among the strategies compared; one of stay_mining, convert_all",
            "strategies": ": not among the strategies that ran (stay_mining, convert_all)",
            "metric": ": " + UNDEFINED_IRR}[next(iter(options))]  # stay_mining invests nothing: no IRR
    with pytest.raises(UserError) as refused:
        sim.compare(result, figures=False, **options)
    assert str(refused.value) == python + says.format("strategies=['convert_all']")
    assert compare_main([str(run_dir), *flags, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"hashpivot-compare: error: {command_line}"
                                       f"{says.format('--strategies=convert_all')}\n")


def test_a_metric_not_in_a_results_summary_names_the_result_not_a_file(real_run):
    """An in-memory Result has no summary.parquet: the line named result_1/summary.parquet."""
    result, _ = real_run
    with pytest.raises(UserError, match=r"^metric 'npv_eur' is not a numeric column of "
                                        r"result_1's summary; choose one of: npv_usd, "):
        sim.compare(result, metric="npv_eur", figures=False)
    with pytest.raises(UserError, match=r"of mine's summary; "):
        sim.compare(result, metric="npv_eur", names=["mine"], figures=False)
