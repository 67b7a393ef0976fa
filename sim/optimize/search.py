"""The search: Optuna's TPE sampler proposes strategy parameters, each trial runs the same worlds.

Every trial runs the strategy over the same `replications` worlds (run seed `seed`:
common random numbers), so two trials differ only by their parameters and are compared
pair by pair; a parameter set already tried is not run again (same worlds, same value).
The configured strategy (the baseline: its defaults and the user's overrides) is the
first trial when it lies in the space. Trials are kept in Optuna's SQLite storage
(``optuna.db``) in the output directory, so the same command resumes where it stopped;
another search in that directory is refused. The best trial's value is optimistic,
being selected on the search worlds; it is therefore run again, next to the baseline,
on fresh worlds (a seed derived from the run seed) and their paired difference reported.
A trial whose metric is undefined in any world (a payback never reached, an IRR that
does not exist) is refused, not scored on the other worlds, as compare leaves such a
strategy out of its ranking.

The Hydra Optuna sweeper is not used: it pins Optuna below 3. Optuna is an optional
dependency (``pip install 'hashpivot[optimize]'``), imported when a search starts.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf, open_dict
from tqdm.auto import tqdm

from sim.arguments import ArgumentError, check_output_dir, whole_argument
from sim.compare.stats import paired_difference
from sim.config import compose
from sim.config_objects import build_strategies
from sim.config_tree import check_config_dirs
from sim.errors import UserError
from sim.montecarlo import run
from sim.ranges import with_values
from sim.rundir import check_only_own
from sim.optimize.result import Optimum, remove_best, trials_table, write_outputs
from sim.optimize.space import Dimension, init_defaults, parse_space
from sim.selection import metric_higher_is_better

STUDY_NAME = "hashpivot-optimize"
DATABASE = "optuna.db"
#: Settings every trial runs with: one summary row per world, nothing else written or shown.
FIXED = {"run.detail": "summary", "run.compare": False, "run.robustness.replications": 0,
         "run.progress": False, "run.until_confident": None}
#: The config keys the search's own arguments set, by key.
OWNED_BY = {"strategy": "strategy", "run.seed": "seed", "run.replications": "replications"}
#: Keys the search sets itself (its arguments, and FIXED), refused as overrides.
OWNED = (*OWNED_BY, *FIXED)
#: SeedSequence spawn keys of the streams derived from the run seed.
FRESH_STREAM, SAMPLER_STREAM = 0x0F4E5, 0x5A3

INSTALL = "Optuna is not installed; install it with: pip install 'hashpivot[optimize]' (or: pip install 'optuna>=3.4')"


def _optuna():
    """Return the optuna module, or raise UserError saying how to install it."""
    try:
        optuna = import_module("optuna")
    except ImportError:
        raise UserError(INSTALL) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


@dataclass(frozen=True)
class Plan:
    """A checked search: its base config and everything that makes two searches the same one."""

    cfg: object
    strategy: str
    dimensions: tuple[Dimension, ...]
    metric: str
    direction: str
    replications: int
    seed: int
    overrides: tuple[str, ...]

    def signature(self) -> dict:
        """Return what identifies this search (stored with the study; a resume must match it)."""
        return dict(strategy=self.strategy, space={d.key: d.spec for d in self.dimensions},
                    metric=self.metric, direction=self.direction,
                    replications=self.replications, seed=self.seed, overrides=list(self.overrides))

    def baseline(self) -> dict:
        """Return the configured values of the searched parameters (defaults and overrides):
        the config's, else the built strategy's attribute, else (a plain class that keeps it
        under another name) its `__init__` default."""
        node = self.cfg.strategy[self.strategy]
        instance = build_strategies(self.cfg)[_label(self.cfg, self.strategy)]
        defaults = init_defaults(type(instance))
        values = {}
        for dimension in self.dimensions:
            name = dimension.key.rpartition(".")[2]
            values[dimension.key] = (node[name] if name in node
                                     else getattr(instance, name, defaults.get(name)))
        return values


def _label(cfg, strategy: str) -> str:
    node = cfg.strategy[strategy]
    return str(node.get("name") or strategy)


def fresh_seed(seed: int) -> int:
    """Return the seed of the fresh worlds: drawn from `seed` by SeedSequence, never `seed` itself."""
    words = np.random.SeedSequence(seed, spawn_key=(FRESH_STREAM,)).generate_state(4, np.uint32)
    return next(int(w) for w in words if int(w) != seed)


def sampler_seed(seed: int, trials_done: int) -> int:
    """Return the TPE sampler's seed for a search resumed after `trials_done` trials."""
    return int(np.random.SeedSequence(seed, spawn_key=(SAMPLER_STREAM, trials_done)).generate_state(1)[0])


