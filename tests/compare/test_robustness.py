"""The verdict under other assumptions: which alternatives, the paired table, the sentence, the CLI."""

import math

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import job
from sim.cli.job import execute
from sim.errors import UserError
from sim.executors import WorkerLost
from sim.compare.reruns import batches_of, rerun_npvs
from sim.compare.robustness import (AS_RUN, COLUMNS, alternatives, best_strategy, changed_under,
                            paired_row, rerun_config, robustness_pair, shifted_rates,
                            verdict_robustness, verdict_sentence, within_noise)
from sim.rundir import RunDir
from sim.schema import TERMINAL_VALUES

#: One deterministic world: stay_mining has the higher NPV under the default terminal value
#: (contracted) and convert_all under `multiple` (docs/model.md, "Terminal value").
BASE_CASE = ["strategy=[stay_mining,convert_all]", "run.deterministic=true",
             "run.replications=1", "run.progress=false", "run.detail=summary"]
#: The base case valued without a terminal value: mining wins, and a value at the horizon flips it.
NO_TERMINAL = BASE_CASE + ["run.terminal_value=none"]


def summary_of(npv: dict) -> pd.DataFrame:
    """Return a summary table with npv_usd per strategy, one value per replication."""
    return pd.DataFrame([{"strategy": s, "replication": r, "npv_usd": v}
                         for s, values in npv.items() for r, v in enumerate(values)])


def mean_npv(overrides) -> pd.Series:
    """Return mean NPV per strategy of a fresh run (an independent check on a rerun)."""
    return sim.run(sim.compose(overrides)).summary.groupby("strategy")["npv_usd"].mean()


# --- which strategies, which alternatives ---------------------------------------------------------
def test_best_is_the_highest_mean_and_the_baseline_is_stay_mining_or_the_first():
    summary = summary_of({"stay_mining": [1, 2], "phased": [5, 6], "convert_all": [3, 4]})
    assert best_strategy(summary) == "phased"
    assert robustness_pair(summary) == ("phased", "stay_mining", "baseline")
    no_stay = summary_of({"threshold": [0, 0], "phased": [5, 6]})
    assert robustness_pair(no_stay) == ("phased", "threshold", "baseline")


def test_when_the_best_is_the_baseline_it_is_compared_with_the_runner_up():
    summary = summary_of({"stay_mining": [9, 9], "phased": [5, 6], "convert_all": [7, 8]})
    assert robustness_pair(summary) == ("stay_mining", "convert_all", "runner-up")


def test_one_strategy_has_nothing_to_compare():
    assert robustness_pair(summary_of({"phased": [1, 2]})) is None


def test_a_strategy_alike_the_best_in_every_world_is_not_its_runner_up():
    """real_option that never converts equals stay_mining in every world: the rows compared
    the two (every difference 0, 'verdict holds: no' throughout) while the verdict named
    real_option (an audit). Alike strategies are one: the runner-up is the next that differs."""
    summary = summary_of({"stay_mining": [9, 7], "real_option": [9, 7], "convert_all": [5, 6]})
    assert robustness_pair(summary) == ("stay_mining", "convert_all", "runner-up")
    first = summary_of({"real_option": [9, 7], "stay_mining": [9, 7], "convert_all": [5, 6]})
    assert robustness_pair(first) == ("stay_mining", "convert_all", "runner-up")
    ahead = summary_of({"stay_mining": [1, 2], "real_option": [9, 7], "convert_all": [9, 7]})
    assert robustness_pair(ahead) == ("real_option", "stay_mining", "baseline")
    assert robustness_pair(summary_of({"stay_mining": [1, 2], "real_option": [1, 2]})) is None


