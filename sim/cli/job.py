"""One job of `hashpivot`: run its config into its directory and keep the results safe.

The directory is claimed and locked, run.json says how the run ended, and after a complete
run come its headline, its robustness table and its report; an error, an interrupt or a
full disk at any step leaves one line saying what is kept and how to finish it.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.cli.error_lines import _fail, one_line
from sim.cli.sweep import _same_command
from sim.compare import compare_runs
from sim.compare.page import share_in_tenths
from sim.errors import Resumable, UserError, warn_user
from sim.executors import WorkerLost
from sim.interrupts import INTERRUPTED, TERMINATED, Terminated, sigterm_interrupts, signals_held
from sim.selection import until_confident_sentence
from sim.policies import pinned
from sim.compare.robustness import robustness_pair, verdict_robustness, verdict_sentence
from sim.compare.robustness import save as save_robustness
from sim.compare.load import read_robustness
from sim.rundir import ROBUSTNESS_CSV, RunDir, check_claim, now, remove_comparison
from sim.rundir.robustness_record import csv_digest, made_for, record, reusable

log = logging.getLogger(__name__)


def _job_fail(message: str) -> int:
    """Return `_fail`'s code for a run's error, also written to the job log (not the console)."""
    log.error("%s", message, extra={"printed": True})
    return _fail("hashpivot", message)


#: The headline's column of the share of worlds with a negative NPV, in percent.
LOSS_PERCENT = "P(NPV<0) %"


def headline(summary) -> str:
    """Return the comparison table printed after a run: NPV spread and MW per strategy, the
    chance of a loss in percent as the report writes it (`share_in_tenths`: a chance that
    is not nought reads <0.1, never 0.0, and one short of all >99.9, never 100.0)."""
    rows = []
    for label, group in summary.groupby("strategy", sort=False):
        npv = group["npv_usd"].to_numpy() / 1e6
        rows.append({"strategy": label, "mean NPV $M": npv.mean(),
                     "P5 $M": np.percentile(npv, 5), "P50 $M": np.percentile(npv, 50),
                     "P95 $M": np.percentile(npv, 95), LOSS_PERCENT: 100 * np.mean(npv < 0),
                     "MW converted": group["mw_converted"].mean()})
    table = pd.DataFrame(rows).set_index("strategy")
    return table.to_string(
        float_format=lambda v: f"{v:,.1f}" if abs(v) >= 1 or v == 0 else f"{v:.2f}",
        formatters={LOSS_PERCENT: lambda v: share_in_tenths(v / 100).removesuffix("%")})


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
    earlier = _earlier_info(run_dir)  # what a rerun may reuse: its robustness table's record
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
        return _job_fail(f"{one_line(err)}; {_kept(out_dir)}: once that is fixed, rerun "
                         f"{_same_command(out_dir)} to resume")
    except KeyboardInterrupt as err:
        with signals_held():  # a second Ctrl-C acts once run.json and the line say the first
            if _saved(run_dir):  # it came as the save ended (held until then): the run is whole
                warn_user(log, _interrupted_once_saved(cfg, out_dir))
            else:
                _record(run_dir, cfg, "interrupted", started)
                warn_user(log, f"interrupted; {_kept(out_dir)}. Rerun {_same_command(out_dir)} "
                               "to resume.")
            return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    except Exception as err:  # a bug: run.json says so, then the traceback
        _record(run_dir, cfg, "failed", started, error=one_line(err))
        raise
    print(headline(result.summary))
    if "until_confident" in result.info:
        print(until_confident_sentence(result.info["until_confident"]))
    print(f"results: {out_dir}")
    code, robust = _robustness(cfg, result, out_dir, earlier)  # the run is complete and kept whatever happens next
    if code in (INTERRUPTED, TERMINATED):
        return code
    verdict = ""
    if cfg.run.compare:
        try:
            verdict = compare_runs([out_dir], out=out_dir, results={out_dir: result}).verdict
        except (UserError, OSError) as err:  # OSError: the surroundings, a full disk
            code = _job_fail(f"the run is complete in {out_dir}, but its comparison was not "
                             f"written: {err if isinstance(err, UserError) else one_line(err)}"
                             + _once_fixed(err, out_dir))
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


def _once_fixed(err: Exception, out_dir) -> str:
    """Return how to make the report once the surroundings are fixed, where `err` came from
    them (an OSError, or the comparison's line for one: a file that cannot be written); else ''."""
    if isinstance(err, OSError) or isinstance(err.__context__, OSError):
        return f"; once that is fixed, make it with: hashpivot-compare {out_dir}"
    return ""


def _kept(out_dir) -> str:
    """Return what a stopped run leaves in `out_dir` for its rerun to resume from."""
    if RunDir(out_dir).chunks.finished():
        return f"finished chunks are kept in {out_dir}"
    return f"no chunk had finished (a trained policy is kept, if any) in {out_dir}"


def _earlier_info(run_dir) -> dict | None:
    """Return the run.json a rerun finds in `run_dir` before it writes its own, or None."""
    try:
        return run_dir.read_info()
    except UserError:  # unreadable: nothing of it is reused
        return None


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


def _robustness(cfg, result, out_dir: Path, earlier: dict | None = None) -> tuple[int, str]:
    """Write robustness.csv for the complete run in `out_dir`; return 0 or the exit code of a
    failure, and the line that sums it up ('' where there is none), for the caller to print
    after the verdict it qualifies.

    The table that run.json `earlier` (the folder's before this command) records as made
    for this same run (`made_for`) is reused; any other earlier table is removed first, so
    a report never shows a stale one. run.json records what became of the reruns, which a
    report of the folder then says. A failure prints one line; the run stays complete.
    """
    lost = (f"the run is complete in {out_dir}, but its robustness table "
            f"({ROBUSTNESS_CSV}) was not written")
    try:
        replications = int(cfg.run.robustness.replications)
        pair = robustness_pair(result.summary) if replications else None
        if pair is None:
            (Path(out_dir) / ROBUSTNESS_CSV).unlink(missing_ok=True)
            if replications:  # asked for, but there is no verdict between two strategies to test
                _skipped(cfg, result, out_dir)
            return 0, ""
        best, against, role = pair
        key = made_for(cfg, result.summary)
        if reusable(Path(out_dir), earlier, key):
            table = read_robustness(Path(out_dir))
            log.info("robustness: %s of this same run reused, not made again", ROBUSTNESS_CSV)
        else:
            (Path(out_dir) / ROBUSTNESS_CSV).unlink(missing_ok=True)
            table = _rerun(cfg, result, out_dir, pair, replications)
        # recorded anew either way: this command rewrote run.json
        _note(cfg, out_dir, "made", **{"for": key, "csv": csv_digest(Path(out_dir))})
    except KeyboardInterrupt as err:
        with signals_held():  # a second Ctrl-C acts once run.json and the line say the first
            _note(cfg, out_dir, "interrupted")
            then = (f", nor its report: rerun {_same_command(out_dir)} to make both from the "
                    f"saved run, or the report alone with hashpivot-compare {out_dir}"
                    if cfg.run.compare else "")
            print(f"hashpivot: interrupted; {lost}{then}", file=sys.stderr)
            return (TERMINATED if isinstance(err, Terminated) else INTERRUPTED), ""
    except (WorkerLost, OSError) as err:  # the surroundings: the same command makes it once fixed
        why = one_line(err) if isinstance(err, OSError) else str(err)
        _note(cfg, out_dir, "failed", error=why)
        return _job_fail(f"{lost}: {why}; rerun {_same_command(out_dir)} to make it from the "
                         f"saved run"), ""
    except UserError as err:
        _note(cfg, out_dir, "failed", error=str(err))
        return _job_fail(f"{lost}: {err}"), ""
    except Exception as err:  # a bug in the reruns: the saved run is still whole
        _note(cfg, out_dir, "failed", error=one_line(err))
        print(f"hashpivot: error: {lost}: {one_line(err)}", file=sys.stderr)
        return 1, ""
    return 0, f"verdict robustness, {best} against {against}: {verdict_sentence(table)}"


def _skipped(cfg, result, out_dir) -> None:
    """Say, and record, why the robustness reruns asked for are not made: no verdict
    between two strategies to test."""
    replications = int(cfg.run.robustness.replications)
    why = ("one strategy ran" if result.summary["strategy"].nunique() < 2 else
           "the strategies had the same NPV in every world")
    line = (f"robustness: skipped (run.robustness.replications={replications}): {why}, "
            f"and the verdict's robustness compares two that differ")
    print(line)
    log.info("%s", line)
    _note(cfg, out_dir, "skipped", why=why)


def _rerun(cfg, result, out_dir, pair, replications: int):
    """Rerun the verdict's `pair` (best, against, role) under the other assumptions; write
    and return the table."""
    best, against, role = pair
    if role == "runner-up":
        print(f"robustness: {best} is the baseline itself, so it is compared with the "
              f"runner-up, {against}")
    _note(cfg, out_dir, "running")  # a kill leaves it so: a report says they stopped unfinished
    rerunning = time.perf_counter()
    table = verdict_robustness(pinned(cfg, out_dir), best, against, replications, result.summary,
                               role=role)
    save_robustness(table, out_dir)
    used = min(replications, result.summary["replication"].nunique())  # as the reruns use
    log.info("robustness: %s against %s in %d rows of assumptions, %d replications each, in "
             "%.2f s", best, against, len(table), used, time.perf_counter() - rerunning)
    return table


def _note(cfg, out_dir, state: str, **fields) -> None:
    """Record in run.json what became of the robustness reruns (`robustness_record`); where
    even that fails (a full disk), the log says so: the run is complete whatever it records."""
    try:
        info = RunDir(out_dir).read_info() or {}
        record(Path(out_dir), info, state, replications=int(cfg.run.robustness.replications),
               rerun=_same_command(out_dir), **fields)
    except (OSError, UserError) as err:
        log.warning("robustness: could not record %s in run.json: %s", state, one_line(err))
