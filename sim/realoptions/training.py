"""Training the `real_option` policy: least-squares Monte Carlo on worlds of its own.

For each training world, the site engine runs the strategy's conversion programme
started on each decision day in turn, and once without converting; the exercise value
of starting on day d is the difference of their unlevered NPVs (`npv_usd`, at day 0).
These values depend on the world's future (the engine plays it out), so the fit
regresses both the exercise value and the value of waiting on the features known on
the day (`lsm_value(..., regress_exercise=True)`): the rule it learns reads only the
present. This is the one place allowed full paths, and only of training worlds: their
seed (`training_seed`) is derived from `run.seed` and is never equal to it.

Costs: (decision days + 1) engine runs per training world; at the defaults (64 worlds,
41 days over ten years) a few thousand runs, measured by scripts/bench.py.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from sim.config import build_processes
from sim.errors import UserError
from sim.ledger import Account
from sim.realoptions.lsm import lsm_value, policy_value
from sim.realoptions.strategy import FEATURES, RealOption, features
from sim.site import simulate
from sim.strategies import Strategy, decision_days
from sim.view import MarketView, Past
from sim.world import sample_world

#: Folds of the cross-validation that judges the fitted rule on worlds it was not fitted on.
FOLDS = 4
#: Mixed into the run seed to seed the training worlds ("ROPT").
TRAINING_STREAM = 0x524F5054


def training_seed(seed: int) -> int:
    """Return the root seed of the training worlds of a run seeded `seed` (never `seed` itself)."""
    derived = int(np.random.SeedSequence([int(seed), TRAINING_STREAM]).generate_state(1)[0])
    return derived if derived != int(seed) else derived + 1


@dataclass(frozen=True)
class Policy:
    """A trained start rule, with what its training measured.

    `in_sample_usd` is the mean gain in NPV over not converting that the fitted rule earns
    on the training worlds (optimistic: fitted on them); `cross_validated_usd` the same
    gain on worlds each fold's rule was not fitted on; `start_now_usd` the mean gain of
    starting on day 0 on the same worlds, `foresight_usd` the mean gain of a start day
    chosen knowing each world's future (an upper bound no rule reaches).
    """

    fit: object
    rule: str  # "lsm", "start_now" or "never" (see choose_rule)
    decision_days: tuple[int, ...]
    every_months: int
    features: tuple[str, ...]
    training_seed: int
    training_replications: int
    in_sample_usd: float
    cross_validated_usd: float
    start_now_usd: float
    foresight_usd: float
    start_share_in_sample: float
    train_seconds: float
    engine_runs: int
    key: str = ""

    def __deepcopy__(self, memo) -> Policy:
        """Return self: a policy is never changed, so the engine's copy of a strategy shares it."""
        return self

    def starts(self, step: int, x: np.ndarray) -> bool:
        """Return True if the rule starts converting at decision `step` (0 = day 0) on features `x`."""
        if step >= len(self.decision_days) or self.rule == "never":
            return False  # past the trained calendar (a longer horizon): never start
        if self.rule == "start_now":
            return True
        return bool(np.asarray(self.fit.exercise(step + 1, np.asarray(x, float)[None, :]))[0])

    def describe(self) -> dict:
        """Return the training figures as a plain dict (for run.json and the log)."""
        return dict(training_replications=self.training_replications,
                    training_seed=self.training_seed, decision_days=len(self.decision_days),
                    rule=self.rule, in_sample_usd=self.in_sample_usd,
                    cross_validated_usd=self.cross_validated_usd, start_now_usd=self.start_now_usd,
                    foresight_usd=self.foresight_usd,
                    start_share_in_sample=self.start_share_in_sample,
                    train_seconds=self.train_seconds, engine_runs=self.engine_runs)


def training_settings(cfg):
    """Return `cfg` (typed Settings) on the training worlds' seed."""
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=training_seed(cfg.run.seed)))


def _npv_usd(cfg, world, strategy) -> float:
    """Return the unlevered NPV of running `strategy` over `world`."""
    return float(Account(cfg, world, simulate(cfg, world, strategy)).present_values()["npv_usd"])


