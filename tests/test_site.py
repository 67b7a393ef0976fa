"""The site engine against sums done by hand, conservation laws and the no-look-ahead rule."""

import gc
import itertools
import math
import re
import weakref

import numpy as np
import pytest

import sim
from record_bytes import record_bytes
from trained import QUICK_TRAINING, ready_strategies
from sim.config_objects import build_strategies
from sim.errors import LookAheadError
from sim.economics import DAYS_PER_MONTH, discount_factors
from sim.ledger import CATEGORIES, STATES, Account
from sim.fleet import book_alike
from sim.site import simulate
from sim.strategies import Strategy

QUIET_FLEET = ["fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0",
               "site.power.demand_response.enrolled_mw=0", "run.horizon_years=1"]


def account(cfg, replication=0, label=None):
    world = sim.sample_world(cfg, replication)
    strategies = build_strategies(cfg)
    label = label or next(iter(strategies))
    if label == "real_option":  # a learning strategy: trained first, as sim.run does
        strategies = ready_strategies(cfg)
    return Account(cfg, world, simulate(cfg, world, strategies[label]))


def totals(acc):
    return dict(zip(CATEGORIES, acc.monthly.sum(axis=1)))


def test_mining_year_matches_model_rough_check(compose_constant):
    """docs/model.md: 100 MW at $40/PH/day earns about $78M a year after fees, for about $35M of power."""
    cfg = compose_constant("strategy=stay_mining", *QUIET_FLEET)
    t = totals(account(cfg))
    th = 100 * 1e6 / (17.5 * 1.05)                       # TH/s of the whole site
    days = 365
    assert t["mining_revenue"] == pytest.approx(th / 1000 * 40 * days, rel=1e-9)
    assert t["mining_revenue"] + t["pool_fees"] == pytest.approx(78e6, rel=0.01)
    assert -t["power_cost"] == pytest.approx(100 * 24 * 40 * days, rel=1e-9)
    assert -t["power_cost"] == pytest.approx(35e6, rel=0.01)
    assert -t["opex"] == pytest.approx(100 * 2500 * 12 * days / 365.25, rel=1e-9)


def test_mining_curtails_when_spot_beats_breakeven(compose_constant):
    """Breakeven p* = hashprice per TH-day · (1 − fee) / (J/TH · 24e-6 · PUE); above it, no mining."""
    p_star = 40 / 1000 * 0.98 / (17.5 * 24e-6 * 1.05)
    above = compose_constant("strategy=stay_mining", *QUIET_FLEET,
                             f"market.power.usd_per_mwh={p_star * 1.01}")
    below = compose_constant("strategy=stay_mining", *QUIET_FLEET,
                             f"market.power.usd_per_mwh={p_star * 0.99}")
    acc = account(above)
    assert totals(acc)["mining_revenue"] == 0
    assert acc.curtailed_mwh == pytest.approx(100 * 24 * 365)
    assert account(below).curtailed_mwh == 0


def test_ppa_resells_what_curtailed_mining_leaves(compose_constant):
    cfg = compose_constant("strategy=stay_mining", *QUIET_FLEET, "site.power.ppa_mw=60",
                           "site.power.ppa_usd_per_mwh=30", "market.power.usd_per_mwh=500")
    t = totals(account(cfg))
    assert -t["power_cost"] == pytest.approx(60 * 30 * 24 * 365)
    assert t["power_resale"] == pytest.approx(60 * 500 * 24 * 365)


@pytest.mark.parametrize("retrofit, decommission", [(300.5, 30), (300.9, 30), (300.4, 29.8), (0.5, 30)])
def test_conversion_capex_adds_up_to_the_drawn_capex_whatever_the_fraction_of_a_day(
        compose_constant, retrofit, decommission):
    """The books are daily; a retrofit of 300.5 days from day 30 covers 301 of them. The
    capex paid over them is the capex drawn: 100 MW / 1.3 of IT at $9M/MW."""
    cfg = compose_constant("strategy=convert_all", *QUIET_FLEET, "run.horizon_years=3",
                           "site.crews=10", f"site.conversion.retrofit_days=fixed:{retrofit}",
                           f"site.conversion.decommission_days=fixed:{decommission}",
                           "site.conversion.capex_usd_per_mw_it=fixed:9e6")
    acc = account(cfg)
    assert -totals(acc)["capex_conversion"] == pytest.approx(100 / 1.3 * 9e6, rel=1e-12)
    assert sum(c.capex_usd for c in acc.record.conversions) == pytest.approx(100 / 1.3 * 9e6,
                                                                           rel=1e-12)


