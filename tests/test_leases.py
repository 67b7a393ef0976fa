"""Lease contracts against closed forms and sums by hand, over the flat test market.

Escalator, extension options, scope (powered shell), ramp and tenant credit with a
backstop (site.hosting; sim.leases, sim.record.Lease, the lease process of sim.site).
Conversions take 30 + 335 days; the lease index of the flat market is $120/kW-month.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from constant_market import ListedRequests
from sim.config_objects import build_processes, build_strategies
from sim.economics import DAYS_PER_MONTH, DAYS_PER_YEAR, discount_factors, growing_annuity_pv, npv
from sim.errors import UserError
from sim.processes.demand import AnchorTenant
from sim.ledger import CATEGORIES, Account
from sim.record import Lease
from sim.site import Site, simulate

QUIET = ["fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0"]
FAST_BUILD = ["site.crews=10", "site.conversion.retrofit_days=fixed:335",
              "site.conversion.capex_usd_per_mw_it=fixed:9e6"]
READY_DAY = 30 + 335


def run(cfg, replication=0):
    """Return (record, account) of the config's first strategy."""
    world = sim.sample_world(cfg, replication)
    strategy = next(iter(build_strategies(cfg).values()))
    record = simulate(cfg, world, strategy)
    return record, Account(cfg, world, record)


def leased_cfg(compose, *overrides, requests="[[400,30,4383,150,0]]", years=4):
    """Return the config of `leased`."""
    return compose("strategy=convert_all", *QUIET, *FAST_BUILD, f"run.horizon_years={years}",
                   f"market.demand.requests={requests}", *overrides)


def leased(compose, *overrides, requests="[[400,30,4383,150,0]]", years=4):
    """Return (record, account): every block converted at once, then the listed tenants."""
    return run(leased_cfg(compose, *overrides, requests=requests, years=years))


def rent_level(account):
    """Return the rent due on each day, as the ledger books it."""
    return account.rates.rent_usd_per_day


# --- escalator ----------------------------------------------------------------------------------
def test_escalating_rent_pv_is_the_growing_annuity_closed_form():
    """Ten years at 3% a year, paid monthly, steps on each anniversary, discounted at 10%.

    Year k pays 12 months of R (1 + g)^k at months 12k .. 12k + 11 (month 0 undiscounted,
    as the ledger's NPV): PV = R · A · Σ_k ((1 + g) / (1 + r))^k, with A = Σ_{m<12} v^m and
    v = (1 + r)^(−1/12); Σ_{k<n} q^k = (1 + r) · growing_annuity_pv(1, g, r, n).
    """
    r, g, kw_it = 0.10, 0.03, 50_000.0
    lease = Lease(start_day=0.0, end_day=10 * DAYS_PER_YEAR, rent_usd_per_day=kw_it * 150 / DAYS_PER_MONTH,
                  kw_it=kw_it, escalator_per_year=g)
    months = np.arange(120) * DAYS_PER_MONTH
    monthly = lease.rent_usd_per_day_on(months) * DAYS_PER_MONTH
    a = float(np.sum((1 + r) ** (-np.arange(12) / 12)))
    closed = kw_it * 150 * a * (1 + r) * growing_annuity_pv(1.0, g, r, 10)
    assert npv(monthly, r) == pytest.approx(closed, rel=1e-9)
    assert monthly[12] == pytest.approx(monthly[0] * 1.03, rel=1e-12)   # the first step, a year in
    assert lease.rent_usd_per_day_on([10 * DAYS_PER_YEAR])[0] == 0      # the term is over


def test_the_engine_books_the_escalated_rent_day_by_day(compose_constant):
    record, acc = leased(compose_constant, "site.hosting.escalator_per_year=0.03",
                         "site.hosting.renewal_probability=0")
    rent = 30_000 * 150 / DAYS_PER_MONTH
    days = np.arange(acc.n_days)
    expected = np.where(days >= 400, rent * 1.03 ** np.floor((days - 400) / DAYS_PER_YEAR), 0.0)
    np.testing.assert_allclose(rent_level(acc), expected, rtol=1e-12, atol=1e-6)
    assert rent_level(acc)[400 + 365] == pytest.approx(rent)          # day 365.0 of the lease: year 0
    assert rent_level(acc)[400 + 366] == pytest.approx(rent * 1.03)   # 366 > 365.25: year 1
    (lease,) = record.leases
    np.testing.assert_allclose(lease.rent_usd_per_day_on(days), rent_level(acc), rtol=1e-12, atol=1e-6)


def test_the_contracted_value_reads_the_escalated_schedule(compose_constant):
    """The terminal value credits each month after the horizon at its first day's rent."""
    def by_hand(n, g):
        days_left = 400 + 4383 - n
        months = math.ceil(days_left / DAYS_PER_MONTH)
        starts = n + np.arange(months) * DAYS_PER_MONTH
        rent = 30_000 * 150 / DAYS_PER_MONTH * (1 + g) ** np.floor((starts - 400) / DAYS_PER_YEAR)
        per_month = (rent - 30_000 * 18 / DAYS_PER_MONTH) * DAYS_PER_MONTH
        per_month[-1] *= (days_left - (months - 1) * DAYS_PER_MONTH) / DAYS_PER_MONTH
        return float(per_month @ discount_factors(months, 0.10, first_month=1))

    flat = leased(compose_constant, "site.hosting.renewal_probability=0")[1]
    up = leased(compose_constant, "site.hosting.renewal_probability=0",
                "site.hosting.escalator_per_year=0.03")[1]
    gain = up.terminal_value_usd() - flat.terminal_value_usd()   # the fleet's part is the same
    assert gain == pytest.approx(by_hand(up.n_days, 0.03) - by_hand(up.n_days, 0.0), rel=1e-9)
    assert gain > 0


