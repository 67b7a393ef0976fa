"""Config composition and checks: every bad value gets one line naming key, value and rule."""

import dataclasses
import importlib
import re
import sys
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st
from omegaconf import DictConfig, OmegaConf

import sim
from sim import distributions, montecarlo
from sim.cli import main as cli_main
from sim.config import distributions_in_short_form
from sim.config_checks import settings
from sim.config_objects import build_processes, build_strategies
from sim.config_tree import config_dir
from sim.errors import UserError
from sim.processes.ai import AIMarket
from sim.processes.btc import GBM, JumpDiffusion
from sim.processes.demand import PoissonRequests
from sim.processes.network import Network
from sim.processes.power import SeasonalLogOU
from sim.params import (Choice, Date, Distribution, Flag, Number, Text, check_fields, keys,
                        param)
from sim.schema import Settings
from sim.strategies import BuildToSuit, ConvertAll, Phased, StayMining, Threshold


@pytest.mark.parametrize("overrides, check", [
    ([], lambda c: list(c.strategy) == ["stay_mining", "convert_all", "phased", "threshold",
                                        "build_to_suit", "real_option"]),
    (["strategy=phased"], lambda c: list(c.strategy) == ["phased"]),
    (["strategy=[stay_mining,phased]", "strategy.phased.blocks_per_quarter=2"],
     lambda c: c.strategy.phased.blocks_per_quarter == 2 and len(c.strategy) == 2),
    (["market/ai=glut"], lambda c: c.market.ai.gpu_drift_per_year < 0),
    (["+experiment=cloud"], lambda c: c.strategy.convert_all.use == "cloud"),
    (["site.conversion.retrofit_days=fixed:300"], lambda c: c.site.conversion.retrofit_days == "fixed:300"),
])
def test_compose_applies_overrides(overrides, check):
    assert check(sim.compose(overrides))


@pytest.mark.parametrize("overrides, fragment", [
    (["market/ai=nope"], "market/ai=nope: no such option; allowed: base, boom, glut"),
    (["market/ai=null"], "market/ai=null: no such option; allowed: base, boom, glut"),
    (["site.grid_mw=-5"], "site.grid_mw=-5: must be > 0"),
    (["site.hosting.renewal_probability=1.5"], "site.hosting.renewal_probability=1.5: must be in [0, 1]"),
    (["run.horizon_years=0"], "run.horizon_years=0: must be in [1/12 (one month), 100]"),
    (["market.demand._target_=nowhere.Missing"], "market.demand._target_='nowhere.Missing': does not import"),
    (["market.demand._target_=nowhere.Missing"], "(cd there, or add it to PYTHONPATH)"),  # where it looks
    # a process named as a key's value, not a group's: it said only 'has no _target_'
    (["market.ai=glut"], "market.ai=glut: market.ai is a process, chosen as a config group: "
                         "market/ai=glut (options: base, boom, glut)"),
    (["run.executor=gpu"], "run.executor='gpu': must be one of auto, serial, process, ray"),
    (["site.conversion.retrofit_days=weibull:3"], "site.conversion.retrofit_days='weibull:3'"),
    (["run.no_such_key=1"], "run.no_such_key: no such key"),
    # before, 1e308 passed every check and gave a traceback, or a complete run of -inf NPVs
    (["site.grid_mw=1e308"], "site.grid_mw=1e+308: too large to compute with; every number in "
                             "the config must be at most 1e+18 in size"),
    # before, a TypeError in the pre-flight, which Hydra only warned of, and ran the job
    (["asof.height=99999999999999999999"], "asof.height=99999999999999999999: too large"),
    # before, "year 10009 is out of range" from the day grid, with a traceback
    (["site.start_date=9999-12-31"], "site.start_date='9999-12-31': must be a date YYYY-MM-DD "
                                     "from 1970 to 2200"),
    # before, a 700% cap rate (a percent typed as a number) changed the verdict silently
    (["run.valuation.cap_rate=7"], "run.valuation.cap_rate=7: must be in [0.01, 1]"),
    (["run.discount_rate=10"], "run.discount_rate=10: must be in (-1, 1]"),
    (["run.replications=null"], "run.replications=null: must be a whole number >= 1"),
    # before, "experiment: no such key; the config has run, asof, site, fleet, finance"
    (["experiment=hut8"], "experiment=hut8: experiment is a config group the defaults do not "
                          "select; add it with +experiment=hut8 (options: cloud, core_scientific, "
                          "hut8, iren, terawulf)"),
    (["nosuch=3"], "nosuch: no such key; the config has run, asof, site, fleet, finance, market, "
                   "strategy"),
    (["strategy.phased.blocks_per_quarter=-1"], None),
    # a period the depreciation tables lack: before, a traceback after the run had begun
    (["finance.tax.equipment_years=4"],
     "finance.tax.equipment_years=4: must be one of 3, 5, 7, 10, 15, 20, 39"),
    (["finance.tax.building_years=40"], "finance.tax.building_years=40: must be one of 3, 5,"),
    # before, ten million upgrades in ten years: the run did not end
    (["fleet.upgrade_every_years=1e-6"], "fleet.upgrade_every_years=1e-06: must be >= 1/12 (one month)"),
    # before, out of memory after the run had begun
    (["site.blocks=1000000000"], "site.blocks=1000000000: must be in [1, 100000]"),
    (["finance.debt.term_years=1e9"], "finance.debt.term_years=1000000000: must be in (0, 100]"),
])
def test_bad_values_are_named_in_one_line(overrides, fragment):
    with pytest.raises(UserError) as err:
        cfg = sim.compose(overrides)
        build_strategies(cfg)
    message = str(err.value)
    assert "\n" not in message
    if fragment:
        assert fragment in message