def test_alternatives_are_every_other_terminal_value_both_horizons_and_rates_two_points_apart():
    cfg = sim.compose([])
    found = {a.label: a.overrides for a in alternatives(cfg)}
    others = [m for m in TERMINAL_VALUES if m != cfg.run.terminal_value]
    low, high = "discount rate 8% (contracted 5.5%)", "discount rate 12% (contracted 9.5%)"
    assert [a.label for a in alternatives(cfg)] == (
        [f"terminal value: {m}" for m in others]
        + ["horizon 15 years", "horizon 20 years", low, high, "cap rate 5%", "cap rate 9%"])
    assert found["cap rate 9%"] == {"run.valuation.cap_rate": 0.09}
    assert found["horizon 20 years"] == {"run.horizon_years": 20}
    assert found[low] == {"run.discount_rate": 0.08, "run.discount_rates.contracted": 0.055}
    assert found[high] == {"run.discount_rate": 0.12, "run.discount_rates.contracted": 0.095}
    at_15 = [a.label for a in alternatives(sim.compose(["run.horizon_years=15",
                                                        "run.discount_rate=0.075",
                                                        "run.discount_rates.contracted=null"]))]
    assert "horizon 15 years" not in at_15 and "horizon 20 years" in at_15
    assert at_15[-4:-2] == ["discount rate 5.5%", "discount rate 9.5%"]


@pytest.mark.parametrize("overrides, labels", [
    (["run.valuation.cap_rate=0.025"], ["cap rate 4.5%"]),  # 0.5% is below the schema's 1%
    (["run.valuation.cap_rate=0.99"], ["cap rate 97%"]),
    (["run.terminal_value=multiple"], []), (["run.terminal_value=contracted"], [])])
def test_the_cap_rate_moves_two_points_where_the_market_terminal_value_reads_it(overrides, labels):
    """The AI halls' value at the horizon is their forward income over the cap rate: under
    the market method it is rerun two points either way, within the schema's 1% to 100%;
    the other methods do not read it."""
    found = [a.label for a in alternatives(sim.compose(overrides)) if a.label.startswith("cap")]
    assert found == labels


def test_shifted_rates_moves_every_rate_that_is_set_by_the_shift():
    cfg = sim.compose(["run.discount_rate=0.07", "run.discount_rates.contracted=null"])
    assert shifted_rates(cfg, 0.02) == {"run.discount_rate": 0.09}
    assert shifted_rates(cfg, -0.02) == {"run.discount_rate": 0.05}
    cfg = sim.compose(["run.discount_rate=0.07", "run.discount_rates.contracted=0.06",
                       "run.discount_rates.merchant_ai=0.15"])
    assert shifted_rates(cfg, 0.02) == {"run.discount_rate": 0.09,
                                        "run.discount_rates.contracted": 0.08,
                                        "run.discount_rates.merchant_ai": 0.17}


def test_a_rerun_keeps_the_two_strategies_and_runs_quietly_on_the_same_worlds():
    overrides = ["strategy=[stay_mining,phased,convert_all]", "run.replications=3",
                 "run.horizon_years=2", "run.progress=false", "run.until_confident=0.9",
                 "run.max_replications=6"]
    cfg = sim.compose(overrides)
    rerun = rerun_config(cfg, ("phased", "stay_mining"), {"run.discount_rate": 0.12}, 2)
    assert list(rerun.strategy) == ["stay_mining", "phased"]
    assert (rerun.run.replications, rerun.run.detail, rerun.run.discount_rate) == (2, "summary", 0.12)
    assert rerun.run.until_confident is None and not rerun.run.compare and not rerun.run.progress
    assert cfg.run.discount_rate == 0.10  # the run's own config is untouched
    # Same seed: the rerun's worlds are the run's first worlds (common random numbers).
    same = sim.run(rerun_config(cfg, ("phased", "stay_mining"), {}, 2)).summary
    main = sim.run(sim.compose(overrides[:2] + overrides[2:4] + ["run.progress=false"])).summary
    main = main[main["strategy"].isin(["phased", "stay_mining"]) & (main["replication"] < 2)]
    pd.testing.assert_frame_equal(same.reset_index(drop=True), main.reset_index(drop=True))


