"""Fuzz: every bad command line is refused in one line naming the key, before any directory.

Hypothesis draws bad command lines from what each key allows, read from the same rules
that check it (`sim.params`): every key of the schema and every constructor argument of
every shipped market process and strategy gets wrong types, values out of range, NaN and
infinities, malformed distributions and dates; beside them come unknown options, unknown
keys (with and without `+`), sweeps with one bad point, and pairs of values each allowed
alone. The count and the seed are fixed (`derandomize=True`): CI runs the same lines.

- 1,000 go through the path the CLI's Preflight callback takes (`preflight_line`): one
  line naming the key. A call of `main` costs ~0.4-0.6 s (Hydra composes the whole tree
  twice), far over CI's budget for a thousand; this path costs ~30-50 ms.
- 15 go through `sim.cli.main` in-process: exit 2, one line on stderr naming the key,
  nothing left in the directory it ran in, and the very line the bulk path found.
- 5 go through the installed console script (slow).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import math
import os
import string
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hydra._internal.config_loader_impl import ConfigLoaderImpl
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

import sim
from sim import distributions
from sim.cli import main
from sim.cli.preflight import check_job, sweep_jobs
from sim.config_errors import hydra_error_line
from sim.config_tree import config_dir
from sim.errors import UserError
from sim.params import Choice, Date, Distribution, Flag, Number, Text, keys
from sim.processes.demand import Phases
from sim.schema import Settings
from history_files import HISTORY_FILES

CONF = config_dir()
#: Hydra reads these words as something other than a string.
HYDRA_WORDS = {"true", "false", "null", "nan", "inf", "infinity", "on", "off", "yes", "no",
               "y", "n", "t", "f"}
#: Overrides that keep a wrongly accepted command line short (it would run, and fail the test).
QUICK = {"run.replications": "2", "run.horizon_years": "1", "run.progress": "false",
         "run.compare": "false"}
GROUPS = ("market/btc", "market/network", "market/power", "market/ai", "market/demand",
          "site", "fleet", "strategy")


# --- every key and its rule --------------------------------------------------------------------
def _option_keys():
    """Yield (key, rule, selectors) for each argument of each shipped market and strategy option."""
    for path in sorted(CONF.glob("market/*/*.yaml")):
        group, option = path.parent.name, path.stem
        selectors = [f"market/{group}={option}", *HISTORY_FILES.get(f"market/{group}={option}", [])]
        node = sim.compose(selectors)["market"][group]
        yield from _fields(node["_target_"], f"market.{group}.", selectors)
    for path in sorted(CONF.glob("strategy/*.yaml")):
        option = path.stem
        target = OmegaConf.load(path)["_target_"]
        yield from _fields(target, f"strategy.{option}.", [f"strategy={option}"])


def _fields(target: str, prefix: str, selectors: list[str]):
    module, _, name = target.rpartition(".")
    cls = getattr(__import__(module, fromlist=[name]), name)
    for spec in dataclasses.fields(cls):
        if "rule" in spec.metadata:
            yield f"{prefix}{spec.name}", spec.metadata["rule"], selectors


KEYS = [(key, meta["rule"], []) for key, meta in keys(Settings)] + list(_option_keys())
SECTIONS = sorted({key.rpartition(".")[0] for key, _, _ in KEYS})


# --- bad values, by rule ------------------------------------------------------------------------
WORDS = st.text(string.ascii_letters, min_size=1, max_size=8).filter(
    lambda w: w.lower() not in HYDRA_WORDS)
NON_FINITE = st.sampled_from(["nan", "inf", "-inf", "NaN", "+inf", "-INF"])
BAD_DATES = st.one_of(
    st.sampled_from(["01/02/2027", "2027/01/01", "20270101", "2027-1-1", "2027-02-30",
                     "2027-13-01", "2027-00-10", "27-01-01", "tomorrow", "2027-01-01T00:00"]),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
    st.dates().map(lambda d: d.strftime("%m-%d-%Y")))
BAD_DISTRIBUTIONS = st.one_of(
    st.sampled_from(["uniform:50:10", "lognormal:abc:1", "lognormal:12", "fixed", "fixed:-1",
                     "fixed:nan", "exponential:inf", "normal:0:1", "uniform:1:2:3",
                     "{dist: nope}", "{dist: lognormal, median: 12}",
                     "{dist: fixed, value: -3}", "{dist: uniform, low: 5, high: 1}"]),
    st.tuples(st.integers(2, 10**6), st.integers(1, 10**6)).map(
        lambda t: f"uniform:{t[0] + t[1]}:{t[0]}"),
    st.floats(1e-3, 1e6).map(lambda s: f"lognormal:12:{-s!r}"),
    st.floats(1e-3, 1e6).map(lambda v: f"fixed:{-v!r}"),
    WORDS.map(lambda w: f"{w}:1:2"))


def _number(rule: Number):
    choices = [NON_FINITE, WORDS, st.sampled_from(["true", "false", "[1,2]"])]
    if rule.integer:
        choices.append(st.integers(-10**6, 10**6).map(lambda n: f"{n}.5"))
    if rule.low is not None:
        if rule.integer:
            choices.append(st.integers(1, 10**6).map(lambda d: str(math.ceil(rule.low) - d)))
        else:
            choices.append(st.floats(1e-3, 1e6).map(lambda d: repr(rule.low - d)))
        if rule.low_open:
            choices.append(st.just(repr(rule.low)))
    if rule.high is not None:
        if rule.integer:
            choices.append(st.integers(1, 10**6).map(lambda d: str(math.floor(rule.high) + d)))
        else:
            choices.append(st.floats(1e-3, 1e6).map(lambda d: repr(rule.high + d)))
    if rule.among is not None:  # in range, but none of the values allowed
        choices.append(st.integers(math.ceil(rule.low), math.floor(rule.high))
                       .filter(lambda n: n not in rule.among).map(str))
    return st.one_of(choices)


def bad_values(rule):
    """Return a strategy of values (as Hydra override text) that `rule` refuses."""
    if isinstance(rule, Number):
        return _number(rule)
    if isinstance(rule, Choice):
        return st.one_of(WORDS.filter(lambda w: w not in rule.choices),
                         st.integers(-9, 9).map(str), NON_FINITE)
    if isinstance(rule, Flag):
        return st.one_of(WORDS, st.sampled_from(["2.5", "-1.5", "nan", "[1,2]"]))
    if isinstance(rule, Date):
        return BAD_DATES
    if isinstance(rule, Distribution):
        return BAD_DISTRIBUTIONS
    if isinstance(rule, Text):
        return st.sampled_from(["[1,2]", "{a: 1}"])
    if isinstance(rule, Phases):
        return st.sampled_from(["[]", "[[0.5,365]]", "[[0.6,700],[0.4,365]]", "[[1.0]]", "soon",
                                "[[0.5,365],[0.5,-1]]", "[[0,365],[1,400]]", "[[1,nan]]", "7"])
    raise AssertionError(f"no bad values for {rule!r}")


def default_text(key: str, selectors: tuple[str, ...]) -> str:
    """Return the key's value in the config these selectors compose, as override text."""
    value = OmegaConf.select(_composed(selectors), key)
    if isinstance(value, DictConfig):  # a distribution spec: its shorthand
        return repr(distributions.parse(OmegaConf.to_container(value), key))
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value) if isinstance(value, float) else str(value)


