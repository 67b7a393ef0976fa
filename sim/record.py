"""The engine's record: what one site did under one strategy in one sampled world.

The site engine (sim.site) writes it while it runs, through `Books`; the ledger
(sim.ledger) reads the finished `Record` with the world and the terms of the config,
and nothing else. What runs at a rate (MW in a state, rent, GPUs, retrofit spending) is
kept as daily *changes*: entry d is what starts on day d (negative: what stops), so the
cumulative sum is the level on each day, and one extra entry at the end takes what
changes at or after the horizon. Money paid once is kept as *lumps*, by day. Mining MW
are kept per fleet efficiency (`Tranche`), also in the fleet units of
`sim.fleet.FleetDecay`. With `run.event_log=true` the record also lists every engine
event (`Event`, `EVENTS`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.economics import DAYS_PER_MONTH, DAYS_PER_YEAR
from sim.fleet import FleetDecay
from sim.memo import read_only, read_only_cache

#: Every event the engine logs, with the block it concerns and its cause.
EVENTS = {
    "decision": "the strategy is asked what to do (block -1; cause: calendar)",
    "queued": "a mining block is chosen for conversion and waits for a crew "
              "(cause: decision, or the tenant request it is built for)",
    "decommission_start": "a crew takes the block; its ASICs are sold (cause: crew_acquired)",
    "retrofit_start": "the ASICs are out; the hall is retrofitted (cause: decommissioned)",
    "ready": "the hall is built; the crew is free (cause: its use, lease or cloud)",
    "tenant_request": "a tenant asks for IT MW (block -1; cause: request i)",
    "tenant_rejected": "the request is lost: nothing ready and no build (block -1; cause: request i)",
    "tenant_signed_build": "the request is signed; blocks are queued for it (block -1; cause: request i)",
    "tenant_signed_converting": "the request is signed against halls converting, not reserved, "
                                "expected ready within its wait (block -1; cause: request i)",
    "tenant_signed_planned": "the request is signed against planned blocks, now queued for it "
                             "(block -1; cause: request i)",
    "tenant_signed_partial": "the request is signed for a share of its MW, at least its min_share; "
                             "the rest is lost (block -1; cause: request i)",
    "planned": "a mining block is planned for pre-leasing: it mines until a tenant signs for it "
               "(cause: decision)",
    "held_for_tenant": "a tenant's MW are ready before its rent commences (commence_days): they "
                       "are held for it, unleased, until then (block -1; cause: request i)",
    "leased": "a tenant's lease starts (block -1; cause: request i)",
    "lease_renewed": "an extension option is taken: a new term at the lease index of the day or "
                     "a step on the last rent (block -1; cause: request i)",
    "lease_ended": "a lease ends; its MW return to the ready pool (block -1; cause: request i)",
    "lease_default": "the tenant defaults; the lease stops, its MW return to the ready pool, "
                     "no extension follows; or a part it was waiting for, or held for it, "
                     "ends unleased (block -1; cause: request i)",
    "backstop": "a backstop starts paying its share of the defaulted lease's remaining rent "
                "until the term's end (block -1; cause: request i)",
    "fleet_upgrade": "the block's fleet is sold and the newest machines bought (cause: schedule)",
    "fleet_upgrade_skipped": "an upgrade is due but the newest machines would not mine "
                             "(block -1; cause: below_breakeven)",
    "gpu_purchase": "a cloud hall buys its GPUs (cause: ready)",
    "gpu_refresh": "a cloud hall's GPUs reach the end of their life and are replaced "
                   "(cause: end_of_life)",
}
EVENT_COLUMNS = ("strategy", "replication", "day", "block", "event", "cause")


class Event(NamedTuple):
    """One engine event: its day, the block it concerns (-1 if none), what and why."""

    day: float
    block: int
    event: str
    cause: str


def levels_by_day(changes: list[np.ndarray], n_days: int) -> np.ndarray:
    """Return the level on days 0 .. n_days - 1 of each of several daily changes, one row each.

    Rates change on a few days (events), so the running sums are taken over day 0 and the
    days on which any of them changes, and held in between. Adding a zero (+0.0 or -0.0)
    leaves a sum that is not -0.0 as it is, so each row is the cumulative sum of its
    changes to the last bit; where a sum could be -0.0 (a rate whose first changes are
    -0.0) every row is summed day by day instead.
    """
    heads = [c[:n_days] for c in changes]
    changed = heads[0] != 0
    for head in heads[1:]:
        changed |= head != 0
    changed[0] = True
    days = changed.nonzero()[0]
    sums = np.array([head[days] for head in heads], dtype=float).cumsum(axis=1)
    if (np.signbit(sums) & (sums == 0)).any():  # a -0.0 that +0.0 would undo
        return np.array([head.cumsum() for head in heads], dtype=float)
    repeats = np.empty(days.size, dtype=np.intp)  # the days each sum holds
    np.subtract(days[1:], days[:-1], out=repeats[:-1])
    repeats[-1] = n_days - days[-1]
    return sums.repeat(repeats, axis=1)


@dataclass(frozen=True, eq=False)
class Rates:
    """Daily changes of what runs at a rate; the cumulative sum is the level on each day."""

    mw_converting: np.ndarray                 # grid MW being decommissioned or retrofitted
    mw_ready: np.ndarray                      # grid MW built and free to lease
    mw_leased: np.ndarray                     # grid MW under lease
    mw_cloud: np.ndarray                      # grid MW running the site's own GPU cloud
    gpus: np.ndarray                          # GPUs in the cloud
    rent_usd_per_day: np.ndarray              # rent due from tenants
    kw_it_leased: np.ndarray                  # IT kW under lease
    kw_it_ready: np.ndarray                   # IT kW built and free
    capex_conversion_usd_per_day: np.ndarray  # retrofit spending, negative, spread evenly

    @classmethod
    def zeros(cls, n: int) -> Rates:
        """Return rates with no change on any of `n` days."""
        return cls(*(np.zeros(n) for _ in fields(cls)))

    def levels(self, n_days: int) -> Rates:
        """Return the level of each rate on days 0 .. n_days - 1, all summed together
        (`levels_by_day`; a rate that nothing touched is +0.0 on every day)."""
        return Rates(*levels_by_day([getattr(self, f.name) for f in fields(self)], n_days))


@dataclass(frozen=True, eq=False)
class Lumps:
    """Money paid or received once, in USD by day (inflows positive)."""

    capex_gpu_usd: np.ndarray           # GPUs bought for the cloud
    capex_asic_refresh_usd: np.ndarray  # new ASICs bought at fleet upgrades
    asic_salvage_usd: np.ndarray        # ASICs sold at conversion and at upgrades
    hosting_rent_usd: np.ndarray        # rent credits paid to tenants served late (negative)

    @classmethod
    def zeros(cls, n_days: int) -> Lumps:
        """Return lumps with nothing paid on any of `n_days` days."""
        return cls(*(np.zeros(n_days) for _ in fields(cls)))


@dataclass(frozen=True, eq=False)
class Tranche:
    """The mining blocks of one fleet efficiency: daily changes of their grid MW.

    `fleet_mw` are the same changes in fleet units: times `FleetDecay.share_alive(day)`
    their cumulative sum is the MW of machines still alive on that day.
    """

    j_per_th: float
    mw: np.ndarray
    fleet_mw: np.ndarray


@dataclass(frozen=True)
class Lease:
    """One term of a lease, or a backstop's share of one after a default: rent due from day to day.

    `rent_usd_per_day` is the full rent of the first lease year. The rent steps up by
    `escalator_per_year` on each anniversary and, over the first `ramp_months` months,
    month k pays (k + 0.5) / ramp_months of it (a linear ramp in monthly steps). Both
    count from `schedule_day` (the day the contract's rent started; None: `start_day`),
    so that a backstop paying from a default day keeps the contract's own schedule.
    An extension is a new term, with its own anniversaries and no ramp.
    """

    start_day: float
    end_day: float
    rent_usd_per_day: float
    kw_it: float
    escalator_per_year: float = 0.0
    ramp_months: float = 0.0
    schedule_day: float | None = None

    @property
    def origin_day(self) -> float:
        """Return the day the rent schedule counts its anniversaries and ramp months from."""
        return self.start_day if self.schedule_day is None else self.schedule_day

    def scheduled_usd_per_day(self, days) -> np.ndarray:
        """Return the contract's rent on `days` (vectorised), ignoring the term's window."""
        return self._rent_since(np.asarray(days, dtype=float) - self.origin_day)

    def _rent_since(self, since: np.ndarray) -> np.ndarray:
        """Return the rent `since` days after the schedule's origin (anniversaries, ramp)."""
        return self._rent(_schedule(self.escalator_per_year, self.ramp_months, since))

    def _rent(self, schedule: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
        """Return the rent of days whose `_schedule` factors (escalation, ramp) are `schedule`."""
        escalation, ramp = schedule
        rent = self.rent_usd_per_day * escalation
        return rent if ramp is None else rent * ramp

    def rent_usd_per_day_on(self, days) -> np.ndarray:
        """Return the rent due on each of `days`: 0 outside [start_day, end_day)."""
        days = np.asarray(days, dtype=float)
        inside = (days >= self.start_day) & (days < self.end_day)
        return np.where(inside, self.scheduled_usd_per_day(days), 0.0)

    def term_value_usd(self) -> float:
        """Return the rent of the whole term, day by day, undiscounted (its contract value).

        Day k of the term lies k days after its start: counted as such, not as
        (start_day + k) − origin, whose rounding can move a day across an anniversary.
        """
        schedule = _term_schedule(self.escalator_per_year, self.ramp_months,
                                  int(round(self.end_day - self.start_day)), self.start_day - self.origin_day)
        return float(np.sum(self._rent(schedule)))

    def rent_steps(self, first: int, n_days: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the days first .. first + n_days - 1 cut where the rent may change: the offset
        of each cut's first day (0 first) and its rent, which each day up to the next cut
        repeats. The same floats, day by day, as `scheduled_usd_per_day`; where its
        anniversaries cannot be looked up (few days, a long span), or a rent is not finite
        (the difference of two infinite rents is NaN), every day is a cut."""
        origin = self.origin_day
        years = span = None
        if math.isfinite(origin):
            years = (_period(first, origin, DAYS_PER_YEAR), _period(first + n_days - 1, origin, DAYS_PER_YEAR))
            span = _escalation_span(*years, n_days)
        if span is not None:
            cuts = _cuts(first, origin, DAYS_PER_YEAR, *years)
            if self.ramp_months > 0:  # and the ramp's months, until a month after its last
                start = _period(first, origin, DAYS_PER_MONTH)
                stop = min(_period(first + n_days - 1, origin, DAYS_PER_MONTH),
                           max(start, math.ceil(self.ramp_months) + 1.0))
                cuts = sorted({*cuts, *_cuts(first, origin, DAYS_PER_MONTH, start, stop)})
            since = np.array([first + cut - origin for cut in cuts])  # as (float) day - origin
            rents = self._rent(_schedule(self.escalator_per_year, self.ramp_months, since, span))
            if math.isfinite(np.add.reduce(rents)):
                return np.array(cuts), rents
        every_day = np.arange(n_days)
        return every_day, self.scheduled_usd_per_day(every_day + first)

    def last_rent_usd_per_day(self) -> float:
        """Return the rent due just before the term ends."""
        return float(self.scheduled_usd_per_day(np.nextafter(self.end_day, -np.inf)))


def _schedule(escalator_per_year: float, ramp_months: float, since: np.ndarray,
              span: tuple[float, float, int] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the factors of the rent `since` days after a schedule's origin: its escalation
    on each anniversary, and the ramp's in its first months (None without a ramp).

    `span`: the days `since` holds are some of `_escalation_span`'s (their powers are looked
    up as those of all the days would be).
    """
    escalation = _escalation(1.0 + escalator_per_year, np.floor(since / DAYS_PER_YEAR), span)
    if ramp_months <= 0:
        return escalation, None
    month = np.floor(since / DAYS_PER_MONTH)
    return escalation, np.minimum(1.0, (month + 0.5) / ramp_months)


@read_only_cache(maxsize=16)
def _term_schedule(escalator_per_year: float, ramp_months: float, n_days: int,
                   offset: float) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the `_schedule` of a term's days 0 .. n_days - 1, `offset` days after the origin
    (cached: a run's terms share a few lengths and offsets)."""
    return _schedule(escalator_per_year, ramp_months, np.arange(n_days, dtype=float) + offset)


def _escalation_span(first: float, last: float, count: int) -> tuple[float, float, int] | None:
    """Return (first, last, count) if `count` days in the years first .. last look their powers
    up (`_escalation`), else None."""
    if count > 256 and math.isfinite(first) and math.isfinite(last) and last - first < count / 8:
        return first, last, count
    return None


#: From this many days on, `_escalation` looks its powers up: below, `growth ** years` of every
#: day (a power of a whole number of years) is as quick (a forward year's 365 days: twice as quick).
_LOOKUP_DAYS = 1024


def _escalation(growth: float, years: np.ndarray,
                span: tuple[float, float, int] | None = None) -> np.ndarray:
    """Return growth ** years elementwise; over many days, one power per distinct whole year.

    The same powers as `growth ** years`, looked up: a term's days fall in a few lease years.
    `span`: `years` are some of the days of a `_escalation_span` (default: their own).
    """
    if span is None and years.ndim == 1 and years.size > _LOOKUP_DAYS:
        span = _escalation_span(float(years.min()), float(years.max()), years.size)
    if span is None:
        return growth ** years
    first, last, _ = span
    steps = growth ** np.arange(first, last + 1.0)
    return steps[(years - first).astype(np.intp)]


def _period(day: int, origin: float, period_days: float) -> float:
    """Return the period (year, month) from `origin` that `day` falls in, as `Lease` counts:
    floor((day - origin) / period_days), in the same floating-point steps as numpy's."""
    return float(math.floor((day - origin) / period_days))


def _cuts(first: int, origin: float, period_days: float, start: float, stop: float) -> list[int]:
    """Return the offset from `first` of the day that opens each period after `start` up to
    `stop` (`_period`), 0 first: found near where it should be, then checked day by day."""
    cuts = [0]
    for period in range(int(start) + 1, int(stop) + 1):
        offset = math.ceil(period * period_days + origin) - first
        while offset > 0 and _period(first + offset - 1, origin, period_days) >= period:
            offset -= 1
        while _period(first + offset, origin, period_days) < period:
            offset += 1
        cuts.append(offset)
    return cuts


@dataclass(frozen=True)
class Conversion:
    """One block's conversion: the site's share of its capex, paid evenly from start to end day.

    The unit that project debt finances (sim.finance); `kw_it` is the hall's IT capacity and
    `use` what it is built for (`hosting` or `cloud`).
    """

    block: int
    start_day: float
    end_day: float
    capex_usd: float
    kw_it: float
    use: str = "hosting"

    @property
    def usd_per_day(self) -> float:
        """Return the capex paid on each of the whole days the books give the retrofit:
        days ceil(start_day) to ceil(end_day) - 1, so that they add up to `capex_usd` (a
        conversion lasts at least a day, so there is at least one)."""
        return self.capex_usd / max(math.ceil(self.end_day) - math.ceil(self.start_day), 1)


@dataclass(frozen=True)
class GpuLot:
    """GPUs bought for a cloud hall on `day`, for `usd`, to be replaced after `life_days`.

    `contracted_until` is the day the hall's GPU-hours stop being sold under contract
    (0: never under contract).
    """

    day: float
    usd: float
    life_days: float
    contracted_until: float = 0.0


@dataclass(frozen=True)
class CloudContract:
    """A take-or-pay contract for one cloud hall's GPU-hours, from `start_day` to `end_day`.

    Each day of the term the customer pays `gpus · 24 · usd_per_gpu_hour · paid_share`,
    less an even share of `prepayment_usd`, which it paid on the first day. The hall
    draws `grid_mw` of power.
    """

    start_day: float
    end_day: float
    gpus: float
    grid_mw: float
    usd_per_gpu_hour: float
    paid_share: float
    prepayment_usd: float


@dataclass(frozen=True)
class Counts:
    """What happened to the tenants' requests."""

    tenant_requests: int = 0
    tenant_requests_rejected: int = 0
    tenant_mw_it_rejected: float = 0.0
    tenant_requests_late: int = 0
    tenant_requests_partial: int = 0
    contracted_rent_usd: float = 0.0  # the first term of every lease signed, whole, at signing


@dataclass(frozen=True, eq=False)
class Record:
    """What one site did under one strategy in one world: all the ledger reads of the engine.

    The site's facts (`block_mw` of grid per block, the PUEs, the pool fee, how its fleet
    decays) come with what happened: `rates` and `lumps` over `n_days`, the mining
    `tranches` in the order they first mined, every lease term and backstop (each with
    its rent schedule, `Lease.rent_usd_per_day_on`), every GPU lot, the tenant counts,
    the event log (None unless `run.event_log` is on), every cloud hall's GPU-hour
    contract, and every conversion project (what project debt finances).
    """

    n_days: int
    block_mw: float
    pue_mining: float
    pue_ai: float
    pool_fee: float
    decay: FleetDecay
    rates: Rates
    lumps: Lumps
    tranches: tuple[Tranche, ...]
    leases: tuple[Lease, ...]
    gpu_lots: tuple[GpuLot, ...]
    counts: Counts
    events: tuple[Event, ...] | None = None
    cloud_contracts: tuple[CloudContract, ...] = ()
    conversions: tuple[Conversion, ...] = ()


class Books:
    """The record while the engine writes it: rate changes, lumps and mining tranches."""

    _N_RATES, _N_LUMPS = len(fields(Rates)), len(fields(Lumps))  # counted once, not per run

    def __init__(self, n_days: int):
        self.n_days = n_days
        # as Rates.zeros(n_days + 1) and Lumps.zeros(n_days): one array each
        self.rates = Rates(*[np.zeros(n_days + 1) for _ in range(self._N_RATES)])
        self.lumps = Lumps(*[np.zeros(n_days) for _ in range(self._N_LUMPS)])
        self.mining: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def day_index(self, day: float) -> int:
        """Return the first whole day at or after `day` (a change booked on day 2.5 counts from
        day 3), or the horizon (`n_days`) where that lies past it: the engine's day rule."""
        return min(math.ceil(day), self.n_days)  # math.ceil gives an int

    def rate(self, change: np.ndarray, day: float, amount: float, until: float | None = None) -> None:
        """Add `amount` per day to the rate whose changes are `change`, from `day` (until `until`)."""
        change[self.day_index(day)] += amount
        if until is not None:
            change[self.day_index(until)] -= amount

    def rent(self, lease: Lease, sign: float = 1.0) -> None:
        """Add the rent `lease` pays on each day of its term within the horizon (times `sign`)."""
        first = self.day_index(lease.start_day)
        n_days = self.day_index(lease.end_day) - first
        if n_days > 0:
            # Every one of these days lies within the term (ceil(start) >= start and
            # ceil(end) - 1 < end), so the schedule alone gives its rent. It changes only at
            # its cuts: each other day's change would be +0.0, which leaves a sum as it is
            # (the changes start at +0.0, so none is -0.0; rents not finite are cut daily).
            cuts, amounts = lease.rent_steps(first, n_days)
            amounts = sign * amounts
            change = self.rates.rent_usd_per_day
            change[first] += amounts[0]
            change[first + cuts[1:]] += amounts[1:] - amounts[:-1]  # np.diff's subtraction
            change[first + n_days] -= amounts[-1]

    def lump(self, lumps: np.ndarray, day: float, usd: float) -> None:
        """Book `usd` once into `lumps`, on `day`, if it falls within the horizon (`lump_cells`)."""
        for cells, index, amount in self.lump_cells(lumps, day, usd):
            cells[index] += amount

    def lump_cells(self, lumps: np.ndarray, day: float, usd: float) -> list[tuple[np.ndarray, int, float]]:
        """Return the (cells, index, amount) `lump` adds: none if `day` is past the horizon."""
        return [(lumps, int(day), usd)] if day < self.n_days else []

    def mining_mw(self, j_per_th: float, day: float, mw: float, fleet_mw: float) -> None:
        """Add `mw` of mining blocks at efficiency `j_per_th` from `day` on (`fleet_mw` in fleet
        units; the cells `mining_cells` names)."""
        for cells, index, amount in self.mining_cells(j_per_th, day, mw, fleet_mw):
            cells[index] += amount

    def mining_cells(self, j_per_th: float, day: float, mw: float,
                     fleet_mw: float) -> list[tuple[np.ndarray, int, float]]:
        """Return the (cells, index, amount) `mining_mw` adds."""
        mw_cells, fleet_cells = self._tranche(j_per_th)
        start = self.day_index(day)
        return [(mw_cells, start, mw), (fleet_cells, start, fleet_mw)]

    def _tranche(self, j_per_th: float) -> tuple[np.ndarray, np.ndarray]:
        """Return the daily changes (MW, fleet units) of the tranche of `j_per_th`; one not
        seen before is opened now, so the tranches keep the order they first mined in."""
        key = float(j_per_th)
        tranche = self.mining.get(key)
        if tranche is None:
            tranche = self.mining[key] = (np.zeros(self.n_days + 1), np.zeros(self.n_days + 1))
        return tranche

    def tranches(self) -> tuple[Tranche, ...]:
        """Return the mining tranches, in the order they first mined."""
        return tuple(Tranche(j, mw, fleet_mw) for j, (mw, fleet_mw) in self.mining.items())


def freeze(record: Record) -> Record:
    """Return `record` with every array read-only."""
    arrays = [getattr(record.rates, f.name) for f in fields(Rates)]
    arrays += [getattr(record.lumps, f.name) for f in fields(Lumps)]
    for tranche in record.tranches:
        arrays += [tranche.mw, tranche.fleet_mw]
    read_only(*arrays)
    return record


def events_table(logs: list[tuple[str, int, tuple[Event, ...]]], labels: list[str]) -> pd.DataFrame:
    """Return one table of events from (strategy label, replication, events) triples."""
    counts = [len(events) for _, _, events in logs]
    rows = [event for _, _, events in logs for event in events]
    table = pd.DataFrame(rows, columns=list(Event._fields))
    table = table.astype({"day": "float64", "block": "int64", "event": "str", "cause": "str"})
    codes = np.repeat([labels.index(label) for label, _, _ in logs], counts).astype(int)
    table.insert(0, "replication", np.repeat([r for _, r, _ in logs], counts).astype("int64"))
    table.insert(0, "strategy", pd.Categorical.from_codes(codes, categories=labels))
    return table