# --- the numbers of one row -----------------------------------------------------------------------
def test_a_row_holds_means_the_paired_difference_its_interval_and_the_share_of_wins():
    summary = summary_of({"a": [11.0, 22.0, 33.0, 44.0], "b": [10.0, 20.0, 30.0, 44.0]})
    row = paired_row(summary, "a", "b")
    # differences 1, 2, 3, 0: mean 1.5, sd sqrt(5/3), t(0.975, 3) = 3.182446305
    half = 3.182446305 * math.sqrt(5 / 3) / 2
    assert row["diff_npv_usd"] == pytest.approx(1.5)
    assert (row["diff_ci_low_usd"], row["diff_ci_high_usd"]) == pytest.approx((1.5 - half, 1.5 + half))
    assert (row["strategy_npv_usd"], row["against_npv_usd"]) == (27.5, 26.0)
    assert row["p_strategy_beats"] == pytest.approx((3 + 0.5) / 4)  # a tie counts half
    assert row["higher_mean"] == "a" and row["verdict_holds"] is True
    flipped = paired_row(summary, "b", "a")
    assert flipped["higher_mean"] == "a" and flipped["verdict_holds"] is False


def test_one_replication_has_no_interval():
    row = paired_row(summary_of({"a": [3.0], "b": [1.0]}), "a", "b")
    assert row["diff_npv_usd"] == 2.0 and np.isnan(row["diff_ci_low_usd"])


# --- the sentence -----------------------------------------------------------------------------------
def hand_table(holds: dict, replications: int = 50) -> pd.DataFrame:
    rows = [{"alternative": label, "verdict_holds": ok, "replications": replications}
            for label, ok in {AS_RUN: True, **holds}.items()]
    return pd.DataFrame(rows)


def test_the_sentence_says_the_verdict_holds_or_names_where_it_changes():
    holds = hand_table({"terminal value: none": True, "horizon 20 years": True})
    assert verdict_sentence(holds) == "The verdict holds under every alternative."
    changes = hand_table({"terminal value: none": False, "horizon 15 years": True,
                          "horizon 20 years": False})
    assert changed_under(changes) == ["terminal value: none", "horizon 20 years"]
    assert verdict_sentence(changes) == ("The verdict changes under: terminal value none, "
                                         "horizon 20 years.")
    read_back = changes.assign(verdict_holds=changes["verdict_holds"].astype(str))  # from a csv
    assert changed_under(read_back) == changed_under(changes)
    assert verdict_sentence(hand_table({"horizon 20 years": True}, replications=1)).endswith(
        "(One replication: no interval.)")
    assert verdict_sentence(hand_table({})) == "No alternative assumption was run."


def test_an_alternative_whose_interval_spans_zero_is_within_the_noise_not_a_change():
    """A mean that flips by less than its noise does not reverse the verdict; one that
    flips beyond it does; the sentence names the two apart (the default run's `contracted`
    row: -24.9 $M, 95% CI -59.2 to 9.5, had read 'the verdict changes under')."""
    table = hand_table({"terminal value: contracted": False, "terminal value: none": False,
                        "horizon 20 years": True, "cap rate 9%": True})
    table["diff_ci_low_usd"] = [600.0, -59.2, -252.2, 333.9, -5.0]
    table["diff_ci_high_usd"] = [670.0, 9.5, -186.4, 455.9, 40.0]
    assert within_noise(table) == ["terminal value: contracted", "cap rate 9%"]
    assert verdict_sentence(table) == (
        "The verdict changes under: terminal value none. Within the noise under: terminal "
        "value contracted, cap rate 9% (the difference's 95% interval spans zero: neither "
        "strategy is shown to be ahead).")
    clear = table[table["alternative"] != "terminal value: none"]
    assert verdict_sentence(clear).startswith("No alternative reverses the verdict. Within the noise under:")
    assert changed_under(table) == ["terminal value: contracted", "terminal value: none"]  # by mean, as the csv's column


