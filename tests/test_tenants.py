"""The tenant desk and construction capacity: signing against converting or planned halls,
partial and phased delivery, pre-leasing, and projects of several blocks (sim.tenants,
sim.construction), on the flat test market where rent and days add up by hand."""

import dataclasses
import math

import numpy as np
import pytest
import simpy

import sim
from record_bytes import record_bytes
from sim.config_objects import build_strategies
from sim.construction import Crews, expected_finish_days, project_count, projects
from sim.economics import DAYS_PER_MONTH
from sim.errors import UserError
from sim.ledger import CATEGORIES, STATES, Account
from sim.site import simulate
from sim.tenants import TenantDesk

QUIET = ["fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0",
         "site.conversion.retrofit_days=fixed:335",
         "site.conversion.capex_usd_per_mw_it=fixed:9e6", "site.hosting.renewal_probability=0",
         "run.event_log=true"]


def account(cfg, replication=0):
    world = sim.sample_world(cfg, replication)
    strategy = next(iter(build_strategies(cfg).values()))
    return Account(cfg, world, simulate(cfg, world, strategy))


def rent(acc):
    return dict(zip(CATEGORIES, acc.monthly.sum(axis=1)))["hosting_rent"]


def events(acc, *names):
    return [(e.day, e.block, e.event) for e in acc.record.events if e.event in names]


def rent_by_hand(acc, parts):
    """Return the rent of (start day, IT MW, USD/kW-month) leases to the horizon."""
    return sum(mw_it * 1000 * usd / DAYS_PER_MONTH * (acc.n_days - math.ceil(day))
               for day, mw_it, usd in parts)


# --- construction: projects and crews ---------------------------------------------------------
def test_projects_cut_blocks_in_order():
    assert projects([4, 7, 1, 2, 9], 2) == [[4, 7], [1, 2], [9]]
    assert projects([3], 5) == [[3]]
    assert [project_count(n, 4) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]


def test_expected_finish_plays_crews_first_come_first_served():
    # Two crews, one busy until day 50: queued projects of 100 days start at 10, 50, 110, 150.
    assert expected_finish_days(10, [50], 4, 2, 100) == [110, 150, 210, 250]
    # A project expected to have finished already frees its crew now, not in the past.
    assert expected_finish_days(10, [5], 1, 1, 100) == [110]
    # With a day to stop at, the list ends at the first finish past it (a prefix of the whole).
    assert expected_finish_days(10, [50], 4, 2, 100, 150) == [110, 150, 210]
    assert expected_finish_days(10, [50], 4, 2, 100, 1e9) == [110, 150, 210, 250]


def crew_trace(seed: int, capacity: int, lighter: bool) -> list[tuple]:
    """Return what happens, in order, as projects arriving on whole days (many on one day)
    take crews for 0 to 2 days, with other processes waking on the same days."""
    rng = np.random.default_rng(seed)
    env, trace = simpy.Environment(), []
    crews = Crews(env, capacity) if lighter else simpy.Resource(env, capacity=capacity)

    def project(name, arrive, hold):
        yield env.timeout(arrive)
        trace.append((env.now, name, "queued"))
        if lighter:
            yield crews.take()
        else:
            request = crews.request()
            yield request
        trace.append((env.now, name, "crew"))
        if hold:
            yield env.timeout(hold)
        if lighter:
            crews.give_back()
        else:
            crews.release(request)
        trace.append((env.now, name, "freed"))

    def bystander(name, days):
        for day in days:
            yield env.timeout(day - env.now)
            trace.append((env.now, name, "woke"))

    for k in range(int(rng.integers(1, 30))):
        env.process(project(f"p{k}", int(rng.integers(0, 6)), int(rng.integers(0, 3))))
        if rng.random() < 0.3:
            env.process(bystander(f"b{k}", sorted(rng.integers(0, 8, size=3).tolist())))
    env.run()
    return trace


