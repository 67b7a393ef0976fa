"""Distributions: the string and mapping forms, their checks, their moments and their draws."""

import dataclasses
import math
import pickle
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import distributions
from sim.distributions import (DISTRIBUTIONS, Distribution, Exponential, Fixed, Lognormal,
                               Uniform, parse)
from sim.errors import UserError

KEY = "site.conversion.retrofit_days"
PARAMETERS = {"fixed": ("value",), "exponential": ("mean",), "lognormal": ("median", "sigma"),
              "uniform": ("low", "high")}

numbers = st.one_of(st.floats(0, 1e12, allow_nan=False, allow_infinity=False),
                    st.integers(0, 10 ** 9))


@st.composite
def kinds_and_values(draw):
    """A kind and valid parameter values for it (low <= high for uniform)."""
    kind = draw(st.sampled_from(sorted(PARAMETERS)))
    values = [draw(numbers) for _ in PARAMETERS[kind]]
    if kind == "uniform":
        values.sort()
    return kind, values


def spec_of(kind, values) -> dict:
    """Return the mapping form of `kind` with `values`."""
    return {"dist": kind, **dict(zip(PARAMETERS[kind], values))}


# --- the two forms and repr --------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(kinds_and_values())
def test_repr_reads_back_as_an_equal_distribution(case):
    dist = parse(spec_of(*case), KEY)
    assert parse(repr(dist), KEY) == dist
    assert parse(dist.as_dict(), KEY) == dist
    assert hash(parse(repr(dist))) == hash(dist)


@settings(max_examples=200, deadline=None)
@given(kinds_and_values())
def test_string_and_mapping_give_equal_objects(case):
    kind, values = case
    text = ":".join([kind, *(str(v) for v in values)])
    from_text, from_mapping = parse(text, KEY), parse(spec_of(kind, values), KEY)
    assert from_text == from_mapping
    assert type(from_text) is DISTRIBUTIONS[kind]
    assert list(from_text.parameters().values()) == [float(v) for v in values]


def test_the_forms_read_today_are_the_classes():
    assert parse("lognormal:335:0.3") == Lognormal(median=335, sigma=0.3)
    assert parse("fixed:10") == Fixed(10)
    assert parse("uniform:10:50") == Uniform(low=10, high=50)
    assert parse("exponential:365") == Exponential(mean=365)
    assert parse({"dist": "lognormal", "median": 335, "sigma": 0.3}) == Lognormal(335, 0.3)
    assert repr(Lognormal(335, 0.3)) == "lognormal:335:0.3"
    assert repr(Fixed(9e6)) == "fixed:9000000"
    assert Lognormal(335, 0.3) != Lognormal(335, 0.31)
    assert Fixed(10) != Exponential(10)


def test_parse_returns_a_distribution_as_it_is():
    dist = Uniform(1, 2)
    assert parse(dist, KEY) is dist


