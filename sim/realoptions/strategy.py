"""The `real_option` strategy: convert the next tranche when converting now is worth more than waiting.

Converting a block is an option: irreversible, costly, and worth waiting for while mining
still pays and lease prices are uncertain. The blocks the strategy may convert (up to
`max_share`) are taken in tranches of `tranche_blocks` (by default the site's
`blocks_per_project`: what a crew converts together), in order. At each decision day
(every `every_months` months), for the next tranche still mining, the strategy asks its
fitted policy whether to start converting it now: the policy compares, from features
known that day (`FEATURES`: the market's, and the site's tenants waiting for halls), the
estimated value of starting that tranche now with the estimated value of waiting
(least-squares Monte Carlo, sim.realoptions.lsm). The blocks already committed select
the rule: tranche k has a rule of its own, fitted on the days its predecessor had
started. Several tranches may start on one day. A tranche started converts as fast as
crews allow; "how fast" is a parameter search (hashpivot-optimize), "when, block by
block" is this strategy's question.

The policy is trained once per run, on worlds of a seed stream of their own
(sim.realoptions.training); this module only acts on it, with information up to each
decision day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.params import Checked, Text, param
from sim.strategies import Preleasing, Strategy, _max_share, _prelease, _use
from sim.view import requested_mw_it, trailing_mean

#: What the policy regresses on, each known on the decision day (see `features`).
FEATURES = (
    "log_hashprice_30d",          # log of the trailing 30-day mean hashprice, USD/PH/day
    "lease_usd_per_kw_month",     # the lease index of the day
    "log_gpu_usd_per_hour",       # log of the GPU rental index of the day
    "power_usd_per_mwh_90d",      # trailing 90-day mean power price
    "days_to_halving",            # expected days to the next halving, at 144 blocks a day
    "tenant_mw_it_365d",          # IT MW tenants asked for in the trailing year
    "tenants_waiting_mw_it",      # IT MW owed to signed tenants waiting for halls (the site's)
)
BLOCKS_PER_HALVING = 210_000
BLOCKS_PER_DAY = 144.0


def features(view, site) -> np.ndarray:
    """Return the policy's features (`FEATURES`) on the view's day, from the views alone.

    Read through sim.view's helpers, not by slicing the paths and the request table: the
    same numbers, bit for bit, at a fraction of the cost (training asks thousands of times).
    """
    day = view.day
    height = view.at("block_height", day)
    next_halving = (height // BLOCKS_PER_HALVING + 1) * BLOCKS_PER_HALVING
    return np.array([
        np.log(trailing_mean(view, "hashprice_usd_per_ph_day", 30)),
        view.at("lease_usd_per_kw_month", day),
        np.log(view.at("gpu_usd_per_hour", day)),
        trailing_mean(view, "power_usd_per_mwh", 90),
        (next_halving - height) / BLOCKS_PER_DAY,
        requested_mw_it(view, 365),
        float(site.tenants_waiting_mw_it),
    ])


class Recording(list):
    """The (step, features) a training run records; the engine's copy of the strategy shares it."""

    def __deepcopy__(self, memo) -> Recording:
        """Return self, so that what the engine's copy records reaches the trainer."""
        return self


class NotTrained(RuntimeError):
    """A real_option strategy acted before a policy was trained for it."""