# --- real reruns ------------------------------------------------------------------------------------
def test_the_base_case_verdict_flips_under_a_terminal_multiple_and_the_table_says_so(capsys):
    cfg = sim.compose(NO_TERMINAL)
    summary = sim.run(cfg).summary
    best, against, role = robustness_pair(summary)
    assert (best, against, role) == ("stay_mining", "convert_all", "runner-up")
    table = verdict_robustness(cfg, best, against, 200, summary, role=role)
    assert list(table.columns) == list(COLUMNS)
    assert list(table["alternative"]) == [AS_RUN] + [a.label for a in alternatives(cfg)]
    assert (table["replications"] == 1).all() and table["diff_ci_low_usd"].isna().all()
    assert (table["against_role"] == "runner-up").all()
    # "as run" is the run's own summary, no rerun.
    means = summary.groupby("strategy")["npv_usd"].mean()
    first = table.iloc[0]
    assert (first["strategy_npv_usd"], first["against_npv_usd"]) == (
        means["stay_mining"], means["convert_all"])
    # Each alternative agrees with a fresh run of that config (an independent check).
    multiple = table.set_index("alternative").loc["terminal value: multiple"]
    fresh = mean_npv(BASE_CASE + ["run.terminal_value=multiple"])
    assert multiple["against_npv_usd"] == pytest.approx(fresh["convert_all"])
    assert multiple["strategy_npv_usd"] == pytest.approx(fresh["stay_mining"])
    assert fresh["convert_all"] > fresh["stay_mining"]
    assert multiple["higher_mean"] == "convert_all" and not multiple["verdict_holds"]
    assert "terminal value: multiple" in changed_under(table)
    assert capsys.readouterr().err == ""  # run.progress=false: no bar


def test_a_conversion_recommended_under_a_multiple_fails_under_the_other_terminal_values(capsys):
    overrides = BASE_CASE + ["run.terminal_value=multiple", "run.progress=true"]
    cfg = sim.compose(overrides)
    summary = sim.run(cfg).summary
    assert robustness_pair(summary) == ("convert_all", "stay_mining", "baseline")
    table = verdict_robustness(cfg, "convert_all", "stay_mining", 5, summary)
    changed = changed_under(table)
    assert "terminal value: none" in changed  # no value at the horizon: mining wins again
    for label, holds in zip(table["alternative"], table["verdict_holds"]):
        row = table.set_index("alternative").loc[label]
        assert holds == (row["strategy_npv_usd"] > row["against_npv_usd"])
    sentence = verdict_sentence(table)
    assert sentence.startswith("The verdict changes under: ")
    assert "terminal value none" in sentence
    assert "robustness" in capsys.readouterr().err  # the progress bar, across alternatives


# --- the command line -------------------------------------------------------------------------------
def test_the_command_line_writes_robustness_csv_and_the_report_shows_it(tmp_path, capsys):
    cfg = sim.compose(NO_TERMINAL)
    assert execute(cfg, tmp_path) == 0
    out = capsys.readouterr().out
    assert "compared with the runner-up, convert_all" in out
    assert "verdict robustness, stay_mining against convert_all: The verdict changes under" in out
    *_, headline, robust, where = out.strip().splitlines()  # the verdict's headline, what it rests on, where
    assert headline.startswith("stay_mining has the highest NPV")  # the report's first line
    assert robust.startswith("verdict robustness, ") and where == f"report: {tmp_path / 'report.html'}"
    table = pd.read_csv(tmp_path / "robustness.csv")
    assert list(table.columns) == list(COLUMNS) and table["alternative"].iloc[0] == AS_RUN
    report = (tmp_path / "report.html").read_text()
    assert report.index('id="verdict"') < report.index('id="robustness"') < report.index('id="plots"')
    changes = report[report.index("The verdict changes under:"):]
    assert "terminal value multiple" in changes[:changes.index(".")]
    assert "other terminal values and discount rates on the run&#x27;s first worlds" in report
    assert "cap rate" not in report  # the none method reads no cap rate: none rerun
    assert "One replication: no interval" in report
    assert "Monte Carlo confidence" in report or "one replication states no confidence" in report
    # Off: the earlier table goes, so a later comparison never shows one this command did not make.
    off = NO_TERMINAL + ["run.robustness.replications=0", "run.compare=false"]
    assert execute(sim.compose(off), tmp_path) == 0
    assert not (tmp_path / "robustness.csv").exists()


