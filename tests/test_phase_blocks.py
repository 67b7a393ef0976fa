"""Blocks for a later phase (sim.tenants): the MW of blocks converting for one phase that
it does not need are offered to the next, so a phased anchor needs no more blocks than its
IT MW. On the flat test market, every block ready 365 days after it is queued (30 days
decommissioning, 335 retrofitting), 10 MW blocks at PUE 1.3, tenants signed against
converting halls (`site.sign_converting`, the default)."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sim
from sim.config_objects import build_processes, build_strategies
from sim.ledger import STATES, Account
from sim.processes.demand import AnchorTenant
from sim.site import Site

BUILD = ["fleet.upgrade_every_years=null", "fleet.failure_rate_per_year=0", "run.event_log=true",
         "site.conversion.decommission_days=fixed:30", "site.conversion.retrofit_days=fixed:335",
         "site.conversion.capex_usd_per_mw_it=fixed:9e6", "site.sign_converting=true",
         "run.horizon_years=3"]


def anchor_account(compose, blocks, crews, strategy="build_to_suit", **anchor):
    """Return the account of `strategy` on a site of `blocks` 10 MW blocks and `crews` crews
    (one block a project) for an anchor at $120/kW-month and nothing else."""
    picks = (["strategy=convert_all", "strategy.convert_all.prelease=true"]
             if strategy == "prelease" else [f"strategy={strategy}"])
    cfg = compose(*picks, *BUILD, f"site.grid_mw={10 * blocks}", f"site.blocks={blocks}",
                  f"site.crews={crews}")
    processes = build_processes(cfg)
    processes["demand"] = AnchorTenant(**{"rate_per_year": 0, "anchor_usd_per_kw_month": 120,
                                          **anchor})
    world = sim.sample_world(cfg, 0, processes)
    site = Site(cfg, world, next(iter(build_strategies(cfg).values())))
    return Account(cfg, world, site.run())


def tenant_days(acc, event):
    """Return {(request index, day): count} of the tenant `event`s."""
    days = {}
    for e in acc.record.events:
        if e.event == event and e.cause.startswith("request"):
            key = (int(e.cause.split()[1]), e.day)
            days[key] = days.get(key, 0) + 1
    return days


def leased_kw_it_by_day(acc):
    """Return {first day: IT kW} of the record's leases."""
    kw = {}
    for lease in acc.record.leases:
        kw[lease.start_day] = kw.get(lease.start_day, 0.0) + lease.kw_it
    return kw


def test_the_second_phase_takes_the_spare_mw_of_the_first_phases_blocks(compose_constant):
    """40 MW of IT (52 MW of grid) on a six-block site, 20% due in 365 days, 80% in 500,
    rent from each due day. The first phase, 8 MW of IT (10.4 MW of grid), needs two blocks
    and leaves 9.6 MW of its second block spare; the second, 32 MW of IT (41.6 MW), needs
    four more (41.6 - 9.6 = 32 MW), not five. Six crews build all six on day 365: the first
    phase is let that day, the second held for it and let on day 500, 40 MW of IT in all.
    Counting its blocks from the ready MW only, the desk asked for five of the four left,
    and lost the second phase (32 MW of IT rejected, two blocks converted)."""
    acc = anchor_account(compose_constant, blocks=6, crews=6, anchor_mw_it=40,
                         anchor_phases=[[0.2, 365], [0.8, 500]], anchor_rent_from="due")
    summary = acc.summary()
    assert summary["tenant_requests_rejected"] == 0 and summary["tenant_mw_it_rejected"] == 0
    queued = [(e.day, e.block, e.cause) for e in acc.record.events if e.event == "queued"]
    assert queued == [(0, b, "request 0") for b in (0, 1)] + [(0, b, "request 1") for b in range(2, 6)]
    assert {e.day for e in acc.record.events if e.event == "ready"} == {365}
    assert summary["mw_converted"] == pytest.approx(60)
    # the first phase takes its 10.4 MW from blocks 0 and 1; the second is held from day 365
    # and let on day 500
    assert tenant_days(acc, "leased") == {(0, 365): 2, (1, 500): 5}
    assert tenant_days(acc, "held_for_tenant") == {(1, 365): 5}
    kw_it = leased_kw_it_by_day(acc)
    assert kw_it.keys() == {365, 500}
    assert kw_it[365] == pytest.approx(8_000) and kw_it[500] == pytest.approx(32_000)
    # the second phase's parts, MW of grid: the 9.6 of block 1, blocks 2 to 4, 2 of block 5
    parts = [lease.kw_it * 1.3 / 1000 for lease in acc.record.leases if lease.start_day == 500]
    assert parts == pytest.approx([9.6, 10, 10, 10, 2])


