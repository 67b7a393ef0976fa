"""Training the `real_option` policy: least-squares Monte Carlo on worlds of its own, tranche by tranche.

The blocks the strategy may convert are taken in tranches (sim.realoptions.strategy);
tranche k has a rule of its own, trained after the rules of tranches 0..k-1. For each
training world, the site engine runs with the earlier tranches following their fitted
rules and tranche k never started, recording the features on each decision day on
which tranche k is the next one (its option is alive from the day its predecessor
started); then once for each such day with tranche k started on it. The exercise value
of starting on day d is the difference of their unlevered NPVs (`npv_usd`, at day 0).
These values depend on the world's future (the engine plays it out), so the fit
regresses both the exercise value and the value of waiting on the features known on
the day (`lsm_value(..., regress_exercise=True, allowed=...)`): the rule it learns reads
only the present. This is the one place allowed full paths, and only of training
worlds: their seed (`training_seed`) is derived from `run.seed` and is never equal to it.

Each tranche's rule is then judged against "start as soon as it may" and "never" by
cross-validation on the training worlds (`choose_rule`); a tranche whose rule is
"never" ends the training (no later tranche can start).

Costs: per tranche and training world, one engine run plus one per day the tranche may
start on, and one with every tranche started on day 0; at the defaults (64 worlds, 41
days over ten years, two tranches) up to 5,440 runs (`engine_runs` in the run's training
figures), timed by scripts/bench.py.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from sim.config_objects import build_processes
from sim.errors import UserError
from sim.ledger import Account
from sim.realoptions.lsm import lsm_value, path_values
from sim.realoptions.strategy import FEATURES, RealOption, Recording
from sim.site import simulate
from sim.strategies import decision_days
from sim.world import day_grid, iter_worlds

#: Folds of the cross-validation that judges the fitted rule on worlds it was not fitted on.
FOLDS = 4
#: Mixed into the run seed to seed the training worlds ("ROPT").
TRAINING_STREAM = 0x524F5054
#: The rules a tranche may follow (see choose_rule).
RULES = ("lsm", "start_now", "never")


def training_seed(seed: int) -> int:
    """Return the root seed of the training worlds of a run seeded `seed` (never `seed` itself)."""
    derived = int(np.random.SeedSequence([int(seed), TRAINING_STREAM]).generate_state(1)[0])
    return derived if derived != int(seed) else derived + 1


@dataclass(frozen=True)
class Stage:
    """The trained rule of one tranche, with what its training measured.

    Gains are mean NPV gains, over not starting this tranche (the earlier ones following
    their rules), on the training worlds: `in_sample_usd` of the fitted rule (optimistic:
    fitted on them), `cross_validated_usd` of the rule on worlds each fold's rule was not
    fitted on, `start_now_usd` of starting as soon as the tranche may (day 0 for the
    first), `foresight_usd` of a start day chosen knowing each world's future (a bound
    no rule reaches). `start_share` is the share of training worlds where it starts.
    """

    fit: object
    rule: str  # one of RULES (see choose_rule)
    in_sample_usd: float
    cross_validated_usd: float
    start_now_usd: float
    foresight_usd: float
    start_share: float

    def starts(self, step: int, x: np.ndarray) -> bool:
        """Return True if this tranche's rule starts at decision `step` (0 = day 0) on features `x`."""
        if self.rule == "never":
            return False
        if self.rule == "start_now":
            return True
        return bool(np.asarray(self.fit.exercise(step + 1, np.asarray(x, float)[None, :]))[0])

    def describe(self) -> dict:
        """Return the stage's figures as a plain dict."""
        return dict(rule=self.rule, in_sample_usd=self.in_sample_usd,
                    cross_validated_usd=self.cross_validated_usd, start_now_usd=self.start_now_usd,
                    foresight_usd=self.foresight_usd, start_share_in_sample=self.start_share)