def test_distributions_are_immutable_and_travel():
    dist = Lognormal(335, 0.3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dist.sigma = 1.0
    assert pickle.loads(pickle.dumps(dist)) == dist

    @dataclasses.dataclass
    class Conversion:  # a dataclass default must be hashable
        retrofit_days: Distribution = Lognormal(335, 0.3)

    assert Conversion().retrofit_days.median == 335


# --- checks -----------------------------------------------------------------------------
@pytest.mark.parametrize("spec, message", [
    ({"dist": "lognormal", "median": 335, "sigma": -1}, f"{KEY}.sigma=-1 must be >= 0"),
    ("lognormal:335:-1", f"{KEY}.sigma=-1.0 must be >= 0"),
    ({"dist": "fixed", "value": float("nan")}, f"{KEY}.value=nan must be a finite number"),
    ("exponential:inf", f"{KEY}.mean=inf must be a finite number"),
    ({"dist": "fixed", "value": "10"}, f"{KEY}.value='10' must be a finite number"),
    ({"dist": "fixed", "value": True}, f"{KEY}.value=True must be a finite number"),
    ({"dist": "uniform", "low": 50, "high": 10}, f"{KEY}.low=50 must be <= {KEY}.high=10"),
    ("uniform:50:10", f"{KEY}.low=50.0 must be <= {KEY}.high=10.0"),
    ("weibull:3", f"{KEY}='weibull:3' must start with one of fixed, exponential, lognormal"),
    ({"dist": "weibull", "k": 3}, f"{KEY}.dist='weibull' is not one of fixed, exponential"),
    ("lognormal:335", f"{KEY}='lognormal:335': lognormal takes 2 number(s), "
                      "lognormal:median:sigma"),
    ("fixed:1:2", f"{KEY}='fixed:1:2': fixed takes 1 number(s), fixed:value"),
    ("uniform:ten:50", f"{KEY}='uniform:ten:50': the parameters must be numbers"),
    ({"dist": "lognormal", "median": 20}, f"{KEY} (lognormal) takes exactly median, sigma; "
                                          "got median"),
    ({"dist": "fixed", "value": 1, "sigma": 2}, f"{KEY} (fixed) takes exactly value; "
                                                "got sigma, value"),
    (4383, f"{KEY}=4383 must be a distribution such as"),
    ({"median": 20}, f"{KEY}=.* must be a distribution such as"),
])
def test_bad_specs_raise_a_user_error_naming_the_key(spec, message):
    with pytest.raises(UserError, match="^" + re.escape(message).replace(r"\.\*", ".*")):
        distributions.check(spec, KEY)


@settings(max_examples=100, deadline=None)
@given(kinds_and_values(), st.data())
def test_a_bad_parameter_is_named_with_its_value(case, data):
    kind, values = case
    index = data.draw(st.integers(0, len(values) - 1))
    bad = data.draw(st.one_of(st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False),
                              st.sampled_from([float("nan"), float("inf"), float("-inf")])))
    values[index] = bad
    name = PARAMETERS[kind][index]
    for spec in (spec_of(kind, values), ":".join([kind, *(repr(v) for v in values)])):
        with pytest.raises(UserError, match=re.escape(f"{KEY}.{name}=")) as error:
            parse(spec, KEY)
        assert "must be" in str(error.value)


def test_constructors_check_their_parameters():
    with pytest.raises(UserError, match=r"^lognormal\.sigma=-2 must be >= 0$"):
        Lognormal(1, -2)
    with pytest.raises(UserError, match=r"^mw_it\.low=3 must be <= mw_it\.high=2$"):
        Uniform(3, 2, key="mw_it")
    assert Uniform(2, 2).sample(np.random.default_rng(0), 3).tolist() == [2.0, 2.0, 2.0]


class NegativeDays(Distribution):
    """A deliberately broken plug-in: it draws negative numbers."""

    kind = "negative"

    def __init__(self):
        self.mean = self.median = 1.0

    def parameters(self):
        return {}

    def sample(self, rng, size):
        return -np.ones(size)


class ShortDraws(NegativeDays):
    """A deliberately broken plug-in: it draws one number fewer than asked."""

    def sample(self, rng, size):
        return np.ones(size - 1)


def test_a_broken_plugin_is_reported_not_used():
    rng = np.random.default_rng(0)
    with pytest.raises(UserError, match=r"^negative drew -1\.0; wanted finite numbers >= 0$"):
        NegativeDays().draw(rng, 4)
    with pytest.raises(UserError, match=r"shape \(3,\); wanted \(4,\)"):
        ShortDraws().draw(rng, 4)


# --- moments: closed forms, and samples that converge to them -----------------------------
CASES = [  # (distribution, closed-form mean, median, standard deviation, density at median)
    (Fixed(30), 30.0, 30.0, 0.0, None),
    (Exponential(365), 365.0, 365 * math.log(2), 365.0, 1 / (2 * 365)),
    (Lognormal(335, 0.3), 335 * math.exp(0.045), 335.0,
     335 * math.sqrt(math.exp(0.09) * (math.exp(0.09) - 1)),
     1 / (335 * 0.3 * math.sqrt(2 * math.pi))),
    (Lognormal(9e6, 0.15), 9e6 * math.exp(0.01125), 9e6,
     9e6 * math.sqrt(math.exp(0.0225) * (math.exp(0.0225) - 1)),
     1 / (9e6 * 0.15 * math.sqrt(2 * math.pi))),
    (Lognormal(540, 0), 540.0, 540.0, 0.0, None),
    (Uniform(10, 50), 30.0, 30.0, 40 / math.sqrt(12), 1 / 40),
    (Uniform(7, 7), 7.0, 7.0, 0.0, None),
]


