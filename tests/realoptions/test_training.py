"""The real_option strategy's training: its worlds, its exercise values, the rule it learns."""

import copy
import dataclasses
import os
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from sim.config_checks import settings
from sim.config_objects import build_strategies
from sim.executors import make_executor
from sim.ledger import Account
from sim.realoptions import training
from sim.realoptions.strategy import FEATURES, NotTrained, RealOption, features
from sim.site import simulate
from sim.view import MarketView

SMALL = ["run.horizon_years=3", "site.blocks=4", "site.grid_mw=40", "run.detail=summary",
         "strategy.real_option.training_replications=12", "strategy.real_option.tranche_blocks=2"]
TRIO = "strategy=[stay_mining,convert_all,real_option]"


def npv(cfg, world, strategy):
    return Account(cfg, world, simulate(cfg, world, strategy)).present_values()["npv_usd"]


def test_training_worlds_come_from_a_seed_stream_of_their_own(compose_small, monkeypatch):
    cfg = settings(compose_small(TRIO, *SMALL))
    seeds = []
    real = training.iter_worlds
    monkeypatch.setattr(training, "iter_worlds",
                        lambda c, rs, processes=None: seeds.extend((c.run.seed, r) for r in rs)
                        or real(c, rs, processes))
    policy = training.train(cfg, build_strategies(cfg)["real_option"])
    assert {seed for seed, _ in seeds} == {training.training_seed(cfg.run.seed)} != {cfg.run.seed}
    assert {r for _, r in seeds} == set(range(policy.training_replications)) and policy.training_replications == 12
    assert training.training_seed(5) == training.training_seed(5) != training.training_seed(6)


def test_starting_on_day_0_is_convert_all(compose_small):
    """With one tranche, the exercise value on day 0 is convert_all's NPV less stay_mining's."""
    cfg = settings(compose_small(TRIO, *SMALL, "strategy.real_option.tranche_blocks=4"))
    strategies = build_strategies(cfg)
    for replication in range(3):
        world = sim.sample_world(cfg, replication)
        x, gains, alive, never = training.exercise_values(cfg, world, strategies["real_option"])
        expected = npv(cfg, world, strategies["convert_all"]) - npv(cfg, world, strategies["stay_mining"])
        assert gains[0] == pytest.approx(expected, rel=1e-12, abs=1e-3)
        assert never == npv(cfg, world, strategies["stay_mining"])
        assert x.shape == (len(gains), len(FEATURES)) and alive.all()  # the first tranche: every day


def stage(rule):
    return training.Stage(fit=None, rule=rule, in_sample_usd=0.0, cross_validated_usd=0.0,
                          start_now_usd=0.0, foresight_usd=0.0, start_share=0.0)


def fixed_policy(cfg, *rules):
    days = tuple(sim.strategies.decision_days(sim.sample_world(cfg, 0).date, 3))
    return training.Policy(stages=tuple(stage(r) for r in rules), decision_days=days, every_months=3,
                           tranche_blocks=2, features=FEATURES, training_seed=0, training_replications=0,
                           all_now_usd=0.0, train_seconds=0.0, engine_runs=0)


def test_a_later_tranche_may_start_only_once_its_predecessor_has(compose_small):
    """Tranche 2 of 2 blocks: alive from the day tranche 1 starts; its day-0 gain completes
    convert_all; with tranche 1 never started, it is never alive."""
    cfg = settings(compose_small(TRIO, *SMALL))
    strategies = build_strategies(cfg)
    option = strategies["real_option"]
    assert option.stages(4, 5) == 2 and option.tranche(5) == 2
    world = sim.sample_world(cfg, 1)
    x, gains, alive, never = training.exercise_values(cfg, world, option, 1, fixed_policy(cfg, "start_now"))
    assert alive.all()
    assert never + gains[0] == pytest.approx(npv(cfg, world, strategies["convert_all"]), rel=1e-12)
    halves = copy.deepcopy(option)
    halves.policy = fixed_policy(cfg, "start_now", "never")
    assert npv(cfg, world, halves) == never  # acting on the policy: tranche 1 only
    assert never != npv(cfg, world, strategies["stay_mining"])
    _, gains, alive, _ = training.exercise_values(cfg, world, option, 1, fixed_policy(cfg, "never"))
    assert not alive.any() and not gains.any()


