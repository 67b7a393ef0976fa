"""Search spaces: good specs parse to their dimension; bad ones are refused in one line naming the key."""

import pytest
from hypothesis import given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from sim.errors import UserError
from sim.optimize.space import Dimension, parse_space, read_space_file, split_assignment
from sim.strategies import Phased, Threshold

P = "strategy.phased."


@pytest.mark.parametrize(("key", "spec", "expected"), [
    (P + "blocks_per_quarter", "int:0:5", Dimension(P + "blocks_per_quarter", "int", 0, 5)),
    (P + "max_share", "float:0.2:1", Dimension(P + "max_share", "float", 0.2, 1.0)),
    (P + "max_share", "logfloat:0.05:1", Dimension(P + "max_share", "logfloat", 0.05, 1.0)),
    (P + "use", "choice:lease,cloud", Dimension(P + "use", "choice", choices=("lease", "cloud"))),
    (P + "prelease", "choice:true,false", Dimension(P + "prelease", "choice", choices=(True, False))),
    (P + "blocks_per_quarter", "choice:0,2,4", Dimension(P + "blocks_per_quarter", "choice", choices=(0, 2, 4))),
    (P + "max_share", {"type": "float", "low": 0.5, "high": 1}, Dimension(P + "max_share", "float", 0.5, 1.0)),
    (P + "use", {"choices": ["cloud"]}, Dimension(P + "use", "choice", choices=("cloud",))),
])
def test_good_specs_parse(key, spec, expected):
    (dimension,) = parse_space({key: spec}, "phased", Phased)
    assert dimension == expected
    again = parse_space({key: dimension.spec}, "phased", Phased)  # the canonical form reads back
    assert again == (dimension,)


@pytest.mark.parametrize(("key", "spec", "says"), [
    (P + "blocks_per_quarter", "float:0:3", "int:LOW:HIGH"),
    (P + "blocks_per_quarter", "int:0.5:3", "whole numbers"),
    (P + "blocks_per_quarter", "int:-1:3", ">= 0"),
    (P + "max_share", "float:0.5:0.5", "LOW must be below HIGH"),
    (P + "max_share", "float:0:1.5", "in [0, 1]"),
    (P + "max_share", "logfloat:0:1", "LOW > 0"),
    # it said "must be choice: of lease, cloud"
    (P + "use", "choice:lease,rent", "each choice must be one of lease, cloud (e.g. choice:lease,cloud)"),
    (P + "use", "float:0:1", "each choice must be one of lease, cloud (e.g. choice:lease,cloud)"),
    (P + "prelease", "int:0:1", "choice:true,false"),
    (P + "nope", "int:0:1", "not a parameter of strategy phased; allowed: strategy.phased.blocks_per_quarter"),
    ("site.blocks", "int:1:4", "not a parameter"),
    ("strategy.threshold.margin_below", "float:0:1", "not a parameter of strategy phased"),
    (P + "max_share", "uniform:0:1", "int:LOW:HIGH, float:LOW:HIGH"),
    (P + "max_share", "float:nan:1", "two finite numbers"),
    (P + "use", "choice:lease,lease", "listed twice"),
])
def test_bad_specs_name_the_key_and_what_is_allowed(key, spec, says):
    with pytest.raises(UserError) as err:
        parse_space({key: spec}, "phased", Phased)
    assert str(err.value).startswith(f"{key}={spec}: ")
    assert says in str(err.value)


_kinds = st.sampled_from(["int", "float", "logfloat", "choice", "uniform", "", "INT"])
_numbers = st.one_of(st.integers(-5, 20).map(str), st.floats(allow_nan=True).map(str),
                     st.text("0123456789.-e", max_size=4))


@st.composite
def bad_specs(draw):
    """A spec that cannot fit strategy.threshold.trailing_days (a whole number >= 1)."""
    kind = draw(_kinds)
    if kind in ("int", "float", "logfloat"):
        low, high = draw(_numbers), draw(_numbers)
        try:  # keep only those that are bad: not int, or not whole, or low >= high, or low < 1
            ok = (kind == "int" and float(low).is_integer() and float(high).is_integer()
                  and 1 <= float(low) < float(high))
        except ValueError:
            ok = False
        if ok:
            low = "0"
        return f"{kind}:{low}:{high}"
    if kind == "choice":
        return "choice:" + ",".join(draw(st.lists(st.sampled_from(["0", "-1", "x", "1.5", ""]),
                                                  min_size=1, max_size=3)))
    return f"{kind}:{draw(_numbers)}"


@settings_(max_examples=60, deadline=None)
@given(bad_specs())
def test_random_bad_specs_fail_in_one_line_naming_the_key(spec):
    key = "strategy.threshold.trailing_days"
    with pytest.raises(UserError) as err:
        parse_space({key: spec}, "threshold", Threshold)
    message = str(err.value)
    assert message.startswith(f"{key}={spec}: ") and "\n" not in message


def test_an_empty_space_and_a_spec_without_equals_are_refused():
    with pytest.raises(UserError, match=r"^space=\{\}: none given"):
        parse_space({}, "phased", Phased)
    with pytest.raises(UserError, match="must be KEY=SPEC"):
        split_assignment("strategy.phased.max_share")
    assert split_assignment("a.b=int:0:1") == ("a.b", "int:0:1")


def test_space_file(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("space:\n  strategy.phased.max_share: float:0.2:1\n"
                    "  strategy.phased.blocks_per_quarter: {type: int, low: 0, high: 3}\n"
                    "overrides: [market/ai=glut]\n")
    read = read_space_file(path)
    assert read["overrides"] == ["market/ai=glut"]
    dims = parse_space(read["space"], "phased", Phased)
    assert [d.spec for d in dims] == ["float:0.2:1", "int:0:3"]
    path.write_text("spaces: {}\n")
    with pytest.raises(UserError, match="must be a mapping with 'space'"):
        read_space_file(path)
    with pytest.raises(UserError, match="cannot be read"):
        read_space_file(tmp_path / "missing.yaml")


def test_contains():
    d = Dimension("k", "int", 0, 3)
    assert d.contains(2) and not d.contains(4) and not d.contains(1.5) and not d.contains(True)
    c = Dimension("k", "choice", choices=("lease", "cloud"))
    assert c.contains("cloud") and not c.contains("x")


class Flagged:
    """A plain-class strategy with a true/false parameter."""

    def __init__(self, levels=2, *args, prelease=False, **kwargs):
        self.levels, self.prelease = levels, prelease


def test_a_plain_class_takes_the_keyword_parameters_of_its_init():
    from plain_strategy import PlainPhased

    q = "strategy.plain_phased."
    (dimension,) = parse_space({q + "blocks_per_quarter": "int:0:4"}, "plain_phased", PlainPhased)
    assert dimension == Dimension(q + "blocks_per_quarter", "int", 0, 4)
    with pytest.raises(UserError) as err:
        parse_space({q + "args": "int:0:1"}, "plain_phased", PlainPhased)
    assert str(err.value) == (f"{q}args=int:0:1: not a parameter of strategy plain_phased; allowed: "
                              f"{q}blocks_per_quarter, {q}use")
    f = "strategy.flagged."
    assert parse_space({f + "prelease": "choice:true,false"}, "flagged", Flagged) == (
        Dimension(f + "prelease", "choice", choices=(True, False)),)
    with pytest.raises(UserError, match=r"a true/false parameter takes choice:true,false"):
        parse_space({f + "prelease": "int:0:1"}, "flagged", Flagged)
