"""The site's tenant desk: sign each request against capacity it can have in time, serve it as halls come ready.

A request is signed at once if the ready IT MW not reserved for earlier tenants covers
it. Otherwise it may be signed against capacity that will be there within its
`wait_days`:

- halls converting (or queued) for lease and not reserved by another tenant, expected
  ready within the wait (only with `site.sign_converting`);
- blocks *planned* by a pre-leasing strategy (still mining): the ones needed are queued
  for conversion now, in projects, and delivered within the wait by the median
  conversion time;
- failing that, blocks the strategy builds for it (`on_request`, e.g. build_to_suit).

A tenant with `min_share` < 1 that cannot have all it asks for may sign for a share of
at least `min_share`; the rest is counted as rejected MW. Signed tenants wait in a
first-come queue; a *phased* tenant takes each part as it is energised, each part with
its own lease; the others take all their MW at once. A part delivered after the
tenant's deadline pays the late penalty on its MW, off its rent when that commences (its
backstop's share of it, if its tenant defaults first). Requests of one `tenant` (an
anchor's phases) are one tenant's: one credit, one default for all of them.

Each lease then runs its contract (`lease`): the terms of sim.leases, its extensions,
and, if its tenant defaults, the backstop. A backstop guarantees the tenant's
obligations, phases to come included: the parts its tenant still waits for, or that are
held for it, stay signed for the backstop's share, and are leased to it when its tenant's
would have been, never from the halls its tenant held (`_fenced_mw`).
"""

from __future__ import annotations

import dataclasses
import math
import weakref
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from sim.construction import expected_finish_days, projects
from sim.economics import DAYS_PER_MONTH
from sim.strategies import Convert, Strategy
from sim.view import MarketView

EPS_MW = 1e-9


@dataclass(frozen=True)
class Request:
    """A tenant's request for IT capacity (a part of one, once signed in part or delivered in parts)."""

    index: int
    day: int
    mw_it: float
    term_days: float
    usd_per_kw_month: float
    wait_days: float
    min_share: float = 1.0  # least share of mw_it the tenant signs for
    phased: bool = False    # takes delivery in parts, each leased on energisation
    commence_days: float = 0.0  # rent starts no earlier than this many days after `day`
    tenant: int | None = None  # index of its tenant's first request (None: this one's)
    backstop: bool = False  # its defaulted tenant's backstop's part (tenant: -1 - the tenant's)

    def __post_init__(self):
        if self.tenant is None:  # a tenant of one request
            object.__setattr__(self, "tenant", self.index)


@dataclass
class Waiting:
    """A signed tenant in the queue: its request and the IT MW still to deliver."""

    request: Request
    mw_it: float
    funded: bool = False  # signed before its blocks were built: a powered-shell tenant funds them


@dataclass(frozen=True)
class Held:
    """A part delivered and held for its tenant until its rent commences: how to lease it then."""

    request: Request
    built_for: bool
    penalty_usd: float  # its late-delivery credit, off its first rent


#: The `Request`s of each world, made on first use: every strategy run over a world meets
#: the same ones (frozen), so they are made once per world (and forgotten with it).
_REQUESTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def requests_of(world) -> tuple[Request, ...]:
    """Return `world`'s tenant requests as `Request`s, in day order; each names its tenant by
    the index of that tenant's first request (an anchor's phases are one tenant's)."""
    requests = _REQUESTS.get(world)
    if requests is None:
        first_requests: dict[float, int] = {}  # tenant -> the index of its first request
        # the rows are Python numbers already (day an int): only `phased` is read as a bool
        requests = _REQUESTS[world] = tuple(
            Request(index, day, *numbers, bool(phased), commence_days,
                    first_requests.setdefault(tenant, index))
            for index, (day, *numbers, phased, commence_days, tenant) in enumerate(
                world.tenant_request_rows()))
    return requests


def backstop_of(tenant: int) -> int:
    """Return the tenant id of `tenant`'s backstop, which no tenant has: -1 - its tenant's."""
    return -1 - tenant


