"""The site engine: a SimPy model of a mining site converting its blocks to AI halls.

The site's grid capacity is split into equal blocks. A block mines (curtailing on days
when spot power costs more than its breakeven), or is being converted (decommissioned,
then retrofitted, holding one of the site's crews), or is an AI hall: its MW join the
*ready* pool, from which tenants lease IT MW, or it runs the site's own GPU cloud.

SimPy processes wake only at events — decisions, conversion milestones, tenant arrivals,
lease expiries, fleet upgrades, GPU refreshes. Each event writes what changed into the
`Books` (MW and money rates from a day onward, or a lump on a day), and, with
`run.event_log=true`, one line into the event log. A run returns one `sim.record.Record`;
the money between events is summed afterwards with numpy over the world's daily paths
(sim.ledger).
"""

from __future__ import annotations

import copy
import math
from collections import deque
from numbers import Integral

import numpy as np
import simpy

from sim import cloud, distributions, economics
from sim.economics import DAYS_PER_YEAR
from sim.errors import UserError
from sim.construction import Crews, Project, project_count, projects, site_draws
from sim.fleet import AsicPrices, FleetDecay, book_alike
from sim.leases import LeaseTerms
from sim.record import Books, CloudContract, Conversion, Counts, Event, GpuLot, Lease, Record, freeze
from sim.strategies import USES, Convert, decide_every_months, decision_days
from sim.tenants import Request, TenantDesk
from sim.view import MarketView, Past, SiteView
from sim.world import World

MINING, CONVERTING, AI = 0, 1, 2


def strategy_named(strategy, replication: int) -> str:
    """Return how an error in a strategy's action names it: 'strategy Name (replication 4)'."""
    return f"strategy {type(strategy).__name__} (replication {replication})"