def test_lease_rent_and_capex_by_hand(compose_constant):
    """Convert everything with fixed durations; tenants sign once the halls are ready."""
    requests = "[[100,30,4383,120,0],[400,30,4383,130,0],[500,30,4383,140,0],[600,10,4383,150,0]]"
    cfg = compose_constant("strategy=convert_all", *QUIET_FLEET, "run.horizon_years=3",
                           "site.crews=10", "site.conversion.retrofit_days=fixed:335",
                           "site.conversion.capex_usd_per_mw_it=fixed:9e6",
                           f"market.demand.requests={requests}")
    acc = account(cfg)
    t = totals(acc)
    n_days = acc.n_days
    ready_day = 30 + 335
    # 100 MW / 1.3 = 76.9 MW of IT: day 100 finds nothing ready; 400 and 500 fit (60 MW);
    # day 600 wants 10 MW but only 16.9 MW are left: it fits too.
    expected = sum(mw * 1000 * usd / DAYS_PER_MONTH * (n_days - day)
                   for day, mw, usd in [(400, 30, 130), (500, 30, 140), (600, 10, 150)])
    assert ready_day < 400
    assert t["hosting_rent"] == pytest.approx(expected, rel=1e-9)
    assert -t["capex_conversion"] == pytest.approx(100 / 1.3 * 9e6, rel=1e-9)  # MODEL: ~$700M
    summary = acc.summary()
    assert summary["tenant_requests"] == 4
    assert summary["tenant_requests_rejected"] == 1
    assert summary["tenant_mw_it_rejected"] == 30


def test_build_to_suit_signs_and_pays_for_late_delivery(compose_constant):
    requests = "[[10,15,4383,120,100]]"   # wants 15 MW of IT within 100 days; building takes 365
    cfg = compose_constant("strategy=build_to_suit", *QUIET_FLEET, "run.horizon_years=2",
                           "site.conversion.retrofit_days=fixed:335",
                           f"market.demand.requests={requests}")
    acc = account(cfg)
    assert acc.summary()["tenant_requests_rejected"] == 1  # too slow for this tenant: refused
    patient = compose_constant("strategy=build_to_suit", *QUIET_FLEET, "run.horizon_years=2",
                               "site.conversion.retrofit_days=fixed:335",
                               "market.demand.requests=[[10,15,4383,120,400]]",
                               "site.hosting.late_penalty_usd_per_kw_month=0")
    acc = account(patient)
    blocks = math.ceil(15 * 1.3 / 10)
    assert acc.summary()["tenant_requests_rejected"] == 0
    assert acc.summary()["mw_converted"] == pytest.approx(blocks * 10)
    start = 10 + 365
    assert totals(acc)["hosting_rent"] == pytest.approx(15_000 * 120 / DAYS_PER_MONTH * (acc.n_days - start))


def test_mw_are_conserved_and_ledger_sums_to_npv(compose_small):
    cfg = compose_small("run.horizon_years=4", *QUICK_TRAINING)
    for label in build_strategies(cfg):
        for replication in range(3):
            acc = account(cfg, replication, label)
            mw = acc.timeline()[:, :len(STATES)]  # the MW states, not the cover after them
            np.testing.assert_allclose(mw.sum(axis=1), cfg.site.grid_mw, rtol=1e-9)
            cash = acc.monthly.sum(axis=0)
            factors = discount_factors(len(cash), 0.10, first_share=acc.first_share)
            assert acc.summary()["npv_usd"] == pytest.approx(float(cash @ factors), rel=1e-12)


class Peeker(Strategy):
    decide_every_months = 1

    def decide(self, day, view, site):
        view.at("btc_usd", day)          # today is allowed
        return view.btc_usd[day + 1]     # tomorrow is not there


class AskingTomorrow(Strategy):
    def decide(self, day, view, site):
        view.at("lease_usd_per_kw_month", day + 1)


def test_strategies_cannot_read_the_future(compose_small):
    cfg = compose_small("strategy=stay_mining")
    world = sim.sample_world(cfg, 0)
    with pytest.raises(IndexError):
        simulate(cfg, world, Peeker())
    with pytest.raises(LookAheadError):
        simulate(cfg, world, AskingTomorrow())


def test_view_shows_exactly_the_past():
    from sim.view import MarketView

    class FakeWorld:
        btc_usd = np.arange(10.0)
    view = MarketView(FakeWorld(), 4)
    assert list(view.btc_usd) == [0, 1, 2, 3, 4]


