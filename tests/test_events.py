"""The site engine by its event log: what happens, to which block, on which day, in order.

As SimPy's own tests do, each scenario runs on the flat test market (tests/conf) and
asserts the sequence of (day, block, event). Conversions take 30 + 335 days unless said.
"""

import numpy as np
import pytest

import sim
from trained import QUICK_TRAINING, ready_strategies
from sim.config_objects import build_strategies
from sim.economics import th_per_mw
from sim.record import EVENTS
from sim.site import simulate

QUIET_FLEET = ["fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0",
               "site.power.demand_response.enrolled_mw=0"]
FIXED_BUILD = ["site.conversion.retrofit_days=fixed:335",
               "site.conversion.capex_usd_per_mw_it=fixed:9e6"]


def record_of(cfg, replication=0):
    """Return the record of the config's first strategy in world `replication`."""
    strategy = next(iter(build_strategies(cfg).values()))
    return simulate(cfg, sim.sample_world(cfg, replication), strategy)


def log(cfg, *events, causes=False):
    """Return the (day, block, event[, cause]) of the events named (all if none)."""
    return [(e.day, e.block, e.event, e.cause) if causes else (e.day, e.block, e.event)
            for e in record_of(cfg).events if not events or e.event in events]


@pytest.fixture
def compose(compose_constant):
    """Return a composer of flat-market configs with the event log on."""
    return lambda *overrides: compose_constant("run.event_log=true", *overrides)


def test_the_event_log_is_off_by_default_and_costs_no_list(compose_constant):
    assert record_of(compose_constant("strategy=convert_all")).events is None


def test_crews_compete_later_blocks_start_when_a_crew_frees(compose):
    """Ten blocks queued at once, three crews: blocks start in threes, as each crew frees."""
    cfg = compose("strategy=convert_all", *QUIET_FLEET, *FIXED_BUILD, "run.horizon_years=2")
    assert log(cfg, "queued") == [(0, b, "queued") for b in range(10)]
    assert log(cfg, "decommission_start", "retrofit_start", "ready") == [
        (0, 0, "decommission_start"), (0, 1, "decommission_start"), (0, 2, "decommission_start"),
        (30, 0, "retrofit_start"), (30, 1, "retrofit_start"), (30, 2, "retrofit_start"),
        (365, 0, "ready"), (365, 1, "ready"), (365, 2, "ready"),
        (365, 3, "decommission_start"), (365, 4, "decommission_start"), (365, 5, "decommission_start"),
        (395, 3, "retrofit_start"), (395, 4, "retrofit_start"), (395, 5, "retrofit_start"),
        (730, 3, "ready"), (730, 4, "ready"), (730, 5, "ready"),
        (730, 6, "decommission_start"), (730, 7, "decommission_start"), (730, 8, "decommission_start"),
    ]


def test_phased_converts_a_block_each_quarter_and_queues_when_crews_are_busy(compose):
    """Quarters open on calendar days: 2027-01-01 is day 0, 2028 (a leap year) opens on 365."""
    cfg = compose("strategy=phased", *QUIET_FLEET, *FIXED_BUILD, "run.horizon_years=2",
                  "site.start_date=2027-01-01")
    decisions = [day for day, _, _ in log(cfg, "decision")]
    assert decisions == [0, 90, 181, 273, 365, 456, 547, 639]
    # One block a quarter up to max_share 0.6 (six blocks); blocks 3-5 wait for a crew:
    # each starts the day an earlier block's hall is ready (365 + 0, 90, 181).
    assert log(cfg, "queued", "decommission_start", "ready") == [
        (0, 0, "queued"), (0, 0, "decommission_start"),
        (90, 1, "queued"), (90, 1, "decommission_start"),
        (181, 2, "queued"), (181, 2, "decommission_start"),
        (273, 3, "queued"),
        (365, 0, "ready"), (365, 4, "queued"), (365, 3, "decommission_start"),
        (455, 1, "ready"), (455, 4, "decommission_start"),
        (456, 5, "queued"),
        (546, 2, "ready"), (546, 5, "decommission_start"),
        (730, 3, "ready"),
    ]