# --- bad command lines: (flags and overrides, the key the error must name) ----------------------
@st.composite
def bad_key_value(draw):
    key, rule, selectors = draw(st.sampled_from(KEYS))
    return [*selectors, f"{key}={draw(bad_values(rule))}"], key


@st.composite
def bad_sweep(draw):
    key, rule, selectors = draw(st.sampled_from(KEYS))
    bad = draw(bad_values(rule).filter(lambda v: not v.startswith(("[", "{"))))
    points = [default_text(key, tuple(selectors)), bad]
    if draw(st.booleans()):
        points.reverse()
    return ["-m", *selectors, f"{key}={','.join(points)}"], key


@st.composite
def unknown_option(draw):
    group = draw(st.sampled_from(GROUPS))
    word = draw(st.sampled_from(["nope", "Base", "gbm2", "ercot_", "x"]))  # each composed once
    return [f"{group}={word}"], f"{group}={word}"


@st.composite
def unknown_key(draw):
    section = draw(st.sampled_from(SECTIONS))
    word = draw(WORDS.map(str.lower))
    selectors = next(s for k, _, s in KEYS if k.startswith(section + "."))
    plus = draw(st.sampled_from(["", "+"]))  # `+key=` adds a key: refused all the same
    return [*selectors, f"{plus}{section}.{word}_nope=1"], f"{section}.{word}_nope"


