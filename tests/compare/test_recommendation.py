"""The verdict's recommendation: the best mean over every replication, a confidence that
the rest of the report does not contradict, and a baseline for a sweep of one strategy."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.compare import compare_runs, main
from sim.compare.robustness import COLUMNS as ROBUSTNESS_COLUMNS

WORLDS = 300
#: The months of the synthetic runs (conftest.MONTHS).
MONTHS = 36


def with_npv(run, npv: dict):
    """Give the synthetic run at `run` the NPVs `npv` ({strategy: one per world}); return it."""
    summary = pd.read_parquet(run / "summary.parquet")
    for strategy, values in npv.items():
        summary.loc[summary["strategy"] == strategy, "npv_usd"] = values
    summary.to_parquet(run / "summary.parquet")
    return run


def test_the_recommendation_is_the_best_mean_over_every_replication(tmp_path, run_factory):
    """Kim–Nelson stopped after its first 20 replications, where threshold led, and the
    verdict named threshold "the best mean NPV" while build_to_suit beat it by $32.7M
    (95% CI 13.5 to 51.8) over all 300, and the paired Bonferroni test beside it gave 0.0%."""
    run = run_factory(tmp_path / "run", ("threshold", "build_to_suit"), replications=WORLDS,
                      detail="summary")
    rng = np.random.default_rng(8)
    base = rng.normal(7e8, 2e8, WORLDS)
    edge = np.where(np.arange(WORLDS) < 20, -5e6, 40e6) + rng.normal(0, 1e6, WORLDS)
    with_npv(run, {"threshold": base, "build_to_suit": base + edge})
    comparison = compare_runs(run, baseline="threshold", delta=1e8)
    means = pd.read_parquet(run / "summary.parquet").groupby("strategy")["npv_usd"].mean()
    assert means.idxmax() == "build_to_suit"
    lines = comparison.verdict.splitlines()
    assert lines[0].startswith(f"Recommended: build_to_suit, the best mean NPV "
                               f"(${means['build_to_suit'] / 1e6:,.1f}M), identified with 95%")
    assert comparison.table.set_index("strategy").loc["build_to_suit", "regret"] == 0
    # the one-look test in the same paragraph agrees: it beats threshold outright, with a
    # confidence no test on 300 worlds makes certain (its p-value rounds to 0: it said 100.0%)
    assert ">99.9% that build_to_suit beats every other outright" in lines[1]
    assert "100.0%" not in lines[1]
    page = (run / "report.html").read_text()  # the selection table's cells say the same
    selection = page[page.index("Selection of the best strategy"):]
    selection = selection[:selection.index("</table>")]
    assert selection.count('<td class="num">&gt;99.9%</td>') == 2 and "100.0%" not in selection
    assert "Against threshold, build_to_suit gains" in comparison.verdict
    wins = float(((edge > 0) + 0.5 * (edge == 0)).mean())  # every world differs: no ties
    short = -edge[edge < 0]  # the 20 worlds where it does worse: the risk P(beats) counts
    assert (f"beats it in {wins:.0%} of sampled worlds, a tie counted as half; where it does "
            f"worse, it falls short by ${short.mean() / 1e6:,.1f}M on average (at worst "
            f"${short.max() / 1e6:,.1f}M)." in comparison.verdict)
    row = comparison.table.set_index("strategy").loc["build_to_suit"]
    assert (row["shortfall_mean"], row["shortfall_worst"]) == pytest.approx((short.mean(), short.max()))


def test_a_sequential_stop_on_rare_differences_is_flagged(tmp_path, run_factory):
    """Variants of one strategy differ in few worlds: Kim–Nelson's first 20 differences
    were all zero, it stopped at once and named the worse one (15% of such runs, where it
    promised at most 5%)."""
    run = run_factory(tmp_path / "run", ("threshold", "build_to_suit"), replications=WORLDS,
                      detail="summary")
    base = np.random.default_rng(9).normal(7e8, 2e8, WORLDS)
    jumps = np.where((np.arange(WORLDS) >= 20) & (np.arange(WORLDS) % 10 == 5), 1e8, 0.0)
    with_npv(run, {"threshold": base, "build_to_suit": base + jumps})
    info = json.loads((run / "run.json").read_text())
    info["until_confident"] = {"confidence": 0.95, "reached": True, "best": "threshold",
                               "replications": WORLDS, "max_replications": WORLDS}
    (run / "run.json").write_text(json.dumps(info))
    config = run / ".hydra" / "config.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["run"]["indifference_usd"] = 5e6
    config.write_text(yaml.safe_dump(settings))
    comparison = compare_runs(run)
    assert comparison.best == "build_to_suit"
    assert comparison.verdict.splitlines()[0].startswith("Recommended: build_to_suit")
    line = next(line for line in comparison.verdict.splitlines()
                if line.startswith("run.until_confident"))
    assert "assumes nearly normal paired differences" in line
    assert ("first stage looks far from normal for build_to_suit and threshold (100% of the "
            "first 20 differences exactly zero)") in line


def sweep(root, factory, effects_usd):
    """Write a sweep of threshold's margin_below, job k adding effects_usd[k] to its cash."""
    for k, effect in enumerate(effects_usd):
        factory(root / str(k), ("threshold",), replications=30, detail="summary",
                overrides=[f"strategy.threshold.margin_below={0.33 + 0.02 * k:.2f}"],
                effects={"threshold": effect})
    return root


