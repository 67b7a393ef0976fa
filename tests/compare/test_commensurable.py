"""Runs valued under other settings (discount rates, terminal value, horizon) are compared,
but the verdict and the terminal say that their NPVs do not compare; other differences
(the site, the market) are what comparing runs is for, and are not flagged."""

import json

import pytest
import yaml
from omegaconf import OmegaConf

import sim
from sim.compare import main as compare_main
from sim.compare.load import load_runs
from sim.compare.pipeline import analyse_runset
from sim.compare.verdict import verdict

WARNING = "their NPVs are valued differently"


def _analysed(runs, strategies=None):
    """Return (the Analysis of `runs`, its verdict's lines): what compare_runs writes, unwritten."""
    runset, analysis = analyse_runset(load_runs(runs), strategies=strategies)
    return analysis, verdict(analysis, runset)


def _set(run, key: str, value, *, npv_scale: float = 1.0):
    """Give synthetic `run` the config, override and run.json of `key=value` (a dotted key),
    its NPVs scaled by `npv_scale` (a setting that moves them); return `run`."""
    import pandas as pd

    config_file = run / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    node, *path, last = key.split(".")
    target = config.setdefault(node, {})
    for part in path:
        target = target.setdefault(part, {})
    target[last] = value
    config_file.write_text(yaml.safe_dump(config))
    overrides = run / ".hydra" / "overrides.yaml"
    overrides.write_text(yaml.safe_dump([*yaml.safe_load(overrides.read_text()),
                                         f"{key}={value}"]))
    if key == "run.discount_rate":
        info = json.loads((run / "run.json").read_text())
        (run / "run.json").write_text(json.dumps({**info, "discount_rate": value}))
    summary = pd.read_parquet(run / "summary.parquet")
    summary["npv_usd"] *= npv_scale
    summary.to_parquet(run / "summary.parquet")
    return run


def _pair(tmp_path, run_factory, key, first, second):
    """Return two synthetic runs on the same worlds that differ only in `key`."""
    a = _set(run_factory(tmp_path / "a", ("stay_mining", "phased"), replications=6), key, first)
    b = _set(run_factory(tmp_path / "b", ("stay_mining", "phased"), replications=6), key, second,
             npv_scale=0.8)
    return a, b


@pytest.mark.parametrize("key, first, second, shown", [
    ("run.discount_rate", 0.1, 0.2, "run.discount_rate (0.1 in a, 0.2 in b)"),
    ("run.horizon_years", 10, 20.0, "run.horizon_years (10 in a, 20 in b)"),
    ("run.terminal_value", "market", "none", "run.terminal_value (market in a, none in b)"),
    ("run.discount_rates.contracted", 0.075, 0.09,
     "run.discount_rates.contracted (0.075 in a, 0.09 in b)")])
def test_runs_valued_differently_are_compared_with_a_warning_naming_what_differs(
        key, first, second, shown, tmp_path, run_factory, capsys):
    """Before: the verdict ranked stay_mining at 10% against stay_mining at 20% and said nothing."""
    a, b = _pair(tmp_path, run_factory, key, first, second)
    out = tmp_path / "out"
    assert compare_main([str(a), str(b), "--out", str(out)]) == 0
    stdout, err = capsys.readouterr()
    warnings = [line for line in err.splitlines() if WARNING in line]
    assert len(warnings) == 1, err
    assert warnings[0].startswith("hashpivot-compare: warning: The runs compared differ in ")
    assert shown in warnings[0] and "compares valuations, not strategies" in warnings[0]
    assert ("the horizon sets the years an NPV covers" in warnings[0]) == (key == "run.horizon_years")
    assert WARNING not in stdout
    report = (out / "report.html").read_text(encoding="utf-8")
    box = report[report.index('id="verdict"'):report.index("</div>")]
    assert shown in box and WARNING in box
    analysis, lines = _analysed([a, b])
    assert lines[1] == analysis.valued_differently[0]


def test_a_discount_rate_that_kinds_follow_is_named_alone(tmp_path, run_factory, capsys):
    """The kinds' rates set to null follow run.discount_rate: only it is named."""
    a, b = _pair(tmp_path, run_factory, "run.discount_rate", 0.1, 0.2)
    for run in (a, b):
        _set(run, "run.discount_rates", {"mining": None, "contracted": 0.075,
                                         "merchant_ai": None})
    lines = _analysed([a, b])[0].valued_differently
    assert len(lines) == 1 and "run.discount_rates" not in lines[0]
    assert "run.discount_rate (0.1 in a, 0.2 in b)" in lines[0]


def _terms_pair(tmp_path, run_factory, method, key, first, second):
    """Return two synthetic runs valued by terminal value `method`, with its terms at the
    defaults but `key`, `first` in one and `second` in the other."""
    a, b = _pair(tmp_path, run_factory, "run.terminal_value", method, method)
    for run, value in ((a, first), (b, second)):
        _set(run, "run.valuation", {"cap_rate": 0.07, "idle_halls": "market",
                                    "lease_up_months": 24, "mining": "multiple",
                                    "mining_usd_per_mw": 4.5e6})
        _set(run, "run.terminal_multiple", {"mining": 4.0, "hosting": 12.0, "cloud": 4.0})
        _set(run, key, value)
    return a, b


@pytest.mark.parametrize("method, key, first, second, shown", [
    ("market", "run.valuation.cap_rate", 0.07, 0.09, "run.valuation.cap_rate (0.07 in a, 0.09 in b)"),
    ("market", "run.valuation.lease_up_months", 24, 12,
     "run.valuation.lease_up_months (24 in a, 12 in b)"),
    ("market", "run.terminal_multiple.mining", 4.0, 6.0,
     "run.terminal_multiple.mining (4 in a, 6 in b)"),
    ("multiple", "run.terminal_multiple.hosting", 12.0, 8.0,
     "run.terminal_multiple.hosting (12 in a, 8 in b)")])