def test_one_strategy_skips_the_robustness_reruns_and_says_why(tmp_path, capsys):
    cfg = sim.compose(["strategy=stay_mining", "run.deterministic=true", "run.replications=1",
                       "run.progress=false", "run.detail=summary", "run.robustness.replications=3",
                       "run.compare=false"])
    assert execute(cfg, tmp_path) == 0
    assert ("robustness: skipped (run.robustness.replications=3): one strategy ran, and the "
            "verdict's robustness compares two that differ") in capsys.readouterr().out
    assert not (tmp_path / "robustness.csv").exists()


def test_strategies_alike_in_every_world_skip_the_reruns_and_say_why(tmp_path, capsys):
    """A real_option that never converts within a year is stay_mining in every world."""
    cfg = sim.compose(["strategy=[stay_mining,real_option]", "run.replications=4",
                       "run.horizon_years=1", "run.progress=false", "run.detail=summary",
                       "run.robustness.replications=3", "run.compare=false", "run.executor=serial"])
    assert execute(cfg, tmp_path) == 0
    summary = pd.read_parquet(tmp_path / "summary.parquet").pivot(
        index="replication", columns="strategy", values="npv_usd")
    assert summary["stay_mining"].equals(summary["real_option"])
    assert ("robustness: skipped (run.robustness.replications=3): the strategies had the same NPV "
            "in every world, and the verdict's robustness compares two that differ") in capsys.readouterr().out
    assert not (tmp_path / "robustness.csv").exists()


@pytest.mark.parametrize("error, code, compare", [(UserError("no worlds left"), 2, True),
                                                  (RuntimeError("a bug\n on two lines"), 1, False)])
