"""No route to the future: what a strategy may read through its views, and nothing more."""

import copy
import dataclasses
import functools
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.config_objects import build_strategies
from sim.errors import LookAheadError
from sim.site import MINING, Site, simulate
from sim.strategies import Convert, Strategy
from sim.view import (MARKET_NAMES, SITE_NAMES, MarketView, Past, SiteView, requested_mw_it,
                      trailing_mean, trailing_sum)
from sim.world import DAILY_FIELDS, World

OVERRIDES = ["run.horizon_years=4", "run.progress=false", "run.compare=false"]


@functools.cache
def config():
    return sim.compose(OVERRIDES)


@functools.cache
def world(replication: int = 0) -> World:
    return sim.sample_world(config(), replication)


def fresh_site(strategy=None) -> Site:
    return Site(config(), world(), strategy or Strategy())


@functools.cache
def a_site_view() -> SiteView:
    return fresh_site().view


def _special(name: str) -> bool:
    return name.startswith("__") and name.endswith("__")


def identifiers():
    return st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True)


# --- every other name is refused ---------------------------------------------------------
ENGINE_NAMES = {*dir(Site), *vars(fresh_site()), *(f.name for f in dataclasses.fields(World)),
                *dir(World), *vars(world()), *SiteView.__slots__, *MarketView.__slots__}
SITE_ENGINE_NAMES = sorted(ENGINE_NAMES - SITE_NAMES)
MARKET_ENGINE_NAMES = sorted(ENGINE_NAMES - MARKET_NAMES)


def assert_site_view_refuses(name):
    if name in SITE_NAMES or _special(name):
        return
    with pytest.raises(LookAheadError, match=rf"SiteView\.{name}: .* offers .*blocks_mining"):
        getattr(a_site_view(), name)


def assert_market_view_refuses(name, day):
    if name in MARKET_NAMES or _special(name):
        return
    with pytest.raises(LookAheadError, match=rf"MarketView\.{name}: .* offers .*btc_usd"):
        getattr(MarketView(world(), day), name)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.sampled_from(SITE_ENGINE_NAMES), identifiers()))
def test_the_site_view_refuses_every_name_but_its_own(name):
    assert_site_view_refuses(name)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.sampled_from(MARKET_ENGINE_NAMES), identifiers()), st.integers(0, 1000))
def test_the_market_view_refuses_every_name_but_its_own(name, day):
    assert_market_view_refuses(name, day)


def test_no_name_of_the_engine_or_the_world_gets_through():
    assert {"world", "env", "books", "renewal_draws", "epochs"} <= set(SITE_ENGINE_NAMES)
    assert {"_world", "_cache", "n_days", "world", "books"} <= set(MARKET_ENGINE_NAMES)
    for name in SITE_ENGINE_NAMES:  # every one, not a sample
        assert_site_view_refuses(name)
    for name in MARKET_ENGINE_NAMES:
        assert_market_view_refuses(name, 100)


def test_the_engine_and_the_world_are_out_of_reach():
    site = fresh_site()
    view = MarketView(world(), 100)
    for name in ("world", "env", "books", "asic_prices", "default_after_days", "renewal_draws",
                 "retrofit_days", "strategy", "pending", "state", "_site", "__getstate__", "__reduce__",
                 "__reduce_ex__", "__deepcopy__"):
        with pytest.raises(LookAheadError):
            getattr(site.view, name)
    for name in ("_world", "_day", "_cache", "n_days", "replication", "month_starts",
                 "tenant_request_rows", "__getstate__", "__reduce_ex__"):
        with pytest.raises(LookAheadError):
            getattr(view, name)
    for thing in (site.view, view):
        with pytest.raises(LookAheadError):
            copy.deepcopy(thing)
        with pytest.raises(LookAheadError):
            copy.copy(thing)
        with pytest.raises(LookAheadError):
            pickle.dumps(thing)
        with pytest.raises(AttributeError):
            thing.__dict__
    assert dir(site.view) == sorted(SITE_NAMES) and dir(view) == sorted(MARKET_NAMES)