def prepare(strategy: str, space: dict, overrides=(), metric: str = "npv_usd",
            direction: str | None = None, replications: int = 200, seed: int | None = None,
            config_dirs=()) -> Plan:
    """Return the checked Plan of a search; raise UserError (one line) on anything wrong in it."""
    overrides = tuple(overrides)
    check_config_dirs(config_dirs)  # composing would only warn, and search without them
    keys = {override.partition("=")[0].lstrip("+~"): override for override in overrides}
    owned = [key for key in keys if key in OWNED]
    if owned:
        override, argument = keys[owned[0]], OWNED_BY.get(owned[0])
        if argument is None:
            raise UserError(f"{override}: fixed by the search for every trial; drop this override")
        raise ArgumentError(lambda name: f"{override}: set by {name(argument)}; drop this override")
    replications = whole_argument("replications", replications, 2)
    if seed is not None:  # named as the caller gave it, not as the run.seed it becomes
        seed = whole_argument("seed", seed, 0)
    fixed = [f"{k}={'null' if v is None else str(v).lower()}" for k, v in FIXED.items()]
    cfg = compose([f"strategy={strategy}", *overrides, *fixed, f"run.replications={replications}"]
                  + ([f"run.seed={int(seed)}"] if seed is not None else []), config_dirs)
    strategy_class = type(build_strategies(cfg)[_label(cfg, strategy)])
    dimensions = parse_space(space, strategy, strategy_class)
    searched = [key for key in keys if key in space]
    if searched:
        raise ArgumentError(lambda name: f"{keys[searched[0]]}: {searched[0]} is searched "
                                         f"({name('space')}); drop this override")
    columns = summary_columns(cfg)
    if metric not in columns:
        raise ArgumentError(lambda name: f"{name('metric', metric)}: not a summary column; "
                                         f"one of {', '.join(columns)}")
    if direction is None:
        direction = "max" if metric_higher_is_better(metric) else "min"
    if direction not in ("max", "min"):
        raise ArgumentError(lambda name: f"{name('direction', direction)}: must be max or min")
    plan = Plan(cfg, strategy, dimensions, metric, direction, replications,
                int(cfg.run.seed), overrides)
    for dimension in dimensions:  # each end of each range, the others as configured
        for value in (dimension.choices or (dimension.low, dimension.high)):
            refused = refusal(with_params(cfg, strategy, {dimension.key: value}))
            if refused:
                raise UserError(f"{dimension.key}={dimension.spec}: strategy {strategy} refuses "
                                f"{value!r} ({refused})")
    return plan


def summary_columns(cfg) -> list[str]:
    """Return the numeric summary columns a run of `cfg` writes (one world, one year, probed)."""
    probe = with_values(cfg, {"run.replications": 1, "run.horizon_years": 1})
    summary = run(probe).summary
    return [c for c in summary.columns if c not in ("strategy", "replication")]


def with_params(cfg, strategy: str, params: dict, seed: int | None = None,
                replications: int | None = None):
    """Return a copy of `cfg` with the strategy's `params` (dotted keys) and, if given, seed and replications."""
    values = dict(params)
    if seed is not None:
        values["run.seed"] = int(seed)
    if replications is not None:
        values["run.replications"] = int(replications)
    return with_values(cfg, values)


def refusal(cfg) -> str | None:
    """Return why the strategies of `cfg` cannot be built with these parameters, or None."""
    try:
        build_strategies(cfg)
    except UserError as err:
        return str(err)
    return None


def objective(summary, metric: str) -> float:
    """Return the mean of `metric` over every world, or NaN if it is undefined in any.

    A trial is scored only where its metric is defined in every world, as compare ranks
    only such strategies: a mean over the worlds that define it (a payback reached, an
    IRR that exists) would favour the parameters that fail most.
    """
    values = summary[metric].to_numpy(dtype=float)
    return float(values.mean()) if values.size and np.isfinite(values).all() else float("nan")


def undefined_reason(summary, metric: str) -> str:
    """Return why a trial's `metric` gives it no value: the worlds where it is undefined."""
    values = summary[metric].to_numpy(dtype=float)
    missing = int((~np.isfinite(values)).sum())
    if missing == values.size:
        return f"{metric} is undefined in every world"
    return (f"{metric} is undefined in {missing} of {values.size} worlds (a trial is scored "
            "only where it is defined in every world)")


def evaluate(plan: Plan, params: dict, seed: int | None = None, replications: int | None = None):
    """Return the Result of the strategy with `params` on the plan's worlds (or `seed`'s)."""
    return run(with_params(plan.cfg, plan.strategy, params, seed if seed is not None else plan.seed,
                           replications or plan.replications))