def exercise_values(cfg, world, strategy: RealOption) -> tuple[np.ndarray, np.ndarray]:
    """Return (features, gains) on each decision day of `world`: the features known that day
    and the NPV gain, over never converting, of starting the programme that day."""
    days = decision_days(world, strategy.every_months)
    never = _npv_usd(cfg, world, Strategy())
    x = np.empty((len(days), len(FEATURES)))
    gains = np.empty(len(days))
    past = Past(world)  # the views' paths are slices of one copy, filled as the days advance
    starter = copy.deepcopy(strategy)  # the engine runs a copy of it: one is enough for every day
    starter.policy = None
    for step, day in enumerate(days):
        x[step] = features(MarketView(world, day, past))
        starter.start_day = day
        gains[step] = _npv_usd(cfg, world, starter) - never
    return x, gains


def train(cfg, strategy: RealOption, progress=None, key: str = "") -> Policy:
    """Return the policy of `strategy` trained on `strategy.training_replications` worlds.

    `cfg` is the run's typed Settings; the worlds are sampled on `training_seed(run.seed)`.
    `progress`, if given, is called with 1 as each training world is done.
    """
    started = time.perf_counter()
    tcfg = training_settings(cfg)
    processes = build_processes(tcfg)
    n = int(strategy.training_replications)
    xs, gains, days = [], [], None
    for replication in range(n):
        try:
            world = sample_world(tcfg, replication, processes=processes)
            x, gain = exercise_values(tcfg, world, strategy)
        except UserError as err:
            raise UserError(f"training real_option on its own worlds (seed {tcfg.run.seed}, derived "
                            f"from seed {cfg.run.seed}), world {replication}: {err}") from None
        days = days or tuple(decision_days(world, strategy.every_months))
        xs.append(x)
        gains.append(gain)
        if progress is not None:
            progress(1)
    x, gain = np.stack(xs), np.stack(gains)  # (worlds, steps, features), (worlds, steps)
    # LSM's step 0 is "before deciding": the state of day 0 again, nothing to exercise.
    state = np.concatenate([x[:, :1], x], axis=1)
    exercise = np.concatenate([np.zeros((n, 1)), gain], axis=1)
    options = dict(degree=int(strategy.degree), basis=strategy.basis, regress_exercise=True)
    fit = lsm_value(state, exercise, 1.0, **options)  # gains are present values at day 0
    validated = cross_validated_usd(state, exercise, options)
    start_now = float(gain[:, 0].mean())
    rule = choose_rule(validated, start_now)
    stops = np.asarray(fit.stop_step)
    started_share = {"lsm": float(np.mean(stops >= 1)), "start_now": 1.0, "never": 0.0}[rule]
    return Policy(
        fit=fit, rule=rule, decision_days=days, every_months=int(strategy.every_months),
        features=FEATURES, training_seed=tcfg.run.seed, training_replications=n,
        in_sample_usd=float(fit.value), cross_validated_usd=validated, start_now_usd=start_now,
        foresight_usd=float(np.maximum(gain, 0).max(axis=1).mean()),
        start_share_in_sample=started_share,
        train_seconds=time.perf_counter() - started, engine_runs=n * (len(days) + 1), key=key)


def cross_validated_usd(state: np.ndarray, exercise: np.ndarray, options: dict) -> float:
    """Return the mean gain of the LSM rule on training worlds it was not fitted on.

    The worlds are split into `FOLDS` folds (world i in fold i mod FOLDS); each fold is
    valued by the rule fitted on the others (`policy_value`), and the folds' values are
    averaged by their worlds. No engine run is repeated: only the regressions are.
    """
    n = len(state)
    folds = min(FOLDS, n)
    total = 0.0
    for fold in range(folds):
        held = np.arange(n) % folds == fold
        fit = lsm_value(state[~held], exercise[~held], 1.0, **options)
        total += policy_value(fit, state[held], exercise[held], 1.0) * held.sum()
    return float(total / n)


def choose_rule(cross_validated: float, start_now: float) -> str:
    """Return the rule the strategy follows: the LSM rule, unless one of the two rules that
    learn nothing (start on day 0; never start) did better on the training worlds.

    The fitted rule is judged on worlds it was not fitted on (`cross_validated_usd`); the
    two fixed rules have nothing to fit, so their mean on the training worlds is already
    out of sample. Model selection on training worlds only: the evaluation worlds are
    never read.
    """
    best = max(("lsm", cross_validated), ("start_now", start_now), ("never", 0.0), key=lambda kv: kv[1])
    return best[0]
