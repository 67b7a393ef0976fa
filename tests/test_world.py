"""The sampled world: keyed streams, independence of processes, batches and plug-ins
(what a plug-in returns is checked in tests/test_boundary.py)."""

import dataclasses
import re
import zlib

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

import sim
from sim.config_objects import build_processes
from sim.errors import UserError
from sim.economics import hashprice_usd_per_ph_day
from sim.world import PROCESS_FIELDS, check_plugins_repeat, sample_worlds, stream_key


def test_world_has_every_documented_field(compose_small):
    world = sim.sample_world(compose_small(), 0)
    assert isinstance(world, sim.World)
    n = world.n_days
    for name in world.daily_fields():
        assert getattr(world, name).shape == (n,)
    assert world.date[0] == np.datetime64("2026-06-26")  # the latest as-of snapshot
    assert list(world.epochs.columns) == ["start_day", "end_day", "start_height", "difficulty"]
    assert list(world.tenant_requests.columns) == ["day", "mw_it", "term_days", "usd_per_kw_month",
                                                   "wait_days", "min_share", "phased"]


@pytest.mark.parametrize("replication", [1.5, "0", -1, True, None])
def test_a_replication_that_is_not_a_whole_number_from_0_is_named(compose_small, replication):
    with pytest.raises(UserError) as refused:
        sim.sample_world(compose_small(), replication)
    assert str(refused.value) == f"replication={replication!r}: must be a whole number >= 0"


@pytest.mark.parametrize("cfg", [None, {"run": {"seed": 1}}, ["run.replications=2"]])
def test_a_config_not_made_by_compose_is_named_as_sim_run_names_it(cfg):
    """sim.sample_world(None, 0) ended in AttributeError: 'NoneType' object has no attribute 'run'."""
    with pytest.raises(UserError, match=r"^cfg: a config made by sim.compose\(\[\.\.\.\]\), not a "):
        sim.sample_world(cfg, replication=0)


@pytest.mark.parametrize("key, value, says", [
    ("site.start_date", "garbage", "site.start_date='garbage': must be a date YYYY-MM-DD"),
    ("run.seed", -5, "run.seed=-5: must be >= 0"),
])
def test_a_config_changed_after_composing_is_checked_as_sim_run_checks_it(
        compose_small, key, value, says):
    """A value set in Python after sim.compose reached pandas' DateParseError or numpy's
    'expected non-negative integer', where sim.run named the key."""
    cfg = compose_small()
    OmegaConf.update(cfg, key, value)
    with pytest.raises(UserError, match=re.escape(says)):
        sim.sample_world(cfg, replication=0)


def test_a_world_reads_in_one_line(compose_small):
    world = sim.sample_world(compose_small("run.horizon_years=1"), np.int64(2))
    assert repr(world) == (f"World(replication=2, seed={world.seed}, 365 days from "
                           f"{world.date[0]} to {world.date[-1]}, {len(world.epochs)} epochs, "
                           f"{len(world.tenant_requests)} tenant requests)")


def test_months_of_the_grid_follow_the_calendar(compose_small):
    """Day 0 (2026-06-26) opens a short first month; then calendar months, the last cut at the horizon."""
    world = sim.sample_world(compose_small("run.horizon_years=1"), 0)
    months = world.date.astype("datetime64[M]")
    days = world.days_by_month()
    assert days[0] == 5 and days[1] == 31 and days[2] == 31 and days[3] == 30  # Jun 26-30, Jul, Aug, Sep
    assert days.sum() == world.n_days and len(days) == len(np.unique(months))
    assert np.array_equal(world.month_of_day(), (months - months[0]).astype(int))
    assert np.array_equal(np.cumsum(days)[:-1], world.month_starts()[1:])
    other = sim.sample_world(compose_small("run.horizon_years=1"), 1)
    assert other.days_by_month() is days  # shared by the worlds of a grid, and read-only
    with pytest.raises(ValueError):
        days[0] = 6
    with pytest.raises(ValueError):
        world.month_of_day()[0] = 1


def test_stream_keys_are_fixed_integers_not_python_hash():
    assert stream_key("btc") == zlib.crc32(b"btc")
    assert len({stream_key(name) for name in [*PROCESS_FIELDS, "site"]}) == len(PROCESS_FIELDS) + 1


