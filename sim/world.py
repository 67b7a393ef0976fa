"""The sampled world: every exogenous market path of one replication, on a day grid.

A replication is one sampled world, run once per strategy. `sample_world` draws the
paths in a fixed order (btc → network → power → ai → demand → rates); each process sees the
paths drawn before it and owns the fields it returns. Random streams are keyed by
``(run.seed, replication, crc32(process name))``, so changing one process never moves
another's draws, and replication k's world never depends on which others run.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from sim.boundary import OPTIONAL_COLUMNS, TABLE_COLUMNS, validate_output
from sim.config_checks import validate
from sim.config_objects import build_processes
from sim.economics import hashprice_usd_per_ph_day
from sim.errors import UserError, raised_at, warn_user, whole_number
from sim.memo import read_only_cache
from sim.schema import Settings

log = logging.getLogger(__name__)

#: The market processes in sampling order, and the World fields each one owns.
PROCESS_FIELDS: dict[str, tuple[str, ...]] = {
    "btc": ("btc_usd",),
    "network": ("network_hashrate_ehs", "difficulty", "block_height", "subsidy_btc",
                "fees_btc_per_block", "epochs"),
    "power": ("power_usd_per_mwh",),
    "ai": ("lease_usd_per_kw_month", "gpu_usd_per_hour"),
    "demand": ("tenant_requests",),
    "rates": ("short_rate",),
}

#: Paths the world derives from sampled ones: name -> (the paths it needs, the formula).
DERIVED_FIELDS = {
    "hashprice_usd_per_ph_day": (("subsidy_btc", "fees_btc_per_block", "btc_usd", "difficulty"),
                                 hashprice_usd_per_ph_day),
}

def stream_key(name: str) -> int:
    """Return the fixed integer that keys a process's random stream (never `hash`)."""
    return zlib.crc32(name.encode("utf-8"))


def rng_for(seed: int, replication: int, name: str) -> np.random.Generator:
    """Return the Generator of stream `name` in `replication` of run `seed`."""
    sequence = np.random.SeedSequence(entropy=int(seed),
                                      spawn_key=(int(replication), stream_key(name)))
    return np.random.Generator(np.random.PCG64(sequence))