@pytest.mark.parametrize("seed", range(40))
def test_crews_take_and_free_as_simpy_resource_does(seed):
    """Crews keeps simpy.Resource's order: who gets a crew when, among all that happens at once
    (a crew freed goes to the first waiting only once its release is processed)."""
    capacity = 1 + seed % 3
    assert crew_trace(seed, capacity, lighter=True) == crew_trace(seed, capacity, lighter=False)


def test_one_crew_converts_a_four_block_project_in_one_conversion_time(compose_constant):
    """30 MW of IT need 4 blocks (39 MW of grid); as one project, one crew builds them at once."""
    request = "[[0,30,4383,120,400]]"
    together = compose_constant("strategy=build_to_suit", *QUIET, "run.horizon_years=3",
                                "site.crews=1", "site.blocks_per_project=4",
                                f"market.demand.requests={request}")
    acc = account(together)
    assert acc.summary()["tenant_requests_rejected"] == 0
    assert events(acc, "ready") == [(365, b, "ready") for b in range(4)]
    assert rent(acc) == pytest.approx(rent_by_hand(acc, [(365, 30, 120)]), rel=1e-12)
    # One block a project: the same crew needs four rounds, too slow for a 400-day wait.
    apart = compose_constant("strategy=build_to_suit", *QUIET, "run.horizon_years=3",
                             "site.crews=1", f"market.demand.requests={request}")
    assert account(apart).summary()["tenant_requests_rejected"] == 1
    patient = compose_constant("strategy=build_to_suit", *QUIET, "run.horizon_years=6",
                               "site.crews=1", "market.demand.requests=[[0,30,4383,120,1500]]")
    assert [day for day, _, _ in events(account(patient), "ready")] == [365, 730, 1095, 1460]


# --- rent from a commencement date -------------------------------------------------------------
@pytest.mark.parametrize("commence_days, leased_on", [(0, 365), (100, 365), (600, 600)])
def test_a_hall_ready_before_its_tenants_commencement_is_held_for_it_unleased(
        compose_constant, commence_days, leased_on):
    """build_to_suit, one crew: the tenant's block (7 MW of IT, 9.1 of grid) is ready on day
    365 and due on day 600. Its rent starts on the later of delivery and the commencement
    date; in between the hall is ready, held for it (no other tenant could have it), and
    pays no rent and no late penalty."""
    request = f"[[0,7,4383,120,600,1,0,{commence_days}]]"
    acc = account(compose_constant("strategy=build_to_suit", *QUIET, "run.horizon_years=3",
                                   "site.crews=1", f"market.demand.requests={request}"))
    held = [(365, -1, "held_for_tenant")] if leased_on > 365 else []
    assert events(acc, "ready", "held_for_tenant", "leased") == [
        (365, 0, "ready"), *held, (leased_on, -1, "leased")]
    assert rent(acc) == pytest.approx(rent_by_hand(acc, [(leased_on, 7, 120)]), rel=1e-12)
    assert acc.summary()["tenant_requests_late"] == 0
    ready, leased = acc.record.rates.mw_ready, acc.record.rates.mw_leased
    # on day 450 the block's 10 MW of grid: 9.1 held (ready) or leased, 0.9 ready for others
    assert np.cumsum(ready)[450] == pytest.approx(10.0 if leased_on > 450 else 0.9)
    assert np.cumsum(leased)[450] == pytest.approx(0.0 if leased_on > 450 else 9.1)


def test_a_tenant_arriving_to_ready_halls_is_held_until_its_commencement_and_others_wait(
        compose_constant):
    """convert_all: every hall is ready on day 365 (ten crews). The first tenant comes on day
    400 and commences on day 600; its halls are held from day 400, so the second tenant,
    on day 450, asking for all the rest and more, cannot have them."""
    requests = "[[400,70,4383,120,0,1,0,200],[450,10,4383,120,0,1,0,0]]"
    acc = account(compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=3",
                                   "site.crews=10", f"market.demand.requests={requests}"))
    assert events(acc, "held_for_tenant", "leased", "tenant_rejected") == [
        (400, -1, "held_for_tenant"), (450, -1, "tenant_rejected"), (600, -1, "leased")]
    assert rent(acc) == pytest.approx(rent_by_hand(acc, [(600, 70, 120)]), rel=1e-12)


