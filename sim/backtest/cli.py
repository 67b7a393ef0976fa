"""hashpivot-backtest's command line: its flags, their checks before the work, and the run
from them to the outputs and the summary it prints.

For each start date the model starts from that date's state in the shipped difficulty
history (height, difficulty, time since the epoch's first block, hashrate) and the
user's BTC close of that day, runs N replications Y years ahead (replaying the realised
BTC path with --replay-btc, so that the network is judged on its own; else sampling BTC
from a `market/btc` option), and reports where every real epoch's difficulty falls in
the simulated distribution of that day: the share inside the P5–P95 and P25–P75 bands,
the probability integral transform (PIT) and a plot of the bands against the realised
path.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim._version import __version__
from sim.arguments import check_output_dir
from sim.backtest.history import (_READS, BOOTSTRAP_BTC_MODEL, FITTED_BTC_MODELS, _day,
                                  btc_days_read, closes_before, realised_epochs)
from sim.backtest.outputs import _writers, place_outputs, stage_outputs
from sim.backtest.scoring import backtest, check_sets
from sim.btc_closes import check_btc_covers, read_btc_csv
from sim.coverage import TARGET_HASHPRICE_P5_P95, TARGET_P5_P95
from sim.errors import OneLineParser, UserError
from sim.interrupts import INTERRUPTED
from sim.plugins import cwd_on_path
from sim.processes.network import load_difficulty_epochs
from sim.processes.series import BTC_CLOSE_COLUMNS
from sim.world import day_grid

PROG = "hashpivot-backtest"
DEFAULT_STARTS = ("2016-01-01", "2019-01-01", "2020-01-01", "2022-01-01")
#: The longest backtest: beyond the shipped history (2009-2025) nothing is scored.
MAX_YEARS = 20.0


def parser() -> argparse.ArgumentParser:
    """Return the command's argument parser (its --help is the user's manual)."""
    p = OneLineParser(
        prog=PROG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n")[1],
        epilog="Example:\n  hashpivot-backtest --btc btc_daily.csv --replay-btc "
               "--network economic --start 2019-01-01 2022-01-01 --years 2\n\n"
               "Writes coverage.csv, epochs.csv, hashprice.csv, pit.csv and "
               "bands_<network>_<start>.png under --out, replacing an earlier backtest's "
               "there as one set. coverage.csv also gives what a "
               "calibrated model scores on the same epochs (calibrated_*: each world in turn "
               "scored as the real path against the others' bands) and the real coverage's "
               "rank among those scores (rank_*: near 0, a miss that few of a calibrated model's "
               "worlds make).")
    p.add_argument("--version", action="version", version=f"hashpivot {__version__}")
    p.add_argument("--btc", required=True, metavar="FILE",
                   help="daily BTC closes: a CSV with columns date (YYYY-MM-DD, or at 00:00) and "
                        f"{BTC_CLOSE_COLUMNS[0]} (or {', '.join(BTC_CLOSE_COLUMNS[1:])}), every "
                        "day of each window it replays or scores (a missing day is a gap)")
    p.add_argument("--start", nargs="+", default=list(DEFAULT_STARTS), metavar="DATE",
                   help=f"start dates (default: {' '.join(DEFAULT_STARTS)})")
    p.add_argument("--years", type=float, default=2.0,
                   help=f"years ahead (default 2, at most {MAX_YEARS:g})")
    p.add_argument("--replications", type=int, default=200, help="worlds per start (default 200)")
    p.add_argument("--network", default="economic",
                   help="market/network option: economic, reference, ... (default: economic)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the network option, e.g. --set power_log_sd=0.6; "
                        "+KEY=VALUE adds a plug-in's extra argument")
    p.add_argument("--replay-btc", action="store_true",
                   help="replay the realised BTC path (judge the network alone); else sample "
                        "BTC from --btc-model starting at that day's close")
    p.add_argument("--btc-model", default=None,  # None: gbm, and a --replay-btc not refused
                   help="market/btc option when not replaying: gbm (default), jump, or "
                        "bootstrap (block bootstrap of the --btc file's returns before each "
                        "start date only, a year of them at least); not with --replay-btc")
    p.add_argument("--fit-btc", action="store_true",
                   help=f"fit the --btc-model's parameters ({' or '.join(FITTED_BTC_MODELS)}) "
                        "by maximum likelihood, as hashpivot-calibrate --btc does, on the --btc "
                        "file's closes before each start date, instead of the option's built-in "
                        "values (today's): judges the model as it would have been calibrated then; "
                        "coverage.csv gives the fitted values as btc_<key> and their standard "
                        "errors as btc_<key>_se")
    p.add_argument("--seed", type=int, default=20270101, help="root of the random streams")
    p.add_argument("--out", default="backtest", help="output directory (default ./backtest)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the backtest command; return its exit status (2 on a user error)."""
    args = parser().parse_args(argv)
    cwd_on_path()  # a user's plug-in modules (--set _target_=...), as hashpivot finds them
    try:
        btc_model = _checked_flags(args)
        closes = read_btc_csv(args.btc)
        _check_closes(args, closes, btc_model)
        table, epochs, months = backtest(args.start, args.years, args.replications, args.seed,
                                         args.network, args.set, closes, args.replay_btc,
                                         btc_model, args.btc, args.fit_btc)
    except UserError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; nothing was written (--out={args.out} is as it was)",
              file=sys.stderr)
        return INTERRUPTED
    out = Path(args.out)
    mode = "realised BTC" if args.replay_btc else f"BTC from market/btc={btc_model}"
    if args.fit_btc:
        mode += ", fitted on the closes before each start"
    written = _write(args, out, table, epochs, months, mode)
    if written != 0:
        return written
    _summarise(args, out, table, mode)
    return 0