@pytest.mark.parametrize("power, lease, days", [
    (60, 120, [0, 31, 59]),  # margin 1 - 1440/2133 = 0.33 < 0.35 and lease >= 100: one a month
    (40, 120, []),           # margin 0.55: mining pays, no conversion
    (60, 90, []),            # margin poor but the lease index is below 100
])
def test_threshold_converts_a_block_a_month_while_armed(compose, power, lease, days):
    cfg = compose("strategy=threshold", "strategy.threshold.max_share=0.3", *QUIET_FLEET,
                  "run.horizon_years=1", "site.start_date=2027-01-01", f"market.power.usd_per_mwh={power}",
                  f"market.ai.lease_usd_per_kw_month={lease}")
    month_starts = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    assert [day for day, _, _ in log(cfg, "decision")] == month_starts
    assert log(cfg, "queued") == [(day, block, "queued") for block, day in enumerate(days)]


def test_fleet_upgrades_when_the_new_machines_would_mine_and_skips_otherwise(compose):
    """At $100/MWh the year-1 frontier (16.1 J/TH) earns $2,319/MW-day < $2,400: skipped."""
    cfg = compose("strategy=stay_mining", "fleet.failure_rate_per_year=0", "run.horizon_years=3",
                  "fleet.upgrade_every_years=1", "market.power.usd_per_mwh=100")
    record = record_of(cfg)
    assert log(cfg, "fleet_upgrade", "fleet_upgrade_skipped") == [
        (365.25, -1, "fleet_upgrade_skipped"),
        *[(730.5, b, "fleet_upgrade") for b in range(10)],
        *[(1095.75, b, "fleet_upgrade") for b in range(10)],
    ]
    j_year2, j_year3 = 17.5 * 0.92 ** 2, 17.5 * 0.92 ** 3  # the frontier at each upgrade
    new_usd_per_th = 375 * 40 / 1000
    refresh = record.lumps.capex_asic_refresh_usd
    assert np.flatnonzero(refresh).tolist() == [730, 1095]
    assert refresh[730] == pytest.approx(-100 * th_per_mw(j_year2, 1.05) * new_usd_per_th)
    assert refresh[1095] == pytest.approx(-100 * th_per_mw(j_year3, 1.05) * new_usd_per_th)
    # What is sold: the old fleet at half the new price, scaled by how far it lags the frontier.
    salvage = record.lumps.asic_salvage_usd
    assert salvage[730] == pytest.approx(100 * th_per_mw(17.5, 1.05) * new_usd_per_th * 0.5 * j_year2 / 17.5)
    assert salvage[1095] == pytest.approx(100 * th_per_mw(j_year2, 1.05) * new_usd_per_th * 0.5 * 0.92)
    assert [t.j_per_th for t in record.tranches] == pytest.approx([17.5, j_year2, j_year3])