def test_a_partial_phase_counts_the_spare_mw_too(compose_constant):
    """50 MW of IT on a six-block site, each phase signing for at least half of it. The
    first phase, 10 MW of IT (13 MW of grid), takes two blocks and leaves 7 MW; the
    second, 40 MW of IT (52 MW), cannot have all: with the four blocks left it takes the
    spare and them, 47 MW of grid (36.15 MW of IT), not 40 (30.77)."""
    acc = anchor_account(compose_constant, blocks=6, crews=6, anchor_mw_it=50, anchor_min_share=0.5,
                         anchor_phases=[[0.2, 365], [0.8, 500]], anchor_rent_from="due")
    summary = acc.summary()
    assert summary["tenant_requests_partial"] == 1 and summary["tenant_requests_rejected"] == 0
    assert summary["tenant_mw_it_rejected"] == pytest.approx(40 - 47 / 1.3)
    kw_it = leased_kw_it_by_day(acc)
    assert kw_it[365] == pytest.approx(10_000) and kw_it[500] == pytest.approx(47 / 1.3 * 1000)
    assert summary["mw_converted"] == pytest.approx(60)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weights=st.lists(st.integers(1, 10), min_size=2, max_size=4),
       dues=st.lists(st.integers(365, 900), min_size=4, max_size=4),
       mw_it=st.floats(5.0, 60.0), extra_blocks=st.integers(0, 2),
       strategy=st.sampled_from(["build_to_suit", "prelease"]))
def test_an_anchor_whose_phases_fit_converts_no_more_blocks_than_its_mw(
        compose_constant, weights, dues, mw_it, extra_blocks, strategy):
    """An anchor of random phases, each due at least a conversion time after signing, on a
    site that holds its MW (plus 0 to 2 blocks) with a crew for every block: every phase is
    let whole, no more than ceil(IT MW x PUE / block MW) blocks are converted, and the MW
    are conserved every day (the states add up to the grid; the leases to the anchor's IT)."""
    need_blocks = math.ceil(mw_it * 1.3 / 10 - 1e-9)
    blocks = need_blocks + extra_blocks
    shares = [w / sum(weights) for w in weights]
    phases = [[share, due] for share, due in zip(shares, sorted(dues))]
    acc = anchor_account(compose_constant, blocks=blocks, crews=blocks, strategy=strategy,
                         anchor_mw_it=mw_it, anchor_phases=phases)
    summary = acc.summary()
    assert summary["tenant_requests_rejected"] == 0 and summary["tenant_mw_it_rejected"] == 0
    assert summary["mw_converted"] <= need_blocks * 10 + 1e-9
    kw_it = sum(lease.kw_it for lease in acc.record.leases)
    assert kw_it == pytest.approx(mw_it * 1000, rel=1e-12)
    timeline = acc.timeline()
    np.testing.assert_allclose(timeline[:, :len(STATES)].sum(axis=1), 10 * blocks, rtol=1e-12)
    leased = timeline[:, list(STATES).index("mw_leased")]
    assert leased[-1] == pytest.approx(mw_it * 1.3, rel=1e-12)
