"""The economic network's epoch loop, stepped for several worlds at once.

`sample_epochs` runs `EconomicNetwork`'s rules (see its docstring) for a batch of worlds,
one row each: every epoch, numpy advances all the rows together, so the cost of Python
per epoch is shared by the batch (a chunk of a run samples its worlds' networks in one
call). A world's numbers depend on its own inputs alone, never on the other rows: the
sums over its vintages are sequential (`sums_by`), its elementwise operations are its
own, and each row keeps its own random stream, drawn in the order one world alone draws it. A
world sampled alone (`EconomicNetwork.sample`) is a batch of one: the same numbers.

The epochs are sampled as `sim.processes.network` explains: an epoch's 2015 intervals
need Gamma(2015)·D·2^32 hashes, one more interval at the new difficulty reaches the next
epoch's first block, and inverting the cumulative work W(t) = ∫ H dt turns work into
time. Rows leave the batch as their last epoch passes the grid's end.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from sim.economics import (BLOCKS_PER_EPOCH, DAYS_PER_YEAR, SECONDS_PER_DAY, TARGET_SPACING_S,
                           TWO_POW_32, frontier_j_per_th, hashprice_usd_per_ph_day,
                           retarget)
from sim.errors import UserError
from sim.processes.network import WORK_PER_DIFFICULTY, epoch_subsidy_btc, partial_epoch_draws

#: Days of the hashrate path computed at a time beyond what a row has (doubled while short).
_FILL_DAYS = 32
#: An epoch that would last longer than this is refused (the hashrate all but vanished).
_MAX_EPOCH_DAYS = 50 * 365
_SQRT_2PI = math.sqrt(2 * math.pi)
#: The epoch loop's numpy settings: a sum of 0 or an overflow is handled where it arises.
QUIET = dict(divide="ignore", invalid="ignore", over="ignore")


def frontier_on_day(level_j_per_th: float, gain_per_year: float, frontier_day0, day):
    """Return the frontier's J/TH on day `day` (a number or an array, like `frontier_day0`)
    of a run whose day 0 is `frontier_day0` days after the frontier's date (the day rounded
    to whole days, as a date)."""
    return frontier_j_per_th(level_j_per_th, gain_per_year,
                             (frontier_day0 + np.rint(day)) / DAYS_PER_YEAR)


def sums_by(index: np.ndarray, values: np.ndarray, count: int) -> np.ndarray:
    """Return the sum of the `values` of each of `count` groups (`index`: each value's group,
    from 0), added in the order the values come.

    Each sum is sequential (bincount adds value after value, from 0), so a group's sum does
    not depend on the other groups' values interleaved with its own, nor on how many there
    are: a world's vintages come in order and its sums are the same in any batch.
    """
    return np.bincount(index, values, minlength=count)


def renumbered(index: np.ndarray, rows: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (kept, index') for entries grouped by `index` (groups 0 .. count - 1) when only
    the groups `rows` stay, numbered by their place in `rows`: the positions of the entries
    that stay, and the new group of each."""
    number = np.full(count, -1)
    number[rows] = np.arange(len(rows))
    new = number.take(index)
    kept = (new >= 0).nonzero()[0]
    return kept, new.take(kept)