@dataclass(frozen=True)
class Policy:
    """The trained rules of the tranches, with what their training measured.

    `stages` holds a `Stage` per tranche trained (the training stops after a tranche whose
    rule is "never"). The totals add up the gains of the rules the tranches follow: each
    tranche's gain is measured with the earlier tranches following their rules, so the sum
    is the gain of the whole policy over never converting (in sample; cross-validated per
    tranche). Each `Stage` keeps its fitted rule's figures, followed or not.
    `all_now_usd` is the mean gain of starting every tranche on day 0 (as convert_all).
    `blocks` and `tranches` are the site's blocks and the tranches they made in training
    (0: a policy of a hashpivot that did not record them); a policy applies only to a
    site that makes the same tranches.
    """

    stages: tuple[Stage, ...]
    decision_days: tuple[int, ...]
    every_months: int
    tranche_blocks: int
    features: tuple[str, ...]
    training_seed: int
    training_replications: int
    all_now_usd: float
    train_seconds: float
    engine_runs: int
    key: str = ""
    blocks: int = 0
    tranches: int = 0

    def __deepcopy__(self, memo) -> Policy:
        """Return self: a policy is never changed, so the engine's copy of a strategy shares it."""
        return self

    def starts(self, stage: int, step: int, x: np.ndarray) -> bool:
        """Return True if tranche `stage` starts at decision `step` (0 = day 0) on features `x`."""
        if step >= len(self.decision_days) or stage >= len(self.stages):
            return False  # past the trained calendar (a longer horizon), or an untrained tranche
        return self.stages[stage].starts(step, x)

    @property
    def in_sample_usd(self) -> float:
        """Return the in-sample gain over never converting of the rules the tranches follow
        (a fixed rule's gain where one replaced the fitted rule: it has nothing fitted)."""
        return float(sum(stage.in_sample_usd if stage.rule == "lsm" else
                         stage.start_now_usd if stage.rule == "start_now" else 0.0
                         for stage in self.stages))

    @property
    def cross_validated_usd(self) -> float:
        """Return the cross-validated gain over never converting of the rules the tranches
        follow (`followed_usd`)."""
        return self.followed_usd

    @property
    def followed_usd(self) -> float:
        """Return the gain the rules followed earned on the training worlds (per tranche:
        cross-validated for a fitted rule, the mean for a fixed one)."""
        return float(sum(stage.cross_validated_usd if stage.rule == "lsm" else
                         stage.start_now_usd if stage.rule == "start_now" else 0.0
                         for stage in self.stages))

    def describe(self) -> dict:
        """Return the training figures as a plain dict (for run.json and the log)."""
        rules = [stage.rule for stage in self.stages]
        return dict(training_replications=self.training_replications,
                    training_seed=self.training_seed, decision_days=len(self.decision_days),
                    tranche_blocks=self.tranche_blocks, rule=",".join(rules),
                    in_sample_usd=self.in_sample_usd, cross_validated_usd=self.cross_validated_usd,
                    followed_usd=self.followed_usd, start_now_usd=self.all_now_usd,
                    stages=[stage.describe() for stage in self.stages],
                    train_seconds=self.train_seconds, engine_runs=self.engine_runs)


def training_settings(cfg):
    """Return `cfg` (typed Settings) on the training worlds' seed."""
    return dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, seed=training_seed(cfg.run.seed)))


def _npv_usd(cfg, world, strategy) -> float:
    """Return the unlevered NPV of running `strategy` over `world`."""
    return float(Account(cfg, world, simulate(cfg, world, strategy)).present_values()["npv_usd"])


def _trainee(strategy: RealOption, policy, stage: int, start_day: int | None,
             record: Recording | None = None) -> RealOption:
    """Return a copy of `strategy` whose tranches before `stage` follow `policy`, whose tranche
    `stage` starts on the first decision day on or after `start_day` (None: never), and
    whose later tranches never start."""
    trainee = copy.deepcopy(strategy)
    trainee.policy, trainee.train_stage, trainee.start_day, trainee.record = policy, stage, start_day, record
    return trainee