# --- extension options --------------------------------------------------------------------------
def terms(record):
    """Return (start, length in days, first-year rent per kW-month) of each term recorded."""
    return [(t.start_day, t.end_day - t.start_day, t.rent_usd_per_day * DAYS_PER_MONTH / t.kw_it)
            for t in record.leases]


def test_extensions_are_counted_and_last_extension_years(compose_constant):
    record, acc = leased(compose_constant, "site.hosting.renewal_probability=1",
                         "site.hosting.extensions=2", "site.hosting.extension_years=1",
                       requests="[[400,30,730.5,150,0]]", years=6)
    assert terms(record) == [(400, 730.5, pytest.approx(150)),
                             (1130.5, DAYS_PER_YEAR, pytest.approx(120)),  # at the index
                             (1130.5 + DAYS_PER_YEAR, DAYS_PER_YEAR, pytest.approx(120))]
    end = math.ceil(1130.5 + 2 * DAYS_PER_YEAR)
    assert acc.rates.mw_leased[end - 1] == pytest.approx(30 * 1.3)
    assert acc.rates.mw_leased[end] == 0                      # no third option: the MW are free


@pytest.mark.parametrize("options, probability, unlimited", [(0, 1, False), (None, 0, False),
                                                          (None, 1, True)])
def test_no_option_left_or_none_taken_means_one_term(compose_constant, options, probability, unlimited):
    record, acc = leased(compose_constant, f"site.hosting.renewal_probability={probability}",
                         f"site.hosting.extensions={'null' if options is None else options}",
                         requests="[[400,30,365.25,150,0]]", years=6)
    every_year = int(np.sum(400 + np.arange(10) * DAYS_PER_YEAR < acc.n_days))
    assert len(record.leases) == (every_year if unlimited else 1)   # unlimited: a term a year
    assert every_year == 5


@pytest.mark.parametrize("term_days, extension_years, extension_days, count", [
    (100, "null", 100, 7), (400, 0.1, 0.1 * DAYS_PER_YEAR, 10)])
def test_short_terms_always_renewed_run_to_the_horizon(compose_constant, term_days, extension_years,
                                                       extension_days, count):
    """A lease from day 400 on a 3-year grid (1,096 days), its options always taken, renews
    until a term runs past the horizon: 100-day terms start on days 400, 500, .., 1,000
    (7 terms); a 400-day term and extensions of 36.525 days on 800, 836.525, ..,
    1,092.2 (1 + 9). (A request had one draw a year of the grid, 4 options: the 100-day
    lease ended on day 900, the other on day 946.1.)"""
    record, acc = leased(compose_constant, "site.hosting.renewal_probability=1",
                         f"site.hosting.extension_years={extension_years}",
                         requests=f"[[400,30,{term_days},150,0]]", years=3)
    assert acc.n_days == 1096
    extensions = math.ceil((acc.n_days - 400 - term_days) / extension_days)
    starts = [400] + [400 + term_days + k * extension_days for k in range(extensions)]
    assert len(starts) == count
    assert [t.start_day for t in record.leases] == pytest.approx(starts)
    assert [t.end_day for t in record.leases] == pytest.approx(
        [day + (term_days if day == 400 else extension_days) for day in starts])
    assert acc.rates.mw_leased[-1] == pytest.approx(30 * 1.3)   # leased to the horizon


def test_one_worlds_draws_fit_each_contracts_options(compose_constant):
    """One world run under 5-year options, then under options of a tenth of a year: the
    second still renews its 400-day lease to the horizon (1 + 9 terms, as above), its
    draws counted for its own contract, not kept from the first run."""
    cfg = leased_cfg(compose_constant, "site.hosting.renewal_probability=1",
                     "site.hosting.extension_years=5", requests="[[400,30,400,150,0]]", years=3)
    world = sim.sample_world(cfg, 0)
    strategy = next(iter(build_strategies(cfg).values()))
    assert len(simulate(cfg, world, strategy).leases) == 2
    short = leased_cfg(compose_constant, "site.hosting.renewal_probability=1",
                       "site.hosting.extension_years=0.1", requests="[[400,30,400,150,0]]", years=3)
    assert len(simulate(short, world, strategy).leases) == 10


def test_a_requests_renewals_do_not_depend_on_the_requests_after_it(compose_constant):
    """100-day terms renewed at 0.85, on a 3-year grid: request 0's terms end on the same
    days whether or not another tenant asks on day 1,000. Its draws past the yearly ones
    were a block over every request (and sized by the shortest of them): adding the later
    request changed which draws request 0's options read (replication 2 is the first whose
    terms moved)."""
    def ends(requests, rep):
        cfg = leased_cfg(compose_constant, "site.hosting.renewal_probability=0.85",
                         requests=requests, years=3)
        record = simulate(cfg, sim.sample_world(cfg, rep), next(iter(build_strategies(cfg).values())))
        return [lease.end_day for lease in record.leases if lease.kw_it == 7000 and lease.start_day < 1000]

    for rep in range(30):
        alone = ends("[[400,7,100,120,30]]", rep)
        assert ends("[[400,7,100,120,30],[1000,7,50,120,30]]", rep) == alone, rep


def test_a_term_under_a_day_asks_for_at_most_a_renewal_draw_a_day(compose_constant):
    """A 0.001-day term with unlimited options asked for a draw per possible extension:
    1.1 million per request on a 3-year grid. At most one a day of the grid now."""
    from sim.config_checks import settings as checked
    from sim.construction import _renewal_options
    from sim.leases import LeaseTerms

    cfg = leased_cfg(compose_constant, "site.hosting.extensions=null", "site.hosting.extension_years=null",
                     requests="[[400,7,0.001,120,30]]", years=3)
    world = sim.sample_world(cfg, 0)
    terms = LeaseTerms(checked(cfg).site.hosting)
    assert _renewal_options(world, terms) == world.n_days + 1 == 1097


