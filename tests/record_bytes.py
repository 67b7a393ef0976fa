"""A record's every number, for tests that compare two engine runs bit for bit."""

from dataclasses import fields

from sim.record import Lumps, Rates


def record_bytes(record):
    """Return every number of `record`: its arrays as bytes, its tranches' efficiencies, and
    its leases, GPU lots, counts, cloud contracts and conversions as they are."""
    arrays = [getattr(record.rates, f.name) for f in fields(Rates)]
    arrays += [getattr(record.lumps, f.name) for f in fields(Lumps)]
    arrays += [a for tranche in record.tranches for a in (tranche.mw, tranche.fleet_mw)]
    return ([a.tobytes() for a in arrays], [t.j_per_th for t in record.tranches], record.leases,
            record.gpu_lots, record.counts, record.cloud_contracts, record.conversions)