@pytest.mark.parametrize("dist, mean, median, sd, density", CASES, ids=repr)
def test_mean_and_median_are_the_closed_forms(dist, mean, median, sd, density):
    assert dist.mean == pytest.approx(mean, rel=1e-12)
    assert dist.median == pytest.approx(median, rel=1e-12)
    assert distributions.mean(dist.as_dict()) == dist.mean
    assert distributions.median(repr(dist)) == dist.median
    assert isinstance(dist.mean, float) and isinstance(dist.median, float)


@pytest.mark.parametrize("dist, mean, median, sd, density", CASES, ids=repr)
def test_samples_converge_to_the_mean_and_median(dist, mean, median, sd, density):
    n = 400_000
    draws = dist.sample(np.random.default_rng(np.random.SeedSequence(2026)), n)
    # Six standard errors: the mean's is sd/√n, the median's 1/(2 f(median) √n).
    assert abs(draws.mean() - mean) <= 6 * sd / math.sqrt(n) + 1e-9 * mean
    if density is None:
        assert np.all(draws == median)
    else:
        assert abs(np.median(draws) - median) <= 6 / (2 * density * math.sqrt(n))


# --- draws are the numbers the project has always drawn ---------------------------------
@pytest.mark.parametrize("seed", [0, 7, 2026])
def test_draws_are_todays_numbers(seed):
    size = 9
    got = np.random.default_rng(seed)
    draws = [distributions.draw({"dist": "fixed", "value": 30}, got, size),
             distributions.draw({"dist": "lognormal", "median": 335, "sigma": 0.3}, got, size),
             distributions.draw("lognormal:9e6:0.15", got, size),
             distributions.draw(Exponential(365), got, size),
             distributions.draw("uniform:10:50", got, size)]
    rng = np.random.default_rng(seed)
    expected = [np.full(size, 30.0),
                335 * np.exp(0.3 * rng.standard_normal(size)),
                9e6 * np.exp(0.15 * rng.standard_normal(size)),
                rng.exponential(365, size),
                rng.uniform(10, 50, size)]
    for a, b in zip(draws, expected):
        assert a.dtype == np.float64 and a.tobytes() == b.tobytes()
    assert got.bit_generator.state == rng.bit_generator.state


def test_deterministic_draws_are_the_mean_repeated_and_use_no_rng():
    for spec in ("fixed:30", {"dist": "exponential", "mean": 365}, "lognormal:335:0.3",
                 {"dist": "uniform", "low": 10, "high": 50}):
        mean = distributions.mean(spec)
        drawn = distributions.draw(spec, None, 4, deterministic=True)
        assert drawn.dtype == np.float64 and drawn.tolist() == [mean] * 4
    assert distributions.draw("exponential:365", None, 2, True).tolist() == [365.0, 365.0]
    assert distributions.mean("lognormal:335:0.3") == 335 * np.exp(0.3 ** 2 / 2)


def test_registry_names_each_class_by_its_kind():
    assert set(DISTRIBUTIONS) == set(PARAMETERS)
    for kind, cls in DISTRIBUTIONS.items():
        assert cls.kind == kind
        assert [f.name for f in dataclasses.fields(cls)] == list(PARAMETERS[kind])


def test_normalise_gives_the_checked_mapping():
    assert distributions.normalise("lognormal:335:0.3") == {"dist": "lognormal",
                                                            "median": 335.0, "sigma": 0.3}
    assert distributions.normalise(Fixed(3)) == {"dist": "fixed", "value": 3.0}