def test_step_renewal_is_the_last_escalated_rent_times_the_step(compose_constant):
    record, _ = leased(compose_constant, "site.hosting.renewal_probability=1",
                       "site.hosting.extensions=1", "site.hosting.renewal_rent=step",
                       "site.hosting.renewal_step=0.05", "site.hosting.escalator_per_year=0.03",
                       requests="[[400,30,730.5,150,0]]", years=6)
    first, second = record.leases
    assert second.rent_usd_per_day == pytest.approx(first.rent_usd_per_day * 1.03 * 1.05, rel=1e-12)
    assert second.end_day - second.start_day == 730.5                      # the original term
    assert second.rent_usd_per_day_on([second.start_day + 366])[0] == pytest.approx(
        second.rent_usd_per_day * 1.03, rel=1e-12)                          # its own anniversaries


# --- scope ---------------------------------------------------------------------------------------
POWERED_SHELL = ["site.hosting.scope=powered_shell", "site.hosting.tenant_capex_share=0.8",
                 "site.hosting.tenant_capex_rent_discount=0.27", "site.hosting.renewal_probability=0"]


def test_a_powered_shell_tenant_funds_its_blocks_and_pays_less(compose_constant):
    """build_to_suit builds 2 blocks for a 15 MW tenant: the site pays 20% of them."""
    cfg = compose_constant("strategy=build_to_suit", *QUIET, *FAST_BUILD, *POWERED_SHELL,
                           "run.horizon_years=2", "market.demand.requests=[[10,15,4383,150,400]]")
    record, acc = run(cfg)
    blocks = math.ceil(15 * 1.3 / 10)
    capex = -acc.monthly[CATEGORIES.index("capex_conversion")].sum()
    assert capex == pytest.approx(0.2 * blocks * 10 / 1.3 * 9e6, rel=1e-9)
    (lease,) = record.leases
    assert lease.rent_usd_per_day == pytest.approx(15_000 * 150 * (1 - 0.27 * 0.8) / DAYS_PER_MONTH)


def test_speculative_blocks_and_ready_halls_are_turnkey_even_under_powered_shell(compose_constant):
    record, acc = leased(compose_constant, *POWERED_SHELL)
    capex = -acc.monthly[CATEGORIES.index("capex_conversion")].sum()
    assert capex == pytest.approx(100 / 1.3 * 9e6, rel=1e-9)             # convert_all: the site's
    (lease,) = record.leases
    assert lease.rent_usd_per_day == pytest.approx(30_000 * 150 / DAYS_PER_MONTH)  # built already


# --- ramp ------------------------------------------------------------------------------------------
def test_rent_ramps_in_monthly_steps_to_full_rent(compose_constant):
    _, acc = leased(compose_constant, "site.hosting.rent_ramp_months=4", "site.hosting.renewal_probability=0")
    rent = 30_000 * 150 / DAYS_PER_MONTH
    level = rent_level(acc)
    for k, share in enumerate([0.125, 0.375, 0.625, 0.875, 1.0, 1.0]):
        first = math.ceil(400 + k * DAYS_PER_MONTH)
        last = math.ceil(400 + (k + 1) * DAYS_PER_MONTH) - 1
        assert level[first] == pytest.approx(share * rent) and level[last] == pytest.approx(share * rent)
    assert level[399] == 0


# --- tenant credit -------------------------------------------------------------------------------
def many_small_tenants(compose, n, term_days, probability, backstop, seed=20270101):
    """Return (record, account) of `n` tenants of 0.02 MW leased on day 400 of a built site."""
    cfg = compose("strategy=convert_all", *QUIET, *FAST_BUILD, "run.horizon_years=4", f"run.seed={seed}",
                  "site.hosting.renewal_probability=0", f"site.hosting.backstop_share={backstop}",
                  f"site.hosting.default_probability_per_year={probability}")
    processes = build_processes(cfg)
    processes["demand"] = ListedRequests([[400, 0.02, term_days, 120, 0]] * n)
    world = sim.sample_world(cfg, 0, processes)
    record = Site(cfg, world, next(iter(build_strategies(cfg).values()))).run()
    return record, Account(cfg, world, record)


def test_default_with_backstop_mean_and_variance_match_the_closed_form(compose_constant):
    """Rent X = R [min(D, T) + b (T − min(D, T))], D ~ Exp(λ): by hand, its mean and variance.

    E X = R ∫0^T [e^(−λt) + b (1 − e^(−λt))] dt = R [b T + (1 − b)(1 − e^(−λT)) / λ];
    Var X = R² (1 − b)² Var min(D, T), E min(D, T)² = 2 (1 − e^(−λT)(1 + λT)) / λ².
    """
    n, term, p, b = 3000, 730.5, 0.3, 0.5
    record, acc = many_small_tenants(compose_constant, n, term, p, b)
    lam = -math.log(1 - p) / DAYS_PER_YEAR                   # per day
    rent = 20 * 120 / DAYS_PER_MONTH
    tenants = [t for t in record.leases if t.kw_it == 20]                 # 0.02 MW of IT
    backstops = [t for t in record.leases if t.kw_it == pytest.approx(b * 20)]  # their share
    paid = np.array([t.end_day - t.start_day for t in tenants])
    x = rent * (paid + b * (term - paid))
    e_min = (1 - math.exp(-lam * term)) / lam
    e_min2 = 2 * (1 - math.exp(-lam * term) * (1 + lam * term)) / lam ** 2
    mean = rent * (b * term + (1 - b) * e_min)
    var = rent ** 2 * (1 - b) ** 2 * (e_min2 - e_min ** 2)
    assert len(tenants) == n and len(backstops) == np.sum(paid < term)
    assert abs(x.mean() - mean) < 4 * math.sqrt(var / n)
    assert x.var(ddof=1) == pytest.approx(var, rel=0.08)       # its standard error is about 2%
    assert 0.3 < np.mean(paid < term) < 0.6               # 1 − 0.7² = 0.51 default in two years
    # The ledger books the same money, to the day (a default falls at the start of a day).
    hosting = acc.monthly[CATEGORIES.index("hosting_rent")].sum()
    assert abs(hosting - x.sum()) <= n * rent
    # A defaulted tenant's MW leave the lease the day it defaults, but for the backstop's
    # share, which stays let to the term's end (day 1130.5).
    day = 400 + 365
    running = np.sum(np.ceil(400 + paid) > day)
    assert acc.rates.mw_leased[day] == pytest.approx(0.02 * 1.3 * (running + b * (n - running)),
                                                     abs=1e-6)


