"""The command line: `hashpivot` (a Hydra app) and `hashpivot-compare`.

Both are thin: they hand the config to plain functions (`sim.run`, `sim.compare`) and
turn user errors into one line on stderr and exit code 2. A Hydra callback (`Preflight`)
composes and checks every job of the command (each point of a `-m` sweep) before the
first one starts, so a bad value stops the command before anything is written.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
import sys
import time
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path

import hydra
import numpy as np
import pandas as pd
import yaml
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import ListConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

import sim
from sim.arguments import check_output_dir, flagged
from sim.compare import compare_runs
from sim.compare.pipeline import remove_comparison
from sim.compare import main as compare
from sim.config import distributions_in_short_form, refuse_loose_flags, refuse_unresolved
from sim.config_checks import drop_unselected_strategies, validate
from sim.config_errors import group_value_line, hydra_error_line
from sim.config_objects import build_processes
from sim.config_tree import check_config_dirs, config_dir, user_config_dirs
from sim.errors import Resumable, UserError, warn_user
from sim.executors import executor_name, local_workers
from sim.interrupts import INTERRUPTED, TERMINATED, Terminated, sigterm_interrupts
from sim.memory import check_memory
from sim.montecarlo import check_strategies
from sim.plugins import cwd_on_path
from sim.selection import until_confident_sentence
from sim.policies import pinned
from sim.compare.robustness import robustness_pair, verdict_robustness, verdict_sentence
from sim.compare.robustness import save as save_robustness
from sim.rundir import ROBUSTNESS_CSV, RunDir, check_claim, now, read_sweep, write_sweep

log = logging.getLogger(__name__)

USAGE_ERROR = 2
#: The flag of each argument its checks name (they name the argument as Python passes it).
FLAGS = {"config_dirs": "--config-dir"}


def _fail(prog: str, message: str) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _job_fail(message: str) -> int:
    """Return `_fail`'s code for a run's error, also written to the job log (not the console)."""
    log.error("%s", message, extra={"printed": True})
    return _fail("hashpivot", message)


# --- pre-flight: every job composed and checked before Hydra runs anything -------------------------
def check_job(cfg) -> None:
    """Raise UserError unless `cfg` is valid, every process and strategy in it can be built,
    and its tables fit in the memory available."""
    overrides = task_overrides(cfg)
    listed = [o for o in overrides if re.match(r"\+{0,2}experiment=\[", o)]
    if listed:  # the presets would each set the site and the strategies, over one another
        raise UserError(f"{listed[0]}: one experiment at a time, each sets the site and the "
                        "strategies whole; to run several, sweep them: -m +experiment=hut8,iren")
    refuse_loose_flags(overrides)
    refuse_unresolved(cfg, overrides)
    checked = validate(cfg)
    for keyword, dirs in user_config_dirs(cfg).items():
        check_config_dirs(dirs, keyword)
    build_processes(cfg)
    workers = local_workers(checked.run) if executor_name(checked.run) == "process" else 0
    check_memory(checked, len(check_strategies(cfg)), workers=workers)
    note = start_date_note(checked)
    if note:
        print(f"hashpivot: note: {note}", file=sys.stderr)


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


# --- the run ---------------------------------------------------------------------------------------------
def headline(summary) -> str:
    """Return the comparison table printed after a run: NPV spread and MW per strategy."""
    rows = []
    for label, group in summary.groupby("strategy", sort=False):
        npv = group["npv_usd"].to_numpy() / 1e6
        rows.append({"strategy": label, "mean NPV $M": npv.mean(),
                     "P5 $M": np.percentile(npv, 5), "P50 $M": np.percentile(npv, 50),
                     "P95 $M": np.percentile(npv, 95), "P(NPV<0)": np.mean(npv < 0),
                     "MW converted": group["mw_converted"].mean()})
    table = pd.DataFrame(rows).set_index("strategy")
    return table.to_string(float_format=lambda v: f"{v:,.1f}" if abs(v) >= 1 or v == 0 else f"{v:.2f}")


def one_line(error: BaseException) -> str:
    """Return `error` as one line: its type and its message, whitespace collapsed."""
    return " ".join(f"{type(error).__name__}: {error}".split())


def execute(cfg, out_dir: Path) -> int:
    """Run `cfg` into `out_dir` (resuming what is there); return the exit code.

    A directory that holds another config's run, or that another command holds, is
    refused before anything is written into it. Otherwise the directory is locked and
    run.json ends `complete`, `interrupted` (Ctrl-C: 130, SIGTERM: 143) or `failed`
    with the error's one line; an error that is not the user's (a bug) is re-raised
    after run.json says so.
    """
    run_dir = RunDir(out_dir)
    try:
        check_claim(out_dir, cfg)
        with run_dir.lock(), sigterm_interrupts():
            return _execute_locked(cfg, run_dir)
    except UserError as err:  # refused: the directory is another config's or another command's
        return _job_fail(str(err))
    except OSError as err:  # the directory cannot be locked (read-only, not a directory)
        return _job_fail(f"{out_dir}: {one_line(err)}")


def _record(run_dir, cfg, status: str, started: str, **extra) -> None:
    """Write run.json at `status`; if even that fails, say so on stderr."""
    try:
        run_dir.write_info(cfg, status, started, **extra)
    except OSError as err:
        print(f"hashpivot: could not record status {status} in {run_dir.path}: {one_line(err)}",
              file=sys.stderr)


def _execute_locked(cfg, run_dir) -> int:
    """Run `cfg` into the locked `run_dir`; return the exit code (see `execute`)."""
    out_dir = run_dir.path
    started = now()
    run_dir.write_info(cfg, "running", started)
    try:
        result = sim.run(cfg, out_dir=out_dir)
        result.info["started"] = started
        saving = time.perf_counter()
        remove_comparison(out_dir)  # an earlier command's report would speak for other tables
        result.save(out_dir)  # the tables, then run.json: complete
        log.info("tables saved in %.2f s; run complete in %s", time.perf_counter() - saving,
                 out_dir)
    except UserError as err:
        line = err.says(_same_command(out_dir)) if isinstance(err, Resumable) else str(err)
        _record(run_dir, cfg, "failed", started, error=line)
        return _job_fail(line)
    except OSError as err:  # the surroundings (a full disk, a permission): not a bug
        _record(run_dir, cfg, "failed", started, error=one_line(err))
        return _job_fail(f"{one_line(err)}; finished chunks are kept in {out_dir}")
    except KeyboardInterrupt as err:
        if _saved(run_dir):  # it came as the save ended (held until then): the run is whole
            warn_user(log, _interrupted_once_saved(cfg, out_dir))
            return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
        _record(run_dir, cfg, "interrupted", started)
        kept = ("finished chunks are kept in" if RunDir(out_dir).chunks.finished()
                else "no chunk had finished (a trained policy is kept, if any) in")
        line = f"interrupted; {kept} {out_dir}. Rerun {_same_command(out_dir)} to resume."
        warn_user(log, line)
        return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    except Exception as err:  # a bug: run.json says so, then the traceback
        _record(run_dir, cfg, "failed", started, error=one_line(err))
        raise
    print(headline(result.summary))
    if "until_confident" in result.info:
        print(until_confident_sentence(result.info["until_confident"]))
    print(f"results: {out_dir}")
    code, robust = _robustness(cfg, result, out_dir)  # the run is complete and kept whatever happens next
    if code in (INTERRUPTED, TERMINATED):
        return code
    verdict = ""
    if cfg.run.compare:
        try:
            verdict = compare_runs([out_dir], out=out_dir, results={out_dir: result}).verdict
        except (UserError, OSError) as err:  # OSError: the surroundings, a full disk
            code = _job_fail(f"the run is complete in {out_dir}, but its comparison was not "
                             f"written: {err if isinstance(err, UserError) else one_line(err)}")
        except KeyboardInterrupt as err:  # the report is left unwritten, never half-written
            print(f"hashpivot: interrupted; the run is complete and saved in {out_dir}, but its "
                  f"report was not written; make it with: hashpivot-compare {out_dir}",
                  file=sys.stderr)
            return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    for line in (verdict.splitlines()[:1] + [robust]):  # the headline, then what it rests on
        if line:
            print(line)
    if verdict:
        print(f"report: {Path(out_dir) / 'report.html'}")
    return code


def _saved(run_dir) -> bool:
    """Return whether `run_dir` holds its run saved whole: run.json complete (written by the
    save alone, the run having set it running) and summary.parquet, which the save moves in last."""
    try:
        status = (run_dir.read_info() or {}).get("status")
    except UserError:
        return False
    return status == "complete" and run_dir.table_path("summary").is_file()


def _interrupted_once_saved(cfg, out_dir) -> str:
    """Return the line for Ctrl-C or SIGTERM that came as the run's save ended: the run is
    complete; what it had still to write (its robustness table, its report) and how to."""
    left = [what for what, asked in ((f"robustness table ({ROBUSTNESS_CSV})",
                                      int(cfg.run.robustness.replications)),
                                     ("report", cfg.run.compare)) if asked]
    saved = f"interrupted; the run is complete and saved in {out_dir}"
    if not left:
        return saved
    if left == ["report"]:  # as an interrupt while the report is drawn says
        return f"{saved}, but its report was not written; make it with: hashpivot-compare {out_dir}"
    return (f"{saved}, but its {' and its '.join(left)} {'was' if len(left) == 1 else 'were'} "
            f"not written: rerun {_same_command(out_dir)} to make "
            f"{'it' if len(left) == 1 else 'them'} from the saved run")


def _robustness(cfg, result, out_dir: Path) -> tuple[int, str]:
    """Write robustness.csv for the complete run in `out_dir`; return 0 or the exit code of a
    failure, and the line that sums it up ('' where there is none), for the caller to print
    after the verdict it qualifies.

    An earlier command's table is removed first, so a report never shows a stale one.
    A failure prints one line; the run stays complete.
    """
    lost = (f"the run is complete in {out_dir}, but its robustness table "
            f"({ROBUSTNESS_CSV}) was not written")
    try:
        (Path(out_dir) / ROBUSTNESS_CSV).unlink(missing_ok=True)
        replications = int(cfg.run.robustness.replications)
        pair = robustness_pair(result.summary) if replications else None
        if pair is None:
            if replications:  # asked for, but there is no verdict between two strategies to test
                why = ("one strategy ran" if result.summary["strategy"].nunique() < 2 else
                       "the strategies had the same NPV in every world")
                line = (f"robustness: skipped (run.robustness.replications={replications}): {why}, "
                        f"and the verdict's robustness compares two that differ")
                print(line)
                log.info("%s", line)
            return 0, ""
        best, against, role = pair
        if role == "runner-up":
            print(f"robustness: {best} is the baseline itself, so it is compared with the "
                  f"runner-up, {against}")
        rerunning = time.perf_counter()
        table = verdict_robustness(pinned(cfg, out_dir), best, against, replications, result.summary,
                                   role=role)
        save_robustness(table, out_dir)
        used = min(replications, result.summary["replication"].nunique())  # as the reruns use
        log.info("robustness: %s against %s in %d rows of assumptions, %d replications each, in "
                 "%.2f s", best, against, len(table), used, time.perf_counter() - rerunning)
    except KeyboardInterrupt as err:
        then = (f", nor its report: rerun {_same_command(out_dir)} to make both from the saved "
                f"run, or the report alone with hashpivot-compare {out_dir}") if cfg.run.compare else ""
        print(f"hashpivot: interrupted; {lost}{then}", file=sys.stderr)
        return (TERMINATED if isinstance(err, Terminated) else INTERRUPTED), ""
    except (UserError, OSError) as err:
        return _job_fail(f"{lost}: {one_line(err) if isinstance(err, OSError) else err}"), ""
    except Exception as err:  # a bug in the reruns: the saved run is still whole
        print(f"hashpivot: error: {lost}: {one_line(err)}", file=sys.stderr)
        return 1, ""
    return 0, f"verdict robustness, {best} against {against}: {verdict_sentence(table)}"


class _ConsoleFilter(logging.Filter):
    """Pass to the console only warnings and errors not already printed to stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether `record` is shown on the console."""
        return record.levelno >= logging.WARNING and not getattr(record, "printed", False)


@contextmanager
def job_log():
    """Within the block, log the `sim.` loggers' INFO and up to Hydra's job log, and leave
    the console (tqdm's bar, the headline) to warnings.

    Hydra's job logging gives the root logger a console handler and a file handler
    (`<run dir>/hashpivot.log`), both at INFO. The file handler keeps every record of
    the `sim.` loggers; the console handlers get a filter that lets through only
    warnings and errors that were not also printed as a line on stderr. After the
    block the `sim.` loggers stop reaching the handlers Hydra leaves behind, so a later
    `sim.run` in the same process (a notebook, a test) writes to no finished job's log.
    """
    for handler in logging.getLogger().handlers:
        console = type(handler) is logging.StreamHandler  # not a file, nor a test's capture
        if console and not any(isinstance(f, _ConsoleFilter) for f in handler.filters):
            handler.addFilter(_ConsoleFilter())
    package = logging.getLogger("sim")
    package.setLevel(logging.INFO)
    package.propagate = True
    try:
        yield
    finally:
        package.setLevel(logging.NOTSET)
        package.propagate = False


@contextmanager
def root_logging_restored():
    """Within the block Hydra may configure logging; after it the root logger has its own
    handlers and level back, and the handlers Hydra gave it are closed. So a command run
    from Python (a notebook, a test) leaves no console handler bound to its stderr, which
    a later `sim.run` in the same process would write to after that stream is gone."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)


def _task(cfg) -> None:
    drop_unselected_strategies(cfg)  # a sweep's job: its fingerprint is that of the run's config
    with job_log():
        out_dir = Path(HydraConfig.get().runtime.output_dir)
        log.info("hashpivot %s: run into %s", sim.__version__, out_dir)
        code = execute(cfg, out_dir)
    if code in (INTERRUPTED, TERMINATED):
        _say_what_the_sweep_left(HydraConfig.get())
        sys.exit(code)
    if code and not _in_sweep():
        sys.exit(code)
    if code:  # a sweep's job failed: its line is printed, run.json says so; the others go on
        print(f"hashpivot: job {HydraConfig.get().job.num} of the sweep failed; the sweep goes "
              "on with the others", file=sys.stderr)


def _in_sweep() -> bool:
    """Return whether this process runs a job of a Hydra sweep (`-m`)."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def _same_command(out_dir) -> str:
    """Return how to rerun this command into the folder it ran in, `out_dir` or its sweep's
    (the default folder is named by the time: the same command alone would start afresh)."""
    if _in_sweep():
        return f"the same command with hydra.sweep.dir={HydraConfig.get().sweep.dir}"
    return f"the same command with hydra.run.dir={out_dir}"


def _job_dir(sweep_dir, number: int) -> Path:
    """Return the folder of job `number` of the sweep in `sweep_dir` (hydra.sweep.subdir as
    shipped: the job's number)."""
    return Path(str(sweep_dir)) / str(number)


def _say_what_the_sweep_left(hydra_cfg) -> None:
    """Where the job interrupted is a sweep's, say which jobs did not start (`sweep.json`:
    those without a run.json, whichever launcher ran them) and how to resume them."""
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return
    jobs, number = read_sweep(hydra_cfg.sweep.dir) or [], int(hydra_cfg.job.num)
    left = [n for n in range(len(jobs))
            if n != number and not (_job_dir(hydra_cfg.sweep.dir, n) / "run.json").is_file()]
    if left:
        which = f"job {left[0]}" if len(left) == 1 else f"jobs {', '.join(map(str, left))}"
        print(f"hashpivot: the sweep stopped in job {number} of {len(jobs)} (numbered from 0): "
              f"{which} did not start. Rerun {_same_command(None)} to resume the sweep; "
              f"hashpivot-compare {hydra_cfg.sweep.dir} refuses it until then (or compares "
              f"the finished jobs alone with --finished-only)", file=sys.stderr)


#: The folder and job count of the sweep this process launched (Preflight records them), so
#: that `main` can say which jobs failed once Hydra's launcher has run them all.
_LAUNCHED: dict = {}


def _failed_jobs_line() -> str | None:
    """Return one line naming the jobs of the sweep just run whose run.json says failed,
    with the first one's error; None if none failed (or no sweep ran)."""
    if not _LAUNCHED:
        return None
    sweep_dir, jobs = _LAUNCHED["dir"], _LAUNCHED["jobs"]
    failed = {}
    for number in range(len(jobs)):
        try:
            info = RunDir(_job_dir(sweep_dir, number)).read_info()
        except (UserError, OSError):
            continue
        if info.get("status") == "failed":
            failed[number] = info.get("error", "")
    if not failed:
        return None
    first = next(iter(failed))
    numbers = ", ".join(map(str, failed))
    return (f"{len(failed)} of {len(jobs)} jobs of the sweep failed ({numbers}); job {first} "
            f"({' '.join(jobs[first])}): {failed[first]}. Fix it and rerun with "
            f"hydra.sweep.dir={sweep_dir}: the complete jobs are kept (to rerun a failed job "
            "with other values, remove its folder first)")


def main(argv: list[str] | None = None) -> int:
    """Run `hashpivot` with Hydra's command line; return the exit code.

    Hydra parses the command line and runs the jobs; `Preflight` checks each job first.
    Hydra's own errors (an unknown option, a malformed override) are raised to here, not
    printed by Hydra, and become one line. `argv` (for calling from Python) stands in
    for the process's arguments while Hydra reads them. `--version` prints hashpivot's
    version (Hydra would print its own).
    """
    if "--version" in (sys.argv[1:] if argv is None else argv):
        print(version_line())
        return 0
    refused = _refused_arguments(sys.argv[1:] if argv is None else argv)
    if refused is not None:  # Hydra's own errors: its usage block, or a line naming no flag
        return _fail("hashpivot", refused)
    cwd_on_path()  # a user's plug-in modules, as `python -m` would
    app = hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")(_task)
    saved_argv, saved_full_error = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    given = sys.argv[1:] if argv is None else argv
    sys.argv = [sys.argv[0] if argv is None else "hashpivot",
                *(arg if arg.startswith("-") else distributions_in_short_form([arg])[0]
                  for arg in given)]
    os.environ["HYDRA_FULL_ERROR"] = "1"  # raise Hydra's errors to us instead of printing them
    _LAUNCHED.clear()
    try:
        with root_logging_restored(), warnings.catch_warnings():
            # a hydra.searchpath that is no directory: check_job names it in one line (Hydra warns)
            warnings.filterwarnings("ignore", message=r"provider=hydra\.searchpath .* is not available")
            app()
        failed = _failed_jobs_line()
        if failed:
            return _fail("hashpivot", failed)
    except KeyboardInterrupt as err:  # in a launcher's own process (joblib): the jobs have said
        return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except (HydraException, OmegaConfBaseException, yaml.YAMLError) as err:
        return _fail("hashpivot", hydra_error_line(err, [a for a in sys.argv[1:] if not a.startswith("-")]))
    except (ValueError, TypeError):  # Hydra's failure on a group's value that is not a name
        line = group_value_line(sys.argv[1:])
        if line is None:
            raise
        return _fail("hashpivot", line)
    except OSError as err:  # the surroundings: a directory Hydra could not make, a full disk
        where = f"{err.filename}: " if err.filename else ""
        return _fail("hashpivot", f"{where}{err.strerror or err}")
    finally:
        sys.argv = saved_argv
        if saved_full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_full_error
    return 0


class _ParseError(Exception):
    """argparse's error, raised instead of printed with its usage block."""


def _refused_arguments(args: list[str]) -> str | None:
    """Return the error line of an option in `args` that Hydra's command line does not take
    (`--out DIR`, say) or given a value it does not take (`--cfg nope`), or of a
    --config-dir (-cd) that is no directory, or None; other mistakes are left to Hydra."""
    from hydra._internal.utils import get_args_parser

    parser = get_args_parser()

    def error(message):
        raise _ParseError(message)

    parser.error = error
    try:
        known, unknown = parser.parse_known_args(args)
    except _ParseError as err:  # Hydra would print it after argparse's seven-line usage block
        return _parse_error_line(str(err))
    flags = [arg for arg in unknown if arg.startswith("-")]
    if flags:
        return (f"{flags[0]}: no such option; hashpivot takes key=value overrides (results go "
                "to hydra.run.dir=DIR) and Hydra's options, listed by hashpivot --help")
    try:
        check_config_dirs([known.config_dir] if known.config_dir else [])
    except UserError as err:
        return flagged(err, FLAGS)
    return None


def _parse_error_line(message: str) -> str:
    """Return argparse's error on one of Hydra's flags as one line naming the flag, and, for
    a value the flag does not take, that value and the values it takes."""
    match = re.match(r"argument ([^/:]+)(?:/[^:]*)?: (.*)$", message)
    if match is None:
        return f"{message} (see --help)"
    flag, problem = match.groups()
    choice = re.match(r"invalid choice: '(.*)' \(choose from (.*)\)$", problem)
    if choice:
        allowed = ", ".join(value.strip(" '") for value in choice[2].split(","))
        return f"{flag}={choice[1]}: must be one of {allowed} (see --help)"
    return f"{flag}: {problem} (see --help)"


def version_line() -> str:
    """Return the line every hashpivot command prints for --version."""
    return f"hashpivot {sim.__version__}"


def compare_main(argv: list[str] | None = None) -> int:
    """Run `hashpivot-compare`; return the exit code."""
    return compare(argv)


if __name__ == "__main__":
    sys.exit(main())