@pytest.mark.parametrize("source, says", [
    ("def broken(:\n    pass\n", "raised SyntaxError: invalid syntax (failing_on_import.py, line 1)"),
    ("import math\nRATE = 1 / 0\n",
     "raised ZeroDivisionError: division by zero (at failing_on_import.py:2 in <module>)"),
])
def test_a_plugin_module_that_fails_on_import_is_named_with_the_line(tmp_path, monkeypatch, source, says):
    """Before, only ImportError was caught: a SyntaxError or a module raising at its top level
    gave a traceback through Hydra (exit 1) after the run folder was made."""
    (tmp_path / "failing_on_import.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "failing_on_import", raising=False)
    with pytest.raises(UserError) as refused:
        build_processes(sim.compose(["market.btc._target_=failing_on_import.Anything"]))
    assert str(refused.value) == ("market.btc._target_='failing_on_import.Anything': importing "
                                  f"failing_on_import {says}")


def test_a_config_file_named_as_a_shipped_one_is_refused_not_ignored(tmp_path, capsys, monkeypatch):
    """Hydra reads the shipped tree first: a user's edited copy of market/btc/gbm.yaml was
    ignored without a word, and the run took the shipped GBM. sim.compose names its keyword
    (it said "--config-dir=", a flag no Python caller typed); hashpivot its flag."""
    mine = tmp_path / "market" / "btc"
    mine.mkdir(parents=True)
    (mine / "flat.yaml").write_text("_target_: sim.processes.btc.GBM\nmu: 0.0\n")
    sim.compose(["market/btc=flat"], config_dirs=[tmp_path])  # a name of its own is read
    (mine / "gbm.yaml").write_text("_target_: sim.processes.btc.GBM\nmu: 0.0\n")
    with pytest.raises(UserError) as refused:
        sim.compose(["market/btc=gbm"], config_dirs=[tmp_path])
    says = ("market/btc/gbm.yaml has the name of a file hashpivot ships, which is read instead of "
            "it; give yours another name (e.g. gbm_mine.yaml) and select that")
    assert str(refused.value) == f"config_dirs={str(tmp_path)!r}: {says}"
    monkeypatch.chdir(tmp_path)
    assert cli_main(["--config-dir", str(tmp_path), "run.replications=2",
                     f"hydra.run.dir={tmp_path / 'run'}"]) == 2
    assert capsys.readouterr().err == f"hashpivot: error: --config-dir={tmp_path}: {says}\n"


def test_a_strategy_file_without_its_package_line_is_named(tmp_path):
    """Before: "strategy._target_: has no _target_; select an option for it", of a file
    that has one."""
    (tmp_path / "strategy").mkdir()
    (tmp_path / "strategy" / "mine.yaml").write_text("_target_: sim.strategies.Phased\n")
    with pytest.raises(UserError) as refused:
        sim.compose(["strategy=mine"], config_dirs=[tmp_path])
    assert str(refused.value) == (
        "strategy._target_='sim.strategies.Phased': a strategy option file put its keys on "
        "strategy, not strategy.<its name>; its first line must be '# @package strategy.<its "
        "name>' (see conf/strategy/phased.yaml)")
    (tmp_path / "strategy" / "mine.yaml").write_text(
        "# @package strategy.mine\n_target_: sim.strategies.Phased\n")
    assert list(build_strategies(sim.compose(["strategy=mine"], config_dirs=[tmp_path]))) == ["mine"]


@pytest.mark.parametrize("override, says", [
    ("market.btc._target_=sim.world.World",
     "market.btc._target_='sim.world.World': World has no sample method; it needs "
     "sample(days, rng, upstream)"),
    ("+strategy.mine._target_=sim.world.World",
     "strategy.mine._target_='sim.world.World': World has no decide method; it needs "
     "decide(day, view, site)"),
])
def test_a_class_without_its_method_is_refused_before_the_run(override, says):
    """Before, it passed the checks and failed in the run ('raised AttributeError')."""
    with pytest.raises(UserError) as refused:
        sim.compose([override])
    assert str(refused.value) == says


PROBABILITIES = ["site.pool_fee", "site.hosting.renewal_probability", "site.cloud.utilisation",
                 "fleet.failure_rate_per_year", "fleet.resale_share"]
POSITIVES = ["site.grid_mw", "site.blocks", "site.crews", "run.replications", "run.horizon_years",
             "site.cloud.gpu_life_years", "fleet.j_per_th", "run.chunk_size"]


@settings_(max_examples=40, deadline=None)
@given(st.one_of(
    st.tuples(st.sampled_from(PROBABILITIES),
              st.one_of(st.floats(1.0001, 1e6), st.floats(-1e6, -1e-4))),
    st.tuples(st.sampled_from(POSITIVES), st.floats(-1e6, 0.0)),
    st.tuples(st.sampled_from(PROBABILITIES + POSITIVES), st.sampled_from(["abc", "nan", "inf"])),
))
def test_random_bad_values_are_refused_by_name(case):
    key, value = case
    with pytest.raises(UserError) as err:
        sim.compose([f"{key}={value}"])
    message = str(err.value)
    assert message.startswith(key) and "\n" not in message


# --- the schema -----------------------------------------------------------------------------
CONF = config_dir()
SCHEMA_KEYS = dict(keys(Settings))


def _leaves(node, prefix: str, schema) -> set[str]:
    """Return the dotted keys of a loaded YAML node, stopping at the schema's leaves."""
    out = set()
    for name, value in node.items():
        key = f"{prefix}{name}"
        if key in schema or not isinstance(value, Mapping):
            out.add(key)
        else:
            out |= _leaves(value, f"{key}.", schema)
    return out


def _yaml(path):
    return OmegaConf.to_container(OmegaConf.load(path))


def test_every_schema_key_has_a_doc_a_unit_and_a_rule():
    assert len(SCHEMA_KEYS) > 40
    for key, meta in SCHEMA_KEYS.items():
        assert meta["doc"].strip() and meta["unit"].strip(), key
        assert "\n" not in meta["doc"], key
        assert meta["rule"].describe(), key


def test_yaml_and_schema_have_the_same_keys():
    """No orphan YAML key, and every schema key has its sourced value in conf/."""
    run = _leaves(_yaml(CONF / "config.yaml")["run"], "run.", SCHEMA_KEYS)
    finance = _leaves(_yaml(CONF / "config.yaml")["finance"], "finance.", SCHEMA_KEYS)
    site = _leaves(_yaml(CONF / "site" / "default.yaml"), "site.", SCHEMA_KEYS)
    for section, found in (("run.", run), ("finance.", finance), ("site.", site)):
        assert found == {k for k in SCHEMA_KEYS if k.startswith(section)}
    asof = {k for k in SCHEMA_KEYS if k.startswith("asof.")}
    for snapshot in sorted((CONF / "asof").glob("*.yaml")):
        assert _leaves(_yaml(snapshot), "asof.", SCHEMA_KEYS) == asof, snapshot.name
    fleet = {k for k in SCHEMA_KEYS if k.startswith("fleet.")}
    for option in sorted((CONF / "fleet").glob("*.yaml")):
        assert _leaves(_yaml(option), "fleet.", SCHEMA_KEYS) == fleet, option.name
    assert set(_yaml(CONF / "config.yaml")) == {"defaults", "run", "finance", "hydra"}


def test_schema_defaults_are_the_shipped_defaults():
    """Settings() (the README's defaults) equals what the default config composes to."""
    composed, default = settings(sim.compose([])), Settings()
    check_fields(default)  # as settings() does: distribution specs parsed into their objects
    assert (composed.run, composed.asof, composed.site, composed.fleet, composed.finance) == (
        default.run, default.asof, default.site, default.fleet, default.finance)


def test_the_engine_never_receives_a_dictconfig(monkeypatch):
    seen = []

    def spy(name):
        real = getattr(montecarlo, name)

        def wrapper(*args, **kwargs):
            seen.extend((name, type(a)) for a in (*args, *kwargs.values()))
            return real(*args, **kwargs)
        monkeypatch.setattr(montecarlo, name, wrapper)

    for name in ("iter_worlds", "simulate", "Account"):
        spy(name)
    sim.run(sim.compose(["run.replications=1", "run.horizon_years=1", "run.progress=false",
                         "run.compare=false", "strategy=[stay_mining,phased]"]))
    assert {name for name, _ in seen} == {"iter_worlds", "simulate", "Account"}
    assert not [name for name, kind in seen if issubclass(kind, DictConfig)]
    assert ("simulate", Settings) in seen and ("Account", Settings) in seen


def _outside(meta, draw):
    """Draw a value that breaks `meta`'s rule (its range, or its type)."""
    rule, options = meta["rule"], []
    if isinstance(rule, Number):
        low, high = rule.low, rule.high
        if low is not None:
            options.append(st.floats(low - 1e6, low, exclude_max=not rule.low_open)
                           .filter(lambda v: v < low or (rule.low_open and v == low)))
        if high is not None:
            options.append(st.floats(high, high + 1e6, exclude_min=True))
        if rule.integer:
            options.append(st.floats(-1e6, 1e6).filter(lambda v: not float(v).is_integer()))
        options.append(st.sampled_from(["abc", "nan", "inf"]))
    elif isinstance(rule, Flag):
        options.append(st.sampled_from(["maybe", "2.5"]))
    elif isinstance(rule, Choice):
        options.append(st.sampled_from(["nope", "1.5"]))
    elif isinstance(rule, Distribution):
        options.append(st.sampled_from(["weibull:3", "fixed", "lognormal:1", "abc"]))
    elif isinstance(rule, Date):
        options.append(st.sampled_from(["notadate", "2027-13-45"]))
    return draw(st.one_of(options)) if options else None


CHECKABLE = sorted(k for k, m in SCHEMA_KEYS.items() if not isinstance(m["rule"], Text))


@settings_(max_examples=40, deadline=None)
@given(st.data())
def test_every_key_refuses_values_outside_its_rule(data):
    key = data.draw(st.sampled_from(CHECKABLE))
    value = _outside(SCHEMA_KEYS[key], data.draw)
    with pytest.raises(UserError) as err:
        sim.compose([f"{key}={value}"])
    message = str(err.value)
    assert message.startswith(key) and "\n" not in message


@pytest.mark.parametrize("overrides, message", [
    (["+run.foo=1"], "run.foo: no such key; run has seed, replications,"),
    (["site.power.x=5"], "site.power.x: no such key; site.power has ppa_mw, ppa_usd_per_mwh,"),
    (["market.btc.nope=1"], "market.btc.nope: no such key, or a mapping that cannot be replaced"),
    # a key of a strategy not run: its hint was '+strategy.threshold...', silently unused
    (["strategy=phased", "strategy.threshold.margin_below=0.2"],
     "strategy.threshold.margin_below: strategy threshold is not among the strategies run "
     "(strategy=[phased]); select it to set its keys, e.g. strategy=[phased,threshold] "
     "strategy.threshold.margin_below=0.2"),
    # a strategy run given a value, not keys: it was left out of the run without a word
    (["strategy.phased=3"], "strategy.phased=3: must be a group of keys, the strategy's settings "
                            "(strategy.phased.KEY=VALUE); to leave phased out, choose the "
                            "strategies run: 'strategy=[...]'"),
    (["strategy=[stay_mining,phased]", "strategy.stay_mining=null"],
     "strategy.stay_mining=null: must be a group of keys"),
    (["strategy=phased", "strategy.phased.blocks_per_quartr=2"],  # run, misspelt: as before
     "strategy.phased.blocks_per_quartr: no such key, or a mapping that cannot be replaced"),
    (["site.blocks=2.5"], "site.blocks=2.5: must be a whole number in [1, 100000]"),
    (["site.grid_mw=abc"], "site.grid_mw='abc': must be a number > 0"),
    (["run.progress=maybe"], "run.progress='maybe': must be true or false"),
    (["site.power=3"], "site.power=3: must be a group of keys"),
    (["site.pool_fee=nan"], "site.pool_fee=nan: must be a finite number"),
    (["site.start_date=notadate"], "site.start_date='notadate': must be a date YYYY-MM-DD from 1970 to 2200, such as 2027-01-01"),
    (["site.power.ppa_mw=150"], "site.power.ppa_mw=150: must be in [0, 100] (site.grid_mw)"),
    (["run.until_confident=1"], "run.until_confident=1: must be in (0.5, 1)"),
    # a whole float keeps its '.0' (it said 'run.replications=1000: must be a whole number')
    (["run.replications=1e3"], "run.replications=1000.0: must be a whole number >= 1 (write 1000)"),
    # an interpolation that does not resolve (explore and optimize said 'site.grid_mw=null')
    (["site.grid_mw=${nope.x}"], "site.grid_mw=${nope.x}: the interpolation's key nope.x is not in the config"),
    (["run.until_confident=0.9"], "run.max_replications=null: must be set"),
    (["run.max_replications=5"], "run.max_replications=5: must be >= run.replications=1000"),
    (["run.detail=x"], "run.detail='x': must be one of monthly, summary"),
])
def test_schema_errors_are_one_line(overrides, message):
    with pytest.raises(UserError) as err:
        sim.compose(overrides)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize("rule, value, line", [
    (Number(low=1, integer=True), 1000.0, "k=1000.0: must be a whole number >= 1 (write 1000)"),
    (Number(low=1, integer=True, nullable=True), 1e6,
     "k=1000000.0: must be a whole number >= 1, or null (write 1000000)"),
    (Number(low=1, integer=True), 0.0, "k=0.0: must be a whole number >= 1"),
    (Number(low=0), -5.0, "k=-5: must be a number >= 0"),  # a float key: typed -5, as before
    (Choice(choices=("a", "b")), 3, "k=3: must be one of a, b"),
])
def test_a_refusal_by_the_configs_typing_shows_a_whole_float_as_typed(rule, value, line):
    """run.replications=1e3 said 'run.replications=1000: must be a whole number >= 1': the
    value shown without the '.0' that got it refused. `refusal` is the line for a value
    the config's typing refuses before the rule sees it."""
    assert rule.refusal("k", value) == line


@pytest.mark.parametrize("rule, value, message", [
    (Number(low=0, low_open=True), 0, "k=0: must be > 0"),
    (Number(low=0, high=1), 1.5, r"k=1.5: must be in \[0, 1\]"),
    (Number(low=0, high=1, low_open=True), 0.0, r"k=0: must be in \(0, 1\]"),
    (Number(high=9), 10.0, "k=10: must be <= 9"),
    (Number(low=0, high=1, low_open=True, high_open=True), 1.0, r"k=1: must be in \(0, 1\)"),
    (Number(high=9, high_open=True), 9, "k=9: must be < 9"),
    # a whole float for a whole number: 'k=2: must be a whole number' contradicted itself
    (Number(low=0, integer=True), 2.0, r"k=2\.0: must be a whole number >= 0 \(write 2\)$"),
    (Number(low=1, integer=True), -2.0, r"k=-2\.0: must be a whole number >= 1$"),
    (Number(low=1, integer=True), 2.5, r"k=2\.5: must be a whole number$"),
    (Number(low=0, integer=True), True, "k=True: must be a whole number"),
    (Number(), None, "k=null: must be a number"),
    (Number(), float("inf"), "k=inf: must be a finite number"),
    (Flag(), 1, "k=1: must be true or false"),
    (Choice(choices=("a", "b")), "c", "k='c': must be one of a, b"),
    (Text(), 3, "k=3: must be a string"),
    (Date(), "2027-02-30", "k='2027-02-30': must be a date YYYY-MM-DD from 1970 to 2200, such as 2027-01-01"),
])
def test_rules_name_key_value_and_what_is_allowed(rule, value, message):
    with pytest.raises(UserError, match=f"^{message}$"):
        rule.check(value, "k")


@pytest.mark.parametrize("rule, value", [
    (Number(low=0, high=1, low_open=True), 1),
    (Number(low=0.5, high=1, low_open=True, high_open=True), 0.999),
    (Number(low=0, integer=True, nullable=True), None),
    (Number(low=0, integer=True), np.int64(3)),
    (Flag(), np.bool_(True)),
    (Date(), "2027-02-28"),
    (Distribution(), "lognormal:3:0.2"),
    (Distribution(), {"dist": "uniform", "low": 1, "high": 2}),
])
def test_rules_accept_values_they_allow(rule, value):
    rule.check(value, "k")


@pytest.mark.parametrize("rule, words", [
    (Number(low=1, integer=True, nullable=True), "a whole number >= 1, or null"),
    (Number(low=0.5, high=1, low_open=True), "a number in (0.5, 1]"),
    (Number(), "a number"),
    (Choice(choices=("x", "y")), "one of x, y"),
])
def test_rules_describe_themselves(rule, words):
    assert rule.describe() == words


@dataclasses.dataclass
class _Pair:
    low: float = param(0.0, unit="-", doc="lower", low=0)
    inner: Settings = dataclasses.field(default_factory=Settings)

    def cross_check(self, prefix):
        if self.low > 5:
            raise UserError(f"{prefix}low: too high")


def test_check_fields_prefixes_keys_and_runs_cross_checks():
    with pytest.raises(UserError, match=r"^x\.low=-1: must be >= 0$"):
        check_fields(_Pair(low=-1.0), "x.")
    with pytest.raises(UserError, match=r"^x\.low: too high$"):
        check_fields(_Pair(low=6.0), "x.")
    bad = Settings()
    bad.site.power.ppa_mw = 150.0
    with pytest.raises(UserError, match=r"^site\.power\.ppa_mw=150: must be in \[0, 100\]"):
        check_fields(bad)
    bad.site.power.ppa_mw, bad.site.opex.hosting_usd_per_kw_month = 0.0, -1.0
    with pytest.raises(UserError, match=r"^site\.opex\.hosting_usd_per_kw_month=-1: must be >= 0$"):
        check_fields(bad)


# --- constructors check their arguments through the same schema ------------------------------
BUILT_INS = [GBM, JumpDiffusion, Network, SeasonalLogOU, AIMarket, PoissonRequests,
             StayMining, ConvertAll, Phased, Threshold, BuildToSuit]


@pytest.mark.parametrize("cls", BUILT_INS, ids=lambda c: c.__name__)
def test_built_in_constructors_describe_every_argument(cls):
    assert dataclasses.is_dataclass(cls)
    for key, meta in keys(cls):
        assert meta["doc"].strip() and meta["unit"].strip(), (cls.__name__, key)
    assert cls() == cls()  # the defaults pass the checks


def _option_files():
    for path in sorted(CONF.glob("market/*/*.yaml")) + sorted(CONF.glob("strategy/*.yaml")):
        node = _yaml(path)
        if "_target_" in node:
            yield path, node


@pytest.mark.parametrize("path, node", list(_option_files()), ids=lambda v: getattr(v, "stem", ""))
def test_shipped_options_name_exactly_their_constructor_arguments(path, node):
    module, _, name = node.pop("_target_").rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert set(node) == {key for key, _ in keys(cls)}, path


@settings_(max_examples=60, deadline=None)
@given(st.data())
def test_constructors_refuse_arguments_outside_their_rule(data):
    cls = data.draw(st.sampled_from([c for c in BUILT_INS if list(keys(c))]))
    name, meta = data.draw(st.sampled_from(list(keys(cls))))
    value = _outside(meta, data.draw)
    if value is None or value in ("nan", "inf"):
        value = float(value or "nan")
    with pytest.raises(UserError) as err:
        cls(**{name: value})
    assert str(err.value).startswith(f"{name}=") and "\n" not in str(err.value)


def test_strategy_run_state_is_not_compared():
    a, b = Threshold(), Threshold()
    a._armed = True
    assert a == b and "_armed" not in repr(a)
    with pytest.raises(UserError, match=r"^margin_above=0.3: must be >= margin_below=0.35$"):
        Threshold(margin_above=0.3)


def test_a_users_yaml_is_checked_against_the_schema(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "mine.yaml").write_text("defaults:\n  - default\n  - _self_\n\ngrid_mw: lots\n")
    with pytest.raises(UserError, match=r"^site.grid_mw='lots': must be a number > 0$"):
        sim.compose(["site=mine"], config_dirs=[tmp_path])
    (tmp_path / "site" / "mine.yaml").write_text("defaults:\n  - default\n  - _self_\n\ngrid_kw: 5\n")
    with pytest.raises(UserError, match=r"^site.grid_kw: "):
        sim.compose(["site=mine"], config_dirs=[tmp_path])


def test_sample_world_takes_settings_or_the_composed_config():
    cfg = sim.compose(["run.horizon_years=1"])
    from_settings, from_cfg = sim.sample_world(settings(cfg), 3), sim.sample_world(cfg, 3)
    np.testing.assert_array_equal(from_settings.btc_usd, from_cfg.btc_usd)
    np.testing.assert_array_equal(from_settings.difficulty, from_cfg.difficulty)


def test_overrides_given_as_one_string_or_a_path_are_one_item(tmp_path):
    assert sim.compose("run.replications=4").run.replications == 4
    assert sim.compose(["run.replications=4"], config_dirs=tmp_path).run.replications == 4
    assert sim.compose(["run.replications=4"], config_dirs=str(tmp_path)).run.replications == 4


@pytest.mark.parametrize("overrides, fragment", [
    ({"run.replications": 4}, "overrides: a list of 'key=value' strings, not a mapping"),
    ([4], "overrides: a list of 'key=value' strings; got 4 (int)"),
    (None, "overrides: a list of 'key=value' strings, not None"),
    (4, "overrides: a list of 'key=value' strings, not 4 (int)"),
])
def test_overrides_that_are_not_strings_are_named(overrides, fragment):
    """None or a number was refused by Python's TypeError, "'NoneType' object is not iterable",
    naming no argument."""
    with pytest.raises(UserError, match=re.escape(fragment)):
        sim.compose(overrides)


@pytest.mark.parametrize("config_dirs, fragment", [
    (None, "config_dirs=None: a config directory's path or a list of them"),
    (4, "config_dirs=4: a config directory's path or a list of them"),
    ([4], "config_dirs=4: a config directory's path or a list of them"),
])
def test_config_dirs_that_are_not_paths_are_named(config_dirs, fragment):
    with pytest.raises(UserError, match=re.escape(fragment)):
        sim.compose([], config_dirs=config_dirs)


@pytest.mark.parametrize("cfg", [["run.replications=4"], {"run": {"replications": 4}},
                                 "run.replications=4"])
def test_a_run_of_anything_but_a_composed_config_is_named(cfg):
    with pytest.raises(UserError, match=r"^cfg: a config made by sim.compose\(\[\.\.\.\]\), not a "):
        sim.run(cfg)


@pytest.mark.parametrize("override, shown", [("run.progress=2", "2"), ("run.progress=off", "'off'"),
                                             ("site.sign_converting='true'", "'true'"),
                                             ("run.event_log=1.5", "1.5")])
def test_a_flag_given_anything_but_true_or_false_is_refused(override, shown):
    """OmegaConf reads 2, 'off', the string 'true' and 1.0 as bools; a user who typed them
    may have meant another key or a count, so the line names the key and what it takes."""
    key = override.split("=")[0]
    with pytest.raises(UserError, match=f"^{re.escape(key)}={re.escape(shown)}: must be true or false$"):
        sim.compose([override])


def test_a_flag_given_true_or_false_is_taken():
    assert sim.compose(["run.progress=false"]).run.progress is False
    assert sim.compose(["run.progress=TRUE"]).run.progress is True


@pytest.mark.parametrize("given, written", [
    ("site.conversion.decommission_days={dist:lognormal,median:12,sigma:0.3}",
     "site.conversion.decommission_days=lognormal:12:0.3"),
    ("+a.b={dist:fixed,value:3}", "+a.b=fixed:3"),
    ("k={dist:fixed,value:3},{dist:uniform,low:1,high:2.5}", "k=fixed:3,uniform:1:2.5"),
    ("k={dist:fixed,value:3,extra:1}", "k={dist:fixed,value:3,extra:1}"),  # for the checks to name
    ("k={dist:nonesuch,value:3}", "k={dist:nonesuch,value:3}"),
    ("run.replications=5", "run.replications=5"),
    ("~site.conversion.decommission_days", "~site.conversion.decommission_days"),
])
def test_a_distribution_mapping_on_the_command_line_is_written_short(given, written):
    assert distributions_in_short_form([given]) == [written]


def test_a_distribution_of_another_kind_than_the_default_can_be_given_as_a_mapping():
    """Hydra merged {dist: lognormal, ...} into the default {dist: fixed, value: 30} and
    refused 'median' as a key that does not exist."""
    cfg = sim.compose(["site.conversion.decommission_days={dist:lognormal,median:12,sigma:0.3}",
                       "market.demand.mw_it={dist:fixed,value:20}"])
    parse = distributions.parse
    assert parse(cfg.site.conversion.decommission_days) == parse("lognormal:12:0.3")
    assert parse(cfg.market.demand.mw_it) == parse({"dist": "fixed", "value": 20})


def test_the_command_line_takes_a_distribution_mapping_of_another_kind(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli_main(["site.conversion.decommission_days={dist:lognormal,median:12,sigma:0.3}",
                 "--cfg", "job"]) == 0
    assert "decommission_days: lognormal:12:0.3" in capsys.readouterr().out