# --- the study ---------------------------------------------------------------------------------
def open_study(plan: Plan, out_dir):
    """Return the Optuna study of `plan`: resumed from `out_dir`/optuna.db, or new (in memory without `out_dir`)."""
    optuna = _optuna()
    direction = "maximize" if plan.direction == "max" else "minimize"
    storage = None
    if out_dir is not None:
        check_output_dir(out_dir, "out_dir")
        if not (Path(out_dir) / DATABASE).exists():  # else an earlier search's: resumed or refused
            check_only_own(out_dir, (), lambda why: ArgumentError(
                lambda name: f"{name('out_dir', out_dir)}: {why}"), "a search's",
                "a search writes its trials and best parameters")
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        storage = optuna.storages.RDBStorage(f"sqlite:///{Path(out_dir).resolve() / DATABASE}")
        if STUDY_NAME in optuna.get_all_study_names(storage):
            study = optuna.load_study(study_name=STUDY_NAME, storage=storage)
            _check_same_search(study, plan, out_dir)
            _fail_stale(study, optuna)
            _enqueue_baseline(study, plan, optuna)
            return study
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, direction=direction)
    study.set_user_attr("search", json.dumps(plan.signature(), sort_keys=True))
    _enqueue_baseline(study, plan, optuna)
    return study


def _enqueue_baseline(study, plan: Plan, optuna) -> None:
    """Queue the configured strategy as the next trial, if it lies in the space and is not done or queued."""
    states = optuna.trial.TrialState
    kept = (states.COMPLETE, states.PRUNED, states.WAITING)
    if any(t.user_attrs.get("baseline") for t in study.get_trials(deepcopy=False, states=kept)):
        return
    baseline = plan.baseline()
    if all(d.contains(baseline[d.key]) for d in plan.dimensions):
        study.enqueue_trial(baseline, user_attrs={"baseline": True})


def _check_same_search(study, plan: Plan, out_dir) -> None:
    """Raise UserError unless the study in `out_dir` is the same search as `plan`."""
    stored = json.loads(study.user_attrs.get("search", "{}"))
    wanted = plan.signature()
    differ = [k for k in wanted if stored.get(k) != wanted[k]]
    if differ:
        raise ArgumentError(lambda name: f"{name('out_dir', out_dir)}: holds another search "
                                         f"(different {', '.join(differ)}); rerun that search to "
                                         f"resume it, or choose another {name('out_dir')}")


def _fail_stale(study, optuna) -> None:
    """Mark trials left running by an interrupted command as failed (they are run again)."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)


def finished(study) -> list:
    """Return the trials that count toward `trials`: completed, or refused by the strategy."""
    optuna = _optuna()
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=done)


def distributions(dimensions) -> dict:
    """Return Optuna's distribution of each dimension, by key."""
    optuna = _optuna()
    made = {}
    for d in dimensions:
        if d.kind == "int":
            made[d.key] = optuna.distributions.IntDistribution(int(d.low), int(d.high))
        elif d.kind == "choice":
            made[d.key] = optuna.distributions.CategoricalDistribution(list(d.choices))
        else:
            made[d.key] = optuna.distributions.FloatDistribution(d.low, d.high, log=d.kind == "logfloat")
    return made


def run_trials(study, plan: Plan, trials: int, out_dir=None, progress: bool = False) -> None:
    """Run trials until `trials` have finished in `study` (those finished before count)."""
    optuna = _optuna()
    seen = {_key(t.params): t for t in finished(study)}
    study.sampler = optuna.samplers.TPESampler(seed=sampler_seed(plan.seed, len(seen)))
    space = distributions(plan.dimensions)
    bar = tqdm(total=trials, initial=min(len(finished(study)), trials), unit="trial",
               desc="trials", disable=not progress, dynamic_ncols=True)
    try:
        while len(finished(study)) < trials:
            trial = study.ask(space)
            try:
                _run_one(study, trial, plan, seen, optuna)
            except BaseException:
                study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
                raise
            seen.setdefault(_key(trial.params), study.trials[trial.number])
            if out_dir is not None:
                write_outputs(out_dir, trials=trials_table(study, plan.dimensions))
            bar.update(1)
            if study.best_trials:
                bar.set_postfix_str(f"best {plan.metric}={study.best_value:,.4g}")
    finally:
        bar.close()


def _key(params: dict) -> str:
    return json.dumps(params, sort_keys=True)


