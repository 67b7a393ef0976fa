"""The search: common random numbers, the known optimum of a flat market, resume, the fresh check."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from constant_market import FLAT_FRONTIER, SIMPLE_TERMS
from sim.compare.stats import paired_difference
from sim.errors import UserError
from sim.optimize import evaluate, fresh_seed, optimize, prepare
from sim.optimize import search as search_module

TESTS = Path(__file__).resolve().parent.parent
#: The flat market of tests/conf (constant_market.py), as tests/conftest.py composes it.
CONSTANT_MARKET = ["market/btc=constant", "market/network=constant", "market/power=constant",
                   "market/ai=constant", "market/demand=listed", *FLAT_FRONTIER]
BPQ = "strategy.phased.blocks_per_quarter"
SMALL = ["run.horizon_years=1", "site.blocks=4", *SIMPLE_TERMS]
#: A flat market without tenants: a converted hall earns nothing, so every conversion loses
#: and phased's best blocks_per_quarter is 0 (the grid in the test checks it).
FLAT = [*CONSTANT_MARKET, *SIMPLE_TERMS, "site.blocks=4", "run.horizon_years=3",
        "strategy.phased.max_share=1"]


def test_every_trial_sees_the_same_worlds():
    plan = prepare("phased", {BPQ: "int:0:3"}, SMALL, replications=3)
    a, b = evaluate(plan, {BPQ: 0}), evaluate(plan, {BPQ: 3})
    pd.testing.assert_frame_equal(a.worlds, b.worlds)
    assert not np.allclose(a.summary.npv_usd, b.summary.npv_usd)  # the parameter matters here
    again = evaluate(plan, {BPQ: 3})
    pd.testing.assert_frame_equal(again.summary, b.summary)  # same parameters, same values
    direct = sim.run(sim.compose(["strategy=phased", *SMALL, f"{BPQ}=3", "run.replications=3",
                                  "run.progress=false", "run.compare=false"]))
    assert np.allclose(direct.summary.npv_usd, b.summary.npv_usd)


def test_a_parameter_that_does_not_matter_scores_the_same_in_every_trial():
    # max_share=0: phased converts nothing whatever blocks_per_quarter says, so on common
    # worlds every trial's mean NPV is the same (on independent worlds it would vary).
    result = optimize("phased", {BPQ: "int:0:4"}, [*SMALL, "strategy.phased.max_share=0"],
                      trials=5, replications=3, fresh_replications=0)
    table = result.table
    run_for_real = table[table.reused_from.isna()]
    assert len(run_for_real) >= 3 and table[BPQ].nunique() >= 3
    assert run_for_real.value.nunique() == 1


def test_the_search_finds_the_argmax_of_the_grid():
    kwargs = dict(overrides=FLAT, replications=2, config_dirs=[TESTS / "conf"])
    plan = prepare("phased", {BPQ: "int:0:4"}, **kwargs)
    grid = {k: evaluate(plan, {BPQ: k}).summary.npv_usd.mean() for k in range(5)}
    argmax = max(grid, key=grid.get)
    assert argmax == 0 and grid[0] > grid[1] + 1e8  # converting clearly loses
    result = optimize("phased", {BPQ: "int:0:4"}, trials=12, fresh_replications=0, **kwargs)
    assert result.params == {BPQ: argmax}
    assert result.search_value == pytest.approx(grid[argmax])
    assert result.baseline_params == {BPQ: 1}
    assert result.baseline_search_value == pytest.approx(grid[1])
    assert result.table.loc[0, "baseline"]  # the configured strategy is trial 0


def test_the_baseline_trial_is_found_when_its_yaml_value_is_a_whole_number():
    # threshold.yaml writes lease_above_usd_per_kw_month: 100 (an int); the trial holds 100.0
    key = "strategy.threshold.lease_above_usd_per_kw_month"
    result = optimize("threshold", {key: "float:50:150"}, SMALL, trials=1, replications=2,
                      fresh_replications=0)
    assert result.baseline_params == {key: 100} and result.table[key][0] == 100.0
    assert result.baseline_search_value == result.search_value


def test_resume_counts_finished_trials_and_does_not_rerun_them(tmp_path, monkeypatch):
    args = ("phased", {BPQ: "int:0:3", "strategy.phased.max_share": "float:0.2:1"}, SMALL)
    kwargs = dict(replications=3, fresh_replications=0, out_dir=tmp_path)
    first = optimize(*args, trials=3, **kwargs)
    assert len(first.table) == 3
    real_run, runs = search_module.run, []

    def counting_run(cfg):
        if int(cfg.run.replications) == 3:
            runs.append(cfg)
        return real_run(cfg)
    monkeypatch.setattr(search_module, "run", counting_run)
    second = optimize(*args, trials=5, **kwargs)
    assert second.trials == 5 and len(second.table) == 5
    pd.testing.assert_frame_equal(second.table.iloc[:3], first.table)  # kept, not rerun
    assert len(runs) <= 2
    saved = pd.read_csv(tmp_path / "trials.csv")
    assert list(saved.number) == [0, 1, 2, 3, 4]
    assert (tmp_path / "best.json").is_file() and (tmp_path / "optuna.db").is_file()
    with pytest.raises(UserError, match=r"holds another search \(different metric\)"):
        optimize(*args, trials=5, metric="irr", **kwargs)
    with pytest.raises(UserError, match=r"different space"):
        optimize("phased", {BPQ: "int:0:4"}, SMALL, trials=5, **kwargs)


def test_an_interrupted_trial_is_not_counted_and_runs_again(tmp_path, monkeypatch):
    args = ("phased", {BPQ: "int:0:3"}, SMALL)
    kwargs = dict(replications=3, fresh_replications=0, out_dir=tmp_path)
    real_run, calls = search_module.run, []

    def interrupted_run(cfg):
        if int(cfg.run.replications) == 3:
            calls.append(cfg)
            if len(calls) == 1:  # Ctrl-C in the first trial: the configured strategy's
                raise KeyboardInterrupt
        return real_run(cfg)
    monkeypatch.setattr(search_module, "run", interrupted_run)
    with pytest.raises(KeyboardInterrupt):
        optimize(*args, trials=4, **kwargs)
    assert not (tmp_path / "trials.csv").exists()  # no trial finished
    resumed = optimize(*args, trials=4, **kwargs)
    table = resumed.table
    assert list(table.state) == ["fail", "complete", "complete", "complete", "complete"]
    assert table.baseline[0] and table.baseline[1]  # the configured strategy is queued again
    assert table[BPQ][1] == 1 and resumed.baseline_search_value == table.value[1]


def test_the_fresh_check_is_the_paired_difference_on_other_worlds():
    space = {BPQ: "int:0:3"}
    result = optimize("phased", space, SMALL, trials=4, replications=3, fresh_replications=4)
    seed = fresh_seed(result.seed)
    assert result.fresh_seed == seed != result.seed
    plan = prepare("phased", space, SMALL, replications=3)
    best = evaluate(plan, result.params, seed=seed, replications=4).summary.npv_usd.to_numpy()
    base = evaluate(plan, result.baseline_params, seed=seed, replications=4).summary.npv_usd.to_numpy()
    expected = paired_difference(best, base)
    got = result.fresh["difference"]
    assert got.mean == pytest.approx(expected.mean) and got.ci_low == pytest.approx(expected.ci_low)
    assert result.fresh["best_mean"] == pytest.approx(best.mean())
    json = result.to_json()
    assert json["fresh"]["difference"]["mean"] == pytest.approx(expected.mean)
    assert json["params"] == result.params and json["trials"] == 4


def test_bad_searches_are_refused_before_any_trial(monkeypatch):
    """Each line names the argument as Python passes it (it named the command line's flags:
    "--trials='x'", "set by --replications", which no Python caller typed)."""
    monkeypatch.setattr(search_module, "run_trials", lambda *a, **k: pytest.fail("a trial ran"))
    cases = [
        (dict(metric="nope"), r"^metric='nope': not a summary column; one of npv_usd"),
        (dict(direction="up"), r"^direction='up': must be max or min$"),
        (dict(overrides=["run.replications=5"]), r"^run.replications=5: set by replications=; drop"),
        (dict(overrides=[f"{BPQ}=2"]), r"is searched \(space=\); drop this override$"),
        (dict(space={}), r"^space=\{\}: none given; e.g. space=\{'strategy.phased.<param>': 'int:0:5'\}$"),
        (dict(space={"strategy.threshold.margin_below": "float:0.1:0.9"}, strategy="threshold"),
         "strategy threshold refuses 0.9"),
        (dict(trials="x"), r"^trials='x': must be a whole number >= 1$"),
        (dict(trials=2.5), r"^trials=2.5: must be a whole number >= 1$"),
        (dict(replications="200"), r"^replications='200': must be a whole number >= 2$"),
        (dict(replications=1), r"^replications=1: must be a whole number >= 2$"),
        (dict(fresh_replications=1), r"^fresh_replications=1: must be 0 \(skip\) or >= 2$"),
        (dict(fresh_replications=True), r"^fresh_replications=True: must be a whole number >= 0$"),
    ]
    for changes, says in cases:
        kwargs = dict(strategy="phased", space={BPQ: "int:0:3"}, overrides=SMALL, trials=2,
                      replications=3, fresh_replications=0) | changes
        if "overrides" in changes:
            kwargs["overrides"] = [*SMALL, *changes["overrides"]]
        with pytest.raises(UserError, match=says):
            optimize(**kwargs)


def test_without_optuna_the_search_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(UserError, match=r"^Optuna is not installed; install it with: pip install 'hashpivot\[optimize\]'"):
        optimize("phased", {BPQ: "int:0:3"}, SMALL)


def test_a_trial_that_never_pays_back_in_some_worlds_is_not_scored(monkeypatch):
    # max_share=0 pays back fastest where it pays back, but never in one world of three:
    # scored on the other two it would win; it is refused instead, as compare leaves it unranked.
    real_run = search_module.run

    def run(cfg):
        result = real_run(cfg)
        share = float(cfg.strategy.phased.max_share)
        payback = np.array([1.0, 1.0, np.nan]) if share == 0 else np.full(3, 5.0 + share)
        result.summary["payback_years"] = np.resize(payback, len(result.summary))
        return result
    monkeypatch.setattr(search_module, "run", run)
    result = optimize("phased", {"strategy.phased.max_share": "choice:0,0.5,1.0"}, SMALL,
                      metric="payback_years", trials=6, replications=3, fresh_replications=0)
    assert result.params == {"strategy.phased.max_share": 0.5}
    refused = result.table[result.table["strategy.phased.max_share"] == 0]
    assert not refused.empty and refused["value"].isna().all()
    assert search_module.objective(pd.DataFrame({"m": [1.0, np.nan]}), "m") != 1.0



def test_fresh_worlds_that_leave_the_metric_undefined_are_said():
    from sim.compare.stats import paired_difference as difference
    from sim.optimize.result import Optimum, render

    best, base = np.array([1.0, np.nan, 3.0]), np.array([2.0, 2.0, 2.0])
    optimum = Optimum(strategy="phased", metric="payback_years", direction="min",
                      params={BPQ: 2}, search_value=2.0, baseline_params={BPQ: 1},
                      baseline_search_value=2.5, trials=3, trials_run=2, refused=0, seed=1,
                      replications=3, fresh_seed=2, fresh_replications=3,
                      fresh=dict(best_mean=2.0, baseline_mean=2.0, undefined={"best": 1, "baseline": 0},
                                 difference=difference(best, base, higher_is_better=False)),
                      overrides=[], table=pd.DataFrame())
    assert "payback_years is undefined in 1 of 3 fresh worlds for best" in render(optimum)
    assert optimum.to_json()["fresh"]["undefined"] == {"best": 1, "baseline": 0}

def test_when_the_best_is_the_baseline_no_chance_of_beating_itself_is_printed():
    from sim.compare.stats import paired_difference as difference
    from sim.optimize.result import Optimum, render

    same = np.array([1.0, 2.0, 3.0])
    optimum = Optimum(strategy="phased", metric="npv_usd", direction="max",
                      params={BPQ: 1}, search_value=2.0, baseline_params={BPQ: 1},
                      baseline_search_value=2.0, trials=3, trials_run=1, refused=0, seed=1,
                      replications=3, fresh_seed=2, fresh_replications=3,
                      fresh=dict(best_mean=2.0, baseline_mean=2.0,
                                 difference=difference(same, same)),
                      overrides=[], table=pd.DataFrame())
    text = render(optimum)
    assert "P(best beats baseline)" not in text and "0.50" not in text
    assert "the best parameters are the baseline's" in text


def test_a_plain_class_strategy_is_searched_over_its_init_parameters():
    # tests/plain_strategy.py's PlainPhased is phased with max_share=1 as a plain class:
    # each trial must score what phased scores with the same blocks_per_quarter.
    flat = [*CONSTANT_MARKET, *SIMPLE_TERMS, "site.blocks=4", "run.horizon_years=3"]
    kwargs = dict(replications=2, config_dirs=[TESTS / "conf"])
    key = "strategy.plain_phased.blocks_per_quarter"
    plain = prepare("plain_phased", {key: "int:0:4"}, flat, **kwargs)
    phased = prepare("phased", {BPQ: "int:0:4"}, [*flat, "strategy.phased.max_share=1"], **kwargs)
    grid = {k: evaluate(plain, {key: k}).summary.npv_usd.mean() for k in (0, 2)}
    assert grid == {k: evaluate(phased, {BPQ: k}).summary.npv_usd.mean() for k in (0, 2)}
    assert grid[0] > grid[2] + 1e8  # converting clearly loses on the flat market
    result = optimize("plain_phased", {key: "int:0:4"}, flat, trials=12, fresh_replications=0, **kwargs)
    assert result.params == {key: 0} and result.search_value == grid[0]
    assert result.baseline_params == {key: 1}  # plain_phased.yaml's value


def test_a_plain_class_keeping_a_parameter_under_another_name_starts_from_its_default():
    """Before, the baseline read the instance's attribute of the parameter's name (even where
    the config set the value): AttributeError for a class that keeps it as _per_quarter."""
    flat = [*CONSTANT_MARKET, *SIMPLE_TERMS, "site.blocks=4", "run.horizon_years=3"]
    key = "strategy.plain_hidden.blocks_per_quarter"
    plan = prepare("plain_hidden", {key: "int:0:4"}, flat, replications=2,
                   config_dirs=[TESTS / "conf"])
    assert plan.baseline() == {key: 2}  # PlainHidden.__init__'s default


def test_a_skipped_fresh_check_is_not_called_the_honest_estimate():
    """Before: with --fresh-replications 0 the report still ended 'the fresh difference is
    the honest estimate', pointing at a column of dashes."""
    from sim.optimize.result import Optimum, render

    optimum = Optimum(strategy="phased", metric="npv_usd", direction="max",
                      params={BPQ: 2}, search_value=3.0e8, baseline_params={BPQ: 1},
                      baseline_search_value=2.0e8, trials=3, trials_run=3, refused=0, seed=1,
                      replications=3, fresh_seed=2, fresh_replications=0, fresh=None,
                      overrides=[], table=pd.DataFrame())
    text = render(optimum)
    assert "fresh (skipped)" in text and "the fresh difference is the honest estimate" not in text
    assert "the gain is not estimated" in text


def test_a_baseline_without_a_search_value_is_explained():
    """Before: a baseline outside the space (max_share 0.6 for a space of 0.7 to 1) showed '-'
    as its search value and as the search gain, without a word."""
    from sim.optimize.result import Optimum, render

    def optimum(table):
        return Optimum(strategy="phased", metric="npv_usd", direction="max",
                       params={BPQ: 2}, search_value=3.0e8, baseline_params={BPQ: 1},
                       baseline_search_value=None, trials=2, trials_run=2, refused=0, seed=1,
                       replications=3, fresh_seed=2, fresh_replications=0, fresh=None,
                       overrides=[], table=table)

    outside = pd.DataFrame({BPQ: [2, 3], "value": [3.0e8, 2.0e8], "baseline": [False, False]})
    assert "the baseline (the strategy as configured) lies outside the space" in render(optimum(outside))
    refused = pd.DataFrame({BPQ: [1, 2], "value": [np.nan, 3.0e8], "baseline": [True, False]})
    assert "the baseline (the strategy as configured) was refused" in render(optimum(refused))
