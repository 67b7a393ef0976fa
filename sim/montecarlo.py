"""Monte Carlo: replications in chunks, run by an executor, kept on disk as they finish.

Replication k's world depends only on ``(run.seed, k)``, never on the executor, the
number of workers or the chunk size, so every executor gives the same numbers and
``run.replications=10`` gives the first ten rows of ``run.replications=40``. Each chunk
is written atomically into the run directory as it finishes (a temporary folder, then a
rename); running the same config into the same directory again reads the finished
chunks back, whatever chunk size wrote them, runs the rest and ends with exactly the
tables of an uninterrupted run. A directory that another config wrote is refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.config import build_processes, build_strategies, settings, validate
from sim.errors import UserError
from sim.executors import WorkerLost, make_executor
from sim.ledger import CATEGORIES, STATES, Account
from sim.result import Result, write_json
from sim.site import simulate
from sim.world import sample_world

#: Keys that change how a run is executed, not what it computes.
EXECUTION_KEYS = ("executor", "workers", "chunk_size", "progress", "ray", "replications",
                  "until_confident", "max_replications", "compare")
WORLD_MONTHLY_FIELDS = ("btc_usd", "hashprice_usd_per_ph_day", "power_usd_per_mwh",
                        "lease_usd_per_kw_month", "gpu_usd_per_hour")


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
        halving_day=float(halving[0]) if halving.size else np.nan,
        tenant_requests=len(world.tenant_requests),
    )


def run_chunk(cfg, start: int, stop: int, progress=None) -> dict[str, pd.DataFrame]:
    """Return the tables of replications [start, stop): each world sampled once, run per strategy.

    `progress`, if given, is called with 1 as each replication finishes.
    """
    processes = build_processes(cfg)
    strategies = build_strategies(cfg)
    cfg = settings(cfg)
    monthly = cfg.run.detail == "monthly"
    rows, features, flows, states, paths = [], [], [], [], []
    months = None
    for replication in range(start, stop):
        world = sample_world(cfg, replication, processes=processes)
        features.append(world_features(world))
        for label, strategy in strategies.items():
            account = Account(cfg, simulate(cfg, world, strategy))
            rows.append(dict(strategy=label, replication=replication, **account.summary()))
            if monthly:
                flows.append(account.monthly)
                states.append(account.timeline())
                months = account.month
        if monthly:
            starts = account.month_starts
            paths.append(np.column_stack([np.add.reduceat(getattr(world, f), starts)
                                          / np.diff(np.append(starts, world.n_days))
                                          for f in WORLD_MONTHLY_FIELDS]))
        if progress is not None:
            progress(1)
    tables = dict(summary=pd.DataFrame(rows), worlds=pd.DataFrame(features))
    if monthly:
        tables.update(_detail_tables(list(strategies), range(start, stop), months, flows, states, paths))
    return tables


def _detail_tables(labels, replications, months, flows, states, paths) -> dict:
    """Return the long cashflows, the timeline and the monthly world paths of a chunk."""
    n_rep, n_strat, n_month = len(replications), len(labels), len(months)
    reps = np.asarray(replications)
    strategy = pd.Categorical.from_codes(  # from codes: factorising strings is slow
        np.tile(np.repeat(np.arange(n_strat), n_month * len(CATEGORIES)), n_rep), categories=labels)
    cash = np.stack(flows)  # (rep*strategy, category, month)
    cashflows = pd.DataFrame({
        "strategy": strategy,
        "replication": np.repeat(reps, n_strat * len(CATEGORIES) * n_month),
        "month": np.tile(months, n_rep * n_strat * len(CATEGORIES)).astype("datetime64[ns]"),
        "category": pd.Categorical.from_codes(
            np.tile(np.repeat(np.arange(len(CATEGORIES)), n_month), n_rep * n_strat),
            categories=list(CATEGORIES)),
        "usd": cash.reshape(-1),
    })
    timeline = pd.DataFrame(np.concatenate(states), columns=list(STATES))
    timeline.insert(0, "month", np.tile(months, n_rep * n_strat).astype("datetime64[ns]"))
    timeline.insert(0, "replication", np.repeat(reps, n_strat * n_month))
    timeline.insert(0, "strategy", pd.Categorical.from_codes(
        np.tile(np.repeat(np.arange(n_strat), n_month), n_rep), categories=labels))
    world_monthly = pd.DataFrame(np.concatenate(paths), columns=list(WORLD_MONTHLY_FIELDS))
    world_monthly.insert(0, "month", np.tile(months, n_rep).astype("datetime64[ns]"))
    world_monthly.insert(0, "replication", np.repeat(reps, n_month))
    return dict(cashflows=cashflows, timeline=timeline, world_monthly=world_monthly)


# --- chunks on disk ----------------------------------------------------------------------------
def fingerprint(cfg) -> dict:
    """Return the config that decides a run's numbers (execution settings left out)."""
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    for key in EXECUTION_KEYS:
        data["run"].pop(key, None)
    return json.loads(_canonical(data))