def exercise_values(cfg, world, strategy: RealOption, stage: int = 0,
                    policy=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Return, on each decision day of `world`, the features known that day, the NPV gain of
    starting tranche `stage` that day over never starting it, and whether it may start
    that day (its predecessor has started), with the NPV of never starting it.

    The tranches before `stage` follow `policy`; those after it never start."""
    days = decision_days(world.date, strategy.every_months, world.month_starts())
    record = Recording()
    never = _npv_usd(cfg, world, _trainee(strategy, policy, stage, None, record))
    x = np.zeros((len(days), len(FEATURES)))
    gains = np.zeros(len(days))
    alive = np.zeros(len(days), bool)
    starter = _trainee(strategy, policy, stage, None)  # the engine runs a copy: one serves every day
    for step, known in record:
        x[step], alive[step] = known, True
        starter.start_day = days[step]
        gains[step] = _npv_usd(cfg, world, starter) - never
    return x, gains, alive, never


#: The fewest training worlds per chunk of work handed to an executor (small: chunks balance
#: the workers); see `training_chunk`.
TRAINING_CHUNK = 4


def training_chunk(worlds: int, workers: int) -> int:
    """Return the training worlds per chunk on `workers` workers: about four chunks a
    worker, so that they balance, and at least `TRAINING_CHUNK` (the network samples a
    chunk's worlds in one batch, which pays the more worlds it holds)."""
    return max(TRAINING_CHUNK, worlds // (4 * max(workers, 1)))


@dataclass(frozen=True)
class StageJob:
    """What one tranche's training needs on any worker: the training Settings, the strategy,
    the tranche and the rules of the tranches before it."""

    cfg: object
    strategy: RealOption
    stage: int
    policy: Policy
    run_seed: int  # the run's own seed, from which the training seed is derived


def stage_chunk(job: StageJob, start: int, stop: int, progress=None) -> tuple[np.ndarray, ...]:
    """Return tranche `job.stage`'s values on training worlds [start, stop), stacked by world:
    features, gains, where it may start, the NPV of never starting it, and (first tranche
    only, else 0) the NPV of starting every tranche on day 0. `progress`, if given, is called
    with 1 as each world is done. The executors' chunk function: any worker, same numbers."""
    cfg, strategy, stage = job.cfg, job.strategy, job.stage
    processes = build_processes(cfg)
    rows = []
    for world in _training_worlds(cfg, range(start, stop), job.run_seed, processes):
        values = exercise_values(cfg, world, strategy, stage, job.policy)
        first = _npv_usd(cfg, world, _trainee(strategy, ALWAYS, None, None)) if stage == 0 else 0.0
        rows.append(_ticked((*values, first), progress))
    return tuple(np.stack(a) for a in zip(*rows))


def _training_worlds(cfg, replications, run_seed: int, processes=None):
    """Yield the training worlds `replications`, a failure to sample them named as training's."""
    try:
        yield from iter_worlds(cfg, replications, processes)
    except UserError as err:
        raise UserError(f"training real_option on its own worlds (seed {cfg.run.seed}, derived "
                        f"from seed {run_seed}): {err}") from None


def train(cfg, strategy: RealOption, progress=None, key: str = "", mapper=None,
          workers: int = 1) -> Policy:
    """Return the policy of `strategy` trained on `strategy.training_replications` worlds.

    `cfg` is the run's typed Settings; the worlds are sampled on `training_seed(run.seed)`,
    again for each tranche (the same worlds: a world is a function of its seed and number),
    so that a worker holds only its chunk's (at most `sim.world.WORLDS_PER_BATCH` at once). `mapper`, an executor's `map` (sim.executors),
    spreads each tranche's worlds over its `workers` workers in chunks (`training_chunk`);
    None: here, in one chunk. The policy is the same either way. `progress`, if given, is called with
    the number of training worlds done as they finish, for each tranche (the total is
    worlds x tranches at most).
    """
    started = time.perf_counter()
    tcfg = training_settings(cfg)
    n = int(strategy.training_replications)
    size = training_chunk(n, workers)
    chunks = [(lo, min(lo + size, n)) for lo in range(0, n, size)]

    def stage_values(stage: int, policy: Policy):
        """Return tranche `stage`'s values on every world (and, for the first, all-on-day-0 NPVs)."""
        job = StageJob(tcfg, strategy, stage, policy, int(cfg.run.seed))
        if mapper is None:  # here, in one chunk: the processes are built once a tranche
            return stage_chunk(job, 0, n, progress)
        left = {lo: hi - lo for lo, hi in chunks}  # worlds not yet counted, by chunk

        def tick(start: int, done: int) -> None:
            done = min(done, left[start])  # a worker's late report, or a retried chunk's, counts once
            left[start] -= done
            if progress is not None and done:
                progress(done)

        parts = {}
        for chunk, values in mapper(stage_chunk, job, chunks, tick):
            parts[chunk] = values
            tick(chunk[0], left[chunk[0]])  # what its worker had not reported yet
        return (np.concatenate(a) for a in zip(*(parts[c] for c in chunks)))

    # the calendar alone sets the decision days: no world need be drawn here, so a parent
    # whose workers draw the worlds never draws one
    date = day_grid(tcfg.site.start_date, tcfg.run.horizon_years)[1]
    days = tuple(decision_days(date, strategy.every_months))
    blocks, per_project = tcfg.site.blocks, tcfg.site.blocks_per_project
    policy = Policy(stages=(), decision_days=days, every_months=int(strategy.every_months),
                    tranche_blocks=strategy.tranche(per_project), features=FEATURES,
                    training_seed=tcfg.run.seed, training_replications=n, all_now_usd=0.0,
                    train_seconds=0.0, engine_runs=0, key=key, blocks=int(blocks),
                    tranches=strategy.stages(blocks, per_project))
    runs, all_now = n, 0.0  # n: the all-on-day-0 runs
    for stage in range(strategy.stages(blocks, per_project)):
        x, gain, alive, never, now = stage_values(stage, policy)
        runs += n + int(alive.sum())
        if stage == 0:  # nothing converted yet: the gain of starting every tranche on day 0
            all_now = float((now - never).mean())
        policy = dataclasses.replace(policy, stages=(*policy.stages, fit_stage(strategy, x, gain, alive)))
        if policy.stages[-1].rule == "never":
            break
    return dataclasses.replace(policy, all_now_usd=all_now, engine_runs=runs,
                               train_seconds=time.perf_counter() - started)


class _Always:
    """A policy that starts every tranche at once (for the all-on-day-0 comparison)."""

    def starts(self, stage: int, step: int, x) -> bool:
        """Return True: start now."""
        return True

    def __deepcopy__(self, memo) -> _Always:
        return self


ALWAYS = _Always()


def _ticked(value, progress):
    """Return `value` after reporting one training world done to `progress` (if any)."""
    if progress is not None:
        progress(1)
    return value


def fit_stage(strategy: RealOption, x: np.ndarray, gain: np.ndarray, alive: np.ndarray) -> Stage:
    """Return the trained rule of one tranche from its features (worlds, steps, k), gains and
    where it may start (worlds, steps)."""
    n = len(x)
    # LSM's step 0 is "before deciding": the state of day 0 again, nothing to exercise.
    state = np.concatenate([x[:, :1], x], axis=1)
    exercise = np.concatenate([np.zeros((n, 1)), gain], axis=1)
    allowed = np.concatenate([np.zeros((n, 1), bool), alive], axis=1)
    options = dict(degree=int(strategy.degree), basis=strategy.basis, regress_exercise=True)
    fit = lsm_value(state, exercise, 1.0, allowed=allowed, **options)  # gains are present values at day 0
    validated_by_world = cross_validated_by_world(state, exercise, options, allowed)
    validated = float(validated_by_world.mean())
    may = alive.any(axis=1)
    first = np.argmax(alive, axis=1)
    start_now_by_world = np.where(may, gain[np.arange(n), first], 0.0)
    start_now = float(start_now_by_world.mean())
    rule = choose_rule(validated_by_world, start_now_by_world)
    share = {"lsm": float(np.mean(np.asarray(fit.stop_step) >= 1)), "start_now": float(may.mean()),
             "never": 0.0}[rule]
    return Stage(fit=fit, rule=rule, in_sample_usd=float(fit.value), cross_validated_usd=validated,
                 start_now_usd=start_now, foresight_usd=float(np.where(alive, gain, 0.0).max(axis=1).clip(0).mean()),
                 start_share=share)




def cross_validated_by_world(state: np.ndarray, exercise: np.ndarray, options: dict,
                             allowed=None) -> np.ndarray:
    """Return each training world's gain under the LSM rule fitted on the other folds.

    The worlds are split into `FOLDS` folds (world i in fold i mod FOLDS); each fold is
    valued by the rule fitted on the others (`path_values`). No engine run is repeated:
    only the regressions are.
    """
    n = len(state)
    folds = min(FOLDS, n)
    values = np.zeros(n)
    for fold in range(folds):
        held = np.arange(n) % folds == fold
        mask = None if allowed is None else (allowed[~held], allowed[held])
        fit = lsm_value(state[~held], exercise[~held], 1.0, allowed=None if mask is None else mask[0], **options)
        values[held] = path_values(fit, state[held], exercise[held], 1.0,
                                   None if mask is None else mask[1])
    return values


def choose_rule(cross_validated, start_now) -> str:
    """Return the rule a tranche follows, from each training world's gain under the fitted
    rule (cross-validated) and under starting as soon as it may.

    The better of the two rules that learn nothing (start as soon as it may; never start:
    a gain of 0) unless the fitted rule beats it by more than one standard error of their
    paired difference over the worlds (the one-standard-error rule of model selection): a
    fitted rule must earn its complexity, not win on the noise of 64 worlds. The fitted
    rule is judged on worlds it was not fitted on; the fixed rules have nothing to fit, so
    their values on the training worlds are already out of sample. Model selection on
    training worlds only: the evaluation worlds are never read.
    """
    fitted, now = np.atleast_1d(np.asarray(cross_validated, dtype=float)), np.atleast_1d(
        np.asarray(start_now, dtype=float))
    rule, fixed = ("start_now", now) if now.mean() > 0.0 else ("never", np.zeros_like(now))
    gap = fitted - fixed
    error = gap.std(ddof=1) / np.sqrt(len(gap)) if len(gap) > 1 else 0.0
    return "lsm" if gap.mean() > error else rule