# --- signing against halls converting ---------------------------------------------------------
def test_a_tenant_signs_against_converting_halls_only_when_switched_on(compose_constant):
    """convert_all, three crews: three blocks (30 MW of grid) are expected ready on day 365."""
    request = "[[100,20,4383,120,300]]"   # 26 MW of grid, due on day 400
    on = compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=2",
                          "site.sign_converting=true", f"market.demand.requests={request}")
    acc = account(on)
    assert events(acc, "tenant_signed_converting", "leased") == [
        (100, -1, "tenant_signed_converting"), (365, -1, "leased")]
    assert rent(acc) == pytest.approx(rent_by_hand(acc, [(365, 20, 120)]), rel=1e-12)
    off = compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=2",
                           f"market.demand.requests={request}")
    assert account(off).summary()["tenant_requests_rejected"] == 1
    # Due before the first halls are expected (day 365), it is lost even with the switch on.
    early = compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=2",
                             "site.sign_converting=true", "market.demand.requests=[[100,20,4383,120,200]]")
    assert account(early).summary()["tenant_requests_rejected"] == 1


def test_halls_reserved_for_one_tenant_are_not_signed_again(compose_constant):
    # The first tenant takes the 30 MW of grid due on day 365; the second, due by day 500,
    # would need them too: the next halls come on day 730.
    requests = "[[100,20,4383,120,300],[110,5,4383,130,390]]"
    acc = account(compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=2",
                                   "site.sign_converting=true", f"market.demand.requests={requests}"))
    summary = acc.summary()
    assert summary["tenant_requests_rejected"] == 1 and summary["tenant_mw_it_rejected"] == 5


@pytest.mark.parametrize("mw_it, signed", [(20, True), (30, False)])
def test_halls_of_a_project_that_came_ready_are_not_counted_again_as_converting(
        compose_constant, mw_it, signed):
    """One crew builds all ten blocks as one project; they come ready one by one from day
    246 to day 521. On day 350 five are ready (50 MW of grid), all reserved for the first
    tenant (65 MW), and five are to come: 35 MW are free for a second tenant, enough for 20
    MW of IT (26 MW of grid), not for 30 (39). Counting the whole project as still to come
    signed the 30 MW tenant against 85 MW, and it was never served."""
    cfg = compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=4", "site.crews=1",
                           "site.blocks_per_project=10", "site.sign_converting=true",
                           "site.conversion.retrofit_days=uniform:200:500",
                           f"market.demand.requests=[[0,50,4383,120,600],[350,{mw_it},4383,120,400]]")
    acc = account(cfg)
    ready = sorted(day for day, _, _ in events(acc, "ready"))
    assert sum(day <= 350 for day in ready) == 5 and ready[-1] < 4 * 365
    summary = acc.summary()
    leased = events(acc, "leased")
    assert summary["tenant_requests_rejected"] == (0 if signed else 1)
    assert len(leased) == (2 if signed else 1)  # every tenant signed is served
    if signed:  # once all ten are ready: 100 - 65 MW of grid cover its 26
        assert leased[1][0] == ready[-1]


# --- partial and phased delivery ---------------------------------------------------------------
def test_a_tenant_signs_for_the_share_it_accepts(compose_constant):
    """All halls ready on day 365 (76.9 MW of IT); 60 are leased; a 30 MW tenant accepting half takes the rest."""
    free_mw_it = 100 / 1.3 - 60
    requests = "[[400,60,4383,120,0,1,0],[500,30,4383,140,0,0.5,0],[600,30,4383,150,0,0.7,0]]"
    acc = account(compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=3",
                                   "site.crews=10", f"market.demand.requests={requests}"))
    summary = acc.summary()
    assert summary["tenant_requests_partial"] == 1
    assert summary["tenant_requests_rejected"] == 1          # the third finds nothing left
    assert summary["tenant_mw_it_rejected"] == pytest.approx(30 - free_mw_it + 30)
    expected = rent_by_hand(acc, [(400, 60, 120), (500, free_mw_it, 140)])
    assert rent(acc) == pytest.approx(expected, rel=1e-12)
    assert events(acc, "tenant_signed_partial") == [(500, -1, "tenant_signed_partial")]


