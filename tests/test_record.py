"""The engine's record: read-only, complete enough for the ledger, and its event table."""

from collections import Counter
from dataclasses import fields

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.config_objects import build_strategies
from sim.economics import DAYS_PER_YEAR
from sim.record import EVENT_COLUMNS, Books, Event, Lease, Rates, events_table, levels_by_day
from sim.site import simulate


def test_rates_are_daily_changes_whose_sum_is_the_level():
    books = Books(10)
    books.rate(books.rates.mw_ready, 2, 5.0)
    books.rate(books.rates.mw_ready, 3.5, 1.0, until=6)   # fractional days start the next day
    books.rate(books.rates.mw_ready, 8, 1.0, until=40)    # ends after the horizon
    levels = books.rates.levels(10)
    np.testing.assert_array_equal(levels.mw_ready, [0, 0, 5, 5, 6, 6, 5, 5, 6, 6])
    assert isinstance(levels, Rates) and not levels.gpus.any()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 400),
       st.sampled_from([0.0, 0.02, 0.5]), st.sampled_from([0.0, 0.01, 0.3]))
def test_levels_by_day_are_each_rows_running_sum_to_the_last_bit(seed, rows, days, busy, negative_zeros):
    """Against np.cumsum of each row: sparse changes of many magnitudes, some of them -0.0."""
    rng = np.random.default_rng(seed)
    changes = [rng.normal(size=days + 1) * 10.0 ** rng.integers(-3, 9, size=days + 1)
               * (rng.random(days + 1) < busy) for _ in range(rows)]
    for row in changes:
        row[(row == 0) & (rng.random(days + 1) < negative_zeros)] = -0.0
    got = levels_by_day(changes, days)
    assert got.shape == (rows, days)
    for level, row in zip(got, changes):
        assert level.tobytes() == np.cumsum(row)[:days].tobytes()


@pytest.mark.parametrize("seed", range(10))
def test_every_rate_s_level_is_its_running_sum_to_the_last_bit(seed):
    """Rates summed together: untouched ones, ones of -0.0 alone, busy and sparse ones."""
    rng = np.random.default_rng(seed)
    n = 300
    changes = {}
    for f in fields(Rates):
        kind = rng.integers(0, 4)
        row = np.zeros(n + 1)
        if kind == 1:
            row[rng.random(n + 1) < 0.05] = -0.0
        elif kind >= 2:
            row = rng.normal(size=n + 1) * 10.0 ** rng.integers(-3, 9, n + 1) * (rng.random(n + 1) < 0.03 * kind)
        changes[f.name] = row
    levels = Rates(**changes).levels(n)
    for name, row in changes.items():
        assert getattr(levels, name).tobytes() == np.cumsum(row)[:n].tobytes()


def test_a_lump_after_the_horizon_is_not_booked():
    books = Books(10)
    books.lump(books.lumps.capex_gpu_usd, 9.9, -1.0)
    books.lump(books.lumps.capex_gpu_usd, 10, -1.0)
    assert books.lumps.capex_gpu_usd.tolist() == [0] * 9 + [-1.0]


def test_tranches_keep_the_order_they_first_mined():
    books = Books(5)
    books.mining_mw(17.5, 0, 10, 10)
    books.mining_mw(16.0, 2, 10, 12)
    books.mining_mw(17.5, 2, -10, -10)
    assert [t.j_per_th for t in books.tranches()] == [17.5, 16.0]
    assert books.tranches()[0].mw.tolist() == [10, 0, -10, 0, 0, 0]


@given(st.floats(0, 12, allow_nan=False))
def test_a_rate_and_a_tranche_booked_on_the_same_day_start_on_the_same_day(day):
    """The engine books the blocks' states (rates) and their fleets (tranches) on one day rule:
    a change at day 2.5 counts from day 3, and one past the horizon not at all."""
    books = Books(10)
    books.rate(books.rates.mw_converting, day, 10.0)
    books.mining_mw(17.5, day, 10.0, 10.0)
    converting = books.rates.levels(10).mw_converting
    mining = np.cumsum(books.tranches()[0].mw)[:10]  # a tranche holds its daily changes
    assert mining.tolist() == converting.tolist() == [10.0 if d >= day else 0.0 for d in range(10)]


def test_the_record_cannot_be_changed(compose_small):
    cfg = compose_small("strategy=convert_all")
    record = simulate(cfg, sim.sample_world(cfg, 0), build_strategies(cfg)["convert_all"])
    with pytest.raises(ValueError):
        record.rates.mw_ready[0] = 1.0
    with pytest.raises(ValueError):
        record.tranches[0].fleet_mw[0] = 1.0
    with pytest.raises(AttributeError):
        record.pool_fee = 0.0
    assert record.counts.tenant_requests == len(sim.sample_world(cfg, 0).tenant_requests)


def test_events_table_labels_each_event_with_its_strategy_and_replication():
    logs = [("b", 3, (Event(0.0, -1, "decision", "calendar"),)),
            ("a", 3, (Event(0.0, -1, "decision", "calendar"), Event(2.5, 4, "ready", "lease")))]
    table = events_table(logs, ["a", "b"])
    assert list(table.columns) == list(EVENT_COLUMNS)
    assert table["strategy"].astype(str).tolist() == ["b", "a", "a"]
    assert list(table["strategy"].cat.categories) == ["a", "b"]
    assert table[["replication", "day", "block"]].values.tolist() == [[3, 0, -1], [3, 0, -1], [3, 2.5, 4]]
    assert events_table([], ["a"]).empty


