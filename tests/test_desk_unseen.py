"""The tenant desk counts a request sure to be rejected without waking on its day
(sim.tenants.TenantDesk._rejected_whatever_comes): the record is the one a desk that
wakes for every request books (a logged run wakes for each)."""

from dataclasses import fields

import pytest

import sim
from sim.config import build_strategies
from sim.record import Lumps, Rates
from sim.site import simulate
from sim.tenants import TenantDesk


def _record_bytes(record):
    """Return every number of a record, its arrays as bytes, for bit-for-bit comparisons."""
    arrays = [getattr(record.rates, f.name) for f in fields(Rates)]
    arrays += [getattr(record.lumps, f.name) for f in fields(Lumps)]
    arrays += [a for tranche in record.tranches for a in (tranche.mw, tranche.fleet_mw)]
    return ([a.tobytes() for a in arrays], [t.j_per_th for t in record.tranches], record.leases,
            record.gpu_lots, record.counts, record.cloud_contracts, record.conversions)


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
    assert _record_bytes(quiet) == _record_bytes(logged)
    requests = sum(event.event == "tenant_request" for event in logged.events)
    assert quiet.counts.tenant_requests == requests > 0
    assert woken < requests


def test_a_site_that_never_converts_rejects_every_request_unseen(compose_small, monkeypatch):
    """stay_mining has no hall to offer, ever: the desk signs nothing and wakes for nothing."""
    cfg = compose_small("strategy=stay_mining", "run.horizon_years=4", "market.demand.rate_per_year=6")
    monkeypatch.setattr(TenantDesk, "_sign", lambda self, request: pytest.fail("woke for a request"))
    record = simulate(cfg, sim.sample_world(cfg, 0), build_strategies(cfg)["stay_mining"])
    assert record.counts.tenant_requests == record.counts.tenant_requests_rejected > 0