def test_changing_one_process_leaves_the_others_draws_alone(compose_small):
    a = sim.sample_world(compose_small(), 3)
    b = sim.sample_world(compose_small("market.power.log_sd=0.6", "market.ai.lease_log_sd=0.3"), 3)
    for name in ["btc_usd", "network_hashrate_ehs", "difficulty", "hashprice_usd_per_ph_day"]:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.power_usd_per_mwh, b.power_usd_per_mwh)
    # Demand reads the lease index (upstream), so its prices move, but its arrivals do not.
    np.testing.assert_array_equal(a.tenant_requests["day"], b.tenant_requests["day"])


def test_replications_differ_and_repeat(compose_small):
    cfg = compose_small()
    first, again, other = (sim.sample_world(cfg, k) for k in (0, 0, 1))
    np.testing.assert_array_equal(first.btc_usd, again.btc_usd)
    assert not np.array_equal(first.btc_usd, other.btc_usd)


def test_hashprice_is_the_worlds_own_formula(compose_small):
    """Recompute hashprice from the world's own price, difficulty, subsidy and fees."""
    w = sim.sample_world(compose_small(), 2)
    expected = 86_400 * 1e15 * (w.subsidy_btc + w.fees_btc_per_block) * w.btc_usd / (w.difficulty * 2 ** 32)
    np.testing.assert_allclose(w.hashprice_usd_per_ph_day, expected, rtol=1e-12)


def test_processes_after_the_network_see_its_hashprice_upstream(compose_small):
    cfg = compose_small()
    processes = build_processes(cfg)
    seen = {}
    inner = processes["power"]

    class Spy:
        def sample(self, days, rng, upstream):
            seen.update(upstream)
            return inner.sample(days, rng, upstream)

    processes["power"] = Spy()
    world = sim.sample_world(cfg, 0, processes=processes)
    assert "hashprice_usd_per_ph_day" in seen and "lease_usd_per_kw_month" not in seen
    np.testing.assert_array_equal(seen["hashprice_usd_per_ph_day"], world.hashprice_usd_per_ph_day)
    np.testing.assert_array_equal(world.hashprice_usd_per_ph_day, hashprice_usd_per_ph_day(
        world.subsidy_btc, world.fees_btc_per_block, world.btc_usd, world.difficulty))


def test_worlds_sampled_together_equal_worlds_sampled_alone(compose_small):
    """The economic network samples a chunk's worlds in one batch: each world is the one
    `sample_world` gives alone, every field bit for bit."""
    cfg = compose_small("run.horizon_years=3")
    together = sample_worlds(cfg, [5, 2, 9])
    for world in together:
        alone = sim.sample_world(cfg, world.replication)
        for name in world.daily_fields():
            np.testing.assert_array_equal(getattr(world, name), getattr(alone, name))
        pd.testing.assert_frame_equal(world.epochs, alone.epochs)
        pd.testing.assert_frame_equal(world.tenant_requests, alone.tenant_requests)


def test_a_batch_that_fails_names_the_world_that_fails(compose_small, monkeypatch):
    """A process whose batch raises is sampled world by world, so the one line names the
    replication at fault, as one world alone would."""
    cfg = compose_small("run.horizon_years=1")
    processes = build_processes(cfg)
    network = processes["network"]

    first_btc = [sim.sample_world(cfg, k).btc_usd[0] for k in range(3)]
    failing = int(np.argmax(first_btc))

    def batch(days, rngs, upstreams):
        raise ValueError("one of them failed")

    def sample(days, rng, upstream):  # the world with the highest first BTC price fails
        if upstream["btc_usd"][0] == first_btc[failing]:
            raise ValueError("no such hashrate")
        return type(network).sample(network, days, rng, upstream)

    monkeypatch.setattr(network, "sample_batch", batch, raising=False)
    monkeypatch.setattr(network, "sample", sample, raising=False)
    with pytest.raises(UserError, match=rf"market.network \(EconomicNetwork\), replication "
                                        rf"{failing}, seed .* raised ValueError: no such hashrate"):
        sample_worlds(cfg, range(3), processes)