def test_a_block_queued_for_conversion_keeps_its_fleet_through_an_upgrade(compose):
    """One crew, a block a quarter, 365 days a block: on day 401.775 (1.1 years) block 1
    is converting and blocks 2-4 wait for the crew; only the five never chosen are
    refitted. Block 2 sells its old 17.5 J/TH fleet when its crew comes, on day 730."""
    cfg = compose("strategy=phased", "strategy.phased.max_share=0.5", "site.crews=1",
                  "site.blocks_per_project=1", "fleet.failure_rate_per_year=0",
                  "fleet.upgrade_every_years=1.1", "run.horizon_years=2",
                  "site.start_date=2027-01-01", "fleet.frontier_date=2027-01-01", *FIXED_BUILD)
    assert log(cfg, "queued", "decommission_start") == [
        (0, 0, "queued"), (0, 0, "decommission_start"), (90, 1, "queued"), (181, 2, "queued"),
        (273, 3, "queued"), (365, 4, "queued"), (365, 1, "decommission_start"),
        (730, 2, "decommission_start")]
    upgrade_day = 1.1 * 365.25
    assert log(cfg, "fleet_upgrade") == [(upgrade_day, b, "fleet_upgrade") for b in range(5, 10)]
    record = record_of(cfg)
    new_usd_per_th = 375 * 40 / 1000
    refresh = record.lumps.capex_asic_refresh_usd
    assert np.flatnonzero(refresh).tolist() == [401]
    assert refresh[401] == pytest.approx(
        -50 * th_per_mw(17.5 * 0.92 ** 1.1, 1.05) * new_usd_per_th)
    # Block 2's old fleet, sold used on day 730 at half the new price times how far it lags.
    assert record.lumps.asic_salvage_usd[730] == pytest.approx(
        10 * th_per_mw(17.5, 1.05) * new_usd_per_th * 0.5 * 0.92 ** (730 / 365.25))


class _MarginSpy:
    """Convert two blocks on day 0, then record the mining revenue the view reports at a
    hashprice of $1,000/PH/day (the least efficient free fleet's) on each later decision."""

    decide_every_months = 1
    seen: list = []  # the class's: the engine runs a copy of the instance

    def decide(self, day, view, site):
        if day == 0:
            return [sim.strategies.Convert(2)]
        self.seen.append((day, site.mining_usd_per_mw_day(1000.0)))
        return []


def test_the_worst_fleet_is_that_of_the_blocks_free_to_convert(compose):
    """After the day-365 upgrade every block still mining holds the new fleet: the two
    blocks converted on day 0 (whose array entries still hold 17.5 J/TH) no longer count."""
    cfg = compose("fleet.failure_rate_per_year=0", "fleet.upgrade_every_years=1",
                  "run.horizon_years=2", "site.start_date=2027-01-01",
                  "fleet.frontier_date=2027-01-01", *FIXED_BUILD)
    spy = _MarginSpy()
    spy.seen.clear()
    simulate(cfg, sim.sample_world(cfg, 0), spy)
    pool_fee = float(cfg.site.pool_fee)
    old, new = (th_per_mw(j, 1.05) * (1 - pool_fee) for j in (17.5, 17.5 * 0.92))
    before = [usd for day, usd in spy.seen if day < 365.25]
    after = [usd for day, usd in spy.seen if day > 365.25]
    assert before == pytest.approx([old] * len(before)) and len(before) == 12
    assert after == pytest.approx([new] * len(after)) and len(after) == 11


@pytest.mark.parametrize("probability, expected, usd_per_kw_month", [
    (1, [(400, "leased"), (500, "lease_renewed"), (600, "lease_renewed"), (700, "lease_renewed")],
     [130, 120, 120, 120]),
    (0, [(400, "leased"), (500, "lease_ended"), (550, "leased"), (650, "lease_ended")], [130, 140]),
])
def test_leases_renew_or_end(compose, probability, expected, usd_per_kw_month):
    """A 100-day lease from day 400; a second tenant on day 550 finds room only if it ended."""
    requests = "[[400,70,100,130,0],[550,70,100,140,0]]"
    cfg = compose("strategy=convert_all", *QUIET_FLEET, *FIXED_BUILD, "site.crews=10",
                  "run.horizon_years=2", f"market.demand.requests={requests}",
                  f"site.hosting.renewal_probability={probability}")
    assert [(day, event) for day, _, event in log(cfg, "leased", "lease_renewed", "lease_ended")] \
        == expected
    assert [(day, cause) for day, _, _, cause in log(cfg, "tenant_rejected", causes=True)] \
        == ([(550, "request 1")] if probability else [])
    # Each term is one lease record; a renewal is priced at the lease index of its day ($120).
    leases = record_of(cfg).leases
    assert [lease.rent_usd_per_day * 365.25 / 12 / lease.kw_it for lease in leases] \
        == pytest.approx(usd_per_kw_month)
    assert [(lease.start_day, lease.end_day) for lease in leases] == [
        (day, day + 100) for day, event in expected if event != "lease_ended"]