class Rows:
    """Arrays of the batch's active worlds that leave it together, a world per row (the
    first axis): the attributes named in `per_row`."""

    per_row: tuple[str, ...] = ()

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the worlds `rows` (indices into the active ones), in that order."""
        for name in self.per_row:
            setattr(self, name, getattr(self, name)[rows])


class Paths(Rows):
    """Each row's daily log hashrate and cumulative work, extended as epochs need them.

    ``log_ehs[r, d]`` is day d's log hashrate (EH/s, constant over the day) and
    ``work[r, d]`` the work done before day d (EH/s·days) of the batch's world r; the
    per-row arrays are the active worlds': active world i's days are valid up to
    ``filled[i]``, those after ``origin[i]`` follow ``drift[i]`` (log hashrate per day) plus
    its noise, those before it are final. Beyond the grid the noise stays where it ended
    (``noise`` holds its last day's value there). The three arrays have the same width,
    so a day's flat index, ``row[i] + d``, reads any of them; a world that leaves keeps its
    row there, unread (the others' are not copied).
    """

    per_row = ("origin", "drift", "filled", "row")

    def __init__(self, log_start: np.ndarray, noise_cum: np.ndarray):
        rows, n_days = noise_cum.shape
        self.n_days = n_days
        self.log_ehs = np.zeros((rows, n_days + _FILL_DAYS + 1))
        self.work = np.zeros_like(self.log_ehs)
        self.noise = _with_last(noise_cum, self.log_ehs.shape[1])
        self.log_ehs[:, 0] = log_start
        self.origin = np.zeros(rows, dtype=np.int64)
        self.filled = np.zeros(rows, dtype=np.int64)
        self.drift = np.zeros(rows)
        self.row = np.arange(rows) * self.log_ehs.shape[1]

    def set_drift(self, origin: np.ndarray, drift: np.ndarray) -> None:
        """Make each row's days from `origin` on follow `drift`; they are computed anew."""
        self.origin, self.drift, self.filled = origin, drift, origin.copy()

    def log_ehs_on(self, day: np.ndarray) -> np.ndarray:
        """Return each row's log hashrate on `day` (a day it has filled)."""
        return self.log_ehs.take(self.row + day)

    def _widen(self, need: int) -> None:
        """Make room for `need` days in every row (at least twice the room there was)."""
        rows, width = self.log_ehs.shape
        extra = max(need, 2 * width) - width
        self.log_ehs, self.work = (np.hstack((a, np.zeros((rows, extra))))
                                   for a in (self.log_ehs, self.work))
        self.noise = _with_last(self.noise, width + extra)
        self.row = self.row // width * (width + extra)

    def _extend(self, rows: np.ndarray, days: int) -> None:
        """Compute `days` more days of `rows` (indices) past what each has."""
        start = self.filled[rows]
        need = int(start.max()) + days + 1
        if need > self.log_ehs.shape[1]:
            self._widen(need)
        row = self.row[rows]
        origin = row + self.origin[rows]  # flat indices, as below
        filled = row + start
        new_days = filled[:, None] + np.arange(1, days + 1)  # filled+1 .. filled+days
        log_ehs = (self.log_ehs.take(origin)[:, None]
                   + self.drift[rows][:, None] * (new_days - origin[:, None])
                   + self.noise.take(new_days) - self.noise.take(origin)[:, None])
        _put(self.log_ehs, new_days, log_ehs)
        before = self.log_ehs.take(new_days - 1)  # the days filled .. filled+days-1
        _put(self.work, new_days,
             self.work.take(filled)[:, None] + np.add.accumulate(np.exp(before), axis=1))
        self.filled[rows] = start + days

    def time_at(self, work: np.ndarray) -> np.ndarray:
        """Return the time in days at which each row's cumulative work reaches `work`."""
        days = _FILL_DAYS
        while True:
            filled = self.row + self.filled  # flat indices, as below
            short = (self.work.take(filled) <= work).nonzero()[0]
            if not len(short):
                break
            if (self.filled[short] - self.origin[short]).max() > _MAX_EPOCH_DAYS:
                raise UserError("the hashrate fell so fast that a difficulty epoch would "
                                "last over 50 years; check the trend and elasticity")
            self._extend(short, days)
            days *= 2
        low = np.maximum(self.origin - 1, 0)  # the day the epoch's work passed lies on or after it
        low += self.row
        # days past a row's filled read its last, which the work exceeds
        window = np.minimum(low[:, None] + np.arange(int((filled - low).max()) + 1), filled[:, None])
        # a row's work rises day by day, so the days it has not passed `work` on come first:
        # their count is the place of the first day past it (argmin: a tenth of sum's time)
        at = low + (self.work.take(window) <= work[:, None]).argmin(axis=1) - 1
        return (at - self.row) + (work - self.work.take(at)) / np.exp(self.log_ehs.take(at))


def _put(paths: np.ndarray, flat: np.ndarray, values: np.ndarray) -> None:
    """Write `values` at the flat indices `flat` of `paths`, C-contiguous as every array of
    `Paths` is (through its flat view: np.put's checks take twice the time)."""
    paths.reshape(-1)[flat] = values


def _with_last(paths: np.ndarray, width: int) -> np.ndarray:
    """Return `paths` (a row each) widened to `width` days, each row's last day repeated."""
    return np.hstack((paths, np.repeat(paths[:, -1:], width - paths.shape[1], axis=1)))


class Fleet(Rows):
    """Each world's vintages alive or on order (see `sim.processes.network_economic`).

    Flat arrays, an entry per vintage: ``world`` (its world's row), ``born`` (its delivery
    day: installed once past, on order until then), ``capacity`` (EH/s) and ``z_half``,
    log(0.024 · e · m) / power_log_sd, the log hashprice at which half its machines pay
    their power, in units of the spread of power prices. A world's vintages come oldest
    first, so its sums (`sums_by`) add them in order, however the worlds interleave;
    vintages leave as they retire, and new orders join at the end.
    """

    per_row = ("t", "median", "frontier_day0", "last_log_revenue", "last_log_hp", "last_slope",
               "rngs")

    def __init__(self, net, born, capacity, z_half, median, frontier_day0, rngs):
        """`born`, `capacity` and `z_half` hold a row per world, its day-0 vintages."""
        self.net = net
        worlds, vintages = np.shape(born)
        self.world = np.repeat(np.arange(worlds), vintages)
        self.born, self.capacity, self.z_half = (np.ravel(a) for a in (born, capacity, z_half))
        self.frontier_day0 = frontier_day0
        self.t = np.zeros(worlds)
        self.median = median
        self.last_log_revenue = np.full(worlds, np.nan)  # the last epoch's root, for a warm start
        self.last_log_hp = np.full(worlds, np.nan)
        self.last_slope = np.full(worlds, np.nan)
        self.rngs = _objects(rngs)

    def keep(self, rows: np.ndarray) -> None:
        """Keep only the worlds `rows` (indices into the active ones), in that order."""
        kept, world = renumbered(self.world, rows, len(self.t))
        super().keep(rows)
        self._keep_vintages(kept)
        self.world = world

    def _keep_vintages(self, kept: np.ndarray) -> None:
        """Keep only the vintages at the positions `kept`, in that order."""
        self.world, self.born, self.capacity, self.z_half = (
            a.take(kept) for a in (self.world, self.born, self.capacity, self.z_half))

    def step(self, t_end: np.ndarray, revenue: np.ndarray, available: np.ndarray | None) -> np.ndarray:
        """Advance each world to day `t_end` at `revenue` (hashprice x EH/s); return its running
        EH/s when only the share `available` of every installed vintage may run (None: all)."""
        net = self.net
        worlds = len(t_end)
        retired = self.born <= (t_end - net.machine_life_years * DAYS_PER_YEAR)[self.world]
        if np.count_nonzero(retired):
            self._keep_vintages((~retired).nonzero()[0])
        installed = (self.born <= t_end[self.world]).nonzero()[0]  # before this epoch's orders join
        world, capacity, z_half = (a.take(installed) for a in (self.world, self.capacity, self.z_half))
        self._order(t_end, revenue)
        if available is not None:
            capacity = capacity * available[world]
        running = np.full(worlds, 1e-9)
        solve = ((revenue > 0) & (sums_by(world, capacity, worlds) > 0)).nonzero()[0]
        if not len(solve):
            return running
        problem = world
        if len(solve) < worlds:  # a world without revenue or machines: its vintages leave
            kept, problem = renumbered(world, solve, worlds)
            capacity, z_half = capacity.take(kept), z_half.take(kept)
        log_revenue = np.log(revenue[solve])
        guess = self.last_log_hp[solve] + ((log_revenue - self.last_log_revenue[solve])
                                           / self.last_slope[solve])  # NaN: a cold start
        log_hp, slope = solve_rows(log_revenue, capacity, z_half, problem, net.power_log_sd, guess)
        self.last_log_revenue[solve], self.last_log_hp[solve], self.last_slope[solve] = (
            log_revenue, log_hp, slope)
        running[solve] = revenue[solve] / np.exp(log_hp)
        return running

    def _order(self, t_end: np.ndarray, revenue: np.ndarray) -> None:
        """Order, in the worlds where entry pays, the epoch's share of the gap to what would
        run at the entry hashprice (see EconomicNetwork)."""
        net = self.net
        spread = net.power_log_sd
        frontier = frontier_on_day(net.frontier_j_per_th, net.frontier_gain_per_year,
                                   self.frontier_day0, t_end)
        log_entry = np.log(net.entry_hashprice(frontier, self.median))
        # what will still be installed when this epoch's order arrives: a vintage retiring
        # before then is replaced by it, not after it has gone (on order counts, as a supply line)
        lasts = self.born > (t_end + net.delivery_lag_days
                             - net.machine_life_years * DAYS_PER_YEAR)[self.world]
        have = sums_by(self.world, self.capacity * lasts
                       * ndtr((log_entry / spread)[self.world] - self.z_half), len(t_end))
        gap = revenue / np.exp(log_entry) - have
        elapsed, self.t = t_end - self.t, t_end
        worlds = ((gap > 0) & (elapsed > 0)).nonzero()[0]
        if not len(worlds):
            return
        share = -np.expm1(-elapsed[worlds] / net.order_days)
        shock = net.order_shocks(self.rngs[worlds])
        z_half = net.log_breakeven_hashprice(frontier[worlds], self.median[worlds]) / spread
        running = ndtr(log_entry[worlds] / spread - z_half)  # the share of a frontier machine that runs
        born = t_end[worlds] + net.delivery_lag_days
        capacity = share * gap[worlds] * shock / running
        self.world, self.born, self.capacity, self.z_half = (
            np.concatenate(pair) for pair in ((self.world, worlds), (self.born, born),
                                              (self.capacity, capacity), (self.z_half, z_half)))


def solve_rows(log_revenue: np.ndarray, capacity: np.ndarray, z_half: np.ndarray,
               problem: np.ndarray, spread: float, guess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (x, g'(x)) for each problem: x the log running hashprice, with g(x) = x + log Σ C
    · Φ(x / spread − z_half) = `log_revenue` (C = `capacity`, EH/s, and z_half =
    `log_breakeven_hashprice` / spread: one entry per vintage, `problem` its problem's index,
    a problem's vintages in order), and the slope there (for the next epoch's guess).

    g rises with slope g' = 1 + S'/S ≥ 1 (S = Σ C Φ(z), S' = Σ C φ(z) / spread), so Halley's
    method from `guess` (NaN: from x = log(revenue / Σ C), where every machine runs and g ≤
    log_revenue, up to rounding) converges in a few steps; each evaluation narrows a bracket [lo, hi] around
    the root, and a step that would leave it bisects instead (or moves 1 beyond its finite
    end while the other is unknown). The error after a Halley step d is of order d³, so a
    problem stops after one under 1e-6, within double precision. Problems are solved
    together, each by its own steps: a root does not depend on the other problems (one
    solved goes on stepping, unread, until at most half are left; then the solved ones'
    vintages leave the sums, and their x, unread, is no longer a root's).
    A problem whose sum S is 0 (every machine off at x) gets no step (NaN) and bisects;
    numpy's warnings of that division are the caller's to silence (`QUIET`).
    """
    count = len(log_revenue)
    # a cold start where every machine runs: g ≤ log_revenue there, a lower end in exact
    # arithmetic, but g may round a hair above it, so the bracket starts open
    x = guess
    cold = np.isnan(guess)
    if np.count_nonzero(cold):  # (on short arrays, a quarter of the time of any())
        x = np.where(cold, log_revenue - np.log(sums_by(problem, capacity, count)), guess)
    lo, hi = np.full(count, -np.inf), np.full(count, np.inf)
    root, root_slope = np.empty(count), np.empty(count)
    c, zh, open_, stepping = capacity, z_half, np.ones(count, dtype=bool), count
    rise_scale, bend_scale = _SQRT_2PI * spread, _SQRT_2PI * spread * spread
    for _ in range(200):
        z = (x / spread).take(problem)
        z -= zh
        # each vintage's C · exp(−z²/2) and C · Φ(z), made in place: one array each
        weighted = np.square(z)
        weighted *= -0.5
        np.exp(weighted, out=weighted)
        weighted *= c
        share = ndtr(z)
        share *= c
        running = sums_by(problem, share, count)  # where it is 0: gap -inf, no step (NaN)
        gap = x + np.log(running) - log_revenue
        rise = sums_by(problem, weighted, count) / (rise_scale * running)  # S'/S
        moment = np.multiply(weighted, z, out=weighted)  # weighted is read no more
        bend = -sums_by(problem, moment, count) / (bend_scale * running) - rise * rise
        slope = 1 + rise  # and g'' = S''/S − (S'/S)² = bend
        halley = 2 * slope * slope - gap * bend
        step = x - np.where(halley > 0, 2 * gap * slope / halley, gap / slope)
        below = gap < 0
        np.copyto(lo, x, where=below)
        np.copyto(hi, x, where=~below)
        exact = gap == 0
        done = exact | ((np.abs(step - x) < 1e-6) & (lo <= step) & (step <= hi))
        done &= open_
        if np.count_nonzero(done):
            np.copyto(root, np.where(exact, x, step), where=done)
            np.copyto(root_slope, slope, where=done)
            open_ ^= done  # done ⊆ open_
            left = np.count_nonzero(open_)
            if not left:
                return root, root_slope
            if 2 * left <= stepping:  # the solved problems' vintages leave (their x: unread)
                vintages = open_.take(problem).nonzero()[0]
                problem, c, zh = problem.take(vintages), c.take(vintages), zh.take(vintages)
                stepping = left
        outside = ~((lo < step) & (step < hi)) & open_  # or no step: bisect, or reach out
        if np.count_nonzero(outside):
            reach = np.where(hi == np.inf, lo + 1.0, hi - 1.0)
            step = np.where(outside, np.where(np.isfinite(lo) & np.isfinite(hi), (lo + hi) / 2,
                                              reach), step)
        x = step
    raise RuntimeError("the running hashprice did not converge")  # pragma: no cover


class _Draws(Rows):
    """Each row's Gamma(2015) and Exp(1) block-interval sums of successive whole epochs,
    drawn from its own stream in batches, as one world alone draws them."""

    per_row = ("rngs", "gammas", "exps")

    def __init__(self, rngs, batch: int):
        self.rngs, self.batch, self.next = _objects(rngs), batch, batch
        self.gammas = self.exps = np.zeros((len(rngs), batch))

    def take(self) -> tuple[np.ndarray, np.ndarray]:
        """Return each row's (sum of 2015 unit block intervals, one more); means without rng."""
        if self.next == self.batch:
            pairs = [(rng.standard_gamma(BLOCKS_PER_EPOCH - 1, self.batch),
                      rng.standard_exponential(self.batch)) if rng is not None else
                     (np.full(self.batch, float(BLOCKS_PER_EPOCH - 1)), np.ones(self.batch))
                     for rng in self.rngs]
            self.gammas = np.array([g for g, _ in pairs]).reshape(len(pairs), self.batch)
            self.exps = np.array([e for _, e in pairs]).reshape(len(pairs), self.batch)
            self.next = 0
        self.next += 1
        return self.gammas[:, self.next - 1], self.exps[:, self.next - 1]


def _objects(items) -> np.ndarray:
    """Return `items` (random generators, or None) as a 1-d object array, to index by rows."""
    array = np.empty(len(items), dtype=object)
    array[:] = list(items)
    return array


def sample_epochs(net, btc_usd: np.ndarray, fees: np.ndarray, paths: Paths, fleet: Fleet,
                  rngs: list, outages: list, elapsed_s: float) -> list[tuple]:
    """Return each row's epochs, (start times in days, start heights, difficulties), until
    past the grid, and its daily log hashrate; `paths` and `fleet` start at day 0.

    `btc_usd` and `fees` are the rows' daily paths (rows x days); `outages` each row's
    `Outages`; `elapsed_s` the time the epoch in force on day 0 has run before it.
    """
    with np.errstate(**QUIET):
        return _sample_epochs(net, btc_usd, fees, paths, fleet, rngs, outages, elapsed_s)


def _sample_epochs(net, btc_usd, fees, paths, fleet, rngs, outages, elapsed_s):
    rows, n_days = btc_usd.shape
    # each row's BTC and fees summed before each day; row r's day d at flat index r (n_days + 1) + d
    btc_sums, fee_sums = np.zeros((rows, n_days + 1)), np.zeros((rows, n_days + 1))
    np.cumsum(btc_usd, axis=1, out=btc_sums[:, 1:])
    np.cumsum(fees, axis=1, out=fee_sums[:, 1:])
    done = net.start_height % BLOCKS_PER_EPOCH
    height = net.start_height - done
    difficulty = np.full(rows, float(net.start_difficulty))
    ids = np.arange(rows)  # each active row's place in the batch
    # each row's epochs so far (a row per world of the batch, a column per epoch; widened
    # as they come)
    starts, difficulties = np.empty((rows, 16)), np.empty((rows, 16))
    starts[:, 0], difficulties[:, 0] = -elapsed_s / SECONDS_PER_DAY, difficulty
    count = 1  # epochs in the tables
    found: list = [None] * rows
    with_outages = any(o.start_day.size for o in outages)

    def available(t_end):
        return (np.array([outages[i].available_share(t) for i, t in zip(ids, t_end.tolist())])
                if with_outages else None)

    def drift(t_end, hashprice, difficulty):  # log hashrate per day toward what pays to run
        revenue = hashprice * difficulty * TWO_POW_32 / TARGET_SPACING_S / 1e18
        running_ehs = fleet.step(t_end, revenue, available(t_end))
        origin = np.ceil(t_end).astype(np.int64)
        now = paths.log_ehs_on(origin)  # filled: the epoch's work reached it
        limit = net.max_drift_per_year
        per_year = (np.log(running_ehs) - now) / net.switch_days * DAYS_PER_YEAR
        paths.set_drift(origin, np.minimum(np.maximum(per_year, -limit), limit) / DAYS_PER_YEAR)

    drift(np.zeros(rows), net.initial_hashprice_usd_per_ph_day(btc_usd[:, 0]), difficulty)
    intervals = BLOCKS_PER_EPOCH - 1 - done
    if intervals != BLOCKS_PER_EPOCH - 1:  # the epoch in force on day 0 is partly mined
        measured, last_interval = (np.array(a) for a in zip(*(partial_epoch_draws(rng, intervals)
                                                              for rng in rngs)))
    draws = _Draws(rngs, batch=int(n_days / 14 * 1.2) + 8)
    work, t_start, epoch_elapsed_s = np.zeros(rows), np.zeros(rows), np.full(rows, elapsed_s)
    first = np.zeros(rows, dtype=np.int64)  # the first day of each row's epoch on the grid
    while True:
        if intervals == BLOCKS_PER_EPOCH - 1:
            measured, last_interval = draws.take()
        work = work + measured * difficulty * WORK_PER_DIFFICULTY
        t_last = paths.time_at(work)
        new_difficulty = retarget(difficulty, epoch_elapsed_s + (t_last - t_start) * SECONDS_PER_DAY)
        work = work + last_interval * new_difficulty * WORK_PER_DIFFICULTY
        t_end = paths.time_at(work)
        end_day = np.floor(t_end).astype(np.int64)
        last = np.minimum(np.maximum(end_day, first + 1), n_days)
        row = ids * (n_days + 1)
        at_last, at_first, days = row + last, row + first, last - first
        mean_btc = (btc_sums.take(at_last) - btc_sums.take(at_first)) / days
        mean_fees = (fee_sums.take(at_last) - fee_sums.take(at_first)) / days
        hashprice = hashprice_usd_per_ph_day(epoch_subsidy_btc(height), mean_fees, mean_btc,
                                             difficulty)
        height += BLOCKS_PER_EPOCH
        if count == starts.shape[1]:  # room for as many epochs again
            starts, difficulties = (np.hstack((a, np.empty_like(a))) for a in (starts, difficulties))
        starts[ids, count], difficulties[ids, count] = t_end, new_difficulty
        count += 1
        past = t_end >= n_days
        ended = past.nonzero()[0]
        for i in ended.tolist():  # this row's last epoch: its tables are whole
            row = ids[i]
            found[row] = (starts[row, :count].copy(), height - BLOCKS_PER_EPOCH * np.arange(count)[::-1],
                          difficulties[row, :count].copy(), paths.log_ehs[row, :n_days].copy())
        if len(ended) == len(ids):
            return found
        if len(ended):
            keep = (~past).nonzero()[0]
            for part in (paths, fleet, draws):
                part.keep(keep)
            ids, t_end, work, new_difficulty, hashprice, difficulty, end_day = (
                a[keep] for a in (ids, t_end, work, new_difficulty, hashprice, difficulty, end_day))
        drift(t_end, hashprice, difficulty)
        t_start, difficulty, epoch_elapsed_s = t_end, new_difficulty, np.zeros(len(ids))
        first = np.minimum(end_day, n_days - 1)  # >= 0: an epoch ends after day 0
        intervals = BLOCKS_PER_EPOCH - 1