def test_views_are_read_only():
    site = fresh_site()
    view = MarketView(world(), 100)
    with pytest.raises(AttributeError, match="read-only"):
        view.day = 1000
    with pytest.raises(AttributeError, match="read-only"):
        view._day = 1000
    with pytest.raises(AttributeError, match="read-only"):
        del view._world
    with pytest.raises(AttributeError, match="read-only"):
        site.view.n_blocks = 3
    btc_usd, j_per_th = view.btc_usd, site.view.j_per_th
    btc_usd[0], j_per_th[0] = -1.0, -1.0  # a strategy's own copies
    assert world().btc_usd[0] > 0 and site.j_per_th[0] > 0
    assert view.btc_usd[0] > 0 and site.view.j_per_th[0] > 0
    assert view.day == 100 and len(view.btc_usd) == 101


def test_a_path_holds_only_the_past():
    w = world()
    view = MarketView(w, 100)
    for name in (*DAILY_FIELDS, "date"):
        path = getattr(view, name)
        np.testing.assert_array_equal(path, getattr(w, name)[:101])
        assert path.base is None  # a slice would keep the whole path as its base
        with pytest.raises(IndexError):
            path[101]  # tomorrow is not there
    assert view.at("btc_usd", 100) == w.btc_usd[100] == view.btc_usd[-1]
    with pytest.raises(LookAheadError, match="on day 101 while deciding on day 100"):
        view.at("btc_usd", 101)
    with pytest.raises(IndexError):
        view.at("btc_usd", -1)  # would be the horizon's last day
    with pytest.raises(LookAheadError, match="daily paths"):
        view.at("epochs", 0)


def test_a_sites_past_is_filled_only_up_to_today():
    w = world()
    past = Past(w)
    for day in (5, 3, 200, 200, 1000):  # an earlier day after a later one still gets its own
        view = MarketView(w, day, past)
        for name in (*DAILY_FIELDS, "date"):
            path = getattr(view, name)
            np.testing.assert_array_equal(path, getattr(w, name)[: day + 1])
            assert not path.flags.writeable
            with pytest.raises(IndexError):
                path[day + 1]
    tail = past.paths["btc_usd"][0][1001:]
    assert len(tail) == w.n_days - 1001 and not tail.any()  # nothing after the latest day


class BaseProbe(Strategy):
    """Checks, at each decision, that its paths reach no later day even through their base."""

    decide_every_months = 2
    days = 0

    def decide(self, day, view, site):
        for name in DAILY_FIELDS:
            path = getattr(view, name)
            assert path.base is not None and not path.base[day + 1:].any(), (name, day)
            np.testing.assert_array_equal(path.base[: day + 1], getattr(world(), name)[: day + 1])
            with pytest.raises(ValueError):
                path /= 2  # in place: read-only
        self.days += 1
        return []


def test_the_engines_paths_end_today_even_through_their_base():
    probe = BaseProbe()
    Site(config(), world(), probe).run()
    assert probe.days > 20


def test_the_epochs_table_shows_no_end_still_to_come():
    w = world()
    epochs = w.epochs
    day = int(epochs["start_day"].iloc[3]) + 2  # inside the fourth epoch
    shown = MarketView(w, day).epochs
    assert list(shown.columns) == list(epochs.columns)
    assert len(shown) == 4 and shown["start_day"].max() <= day
    assert math.isnan(shown["end_day"].iloc[-1]) and epochs["end_day"].iloc[3] > day
    np.testing.assert_array_equal(shown["end_day"].iloc[:-1], epochs["end_day"].iloc[:3])
    on_the_turn = MarketView(w, int(epochs["start_day"].iloc[4])).epochs  # the fifth starts
    assert on_the_turn["end_day"].iloc[3] == epochs["end_day"].iloc[3]
    requests = MarketView(w, day).tenant_requests
    assert requests["day"].max() <= day
    assert len(requests) == int((w.tenant_requests["day"] <= day).sum())


def test_a_trailing_sum_is_the_sum_of_the_paths_tail_bit_for_bit():
    w = world(0)
    strided = dataclasses.replace(  # the same paths, not contiguous in memory
        w, **{name: np.repeat(getattr(w, name), 2)[::2] for name in DAILY_FIELDS})
    for day in (0, 1, 5, 89, 90, 91, 700, w.n_days - 1):
        for view in (MarketView(w, day, Past(w)), MarketView(strided, day)):
            for name in DAILY_FIELDS:
                for days in (1, 2, 30, 90, 365, 10_000):
                    assert trailing_sum(view, name, days) == float(getattr(view, name)[-days:].sum())
    with pytest.raises(LookAheadError, match="sums the daily paths"):
        trailing_sum(MarketView(w, 3), "tenant_requests", 3)
    for days in (0, -5):  # no window: one line, not a sum of nothing or a division by zero
        with pytest.raises(ValueError, match=rf"days={days}\): days must be >= 1"):
            trailing_mean(MarketView(w, 3), "btc_usd", days)
        with pytest.raises(ValueError, match=rf"days={days}\): days must be >= 1"):
            requested_mw_it(MarketView(w, 3), days)