def test_default_draws_are_per_request_and_the_same_for_every_strategy(compose_constant):
    cfg = compose_constant("strategy=[convert_all,stay_mining]", *QUIET,
                           "site.hosting.default_probability_per_year=0.1",
                           "market.demand.requests=[[400,1,4383,120,0],[500,1,4383,120,0]]")
    world = sim.sample_world(cfg, 3)
    a, b = (Site(cfg, world, s).default_after_days for s in build_strategies(cfg).values())
    np.testing.assert_array_equal(a, b)
    assert a[0] != a[1]
    base = compose_constant("run.deterministic=true", "site.hosting.default_probability_per_year=0.1",
                            "market.demand.requests=[[400,1,4383,120,0]]")
    world = sim.sample_world(base, 0)
    (median,) = Site(base, world, next(iter(build_strategies(base).values()))).default_after_days
    assert median == pytest.approx(math.log(2) / -math.log(0.9) * DAYS_PER_YEAR)


def test_a_backstop_keeps_the_contract_schedule_and_no_extension_follows(compose_constant):
    base = ["site.hosting.escalator_per_year=0.03", "site.hosting.rent_ramp_months=3",
            "site.hosting.renewal_probability=1", "site.hosting.default_probability_per_year=1"]
    record, acc = leased(compose_constant, *base, "site.hosting.backstop_share=0.5", "run.event_log=true")
    tenant, backstop = record.leases        # p = 1: the tenant defaults the day its lease starts
    assert tenant.end_day == tenant.start_day == 400
    assert (backstop.start_day, backstop.end_day, backstop.kw_it) == (400, 400 + 4383, 15_000)
    full = 30_000 * 150 / DAYS_PER_MONTH
    days = np.array([400, 400 + 31, 400 + 400])
    np.testing.assert_allclose(backstop.rent_usd_per_day_on(days),
                               0.5 * full * np.array([1 / 6, 0.5, 1.03]), rtol=1e-12)
    np.testing.assert_allclose(rent_level(acc)[days], backstop.rent_usd_per_day_on(days), rtol=1e-9)
    # the backstop keeps its half of the tenant's 39 MW of grid; the other half is free
    assert acc.rates.mw_leased[400] == pytest.approx(19.5)
    assert acc.rates.mw_ready[400] == pytest.approx(100 - 19.5)
    events = [e.event for e in record.events if e.cause == "request 0"]
    assert events == ["tenant_request", "leased", "lease_default", "backstop"]
    record, _ = leased(compose_constant, *base, "site.hosting.backstop_share=0")
    assert len(record.leases) == 1


def test_a_phased_tenant_defaults_once_and_takes_no_part_after(compose_constant):
    """One crew readies a block every 365 days from day 365. A phased tenant of 30 MW of IT
    (four blocks) takes a part as each is ready; at 50% a year it defaults, in the base
    case, at the median: a year after its first part's lease starts, day 730.25. Both parts
    it holds end then, and the blocks ready on days 1095 and 1460 are not its. Each part
    had its own clock, and a defaulted tenant was handed back the halls it left."""
    cfg = compose_constant("strategy=convert_all", "fleet.upgrade_every_years=null",
                           "fleet.failure_rate_per_year=0", "site.crews=1", "site.blocks_per_project=1",
                           "site.sign_converting=true", "site.conversion.retrofit_days=fixed:335",
                           "site.hosting.renewal_probability=0",
                           "site.hosting.default_probability_per_year=0.5", "run.deterministic=true",
                           "run.horizon_years=5", "run.event_log=true",
                           "market.demand.requests=[[0,30,4383,150,2000,1,1]]")
    record, acc = run(cfg)
    default_day = 365 + DAYS_PER_YEAR
    assert [(lease.start_day, lease.end_day) for lease in record.leases] == [
        (365, default_day), (730, default_day)]
    defaults = [e.day for e in record.events if e.event == "lease_default"]
    assert defaults == [default_day] * 3  # the two parts it holds, and the rest it waited for
    assert acc.rates.mw_leased[800] == 0 and acc.rates.mw_leased[-1] == 0


def test_a_full_backstop_makes_a_default_neither_gain_nor_loss(compose_constant):
    """p = 1: the first tenant defaults the day its lease starts. Its backstop pays all its
    rent and keeps its 39 MW of grid to the term's end, so a second tenant asking for the
    61 MW left and 10 more finds no room, as without the default. When the backstop let the
    halls go, the second tenant took them and the default raised the rent."""
    terms = ["site.hosting.renewal_probability=0", "site.hosting.backstop_share=1"]
    requests = "[[400,30,4383,150,0],[500,55,4383,150,0]]"
    quiet, _ = leased(compose_constant, *terms, requests=requests)
    default, acc = leased(compose_constant, *terms, "site.hosting.default_probability_per_year=1",
                          requests=requests)
    _, calm = leased(compose_constant, *terms, requests=requests)
    assert [lease.kw_it for lease in default.leases] == [30_000, 30_000]  # the tenant, its backstop
    assert len(quiet.leases) == 1                                     # no room for the second
    assert rent_level(acc).sum() == pytest.approx(rent_level(calm).sum(), rel=1e-12)
    assert acc.rates.mw_leased[1000] == pytest.approx(39)
    # and the hall is valued at the horizon as the lease it replaces: the NPV is the same
    assert acc.summary()["npv_usd"] == pytest.approx(calm.summary()["npv_usd"], rel=1e-9)