def test_a_robustness_failure_keeps_the_saved_run_and_is_one_line(error, code, compare, tmp_path,
                                                                   monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(job, "verdict_robustness", fail)
    assert execute(sim.compose(BASE_CASE + [f"run.compare={compare}"]), tmp_path) == code
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(
        f"hashpivot: error: the run is complete in {tmp_path}, but its robustness table "
        "(robustness.csv) was not written: ")
    assert RunDir(tmp_path).read_info()["status"] == "complete"
    assert sim.load(tmp_path).summary.shape[0] == 2
    assert not (tmp_path / "robustness.csv").exists()
    assert (tmp_path / "report.html").is_file() == compare  # the comparison still ran


@pytest.mark.parametrize("error, why", [
    (WorkerLost("a worker process died (killed, or out of memory) before finishing its chunk"),
     "a worker process died (killed, or out of memory) before finishing its chunk"),
    (OSError(28, "No space left on device"), "OSError: [Errno 28] No space left on device")])
def test_a_robustness_failure_of_the_surroundings_says_how_to_make_the_table(
        error, why, tmp_path, monkeypatch, capsys):
    """A worker killed (`kill -9` of a pool worker) or a full disk in the reruns: the line
    says the same command makes the table from the saved run, as Ctrl-C's does (before: it
    ended at the cause)."""
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(job, "verdict_robustness", fail)
    assert execute(sim.compose(BASE_CASE + ["run.compare=false"]), tmp_path) == 2
    assert capsys.readouterr().err.strip() == (
        f"hashpivot: error: the run is complete in {tmp_path}, but its robustness table "
        f"(robustness.csv) was not written: {why}; rerun the same command with "
        f"hydra.run.dir={tmp_path} to make it from the saved run")
    monkeypatch.undo()
    assert execute(sim.compose(BASE_CASE + ["run.compare=false"]), tmp_path) == 0
    assert (tmp_path / "robustness.csv").is_file()


def test_alternatives_sharing_engine_runs_give_a_full_reruns_numbers_bit_for_bit():
    cfg = sim.compose(["strategy=[stay_mining,phased]", "run.replications=2", "run.horizon_years=2",
                       "run.progress=false", "run.chunk_size=1"])
    chosen = alternatives(cfg)
    configs = {a.label: rerun_config(cfg, ("phased", "stay_mining"), a.overrides, 2) for a in chosen}
    overrides = {a.label: a.overrides for a in chosen}
    work, where = batches_of(configs, overrides, 2)
    assert len(work.batches) == 3  # the valuations share one batch; each horizon has its own
    assert len({where[a.label][0] for a in chosen if "run.horizon_years" not in a.overrides}) == 1
    checked = [label for label in configs if label != "horizon 20 years"]  # one horizon is enough
    shared = rerun_npvs({label: configs[label] for label in checked}, overrides, 2, progress=False)
    for label in checked:
        full = sim.run(configs[label]).summary[["strategy", "replication", "npv_usd"]]
        pd.testing.assert_frame_equal(shared[label], full, check_exact=True)


def test_alternatives_of_terminal_value_terms_share_engine_runs_and_match_full_reruns():
    """A cap rate or a multiple is read by the ledger alone: such alternatives share one batch
    (before: each got engine runs of its own) and still give a full run's numbers bit for bit."""
    cfg = sim.compose(["strategy=[stay_mining,convert_all]", "run.replications=2",
                       "run.horizon_years=2", "run.progress=false", "run.chunk_size=1"])
    overrides = {"cap rate 9%": {"run.valuation.cap_rate": 0.09},
                 "mine per MW": {"run.valuation.mining": "per_mw",
                                 "run.valuation.mining_usd_per_mw": 2e6},
                 "hosting x8": {"run.terminal_value": "multiple",
                                "run.terminal_multiple.hosting": 8.0},
                 "none": {"run.terminal_value": "none"}}
    configs = {label: rerun_config(cfg, ("convert_all", "stay_mining"), changes, 2)
               for label, changes in overrides.items()}
    work, where = batches_of(configs, overrides, 2)
    assert len(work.batches) == 1
    shared = rerun_npvs(configs, overrides, 2, progress=False)
    for label, config in configs.items():
        full = sim.run(config).summary[["strategy", "replication", "npv_usd"]]
        pd.testing.assert_frame_equal(shared[label], full, check_exact=True)
    assert shared["cap rate 9%"]["npv_usd"].ne(shared["none"]["npv_usd"]).any()


def test_the_report_names_the_cap_rates_where_the_table_holds_them(tmp_path, run_factory):
    from sim.compare.load import load_runs
    from sim.compare.verdict import robustness_lines

    run = run_factory(tmp_path / "run", ("stay_mining", "convert_all"), replications=4)
    rows = [{"alternative": label, "overrides": "", "replications": 4, "strategy": "convert_all",
             "against": "stay_mining", "against_role": "baseline", "strategy_npv_usd": 2.0,
             "against_npv_usd": 1.0, "diff_npv_usd": 1.0, "diff_ci_low_usd": 0.5,
             "diff_ci_high_usd": 1.5, "p_strategy_beats": 0.9, "higher_mean": "convert_all",
             "verdict_holds": True} for label in (AS_RUN, "terminal value: none", "cap rate 9%")]
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(run / "robustness.csv", index=False)
    line, = robustness_lines(load_runs([run]))
    assert ("other terminal values, discount rates and cap rates on the run's first worlds"
            in line)