class Site(TenantDesk):
    """One site under one strategy, run over one sampled world (its tenant desk: sim.tenants)."""

    def __init__(self, cfg, world: World, strategy):
        site, fleet = cfg.site, cfg.fleet
        self.world = world
        self.strategy = strategy
        self.n_days = world.n_days
        self.env = simpy.Environment()
        self.books = Books(self.n_days)
        self.events: list[Event] | None = [] if cfg.run.event_log else None
        self.n_blocks = int(site.blocks)
        self.block_mw = float(site.grid_mw) / self.n_blocks
        self.pue_mining = float(site.pue_mining)
        self.pue_ai = float(site.pue_ai)
        self.block_mw_it = self.block_mw / self.pue_ai
        self.pool_fee = float(site.pool_fee)
        self.crews = int(site.crews)
        self.crew = Crews(self.env, self.crews)
        self.blocks_per_project = int(site.blocks_per_project)
        self.sign_converting = bool(site.sign_converting)
        self.hosting = site.hosting
        self.terms = LeaseTerms(site.hosting)
        self.cloud = site.cloud
        self.opex = site.opex
        self.fleet = fleet
        self.decay = FleetDecay(float(fleet.failure_rate_per_year) / DAYS_PER_YEAR, fleet.refresh == "replace")
        self.asic_prices = AsicPrices(fleet, world.hashprice_usd_per_ph_day, world.date[0])
        self.median_conversion_days = (distributions.median(site.conversion.decommission_days)
                                       + distributions.median(site.conversion.retrofit_days))
        self._draw_site_randomness(cfg)
        # Block state: what each block is doing, and its fleet if mining.
        self.state = np.full(self.n_blocks, MINING)
        self.n_mining = self.n_blocks
        self.j_per_th = np.full(self.n_blocks, float(fleet.j_per_th))
        self.fleet_since = np.zeros(self.n_blocks)  # day the block's fleet was last whole
        self.ready_mw = 0.0
        self.cloud_halls = 0  # blocks readied for the site's GPU cloud
        self.deciding = True  # until the strategy is asked no more (`decisions`)
        self.reserved_mw = 0.0
        self.queued: set[int] = set()  # blocks waiting for a crew (still mining)
        self.planned: list[int] = []  # blocks planned for pre-leasing, in plan order (still mining)
        self.waiting: deque[Project] = deque()  # projects waiting for a crew, in order
        self.building: list[Project] = []  # projects holding a crew, in the order they took it
        self.pending: deque = deque()  # signed tenants waiting for capacity (sim.tenants.Waiting)
        self.late_requests: set[int] = set()
        self.default_days: dict[int, float] = {}  # per tenant: the day it defaults (first part's clock)
        self.leases: list[Lease] = []
        self.gpu_lots: list[GpuLot] = []
        self.cloud_contracts: list[CloudContract] = []
        self.conversions: list[Conversion] = []
        self.counts = dict(tenant_requests=0, tenant_requests_rejected=0,
                           tenant_mw_it_rejected=0.0, tenant_requests_late=0,
                           tenant_requests_partial=0, contracted_rent_usd=0.0)
        self.free = np.ones(self.n_blocks, dtype=bool)  # mining, neither queued nor planned
        self.worst_j_per_th = float(fleet.j_per_th)  # the least efficient free fleet's J/TH
        # every block starts mining the same fleet, whole on day 0: one run of alike blocks
        book_alike(self.n_blocks, self._fleet_bookings(0, 0.0, 1.0))
        self.view = SiteView(self)  # all a strategy sees of the site (sim.view)
        self.past = Past(world)  # the market paths its views slice, filled up to now

    # --- randomness of the site itself, drawn the same way whatever the strategy ---------
    def _draw_site_randomness(self, cfg) -> None:
        draws = site_draws(cfg, self.world, self.n_blocks, self.terms)
        # Read one at a time, as Python floats: a numpy scalar in a timeout would make the
        # clock, and all the arithmetic on it, numpy scalars (the same values, slower).
        self.decommission_days = draws.decommission_days.tolist()
        self.retrofit_days = draws.retrofit_days.tolist()
        self.capex_usd_per_mw_it = draws.capex_usd_per_mw_it.tolist()
        self.default_after_days = draws.default_after_days.tolist()
        self.renewal_draws = draws.renewal_draws

    # --- read-only facts for strategies (through sim.view.SiteView) ----------------------
    @property
    def blocks_mining(self) -> int:
        """Return the blocks mining now and neither queued for conversion nor planned."""
        return self.n_mining - len(self.queued) - len(self.planned)

    @property
    def conversions_queued(self) -> int:
        """Return the blocks waiting for a crew to start converting them."""
        return len(self.queued)

    @property
    def projects_queued(self) -> int:
        """Return the conversion projects waiting for a crew."""
        return len(self.waiting)

    @property
    def blocks_planned(self) -> int:
        """Return the blocks planned for pre-leasing: still mining, converted once leased."""
        return len(self.planned)

    @property
    def blocks_converted(self) -> int:
        """Return the blocks that are AI halls or converting (decommissioned or retrofitting)."""
        return self.n_blocks - self.n_mining

    @property
    def tenants_waiting(self) -> int:
        """Return the signed tenants waiting for capacity (a phased one partly served counts)."""
        return len(self.pending)

    @property
    def tenants_waiting_mw_it(self) -> float:
        """Return the IT MW still owed to the signed tenants waiting for capacity."""
        return sum(waiting.mw_it for waiting in self.pending)

    def projects_for(self, blocks: int) -> int:
        """Return how many projects `blocks` blocks queued together make."""
        return project_count(blocks, self.blocks_per_project)

    @property
    def blocks_committed(self) -> int:
        """Return the blocks converted, converting, queued to convert or planned."""
        return self.n_blocks - self.blocks_mining

    @property
    def ready_mw_it(self) -> float:
        """Return the IT MW built and free to lease now."""
        return max(0.0, self.ready_mw - self.reserved_mw) / self.pue_ai

    def blocks_needed(self, mw_it: float) -> int:
        """Return how many more blocks a tenant of `mw_it` needs beyond the MW free for it:
        the ready MW not reserved and, with sign_converting, the MW of the halls converting
        or queued for lease that no tenant has reserved (blocks converted now are queued
        behind them, and expected ready no earlier)."""
        missing = mw_it * self.pue_ai - self._spare_mw()
        return max(0, math.ceil(missing / self.block_mw - 1e-9))

    def blocks_to_come(self, project: Project) -> int:
        """Return how many of `project`'s blocks are not ready yet (a project's blocks are
        built side by side and may come ready on different days)."""
        if project.start_day is None:  # no crew has taken it: none of its blocks has begun
            return len(project.blocks)
        state = self.state  # read as Python ints: numpy's scalars cost a microsecond a block
        return sum(state.item(block) != AI for block in project.blocks)

    def th_per_mw(self, j_per_th) -> float:
        """Return the TH/s that one MW of grid mines at efficiency `j_per_th`."""
        return economics.th_per_mw(j_per_th, self.pue_mining)

    def mining_usd_per_mw_day(self, hashprice_usd_per_ph_day, j_per_th=None):
        """Return mining revenue after pool fees per MW of grid per day, at a hashprice, of
        `j_per_th` or else the least efficient fleet of the blocks free to convert."""
        j = self.worst_j_per_th if j_per_th is None else j_per_th
        if not isinstance(hashprice_usd_per_ph_day, float):  # a path: elementwise, as an array
            hashprice_usd_per_ph_day = np.asarray(hashprice_usd_per_ph_day)
        return economics.mining_revenue_usd_per_mw_day(hashprice_usd_per_ph_day,
                                                       self.th_per_mw(j), self.pool_fee)

    # --- the story --------------------------------------------------------------------------
    def run(self) -> Record:
        """Run the site to the horizon; return the record of what happened."""
        env = self.env
        env.process(self.decisions())
        env.process(self.tenants())
        if self.fleet.upgrade_every_years:
            env.process(self.fleet_upgrades())
        env.run(until=self.n_days)
        return self.record()

    def record(self) -> Record:
        """Return what the site has recorded so far, its arrays read-only."""
        books = self.books
        return freeze(Record(
            n_days=self.n_days, block_mw=self.block_mw, pue_mining=self.pue_mining,
            pue_ai=self.pue_ai, pool_fee=self.pool_fee, decay=self.decay,
            rates=books.rates, lumps=books.lumps, tranches=books.tranches(),
            leases=tuple(self.leases), gpu_lots=tuple(self.gpu_lots), counts=Counts(**self.counts),
            events=None if self.events is None else tuple(self.events),
            cloud_contracts=tuple(self.cloud_contracts), conversions=tuple(self.conversions)))

    def _log(self, day: float, block: int, event: str, cause: str = "", request: Request | None = None):
        """Log one event if the event log is on; a tenant's event names its request as cause.
        (The engine's most frequent events test `self.events` first, sparing the call.)"""
        if self.events is not None:
            if request is not None:
                cause = f"request {request.index}"
            self.events.append(Event(float(day), int(block), event, cause))

    def decisions(self):
        """Ask the strategy what to do on day 0 and then every few months, until it is finished."""
        env, world, strategy, past = self.env, self.world, self.strategy, self.past
        finished = getattr(strategy, "finished", None)  # a plug-in need not say
        every = decide_every_months(strategy)
        for day in decision_days(world.date, every, world.month_starts()):
            if day > env.now:
                yield env.timeout(day - env.now)
            if self.events is not None:
                self._log(day, -1, "decision", "calendar")
            for action in self.actions(strategy.decide(day, MarketView(world, day, past), self.view)):
                self.apply(action)
            if self.events is None and finished is not None and finished(self.view):
                break  # no later decision could act: stop waking (a logged run lists them all)
        self.deciding = False

    def actions(self, returned) -> list | tuple:
        """Return what `decide` returned if it is a list (or tuple) of actions; else raise
        UserError (a forgotten `return` is None, not "no action")."""
        if not isinstance(returned, (list, tuple)):
            raise UserError(f"{self._who()}: decide returned {returned!r}; expected a list of "
                            "sim.strategies.Convert ([] for none)")
        return returned

    def answer(self, said, request: Request) -> bool:
        """Return what `on_request` said of `request` if it is True or False; else raise
        UserError (a string such as "no" would read as yes)."""
        if not isinstance(said, (bool, np.bool_)):
            raise UserError(f"{self._who()}: on_request returned {said!r} for request "
                            f"{request.index}; expected True (sign it and build for it) or False")
        return bool(said)

    def apply(self, action, request: Request | None = None) -> None:
        """Carry out one strategy action (for `request`, if it builds for a tenant)."""
        if not isinstance(action, Convert):
            raise UserError(f"{self._who()} returned {action!r}; expected sim.strategies.Convert")
        if action.use not in USES:
            raise UserError(f"{self._who()} asked for use={action.use!r}; allowed: {', '.join(USES)}")
        if isinstance(action.blocks, (bool, np.bool_)) or not isinstance(action.blocks, Integral):
            raise UserError(f"{self._who()} returned Convert.blocks={action.blocks!r}; must be a "
                            f"whole number from 0 to {self.blocks_mining} (the blocks mining and free "
                            "to convert)")
        if request is not None and action.blocks > self.blocks_mining:
            raise UserError(f"{self._who()}: on_request said yes to request {request.index}, which "
                            f"needs {action.blocks} blocks converted while only {self.blocks_mining} "
                            "are mining and free to convert; on_request may sign only when "
                            "site.blocks_needed(request.mw_it) <= site.blocks_mining")
        if not 0 <= action.blocks <= self.blocks_mining:
            raise UserError(f"{self._who()} asked to convert {action.blocks} blocks; "
                            f"0 to {self.blocks_mining} are mining and free to convert")
        if action.prelease and action.use != "lease":
            raise UserError(f"{self._who()} asked to pre-lease blocks for use={action.use!r}; "
                            "only use='lease' waits for a tenant")
        candidates = np.flatnonzero(self.free)
        # Convert the least efficient fleets first; among equals, the lowest block.
        order = candidates[np.argsort(-self.j_per_th[candidates], kind="stable")]
        chosen = order[:action.blocks].tolist()
        self.free[chosen] = False
        self._update_worst_fleet()
        if action.prelease:
            for block in chosen:
                self.planned.append(block)
                self._log(self.env.now, block, "planned", "decision")
        else:
            self._queue(chosen, action.use, request)

    def _who(self) -> str:
        """Return the strategy and replication an error in an action names."""
        return strategy_named(self.strategy, self.world.replication)

    def _queue(self, blocks: list[int], use: str, request: Request | None = None) -> None:
        """Queue `blocks` for conversion to `use`, in projects of up to blocks_per_project."""
        self.queued.update(blocks)
        for project in projects(blocks, self.blocks_per_project):
            if self.events is not None:
                for block in project:
                    self._log(self.env.now, block, "queued", "decision", request)
            project = Project(project, use, request)
            self.waiting.append(project)
            self.env.process(self.convert(project))

    def convert(self, project: Project):
        """Take a crew, convert the project's blocks together, free the crew when all are ready."""
        yield self.crew.take()
        self.waiting.remove(project)
        project.start_day = self.env.now
        self.building.append(project)
        self._decommission(project.blocks)
        if len(project.blocks) == 1:  # readied below, once the crew is free
            yield from self._build(project.blocks[0], request=project.request, built_for=project.use)
        else:
            yield self.env.all_of([self.env.process(self._build(block, project.use, project.request))
                                   for block in project.blocks])
        self.crew.give_back()
        self.building.remove(project)
        if len(project.blocks) == 1:
            self._ready(project.blocks[0], project.use)

    def _decommission(self, blocks: list[int]) -> None:
        """Start decommissioning a project's `blocks` now, its crew just taken: take each out of
        the mining MW, sell its ASICs and count it converting; blocks of one fleet (J/TH, day
        whole) are booked at once, each cell getting the additions one block at a time would."""
        books = self.books
        now = self.env.now
        if self.events is not None:
            for block in blocks:
                self._log(now, block, "decommission_start", "crew_acquired")
        self.queued.difference_update(blocks)
        for run in self._alike(np.array(blocks)) if len(blocks) > 1 else [blocks]:
            block = int(run[0])
            bookings = self._fleet_bookings(block, now, -1.0)
            bookings += books.lump_cells(books.lumps.asic_salvage_usd, now, self._fleet_value(block, now))
            book_alike(len(run), bookings)
        self.state[blocks] = CONVERTING
        self.n_mining -= len(blocks)
        for _ in blocks:
            books.rate(books.rates.mw_converting, now, self.block_mw)

    def _build(self, block: int, use: str | None = None, request: Request | None = None,
               built_for: str | None = None):
        """Wait out a block's decommissioning (begun by `_decommission`) and retrofit the hall
        (then ready it for `use`, if given).

        `request` is the tenant the block is built for (None: a speculative block);
        `built_for` the use the hall is built for where `use` is not given (its caller
        readies it): what its `Conversion` records, and so how its debt is financed.
        """
        books = self.books
        logging = self.events is not None
        yield self.env.timeout(self.decommission_days[block])
        start = self.env.now
        if logging:
            self._log(start, block, "retrofit_start", "decommissioned")
        retrofit = self.retrofit_days[block]
        capex = self.capex_usd_per_mw_it[block] * self.block_mw_it * self._site_capex_share(request)
        # Capex is paid evenly over the retrofit; what falls after the horizon is not
        # paid within it, and the unfinished hall is not valued either.
        conversion = Conversion(block, start, start + max(retrofit, 1.0), capex,
                                self.block_mw_it * 1000.0, use or built_for or "hosting")
        books.rate(books.rates.capex_conversion_usd_per_day, start, -conversion.usd_per_day,
                   conversion.end_day)
        self.conversions.append(conversion)
        yield self.env.timeout(retrofit)
        if use is not None:
            self._ready(block, use)

    def _ready(self, block: int, use: str) -> None:
        """Put a converted hall to its use: the ready pool (lease) or the site's GPU cloud."""
        books = self.books
        now = self.env.now
        if self.events is not None:
            self._log(now, block, "ready", use)
        self.state[block] = AI
        books.rate(books.rates.mw_converting, now, -self.block_mw)
        if use == "cloud":
            self.cloud_halls += 1
            books.rate(books.rates.mw_cloud, now, self.block_mw)
            self.env.process(self.gpu_cloud(block, self.block_mw_it))
        else:
            self._release(now, self.block_mw)

    # --- mining fleet ---------------------------------------------------------------------
    def _fleet(self, block: int) -> tuple[float, float]:
        """Return `block`'s fleet: its J/TH and the day it was last whole, as Python floats
        (numpy's scalars would slow the arithmetic that follows)."""
        return self.j_per_th.item(block), self.fleet_since.item(block)

    def _alike(self, blocks: np.ndarray) -> list[np.ndarray]:
        """Return `blocks` cut, in order, into runs of blocks with the same fleet (J/TH, day whole)."""
        if not len(blocks):
            return []
        # numpy finds the cuts (a site may have many blocks, most of them alike)
        j_per_th, since = self.j_per_th[blocks], self.fleet_since[blocks]
        changes = (j_per_th[1:] != j_per_th[:-1]) | (since[1:] != since[:-1])
        if not changes.any():  # the usual case: one fleet
            return [blocks]
        cuts = [0, *(np.flatnonzero(changes) + 1).tolist(), len(blocks)]
        return [blocks[start:stop] for start, stop in zip(cuts, cuts[1:])]

    def _fleet_bookings(self, block: int, day: float, sign: float) -> list[tuple[np.ndarray, int, float]]:
        """Return the cells `block`'s fleet adds to, and how much, as it mines from `day` on
        (sign 1) or stops mining then (sign -1)."""
        mw = sign * self.block_mw  # exact: sign is 1 or -1
        j_per_th, since = self._fleet(block)
        return self.books.mining_cells(j_per_th, day, mw, mw * self.decay.weight(since))

    def _fleet_value(self, block: int, day: float) -> float:
        """Return what a block's ASICs sell for on `day`: the TH/s its fleet still has (all of
        them, if failures are replaced) at the used price of their efficiency."""
        j_per_th, since = self._fleet(block)
        th = self.block_mw * self.th_per_mw(j_per_th) * self.decay.share_alive(day) * self.decay.weight(since)
        return th * self.asic_prices.used_usd_per_th(j_per_th, day)

    def fleet_upgrades(self):
        """Every few years, sell each mining block's fleet and buy the newest machines (a
        block queued for conversion keeps its fleet until its crew decommissions it).

        An upgrade happens only if the new machines would mine at the trailing 90-day mean
        spot price (their breakeven beats it); otherwise the old fleet keeps its place.
        """
        books, prices = self.books, self.asic_prices
        every_days = float(self.fleet.upgrade_every_years) * DAYS_PER_YEAR
        while self.env.now + every_days < self.n_days:
            if self.events is None and not self.n_mining:
                return  # no block mines, nor ever will again: no upgrade could act (a log lists its skips)
            yield self.env.timeout(every_days)
            now = self.env.now
            new_j = prices.frontier_j_per_th(now)
            today = int(now)
            window = self.world.power_usd_per_mwh[max(0, today - 89):today + 1]
            power = float(np.add.reduce(window)) / len(window)  # np.mean's sum and division
            revenue = self.mining_usd_per_mw_day(self.world.hashprice_usd_per_ph_day[today], new_j)
            if economics.below_breakeven(revenue, power):
                self._log(now, -1, "fleet_upgrade_skipped", "below_breakeven")
                continue
            # A block queued for conversion keeps its fleet: a crew is on its way to sell it.
            refit = self.state == MINING
            if self.queued:
                refit[list(self.queued)] = False
            mining = np.flatnonzero(refit)
            if self.events is not None:
                for block in mining:
                    self._log(now, block, "fleet_upgrade", "schedule")
            # Each block in turn: sell, unmine, refit, mine, pay; alike blocks booked at once.
            th = self.block_mw * self.th_per_mw(new_j)
            refresh_usd = -th * prices.new_usd_per_th(now)
            for run in self._alike(mining):
                block = int(run[0])
                bookings = books.lump_cells(books.lumps.asic_salvage_usd, now, self._fleet_value(block, now))
                bookings += self._fleet_bookings(block, now, -1.0)
                self.j_per_th[run] = new_j
                self.fleet_since[run] = now
                bookings += self._fleet_bookings(block, now, 1.0)
                bookings += books.lump_cells(books.lumps.capex_asic_refresh_usd, now, refresh_usd)
                book_alike(len(run), bookings)
            if self.free.any():  # each block free to convert was refit: the least efficient is new
                self.worst_j_per_th = new_j

    def _update_worst_fleet(self) -> None:
        """Set `worst_j_per_th` to the least efficient fleet of the blocks free to convert
        (mining, neither queued nor planned); with none left, it keeps its last value."""
        free = self.j_per_th[self.free]
        if free.size:
            self.worst_j_per_th = float(free.max())

    # --- GPU cloud ---------------------------------------------------------------------------
    def gpu_cloud(self, block: int, mw_it: float):
        """Buy GPUs for `block`'s `mw_it` of IT, sign its contract if any, replace them each life."""
        books = self.books
        gpus = mw_it * float(self.cloud.gpus_per_mw_it)
        books.rate(books.rates.gpus, self.env.now, gpus)
        contract_end = 0.0
        if self.cloud.contract.usd_per_gpu_hour is not None:
            contract = cloud.sign(self.cloud.contract, self.env.now, gpus, self.block_mw,
                                  float(self.cloud.utilisation))
            self.cloud_contracts.append(contract)
            contract_end = contract.end_day
        life = float(self.cloud.gpu_life_years) * DAYS_PER_YEAR
        event, cause = "gpu_purchase", "ready"
        while self.env.now < self.n_days:
            now = self.env.now
            self._log(now, block, event, cause)
            usd = gpus * self.gpu_usd(now, event == "gpu_purchase")
            books.lump(books.lumps.capex_gpu_usd, now, -usd)
            until = contract_end if contract_end > now else 0.0  # a lot bought under the contract
            self.gpu_lots.append(GpuLot(day=now, usd=usd, life_days=life, contracted_until=until))
            yield self.env.timeout(life)
            event, cause = "gpu_refresh", "end_of_life"

    def gpu_usd(self, day: float, first_lot: bool = False) -> float:
        """Return the price of one GPU, all in, which follows the rental price (a hall's
        first lot under `first_lot_price: fixed`: the price agreed on day 0, as it stands)."""
        if first_lot and self.cloud.first_lot_price == "fixed":
            return float(self.cloud.usd_per_gpu)
        price = self.world.gpu_usd_per_hour
        return float(self.cloud.usd_per_gpu) * float(price[min(int(day), self.n_days - 1)] / price[0])


def simulate(cfg, world: World, strategy) -> Record:
    """Return the record of running `strategy` (a fresh copy) over `world`."""
    site = Site(cfg, world, copy.deepcopy(strategy))
    record = site.run()
    # SimPy's pending events and processes refer back to the site, so the site is cyclic
    # garbage, freed only by a full collection: rare in a process that holds pandas and
    # Hydra, so the books and copied paths of hundreds of runs piled up (about 0.5 MB a run;
    # +70 MB over real_option's training). Dropping its attributes frees them now.
    vars(site.books).clear()
    vars(site).clear()
    return record