def test_world_does_not_depend_on_the_strategy(compose_small):
    a = sim.sample_world(compose_small("strategy=stay_mining"), 2)
    b = sim.sample_world(compose_small("strategy=[phased,threshold]"), 2)
    for name in a.daily_fields():
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.tenant_requests.equals(b.tenant_requests)


def test_same_seed_same_summary(compose_small):
    cfg = compose_small(*QUICK_TRAINING)
    first, second = sim.run(cfg).summary, sim.run(cfg).summary
    assert first.equals(second)
    other = sim.run(compose_small("run.seed=7", *QUICK_TRAINING)).summary
    assert not np.allclose(first["npv_usd"], other["npv_usd"])


def test_deterministic_base_case_by_hand(compose_small):
    """On the expected paths of the default market, mining money is a sum over days."""
    cfg = compose_small("run.deterministic=true", "strategy=stay_mining",
                        "fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0",
                        "site.power.demand_response.enrolled_mw=0")
    world = sim.sample_world(cfg, 0)
    th_per_mw = 1e6 / (17.5 * 1.05)
    revenue_per_mw = world.hashprice_usd_per_ph_day / 1000 * th_per_mw
    mines = revenue_per_mw * 0.98 >= 24 * world.power_usd_per_mwh
    t = totals(account(cfg))
    assert t["mining_revenue"] == pytest.approx(100 * revenue_per_mw[mines].sum(), rel=1e-9)
    assert -t["power_cost"] == pytest.approx(100 * 24 * world.power_usd_per_mwh[mines].sum(), rel=1e-9)
    assert 0 < mines.mean() < 1   # the halvings push the fleet past breakeven: both cases occur
    # Expected paths carry no noise: every replication is the same world.
    other = sim.sample_world(cfg, 7)
    for name in world.daily_fields():
        np.testing.assert_array_equal(getattr(world, name), getattr(other, name))


def test_deterministic_lease_rent_by_hand(compose_small):
    """Deterministic demand: evenly spaced requests at the mean size, priced at the index."""
    cfg = compose_small("run.deterministic=true", "strategy=convert_all", "site.crews=10",
                        "site.hosting.renewal_probability=0")
    world = sim.sample_world(cfg, 0)
    acc = account(cfg)
    ready_day = math.ceil(30 + 335 * math.exp(0.3 ** 2 / 2))  # mean decommission + retrofit
    free_mw_it, rent = 100 / 1.3, 0.0
    for row in world.tenant_requests.itertuples():
        if row.day >= ready_day and row.mw_it <= free_mw_it + 1e-9:
            free_mw_it -= row.mw_it
            end = min(acc.n_days, row.day + row.term_days)
            rent += row.mw_it * 1000 * row.usd_per_kw_month / DAYS_PER_MONTH * (end - row.day)
    assert rent > 0
    assert totals(acc)["hosting_rent"] == pytest.approx(rent, rel=1e-9)


FAILING_FLEET = ["strategy=stay_mining", "fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0.07",
                 "site.power.demand_response.enrolled_mw=0", "run.horizon_years=1"]


def test_failed_machines_are_bought_back_when_refresh_is_replace(compose_constant):
    acc = account(compose_constant(*FAILING_FLEET, "fleet.refresh=replace"))
    t = totals(acc)
    th = 100 * 1e6 / (17.5 * 1.05)
    new_usd_per_th = 375 * 40 / 1000
    assert t["mining_revenue"] == pytest.approx(th / 1000 * 40 * acc.n_days, rel=1e-9)  # kept whole
    assert -t["capex_asic_refresh"] == pytest.approx(0.07 / 365.25 * th * new_usd_per_th * acc.n_days,
                                                      rel=1e-9)


def test_without_replacement_the_fleet_decays(compose_constant):
    acc = account(compose_constant(*FAILING_FLEET, "fleet.refresh=none"))
    t = totals(acc)
    th = 100 * 1e6 / (17.5 * 1.05)
    alive = np.exp(-0.07 / 365.25 * np.arange(acc.n_days))
    assert t["mining_revenue"] == pytest.approx(th / 1000 * 40 * alive.sum(), rel=1e-9)
    assert -t["power_cost"] == pytest.approx(100 * 24 * 40 * alive.sum(), rel=1e-9)
    assert t["capex_asic_refresh"] == 0
    last = acc.n_days - 1
    used_usd_per_th = 375 * 40 / 1000 * 0.5 * 0.92 ** (last / 365.25)
    assert t["terminal_value"] == pytest.approx(th * alive[-1] * used_usd_per_th, rel=1e-9)