# --- one tenant of several requests: an anchor's phases -----------------------------------------
def anchor_run(compose, *overrides, anchor=None, replication=0):
    """Return (record, account) of build_to_suit for an anchor of 20 MW of IT (no market):
    two phases of 10, due on days 365 and 600, rent from their due days, at $120."""
    cfg = compose("strategy=build_to_suit", *QUIET, *FAST_BUILD, "run.horizon_years=5",
                  "site.hosting.renewal_probability=0", "run.event_log=true", *overrides)
    processes = build_processes(cfg)
    processes["demand"] = AnchorTenant(**{
        "rate_per_year": 0, "anchor_mw_it": 20, "anchor_usd_per_kw_month": 120,
        "anchor_phases": [[0.5, 365], [0.5, 600]], "anchor_rent_from": "due", **(anchor or {})})
    world = sim.sample_world(cfg, replication, processes)
    record = simulate(cfg, world, next(iter(build_strategies(cfg).values())))
    return record, Account(cfg, world, record)


def tenant_events(record):
    """Return {(cause, event, day)} of the tenants' events (not their blocks')."""
    return {(e.cause, e.event, e.day) for e in record.events
            if e.block == -1 and e.cause.startswith("request")}


@pytest.mark.parametrize("second_due", [600, 900])
def test_an_anchors_phases_default_together_on_its_first_rents_clock(compose_constant, second_due):
    """Both phases are ready on day 365; the first leases then, the second is held for its
    due day. At 50% a year the anchor defaults, in the base case, a year after its first
    rent: day 730.25, for both phases. Due on day 600, the second phase has leased by then
    and its backstop steps in too; due on day 900, it ends unleased and b of its halls stay
    held for the backstop, which leases them on day 900 (a backstop guarantees phases to
    come; the rest go back to the pool). (Each phase had its own clock: the second
    defaulted a year after its own rent, day 965.25, or leased on day 900 after the first
    had defaulted; until 2026-11-28 a phase due on day 900 ended with nothing backed.)"""
    b = 0.5
    record, acc = anchor_run(compose_constant, "run.deterministic=true", f"site.hosting.backstop_share={b}",
                             "site.hosting.default_probability_per_year=0.5",
                             anchor={"anchor_phases": [[0.5, 365], [0.5, second_due]]})
    default_day = 365 + DAYS_PER_YEAR
    second = {("request 1", "leased", second_due), ("request 1", "backstop", default_day)}
    assert tenant_events(record) == {
        ("request 0", "tenant_request", 0), ("request 0", "tenant_signed_build", 0),
        ("request 1", "tenant_request", 0), ("request 1", "tenant_signed_build", 0),
        ("request 0", "leased", 365), ("request 1", "held_for_tenant", 365),
        ("request 0", "lease_default", default_day), ("request 0", "backstop", default_day),
        ("request 1", "lease_default", default_day), *second}
    leased_mw_it = 20 if second_due < default_day else 10  # b of the MW let on its default day
    assert acc.rates.mw_leased[800] == pytest.approx(b * leased_mw_it * 1.3)
    assert acc.rates.mw_leased[1500] == pytest.approx(b * 20 * 1.3)  # and b of the second phase
    assert sum(lease.kw_it for lease in record.leases if lease.start_day == default_day) == (
        pytest.approx(b * leased_mw_it * 1000))
    assert sum(lease.kw_it for lease in record.leases if lease.start_day == second_due) == (
        pytest.approx((1 if second_due < default_day else b) * 10_000))


def test_a_tenant_that_has_defaulted_signs_none_of_its_later_requests(compose_constant):
    """Two requests of one tenant (column `tenant`), on days 400 and 600 of a site built by
    day 365: at 97.31% a year it defaults ln 2 / −ln(0.0269) years after its first lease,
    day 470.02; on day 600 it asks for nothing (a tenant of its own would lease)."""
    def run_table(tenant):
        cfg = leased_cfg(compose_constant, "run.deterministic=true",
                         "site.hosting.default_probability_per_year=0.9731", "run.event_log=true")
        processes = build_processes(cfg)
        processes["demand"] = Table(pd.DataFrame({
            "day": [400, 600], "mw_it": [30.0, 10.0], "term_days": [4383.0, 4383.0],
            "usd_per_kw_month": [150.0, 150.0], "wait_days": [0.0, 0.0], "tenant": tenant}))
        world = sim.sample_world(cfg, 0, processes)
        return simulate(cfg, world, next(iter(build_strategies(cfg).values())))
    default_day = 400 + math.log(2) / -math.log(1 - 0.9731) * DAYS_PER_YEAR
    one = tenant_events(run_table([0.0, 0.0]))
    assert [day for _, event, day in one if event == "lease_default"] == [pytest.approx(default_day)]
    assert {(c, e) for c, e, _ in one if c == "request 1"} == {("request 1", "tenant_request"),
                                                             ("request 1", "tenant_rejected")}
    two = tenant_events(run_table([0.0, 1.0]))
    assert ("request 1", "leased", 600) in two