def test_runs_whose_terminal_value_method_reads_other_terms_are_named(
        method, key, first, second, shown, tmp_path, run_factory):
    """Before: runs with the market terminal value at a 7% and a 9% cap rate were ranked as
    one scenario, with no word that their NPVs were valued differently."""
    a, b = _terms_pair(tmp_path, run_factory, method, key, first, second)
    lines = _analysed([a, b])[0].valued_differently
    assert len(lines) == 1 and WARNING in lines[0], lines
    assert f"differ in {shown}:" in lines[0]


@pytest.mark.parametrize("method, key, first, second", [
    ("contracted", "run.valuation.cap_rate", 0.07, 0.09),
    ("none", "run.terminal_multiple.mining", 4.0, 6.0),
    ("market", "run.terminal_multiple.hosting", 12.0, 8.0),
    ("market", "run.valuation.mining_usd_per_mw", 4.5e6, 3e6)])
def test_terms_the_runs_terminal_value_method_does_not_read_are_not_named(
        method, key, first, second, tmp_path, run_factory):
    """A cap rate under the contracted method, or the hosting multiple under the market one
    (which reads only the mine's), moves no NPV: runs differing in it value alike."""
    a, b = _terms_pair(tmp_path, run_factory, method, key, first, second)
    assert _analysed([a, b])[0].valued_differently == []


def test_every_term_that_moves_a_terminal_value_is_named():
    """Each term whose change moves a real run's terminal value under a method is among the
    keys `terminal_terms` names for that method (checked against sim.ledger, term by term)."""
    from sim.compare.commensurable import terminal_terms

    changes = {"run.valuation.cap_rate": 0.09, "run.valuation.idle_halls": "zero",
               "run.valuation.lease_up_months": 6, "run.valuation.mining": "per_mw",
               "run.valuation.mining_usd_per_mw": 9e6, "run.terminal_multiple.mining": 9.0,
               "run.terminal_multiple.hosting": 20.0, "run.terminal_multiple.cloud": 9.0}
    for method in ("market", "multiple", "contracted", "none"):
        base = ["run.replications=2", "run.horizon_years=3", "run.progress=false",
                "run.compare=false", "run.executor=serial", "run.detail=summary",
                "strategy=[stay_mining,convert_all]", f"run.terminal_value={method}"]
        cfg = sim.compose(base)
        named = set(terminal_terms(OmegaConf.to_container(cfg.run), method))
        first = sim.run(cfg).summary["terminal_value_pv_usd"].to_numpy()
        moved = {key for key, value in changes.items()
                 if (sim.run(sim.compose([*base, f"{key}={value}"])).summary[
                     "terminal_value_pv_usd"].to_numpy() != first).any()}
        assert moved <= named, (method, moved - named)
        assert moved or method in ("contracted", "none"), method  # the check moved something


@pytest.mark.parametrize("market", [(), ("market/ai=glut",)])
def test_runs_that_differ_in_the_site_or_market_are_compared_without_it(
        market, tmp_path, run_factory, capsys):
    if market:  # a scenario each
        a, b = (run_factory(tmp_path / name, ("stay_mining", "phased"), replications=6,
                            market=where) for name, where in (("default", ()), ("glut", market)))
    else:
        a, b = _pair(tmp_path, run_factory, "site.grid_mw", 100, 150)
    assert compare_main([str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    assert WARNING not in capsys.readouterr().err
    assert WARNING not in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert _analysed([a, b])[0].valued_differently == []


def test_a_run_none_of_whose_strategies_is_compared_is_not_counted(tmp_path, run_factory):
    a = _set(run_factory(tmp_path / "a", ("stay_mining",), replications=6),
             "run.discount_rate", 0.1)
    b = _set(run_factory(tmp_path / "b", ("stay_mining", "phased"), replications=6),
             "run.discount_rate", 0.2, npv_scale=0.8)
    assert _analysed([a, b])[0].valued_differently
    assert _analysed([a, b], strategies=["phased"])[0].valued_differently == []


@pytest.mark.parametrize("key, value, shown", [
    ("discount_rate", 0.2, "run.discount_rate (0.1 in result_1, 0.2 in result_2)"),
    # other horizons sample other worlds: a scenario each, named by the setting that differs
    ("horizon_years", 5, "run.horizon_years (3 in scenario 'run.horizon_years=3.0', result_1; "
                         "5 in scenario 'run.horizon_years=5', result_2)")])
def test_in_memory_results_valued_differently_carry_the_warning_in_their_verdict(
        key, value, shown, real_run):
    result, _ = real_run
    config = OmegaConf.create(OmegaConf.to_container(result.config))
    config.run[key] = value
    summary = result.summary.assign(npv_usd=0.8 * result.summary["npv_usd"])
    other = sim.Result(**{**vars(result), "config": config, "summary": summary})
    comparison = sim.compare(result, other, figures=False)
    assert len(comparison.valued_differently) == 1
    assert shown in comparison.valued_differently[0]
    assert comparison.verdict.splitlines()[1] == comparison.valued_differently[0]


def test_in_memory_results_that_differ_in_the_site_carry_no_warning(real_run):
    result, _ = real_run
    config = OmegaConf.create(OmegaConf.to_container(result.config))
    config.site.grid_mw = 150
    summary = result.summary.assign(npv_usd=1.2 * result.summary["npv_usd"])
    other = sim.Result(**{**vars(result), "config": config, "summary": summary})
    comparison = sim.compare(result, other, figures=False)
    assert comparison.valued_differently == [] and WARNING not in comparison.verdict