@pytest.mark.parametrize("refresh", ["replace", "none"])
def test_salvage_sells_what_is_left_of_each_fleet(compose_constant, refresh):
    """Three crews: blocks 0-2 sell their ASICs on day 0, blocks 3-5 on day 365, 6-8 on 730."""
    cfg = compose_constant("strategy=convert_all", "fleet.upgrade_every_years=null",
                           f"fleet.refresh={refresh}", "site.conversion.retrofit_days=fixed:335",
                           "run.horizon_years=2")
    salvage = account(cfg).record.lumps.asic_salvage_usd
    block_th = 10 * 1e6 / (17.5 * 1.05)
    new_usd_per_th = 375 * 40 / 1000
    for day in (0, 365, 730):
        alive = 1.0 if refresh == "replace" else np.exp(-0.07 / 365.25 * day)
        used_usd_per_th = new_usd_per_th * 0.5 * 0.92 ** (day / 365.25)
        assert salvage[day] == pytest.approx(3 * block_th * alive * used_usd_per_th, rel=1e-12)
    assert np.count_nonzero(salvage) == 3


FAST_BUILD = ["site.crews=10", "site.conversion.retrofit_days=fixed:335",
              "site.conversion.capex_usd_per_mw_it=fixed:9e6"]


def test_gpu_cloud_by_hand(compose_constant):
    cfg = compose_constant("strategy=convert_all", "strategy.convert_all.use=cloud", *QUIET_FLEET,
                           *FAST_BUILD, "run.horizon_years=2")
    acc = account(cfg)
    t = totals(acc)
    gpus = 100 / 1.3 * 780
    cloud_days = acc.n_days - 365
    assert -t["capex_gpu"] == pytest.approx(gpus * 45_000)
    assert t["cloud_revenue"] == pytest.approx(gpus * 2.0 * 24 * 0.75 * cloud_days)
    # Ten crews decommission every block on day 0; then the cloud pays spot for its grid MW.
    assert -t["power_cost"] == pytest.approx(100 * 24 * 40 * cloud_days)
    assert t["mining_revenue"] == 0
    assert acc.summary()["mw_converted"] == pytest.approx(100)


def test_a_first_lot_bought_at_a_fixed_price_costs_it_and_its_refresh_follows_the_index(compose_small):
    """Under first_lot_price=fixed the GPUs bought when a hall is ready cost usd_per_gpu as it
    stands; under indexed they cost it times the rental index of their day; refreshes follow
    the index in both. Two crews of three blocks build in rounds, so halls are ready on
    several days, and the index moves between them (the sampled ai market)."""
    lots = {}
    for price in ("indexed", "fixed"):
        cfg = compose_small("strategy=convert_all", "strategy.convert_all.use=cloud",
                            "site.cloud.gpu_life_years=2", "run.horizon_years=5",
                            f"site.cloud.first_lot_price={price}")
        world = sim.sample_world(cfg, 0)
        record = simulate(cfg, world, build_strategies(cfg)["convert_all"])
        lots[price] = record.gpu_lots
    index = world.gpu_usd_per_hour / world.gpu_usd_per_hour[0]
    gpus = 100 / 10 / 1.3 * 780  # one block's GPUs
    refreshed = {lot.day + lot.life_days for lot in lots["fixed"]}  # a refresh's day, exactly
    firsts = [lot for lot in lots["fixed"] if lot.day not in refreshed]
    assert len({lot.day for lot in firsts}) > 1 and len(lots["fixed"]) > len(firsts)
    for fixed, indexed in zip(lots["fixed"], lots["indexed"], strict=True):
        assert fixed.day == indexed.day
        assert indexed.usd == pytest.approx(gpus * 45_000 * index[int(indexed.day)], rel=1e-12)
        first = fixed in firsts
        assert fixed.usd == pytest.approx(gpus * 45_000 * (1.0 if first else index[int(fixed.day)]),
                                          rel=1e-12)
        assert first or fixed.usd == indexed.usd
    assert any(abs(index[int(lot.day)] - 1) > 0.01 for lot in firsts)


@pytest.mark.parametrize("method", ["none", "contracted", "multiple"])
def test_terminal_value_methods(compose_constant, method):
    requests = "[[400,70,4383,120,0]]"
    cfg = compose_constant("strategy=convert_all", *QUIET_FLEET, *FAST_BUILD, "run.horizon_years=3",
                           f"market.demand.requests={requests}", f"run.terminal_value={method}")
    acc = account(cfg)
    value = totals(acc)["terminal_value"]
    if method == "none":
        assert value == 0
        return
    if method == "contracted":
        # 12-year lease from day 400: the rent left after the horizon, net of opex, discounted.
        months_left = (400 + 4383 - acc.n_days) / DAYS_PER_MONTH
        per_month = 70_000 * (120 - 18)
        undiscounted = per_month * months_left
        assert 0.55 * undiscounted < value < undiscounted
    else:
        trailing = 70_000 * (120 - 18) * 12 - (100 / 1.3 - 70) * 1000 * 3 * 12
        assert value == pytest.approx(12.0 * trailing, rel=0.01)