#: Bad pairs of values, each allowed alone: (overrides, the key named).
CROSS = [
    (["run.max_replications=5", "run.replications=10"], "run.max_replications"),
    (["run.until_confident=0.9"], "run.max_replications"),
    (["site.power.ppa_mw=150", "site.grid_mw=100"], "site.power.ppa_mw"),
    (["strategy=threshold", "strategy.threshold.margin_above=0.1"], "strategy.threshold.margin_above"),
    (["market.power.cap_usd_per_mwh=30"], "market.power.cap_usd_per_mwh"),
    (["strategy=phased", "strategy.phased.use=cloud", "site.cloud.gpus_per_mw_it=0"],
     "site.cloud.gpus_per_mw_it"),
    (["market.demand.mw_it=fixed:0"], "market.demand.mw_it"),
    (["run.horizon_years=0.001"], "run.horizon_years"),
]

#: Mostly one bad value; then sweeps, unknown keys, unknown options and bad pairs.
BAD_COMMAND_LINES = st.one_of(*[bad_key_value()] * 6, bad_sweep(), bad_sweep(), unknown_key(),
                              unknown_option(), st.sampled_from(CROSS))


# --- the bulk: the Preflight path, without Hydra's composition of the whole tree each time -------
@functools.cache
def _composed(selectors: tuple[str, ...]):
    """Return the config composed with these group choices, or its error (each set once)."""
    try:
        return sim.compose(list(selectors))
    except UserError as err:
        return err


def preflight_line(args: list[str]) -> str:
    """Return the line `hashpivot args` refuses with, found as its Preflight callback finds it.

    Group choices (`market/ai=glut`, `strategy=phased`) are composed once per set; the
    key=value overrides (each job's, for `-m`) are applied to a copy by Hydra's own code
    (`ConfigLoaderImpl._apply_overrides_to_config`, as in every composition), and the
    job is checked by `sim.cli.preflight.check_job`. Returns '' for a command line it accepts.
    """
    overrides = [a for a in args if not a.startswith("-")]
    groups = tuple(o for o in overrides if _is_group(o))
    values = [o for o in overrides if not _is_group(o)]
    try:
        jobs = sweep_jobs(values) if "-m" in args else [values]
        base = _composed(groups)
        if isinstance(base, UserError):
            raise base
        for job in jobs:
            cfg = copy.deepcopy(base)
            ConfigLoaderImpl._apply_overrides_to_config(PARSER.parse_overrides(job), cfg)
            check_job(cfg)
    except UserError as err:
        return str(err)
    except (HydraException, OmegaConfBaseException) as err:
        return hydra_error_line(err)
    return ""


def _is_group(override: str) -> bool:
    key = override.split("=", 1)[0]
    return "/" in key or key in ("site", "fleet", "strategy")