@pytest.mark.parametrize("stage", [0, 1])
def test_a_trainee_stops_deciding_once_its_tranche_is_committed_and_values_as_if_it_had_not(
        compose_small, monkeypatch, stage):
    """Once the trained tranche has started, no later decision of a training run can act (the
    tranches after it never start): the engine stops asking, and every exercise value is as
    with a strategy that is never finished, bit for bit."""
    cfg = settings(compose_small(TRIO, *SMALL))
    option = build_strategies(cfg)["real_option"]
    policy = fixed_policy(cfg, "start_now")
    calls = []
    real_decide = RealOption.decide

    def counted(self, day, view, site):
        calls.append(day)
        return real_decide(self, day, view, site)

    monkeypatch.setattr(RealOption, "decide", counted)
    values, asked = {}, {}
    for finishes in (True, False):
        if not finishes:
            monkeypatch.setattr(RealOption, "finished", lambda self, site: False)
        calls.clear()
        values[finishes] = [training.exercise_values(cfg, sim.sample_world(cfg, r), option, stage, policy)
                            for r in range(3)]
        asked[finishes] = len(calls)
    for early, late in zip(values[True], values[False]):
        for a, b in zip(early, late):
            assert np.array_equal(a, b)
    assert asked[True] < asked[False]


def test_features_read_only_the_past(compose_small):
    """Changing every path after the decision day changes none of the day's features."""
    cfg = settings(compose_small(*SMALL))
    world = sim.sample_world(cfg, 0)
    # the day before a request: a feature that read one day ahead would see it
    day = int(next(d for d in world.tenant_requests["day"] if d > 400)) - 1
    site = SimpleNamespace(tenants_waiting_mw_it=12.5)
    before = features(MarketView(world, day), site)
    changed = {}
    for name in ("hashprice_usd_per_ph_day", "lease_usd_per_kw_month", "gpu_usd_per_hour",
                 "power_usd_per_mwh", "block_height"):
        changed[name] = getattr(world, name).copy()
        changed[name][day + 1:] *= 3.0
    requests = world.tenant_requests.copy()
    later = requests["day"] > day
    assert later.any() and (~later).any()  # requests on both sides of the day, or this proves little
    requests.loc[later, "mw_it"] *= 5
    # a new world (its caches, such as the request rows, made afresh from the changed table)
    future = dataclasses.replace(world, **changed, tenant_requests=requests)
    assert future.tenant_request_rows() != world.tenant_request_rows()
    np.testing.assert_array_equal(features(MarketView(future, day), site), before)


REQUESTS = "[" + ",".join(f"[{day},8,3000,150,0]" for day in range(400, 1400, 60)) + "]"


@pytest.mark.parametrize("capex, twin", [(2.0e6, "convert_all"), (9.0e9, "stay_mining")])
def test_the_rule_converts_at_once_when_it_pays_and_never_when_it_loses(compose_constant, capex, twin):
    """On a flat market, waiting is worth nothing: start on day 0 if converting pays, else never."""
    cfg = compose_constant(TRIO, "run.replications=6", "run.horizon_years=4", "run.detail=summary",
                           "strategy.real_option.training_replications=8",
                           "strategy.real_option.tranche_blocks=5",
                           f"site.conversion.capex_usd_per_mw_it=fixed:{capex:g}",
                           f"market.demand.requests={REQUESTS}")
    result = sim.run(cfg)
    wide = result.summary.pivot(index="replication", columns="strategy", values="npv_usd")
    assert (wide["convert_all"] > wide["stay_mining"]).all() == (twin == "convert_all")
    np.testing.assert_allclose(wide["real_option"], wide[twin], rtol=1e-12)
    policy = result.info["policies"]["real_option"]
    assert policy["stages"][0]["start_share_in_sample"] == (1.0 if twin == "convert_all" else 0.0)
    for tranche in policy["stages"]:
        assert tranche["rule"] in (("lsm", "start_now") if twin == "convert_all" else ("lsm", "never"))


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
    assert training.cross_validated_by_world(state, exercise, options).mean() == pytest.approx(1.0)
    # Pure noise to exercise on: a rule fitted to it earns nothing reliable out of sample.
    noise = rng.normal(size=(64, 6))
    noise[:, 0] = 0.0
    validated = training.cross_validated_by_world(state, noise, options).mean()
    in_sample = training.lsm_value(state, noise, 1.0, **options).value
    assert validated < in_sample


@pytest.mark.parametrize("validated, start_now, rule", [(5.0, 3.0, "lsm"), (2.0, 3.0, "start_now"),
                                                        (-1.0, -2.0, "never"), (0.0, -1.0, "never")])
def test_the_fixed_rules_win_where_they_earned_as_much_or_more(validated, start_now, rule):
    """One world: no noise to allow for; a tie goes to the rule that learns nothing."""
    assert training.choose_rule(validated, start_now) == rule


