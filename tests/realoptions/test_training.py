"""The real_option strategy's training: its worlds, its exercise values, the rule it learns."""

import numpy as np
import pytest

import sim
from sim.config import build_strategies, settings
from sim.ledger import Account
from sim.realoptions import training
from sim.realoptions.strategy import FEATURES, NotTrained, RealOption, features
from sim.site import simulate
from sim.view import MarketView

SMALL = ["run.horizon_years=3", "site.blocks=4", "site.grid_mw=40", "run.detail=summary",
         "strategy.real_option.training_replications=12"]
TRIO = "strategy=[stay_mining,convert_all,real_option]"


def npv(cfg, world, strategy):
    return Account(cfg, world, simulate(cfg, world, strategy)).present_values()["npv_usd"]


def test_training_worlds_come_from_a_seed_stream_of_their_own(compose_small, monkeypatch):
    cfg = settings(compose_small(TRIO, *SMALL))
    seeds = []
    real = training.sample_world
    monkeypatch.setattr(training, "sample_world",
                        lambda c, r, processes=None: seeds.append(c.run.seed) or real(c, r, processes))
    policy = training.train(cfg, build_strategies(cfg)["real_option"])
    assert set(seeds) == {training.training_seed(cfg.run.seed)} != {cfg.run.seed}
    assert len(seeds) == policy.training_replications == 12
    assert training.training_seed(5) == training.training_seed(5) != training.training_seed(6)


def test_starting_on_day_0_is_convert_all(compose_small):
    """The exercise value on day 0 is convert_all's NPV less stay_mining's, world by world."""
    cfg = settings(compose_small(TRIO, *SMALL))
    strategies = build_strategies(cfg)
    for replication in range(3):
        world = sim.sample_world(cfg, replication)
        x, gains = training.exercise_values(cfg, world, strategies["real_option"])
        expected = npv(cfg, world, strategies["convert_all"]) - npv(cfg, world, strategies["stay_mining"])
        assert gains[0] == pytest.approx(expected, rel=1e-12, abs=1e-3)
        assert x.shape == (len(gains), len(FEATURES))


def test_features_read_only_the_past(compose_small):
    """Changing every path after the decision day changes none of the day's features."""
    cfg = settings(compose_small(*SMALL))
    world = sim.sample_world(cfg, 0)
    day = 200
    before = features(MarketView(world, day))
    for name in ("hashprice_usd_per_ph_day", "lease_usd_per_kw_month", "gpu_usd_per_hour",
                 "power_usd_per_mwh", "block_height"):
        path = getattr(world, name)
        changed = path.copy()
        changed[day + 1:] *= 3.0
        object.__setattr__(world, name, changed)
    requests = world.tenant_requests.copy()
    requests.loc[requests["day"] > day, "mw_it"] *= 5
    object.__setattr__(world, "tenant_requests", requests)
    np.testing.assert_array_equal(features(MarketView(world, day)), before)


REQUESTS = "[" + ",".join(f"[{day},8,3000,150,0]" for day in range(400, 1400, 60)) + "]"


@pytest.mark.parametrize("capex, twin", [(2.0e6, "convert_all"), (9.0e9, "stay_mining")])
def test_the_rule_converts_at_once_when_it_pays_and_never_when_it_loses(compose_constant, capex, twin):
    """On a flat market, waiting is worth nothing: start on day 0 if converting pays, else never."""
    cfg = compose_constant(TRIO, "run.replications=6", "run.horizon_years=4", "run.detail=summary",
                           "strategy.real_option.training_replications=8",
                           f"site.conversion.capex_usd_per_mw_it=fixed:{capex:g}",
                           f"market.demand.requests={REQUESTS}")
    result = sim.run(cfg)
    wide = result.summary.pivot(index="replication", columns="strategy", values="npv_usd")
    assert (wide["convert_all"] > wide["stay_mining"]).all() == (twin == "convert_all")
    np.testing.assert_allclose(wide["real_option"], wide[twin], rtol=1e-12)
    policy = result.info["policies"]["real_option"]
    assert policy["start_share_in_sample"] == (1.0 if twin == "convert_all" else 0.0)
    assert policy["rule"] in (("lsm", "start_now") if twin == "convert_all" else ("lsm", "never"))


def test_an_untrained_strategy_says_so(compose_small):
    cfg = settings(compose_small("strategy=real_option", *SMALL))
    with pytest.raises(NotTrained, match="no trained policy"):
        simulate(cfg, sim.sample_world(cfg, 0), RealOption())


def test_cross_validation_values_a_rule_on_worlds_it_was_not_fitted_on():
    """Exercising on step 1 pays 1 on every path, later nothing: every fold's rule takes it."""
    rng = np.random.default_rng(np.random.SeedSequence(7))
    state = rng.normal(size=(64, 6, 2))
    exercise = np.zeros((64, 6))
    exercise[:, 1] = 1.0
    options = dict(degree=1, basis="power", regress_exercise=True)
    assert training.cross_validated_usd(state, exercise, options) == pytest.approx(1.0)
    # Pure noise to exercise on: a rule fitted to it earns nothing reliable out of sample.
    noise = rng.normal(size=(64, 6))
    noise[:, 0] = 0.0
    validated = training.cross_validated_usd(state, noise, options)
    in_sample = training.lsm_value(state, noise, 1.0, **options).value
    assert validated < in_sample


@pytest.mark.parametrize("validated, start_now, rule", [(5.0, 3.0, "lsm"), (2.0, 3.0, "start_now"),
                                                        (-1.0, -2.0, "never"), (0.0, -1.0, "lsm")])
def test_the_fixed_rules_win_only_where_they_earned_more(validated, start_now, rule):
    assert training.choose_rule(validated, start_now) == rule


def test_the_same_seed_trains_the_same_policy(compose_small):
    cfg = settings(compose_small(TRIO, *SMALL))
    first, second = (training.train(cfg, build_strategies(cfg)["real_option"]) for _ in range(2))
    assert first.rule == second.rule and first.in_sample_usd == second.in_sample_usd
    assert first.cross_validated_usd == second.cross_validated_usd
    for a, b in zip(first.fit.rules, second.fit.rules):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.exercise, b.exercise)