def test_a_phased_tenant_leases_each_part_on_energisation(compose_constant):
    """60 MW of IT (78 MW of grid), due by day 1100: three crews deliver three 10 MW halls
    on days 365 and 730, and the last 18 MW of grid from the halls ready on day 1095."""
    request = "[[0,60,4383,120,1100,1,1]]"
    acc = account(compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=4",
                                   "site.sign_converting=true", f"market.demand.requests={request}"))
    assert [day for day, _, _ in events(acc, "leased")] == [365] * 3 + [730] * 3 + [1095] * 2
    parts = [(365, 30 / 1.3, 120), (730, 30 / 1.3, 120), (1095, 60 - 60 / 1.3, 120)]
    assert rent(acc) == pytest.approx(rent_by_hand(acc, parts), rel=1e-12)
    kw_it_leased = np.cumsum(acc.record.rates.kw_it_leased)[:acc.n_days]
    assert kw_it_leased[-1] == pytest.approx(60_000)
    assert acc.summary()["tenant_requests_late"] == 0


def test_a_late_part_pays_the_penalty_on_its_own_mw(compose_constant):
    """Deterministic draws: each block converts in 30 + mean retrofit (335 · e^0.045) days,
    longer than the median of 365 the desk plans with; one crew, two blocks, due by 730."""
    one_block_days = 30 + 335 * math.exp(0.3 ** 2 / 2)
    acc = account(compose_constant(
        "strategy=build_to_suit", *QUIET, "run.deterministic=true", "run.horizon_years=3",
        "site.conversion.retrofit_days=lognormal:335:0.3", "site.crews=1",
        "market.demand.requests=[[0,15,4383,120,730,1,1]]"))
    assert [day for day, _, _ in events(acc, "leased")] == pytest.approx(
        [one_block_days, 2 * one_block_days])
    late_days = 2 * one_block_days - 730
    penalty = 60 * (15 - 10 / 1.3) * 1000 * late_days / DAYS_PER_MONTH
    assert acc.record.lumps.hosting_rent_usd.sum() == pytest.approx(-penalty, rel=1e-12)
    assert acc.summary()["tenant_requests_late"] == 1


# --- pre-leasing --------------------------------------------------------------------------------
def anchor_site(compose_small, *overrides):
    return compose_small("run.deterministic=true", "run.replications=1", "market/demand=anchor",
                         "strategy=convert_all", "strategy.convert_all.prelease=true",
                         "market.demand.rate_per_year=0", "site.pue_ai=1.25", "run.event_log=true",
                         *overrides)


@pytest.mark.parametrize("anchor_mw_it, mining_mw", [(80, 0), (40, 50)])
def test_preleased_halls_are_never_idle(compose_small, anchor_mw_it, mining_mw):
    """The anchor signs on day 0 for whole blocks (80 MW of IT at PUE 1.25 is the site);
    it takes each hall on energisation, so no hall is ever ready and idle; blocks planned
    but never leased keep mining."""
    cfg = anchor_site(compose_small, f"market.demand.anchor_mw_it={anchor_mw_it}",
                      "market.demand.anchor_phases=[[1.0,1500]]")
    acc = account(cfg)
    timeline = acc.timeline()
    columns = list(STATES)
    ready = timeline[:, columns.index("mw_ready")]
    np.testing.assert_allclose(ready, 0, atol=1e-9)
    leased = timeline[:, columns.index("mw_leased")]
    assert leased[-1] == pytest.approx(anchor_mw_it * 1.25)
    mining = timeline[:, columns.index("mw_mining")] + timeline[:, columns.index("mw_curtailed")]
    assert mining.min() == pytest.approx(mining_mw)
    assert acc.summary()["tenant_requests_rejected"] == 0


