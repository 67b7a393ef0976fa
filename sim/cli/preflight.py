"""The pre-flight: every job of the command composed and checked before Hydra runs anything.

A Hydra callback (`Preflight`, named in conf/config.yaml) checks the one job of a run, or
each point of a `-m` sweep, so a bad value stops the command before anything is written.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import sys
import traceback
from pathlib import Path

from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from omegaconf import ListConfig, OmegaConf, open_dict

from sim.arguments import check_output_dir, flagged
from sim.cli.error_lines import FLAGS, _fail, one_line
from sim.cli.sweep import _LAUNCHED
from sim.config import refuse_loose_flags, refuse_unresolved
from sim.config_checks import validate
from sim.config_errors import hydra_error_line
from sim.config_objects import build_processes
from sim.config_tree import check_config_dirs, user_config_dirs
from sim.errors import UserError
from sim.executors import executor_name, local_workers
from sim.memory import check_memory
from sim.montecarlo import check_strategies
from sim.rundir import check_claim, write_sweep


def check_job(cfg) -> None:
    """Raise UserError unless `cfg` is valid, every process and strategy in it can be built,
    and its tables fit in the memory available."""
    overrides = task_overrides(cfg)
    _refuse_listed_options(overrides)
    refuse_loose_flags(overrides)
    refuse_unresolved(cfg, overrides)
    checked = validate(cfg)
    for keyword, dirs in user_config_dirs(cfg).items():
        check_config_dirs(dirs, keyword)
    build_processes(cfg)
    workers = local_workers(checked.run) if executor_name(checked.run) == "process" else 0
    check_memory(checked, len(check_strategies(cfg)), workers=workers)
    for note in (start_date_note(checked), unread_cap_note(checked.run)):
        if note:
            print(f"hashpivot: note: {note}", file=sys.stderr)


def _refuse_listed_options(overrides: list[str]) -> None:
    """Raise UserError on a list of options for a group that takes one: Hydra merges them
    in order, so `fleet=[s21,s19xp]` ran s19xp alone without a word (strategy takes a list)."""
    for override in overrides:
        match = re.match(r"\+{0,2}(experiment|asof|site|fleet|market/\w+)=\[[^]]*,", override)
        if match is None:
            continue
        group = match[1]
        if group == "experiment":  # the presets would each set the site and the strategies
            raise UserError(f"{override}: one experiment at a time, each sets the site and "
                            "the strategies whole; to run several, sweep them: "
                            "-m +experiment=hut8,iren")
        raise UserError(f"{override}: one {group} option at a time (of a list, the last would "
                        f"replace the others); to run several, sweep them: -m {group}=A,B")


def task_overrides(cfg) -> list[str]:
    """Return the command's overrides (`hydra.overrides.task`) as typed: a `${...}` in one is
    its text, not resolved ([] for a config Hydra did not make)."""
    task = OmegaConf.select(cfg, "hydra.overrides.task", default=None)
    if isinstance(task, ListConfig):
        task = OmegaConf.to_container(task, resolve=False)
    return [str(o) for o in task or []]


#: Days between site.start_date and the snapshot's date beyond which a run is told so.
START_DATE_SLACK_DAYS = 31


def start_date_note(checked) -> str | None:
    """Return a line on a start date far from the snapshot's, or None: day 0's market is the
    snapshot's whatever the date, while the ASIC frontier, among other dated inputs, follows
    the calendar (a 2030 start with the 2026 snapshot gave stay_mining 100.2 $M, not 12.0)."""
    start = dt.date.fromisoformat(str(checked.site.start_date)[:10])
    asof = dt.date.fromisoformat(str(checked.asof.date)[:10])
    if abs((start - asof).days) <= START_DATE_SLACK_DAYS:
        return None
    days = abs((start - asof).days)
    return (f"site.start_date={start} is {days:,} days from asof.date={asof}: day 0's market "
            "is that snapshot's, while the ASIC frontier, among other dated inputs, follows the "
            "calendar; for another start, write a snapshot of its date (README, 'Your own "
            "snapshot') and select it with asof=<date>")


def unread_cap_note(run) -> str | None:
    """Return a line on a `run.max_replications` that nothing reads (it caps
    `run.until_confident` alone), or None: such a run runs `run.replications`, silently.
    A note, not a refusal: a sweep over until_confident=null,0.95 sets the cap for both."""
    if run.max_replications is None or run.until_confident is not None:
        return None
    return (f"run.max_replications={run.max_replications:,} caps run.until_confident alone, "
            f"which is not set: this run runs run.replications={run.replications:,}")


def sweep_jobs(overrides: list[str], params: dict | None = None,
               loader=None) -> list[list[str]]:
    """Return the override list of every job of a basic sweep, as Hydra's basic sweeper runs it.

    `params` are the sweep's `hydra.sweeper.params` from the config; a command-line
    override of the same key replaces them, as in the sweeper. `loader`, Hydra's config
    loader, expands a `glob(...)` over a config group's options.
    """
    lines = [f"{key}={value}" for key, value in (params or {}).items()] + list(overrides)
    choices: dict[str, list[str]] = {}
    for override in OverridesParser.create(config_loader=loader).parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            if not override.is_discrete_sweep():
                raise UserError(f"{override.input_line}: only lists of values (a,b,c) can be swept")
            choices[key] = [f"{key}={value}" for value in override.sweep_string_iterator()]
        else:
            choices[key] = [f"{key}={override.get_value_element_as_str()}"]
    return [list(job) for job in itertools.product(*choices.values())]


def _check_numbered(job_dir: Path, number: int, config) -> None:
    """Raise UserError unless job `number` of the sweep runs in the folder named by its number,
    where a resume, the sweep's end and hashpivot-compare find it (another hydra.sweep.subdir
    ended the sweep in a traceback, and could put two jobs in one folder)."""
    numbered = Path(str(config.hydra.sweep.dir)) / str(number)
    if job_dir == numbered:
        return
    subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False)["subdir"]
    raise UserError(f"hydra.sweep.subdir={subdir}: must name each job's folder by its number, as "
                    f"shipped (${{hydra.job.num}}: job {number} in {numbered}, not {job_dir}), "
                    "where a resume and hashpivot-compare find the jobs")


class Preflight(Callback):
    """A Hydra callback that checks every job of the command before any job or directory exists.

    It is listed under ``hydra.callbacks`` in conf/config.yaml. A bad job prints one line
    and exits with code 2; Hydra has not created the run or sweep directory yet.
    """
    def on_run_start(self, config, **kwargs) -> None:
        """Check the one job of a run, that its directory can be written and, if it exists,
        may take this run.

        Hydra writes `.hydra/` into the run directory after this and before the run, so a
        directory another command holds, or another config made, is refused here.
        """
        def check():
            check_job(config)
            check_output_dir(config.hydra.run.dir, "hydra.run.dir")
            check_claim(config.hydra.run.dir, config)

        self._check(check)

    def on_multirun_start(self, config, **kwargs) -> None:
        """Compose and check every job of a sweep, with the sweep's own overrides and params,
        and that each job's directory, if it exists, may take that job: Hydra rewrites the
        sweep's `multirun.yaml` after this, so a sweep refused later would leave the record
        of another sweep's jobs."""
        def check_all():
            loader = GlobalHydra.instance().config_loader()
            task = OmegaConf.to_container(config.hydra.overrides.task, resolve=False)
            params = OmegaConf.to_container(config.hydra.sweeper, resolve=False).get("params")
            jobs, lines = [], []
            for job in sweep_jobs(task, params, loader):
                try:
                    job_cfg = loader.load_sweep_config(config, job)
                except Exception as err:  # Hydra's composition errors, in one line
                    raise UserError(hydra_error_line(err, job)) from None
                check_job(job_cfg)
                jobs.append(job_cfg)
                lines.append(job)
            if not jobs:  # e.g. a glob(...) that matched no option
                raise UserError(f"{' '.join(task)}: the sweep has no job (a sweep's list or "
                                "glob chose no value); nothing to run")
            check_output_dir(config.hydra.sweep.dir, "hydra.sweep.dir")
            for number, job_cfg in enumerate(jobs):  # numbered as Hydra's launcher numbers them
                with open_dict(job_cfg):
                    job_cfg.hydra.job.num = number
                job_dir = Path(str(job_cfg.hydra.sweep.dir)) / str(job_cfg.hydra.sweep.subdir)
                _check_numbered(job_dir, number, config)
                if job_dir.exists():
                    check_claim(job_dir, job_cfg, "hydra.sweep.dir")
            write_sweep(config.hydra.sweep.dir, lines)
            _LAUNCHED.update(dir=str(config.hydra.sweep.dir), jobs=lines)

        self._check(check_all)

    @staticmethod
    def _check(check) -> None:
        try:
            check()
        except UserError as err:
            sys.exit(_fail("hashpivot", flagged(err, FLAGS)))
        except HydraException as err:  # Hydra would only warn, and run the jobs unchecked
            sys.exit(_fail("hashpivot", one_line(err)))
        except Exception:  # a bug in a check: Hydra would only warn, and run the jobs unchecked
            traceback.print_exc()
            sys.exit(1)
