"""Market processes: the stochastic paths a sampled world is made of.

A process is any importable class configured by ``_target_`` plus its constructor
arguments. Its one method, ``sample(days, rng, upstream)``, returns the World fields it
owns (`sim.world.PROCESS_FIELDS`): ``days`` is the integer day grid, ``rng`` a
`numpy.random.Generator` (``None`` under ``run.deterministic=true``, where the process
returns its expected path), and ``upstream`` a read-only mapping of the paths sampled
before it (``day``, ``date``, then ``btc_usd``, the network fields and
``hashprice_usd_per_ph_day``, ...). Built-ins, one module per family: `btc`,
`network` (and `network_economic`, hashrate from miner economics), `power`, `ai`, `demand`,
`rates` (the short rate of floating-rate debt).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Process(Protocol):
    """A market process: samples the World fields it owns on a day grid."""

    def sample(self, days: np.ndarray, rng: np.random.Generator | None,
               upstream: Mapping[str, object]) -> dict:
        """Return the World fields this process owns, by name."""
        ...