@dataclass
class RealOption(Checked, Preleasing, Strategy):
    """Start converting the next tranche of blocks when the fitted policy says now beats waiting.

    Trained by least-squares Monte Carlo on `training_replications` worlds of their own
    seed stream, a rule per tranche; acts on every world with what it knows on each
    decision day.
    """

    every_months: int = param(3, unit="months", low=1, integer=True,
                              doc="months between decisions (training uses the same days)")
    training_replications: int = param(64, unit="worlds", low=2, integer=True,
                                       doc="worlds the policy is trained on (own seed stream)")
    degree: int = param(1, unit="-", low=1, high=3, integer=True,
                        doc="degree of the polynomial basis of the regressions")
    basis: str = param("power", unit="-", choices=("power", "laguerre"),
                       doc="polynomial family of the regressions")
    fit_file: str | None = param(None, unit="path", rule=Text(nullable=True),
                                 doc="a trained policy to use instead of training (fits/<label>.pkl "
                                     "of another run); null trains one")
    tranche_blocks: int | None = param(None, unit="blocks", low=1, integer=True, nullable=True,
                                       doc="blocks each start converts (a tranche, with a rule of its "
                                           "own); null: the site's blocks_per_project")
    max_share: float = _max_share(1.0)
    use: str = _use()
    prelease: bool = _prelease()
    #: The trained policy (sim.realoptions.training.Policy): not a config key; the run
    #: trains it and hands it over in the strategy's node (sim.config_objects.build_strategies).
    policy: object = field(default=None, init=False, repr=False, compare=False)
    #: Training only (sim.realoptions.training): the tranche being trained. Earlier tranches
    #: follow `policy`, later ones never start; this one starts on the first decision day on
    #: or after `start_day` (None: never), and `record`, a Recording, gets (step, features) at
    #: each decision where it is the next tranche.
    train_stage: int | None = field(default=None, init=False, repr=False, compare=False)
    start_day: int | None = field(default=None, init=False, repr=False, compare=False)
    record: Recording | None = field(default=None, init=False, repr=False, compare=False)
    _step: int = field(default=0, init=False, repr=False, compare=False)  # run state
    _stage: int = field(default=0, init=False, repr=False, compare=False)  # tranches started

    @property
    def decide_every_months(self) -> int:
        """Return the months between decisions."""
        return self.every_months

    def tranche(self, blocks_per_project: int) -> int:
        """Return the blocks of one tranche on a site converting `blocks_per_project` together."""
        return int(self.tranche_blocks or blocks_per_project)

    def allowed(self, n_blocks: int) -> int:
        """Return the blocks this strategy may convert on a site of `n_blocks`."""
        return math.floor(self.max_share * n_blocks + 1e-9)

    def stages(self, n_blocks: int, blocks_per_project: int) -> int:
        """Return the tranches the blocks this strategy may convert make."""
        return math.ceil(self.allowed(n_blocks) / self.tranche(blocks_per_project))

    def decide(self, day, view, site):
        """Return the conversions of the tranches started, after deciding which start today."""
        n_blocks, per_project = site.n_blocks, site.blocks_per_project  # fixed facts: read once
        stages = self.stages(n_blocks, per_project)
        while self._stage < stages and self._start_now(self._stage, day, view, site):
            self._stage += 1
        self._step += 1
        return self.convert(self._to_convert(site))

    def _to_convert(self, site) -> int:
        """Return the blocks still to convert for the tranches started (>= 0): up to their
        target, at most those mining and free."""
        target = min(self._stage * self.tranche(site.blocks_per_project), self.allowed(site.n_blocks))
        return max(0, min(target - site.blocks_committed, site.blocks_mining))

    def finished(self, site):
        """Return True once no later decision could convert a block, unless training records
        its decisions: once the share left is none or, in training, once the tranche being
        trained has started and its blocks are committed (the tranches after it never start,
        so the conversion target is fixed: `decide` would return nothing again)."""
        if self.record is not None:
            return False
        if self.train_stage is not None and self._stage > self.train_stage:
            return self._to_convert(site) == 0
        return self.room(site, self.max_share) == 0

    def _start_now(self, stage: int, day: int, view, site) -> bool:
        """Return True if tranche `stage` (0 = the first) starts on `day`."""
        if self.train_stage is not None and stage >= self.train_stage:
            if stage > self.train_stage:
                return False
            if self.record is not None:
                self.record.append((self._step, features(view, site)))
            return self.start_day is not None and day >= self.start_day
        if self.policy is None:
            raise NotTrained("the real_option strategy has no trained policy: run it through "
                             "sim.run (or set its policy with sim.realoptions.training.train)")
        return self.policy.starts(stage, self._step, features(view, site))