PARSER = OverridesParser.create()
#: Command lines checked through the Preflight path (~0.1 s each on an idle core since the
#: config gained the snapshot and finance sections; 400 keep the suite within its budget).
BULK_EXAMPLES = 400
#: Command lines through `sim.cli.main` in-process (~0.4 s each: Hydra composes twice).
IN_PROCESS_EXAMPLES = 15
FUZZ = dict(derandomize=True, deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no tracing "explain"
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                   HealthCheck.function_scoped_fixture])


@settings(max_examples=BULK_EXAMPLES, **FUZZ)
@given(case=BAD_COMMAND_LINES)
def test_bad_command_lines_are_refused_in_one_line_naming_the_key(case):
    args, key = case
    line = preflight_line(args)
    assert line and "\n" not in line and key in line, (args, line)


def refused(args: list[str], capsys) -> str:
    """Run `hashpivot args` in-process in an empty directory; return its one line of refusal."""
    flags = [a for a in args if a.startswith("-")]
    overrides = [a for a in args if not a.startswith("-")]
    named = {o.split("=", 1)[0] for o in overrides}
    quick = [f"{k}={v}" for k, v in QUICK.items() if k not in named]
    here = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        try:
            code = main([*flags, *quick, *overrides, f"hydra.run.dir={folder}/run",
                         f"hydra.sweep.dir={folder}/sweep"])
        finally:
            os.chdir(here)
        left = os.listdir(folder)
    err = capsys.readouterr().err.strip()
    assert code == 2, (args, err)
    assert err.startswith("hashpivot: error: ") and err.count("\n") == 0, (args, err)
    assert left == [], (args, left)
    return err.removeprefix("hashpivot: error: ")


@settings(max_examples=IN_PROCESS_EXAMPLES, **FUZZ)
@given(case=BAD_COMMAND_LINES)
def test_the_command_line_refuses_them_the_same_way(case, capsys):
    """Through `main`: exit 2, one line naming the key, no directory; the bulk's line exactly."""
    args, key = case
    line = refused(args, capsys)
    assert key in line, (args, line)
    assert line == preflight_line(args)


def test_every_key_has_bad_values_and_a_good_one():
    """The fuzzer covers every key: the schema's and every shipped option's arguments."""
    names = {key for key, _, _ in KEYS}
    assert {key for key, _ in keys(Settings)} <= names
    for expected in ("strategy.phased.blocks_per_quarter", "strategy.threshold.margin_below",
                     "market.btc.jumps_per_year", "market.power.cap_usd_per_mwh",
                     "market.demand.mw_it", "market.network.start_difficulty",
                     "market.ai.start_regime", "site.start_date", "run.ray.timeout_s"):
        assert expected in names, expected
    for key, rule, selectors in KEYS:  # the good point of a bad sweep is good
        rule.check(_parsed(default_text(key, tuple(selectors))), key)


def _parsed(text: str):
    """Return override text as Hydra would hand it on (numbers, booleans, strings)."""
    return PARSER.parse_override(f"k={text}").value()


#: The issue's cases, through the console script: (arguments, the key named).
THROUGH_THE_SHELL = [
    (["strategy=phased", "strategy.phased.blocks_per_quarter=abc"], "strategy.phased.blocks_per_quarter"),
    (["market.demand.rate_per_year=nan"], "market.demand.rate_per_year"),
    (["-m", "market.btc.start_usd=90000,-1"], "market.btc.start_usd"),
    (["site.start_date=01/02/2027"], "site.start_date"),
    (["hydra.run.dir=/proc/nope"], "hydra.run.dir"),
]


@pytest.mark.slow
@pytest.mark.parametrize("args, key", THROUGH_THE_SHELL)
def test_bad_command_lines_through_the_console_script(args, key, tmp_path):
    exe = Path(sys.executable).with_name("hashpivot")
    flags = [a for a in args if a.startswith("-")]
    done = subprocess.run([str(exe), *flags, *[a for a in args if not a.startswith("-")],
                           "run.replications=2", "run.progress=false"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    err = done.stderr.strip()
    assert done.returncode == 2 and err.count("\n") == 0 and key in err, err
    assert list(tmp_path.iterdir()) == []