def test_iter_worlds_samples_in_batches_and_yields_every_world_in_order(compose_small, monkeypatch):
    cfg = compose_small("run.horizon_years=1")
    monkeypatch.setattr(sim.world, "WORLDS_PER_BATCH", 2)  # 5 worlds: batches of 2, 2 and 1
    calls = []
    real = sim.world.sample_worlds
    monkeypatch.setattr(sim.world, "sample_worlds",
                        lambda c, rs, processes=None: calls.append(list(rs)) or real(c, rs, processes))
    worlds = list(sim.world.iter_worlds(cfg, [3, 1, 4, 0, 2]))
    assert calls == [[3, 1], [4, 0], [2]]
    assert [w.replication for w in worlds] == [3, 1, 4, 0, 2]
    np.testing.assert_array_equal(worlds[2].difficulty, sim.sample_world(cfg, 4).difficulty)


@pytest.mark.parametrize("optional", [{}, {"min_share": [0.5, 1.0]}, {"min_share": [0.5, 1.0], "phased": [1.0, 0.0]},
                                      {"commence_days": [0.0, 200.0]}])
def test_tenant_request_rows_are_the_tables_rows_with_defaults_where_a_column_is_absent(
        compose_small, optional):
    world = sim.sample_world(compose_small("run.horizon_years=1"), 0)
    table = pd.DataFrame({"day": np.array([3, 40], dtype=np.int64), "mw_it": [10.0, 2.5],
                          "term_days": [3650.0, 1825.0], "usd_per_kw_month": [180.0, 150.5],
                          "wait_days": [0.0, 90.0], **optional, "note": ["a", "b"]})  # and a stray column
    rows = dataclasses.replace(world, tenant_requests=table).tenant_request_rows()
    defaults = {"min_share": [1.0, 1.0], "phased": [0.0, 0.0], "commence_days": [0.0, 0.0],
                "tenant": [0, 1], **optional}  # each row its own tenant
    assert rows == tuple((*given, *(defaults[c][row] for c in ("min_share", "phased", "commence_days",
                                                               "tenant")))
                         for row, given in enumerate([(3, 10.0, 3650.0, 180.0, 0.0),
                                                      (40, 2.5, 1825.0, 150.5, 90.0)]))
    assert all(type(row[0]) is int and type(row[1]) is float for row in rows)


@pytest.mark.parametrize("returned, fragment", [
    (lambda days, rngs, ups: [], "sample_batch returned 0 outputs for 3 worlds"),
    (lambda days, rngs, ups: 7, "sample_batch returned int; expected a list of 3 outputs"),
    # one world's output: it said "returned 1 outputs for 3 worlds", counting the dict's keys
    (lambda days, rngs, ups: {"network_hashrate_ehs": 1.0},
     "sample_batch returned dict; expected a list of 3 outputs, one per world"),
])
def test_a_batch_of_the_wrong_size_is_refused_in_one_line(compose_small, monkeypatch, returned, fragment):
    cfg = compose_small("run.horizon_years=1")
    processes = build_processes(cfg)
    monkeypatch.setattr(processes["network"], "sample_batch", returned, raising=False)
    with pytest.raises(UserError, match=rf"market.network \(EconomicNetwork\): {fragment}"):
        sample_worlds(cfg, range(3), processes)


@pytest.mark.parametrize("name", ["network", "power", "ai"])
def test_a_subclass_that_changes_sample_alone_is_not_bypassed_by_the_batch(compose_small, name):
    """A plug-in that subclasses a built-in with a batch and overrides `sample` only gets
    its own `sample` called for every world (the built-in's batch would skip it)."""
    import copy

    cfg = compose_small("run.horizon_years=1")
    processes = dict(build_processes(cfg))
    builtin, calls = type(processes[name]), []

    class Own(builtin):
        def sample(self, days, rng, upstream):
            calls.append(upstream)
            return super().sample(days, rng, upstream)

    class Batched(Own):  # one that says how it batches is batched again
        def sample_batch(self, days, rngs, upstreams):
            calls.append("batch")
            return builtin.sample_batch(self, days, rngs, upstreams)

    for kind, expected in ((Own, 3), (Batched, 1)):
        calls.clear()
        processes[name] = copy.copy(processes[name])
        processes[name].__class__ = kind
        worlds = sample_worlds(cfg, range(3), processes)
        assert len(calls) == expected
        for world in worlds:  # the same worlds either way: the subclass changes nothing
            np.testing.assert_array_equal(world.power_usd_per_mwh,
                                          sim.sample_world(cfg, world.replication).power_usd_per_mwh)


