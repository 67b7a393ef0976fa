"""The `real_option` strategy: start converting when converting now is worth more than waiting.

Converting a site is an option: irreversible, costly, and worth waiting for while mining
still pays and lease prices are uncertain. At each decision day (every `every_months`
months) a site that has not started yet asks its fitted policy whether to start: the
policy compares, from features known that day (`FEATURES`), the estimated value of
starting the conversion programme now with the estimated value of waiting (least-squares
Monte Carlo, sim.realoptions.lsm). Once started, it converts every block it may (up to
`max_share`) as fast as crews allow, as `convert_all` does; "how fast" is a parameter
search (hashpivot-optimize), "when" is this strategy's question.

The policy is trained once per run, on worlds of a seed stream of their own
(sim.realoptions.training); this module only acts on it, with information up to each
decision day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.params import Checked, Text, param
from sim.strategies import Preleasing, Strategy, _max_share, _prelease, _use

#: What the policy regresses on, each known on the decision day (see `features`).
FEATURES = (
    "log_hashprice_30d",          # log of the trailing 30-day mean hashprice, USD/PH/day
    "lease_usd_per_kw_month",     # the lease index of the day
    "log_gpu_usd_per_hour",       # log of the GPU rental index of the day
    "power_usd_per_mwh_90d",      # trailing 90-day mean power price
    "days_to_halving",            # expected days to the next halving, at 144 blocks a day
    "tenant_mw_it_365d",          # IT MW tenants asked for in the trailing year
)
BLOCKS_PER_HALVING = 210_000
BLOCKS_PER_DAY = 144.0


def features(view) -> np.ndarray:
    """Return the policy's features (`FEATURES`) on the view's day, from the view alone."""
    day = view.day
    height = float(view.block_height[-1])
    next_halving = (height // BLOCKS_PER_HALVING + 1) * BLOCKS_PER_HALVING
    requests = view.tenant_requests
    recent = requests["mw_it"].to_numpy(float)[requests["day"].to_numpy() > day - 365]
    return np.array([
        np.log(float(view.hashprice_usd_per_ph_day[-30:].mean())),
        float(view.lease_usd_per_kw_month[-1]),
        np.log(float(view.gpu_usd_per_hour[-1])),
        float(view.power_usd_per_mwh[-90:].mean()),
        (next_halving - height) / BLOCKS_PER_DAY,
        float(recent.sum()),
    ])


class NotTrained(RuntimeError):
    """A real_option strategy acted before a policy was trained for it."""


@dataclass
class RealOption(Checked, Preleasing, Strategy):
    """Start the conversion programme when the fitted policy says converting now beats waiting.

    Trained by least-squares Monte Carlo on `training_replications` worlds of their own
    seed stream; acts on every world with what it knows on each decision day.
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
    max_share: float = _max_share(1.0)
    use: str = _use()
    prelease: bool = _prelease()
    #: The trained policy (sim.realoptions.training.Policy): not a config key; the run
    #: trains it and hands it over in the strategy's node (sim.config.build_strategies).
    policy: object = field(default=None, init=False, repr=False, compare=False)
    #: Training only: start on the first decision day on or after this day, whatever the policy.
    start_day: int | None = field(default=None, init=False, repr=False, compare=False)
    _step: int = field(default=0, init=False, repr=False, compare=False)  # run state
    _started: bool = field(default=False, init=False, repr=False, compare=False)

    @property
    def decide_every_months(self) -> int:
        """Return the months between decisions."""
        return self.every_months

    def decide(self, day, view, site):
        """Return the conversions of the programme once started; decide whether to start if not."""
        if not self._started:
            self._started = self._start_now(day, view)
            self._step += 1
        if not self._started:
            return []
        return self.convert(self.room(site, self.max_share))

    def _start_now(self, day: int, view) -> bool:
        """Return True if the programme starts on `day` (the policy's rule at this step)."""
        if self.start_day is not None:
            return day >= self.start_day
        if self.policy is None:
            raise NotTrained("the real_option strategy has no trained policy: run it through "
                             "sim.run (or set its policy with sim.realoptions.training.train)")
        return self.policy.starts(self._step, features(view))