def tenant_table_run(compose, columns, *overrides):
    """Return the record of convert_all on a site of ten 10 MW blocks, each ready 365 days
    after its crew takes it (one crew: one block a year from day 365), for the tenant table
    `columns`, at 75% a year: in the base case each tenant defaults half a year after its
    first lease starts (ln 2 / ln 4 years), backed at 50%, never renewed."""
    cfg = compose("strategy=convert_all", *QUIET, "site.crews=1", "site.sign_converting=true",
                  "site.conversion.retrofit_days=fixed:335", "site.conversion.capex_usd_per_mw_it=fixed:9e6",
                  "site.hosting.renewal_probability=0", "site.hosting.default_probability_per_year=0.75",
                  "site.hosting.backstop_share=0.5", "run.deterministic=true", "run.horizon_years=5",
                  "run.event_log=true", *overrides)
    processes = build_processes(cfg)
    processes["demand"] = Table(pd.DataFrame({"usd_per_kw_month": 150.0, "wait_days": 2000.0,
                                              "min_share": 1.0, "phased": 0.0, **columns}))
    world = sim.sample_world(cfg, 0, processes)
    return simulate(cfg, world, next(iter(build_strategies(cfg).values())))


@pytest.mark.parametrize("crews, table", [
    (1, {"day": [0, 0], "mw_it": [7.0, 14.0], "term_days": [100.0, 4383.0], "commence_days": 0.0,
         "tenant": [0.0, 0.0]}),
    (10, {"day": [0, 0, 600], "mw_it": [7.0, 14.0, 65.0], "term_days": [100.0, 4383.0, 4383.0],
          "wait_days": [2000.0, 2000.0, 0.0], "commence_days": [0.0, 700.0, 0.0],
          "tenant": [0.0, 0.0, 2.0]})])
def test_a_tenant_holding_no_lease_on_its_default_day_takes_none_of_its_parts(
        compose_constant, crews, table):
    """A tenant leases 7 MW of IT (one block) from day 365 for 100 days, then waits for the
    14 MW (two blocks) of its second request: with one crew, for the block ready on day 730;
    with ten, ready on day 365, held for it until its rent commences on day 700. It defaults
    on day 365 + 182.625 = 547.625 holding no lease: the tenant takes no part of the
    second request; its backstop takes half of it, 9.1 MW of grid, leased when its tenant's
    would have been: with one crew on day 730, when the second block is ready (until
    2026-11-28 at once, from the block its first lease let go on day 465), with ten on day
    700 when its rent commences; and (ten crews) the other half of the held halls goes back
    to the pool, to another tenant that asks on day 600 for 65 MW of IT (84.5 of the 100 MW
    of grid: more than the 81.8 free without them) at once. (The part was leased on day 730
    or 700, defaulted at once and was backed for its whole term; the other tenant was
    turned away. Until 2026-11-28 the backstop took no part of it.)"""
    default_day = 365 + math.log(2) / math.log(4) * DAYS_PER_YEAR
    assert default_day == 547.625
    record = tenant_table_run(compose_constant, table, f"site.crews={crews}")
    events = tenant_events(record)
    backstop_day = 730 if crews == 1 else 700
    assert {(c, e, d) for c, e, d in events if c != "request 2"} == {
        ("request 0", "tenant_request", 0), ("request 0", "tenant_signed_converting", 0),
        ("request 1", "tenant_request", 0), ("request 1", "tenant_signed_converting", 0),
        ("request 0", "leased", 365), ("request 0", "lease_ended", 465),
        ("request 1", "lease_default", default_day), ("request 1", "backstop", default_day),
        ("request 1", "leased", backstop_day),
        *([("request 1", "held_for_tenant", 365)] if crews == 10 else [])}
    leases = sorted((lease.start_day, lease.end_day, lease.kw_it) for lease in record.leases)
    backstop = (backstop_day, backstop_day + 4383, 7000)
    if crews == 1:
        assert leases == [(365, 465, 7000), backstop]
    else:  # half the held halls went back to the pool on the default day: the third tenant's
        assert ("request 2", "leased", 600) in events
        third = [(start, kw_it) for start, _, kw_it in leases if start == 600]
        assert backstop in leases and third == [(600, 65_000)]


def test_a_tenant_takes_no_part_on_its_default_day_whatever_runs_first(compose_constant):
    """Two tenants lease a block each from day 365 (two crews: two blocks a year) and default
    together on day 547.625. The second's own 100-day lease ended on day 465 and it waits
    for 11 MW of IT (14.3 MW of grid, two blocks); the first, whose default the engine meets
    first that day, hands back its unbacked half of 9.1 MW of grid, which with the 10.9 MW
    free since day 465 would cover that part. It is not served whole: its tenant has
    defaulted that same day, and its backstop takes half of it, 5.5 MW of IT, for its
    whole term. (It was leased whole then, defaulted at once and was backed for its term;
    until 2026-11-28 the backstop took no part of it.)"""
    record = tenant_table_run(compose_constant, {
        "day": [0, 0, 0], "mw_it": [7.0, 7.0, 11.0], "term_days": [4383.0, 100.0, 4383.0],
        "commence_days": 0.0, "tenant": [1.0, 0.0, 0.0]}, "site.crews=2")
    default_day = 547.625
    assert {(c, e, d) for c, e, d in tenant_events(record)
            if e in ("leased", "lease_ended", "lease_default", "backstop")} == {
        ("request 0", "leased", 365), ("request 1", "leased", 365), ("request 1", "lease_ended", 465),
        ("request 0", "lease_default", default_day), ("request 0", "backstop", default_day),
        ("request 2", "lease_default", default_day), ("request 2", "backstop", default_day),
        ("request 2", "leased", default_day)}
    assert sorted((lease.start_day, lease.end_day, lease.kw_it) for lease in record.leases) == [
        (365, 465, 7000), (365, default_day, 7000), (default_day, 365 + 4383, 3500),
        (default_day, default_day + 4383, 5500)]