def _canonical(data) -> str:
    return json.dumps(data, sort_keys=True, default=str)


def _flatten(data, prefix=""):
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix[:-1]: data}


_CHUNK_NAME = re.compile(r"^(\d+)-(\d+)$")


@dataclass
class ChunkStore:
    """A run directory's finished chunks, one folder per chunk, renamed in when complete."""

    root: Path

    def __post_init__(self):
        self.root = Path(self.root) / "chunks"

    def claim(self, cfg) -> None:
        """Make the store this config's, or refuse one that another config made."""
        self.root.mkdir(parents=True, exist_ok=True)
        mine = fingerprint(cfg)
        manifest = self.root / "config.json"
        if manifest.is_file():
            theirs = json.loads(manifest.read_text())
            if _canonical(theirs) != _canonical(mine):
                a, b = _flatten(theirs), _flatten(mine)
                keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
                shown = ", ".join(f"{k} ({a.get(k)!r} there, {b.get(k)!r} now)" for k in keys[:3])
                raise UserError(f"{self.root.parent}: holds a run made with another config "
                                f"(differs at {shown}{' ...' if len(keys) > 3 else ''}); "
                                "choose a new hydra.run.dir")
        else:
            write_json(manifest, mine)
        for stale in self.root.glob(".tmp-*"):  # a chunk a killed run was writing
            shutil.rmtree(stale, ignore_errors=True)

    def path(self, start: int, stop: int) -> Path:
        """Return the folder of chunk [start, stop)."""
        return self.root / f"{start:09d}-{stop:09d}"

    def finished(self) -> list[tuple[int, int]]:
        """Return the chunks complete on disk, in replication order."""
        found = (_CHUNK_NAME.match(folder.name) for folder in self.root.iterdir())
        return sorted((int(m[1]), int(m[2])) for m in found if m)

    def write(self, start: int, stop: int, tables: dict) -> None:
        """Write a chunk's tables to a temporary folder, then rename it into place."""
        tmp = self.root / f".tmp-{start:09d}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, table in tables.items():
            table.to_parquet(tmp / f"{name}.parquet", index=False)
        os.replace(tmp, self.path(start, stop))

    def read(self, start: int, stop: int, lo: int | None = None, hi: int | None = None) -> dict:
        """Return a finished chunk's tables, keeping replications [lo, hi) if given."""
        lo, hi = start if lo is None else lo, stop if hi is None else hi
        tables = {}
        for file in sorted(self.path(start, stop).glob("*.parquet")):
            table = pd.read_parquet(file)
            if (lo, hi) != (start, stop):
                keep = table["replication"].between(lo, hi - 1).to_numpy()
                table = table[keep].reset_index(drop=True)
            tables[file.stem] = table
        return tables


