"""Monte Carlo: replications in chunks, run by an executor, kept on disk as they finish.

Replication k's world depends only on ``(run.seed, k)``, never on the executor, the
number of workers or the chunk size, so every executor gives the same numbers and
``run.replications=10`` gives the first ten rows of ``run.replications=40``. Each chunk
is written atomically into the run directory (laid out by `sim.rundir`) as it finishes;
running the same config into the same directory again reads the finished
chunks back, whatever chunk size wrote them, runs the rest and ends with exactly the
tables of an uninterrupted run. A chunk that no longer matches its manifest (a file
deleted, truncated or corrupted) is recomputed, and the user told; the assembled
tables are checked to hold every replication once before they are returned. A
directory that another config wrote, or that another command is writing, is refused.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from sim.arguments import check_output_dir
from sim.config_checks import settings, validate
from sim.config_objects import build_processes, build_strategies
from sim.errors import Resumable, UserError, raised_at, warn_user
from sim.executors import WorkerLost, executor_name, make_executor
from sim.gathered import Gathered, strategy_codes
from sim.ledger import LEDGER_CATEGORIES, TIMELINE_COLUMNS, Account
from sim.params import LARGEST
from sim.policies import trained, with_policies
from sim.record import events_table
from sim.result import Result
from sim.rundir import ChunkDamaged, RunDir, check_claim, now, plan
from sim.selection import select_best, select_by_mean
from sim.site import simulate, strategy_named
from sim.strategies import decide_every_months
from sim.world import check_plugins_repeat, iter_worlds

log = logging.getLogger(__name__)

WORLD_MONTHLY_FIELDS = ("btc_usd", "hashprice_usd_per_ph_day", "power_usd_per_mwh",
                        "lease_usd_per_kw_month", "gpu_usd_per_hour", "short_rate")


#: Every feature of `world_features` in words, one row each: the report's label with its
#: unit in brackets (the tornado chart, the sensitivity table, the verdict's main risk);
#: hashpivot-explore's words beside a bound, and the unit it writes the bound in.
WORLD_FEATURE_WORDS = {
    "btc_usd_mean": ("mean BTC price (USD)", "BTC price (mean)", "USD"),
    "btc_usd_end": ("BTC price at the horizon (USD)", "BTC price (end)", "USD"),
    "hashprice_usd_per_ph_day_mean": ("mean hashprice (USD per PH/s-day)", "hashprice (mean)",
                                      "USD/PH/day"),
    "power_usd_per_mwh_mean": ("mean power price (USD per MWh)", "power price (mean)",
                               "USD/MWh"),
    "lease_usd_per_kw_month_mean": ("mean AI lease price (USD per kW-month)", "lease (mean)",
                                    "USD/kW/month"),
    "gpu_usd_per_hour_trend_per_year": ("GPU rental price trend (log change per year)",
                                        "GPU price trend (log)", "1/year"),
    "network_hashrate_ehs_growth_per_year": ("network hashrate growth (log change per year)",
                                             "network hashrate growth (log)", "1/year"),
    "short_rate_mean": ("mean short rate (per year)", "short rate (mean)", "1/year"),
    "halving_day": ("day of the next halving (days from the start)", "halving day", "days"),
    "tenant_requests": ("tenant requests (count)", "tenant requests", ""),
}


# --- one chunk of replications ---------------------------------------------------------------
def world_features(world) -> dict:
    """Return the features of a world that may explain outcomes (one `worlds` row)."""
    years = world.day / 365.25
    gpu = np.log(world.gpu_usd_per_hour)
    halving = np.flatnonzero(world.subsidy_btc < world.subsidy_btc[0])
    return dict(
        replication=world.replication,
        btc_usd_mean=float(world.btc_usd.mean()),
        btc_usd_end=float(world.btc_usd[-1]),
        hashprice_usd_per_ph_day_mean=float(world.hashprice_usd_per_ph_day.mean()),
        power_usd_per_mwh_mean=float(world.power_usd_per_mwh.mean()),
        lease_usd_per_kw_month_mean=float(world.lease_usd_per_kw_month.mean()),
        gpu_usd_per_hour_trend_per_year=float(np.polyfit(years, gpu, 1)[0]) if len(years) > 1 else 0.0,
        network_hashrate_ehs_growth_per_year=float(
            np.log(world.network_hashrate_ehs[-1] / world.network_hashrate_ehs[0]) / max(years[-1], 1e-9)),
        short_rate_mean=float(world.short_rate.mean()),
        halving_day=float(halving[0]) if halving.size else np.nan,
        tenant_requests=len(world.tenant_requests),
    )


def run_chunk(cfg, start: int, stop: int, progress=None) -> dict[str, pd.DataFrame]:
    """Return the tables of replications [start, stop): each world sampled once, run per strategy.

    `progress`, if given, is called with 1 as each replication finishes. A learning
    strategy's node in `cfg.strategy` carries its trained policy (sim.policies).
    """
    processes = build_processes(cfg)
    strategies = build_strategies(cfg)
    cfg = settings(cfg)
    monthly = cfg.run.detail == "monthly"
    rows, features, flows, states, paths, logs = [], [], [], [], [], []
    months = None
    for replication, world in zip(range(start, stop), iter_worlds(cfg, range(start, stop), processes)):
        features.append(world_features(world))
        for label, strategy in strategies.items():
            record = simulate_strategy(cfg, world, label, strategy)
            account = Account(cfg, world, record)
            rows.append(dict(strategy=label, replication=replication, **account.summary()))
            if record.events is not None:
                logs.append((label, replication, account.events()))
            if monthly:
                flows.append(account.ledger_monthly())
                states.append(account.timeline())
                months = account.month
        if monthly:
            starts = account.month_starts
            paths.append(np.column_stack([np.add.reduceat(getattr(world, f), starts)
                                          / world.days_by_month()
                                          for f in WORLD_MONTHLY_FIELDS]))
        if progress is not None:
            progress(1)
    tables = dict(summary=pd.DataFrame(rows), worlds=pd.DataFrame(features))
    if cfg.run.event_log:
        tables["events"] = events_table(logs, list(strategies))
    if monthly:
        tables.update(_detail_tables(list(strategies), range(start, stop), months, flows, states, paths))
    return tables


def check_strategies(cfg) -> dict:
    """Return the strategies of `cfg`, built, by label; raise UserError naming the label of
    one that says how often to decide in a way the engine cannot follow."""
    strategies = build_strategies(cfg)
    for label, strategy in strategies.items():
        try:
            decide_every_months(strategy)
        except UserError as err:
            raise UserError(f"strategy.{label}: {err}") from None
    return strategies


def simulate_strategy(cfg, world, label: str, strategy):
    """Return the record of `strategy` on `world`; a user's strategy that fails (reads the
    future, raises, returns what is not an action) is a UserError naming it, the
    replication and the seed, in one line, as a failing process plug-in is (sim.world)."""
    if type(strategy).__module__.split(".")[0] == "sim":  # a built-in: its failure is a bug
        return simulate(cfg, world, strategy)
    where = (f"strategy.{label} ({type(strategy).__name__}), replication {world.replication}, "
             f"seed {world.seed}")
    try:
        return simulate(cfg, world, strategy)
    except UserError as err:  # the site's own line names the strategy and replication: once is enough
        said, who = str(err), strategy_named(strategy, world.replication)
        said = said[len(who):].lstrip(": ") if said.startswith(who) else said
        raise UserError(" ".join(f"{where}: {said}".split())) from None
    except Exception as err:  # the plug-in's own failure: name it and where, keep it on one line
        raise UserError(" ".join(f"{where} raised {type(err).__name__}: {err}{raised_at(err)}"
                                 .split())) from err


def _detail_tables(labels, replications, months, flows, states, paths) -> dict:
    """Return the long cashflows, the timeline and the monthly world paths of a chunk."""
    n_rep, n_strat, n_month = len(replications), len(labels), len(months)
    reps = np.asarray(replications)
    strategy = pd.Categorical.from_codes(  # from codes: factorising strings is slow
        np.tile(np.repeat(np.arange(n_strat), n_month * len(LEDGER_CATEGORIES)), n_rep), categories=labels)
    cash = np.stack(flows)  # (rep*strategy, category, month)
    cashflows = pd.DataFrame({
        "strategy": strategy,
        "replication": np.repeat(reps, n_strat * len(LEDGER_CATEGORIES) * n_month),
        "month": np.tile(months, n_rep * n_strat * len(LEDGER_CATEGORIES)).astype("datetime64[ns]"),
        "category": pd.Categorical.from_codes(
            np.tile(np.repeat(np.arange(len(LEDGER_CATEGORIES)), n_month), n_rep * n_strat),
            categories=list(LEDGER_CATEGORIES)),
        "usd": cash.reshape(-1),
    })
    timeline = pd.DataFrame(np.concatenate(states), columns=list(TIMELINE_COLUMNS))
    timeline.insert(0, "month", np.tile(months, n_rep * n_strat).astype("datetime64[ns]"))
    timeline.insert(0, "replication", np.repeat(reps, n_strat * n_month))
    timeline.insert(0, "strategy", pd.Categorical.from_codes(
        np.tile(np.repeat(np.arange(n_strat), n_month), n_rep), categories=labels))
    world_monthly = pd.DataFrame(np.concatenate(paths), columns=list(WORLD_MONTHLY_FIELDS))
    world_monthly.insert(0, "month", np.tile(months, n_rep).astype("datetime64[ns]"))
    world_monthly.insert(0, "replication", np.repeat(reps, n_month))
    return dict(cashflows=cashflows, timeline=timeline, world_monthly=world_monthly)


# --- the run ------------------------------------------------------------------------------------
class Progress:
    """One bar counting finished replications across every worker, with a rate and an ETA."""

    def __init__(self, cfg, total: int, initial: int, todo: list[tuple[int, int]]):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, initial=initial, unit="rep", desc="replications",
                        disable=not cfg.run.progress, dynamic_ncols=True, smoothing=0.1)
        self.left = {a: b - a for a, b in todo}

    def tick(self, start: int, n: int) -> None:
        """Count `n` more finished replications of the chunk starting at `start`."""
        n = min(n, self.left.get(start, 0))  # a retried task reports its replications again
        if n:
            self.left[start] -= n
            self.bar.update(n)

    def finish(self, chunk: tuple[int, int]) -> None:
        """Count whatever of `chunk` its worker had not reported yet."""
        self.tick(chunk[0], self.left.get(chunk[0], 0))

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()


def run(cfg, out_dir=None) -> Result:
    """Return the Result of every selected strategy over `run.replications` sampled worlds.

    With `out_dir`, finished chunks are kept there and a rerun resumes from them. With
    `run.until_confident`, replications are added until the best strategy is identified
    at that confidence or `run.max_replications` is reached.
    """
    started = now()
    checked = validate(cfg)  # the typed Settings, built once: what every chunk reads
    labels = list(check_strategies(checked))  # fail early, in this process, on a bad strategy
    check_plugins_repeat(cfg, build_processes(cfg))  # a plug-in drawing from outside its rng
    r = cfg.run
    executor = executor_name(r)
    log.info("run: seed %s, %s replications, strategies %s, executor %s, workers %s, chunk size "
             "%s, horizon %s years, detail %s, until_confident %s, output %s", r.seed,
             r.replications, ", ".join(labels), executor,
             1 if executor == "serial" else r.workers or "all cores",
             r.chunk_size, r.horizon_years, r.detail, r.until_confident,
             out_dir if out_dir is not None else "(memory only)")
    if out_dir is None:
        return _run(cfg, checked, labels, None, started)
    # Named as passed: the command line checks its directory (hydra.run.dir) before calling.
    check_output_dir(out_dir, "out_dir")  # a file, or a folder that cannot be written
    check_claim(out_dir, cfg, "out_dir")  # before the lock writes anything into the directory
    run_dir = RunDir(out_dir)
    with run_dir.lock("out_dir"):
        return _run(cfg, checked, labels, run_dir.claim(cfg), started)


#: Replications before run.until_confident's first look: Kim-Nelson's first stage, from
#: which it takes the variance of every paired difference.
FIRST_STAGE = 20
#: The fewest replications run.until_confident adds between two looks (run.chunk_size's
#: default, which it was until it moved a run's stopping point with the chunk size).
LOOK_STEP = 50


def _run(cfg, checked, labels: list[str], store, started: str) -> Result:
    """Return the Result of `run`, its chunks kept in `store` (a ChunkStore, or None)."""
    collected = Gathered(labels)
    target = int(cfg.run.replications)
    cap = int(cfg.run.max_replications or target)
    confident = cfg.run.until_confident
    selection = None
    executor = make_executor(checked)  # reads run.*: the same before and after the policies
    training = True
    try:
        policies = trained(cfg, checked, None if store is None else store.root.parent, executor)
        checked = with_policies(checked, policies)  # every chunk's strategies are built with them
        training, done = False, 0
        while True:
            _run_range(checked, executor, store, collected, done, target, labels)
            done = target
            if confident is None:
                break
            if done < FIRST_STAGE and done < cap:  # Kim-Nelson's first stage, before any look
                target = min(cap, FIRST_STAGE)
                continue
            summary = collected.frame("summary", done)
            selection = select_best(summary, "npv_usd", float(confident),
                                    delta=float(cfg.run.indifference_usd), n0=FIRST_STAGE)
            if selection.confident or done >= cap:
                break
            # Kim-Nelson's own estimate of what it needs, at most doubling each round, at
            # least LOOK_STEP more (not a chunk: run.chunk_size may change between resumes)
            needed = int(selection.required_replications or 2 * done)
            target = min(cap, max(done + LOOK_STEP, min(needed, 2 * done)))
    except WorkerLost as err:
        if store is None:
            raise
        kept, lost = store.root.parent, str(err)  # (`err` is unbound after this block)
        if training:  # before any chunk: nothing of this run is kept yet
            raise Resumable(lambda rerun: f"{lost}, while training the learning strategies (no "
                                          f"replication had run yet): rerun {rerun}", kept) from None
        raise Resumable(lambda rerun: f"{lost}; finished chunks are kept in {kept}: rerun {rerun} "
                                      "to resume", kept) from None
    finally:
        executor.close()
    assembling = time.perf_counter()
    chunks = sorted(collected)
    empty = {name: pd.DataFrame() for name in ("cashflows", "timeline", "world_monthly", "events")}
    result = Result(config=cfg, **{**empty, **collected.result_tables(done)})  # chunks let go as joined
    log.info("assembled %d replications x %d strategies in %.2f s", done, len(labels),
             time.perf_counter() - assembling)
    problem = tiling_gap(chunks, done) or not_whole(vars(result), 0, done, labels, monthly=False)
    if problem:  # never expected (every chunk was checked): a last guard before "complete"
        raise UserError(f"{problem}; the run is not marked complete")
    check_finite_npv(result.summary)
    result.info["started"] = started
    if policies:
        result.info["policies"] = {label: policy.describe() for label, policy in policies.items()}
    if selection is not None:
        by_mean = select_by_mean(result.summary, "npv_usd", float(confident),
                                 delta=float(cfg.run.indifference_usd))
        result.info["until_confident"] = dict(
            confidence=float(confident), reached=bool(selection.confident),
            best=by_mean.best, kim_nelson_best=selection.best,
            kim_nelson_stage=int(selection.replications), replications=done,
            max_replications=cap)
    return result


def check_finite_npv(summary: pd.DataFrame) -> None:
    """Raise UserError, before a run is marked complete, if an NPV is infinite, NaN or beyond
    LARGEST dollars: the numbers of the config are within bounds one by one, but together
    too large or too small to compute with (a tiny rate or a huge cost)."""
    npv = summary["npv_usd"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(npv) <= LARGEST)  # NaN fails too
    if bad.any():
        first = summary.iloc[int(np.flatnonzero(bad)[0])]
        raise UserError(f"npv_usd is {npv[bad][0]} for {first['strategy']} in replication "
                        f"{first['replication']} ({int(bad.sum())} of {len(npv)} rows): values "
                        "of the config too large or too small to compute with together (a "
                        "cost, a rate near 0); the run is not marked complete")


def chunk_tables(cfg) -> tuple[str, ...]:
    """Return the names of the tables every chunk of `cfg` holds (what `run_chunk` returns)."""
    names = ("summary", "worlds") + (("events",) if cfg.run.event_log else ())
    return names + (("cashflows", "timeline", "world_monthly") if cfg.run.detail == "monthly" else ())


CHUNKS_PER_WORKER = 4  # enough that the last round's few chunks leave little of the pool idle


def chunk_size(cfg, workers: int, replications: int) -> int:
    """Return how many replications a chunk of `replications` to run on `workers` holds.

    `run.chunk_size` at most; with several workers, fewer when that would give a worker
    fewer than CHUNKS_PER_WORKER chunks. Chunks are handed out as workers free up, so
    1,000 replications in chunks of 50 on 16 workers would run in two rounds, the
    second with 4 chunks and 12 workers idle: at most 10x. Cut into 67 chunks of 15,
    the idle tail is a fraction of one small chunk. Results never depend on the size.
    """
    size = int(cfg.run.chunk_size)
    if workers <= 1:
        return size
    return max(1, min(size, replications // (CHUNKS_PER_WORKER * workers)))


def read_finished(cfg, store, start: int, stop: int, labels: list[str], size: int):
    """Return (read, todo): {(lo, hi): tables} of the finished chunks of [start, stop), and the chunks to run.

    The chunks to run hold `size` replications (see `chunk_size`). A chunk whose files
    do not match its manifest, or whose tables do not hold its replications, is never
    used: it is removed, the user is told in one line on stderr, and it is run again
    with the rest.
    """
    expected, done = chunk_tables(cfg), {}
    while True:
        reuse, todo = plan(start, stop, size, store.finished() if store else [])
        damaged = False
        for chunk, lo, hi in reuse:
            if (chunk, lo, hi) in done:
                continue
            try:
                tables = store.read(*chunk, lo, hi, expected=expected)
                problem = not_whole(tables, lo, hi, labels, monthly=cfg.run.detail == "monthly")
                if problem:
                    raise ChunkDamaged(f"chunk {store.path(*chunk).name} is damaged ({problem})")
                done[(chunk, lo, hi)] = tables
            except ChunkDamaged as err:
                warn_user(log, f"{err}; recomputing it")
                store.discard(*chunk)
                damaged = True
        if not damaged:  # the plan without the damaged chunks: their replications are in todo
            if reuse:
                log.info("resumed: %d finished chunk(s) read back (replications %s), %d to run",
                         len(reuse), ", ".join(f"{lo}-{hi - 1}" for _, lo, hi in reuse), len(todo))
            return {(lo, hi): done[(chunk, lo, hi)] for chunk, lo, hi in reuse}, todo


def _run_range(cfg, executor, store, collected, start: int, stop: int, labels: list[str]) -> None:
    """Run the replications of [start, stop) not yet on disk; read the others back.

    A chunk is checked to be whole before it is kept, so a rerun never reads a bad one.
    """
    size = chunk_size(cfg, executor.workers, stop - start)
    read, todo = read_finished(cfg, store, start, stop, labels, size)
    # counted from replication 0, so that run.until_confident's later looks go on counting
    progress = Progress(cfg, stop, start + sum(hi - lo for lo, hi in read), todo)
    collected.reserve(stop)
    for chunk in sorted(read):
        collected.add(chunk, read.pop(chunk))
    clock = ChunkClock(len(todo))
    try:
        for chunk, tables in executor.map(run_chunk, cfg, todo, progress.tick):
            problem = not_whole(tables, *chunk, labels, monthly=cfg.run.detail == "monthly")
            if problem:  # a bug in a chunk function: never keep it
                raise UserError(f"replications {chunk[0]}-{chunk[1] - 1} as computed: {problem}")
            if store is not None:
                store.write(*chunk, tables)
            collected.add(chunk, tables)
            progress.finish(chunk)
            clock.done(chunk)
    finally:
        progress.close()


class ChunkClock:
    """Logs each finished chunk: which, how long since the previous one, the rate so far."""

    def __init__(self, total: int):
        self.total, self.count, self.replications = total, 0, 0
        self.started = self.last = time.perf_counter()

    def done(self, chunk: tuple[int, int]) -> None:
        """Log that `chunk` (replications [lo, hi)) has finished and is kept."""
        now_s = time.perf_counter()
        self.count += 1
        self.replications += chunk[1] - chunk[0]
        rate = self.replications / max(now_s - self.started, 1e-9)
        log.info("chunk %d of %d done: replications %d-%d, sampling and simulation in %.2f s "
                 "(with parallel workers: since the previous chunk finished); "
                 "%.2f replications/s so far", self.count,
                 self.total, chunk[0], chunk[1] - 1, now_s - self.last, rate)
        self.last = now_s


def tiling_gap(ranges: list[tuple[int, int]], n: int) -> str | None:
    """Return what is wrong unless the sorted [lo, hi) `ranges` tile replications 0..n-1, else None.

    Each chunk's monthly tables were checked whole, so tiling ranges make whole tables
    without grouping the (large) monthly tables again.
    """
    cursor = 0
    for lo, hi in ranges:
        if lo != cursor:
            what = f"replication {cursor} missing" if lo > cursor else f"replication {lo} twice"
            return f"the chunks do not tile replications 0-{n - 1} ({what})"
        cursor = hi
    return None if cursor == n else f"the chunks do not tile replications 0-{n - 1} (they end at {cursor})"


def not_whole(tables: dict, start: int, stop: int, labels: list[str], monthly: bool) -> str | None:
    """Return what is wrong unless `tables` hold replications start..stop-1 once per strategy, else None.

    summary and worlds: one row each; with monthly detail, world_monthly, timeline and
    cashflows: one row per month (and per cash-flow category) each.
    """
    n = stop - start
    world_monthly = tables.get("world_monthly", pd.DataFrame())
    months = world_monthly["month"].nunique() if monthly and len(world_monthly) else 0
    checks = [("summary", True, 1), ("worlds", False, 1)]
    if monthly:
        checks += [("world_monthly", False, months), ("timeline", True, months),
                   ("cashflows", True, months * len(LEDGER_CATEGORIES))]
    for name, per_strategy, rows in checks:
        table = tables.get(name, pd.DataFrame())
        groups = n * (len(labels) if per_strategy else 1)
        reps = table["replication"].to_numpy() if "replication" in table else np.array([], int)
        if _each_rows_times(table, reps, start, stop, labels if per_strategy else None, groups, rows):
            continue
        missing = sorted(set(range(start, stop)) - set(reps.tolist()))
        what = (f"replication {missing[0]} missing" if missing else
                f"{len(table)} rows, {groups * rows} expected")
        return (f"the {name} table does not hold replications {start}-{stop - 1} exactly "
                f"once{' per strategy' if per_strategy else ''} ({what})")
    return None


def _each_rows_times(table: pd.DataFrame, reps: np.ndarray, start: int, stop: int, labels,
                     groups: int, rows: int) -> bool:
    """Return whether `table` holds each replication of [start, stop) `rows` times (per strategy
    of `labels`, unless None), and nothing else: `groups` of them in all.

    Counted with numpy on integer keys rather than grouped by pandas: the run's last check
    reads its whole summary, whose grouping needed several times the column's memory.
    """
    if len(table) != groups * rows:
        return False
    if not len(table):
        return groups == 0
    if reps.dtype.kind not in "iu" or reps.min() < start or reps.max() >= stop:
        return False
    key = reps.astype(np.int64) - start
    if labels is not None:
        codes = strategy_codes(table["strategy"], labels)  # -1: not a label
        if (codes < 0).any():
            return False
        key += codes.astype(np.int64) * (stop - start)
    return bool((np.bincount(key, minlength=groups) == rows).all())