def test_a_tenant_arriving_the_day_halls_are_ready_is_served_before_they_open(compose):
    """Same-day events run in the order they were scheduled: the tenant's arrival was
    scheduled on day 0, the halls' readiness on day 30, so on day 365 the tenant finds
    nothing ready and is turned away; a tenant one day later signs."""
    requests = "[[365,20,4383,120,0],[366,20,4383,120,0]]"
    cfg = compose("strategy=convert_all", *QUIET_FLEET, *FIXED_BUILD, "site.crews=10",
                  "run.horizon_years=2", f"market.demand.requests={requests}")
    assert log(cfg, "tenant_request", "tenant_rejected", "ready", "leased")[:3] == [
        (365, -1, "tenant_request"), (365, -1, "tenant_rejected"), (365, 0, "ready")]
    assert log(cfg, "tenant_request", "leased") == [
        (365, -1, "tenant_request"), (366, -1, "tenant_request"), (366, -1, "leased")]
    assert record_of(cfg).counts.tenant_requests_rejected == 1


def test_build_to_suit_queues_blocks_for_the_tenant_it_signs(compose):
    """15 MW of IT need 19.5 MW of grid: two blocks, built for request 0 and leased when ready."""
    requests = "[[10,15,4383,120,400],[20,5,300,110,0]]"
    cfg = compose("strategy=build_to_suit", *QUIET_FLEET, *FIXED_BUILD, "run.horizon_years=2",
                  f"market.demand.requests={requests}")
    assert log(cfg, causes=True) == [
        (0, -1, "decision", "calendar"),
        (10, -1, "tenant_request", "request 0"),
        (10, -1, "tenant_signed_build", "request 0"),
        (10, 0, "queued", "request 0"), (10, 1, "queued", "request 0"),
        (10, 0, "decommission_start", "crew_acquired"), (10, 1, "decommission_start", "crew_acquired"),
        (20, -1, "tenant_request", "request 1"),
        (20, -1, "tenant_rejected", "request 1"),  # wants 5 MW now; building takes a year
        (40, 0, "retrofit_start", "decommissioned"), (40, 1, "retrofit_start", "decommissioned"),
        (375, 0, "ready", "lease"), (375, 1, "ready", "lease"),
        (375, -1, "leased", "request 0"),
    ]


def test_a_cloud_hall_buys_gpus_when_ready_and_replaces_them_each_life(compose):
    cfg = compose("strategy=convert_all", "strategy.convert_all.use=cloud", *QUIET_FLEET,
                  *FIXED_BUILD, "site.blocks=1", "site.cloud.gpu_life_years=1", "run.horizon_years=3")
    assert log(cfg, "ready", "gpu_purchase", "gpu_refresh") == [
        (365, 0, "ready"), (365, 0, "gpu_purchase"),
        (730.25, 0, "gpu_refresh"), (1095.5, 0, "gpu_refresh")]
    assert [lot.day for lot in record_of(cfg).gpu_lots] == [365, 730.25, 1095.5]


def test_every_event_logged_is_documented_and_in_time_order(compose_small):
    cfg = compose_small("run.event_log=true", "run.horizon_years=4", "fleet.refresh=none", *QUICK_TRAINING)
    world = sim.sample_world(cfg, 1)
    seen = set()
    for strategy in ready_strategies(cfg).values():
        events = simulate(cfg, world, strategy).events
        assert [e.day for e in events] == sorted(e.day for e in events)
        assert all(-1 <= e.block < 10 and e.cause for e in events)
        seen |= {e.event for e in events}
    assert seen <= set(EVENTS)
    assert {"decision", "queued", "decommission_start", "ready", "leased", "tenant_request"} <= seen
