"""`hashpivot-compare`: compare the outcome distributions of finished runs.

A thin command line over `compare_runs`. Bad input (a missing or foreign directory, an
unfinished run, runs with no common strategy, an unknown metric or baseline) prints one
line, `hashpivot-compare: error: ...`, and exits with code 2. What a comparison leaves
out (an unfinished job under --finished-only, a run whose worlds another run holds, a
strategy missing from a scenario) is printed as `hashpivot-compare: warning: Left out:
...`, as the report says it; so are runs valued under different settings (discount rates,
terminal value, horizon), whose NPVs do not compare.
"""

from __future__ import annotations

import argparse
import sys

from sim._version import __version__
from sim.arguments import flagged, names_listed
from sim.compare.pipeline import compare_runs
from sim.compare.workbook import workbook_path
from sim.errors import OneLineParser, UserError
from sim.interrupts import INTERRUPTED
from sim.rundir.robustness_record import missing_line

PROG = "hashpivot-compare"
#: The flag of each argument of `compare_runs` its errors name (they name the argument as Python passes it).
FLAGS = {"baseline": "--baseline", "metric": "--metric", "strategies": "--strategies"}
EPILOG = """\
examples:
  hashpivot-compare outputs/2027-01-01/12-00-00
  hashpivot-compare multirun/2027-01-01/12-00-00 --out comparison/
  hashpivot-compare RUN_A RUN_B --baseline phased --metric peak_funding_usd
  hashpivot-compare RUN_DIR --metric equity_npv_usd    # or equity_irr, min_dscr, ...

Runs that sampled the same worlds (same seed, market, snapshot and horizon) are one
scenario, compared pair by pair; runs over other worlds that ran the same strategies are
other scenarios, and each strategy's regret across them is reported. Writes
comparison.csv, report.html and plots/*.png into --out, and with --xlsx the same tables
as one workbook (comparison.xlsx)."""


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of hashpivot-compare."""
    p = OneLineParser(prog=PROG, description="Compare the distributions of outcomes across "
                "strategies in one or more finished hashpivot runs.", epilog=EPILOG,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"hashpivot {__version__}")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="a run directory, or a multirun sweep directory (its numbered "
                   "job folders are read)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="where to write the comparison (default: the run directory when "
                   "one is given, else the current directory)")
    p.add_argument("--baseline", metavar="NAME", default=None,
                   help="strategy to compare against (default: stay_mining, or the first "
                   "strategy when stay_mining did not run)")
    p.add_argument("--metric", metavar="COLUMN", default="npv_usd",
                   help="summary.parquet column to compare (default: npv_usd); runs "
                   "with financing add equity_npv_usd, equity_irr, min_dscr, "
                   "covenant_breached, peak_equity_usd and npv_after_tax_usd")
    p.add_argument("--strategies", metavar="A,B,...", default=None,
                   help="compare only these strategies (default: every one that ran), e.g. "
                   "to leave out stay_mining, which carries no debt, for --metric min_dscr")
    p.add_argument("--finished-only", action="store_true",
                   help="leave out unfinished runs (a sweep's crashed, failed or "
                   "interrupted jobs) instead of refusing; each is named in the report "
                   "and on the terminal")
    p.add_argument("--confidence", metavar="LEVEL", type=float, default=0.95,
                   help="confidence of intervals and of the selection (default: 0.95)")
    p.add_argument("--indifference", metavar="AMOUNT", type=float, default=None,
                   help="differences in the metric's mean smaller than this do not matter "
                   "to the selection of the best (metric units; default: the runs' "
                   "run.indifference_usd for a USD metric, else 1%% of the largest mean)")
    p.add_argument("--xlsx", metavar="PATH", nargs="?", const="", default=None,
                   help="also write the tables as one Excel workbook (per-strategy "
                   "statistics, paired differences, per-replication summary, yearly cash "
                   "flows; units in the headers), at PATH or at OUT/comparison.xlsx")
    return p


def main(argv=None) -> int:
    """Return the exit code of `hashpivot-compare` run with `argv`: 0, or 2 on bad input."""
    try:
        args = parser().parse_args(argv)
        if not 0 < args.confidence < 1:
            raise UserError(f"--confidence={args.confidence:g}: must be between 0 and 1, a share "
                            f"(0.95 for 95%)")
        strategies = names_listed(args.strategies or "")
        if args.strategies is not None and not strategies:
            raise UserError(f"--strategies={args.strategies!r}: name at least one strategy "
                            f"(A,B,...), or leave the flag out to compare every one")
        comparison = compare_runs(args.run_dirs, out=args.out, baseline=args.baseline,
                                  metric=args.metric, confidence=args.confidence,
                                  delta=args.indifference, strategies=strategies,
                                  xlsx=args.xlsx, finished_only=args.finished_only)
    except UserError as error:
        message = " ".join(flagged(error, FLAGS).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # an earlier report.html is removed before anything is written
        print(f"{PROG}: interrupted; the comparison is unfinished and its report.html not "
              f"written: rerun the same command", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as done:  # --help
        return int(done.code or 0)
    print(comparison.verdict.splitlines()[0])
    for line in comparison.valued_differently + comparison.left_out + _robustness_missing(comparison):
        print(f"{PROG}: warning: {line}", file=sys.stderr)
    print(f"Wrote {comparison.out / 'report.html'}")
    if args.xlsx is not None:
        print(f"Wrote {workbook_path(comparison.out, args.xlsx)}")
    return 0


def _robustness_missing(comparison) -> list[str]:
    """Return the report's sentence for each run whose robustness table was asked for but
    not made (its reruns failed, were interrupted or killed): the report has no table."""
    return [line for run in comparison.runset.runs
            for line in [missing_line(run.path, run.info)] if line]