@pytest.mark.parametrize("edge, rule", [(0.5, "start_now"), (3.0, "lsm")])
def test_a_fitted_rule_must_beat_the_fixed_one_by_a_standard_error(edge, rule):
    """64 worlds: the fitted rule earns `edge` more on average than starting at once, with a
    paired spread of sd 10 (standard error 10 / 8 = 1.25): 0.5 is noise, 3.0 is not."""
    start_now = np.linspace(50.0, 150.0, 64)
    noise = np.resize([10.0, -10.0], 64)  # mean 0, sd 10.08
    assert training.choose_rule(start_now + edge + noise, start_now) == rule
    # Against never starting (a loss to start at once), the same rule.
    assert training.choose_rule(edge + noise, -start_now) == rule.replace("start_now", "never")


def test_a_policys_gains_are_those_of_the_rules_its_tranches_follow():
    """A fitted rule followed counts its own figures; one replaced by a fixed rule counts the
    fixed rule's (its fitted figures describe no rule that runs)."""
    fitted = training.Stage(fit=None, rule="lsm", in_sample_usd=10.0, cross_validated_usd=8.0,
                            start_now_usd=5.0, foresight_usd=30.0, start_share=0.5)
    replaced = training.Stage(fit=None, rule="start_now", in_sample_usd=20.0,
                              cross_validated_usd=15.0, start_now_usd=12.0, foresight_usd=40.0,
                              start_share=1.0)
    dropped = training.Stage(fit=None, rule="never", in_sample_usd=7.0, cross_validated_usd=3.0,
                             start_now_usd=-4.0, foresight_usd=9.0, start_share=0.0)
    policy = training.Policy(stages=(fitted, replaced, dropped), decision_days=(0,), every_months=3,
                             tranche_blocks=2, features=FEATURES, training_seed=0,
                             training_replications=64, all_now_usd=13.0, train_seconds=0.0,
                             engine_runs=0)
    assert policy.in_sample_usd == 10.0 + 12.0 + 0.0
    assert policy.cross_validated_usd == 8.0 + 12.0 + 0.0


def test_the_same_seed_trains_the_same_policy_here_or_on_workers(compose_small, monkeypatch):
    cfg = settings(compose_small(TRIO, *SMALL, "run.executor=process", "run.workers=2"))
    first = training.train(cfg, build_strategies(cfg)["real_option"])  # here, one chunk
    monkeypatch.setattr(training, "TRAINING_CHUNK", 5)  # on two workers: 5, 5 and 2 worlds
    executor, done = make_executor(cfg), []
    try:
        second = training.train(cfg, build_strategies(cfg)["real_option"], progress=done.append,
                                mapper=executor.map)
    finally:
        executor.close()
    assert sum(done) == 12 * len(second.stages)  # every world of every tranche counted once
    one, two = first.describe(), second.describe()
    one.pop("train_seconds"), two.pop("train_seconds")
    assert one == two and len(first.stages) >= 1
    for a, b in ((a, b) for one, two in zip(first.stages, second.stages)
                 for a, b in zip(one.fit.rules, two.fit.rules)):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a.exercise, b.exercise)


def test_training_chunks_give_each_worker_about_four_and_hold_at_least_the_least():
    assert training.training_chunk(128, 2) == 16  # 8 chunks: 4 a worker
    assert training.training_chunk(128, 16) == training.TRAINING_CHUNK  # 32 chunks: 2 a worker
    assert training.training_chunk(10, 2) == training.TRAINING_CHUNK


def test_a_parent_whose_workers_draw_the_worlds_never_draws_one(compose_small, monkeypatch, tmp_path):
    # training's decision days come from the calendar, so neither training nor the run
    # draws a world in the parent: every world is drawn by a worker
    import sim.world

    drawn, real = tmp_path / "drawn_by", sim.world.sample_worlds

    def recorded(cfg, replications, *args, **kwargs):  # the workers fork from this process: they run it too
        with drawn.open("a") as file:
            file.write("".join(f"{os.getpid()}\n" for _ in replications))
        return real(cfg, replications, *args, **kwargs)

    for module in list(sys.modules.values()):
        if getattr(module, "sample_worlds", None) is real and module.__name__.startswith("sim"):
            monkeypatch.setattr(module, "sample_worlds", recorded)
    sim.run(compose_small("run.replications=4", "run.executor=process", "run.workers=2",
                          "strategy=[stay_mining,real_option]", *SMALL[1:]))
    pids = drawn.read_text().split()
    assert len(pids) >= 4 + 12  # the run's worlds, and the training's for each tranche trained
    assert str(os.getpid()) not in pids