def test_run_returns_and_saves_the_event_log_only_when_asked(compose_small, tmp_path):
    cfg = compose_small("run.event_log=true", "strategy=[stay_mining,phased]", "run.replications=3",
                        "run.chunk_size=2", "run.horizon_years=2")
    result = sim.run(cfg)
    events = result.events
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert sorted(set(zip(events["strategy"].astype(str), events["replication"]))) == [
        (s, r) for s in ("phased", "stay_mining") for r in range(3)]
    world = sim.sample_world(cfg, 2)
    phased = events[(events["strategy"] == "phased") & (events["replication"] == 2)]
    direct = simulate(cfg, world, build_strategies(cfg)["phased"]).events
    assert list(phased[["day", "block", "event", "cause"]].itertuples(index=False, name=None)) \
        == [tuple(e) for e in direct]
    loaded = sim.load(result.save(tmp_path / "on"))
    pd.testing.assert_frame_equal(loaded.events.astype({"strategy": str}),
                                  events.astype({"strategy": str}))
    off = sim.run(compose_small("strategy=[stay_mining,phased]", "run.replications=1"))
    assert off.events.empty
    off.save(tmp_path / "off")
    assert not (tmp_path / "off" / "events.parquet").exists()


@settings(max_examples=200, deadline=None)
@given(start=st.floats(0.0, 4_000.0), years=st.integers(1, 12), escalator=st.floats(0.0, 0.1))
def test_a_terms_contract_value_counts_each_day_in_its_own_lease_year(start, years, escalator):
    """Day k of a term pays the rent of lease year floor(k / 365.25) = floor(4k / 1461),
    counted in integers, whatever the (fractional) start day."""
    term_days = round(years * DAYS_PER_YEAR)
    lease = Lease(start_day=start, end_day=start + term_days, rent_usd_per_day=1_000.0, kw_it=1.0,
                  escalator_per_year=escalator)
    by_year = Counter(4 * k // 1461 for k in range(term_days))
    expected = sum(days * 1_000.0 * (1 + escalator) ** year for year, days in by_year.items())
    assert lease.term_value_usd() == pytest.approx(expected, rel=1e-12)


def _leases(draw_start=st.floats(0.0, 4_000.0)):
    """Leases of any schedule: fractional starts, terms of a few days to decades, ramps,
    backstop-like terms whose schedule started before them, and an infinite rent."""
    return st.builds(
        lambda start, term, rent, escalator, ramp, before: Lease(
            start_day=start, end_day=start + term, rent_usd_per_day=rent, kw_it=1.0,
            escalator_per_year=escalator, ramp_months=ramp,
            schedule_day=None if before is None else start - before),
        draw_start, st.floats(0.5, 9_000.0), st.floats(0.0, 1e7) | st.just(np.inf), st.sampled_from([0.0, 0.03, 0.1]),
        st.sampled_from([0.0, 0.5, 1.0, 6.0, 7.3, 40.0]),
        st.one_of(st.none(), st.floats(0.0, 3_000.0)))


@settings(max_examples=300, deadline=None)
@given(lease=_leases(), n_days=st.integers(1, 8_000), sign=st.sampled_from([1.0, -1.0]),
       other=_leases())
def test_rent_is_booked_at_its_cuts_as_day_by_day(lease, n_days, sign, other):
    """Books.rent adds the rent's changes only where it changes (`Lease.rent_steps`): the same
    changes, bit for bit, as adding every day's difference of the schedule, on top of
    another lease's."""
    def by_day(change, lease, sign):  # every day's change, as the rent was first booked
        first = min(int(np.ceil(lease.start_day)), n_days)
        days = np.arange(first, min(int(np.ceil(lease.end_day)), n_days))
        if days.size:
            amounts = sign * lease.scheduled_usd_per_day(days)
            change[first] += amounts[0]
            change[first + 1:first + days.size] += np.diff(amounts)
            change[first + days.size] -= amounts[-1]

    with np.errstate(invalid="ignore"):  # an infinite rent's changes are NaN, both ways
        books = Books(n_days)
        books.rent(other)
        books.rent(lease, sign)
        expected = np.zeros(n_days + 1)
        by_day(expected, other, 1.0)
        by_day(expected, lease, sign)
    assert books.rates.rent_usd_per_day.tobytes() == expected.tobytes()


@settings(max_examples=200, deadline=None)
@given(lease=_leases())
def test_rent_steps_are_the_schedule_day_by_day(lease):
    """Between its cuts the rent repeats, and it is the schedule's on every day."""
    first, n_days = int(np.ceil(lease.start_day)), int(np.ceil(lease.end_day) - np.ceil(lease.start_day))
    if n_days < 1:
        return
    cuts, rents = lease.rent_steps(first, n_days)
    assert cuts[0] == 0 and (np.diff(cuts) > 0).all() and cuts[-1] < n_days
    repeated = np.repeat(rents, np.diff(cuts, append=n_days))
    assert repeated.tobytes() == lease.scheduled_usd_per_day(np.arange(first, first + n_days)).tobytes()


@settings(max_examples=100, deadline=None)
@given(lease=_leases())
def test_a_terms_contract_value_is_the_sum_of_its_days_rent(lease):
    """The contract value (its schedule cached per term length) is numpy's sum of the rent
    of each day of the term, bit for bit."""
    days = np.arange(int(round(lease.end_day - lease.start_day)), dtype=float)
    expected = float(np.sum(lease._rent_since(days + (lease.start_day - lease.origin_day))))
    assert lease.term_value_usd() == expected
    assert lease.term_value_usd() == expected  # and again, from the cache
