"""Config composition and checks: every bad value gets one line naming key, value and rule."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.config import build_processes, build_strategies, instantiate
from sim.errors import UserError


@pytest.mark.parametrize("overrides, check", [
    ([], lambda c: list(c.strategy) == ["stay_mining", "convert_all", "phased", "threshold",
                                        "build_to_suit"]),
    (["strategy=phased"], lambda c: list(c.strategy) == ["phased"]),
    (["strategy=[stay_mining,phased]", "strategy.phased.blocks_per_quarter=2"],
     lambda c: c.strategy.phased.blocks_per_quarter == 2 and len(c.strategy) == 2),
    (["market/ai=glut"], lambda c: c.market.ai.gpu_drift_per_year < 0),
    (["+experiment=cloud"], lambda c: c.strategy.convert_all.use == "cloud"),
    (["site.conversion.retrofit_days=fixed:300"], lambda c: c.site.conversion.retrofit_days == "fixed:300"),
])
def test_compose_applies_overrides(overrides, check):
    assert check(sim.compose(overrides))


def test_every_shipped_option_instantiates():
    """Each config group option builds (lightning-hydra-template's instantiate-all test)."""
    from sim.config import config_dir

    root = config_dir()
    for group in ["market/btc", "market/network", "market/power", "market/ai", "market/demand",
                  "fleet", "site"]:
        for option in sorted((root / group).glob("*.yaml")):
            cfg = sim.compose([f"{group}={option.stem}"])
            build_processes(cfg)
    for option in sorted((root / "strategy").glob("*.yaml")):
        assert list(build_strategies(sim.compose([f"strategy={option.stem}"]))) == [option.stem]


@pytest.mark.parametrize("overrides, fragment", [
    (["market/ai=nope"], "market/ai=nope: no such option; allowed: base, boom, glut"),
    (["site.grid_mw=-5"], "site.grid_mw=-5: must be > 0"),
    (["site.hosting.renewal_probability=1.5"], "site.hosting.renewal_probability=1.5: must be in [0, 1]"),
    (["run.horizon_years=0"], "run.horizon_years=0: must be in (0, 100]"),
    (["market.demand._target_=nowhere.Missing"], "market.demand._target_='nowhere.Missing': does not import"),
    (["run.executor=gpu"], "run.executor='gpu': must be one of serial, process, ray"),
    (["site.conversion.retrofit_days=weibull:3"], "site.conversion.retrofit_days='weibull:3'"),
    (["run.no_such_key=1"], "run.no_such_key: no such key"),
    (["strategy.phased.blocks_per_quarter=-1"], None),
])
def test_bad_values_are_named_in_one_line(overrides, fragment):
    with pytest.raises(UserError) as err:
        cfg = sim.compose(overrides)
        build_strategies(cfg)
    message = str(err.value)
    assert "\n" not in message
    if fragment:
        assert fragment in message


def test_constructor_errors_name_the_key():
    cfg = sim.compose(["strategy=phased", "strategy.phased.max_share=2"])
    with pytest.raises(UserError, match=r"strategy.phased.max_share=2 must be a share in \[0, 1\]"):
        build_strategies(cfg)
    with pytest.raises(UserError, match="market.network.start_difficulty"):
        instantiate(sim.compose(["market.network.start_difficulty=-1"]).market.network,
                    "market.network")


PROBABILITIES = ["site.pool_fee", "site.hosting.renewal_probability", "site.cloud.utilisation",
                 "fleet.failure_rate_per_year", "fleet.resale_share"]
POSITIVES = ["site.grid_mw", "site.blocks", "site.crews", "run.replications", "run.horizon_years",
             "site.cloud.gpu_life_years", "fleet.j_per_th", "run.chunk_size"]


@settings(max_examples=40, deadline=None)
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