class _GbmBTC:
    """A BTC plug-in: a driftless GBM from $60,000, its noise from `draw(rng, n)`."""

    def __init__(self, draw):
        self.draw = draw

    def sample(self, days, rng, upstream):
        return {"btc_usd": 60_000.0 * np.exp(np.cumsum(0.03 * self.draw(rng, len(days))))}


class _BatchBTC(_GbmBTC):
    """As _GbmBTC, with a sample_batch that gives every world the first world's stream."""

    def sample_batch(self, days, rngs, upstreams):
        shared = rngs[0]
        return [self.sample(days, shared, upstream) for upstream in upstreams]


@pytest.mark.parametrize("plugin, says", [
    (_GbmBTC(lambda rng, n: rng.standard_normal(n)), None),
    (_GbmBTC(lambda rng, n: np.random.standard_normal(n)),
     "market.btc (_GbmBTC): replications 0 and 1 sampled twice gave different btc_usd; draw every "
     "random number from the rng it is handed (not numpy.random.* or random), or the same seed "
     "cannot give the same numbers"),
    (_BatchBTC(lambda rng, n: rng.standard_normal(n)),
     "market.btc (_BatchBTC): replication 1 got other btc_usd sampled beside replication 0 than "
     "alone; sample_batch must give each world what sample gives it"),
])
def test_a_plugin_that_does_not_draw_from_its_rng_alone_is_refused(compose_small, plugin, says):
    """Drawing from numpy's global state, or one world's stream for all of a batch, broke
    'same seed, same numbers' without a word; a plug-in drawing from its rng passes."""
    cfg = compose_small("run.horizon_years=1")
    processes = {**build_processes(cfg), "btc": plugin}
    if says is None:
        check_plugins_repeat(cfg, processes)
        return
    with pytest.raises(UserError) as refused:
        check_plugins_repeat(cfg, processes)
    assert str(refused.value) == says


def test_the_built_in_processes_are_not_sampled_for_the_check(compose_small, monkeypatch):
    monkeypatch.setattr(sim.world, "sample_worlds", lambda *a: pytest.fail("sampled"))
    cfg = compose_small("run.horizon_years=1")
    check_plugins_repeat(cfg, build_processes(cfg))


_OWN_SEED = "market.btc (_GbmBTC): replications 0 and 1 got the same btc_usd, to the last bit"


@pytest.mark.parametrize("draw, overrides, warns", [
    (lambda rng, n: np.random.default_rng(42).standard_normal(n), [], True),  # its own seeded generator
    (lambda rng, n: np.random.RandomState(1).standard_normal(n), ["run.until_confident=0.95",
                                                                   "run.replications=1",
                                                                   "run.max_replications=40"], True),
    (lambda rng, n: rng.standard_normal(n), [], False),  # from its rng: worlds differ
    (lambda rng, n: np.zeros(n), [], False),  # a flat path, the same in every world by design
    (lambda rng, n: np.linspace(0, 1, n), [], False),  # a trend, likewise
    (lambda rng, n: np.random.default_rng(42).standard_normal(n), ["run.replications=1"], False),
    (lambda rng, n: np.random.default_rng(42).standard_normal(n), ["run.deterministic=true"], False),
])
def test_a_plugin_that_repeats_one_random_path_in_every_world_is_warned_of(
        compose_small, monkeypatch, capsys, draw, overrides, warns):
    """A generator seeded inside the plug-in passed the repeat check and gave every world the
    same path: the spread was lost without a word. The warning costs no world beyond the
    check's own three samplings, and is given once."""
    cfg = compose_small("run.horizon_years=1", *overrides)
    processes = {**build_processes(cfg), "btc": _GbmBTC(draw)}
    calls = []
    real = sim.world.sample_worlds
    monkeypatch.setattr(sim.world, "sample_worlds", lambda *a: calls.append(a[1]) or real(*a))
    check_plugins_repeat(cfg, processes)
    assert calls == [[0, 1], [0, 1], [1]]
    lines = capsys.readouterr().err.splitlines()
    if not warns:
        assert lines == []
        return
    assert lines == [f"hashpivot: {_OWN_SEED}: every world repeats one path, so its spread is lost "
                     "(likely a generator seeded inside the process, such as "
                     "np.random.default_rng(42) or np.random.seed(1)); draw from the rng it is "
                     "handed, unless the path is meant to be the same in every world"]