class TenantDesk:
    """Mix-in of `sim.site.Site`: receives tenant requests, signs them, serves them in order."""

    def tenants(self):
        """Receive each tenant request on its day: lease now, sign it for later, or lose it."""
        env, counts, logging = self.env, self.counts, self.events is not None
        for request in requests_of(self.world):
            if not logging and self._rejected_whatever_comes(request):  # no need to wake on its day
                counts["tenant_requests"] += 1
                self._count_rejected(request)
                continue
            day = request.day
            if day > env.now:
                yield env.timeout(day - env.now)
            if logging:
                self._log(day, -1, "tenant_request", request=request)
            counts["tenant_requests"] += 1
            now = env.now
            if self._defaulted(request.tenant, now):
                signed = False  # a tenant that has defaulted signs nothing more
            elif self.ready_mw - self.reserved_mw >= request.mw_it * self.pue_ai - EPS_MW:
                self._start_lease(request, now)
                signed = True
            else:
                signed = self._sign(request)
            if not signed:
                if logging:
                    self._log(day, -1, "tenant_rejected", request=request)
                self._count_rejected(request)

    def _count_rejected(self, request: Request) -> None:
        """Count `request` lost, and its IT MW."""
        self.counts["tenant_requests_rejected"] += 1
        self.counts["tenant_mw_it_rejected"] += request.mw_it

    def _rejected_whatever_comes(self, request: Request) -> bool:
        """Return whether `request` is sure to be rejected on its day, seen from now: the site
        has nothing more to offer it than the ready MW (no hall converting or queued, no block
        planned, no strategy that builds for tenants), which do not serve it, whole or in part
        (as `_sign` finds), and nothing can change that before it comes: no event is due by its
        day (`env.peek`), or none ever could (the strategy decides no more, and every hall, if
        any, runs the GPU cloud).

        Nothing of the site changes on such a request but its counts, so the desk counts it
        now, not on its day (an event log lists it on its day: there, the desk wakes for it).
        """
        if (self.building or self.waiting or self.queued or self.planned or self.pending
                or self._asks_on_request):
            return False  # it might be signed: the desk decides on its day
        free_mw = self.ready_mw - self.reserved_mw
        if free_mw >= request.mw_it * self.pue_ai - EPS_MW:  # leased at once
            return False
        have_mw = max(0.0, free_mw)  # what _capacity_within finds with nothing to come
        if self._blocks_beyond(request, have_mw) == 0 or (
                request.min_share < 1 and self._part_mw_it(request, have_mw, 0) is not None):
            return False  # signed against the ready MW
        return (self.env.peek() > request.day
                or not self.deciding and self.n_blocks - self.n_mining == self.cloud_halls)

    @cached_property
    def _asks_on_request(self) -> bool:
        """Return whether the strategy may build for a tenant: one without on_request, or
        that keeps Strategy's (always False), is not asked (decided once a run: the strategy
        is fixed)."""
        asks = getattr(self.strategy, "on_request", None)  # a plug-in need not build for tenants
        return asks is not None and getattr(asks, "__func__", None) is not Strategy.on_request

    def _sign(self, request: Request) -> bool:
        """Sign `request`, whole or in part, against capacity it can have in time; False if none."""
        have_mw, planned_blocks = self._capacity_within(request.day + request.wait_days)
        blocks = self._blocks_beyond(request, have_mw)
        if blocks <= planned_blocks:
            self._sign_against(request, blocks)
            return True
        if self._asks_on_request:
            view = MarketView(self.world, request.day, self.past)
            if self.answer(self.strategy.on_request(request, view, self.view), request):
                self._build_for(request)
                return True
        if request.min_share >= 1:
            return False
        least_mw_it = request.min_share * request.mw_it - EPS_MW
        part_mw_it = self._part_mw_it(request, have_mw, planned_blocks)
        if part_mw_it is not None:
            self._sign_against(self._part(request, part_mw_it), planned_blocks)
            return True
        if not self._asks_on_request:
            return False
        free_mw = self._spare_mw()  # what blocks_needed counts the blocks beyond
        for blocks in range(self.blocks_needed(request.mw_it) - 1, 0, -1):
            part_mw_it = min(request.mw_it, (free_mw + blocks * self.block_mw) / self.pue_ai)
            if part_mw_it < least_mw_it:
                break
            part = dataclasses.replace(request, mw_it=part_mw_it)
            if self.answer(self.strategy.on_request(part, view, self.view), part):
                self._build_for(self._part(request, part_mw_it))
                return True
        return False

    def _blocks_beyond(self, request: Request, have_mw: float) -> int:
        """Return how many blocks `request` needs beyond `have_mw` of grid free for it."""
        return max(0, math.ceil((request.mw_it * self.pue_ai - have_mw) / self.block_mw - 1e-9))

    def _part_mw_it(self, request: Request, have_mw: float, planned_blocks: int) -> float | None:
        """Return the IT MW of the part of `request` that `have_mw` of grid and `planned_blocks`
        planned blocks can serve, if the tenant signs for that share (`min_share`); else None."""
        part_mw_it = min(request.mw_it, (have_mw + planned_blocks * self.block_mw) / self.pue_ai)
        if part_mw_it > EPS_MW and part_mw_it >= request.min_share * request.mw_it - EPS_MW:
            return part_mw_it
        return None

    def _capacity_within(self, deadline: float) -> tuple[float, int]:
        """Return (grid MW free for a new tenant by `deadline` without planned blocks, how
        many of the planned blocks, queued now in plan order, would be ready by `deadline`)."""
        busy, waiting, planned = self.building, self.waiting, self.planned
        if not (busy or waiting or planned):  # nothing being built or to build
            return max(0.0, self.ready_mw - self.reserved_mw), 0
        now, median = self.env.now, self.median_conversion_days
        busy_days = [p.start_day + median for p in busy]
        finish = expected_finish_days(now, busy_days, len(waiting) + self.projects_for(len(planned)),
                                      self.crews, median, deadline)
        free_mw = self._spare_mw([p for day, p in zip(busy_days, busy) if day <= deadline]
                                 + [p for day, p in zip(finish, waiting) if day <= deadline])
        if not planned:
            return free_mw, 0
        return free_mw, sum(len(project) for day, project in
                            zip(finish[len(waiting):], projects(planned, self.blocks_per_project))
                            if day <= deadline)

    def _spare_mw(self, converting=None) -> float:
        """Return the grid MW free for a new tenant: the ready MW and, with `sign_converting`,
        the blocks still to come of the `converting` projects for lease (None: all those
        converting or queued), less the MW reserved for the tenants signed before it (they
        are served first); at least 0.

        The blocks a tenant needs are counted beyond these (`blocks_needed`): the MW of
        blocks converting for an earlier tenant (or phase) that it does not need go to the
        next one.
        """
        free_mw = self.ready_mw - self.reserved_mw
        if self.sign_converting:
            if converting is None:
                converting = [*self.building, *self.waiting]
            # the blocks still to come: those of a project that came ready early are in
            # ready_mw already
            free_mw += sum(self.blocks_to_come(p) * self.block_mw for p in converting
                           if p.use == "lease")
        return max(0.0, free_mw)

    def _part(self, request: Request, mw_it: float) -> Request:
        """Return the part of `request` signed for `mw_it` of its IT MW; count the rest lost."""
        self._log(self.env.now, -1, "tenant_signed_partial", request=request)
        self.counts["tenant_requests_partial"] += 1
        self.counts["tenant_mw_it_rejected"] += request.mw_it - mw_it
        return dataclasses.replace(request, mw_it=mw_it)

    def _sign_against(self, request: Request, planned_blocks: int) -> None:
        """Sign `request` against capacity there in time; queue the first `planned_blocks` planned."""
        if planned_blocks:
            self._log(self.env.now, -1, "tenant_signed_planned", request=request)
        elif request.mw_it * self.pue_ai > self.ready_mw - self.reserved_mw + EPS_MW:
            self._log(self.env.now, -1, "tenant_signed_converting", request=request)
        self.pending.append(Waiting(request, request.mw_it, funded=planned_blocks > 0))
        self.reserved_mw += request.mw_it * self.pue_ai
        blocks, self.planned = self.planned[:planned_blocks], self.planned[planned_blocks:]
        self._queue(blocks, "lease", request)
        self._serve(self.env.now)

    def _build_for(self, request: Request) -> None:
        """Sign `request` and queue the blocks it needs beyond the MW free for it
        (`blocks_needed`); a phased tenant first in line takes the MW ready now, as one
        signed against halls converting does (`_sign_against`)."""
        self._log(request.day, -1, "tenant_signed_build", request=request)
        blocks = self.blocks_needed(request.mw_it)
        self.pending.append(Waiting(request, request.mw_it, funded=True))
        self.reserved_mw += request.mw_it * self.pue_ai
        self.apply(Convert(blocks, "lease"), request)
        self._serve(self.env.now)

    def _release(self, day: float, mw: float) -> None:
        """Return `mw` of grid to the ready pool and serve waiting tenants in order."""
        books = self.books
        self.ready_mw += mw
        books.rate(books.rates.mw_ready, day, mw)
        books.rate(books.rates.kw_it_ready, day, mw / self.pue_ai * 1000)
        self._serve(day)

    def _serve(self, day: float) -> None:
        """Deliver to waiting tenants in order while the ready MW covers the first (a part, if phased).

        A backstop's part (share b of its tenant's) is delivered as its tenant's part would
        have been, from the ready MW less those its tenant would hold (`_fenced_mw`): b of
        each delivery that part would have taken, the rest of it fenced in turn.
        """
        while self.pending:
            waiting = self.pending[0]
            request = waiting.request
            # a tenant whose default falls on this very day, met before its _default_on: it
            # takes none of its parts
            if self._defaulted(request.tenant, day):
                self._forgo(request.tenant, day)
                continue
            share, free_mw = 1.0, self.ready_mw  # a tenant's own part takes all it is delivered
            if request.backstop:
                share = float(self.hosting.backstop_share)
                free_mw -= self._fenced_mw[request.tenant]
            want_mw = waiting.mw_it * self.pue_ai / share  # what its tenant's part would take
            if free_mw >= want_mw - EPS_MW:
                mw_it = waiting.mw_it
                self.pending.popleft()
            elif request.phased and free_mw > EPS_MW:
                mw_it = share * free_mw / self.pue_ai
                waiting.mw_it -= mw_it
            else:
                break
            if request.backstop:  # the rest of the delivery its tenant would have leased
                self._fenced_mw[request.tenant] += (1.0 - share) / share * mw_it * self.pue_ai
            part = request if mw_it == request.mw_it else dataclasses.replace(request, mw_it=mw_it)
            self.reserved_mw -= part.mw_it * self.pue_ai
            late_days = max(0.0, day - (request.day + request.wait_days))
            if late_days > 0 and request.index not in self.late_requests:
                self.late_requests.add(request.index)
                self.counts["tenant_requests_late"] += 1
            penalty_usd = (float(self.hosting.late_penalty_usd_per_kw_month) * part.mw_it
                           * 1000 * late_days / DAYS_PER_MONTH) if late_days > 0 else 0.0
            self._start_lease(part, day, built_for=waiting.funded, penalty_usd=penalty_usd)

    # --- leases: each signed part runs its contract ----------------------------------------------
    def _start_lease(self, request: Request, day: float, built_for: bool = False,
                     penalty_usd: float = 0.0) -> None:
        """Lease `request`'s MW from the ready pool on `day` (`built_for`: blocks were built for
        it; `penalty_usd`: its late-delivery rent credit); before its rent commences
        (`commence_days`), take them from the pool now and lease them then: the halls stay
        ready, unleased, held for it, and the credit waits for the rent it comes off."""
        self.ready_mw -= request.mw_it * self.pue_ai
        if self._fenced_mw:  # halls let go at a default are the first leased again
            for backstop, fenced_mw in self._fenced_mw.items():
                self._fenced_mw[backstop] = min(fenced_mw, max(self.ready_mw, 0.0))
        commences = request.day + request.commence_days
        if commences > day:
            self._log(day, -1, "held_for_tenant", request=request)
            process = self.env.process(self._lease_on(commences, request.tenant))
            self._held[process] = Held(request, built_for, penalty_usd)
        else:
            self._lease_from_pool(request, day, built_for, penalty_usd)

    @cached_property
    def _held(self) -> dict:
        """Return the parts held for their tenants until their rent commences, by the process
        that leases each then (empty at first; a tenant's default takes its parts out)."""
        return {}

    @cached_property
    def _fenced_mw(self) -> defaultdict:
        """Return, per backstop (the tenant id of its parts, -1 - its tenant's), the ready MW
        its waiting parts may not take: those its tenant would hold had it not defaulted.

        Its tenant's default lets go `1 - b` of the halls it held (leased, or held for its
        rent to commence), the backstop's part takes `b` of each delivery its tenant's part
        would have had, leaving the rest ready, and the backstop lets go of its own `b` at
        its terms' end, where its tenant might have renewed. Another lease takes these
        halls first: a fence never exceeds the ready MW left after a lease
        (`_start_lease`), or a part whose tenant's halls were let again would wait for
        deliveries that never cover it, and hold up the queue behind it. A part is never
        served from its tenant's halls, so never earlier than its tenant's would have
        been, at worst later.
        """
        return defaultdict(float)

    def _lease_on(self, day: float, tenant: int):
        """Wait until `day`, then lease the part this process holds for `tenant` from the
        ready halls: whatever `_held` holds for it then (its tenant's default, `_forgo`, lets
        it go, or leaves its backstop's share of it, with that share of the late-delivery
        credit)."""
        yield self.env.timeout(day - self.env.now)
        if self._defaulted(tenant, day):  # on this very day, met before its _default_on
            self._forgo(tenant, day)
            self._serve(day)
        held = self._held.pop(self.env.active_process, None)
        if held is not None:
            self._lease_from_pool(held.request, day, held.built_for, held.penalty_usd)

    def _lease_from_pool(self, request: Request, day: float, built_for: bool,
                         penalty_usd: float = 0.0) -> None:
        """Book `request`'s MW from ready to leased on `day`, its late-delivery credit
        `penalty_usd` off its rent that day, and run its lease."""
        books = self.books
        if penalty_usd:
            books.lump(books.lumps.hosting_rent_usd, day, -penalty_usd)
        mw = request.mw_it * self.pue_ai
        books.rate(books.rates.mw_ready, day, -mw)
        books.rate(books.rates.kw_it_ready, day, -request.mw_it * 1000)
        self._log(day, -1, "leased", request=request)
        self.env.process(self.lease(request, day, built_for))

    # --- lease contracts -------------------------------------------------------------------------
    def _site_capex_share(self, request: Request | None) -> float:
        """Return the share of a block's conversion capex the site pays: all of a speculative one."""
        return self.terms.site_capex_share(tenant_funded=request is not None)

    def lease(self, request: Request, day: float, built_for: bool = False):
        """Collect rent over the term and its extensions; free the MW at the end or on default.

        Each term is a `Lease` of `self.terms` (sim.leases): the first from `day` for
        `request.term_days`; then, while the tenant takes its options, an extension. A
        tenant that defaults (once, on its first part's clock: every part it holds ends that
        day, and it takes none of the parts it still waits for) stops paying and leaves; its
        backstop pays its share of the rent on, and keeps that share of the halls until the
        term's end (a guarantor that steps in holds what it pays for); the rest return to
        the ready pool at once. The backstop also takes its share of the parts the tenant
        signed and has not let (`_forgo`). A tenant of several requests (one `tenant`: an
        anchor's phases) is one tenant: its clock starts with the first lease of any of them, and
        each of its leases takes its options on the draws of its first request. A part its
        backstop took before it was let (`Request.backstop`, see `_forgo`) runs its first
        term alone: it never defaults and takes no option.
        """
        mw = request.mw_it * self.pue_ai
        kw_it = request.mw_it * 1000
        books = self.books  # not its rates: a suspended lease must not hold the record's arrays
        books.rate(books.rates.mw_leased, day, mw)
        books.rate(books.rates.kw_it_leased, day, kw_it)
        share = self.terms.rent_share(tenant_funded=built_for)
        # a tenant defaults once, counted from its first lease's start: every part it holds
        # ends that day (its later parts and requests run on its first part's clock), at the
        # draw of its first request; on that day it also takes none of the parts it still
        # waits for, whether or not it holds a lease then (its backstop takes its share)
        default_day = math.inf if request.backstop else self.default_days.get(request.tenant)
        if default_day is None:
            default_day = day + self.default_after_days[request.tenant]
            self.default_days[request.tenant] = default_day
            if default_day < self.n_days:
                self.env.process(self._default_on(request.tenant, default_day))
        lease = self.terms.first_term(self.env.now, request.term_days, kw_it,
                                      request.usd_per_kw_month * share)
        self.counts["contracted_rent_usd"] += lease.term_value_usd()
        taken, backstop = 0, None
        while True:
            books.rent(lease)
            position = len(self.leases)
            self.leases.append(lease)
            if default_day < lease.end_day:
                yield self.env.timeout(max(0.0, default_day - self.env.now))
                backstop = self._default(request, position, max(default_day, lease.start_day))
                break
            yield self.env.timeout(lease.end_day - self.env.now)
            # a tenant whose default falls on the day its term ends takes no option: the term
            # ends whole, with no rent left for a backstop to pay
            if (default_day == lease.end_day or request.backstop
                    or not self.terms.extends(taken, self.renewal_draws[request.tenant])):
                self._log(self.env.now, -1, "lease_ended", request=request)
                break
            taken += 1
            price = float(self.world.lease_usd_per_kw_month[min(int(self.env.now), self.n_days - 1)])
            lease = self.terms.extension(lease, self.env.now, request.term_days, price * share)
            self._log(self.env.now, -1, "lease_renewed", request=request)
        if backstop is not None:  # its share of the halls stays let until the term's end
            held_mw = mw * float(self.hosting.backstop_share)
            self._fenced_mw[backstop_of(request.tenant)] += mw - held_mw  # its tenant's, but for the default
            self._vacate(self.env.now, mw - held_mw, kw_it - backstop.kw_it)
            yield self.env.timeout(max(0.0, backstop.end_day - self.env.now))
            mw, kw_it = held_mw, backstop.kw_it
        if backstop is not None or request.backstop:  # halls its tenant might have renewed
            self._fenced_mw[request.tenant if request.backstop else backstop_of(request.tenant)] += mw
        self._vacate(self.env.now, mw, kw_it)

    def _vacate(self, day: float, mw: float, kw_it: float) -> None:
        """Take `mw` of grid (`kw_it` of IT) out of the leased MW on `day` and return it to
        the ready pool."""
        books = self.books
        books.rate(books.rates.mw_leased, day, -mw)
        books.rate(books.rates.kw_it_leased, day, -kw_it)
        self._release(day, mw)

    def _default(self, request: Request, position: int, day: float):
        """End the lease at `position` in the record on its tenant's default `day` (now, to the
        clock's rounding: every part of a tenant ends on the same day), and the parts its
        tenant still waits for; book the backstop and return it (None without one)."""
        self._log(day, -1, "lease_default", request=request)
        self._forgo(request.tenant, day)
        cut, rest, backstop = self.terms.on_default(self.leases[position], day)
        self.books.rent(rest, sign=-1.0)
        self.leases[position] = cut
        if backstop is not None:
            self.books.rent(backstop)
            self.leases.append(backstop)
            self._log(day, -1, "backstop", request=request)
        return backstop

    def _defaulted(self, tenant: int, day: float) -> bool:
        """Return whether `tenant` has defaulted by `day` (its clock starts with its first lease)."""
        return self.default_days.get(tenant, math.inf) <= day

    def _default_on(self, tenant: int, day: float):
        """Wait until `tenant`'s default `day`, then end the parts it has not leased and serve
        the queue: its leases end themselves (`lease`), but it may hold none that day (its
        first lease ended before it while a later part still waited, or was held for it)."""
        yield self.env.timeout(day - self.env.now)
        self._forgo(tenant, day)
        self._serve(day)

    def _forgo(self, tenant: int, day: float) -> None:
        """End, on `tenant`'s default `day`, every part it has not leased: those it waits for
        and those held for it until their rent commences (their halls go back to the pool).

        A backstop (`backstop_share` b > 0) guarantees them too: b of each stays signed, in
        its place in the queue or held, as a part of the backstop's (`_backstop_part`), and
        only the other 1 − b of the MW are released; those of the held halls are fenced from
        the backstop's waiting parts (`_fenced_mw`).
        """
        share = float(self.hosting.backstop_share)
        for waiting in [w for w in self.pending if w.request.tenant == tenant]:
            self._log(day, -1, "lease_default", request=waiting.request)
            self.reserved_mw -= (1.0 - share) * waiting.mw_it * self.pue_ai
            if share == 0:
                self.pending.remove(waiting)
                continue
            waiting.mw_it *= share
            waiting.request = self._backstop_part(waiting.request, waiting.mw_it, day)
        for process, held in [(p, h) for p, h in self._held.items() if h.request.tenant == tenant]:
            part = held.request
            self._log(day, -1, "lease_default", request=part)
            # the books counted the held halls ready all along
            self.ready_mw += (1.0 - share) * part.mw_it * self.pue_ai
            if share == 0:
                del self._held[process]
                continue
            self._fenced_mw[backstop_of(tenant)] += (1.0 - share) * part.mw_it * self.pue_ai
            self._held[process] = Held(self._backstop_part(part, share * part.mw_it, day),
                                       held.built_for, share * held.penalty_usd)

    def _backstop_part(self, request: Request, mw_it: float, day: float) -> Request:
        """Return the part of `request` its defaulted tenant's backstop takes, `mw_it` of IT:
        at the same rent per kW, over the same term, under a tenant id no tenant has (-1 -
        the tenant's), so that its tenant's default does not end it."""
        self._log(day, -1, "backstop", request=request)
        return dataclasses.replace(request, mw_it=mw_it, backstop=True, tenant=backstop_of(request.tenant))
