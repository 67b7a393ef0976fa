"""The verdict's reruns, sharing what they can: one engine run valued under several assumptions.

A terminal value method, its terms (multiples, cap rate) and the discount rates are read by
the ledger alone (`sim.ledger.Account`): the sampled worlds and the engine's records do not
depend on them.
So the alternatives that set only those keys (`VALUATION_KEYS`) share one batch: each of its
worlds is sampled once, each strategy runs once on it, and the same record is valued under
each alternative, `Account(alternative, world, record)`. An alternative that changes
the worlds or the engine (a horizon) gets a batch of its own. Each NPV is the number a full
`sim.run` of the alternative's config gives: the same worlds (the run's seed, replications
0..n-1), the same strategies (built per chunk of `run.chunk_size`), the same ledger.

Every batch's chunks go to one executor (`run.executor`, `run.workers`) in one queue: the
batches' replications are laid end to end, batch b's replication r at position b*n + r.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from sim.config_checks import validate
from sim.config_objects import build_processes, build_strategies
from sim.executors import make_executor
from sim.ledger import Account
from sim.policies import trained, with_policies
from sim.site import simulate
from sim.world import iter_worlds

#: The config keys only the ledger reads: alternatives that set nothing else share engine runs.
VALUATION_KEYS = ("run.terminal_value", "run.terminal_multiple", "run.valuation",
                  "run.discount_rate", "run.discount_rates")


def is_valuation(key: str) -> bool:
    """Return whether the dotted config `key` is read by the ledger alone (`VALUATION_KEYS`)."""
    return any(key == name or key.startswith(name + ".") for name in VALUATION_KEYS)


@dataclass(frozen=True)
class Batch:
    """Alternatives that share worlds and engine runs: the Settings the engine runs on
    (learning strategies with their policies), and the Settings of each alternative to value under."""

    engine: object
    valuations: tuple
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Batches:
    """Every batch of a rerun over replications 0..replications-1, and the chunk size."""

    batches: tuple[Batch, ...]
    replications: int
    chunk_size: int

    def chunks(self) -> list[tuple[int, int]]:
        """Return the [start, stop) chunks of every batch, laid end to end (batch b from b*n)."""
        n, size = self.replications, self.chunk_size
        return [(b * n + lo, b * n + min(lo + size, n))
                for b in range(len(self.batches)) for lo in range(0, n, size)]


def npv_chunk(work: Batches, start: int, stop: int, progress=None) -> np.ndarray:
    """Return the NPVs (USD) of positions [start, stop) of `work`, shape (valuations, strategies, replications).

    The positions lie in one batch (see `Batches.chunks`). `progress`, if given, is
    called with 1 as each world is done.
    """
    b, n = divmod(start, work.replications)
    batch = work.batches[b]
    processes = build_processes(batch.engine)
    strategies = build_strategies(batch.engine)
    npv_usd = np.empty((len(batch.valuations), len(strategies), stop - start))
    for i, world in enumerate(iter_worlds(batch.engine, range(n, n + stop - start), processes)):
        for j, strategy in enumerate(strategies.values()):
            record = simulate(batch.engine, world, strategy)
            for k, cfg in enumerate(batch.valuations):
                npv_usd[k, j, i] = Account(cfg, world, record).present_values()["npv_usd"]
        if progress is not None:
            progress(1)
    return npv_usd


def _checked(cfg, executor=None):
    """Return the Settings of a rerun config, its learning strategies carrying their policies
    (trained on `executor`'s workers where they must be)."""
    checked = validate(cfg)
    return with_policies(checked, trained(cfg, checked, None, executor))


def _engine_key(overrides: dict, checked) -> tuple:
    """Return what decides the worlds and the engine's records of an alternative.

    Its overrides outside `VALUATION_KEYS`, and the key of each learning strategy's
    policy (a policy trained under other rates is another rule; one read from a
    `fit_file` keeps its key whatever the alternative values by).
    """
    engine = tuple(sorted((key, str(value)) for key, value in overrides.items()
                          if not is_valuation(key)))
    policies = tuple(sorted((option, getattr(node.get("policy"), "key", None))
                            for option, node in checked.strategy.items()
                            if isinstance(node, dict) and node.get("policy") is not None))
    return engine, policies


def batches_of(configs: dict, overrides: dict, replications: int,
               executor=None) -> tuple[Batches, dict]:
    """Return (the Batches, {label: (batch, valuation)}) of the rerun `configs` by label.

    `overrides` holds each label's overrides (dotted keys); alternatives with the same
    `_engine_key` share a batch, the first of them running the engine. Policies still to
    train are trained on `executor` (None: here).
    """
    groups: dict[tuple, list] = {}
    for label, cfg in configs.items():
        checked = _checked(cfg, executor)
        groups.setdefault(_engine_key(overrides[label], checked), []).append((label, checked))
    batches, where = [], {}
    for b, members in enumerate(groups.values()):
        engine = members[0][1]
        labels = tuple(build_strategies(engine))
        batches.append(Batch(engine=engine, valuations=tuple(c for _, c in members), labels=labels))
        where.update({label: (b, k) for k, (label, _) in enumerate(members)})
    chunk_size = max(1, int(batches[0].engine.run.chunk_size)) if batches else 1
    return Batches(tuple(batches), int(replications), chunk_size), where


def rerun_npvs(configs: dict, overrides: dict, replications: int, progress: bool) -> dict:
    """Return {label: summary} of each rerun config in `configs`: strategy, replication, npv_usd.

    Run by the executor of the first config, with one bar over every batch's worlds.
    """
    if not configs:
        return {}
    executor = make_executor(validate(next(iter(configs.values()))))
    try:
        return _rerun_npvs(configs, overrides, replications, progress, executor)
    finally:
        executor.close()


def _rerun_npvs(configs: dict, overrides: dict, replications: int, progress: bool,
                executor) -> dict:
    """Return `rerun_npvs`'s tables, every policy trained and every world run on `executor`."""
    work, where = batches_of(configs, overrides, replications, executor)
    n = work.replications
    npv_usd = [np.empty((len(b.valuations), len(b.labels), n)) for b in work.batches]
    bar = tqdm(total=n * len(work.batches), unit="world", desc="robustness", disable=not progress,
               dynamic_ncols=True)
    left = {}

    def tick(start: int, count: int) -> None:
        count = min(count, left.get(start, 0))  # a retried task reports its worlds again
        if count:
            left[start] -= count
            bar.update(count)

    try:
        chunks = work.chunks()
        left.update({lo: hi - lo for lo, hi in chunks})
        for (start, stop), values in executor.map(npv_chunk, work, chunks, tick):
            b, lo = divmod(start, n)
            npv_usd[b][:, :, lo:lo + stop - start] = values
            tick(start, left.get(start, 0))
    finally:
        bar.close()
    tables = {}
    for label, (b, k) in where.items():
        labels = work.batches[b].labels
        tables[label] = pd.DataFrame({
            "strategy": np.tile(labels, n),  # in a run's summary order: by replication
            "replication": np.repeat(np.arange(n), len(labels)),
            "npv_usd": npv_usd[b][k].T.reshape(-1)})
    return tables