def _run_one(study, trial, plan: Plan, seen: dict, optuna) -> None:
    """Run (or reuse, for parameters already tried) one trial and tell the study its outcome."""
    started = time.perf_counter()
    before = seen.get(_key(trial.params))
    if before is not None:
        trial.set_user_attr("reused_from", before.number)
        if before.state == optuna.trial.TrialState.COMPLETE:
            study.tell(trial, before.value)
        else:
            trial.set_user_attr("refused", before.user_attrs.get("refused", ""))
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return
    cfg = with_params(plan.cfg, plan.strategy, trial.params)
    refused = refusal(cfg)
    if refused:
        trial.set_user_attr("refused", refused)
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        return
    summary = run(cfg).summary
    value = objective(summary, plan.metric)
    trial.set_user_attr("seconds", round(time.perf_counter() - started, 3))
    if np.isnan(value):
        trial.set_user_attr("refused", undefined_reason(summary, plan.metric))
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    else:
        study.tell(trial, value)


# --- the whole search ------------------------------------------------------------------------
def optimize(strategy: str, space: dict, overrides=(), trials: int = 30, metric: str = "npv_usd",
             direction: str | None = None, replications: int = 200, fresh_replications: int = 1000,
             out_dir=None, seed: int | None = None, config_dirs=(), progress: bool = False) -> Optimum:
    """Return the Optimum of a search of `strategy`'s parameters over `space` ({key: spec}).

    Each of `trials` trials scores the mean `metric` over the same `replications` worlds;
    the best parameters and the baseline are then run on `fresh_replications` fresh
    worlds (0 skips this). With `out_dir`, trials are kept in its optuna.db (a rerun
    resumes) and trials.csv and best.json are written there.
    """
    _optuna()  # without it, say so before any work
    trials = whole_argument("trials", trials, 1)
    if whole_argument("fresh_replications", fresh_replications, 0) == 1:
        raise ArgumentError(lambda name: f"{name('fresh_replications', fresh_replications)}: "
                                         "must be 0 (skip) or >= 2")
    plan = prepare(strategy, space, overrides, metric, direction, replications, seed, config_dirs)
    study = open_study(plan, out_dir)
    remove_best(out_dir)  # an earlier best.json would not match the trials this run adds
    run_trials(study, plan, trials, out_dir, progress)
    return conclude(study, plan, fresh_replications, out_dir, progress)


def conclude(study, plan: Plan, fresh_replications: int, out_dir=None, progress: bool = False) -> Optimum:
    """Return the Optimum of a finished study: the best trial, re-run against the baseline on fresh worlds."""
    done = finished(study)
    complete = [t for t in done if t.value is not None]
    if not complete:
        raise ArgumentError(lambda name: "every trial was refused, by the strategy or because "
                                         "the metric is undefined in some world (see the note "
                                         "column of trials.csv); narrow the space, or choose "
                                         f"another {name('metric')}")
    best = study.best_trial
    baseline = plan.baseline()
    baseline_trials = [t for t in complete if t.user_attrs.get("baseline")]
    seed = fresh_seed(plan.seed)
    fresh = None
    if fresh_replications:
        cfg = with_params(plan.cfg, plan.strategy, {}, seed, fresh_replications)
        with open_dict(cfg):
            node = OmegaConf.to_container(cfg.strategy[plan.strategy], resolve=True)
            prefix = f"strategy.{plan.strategy}."
            best_node = {**node, **{k[len(prefix):]: v for k, v in best.params.items()}, "name": "best"}
            cfg.strategy = {"baseline": {**node, "name": "baseline"}, "best": best_node}
            cfg.run.progress = progress
        summary = run(cfg).summary.sort_values(["strategy", "replication"])
        values = {label: group[plan.metric].to_numpy(dtype=float)
                  for label, group in summary.groupby("strategy")}
        fresh = dict(best_mean=float(np.nanmean(values["best"])),
                     baseline_mean=float(np.nanmean(values["baseline"])),
                     undefined={label: int(np.isnan(v).sum()) for label, v in values.items()},
                     difference=paired_difference(values["best"], values["baseline"],
                                                  higher_is_better=plan.direction == "max"))
    optimum = Optimum(
        strategy=plan.strategy, metric=plan.metric, direction=plan.direction,
        params=dict(best.params), search_value=float(best.value), baseline_params=baseline,
        baseline_search_value=float(baseline_trials[0].value) if baseline_trials else None,
        trials=len(done), trials_run=sum("reused_from" not in t.user_attrs for t in done),
        refused=sum("refused" in t.user_attrs for t in done), seed=plan.seed,
        replications=plan.replications, fresh_seed=seed if fresh else None,
        fresh_replications=fresh_replications, fresh=fresh, overrides=list(plan.overrides),
        table=trials_table(study, plan.dimensions), out_dir=Path(out_dir) if out_dir else None)
    if out_dir is not None:
        write_outputs(out_dir, trials=optimum.table, best=optimum.to_json())
    return optimum