def test_stay_mining_terminal_value_is_the_fleet_resale(compose_constant):
    cfg = compose_constant("strategy=stay_mining", *QUIET_FLEET)
    acc = account(cfg)
    th = 100 * 1e6 / (17.5 * 1.05)
    new_usd_per_th = 375 * 40 / 1000
    frontier = 17.5 * (1 - 0.08) ** ((acc.n_days - 1) / 365.25)
    assert totals(acc)["terminal_value"] == pytest.approx(th * new_usd_per_th * 0.5 * frontier / 17.5)


class PlainConverter:
    """A strategy plug-in as the README describes one: `decide`, no base class, no
    decide_every_months, on_request or finished."""

    def decide(self, day, view, site):
        from sim.strategies import Convert
        return [Convert(2)] if day == 0 else []


class BasedConverter(Strategy):
    decide = PlainConverter.decide


def test_a_strategy_plug_in_needs_only_decide(compose_small):
    cfg = compose_small("strategy=stay_mining")
    world = sim.sample_world(cfg, 0)
    assert len(world.tenant_requests)  # the desk asks on_request of a strategy that has one
    plain, based = (Account(cfg, world, simulate(cfg, world, strategy)).summary()
                    for strategy in (PlainConverter(), BasedConverter()))
    assert plain["mw_converted"] > 0 and plain["tenant_requests"] > 0
    assert plain.keys() == based.keys()
    assert all(plain[k] == based[k] or plain[k] != plain[k] and based[k] != based[k]
               for k in plain)  # bit for bit (NaN where both are)


class Greedy(Strategy):
    def decide(self, day, view, site):
        from sim.strategies import Convert
        return [Convert(site.blocks_mining + 1)]


def test_a_strategy_asking_for_too_much_gets_one_clear_line(compose_small):
    from sim.errors import UserError

    cfg = compose_small("strategy=stay_mining")
    with pytest.raises(UserError, match=r"strategy Greedy \(replication 0\) asked to convert 11 blocks"):
        simulate(cfg, sim.sample_world(cfg, 0), Greedy())


class Returns(Strategy):
    """decide returns `value` (on day 0), on_request `says`."""

    def __init__(self, value=(), says=False):
        self.value, self.says = value, says

    def decide(self, day, view, site):
        return self.value

    def on_request(self, request, view, site):
        return self.says


@pytest.mark.parametrize("value, shown", [
    (None, "None"), ("convert", "'convert'"), ({"blocks": 1}, "{'blocks': 1}"),
    ("Convert", "'Convert'")])
def test_a_decision_that_is_not_a_list_of_actions_gets_one_clear_line(value, shown, compose_small):
    """None (a forgotten return) was read as no action, a dict or a string was named by its
    first element ("returned 'c'"), a bare Convert raised "'Convert' object is not iterable"."""
    from sim.errors import UserError

    cfg = compose_small("strategy=stay_mining")
    with pytest.raises(UserError) as refused:
        simulate(cfg, sim.sample_world(cfg, 0), Returns(value))
    assert str(refused.value) == (f"strategy Returns (replication 0): decide returned {shown}; "
                                  "expected a list of sim.strategies.Convert ([] for none)")
    from sim.strategies import Convert

    with pytest.raises(UserError, match=r"decide returned Convert\(blocks=1"):
        simulate(cfg, sim.sample_world(cfg, 0), Returns(Convert(1)))
    simulate(cfg, sim.sample_world(cfg, 0), Returns((Convert(1),)))  # a tuple is a list of them


@pytest.mark.parametrize("says", ["no", 1, None])
def test_an_answer_to_a_tenant_that_is_not_true_or_false_gets_one_clear_line(says, compose_small):
    """on_request's "no" signed the tenant (a non-empty string is true)."""
    from sim.errors import UserError

    cfg = compose_small("strategy=stay_mining", "market.demand.rate_per_year=12")
    world = sim.sample_world(cfg, 0)
    assert len(world.tenant_requests)
    with pytest.raises(UserError, match=rf"strategy Returns \(replication 0\): on_request returned "
                                        rf"{re.escape(repr(says))} for request \d+; expected True "
                                        r"\(sign it and build for it\) or False"):
        simulate(cfg, world, Returns([], says))
    simulate(cfg, world, Returns([], np.bool_(False)))