def chunks(start: int, stop: int, size: int) -> list[tuple[int, int]]:
    """Return [start, stop) cut at multiples of `size` (so boundaries never depend on stop)."""
    edges = list(range((start // size) * size, stop, size)) + [stop]
    return [(max(a, start), min(b, stop)) for a, b in zip(edges[:-1], edges[1:]) if max(a, start) < min(b, stop)]


def plan(start: int, stop: int, size: int, finished: list[tuple[int, int]]):
    """Return (reuse, todo) for replications [start, stop).

    `reuse` lists ``(chunk, lo, hi)``: finished chunks and the replications [lo, hi) needed
    from each; `todo` lists the chunks still to run, cut at multiples of `size`. Chunks on
    disk may have any boundaries (an earlier run may have used another chunk size).
    """
    reuse, todo, cursor = [], [], start
    for a, b in sorted(finished):
        lo, hi = max(a, cursor), min(b, stop)
        if lo < hi:
            todo += chunks(cursor, lo, size)
            reuse.append(((a, b), lo, hi))
            cursor = hi
    return reuse, todo + chunks(cursor, stop, size)


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
    validate(cfg)
    build_strategies(cfg)  # fail early, in this process, on a bad strategy
    store = ChunkStore(out_dir) if out_dir is not None else None
    if store is not None:
        store.claim(cfg)
    collected: dict[tuple[int, int], dict] = {}
    target = int(cfg.run.replications)
    cap = int(cfg.run.max_replications or target)
    confident = cfg.run.until_confident
    selection = None
    executor = make_executor(cfg)
    try:
        done = 0
        while True:
            _run_range(cfg, executor, store, collected, done, target)
            done = target
            if confident is None:
                break
            from sim.compare.stats import select_best

            summary = pd.concat([collected[c]["summary"] for c in sorted(collected)])
            selection = select_best(summary, "npv_usd", float(confident),
                                    delta=float(cfg.run.indifference_usd))
            if selection.confident or done >= cap:
                break
            # Kim-Nelson's own estimate of what it needs, at most doubling each round.
            needed = int(selection.required_replications or 2 * done)
            target = min(cap, max(done + int(cfg.run.chunk_size), min(needed, 2 * done)))
    except WorkerLost as err:
        if store is None:
            raise
        kept = store.root.parent
        raise UserError(f"{err}; finished chunks are kept in {kept}: rerun the same command "
                        f"with hydra.run.dir={kept} to resume") from None
    finally:
        executor.close()
    result = _assemble(cfg, [collected[c] for c in sorted(collected)])
    if selection is not None:
        result.info["until_confident"] = dict(
            confidence=float(confident), reached=bool(selection.confident),
            best=selection.best, replications=done, max_replications=cap)
    return result


def _run_range(cfg, executor, store, collected, start: int, stop: int) -> None:
    """Run the replications of [start, stop) not yet on disk; read the others back."""
    reuse, todo = plan(start, stop, int(cfg.run.chunk_size), store.finished() if store else [])
    for chunk, lo, hi in reuse:
        collected[(lo, hi)] = store.read(*chunk, lo, hi)
    progress = Progress(cfg, stop - start, sum(hi - lo for _, lo, hi in reuse), todo)
    try:
        for chunk, tables in executor.map(run_chunk, cfg, todo, progress.tick):
            if store is not None:
                store.write(*chunk, tables)
            collected[chunk] = tables
            progress.finish(chunk)
    finally:
        progress.close()


def _assemble(cfg, parts: list[dict]) -> Result:
    """Return one Result from chunk tables, in replication order."""
    labels = list(dict.fromkeys(parts[0]["summary"]["strategy"].astype(str))) if parts else []

    def join(name):
        frames = [part[name] for part in parts if name in part]
        if not frames:
            return pd.DataFrame()
        if "strategy" in frames[0]:  # one categorical dtype, so concat keeps it (no strings)
            for frame in frames:
                frame["strategy"] = pd.Categorical(frame["strategy"], categories=labels)
        return pd.concat(frames, ignore_index=True)

    summary = join("summary")
    if len(summary):
        summary["strategy"] = summary["strategy"].astype(str)
    return Result(summary=summary, cashflows=join("cashflows"), timeline=join("timeline"),
                  worlds=join("worlds"), world_monthly=join("world_monthly"), config=cfg)