def test_a_part_whose_rent_would_commence_on_its_tenants_default_day_is_leased_to_its_backstop(
        compose_constant):
    """Ten crews: every block is ready on day 365. A tenant's first request, 14 MW of IT
    whose rent commences on day 547.625, is held for it from day 365; its second, 7 MW for
    100 days, leases then and starts its clock: it defaults on day 547.625, the day the
    first would commence, and the engine meets that commencement first. The tenant does
    not take that part; its backstop leases half of it, 7 MW, for its whole term. (It was
    leased whole that day, defaulted at once and was backed for its term; until 2026-11-28
    nothing was backed.)"""
    record = tenant_table_run(compose_constant, {
        "day": [0, 0], "mw_it": [14.0, 7.0], "term_days": [4383.0, 100.0],
        "commence_days": [547.625, 0.0], "tenant": [0.0, 0.0]}, "site.crews=10")
    assert {(c, e, d) for c, e, d in tenant_events(record) if d > 0} == {
        ("request 0", "held_for_tenant", 365), ("request 1", "leased", 365),
        ("request 1", "lease_ended", 465), ("request 0", "lease_default", 547.625),
        ("request 0", "backstop", 547.625), ("request 0", "leased", 547.625)}
    assert [(lease.start_day, lease.end_day, lease.kw_it) for lease in record.leases] == [
        (365, 465, 7000), (547.625, 547.625 + 4383, 7000)]



@pytest.mark.parametrize("probability", [0.0, 0.75])
def test_a_late_part_held_for_its_tenant_pays_its_penalty_only_when_its_rent_commences(
        compose_constant, probability):
    """Ten crews; in the base case each block converts in 30 + 335 e^0.045 = 380.42 days, later
    than the 365 the desk plans with. One tenant's two requests of 7 MW of IT: the first,
    due by day 2000, leases on delivery; the second, due by day 365 with rent from day 700,
    is delivered 15.42 days late and held for it. Its rent credit, 60 $/kW-month on 7 MW
    for 15.42 days, comes off its rent when that commences, on day 700. At 75% a year the
    tenant defaults half a year after its first lease, on day 563.04, before that rent
    starts: it never takes the part; its backstop (b = 0.5) leases b of it on day 700, and
    the credit is b of the part's. (The credit was paid on delivery, day 380, and kept by
    the defaulted tenant; until 2026-11-28 the backstop took no part of it, and there was
    no rent to credit.)"""
    record = tenant_table_run(compose_constant, {
        "day": [0, 0], "mw_it": [7.0, 7.0], "term_days": [4383.0, 4383.0],
        "wait_days": [2000.0, 365.0], "commence_days": [0.0, 700.0], "tenant": [0.0, 0.0]},
        "site.crews=10", "site.conversion.retrofit_days=lognormal:335:0.3",
        f"site.hosting.default_probability_per_year={probability}")
    delivered = 30 + 335 * math.exp(0.3 ** 2 / 2)
    events = {(cause, event): day for cause, event, day in tenant_events(record)}
    assert events[("request 1", "held_for_tenant")] == pytest.approx(delivered)
    credits = record.lumps.hosting_rent_usd
    penalty = 60 * 7000 * (delivered - 365) / DAYS_PER_MONTH
    share = 1.0 if probability == 0 else 0.5  # the tenant's whole part, or its backstop's half
    assert events[("request 1", "leased")] == 700
    assert np.flatnonzero(credits).tolist() == [700]
    assert credits[700] == pytest.approx(-share * penalty, rel=1e-12)
    if probability:
        assert events[("request 1", "lease_default")] == pytest.approx(delivered + 182.625)
        assert events[("request 1", "backstop")] == pytest.approx(delivered + 182.625)
    assert record.counts.tenant_requests_late == 1  # delivered late, either way



def test_one_tenants_requests_take_the_same_extension_options(compose_constant):
    """Sampled renewals (each option taken at 50%), never a default: a tenant's two requests
    of 7 MW of IT for 400 days lease together on day 365 (two crews) and take the same
    options on the same days, as one tenant deciding for one contract, in every world;
    two tenants of their own decide apart in some. (Each request read its own draws: with
    seed 0 the first renewed three times, the second never.)"""
    def terms(seed, tenant):
        record = tenant_table_run(compose_constant, {
            "day": [0, 0], "mw_it": [7.0, 7.0], "term_days": [400.0, 400.0], "commence_days": 0.0,
            "tenant": tenant}, "site.crews=2", "site.hosting.renewal_probability=0.5",
            "site.hosting.default_probability_per_year=0", "run.deterministic=false",
            f"run.seed={seed}", "run.horizon_years=8")
        return [sorted(day for cause, event, day in tenant_events(record)
                       if cause == f"request {k}" and event in ("leased", "lease_renewed", "lease_ended"))
                for k in (0, 1)]
    for seed in range(6):
        first, second = terms(seed, [0.0, 0.0])
        assert first == second and first[0] == 365, seed
        assert all(b - a == 400 for a, b in zip(first, first[1:]))
    assert any(a != b for a, b in (terms(seed, [0.0, 1.0]) for seed in range(6)))