@pytest.mark.parametrize("count", [997, 33, 10, 2])  # numpy's accumulate, then Python floats
def test_alike_blocks_book_the_same_floats_as_one_at_a_time(count):
    """Booking k alike blocks at once adds to each cell in the order k single bookings would."""
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=5), rng.normal(size=5)
    one = (a.copy(), b.copy())
    amounts = [float(x) for x in rng.normal(size=4) * [0.1, 3.3, 1e-7, 7.0]]
    bookings = lambda cells: [(cells[0], 2, amounts[0]), (cells[1], 4, amounts[1]),
                              (cells[0], 2, amounts[2]), (cells[0], 3, amounts[3])]
    for _ in range(count):
        for cells, index, amount in bookings(one):
            cells[index] += amount
    many = (a.copy(), b.copy())
    book_alike(count, bookings(many))
    assert one[0].tobytes() == many[0].tobytes() and one[1].tobytes() == many[1].tobytes()


def test_a_new_site_books_its_fleets_as_block_after_block_would(compose_small):
    """A new site books all its blocks at once (alike by construction): the same floats as
    booking each block in turn."""
    from sim.record import Books
    from sim.site import Site

    cfg = compose_small("strategy=stay_mining", "site.blocks=37", "fleet.failure_rate_per_year=0.07",
                        "fleet.refresh=none")
    site = Site(cfg, sim.sample_world(cfg, 0), Strategy())
    at_once = site.books.mining
    site.books = Books(site.n_days)
    for block in range(site.n_blocks):
        book_alike(1, site._fleet_bookings(block, 0.0, 1.0))
    assert at_once.keys() == site.books.mining.keys()
    for j_per_th, cells in site.books.mining.items():
        assert [c.tobytes() for c in cells] == [c.tobytes() for c in at_once[j_per_th]]


def test_the_clock_stays_a_python_float_through_conversions_and_leases(compose_small):
    """The site's draws are read as Python floats, so the days the engine books (and its
    clock) never turn into numpy scalars, which would make every step after them slower."""
    cfg = compose_small("strategy=convert_all", "site.conversion.retrofit_days=lognormal:335:0.3",
                        "site.hosting.default_probability_per_year=0.2")
    record = simulate(cfg, sim.sample_world(cfg, 0), build_strategies(cfg)["convert_all"])
    assert record.conversions and record.leases
    days = [d for c in record.conversions for d in (c.start_day, c.end_day, c.capex_usd)]
    days += [d for lease in record.leases for d in (lease.start_day, lease.end_day)]
    assert {type(d) for d in days} <= {int, float}  # whole days (decisions, requests) are ints


def test_alike_runs_are_the_groups_of_equal_fleets_in_order(compose_small):
    """`Site._alike` (numpy) cuts blocks where itertools.groupby on (J/TH, day whole) would."""
    from sim.site import Site

    cfg = compose_small("strategy=stay_mining", "site.blocks=40")
    site = Site(cfg, sim.sample_world(cfg, 0), Strategy())
    rng = np.random.default_rng(3)
    for _ in range(50):
        site.j_per_th[:] = rng.choice([16.0, 17.5, 21.0], size=40, p=[0.1, 0.8, 0.1])
        site.fleet_since[:] = rng.choice([0.0, 0.0, 365.25, 730.5], size=40)
        blocks = np.flatnonzero(rng.random(40) < 0.8)
        fleets = zip(site.j_per_th[blocks].tolist(), site.fleet_since[blocks].tolist())
        expected = [[int(b) for b, _ in group]
                    for _, group in itertools.groupby(zip(blocks, fleets), key=lambda bf: bf[1])]
        assert [run.tolist() for run in site._alike(blocks)] == expected
    assert site._alike(blocks[:0]) == []


def test_a_finished_run_holds_its_arrays_only_through_its_record():
    """Dropping a run's record frees its arrays at once, without the cycle collector: SimPy's
    leftover events and processes (cyclic garbage) must not keep them, or hundreds of runs'
    books pile up between full collections (real_option's training: +70 MB)."""
    cfg = sim.compose(["run.horizon_years=4", "run.progress=false",
                       "strategy=[stay_mining,convert_all,phased,threshold,build_to_suit]"])
    world = sim.sample_world(cfg, 1)
    enabled = gc.isenabled()
    gc.disable()
    try:
        for label, strategy in build_strategies(cfg).items():
            record = simulate(cfg, world, strategy)
            arrays = [record.rates.mw_leased, record.lumps.capex_gpu_usd,
                      *(a for tranche in record.tranches for a in (tranche.mw, tranche.fleet_mw))]
            held = [weakref.ref(a) for a in arrays]
            del record, arrays
            assert all(ref() is None for ref in held), label
    finally:
        if enabled:
            gc.enable()