@dataclass(frozen=True, eq=False)
class World:
    """One replication's market: daily numpy paths plus the epoch and tenant tables."""

    replication: int
    seed: int
    day: np.ndarray
    date: np.ndarray
    btc_usd: np.ndarray
    network_hashrate_ehs: np.ndarray
    difficulty: np.ndarray
    block_height: np.ndarray
    subsidy_btc: np.ndarray
    fees_btc_per_block: np.ndarray
    hashprice_usd_per_ph_day: np.ndarray
    power_usd_per_mwh: np.ndarray
    lease_usd_per_kw_month: np.ndarray
    gpu_usd_per_hour: np.ndarray
    short_rate: np.ndarray  # annual short rate (SOFR-like), for floating-rate debt
    epochs: pd.DataFrame
    tenant_requests: pd.DataFrame
    deterministic: bool = False
    #: What `once` keeps: computed once per world and read by every strategy run on it
    #: (curtailed days, calendars, tenant rows); not an argument, so `dataclasses.replace`
    #: gives a copy with other paths an empty cache of its own, never the original's answers
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return (f"World(replication={self.replication}, seed={self.seed}, {self.n_days} days "
                f"from {self.date[0]} to {self.date[-1]}, {len(self.epochs)} epochs, "
                f"{len(self.tenant_requests)} tenant requests"
                f"{', deterministic' if self.deterministic else ''})")

    @property
    def n_days(self) -> int:
        """Return the number of days on the grid."""
        return len(self.day)

    def month_starts(self) -> np.ndarray:
        """Return the indices of the days that open a month on the grid (day 0 included);
        read-only, shared by the worlds of a grid."""
        return self._of_grid("month_starts", _grid_month_starts)

    def days_by_month(self) -> np.ndarray:
        """Return the number of the grid's days in each of its months (read-only, shared by
        the worlds of a grid)."""
        return self._of_grid("days_by_month", _grid_days_by_month)

    def month_of_day(self) -> np.ndarray:
        """Return the month (0 = the first on the grid) of each day (read-only, shared by the
        worlds of a grid)."""
        return self._of_grid("month_of_day", _grid_month_of_day)

    def once(self, key, make):
        """Return `make()`, made on the first call with `key` and kept on this world after it:
        what every strategy run on the world reads alike (a copy made with
        `dataclasses.replace` starts with none kept)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _of_grid(self, name: str, make) -> np.ndarray:
        """Return `make(first date, days)` of the world's grid, kept on the world after the
        first call (`make` itself keeps it for every world of the grid)."""
        return self.once(name, lambda: make(str(self.date[0]), len(self.date)))

    def tenant_request_rows(self) -> tuple[tuple, ...]:
        """Return the tenant requests as (day, mw_it, term_days, usd_per_kw_month, wait_days,
        min_share, phased, commence_days, tenant) tuples of Python numbers (day an int), an optional
        column absent taking its default (`tenant`: the row's own index); made once per world
        (every strategy reads them)."""
        return self.once("tenant_request_rows", self._tenant_request_rows)

    def _tenant_request_rows(self) -> tuple[tuple, ...]:
        """Return `tenant_request_rows`, made from the table."""
        table = self.tenant_requests
        present = set(table.columns)  # not `in table.columns`: pandas builds a lookup each time
        names = [c for c in (*TABLE_COLUMNS["tenant_requests"], *OPTIONAL_COLUMNS["tenant_requests"])
                 if c in present]
        if list(table.columns) != names:  # a table with other columns too (a World built by hand)
            table = table[names]
        values = table.to_numpy(dtype=float).T  # one array: numbers, checked at the boundary
        found = dict(zip(names, values.tolist()))
        found["day"] = values[names.index("day")].astype(np.int64).tolist()
        columns = [found[column] for column in TABLE_COLUMNS["tenant_requests"]]
        columns += [found.get(column, list(range(len(table))) if default is None
                              else [default] * len(table))
                    for column, default in OPTIONAL_COLUMNS["tenant_requests"].items()]
        return tuple(zip(*columns))

    def daily_fields(self) -> tuple[str, ...]:
        """Return the names of the daily numpy paths."""
        return DAILY_FIELDS


DAILY_FIELDS = ("btc_usd", "network_hashrate_ehs", "difficulty", "block_height", "subsidy_btc",
                "fees_btc_per_block", "hashprice_usd_per_ph_day", "power_usd_per_mwh",
                "lease_usd_per_kw_month", "gpu_usd_per_hour", "short_rate")


def derive(paths: dict) -> None:
    """Add to `paths` every derived path whose inputs have all been sampled (once each).

    Run after each process, so the processes sampled later see the derived paths too.
    """
    for name, (inputs, formula) in DERIVED_FIELDS.items():
        if name not in paths and all(key in paths for key in inputs):
            paths[name] = formula(*(paths[key] for key in inputs))


def month_starts(date: np.ndarray) -> np.ndarray:
    """Return the indices of the days that open a calendar month (day 0 always opens one)."""
    first = date.astype("datetime64[M]").astype("datetime64[D]") == date
    first[0] = True
    return np.flatnonzero(first)


def day_grid(start_date: str, horizon_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (day, date): the integer day grid and its dates, over the horizon."""
    start = pd.Timestamp(start_date)
    whole = int(horizon_years)
    end = start + pd.DateOffset(years=whole) + pd.Timedelta(days=round((horizon_years - whole) * 365.25))
    n_days = (end - start).days
    if n_days < 1:
        raise UserError(f"run.horizon_years={horizon_years!r} must be > 0")
    date = np.datetime64(start.date(), "D") + np.arange(n_days)
    return np.arange(n_days), date


@read_only_cache(maxsize=16)
def _grid_month_starts(start_date: str, n_days: int) -> np.ndarray:
    """Return `month_starts` of the `n_days` dates from `start_date` (read-only, made once)."""
    return month_starts(np.datetime64(start_date, "D") + np.arange(n_days))


@read_only_cache(maxsize=16)
def _grid_days_by_month(start_date: str, n_days: int) -> np.ndarray:
    """Return the days in each month of the `n_days` dates from `start_date` (read-only, made once)."""
    return np.diff(np.append(_grid_month_starts(start_date, n_days), n_days))


@read_only_cache(maxsize=16)
def _grid_month_of_day(start_date: str, n_days: int) -> np.ndarray:
    """Return the month of each of the `n_days` dates from `start_date` (read-only, made once)."""
    days = _grid_days_by_month(start_date, n_days)
    return np.repeat(np.arange(days.size), days)


@read_only_cache(maxsize=16)
def _shared_grid(start_date: str, horizon_years: float) -> tuple[np.ndarray, np.ndarray]:
    """Return `day_grid`'s (day, date), read-only: made once, shared by a run's worlds."""
    return day_grid(start_date, horizon_years)


def sample_world(cfg, replication: int, processes: Mapping | None = None) -> World:
    """Return the World of `replication`: every market path, sampled from the config.

    `processes` (by name) saves building them from `cfg.market` again for each world.
    `cfg` is a composed config, checked as `sim.run` checks it, or its checked `Settings`.
    """
    if not isinstance(cfg, Settings):
        validate(cfg)
    return sample_worlds(cfg, [replication], processes)[0]


def sample_worlds(cfg, replications, processes: Mapping | None = None) -> list[World]:
    """Return the Worlds of `replications`, the same as `sample_world` gives one by one.

    A process with a `sample_batch(days, rngs, upstreams)` method (the economic network,
    power, ai) samples them all in one call, faster per world, unless a subclass changed its
    `sample` alone (`_samples_in_batches`); each world keeps its own random stream, so its
    numbers do not depend on which others are sampled with it.
    """
    run = cfg.run
    seed, deterministic = run.seed, bool(run.deterministic)
    day, date = _shared_grid(cfg.site.start_date, run.horizon_years)
    if processes is None:
        processes = build_processes(cfg)
    replications = [whole_number("replication", r, 0) for r in replications]
    worlds = [{"day": day, "date": date} for _ in replications]
    for name, fields in PROCESS_FIELDS.items():
        process = processes[name]
        rngs = [None if deterministic else rng_for(seed, r, name) for r in replications]
        outs = None
        if len(replications) > 1 and _samples_in_batches(process):
            try:
                outs = process.sample_batch(day, rngs, [MappingProxyType(p) for p in worlds])
            except Exception:  # sampled one by one below, to name the world that fails
                rngs = [None if deterministic else rng_for(seed, r, name) for r in replications]
            else:
                outs = _batch_outputs(outs, len(replications), f"market.{name} ({type(process).__name__})")
        for k, (replication, paths) in enumerate(zip(replications, worlds)):
            where = (f"market.{name} ({type(process).__name__}), replication {replication}, "
                     f"seed {seed}")
            out = outs[k] if outs is not None else _sample_one(process, day, rngs[k], paths, where)
            paths.update(validate_output(out, fields, len(day), where))
            derive(paths)
    return [World(replication=r, seed=int(seed), deterministic=deterministic, **paths)
            for r, paths in zip(replications, worlds)]


def check_plugins_repeat(cfg, processes: Mapping) -> None:
    """Raise UserError unless every plug-in process (one not in hashpivot) gives a world the
    same numbers each time it is sampled, and in a batch as alone: replications 0 and 1 are
    sampled twice, and 1 alone. A process that draws from numpy.random's global state or
    `random`, not from the `rng` it is handed, gives other numbers on every run, executor and
    resume, and a run on it could not be checked or resumed; nothing else would say so.

    Then warn, once per plug-in, where a run of several random worlds gets from one the same
    path in replications 0 and 1 (`_same_in_both`): a generator seeded inside the process
    repeats one path in every world, and the results lose its spread without a word."""
    plugins = [name for name in PROCESS_FIELDS
               if type(processes[name]).__module__.split(".")[0] != "sim"]
    if not plugins:
        return
    first, again, alone = (sample_worlds(cfg, replications, processes)
                           for replications in ([0, 1], [0, 1], [1]))
    for name in plugins:  # in sampling order: the first that differs is the one at fault
        where = f"market.{name} ({type(processes[name]).__name__})"
        for owned in PROCESS_FIELDS[name]:
            if not all(_same(a, b, owned) for a, b in zip(first, again)):
                raise UserError(f"{where}: replications 0 and 1 sampled twice gave different "
                                f"{owned}; draw every random number from the rng it is handed "
                                "(not numpy.random.* or random), or the same seed cannot give "
                                "the same numbers")
            if not _same(first[1], alone[0], owned):
                raise UserError(f"{where}: replication 1 got other {owned} sampled beside "
                                "replication 0 than alone; sample_batch must give each world "
                                "what sample gives it")
    run = cfg.run
    most = int((run.until_confident is not None and run.max_replications) or run.replications)
    if bool(run.deterministic) or most < 2:  # the same world by design, or a single world
        return
    for name in plugins:
        repeated = _same_in_both(first, name)
        if repeated:
            warn_user(log, f"market.{name} ({type(processes[name]).__name__}): replications 0 "
                           f"and 1 got the same {', '.join(repeated)}, to the last bit: every world "
                           "repeats one path, so its spread is lost (likely a generator seeded "
                           "inside the process, such as np.random.default_rng(42) or "
                           "np.random.seed(1)); draw from the rng it is handed, unless the path "
                           "is meant to be the same in every world")


def _same_in_both(worlds: list[World], name: str) -> list[str]:
    """Return the daily paths of process `name` that move both up and down and are the same in
    both `worlds`, if every field it owns is; else []. A flat path, a trend, a step schedule
    (block height, halvings) or a table the same in every world may be meant; a path that
    wanders is the mark of random draws, which from the `rng` would differ between worlds."""
    owned = PROCESS_FIELDS[name]
    if not all(_same(worlds[0], worlds[1], field) for field in owned):
        return []
    steps = {field: np.diff(getattr(worlds[0], field)) for field in owned if field in DAILY_FIELDS}
    return [field for field, step in steps.items() if (step > 0).any() and (step < 0).any()]


def _same(world: World, other: World, name: str) -> bool:
    """Return whether two worlds hold the same `name`, to the last bit (NaN equal to NaN)."""
    mine, theirs = getattr(world, name), getattr(other, name)
    if isinstance(mine, pd.DataFrame):
        return mine.equals(theirs)
    return np.array_equal(mine, theirs, equal_nan=True)


def _samples_in_batches(process) -> bool:
    """Return whether `sample_worlds` calls `process.sample_batch`: where it has one and no
    class below the one that defines it overrides `sample` (a plug-in that subclasses a
    built-in and changes `sample` alone must not be bypassed by the built-in's batch)."""
    if "sample_batch" in getattr(process, "__dict__", {}):
        return True
    mro = type(process).__mro__
    owner = next((c for c in mro if "sample_batch" in vars(c)), None)
    return owner is not None and not any("sample" in vars(c) for c in mro[:mro.index(owner)])


#: The most worlds sampled in one call by `iter_worlds`: enough for the economic network's
#: batch to pay (its cost per world falls from about 43 ms alone to 2.5 ms at 50 on this
#: project's 2-core reference machine), few enough to hold (a 10-year world is about 0.4 MB).
#: A batch of 100 (with run.chunk_size=100) samples a world of the default experiment in
#: 3.6 ms, not 4.3 ms, and a serial run gains about 3% (`scripts/bench.py --sections
#: chunks`), but two workers gained nothing measurable on 1,000 replications, for 25 MB
#: more a process (2026-11-29): the default stays 50.
WORLDS_PER_BATCH = 50


def iter_worlds(cfg, replications, processes: Mapping | None = None):
    """Yield the Worlds of `replications` in order, sampled `WORLDS_PER_BATCH` at a time."""
    replications = list(replications)
    for lo in range(0, len(replications), WORLDS_PER_BATCH):
        batch = sample_worlds(cfg, replications[lo:lo + WORLDS_PER_BATCH], processes)
        batch.reverse()
        while batch:  # each world let go once its caller is done with it
            yield batch.pop()


def _batch_outputs(outs, count: int, where: str) -> list:
    """Return a process's `sample_batch` outputs as a list, or raise UserError unless it gave
    one per world."""
    try:
        if isinstance(outs, Mapping):  # one world's output, not a list: its keys are no outputs
            raise TypeError
        outs = list(outs)
    except TypeError:
        raise UserError(f"{where}: sample_batch returned {type(outs).__name__}; expected a list "
                        f"of {count} outputs, one per world") from None
    if len(outs) != count:
        raise UserError(f"{where}: sample_batch returned {len(outs)} outputs for {count} worlds; "
                        "expected one per world, in order")
    return outs


def _sample_one(process, day, rng, paths: dict, where: str):
    """Return `process.sample` of one world, its failure raised as one UserError naming `where`."""
    try:
        return process.sample(day, rng, MappingProxyType(paths))
    except UserError as err:
        raise UserError(f"{where}: {err}") from None
    except Exception as err:  # a plug-in's own failure: name it and where, keep it on one line
        if rng is None:
            raise UserError(f"{where} failed under run.deterministic=true "
                            f"(it got rng=None and must return its expected path): "
                            f"{type(err).__name__}: {err}{raised_at(err)}") from err
        raise UserError(f"{where} raised {type(err).__name__}: {err}{raised_at(err)}") from err