def test_planned_blocks_mine_until_a_tenant_signs(compose_small):
    acc = account(anchor_site(compose_small, "market.demand.anchor_mw_it=40",
                              "market.demand.anchor_day=200", "market.demand.anchor_phases=[[1.0,1500]]"))
    planned = events(acc, "planned")
    assert [day for day, _, _ in planned] == [0] * 10
    queued = events(acc, "queued")
    assert len(queued) == 5 and {day for day, _, _ in queued} == {200}
    assert events(acc, "tenant_signed_planned") == [(200, -1, "tenant_signed_planned")]


def test_projects_let_the_anchor_phases_be_signed(compose_small):
    """TeraWulf-like phases, 20% due in 365 days and 80% in 500: with one block a project,
    three crews cannot promise the second phase; five blocks a project can."""
    one = account(anchor_site(compose_small, "market.demand.anchor_mw_it=40"))
    assert one.summary()["tenant_requests_rejected"] == 1
    five = account(anchor_site(compose_small, "market.demand.anchor_mw_it=40",
                               "site.blocks_per_project=5"))
    assert five.summary()["tenant_requests_rejected"] == 0
    assert five.summary()["mw_converted"] == pytest.approx(50)


def test_prelease_is_for_leases_only(compose_small):
    with pytest.raises(UserError, match=r"strategy.convert_all.prelease=true: needs use=lease \(got 'cloud'"):
        build_strategies(compose_small("strategy=convert_all", "strategy.convert_all.use=cloud",
                                       "strategy.convert_all.prelease=true"))


def test_build_to_suit_builds_the_share_a_tenant_accepts(compose_constant):
    """30 MW of IT (4 blocks), at least half, in 400 days, one crew of two-block projects:
    the whole needs two rounds (730 days); two blocks (15.4 MW of IT) take one."""
    cfg = compose_constant("strategy=build_to_suit", *QUIET, "run.horizon_years=3", "site.crews=1",
                           "site.blocks_per_project=2", "market.demand.requests=[[0,30,4383,120,400,0.5,0]]")
    acc = account(cfg)
    summary = acc.summary()
    assert summary["tenant_requests_partial"] == 1 and summary["tenant_requests_rejected"] == 0
    assert summary["tenant_mw_it_rejected"] == pytest.approx(30 - 20 / 1.3)
    assert summary["mw_converted"] == pytest.approx(20)
    assert rent(acc) == pytest.approx(rent_by_hand(acc, [(365, 20 / 1.3, 120)]), rel=1e-12)


SEEN_REQUESTS = []


class RecordsRequests(sim.strategies.Strategy):
    """Never converts; keeps each request it is asked to build for (the engine runs a copy)."""

    def on_request(self, request, view, site):
        SEEN_REQUESTS.append(request)
        return False


def test_requests_carry_the_tables_numbers_as_python_ints_floats_and_a_bool(compose_constant):
    """The tenant desk builds each Request from the world's rows as they are: day an int,
    the numbers floats, `phased` a bool (1.0 in the table), `tenant` the int index of its
    tenant's first request (here each its own), `backstop` False (a tenant's own request)."""
    requests = "[[40,500,4383,120.5,30,0.5,1,45],[70,600,3650,99,0,1,0,0]]"
    cfg = compose_constant(*QUIET, "run.horizon_years=1", f"market.demand.requests={requests}")
    SEEN_REQUESTS.clear()
    simulate(cfg, sim.sample_world(cfg, 0), RecordsRequests())
    # each request as first asked (the one accepting half is then asked for smaller parts)
    firsts = list({r.index: r for r in reversed(SEEN_REQUESTS)}.values())[::-1]
    assert [dataclasses.astuple(r) for r in firsts] == [
        (0, 40, 500.0, 4383.0, 120.5, 30.0, 0.5, True, 45.0, 0, False),
        (1, 70, 600.0, 3650.0, 99.0, 0.0, 1.0, False, 0.0, 1, False)]
    assert [[type(getattr(r, f.name)) for f in dataclasses.fields(r)] for r in firsts] == [
        [int, int, float, float, float, float, float, bool, float, int, bool]] * 2