@pytest.mark.parametrize("label, overrides", [
    ("phased", ["strategy.phased.max_share=0.3"]),
    ("threshold", ["strategy.threshold.margin_below=2", "strategy.threshold.margin_above=2",
                   "strategy.threshold.lease_above_usd_per_kw_month=0"]),  # always armed
])
def test_a_finished_strategy_is_asked_no_more_and_the_run_is_the_same(compose_small, monkeypatch,
                                                                        label, overrides):
    """Once a strategy is finished (its room is gone), the engine stops asking it: the run
    books the same floats as one that asks on every decision day (a logged run does)."""
    cfg = compose_small(f"strategy={label}", "run.horizon_years=4", *overrides)
    strategy = build_strategies(cfg)[label]
    asked = []
    decide = type(strategy).decide

    def counting(self, day, view, site):
        asked.append(day)
        return decide(self, day, view, site)

    monkeypatch.setattr(type(strategy), "decide", counting)
    world = sim.sample_world(cfg, 0)
    quiet = simulate(cfg, world, strategy)
    quiet_days = list(asked)
    asked.clear()
    cfg.run.event_log = True
    logged = simulate(cfg, world, strategy)
    assert 0 < len(quiet_days) < len(asked)  # the logged run asks on every decision day
    assert quiet_days == asked[:len(quiet_days)]
    assert record_bytes(quiet) == record_bytes(logged)
    assert sum(e.event == "decision" for e in logged.events) == len(asked)


def test_a_strategy_that_decides_otherwise_is_never_finished():
    """A subclass, or a mixin before its parent, that defines methods of its own (`decide`,
    `room`, `convert`, ...) may act where its parent was finished: it inherits the base's
    `finished` (never), unless it says when itself."""
    from sim.strategies import Phased

    class Own(Phased):
        def decide(self, day, view, site):
            return []

    class Roomier(Phased):
        @staticmethod
        def room(site, max_share):
            return 1

    class Same(Phased):
        pass

    class Says(Phased):
        def decide(self, day, view, site):
            return []

        def finished(self, site):
            return True

    class Bold:  # a mixin that decides otherwise, placed before Phased
        def decide(self, day, view, site):
            return []

    class Mixed(Bold, Phased):
        pass

    class Converts(Phased):  # any method of its own: convert, allowed, a helper ...
        def convert(self, blocks):
            return super().convert(blocks)

    class Tuned(Phased):  # only a class attribute: Phased's finished still speaks for it
        decide_every_months = 1

    assert Own.finished is Strategy.finished and Roomier.finished is Strategy.finished
    assert Same.finished is Phased.finished and Says.finished is not Strategy.finished
    assert Mixed.finished is Strategy.finished and Converts.finished is Strategy.finished
    assert Tuned.finished is Phased.finished

    class AfterSays(Says):  # below a class that says when, with nothing of its own
        pass

    class OwnAfterSays(Says):
        def room(self, site, max_share):
            return 1

    assert AfterSays.finished is Says.finished and OwnAfterSays.finished is Strategy.finished


class EveryFew:
    """Converts nothing, deciding every `decide_every_months` months (set per test)."""

    decide_every_months = 3

    def decide(self, day, view, site):
        return []


def _decision_days(cfg, strategy):
    record = simulate(cfg, sim.sample_world(cfg, 0), strategy)
    return [int(e.day) for e in record.events if e.event == "decision"]


@pytest.mark.parametrize("every", [-3, 0, 1.5, 3.0, "3", True, None, np.int64(3)])
def test_decide_every_months_is_a_whole_number_of_at_least_one_or_none(compose_small, every):
    """A plug-in's months between decisions: a whole number >= 1 (a numpy one too), or None
    (day 0 only); anything else stops the run with one line naming the attribute."""
    from sim.errors import UserError

    cfg = compose_small("strategy=stay_mining", "run.event_log=true", "run.horizon_years=2")
    strategy = EveryFew()
    strategy.decide_every_months = every
    if every is None:
        assert _decision_days(cfg, strategy) == [0]
    elif isinstance(every, np.integer):
        days = _decision_days(cfg, strategy)
        date = sim.sample_world(cfg, 0).date
        months = date.astype("datetime64[M]")
        assert days[0] == 0 and len(days) >= 7  # two years, one every quarter
        assert all(date[d] == months[d] for d in days[1:])  # each opens a month ...
        assert all(np.diff(months[days[1:]].astype(int)) == 3)  # ... three months after the last
    else:
        with pytest.raises(UserError) as caught:
            _decision_days(cfg, strategy)
        assert str(caught.value) == (f"EveryFew.decide_every_months={every!r}: "
                                     "must be a whole number >= 1, or None")