def test_a_sweep_of_one_strategy_has_its_first_variant_as_baseline(tmp_path, run_factory):
    """Three labelled variants ran, and the report said "Only one strategy ran (threshold):
    there is no baseline", its differences blank."""
    root = sweep(tmp_path / "sweep", run_factory, [0.0, 10e6, 20e6])
    comparison = compare_runs(root, out=tmp_path / "out")
    table = comparison.table.set_index("strategy")
    first = "threshold [margin_below=0.33]"
    assert list(table.index) == [first, "threshold [margin_below=0.35]",
                                 "threshold [margin_below=0.37]"]
    assert (table["baseline"] == first).all()
    assert "there is no baseline" not in comparison.verdict
    assert f"stay_mining did not run; {first} serves as the baseline." in comparison.verdict
    # the effect is spread evenly over the months and discounted at 10% a year
    present = sum(1.1 ** (-m / 12) for m in range(MONTHS)) / MONTHS
    assert table.loc["threshold [margin_below=0.37]", "diff_mean"] == pytest.approx(
        20e6 * present, rel=1e-9)
    assert table.loc["threshold [margin_below=0.35]", "p_beats_baseline"] == 1.0
    assert table.loc["threshold [margin_below=0.37]", "paired"]


def test_the_intervals_heading_says_their_confidence(tmp_path, run_factory):
    """With --confidence 0.8 the heading said "95% intervals" over 80% intervals."""
    run = run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=8)
    assert main([str(run), "--confidence", "0.8", "--out", str(tmp_path / "out")]) == 0
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<h3>Against the baseline (80% intervals;" in report
    assert "95% intervals" not in report


def test_the_verdict_speaks_of_the_strategies_compared(tmp_path, run_factory):
    """With --strategies, the verdict still reported the robustness of two strategies the
    comparison had left out, and the training of one it had left out."""
    run = run_factory(tmp_path / "run", ("stay_mining", "phased", "convert_all"),
                      replications=8)
    row = {column: 0.0 for column in ROBUSTNESS_COLUMNS}
    row.update(alternative="as run", overrides="", replications=8, strategy="phased",
               against="stay_mining", against_role="baseline", higher_mean="phased",
               verdict_holds=True)
    pd.DataFrame([row]).to_csv(run / "robustness.csv", index=False)
    info = json.loads((run / "run.json").read_text())
    info["policies"] = {"stay_mining": {"rule": "lsm", "tranche_blocks": 5}}
    (run / "run.json").write_text(json.dumps(info))
    comparison = compare_runs(run, out=tmp_path / "out", strategies=["phased", "convert_all"])
    said = [line for line in comparison.verdict.splitlines() if "Under other" in line]
    assert said == ["Under other assumptions: robustness.csv reruns phased against "
                    "stay_mining, which this comparison leaves out (--strategies); its table "
                    "is not shown."]
    assert "stay_mining in run converts" not in comparison.verdict
    assert 'id="robustness"' not in (tmp_path / "out" / "report.html").read_text()