def _checked_flags(args) -> str:
    """Return the --btc-model the worlds sample (gbm if none is given), or raise UserError
    at the first flag that is out of range or at odds with another: all before the work."""
    if args.replications < 2:
        raise UserError(f"--replications={args.replications}: must be >= 2 (for bands)")
    if not 0 < args.years <= MAX_YEARS:
        raise UserError(f"--years={args.years:g}: must be > 0 and at most {MAX_YEARS:g} "
                        "(the shipped history spans 2009-2025)")
    if args.seed < 0:
        raise UserError(f"--seed={args.seed}: must be >= 0 (the root of the random streams)")
    check_output_dir(args.out, "--out")  # before the work, whose results it would lose
    btc_model = args.btc_model or "gbm"
    if args.fit_btc and (args.replay_btc or btc_model not in FITTED_BTC_MODELS):
        raise UserError(f"--fit-btc: fits --btc-model {' or '.join(FITTED_BTC_MODELS)}, "
                        "the BTC the worlds sample, so not with "
                        + ("--replay-btc" if args.replay_btc
                           else f"--btc-model {btc_model}"))
    if args.replay_btc and args.btc_model is not None:
        raise UserError(f"--btc-model={args.btc_model}: the BTC the worlds sample, so not "
                        "with --replay-btc (every world replays the realised path)")
    check_sets(args.network, args.set)
    for start in args.start:
        if not _is_date(start):
            raise UserError(f"--start={start}: must be a date YYYY-MM-DD such as 2019-01-01")
        _check_scored(start, args.years)
    twice = sorted({start for start in args.start if args.start.count(start) > 1})
    if twice:
        raise UserError(f"--start: {', '.join(twice)} given twice; each date is scored once "
                        "(a repeat would count its epochs twice in every share)")
    return btc_model


def _check_closes(args, closes: pd.Series, btc_model: str) -> None:
    """Raise UserError unless the --btc file has every close that each start reads, and a
    year of them before it where a fit or a bootstrap draws on them: every start's closes,
    before the first world runs."""
    for start in args.start:
        check_btc_covers(closes, start, btc_days_read(start, args.years, args.replay_btc),
                         args.btc, _READS[args.replay_btc])
        for needs, asked in (("--fit-btc", args.fit_btc),
                             (f"--btc-model {BOOTSTRAP_BTC_MODEL}",
                              btc_model == BOOTSTRAP_BTC_MODEL)):
            if asked:
                closes_before(closes, start, args.btc, needs)


def _write(args, out: Path, table: pd.DataFrame, epochs: pd.DataFrame, months: pd.DataFrame,
           mode: str) -> int:
    """Write the run's outputs into `out` as one set and return 0; or, where that fails or
    is interrupted, say what `out` holds and return the exit status (2, or INTERRUPTED)."""
    staging = None
    try:
        staging = stage_outputs(out, _writers(args, table, epochs, months, mode))
        place_outputs(out, staging)
    except OSError as err:  # it passed its check before the work, then could not be written
        print(f"{PROG}: error: --out={args.out}: {err.strerror or err}; nothing was written "
              "(its earlier files are as they were)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        kept = ("this run's outputs, complete" if staging is not None and not staging.exists()
                else "its earlier files as they were, none of this run's")
        print(f"{PROG}: interrupted while writing; --out={args.out} holds {kept}",
              file=sys.stderr)
        return INTERRUPTED
    return 0


def _summarise(args, out: Path, table: pd.DataFrame, mode: str) -> None:
    """Print the run's coverage table, the probability of each score for a calibrated
    model (or why there is none), and what was written."""
    print(f"network={args.network}, {args.replications} replications, {args.years:g} years, "
          f"{mode}{' (btc_*)' if args.fit_btc else ''}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    dates = f"{'all ' if len(table) > 1 else ''}{len(table)} date{'s' * (len(table) > 1)}"
    for what, unit, target, prefix in (
            ("epochs' difficulty", "epoch", TARGET_P5_P95, ""),
            ("months' hashprice", "month", TARGET_HASHPRICE_P5_P95, "hashprice_")):
        column = f"{prefix}calibrated_p5_p95_at_target"
        unscored = table.loc[table[column].isna(), "start"]
        if len(unscored):  # no probability of a coverage of nothing (NaN in coverage.csv)
            print(f"no {unit} to score from {', '.join(unscored)}: no coverage of the {what} "
                  f"and no probability for it ({column} is NaN)")
            continue
        print(f"a calibrated model would have at least {target:.0%} of the {what} inside P5-P95 "
              f"on {dates} with probability {float(np.prod(table[column].to_numpy())):.2f} "
              f"({column}"
              f"{', multiplied: the dates taken as independent' if len(table) > 1 else ''})")
    print(f"wrote {out}/coverage.csv, epochs.csv, hashprice.csv, pit.csv and the plots")


def _check_scored(start: str, years: float) -> None:
    """Raise a UserError unless a real epoch lies wholly within `years` from `start`: a
    window with none has nothing to score."""
    try:
        days = len(day_grid(start, years)[0])
    except UserError:  # under a day
        days = 0
    if not len(realised_epochs(start, days)):
        times = load_difficulty_epochs()["timestamp"].to_numpy()
        raise UserError(f"--start={start} --years={years:g}: no real epoch lies wholly within "
                        f"the window, nothing to score (the shipped difficulty history covers "
                        f"{_day(times[0])} to {_day(times[-1])})")


def _is_date(text: str) -> bool:
    try:
        return pd.Timestamp(text).strftime("%Y-%m-%d") == text
    except ValueError:
        return False