@pytest.mark.parametrize("start", ["2026-06-26", "2027-01-01", "2028-02-29"])
@pytest.mark.parametrize("every", [1, 3, 6])
def test_decisions_fall_on_the_first_of_every_nth_month_after_day_0s(compose_small, start, every):
    """Counted from the calendar: day 0, then the 1st of months m0 + every, m0 + 2 every, ...
    where m0 is day 0's month, all of them within the horizon."""
    cfg = compose_small("strategy=stay_mining", "run.event_log=true", "run.horizon_years=2",
                        f"site.start_date={start}")
    strategy = EveryFew()
    strategy.decide_every_months = every
    days = _decision_days(cfg, strategy)
    first = np.datetime64(start, "M")
    end = np.datetime64(start, "D") + len(sim.sample_world(cfg, 0).date)
    expected = [np.datetime64(first + k * every, "D") for k in range(1, 40)]
    expected = [0] + [int((d - np.datetime64(start, "D")).astype(int)) for d in expected if d < end]
    assert days == expected


def test_a_bad_decide_every_months_names_the_strategys_label(compose_small):
    from sim.errors import UserError
    from sim.montecarlo import simulate_strategy

    cfg = compose_small("strategy=stay_mining")
    strategy = EveryFew()
    strategy.decide_every_months = -3
    with pytest.raises(UserError, match=r"^strategy\.every_few \(EveryFew\), replication 0, seed \d+: "
                                        r"EveryFew\.decide_every_months=-3: must be a whole number "
                                        r">= 1, or None$"):
        simulate_strategy(cfg, sim.sample_world(cfg, 0), "every_few", strategy)


class ConvertsOnce:
    """Converts `blocks` (any value a plug-in might return) on day 0."""

    def __init__(self, blocks):
        self.blocks = blocks

    def decide(self, day, view, site):
        from sim.strategies import Convert
        return [Convert(self.blocks)] if day == 0 else []


@pytest.mark.parametrize("blocks", [2.5, 2.0, True, "2"])
def test_convert_blocks_must_be_a_whole_number(compose_small, blocks):
    from sim.errors import UserError

    cfg = compose_small("strategy=stay_mining")
    with pytest.raises(UserError) as caught:
        simulate(cfg, sim.sample_world(cfg, 0), ConvertsOnce(blocks))
    assert str(caught.value) == (f"strategy ConvertsOnce (replication 0) returned Convert.blocks="
                                 f"{blocks!r}; must be a whole number from 0 to 10 (the blocks "
                                 "mining and free to convert)")


def test_convert_blocks_may_be_a_numpy_integer(compose_small):
    cfg = compose_small("strategy=stay_mining")
    world = sim.sample_world(cfg, 0)
    plain, numpy_int = (Account(cfg, world, simulate(cfg, world, ConvertsOnce(blocks))).summary()
                        for blocks in (2, np.int64(2)))
    assert plain["mw_converted"] > 0
    assert plain.keys() == numpy_int.keys()
    assert all(plain[k] == numpy_int[k] or plain[k] != plain[k] and numpy_int[k] != numpy_int[k]
               for k in plain)  # bit for bit (NaN where both are)


class SignsAll:
    """Converts all but two blocks on day 0, then signs every tenant that does not fit."""

    def decide(self, day, view, site):
        from sim.strategies import Convert
        return [Convert(site.n_blocks - 2)] if day == 0 else []

    def on_request(self, request, view, site):
        return True


def test_on_request_saying_yes_beyond_the_blocks_mining_gets_one_line_on_the_contract(compose_small):
    from sim.errors import UserError

    cfg = compose_small("strategy=stay_mining")
    with pytest.raises(UserError) as caught:
        simulate(cfg, sim.sample_world(cfg, 0), SignsAll())
    message = str(caught.value)
    found = re.fullmatch(r"strategy SignsAll \(replication 0\): on_request said yes to request "
                         r"\d+, which needs (\d+) blocks converted while only 2 are mining and "
                         r"free to convert; on_request may sign only when "
                         r"site\.blocks_needed\(request\.mw_it\) <= site\.blocks_mining", message)
    assert found, message
    assert int(found.group(1)) > 2