def test_a_trailing_mean_is_the_mean_of_the_paths_tail_bit_for_bit():
    w = world(0)
    for day in (0, 1, 5, 29, 30, 89, 90, 91, 700, w.n_days - 1):  # shorter tails near day 0
        view = MarketView(w, day, Past(w))
        for name in DAILY_FIELDS:
            for days in (1, 2, 30, 90, 10_000):
                assert trailing_mean(view, name, days) == float(getattr(view, name)[-days:].mean())


def test_the_mw_it_requested_is_the_sum_over_the_request_tables_window_bit_for_bit():
    w = world(0)
    request_days = w.tenant_requests["day"].to_numpy()
    assert len(request_days) > 3
    for days in (1, 30, 365, 10_000):
        # on each side of every request's day and of the day it leaves the window
        for day in {d + shift for d in request_days for shift in (-1, 0, days - 1, days)}:
            if 0 <= day < w.n_days:
                view = MarketView(w, day)
                requests = view.tenant_requests
                recent = requests["mw_it"].to_numpy(float)[requests["day"].to_numpy() > day - days]
                assert requested_mw_it(view, days) == float(recent.sum())


# --- what a strategy reads on a day does not depend on any later day ------------------------
def read_everything(view, site, day) -> dict:
    """Return every reading a strategy can make through its views on `day`."""
    seen = {"day": view.day}
    for name in dir(view):
        seen[name] = (np.array([view.at(f, day) for f in DAILY_FIELDS]) if name == "at"
                      else getattr(view, name))
    seen["trailing_sum"] = [trailing_sum(view, f, days) for f in DAILY_FIELDS for days in (1, 90)]
    seen["trailing_mean"] = [trailing_mean(view, f, days) for f in DAILY_FIELDS for days in (1, 90)]
    seen["requested_mw_it"] = [requested_mw_it(view, days) for days in (1, 365, 10_000)]
    hashprice = view.hashprice_usd_per_ph_day[-1]
    calls = {"projects_for": (0, 1, 2, 5), "blocks_needed": (0.0, 7.5, 30.0, 120.0),
             "th_per_mw": (15.0, 21.5), "mining_usd_per_mw_day": (hashprice,)}
    for name in dir(site):
        value = getattr(site, name)
        seen[f"site.{name}"] = [value(x) for x in calls[name]] if callable(value) else value
    seen["site.mining_usd_per_mw_day(j)"] = site.mining_usd_per_mw_day(hashprice, 18.0)
    return seen


class Recorder(Strategy):
    """Reads everything on each decision and tenant request; converts on a market signal."""

    decide_every_months = 1

    def __init__(self):
        self.seen = []

    def decide(self, day, view, site):
        self.seen.append(("decide", day, read_everything(view, site, day)))
        hashprice = view.hashprice_usd_per_ph_day
        cheap = hashprice[-1] < hashprice[-90:].mean() and view.lease_usd_per_kw_month[-1] > 100
        return [Convert(1)] if cheap and self.room(site, 0.7) else []

    def on_request(self, request, view, site):
        self.seen.append(("request", request.day, read_everything(view, site, request.day)))
        return 0 < site.blocks_needed(request.mw_it) <= self.room(site, 1.0)


def spliced(w: World, other: World, day: int) -> World:
    """Return `w` with every path, event and table after `day` taken from `other`."""
    paths = {name: np.concatenate([getattr(w, name)[: day + 1], getattr(other, name)[day + 1:]])
             for name in DAILY_FIELDS}
    past, future = w.epochs[w.epochs["start_day"] <= day], other.epochs[other.epochs["start_day"] > day]
    epochs = pd.concat([past, future], ignore_index=True)
    epochs.loc[len(past) - 1, "end_day"] = past["end_day"].iloc[-1] + 3  # the current end moves
    requests = pd.concat([w.tenant_requests[w.tenant_requests["day"] <= day],
                          other.tenant_requests[other.tenant_requests["day"] > day]],
                         ignore_index=True)
    return dataclasses.replace(w, epochs=epochs, tenant_requests=requests, **paths)