class AsksAndDeclines(sim.strategies.ConvertAll):
    """ConvertAll with an on_request of its own that, like Strategy's, never builds."""

    def on_request(self, request, view, site):
        SEEN_REQUESTS.append(request)
        return False


def test_a_strategy_keeping_the_default_on_request_runs_as_one_asked_that_declines(compose_constant):
    """The desk does not ask a strategy that keeps Strategy.on_request (always False); the
    run is the same as one whose own on_request is asked, whole and in parts, and declines."""
    # the second asks for more than the site's halls converting and not reserved (80 MW of
    # grid; the first signs for 20): it is asked to build for a part
    requests = ("[[10,20,4383,120,400,0.3,0],[200,70,4383,130,0,0.5,1],[400,30,3650,140,30,1,0],"
                "[800,70,3650,150,0,0.2,0],[900,15,3650,150,0,0.9,1]]")
    cfg = compose_constant("strategy=convert_all", *QUIET, "run.horizon_years=4", "site.crews=2",
                           "site.sign_converting=true", f"market.demand.requests={requests}")
    world = sim.sample_world(cfg, 0)
    default = next(iter(build_strategies(cfg).values()))
    asking = AsksAndDeclines(**dataclasses.asdict(default))
    SEEN_REQUESTS.clear()
    one, other = simulate(cfg, world, default), simulate(cfg, world, asking)
    assert len(SEEN_REQUESTS) > len({r.index for r in SEEN_REQUESTS})  # asked for parts too
    assert one.events == other.events and one.leases == other.leases and one.counts == other.counts
    for rates in (one.rates, other.rates):
        assert rates.rent_usd_per_day.any()
    for field in dataclasses.fields(one.rates):
        np.testing.assert_array_equal(getattr(one.rates, field.name), getattr(other.rates, field.name))


# --- a request sure to be rejected, counted without waking on its day --------------------------
# (TenantDesk._rejected_whatever_comes): the record is the one a desk that wakes for every
# request books (a logged run wakes for each).
@pytest.mark.parametrize("label, overrides", [
    ("stay_mining", []),
    ("convert_all", ["strategy.convert_all.use=cloud"]),
    ("convert_all", []),
    ("phased", ["market.demand.min_share=0.5", "site.sign_converting=false"]),
])
def test_a_request_counted_unseen_books_what_a_desk_that_wakes_books(compose_small, monkeypatch,
                                                                     label, overrides):
    """Quiet and logged runs book the same record, counts included; the quiet desk decides
    fewer requests on their day than it receives (the rest it counts unseen)."""
    cfg = compose_small(f"strategy={label}", "run.horizon_years=6",
                        "market.demand.rate_per_year=6", *overrides)
    strategy = build_strategies(cfg)[label]
    decided = []
    defaulted = TenantDesk._defaulted

    def counting(self, tenant, day):
        decided.append(day)
        return defaulted(self, tenant, day)

    monkeypatch.setattr(TenantDesk, "_defaulted", counting)
    world = sim.sample_world(cfg, 0)
    quiet = simulate(cfg, world, strategy)
    woken = len(decided)
    cfg.run.event_log = True
    logged = simulate(cfg, world, strategy)
    assert record_bytes(quiet) == record_bytes(logged)
    requests = sum(event.event == "tenant_request" for event in logged.events)
    assert quiet.counts.tenant_requests == requests > 0
    assert woken < requests


def test_a_site_that_never_converts_rejects_every_request_unseen(compose_small, monkeypatch):
    """stay_mining has no hall to offer, ever: the desk signs nothing and wakes for nothing."""
    cfg = compose_small("strategy=stay_mining", "run.horizon_years=4", "market.demand.rate_per_year=6")
    monkeypatch.setattr(TenantDesk, "_sign", lambda self, request: pytest.fail("woke for a request"))
    record = simulate(cfg, sim.sample_world(cfg, 0), build_strategies(cfg)["stay_mining"])
    assert record.counts.tenant_requests == record.counts.tenant_requests_rejected > 0