def test_a_tenant_defaulting_the_day_its_term_ends_takes_no_extension(compose_constant):
    """Ten crews: a block is ready on day 365. A tenant leases 7 MW of IT then for 182.625
    days, its options always taken; at 75% a year it defaults half a year after its lease
    starts, on day 547.625, the day its term ends. The term ends whole and no option
    follows: nothing is left due, nothing to back. (It took an extension that day,
    defaulted at once, and its backstop paid half the rent of a whole new term.)"""
    record = tenant_table_run(compose_constant, {
        "day": [0], "mw_it": [7.0], "term_days": [182.625], "commence_days": 0.0, "tenant": [0.0]},
        "site.crews=10", "site.hosting.renewal_probability=1")
    assert [(lease.start_day, lease.end_day, lease.kw_it) for lease in record.leases] == [
        (365, 547.625, 7000)]
    assert {(e, d) for _, e, d in tenant_events(record) if d > 0} == {
        ("leased", 365), ("lease_ended", 547.625)}
    rent_usd_per_day = np.cumsum(record.rates.rent_usd_per_day)
    assert rent_usd_per_day[547] == pytest.approx(7000 * 150 / DAYS_PER_MONTH, rel=1e-12)
    assert not rent_usd_per_day[548:].any()
    assert not np.cumsum(record.rates.mw_leased)[548:].round(9).any()


class Table:
    """A demand process that returns one table as it is."""

    def __init__(self, table):
        self.table = table

    def sample(self, days, rng, upstream):
        """Return the table."""
        return {"tenant_requests": self.table}


@settings(max_examples=25, deadline=None,  # compose_constant only composes: nothing to reset
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replication=st.integers(0, 10_000), probability=st.floats(0.05, 0.95),
       shares=st.lists(st.floats(0.1, 1.0), min_size=2, max_size=3),
       due_days=st.lists(st.integers(0, 1500), min_size=3, max_size=3),
       rent_from=st.sampled_from(["delivery", "due"]), crews=st.integers(1, 4),
       market_rate=st.sampled_from([0.0, 2.0]))
def test_the_phases_of_one_tenant_never_default_on_different_days(
        compose_constant, replication, probability, shares, due_days, rent_from, crews, market_rate):
    """Sampled builds (each block's retrofit drawn), default times and phase schedules: an
    anchor's phases default on one day if at all, and none of them is leased after it."""
    phases = [[share / sum(shares), day] for share, day in zip(shares, sorted(due_days))]
    record, _ = anchor_run(compose_constant, f"site.crews={crews}",
                           "site.conversion.retrofit_days=lognormal:335:0.3",
                           f"site.hosting.default_probability_per_year={probability}",
                           anchor={"anchor_phases": phases, "anchor_rent_from": rent_from,
                                   "rate_per_year": market_rate},
                           replication=replication)
    anchor = {f"request {k}" for k in range(len(phases))}  # on day 0, before the market's
    defaults = {day for cause, event, day in tenant_events(record)
                if cause in anchor and event == "lease_default"}
    assert len(defaults) <= 1
    leased = [day for cause, event, day in tenant_events(record)
              if cause in anchor and event == "leased"]
    assert all(day <= min(defaults, default=math.inf) for day in leased)


@settings(max_examples=12, deadline=None,  # compose_constant only composes: nothing to reset
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term_days=st.lists(st.floats(1.0, 364.0), min_size=1, max_size=3),
       one_tenant=st.booleans(), extension_years=st.one_of(st.none(), st.floats(0.01, 1.0)),
       years=st.integers(2, 4), deterministic=st.booleans(), seed=st.integers(0, 1000))
def test_a_tenant_always_renewing_holds_its_leases_to_the_horizon(
        compose_constant, term_days, one_tenant, extension_years, years, deterministic, seed):
    """Requests of 2 MW of IT for terms under a year, leased together on day 365, their
    options always taken, never a default: none ends before the horizon, whether each is
    its own tenant's or all are one tenant's (reading its first request's draws)."""
    n = len(term_days)
    record = tenant_table_run(compose_constant, {
        "day": [0] * n, "mw_it": [2.0] * n, "term_days": term_days, "commence_days": 0.0,
        "tenant": [0.0] * n if one_tenant else [float(k) for k in range(n)]},
        "site.hosting.renewal_probability=1", "site.hosting.default_probability_per_year=0",
        f"site.hosting.extension_years={'null' if extension_years is None else extension_years}",
        f"run.horizon_years={years}", f"run.deterministic={str(deterministic).lower()}",
        f"run.seed={seed}")
    events = tenant_events(record)
    assert {(e, d) for _, e, d in events if e == "leased"} == {("leased", 365)}
    assert not [event for event in events if event[1] == "lease_ended"]
    assert np.cumsum(record.rates.mw_leased)[-1] == pytest.approx(n * 2.0 * 1.3)


# --- bad values ----------------------------------------------------------------------------------
@pytest.mark.parametrize("override, message", [
    ("site.hosting.scope=shell", "site.hosting.scope='shell': must be one of turnkey, powered_shell"),
    ("site.hosting.extensions=-1", "site.hosting.extensions=-1: must be >= 0"),
    ("site.hosting.extension_years=0", r"site.hosting.extension_years=0: must be > 0"),
    ("site.hosting.renewal_rent=market", "site.hosting.renewal_rent='market': must be one of index, step"),
    ("site.hosting.tenant_capex_share=1.5", r"site.hosting.tenant_capex_share=1.5: must be in \[0, 1\]"),
    ("site.hosting.escalator_per_year=-0.1", r"site.hosting.escalator_per_year=-0.1: must be in \[0, 1\]"),
    ("site.hosting.rent_ramp_months=1.5", "site.hosting.rent_ramp_months=1.5: must be a whole number >= 0"),
    ("site.hosting.default_probability_per_year=2",
     r"site.hosting.default_probability_per_year=2: must be in \[0, 1\]"),
    ("site.hosting.backstop_share=-1", r"site.hosting.backstop_share=-1: must be in \[0, 1\]"),
])
def test_bad_lease_terms_get_one_line(compose_constant, override, message):
    with pytest.raises(UserError, match=f"^{message}$"):
        compose_constant(override)