def same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, pd.DataFrame):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    return a == b or (a != a and b != b)


def readings(w: World, until_day: int) -> list:
    recorder = Recorder()
    Site(config(), w, recorder).run()
    return [seen for seen in recorder.seen if seen[1] <= until_day]


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 4 * 365 - 2))
def test_no_reading_depends_on_a_later_day(day):
    w = world(0)
    other = spliced(w, world(1), day)
    assert any(not np.array_equal(getattr(w, f)[day + 1:], getattr(other, f)[day + 1:])
               for f in DAILY_FIELDS)  # the future does change
    before, after = readings(w, day), readings(other, day)
    assert before and same(before, after)


def test_the_splice_would_catch_a_peek():
    """The comparison above fails for a strategy that reads one day ahead."""
    day = 400
    w, other = world(0), spliced(world(0), world(1), day)
    assert not same([w.btc_usd[: day + 2]], [other.btc_usd[: day + 2]])
    assert not same([w.epochs], [other.epochs])


# --- and what it reads is the engine's own state ---------------------------------------------
class Checker(Recorder):
    """Checks, at each decision and request, the site view against the engine's own state."""

    site: Site = None

    def decide(self, day, view, site):
        self.check(site)
        return super().decide(day, view, site)

    def on_request(self, request, view, site):
        self.check(site)
        return super().on_request(request, view, site)

    def check(self, site):
        engine, cfg = self.site, config().site
        mining = int(np.sum(engine.state == MINING))
        assert site.blocks_mining == mining - len(engine.queued) - len(engine.planned)
        assert site.blocks_converted == cfg.blocks - mining
        assert site.blocks_committed == cfg.blocks - site.blocks_mining
        assert site.conversions_queued == len(engine.queued)
        assert site.projects_queued == len(engine.waiting)
        assert site.tenants_waiting == len(engine.pending)
        assert site.tenants_waiting_mw_it == pytest.approx(sum(w.mw_it for w in engine.pending))
        assert site.ready_mw_it == pytest.approx(max(0.0, engine.ready_mw - engine.reserved_mw) / cfg.pue_ai)
        assert (site.n_blocks, site.crews, site.blocks_per_project) == (cfg.blocks, cfg.crews,
                                                                         cfg.blocks_per_project)
        assert site.block_mw == pytest.approx(cfg.grid_mw / cfg.blocks)
        assert site.block_mw_it == pytest.approx(cfg.grid_mw / cfg.blocks / cfg.pue_ai)
        assert (site.pue_mining, site.pue_ai, site.pool_fee) == (cfg.pue_mining, cfg.pue_ai, cfg.pool_fee)
        np.testing.assert_array_equal(site.j_per_th, engine.j_per_th)
        j = float(np.max(engine.j_per_th))
        th_per_mw = 1e6 / (j * cfg.pue_mining)  # W per MW over W per TH/s
        assert site.th_per_mw(j) == pytest.approx(th_per_mw)
        assert site.mining_usd_per_mw_day(50.0) == pytest.approx(50.0 / 1000 * th_per_mw * (1 - cfg.pool_fee))
        self.most_waiting = max(getattr(self, "most_waiting", 0), site.tenants_waiting)
        self.most_converted = max(getattr(self, "most_converted", 0), site.blocks_converted)


def test_the_site_view_reads_the_engine_live():
    checker = Checker()
    site = Site(config(), world(0), checker)
    checker.site = site
    assert site.view is site.view  # built once per site
    site.run()
    assert checker.most_converted > 0 and checker.most_waiting > 0  # the check was not vacuous


def test_the_built_in_strategies_run_through_the_views():
    cfg = sim.compose([*OVERRIDES, "strategy=[stay_mining,convert_all,phased,threshold,build_to_suit]"])
    for label, strategy in build_strategies(cfg).items():
        record = simulate(cfg, world(0), strategy)
        assert record.n_days == world(0).n_days, label
    assert isinstance(fresh_site().view, SiteView)
