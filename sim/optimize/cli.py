"""The `hashpivot-optimize` command: parse the options, run the search, print the table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim._version import __version__
from sim.arguments import flagged
from sim.errors import OneLineParser, UserError
from sim.interrupts import INTERRUPTED, TERMINATED, Terminated, sigterm_interrupts
from sim.optimize.result import BEST, TRIALS, render
from sim.optimize.search import DATABASE, optimize
from sim.optimize.space import SPEC_FORMS, read_space_file, split_assignment
from sim.plugins import cwd_on_path
from sim.ranges import add_range, file_ranges

PROG = "hashpivot-optimize"
#: The flag of each argument of `optimize` its errors name (they name the argument as Python passes it).
FLAGS = {"strategy": "the STRATEGY argument", "space": "--space", "trials": "--trials",
         "metric": "--metric", "direction": "--direction", "replications": "--replications",
         "fresh_replications": "--fresh-replications", "seed": "--seed", "out_dir": "--out",
         "config_dirs": "--config-dir"}

DESCRIPTION = f"""\
Search a strategy's parameters for the best mean of a summary metric (Optuna's TPE sampler).

Every trial runs the strategy on the same worlds (common random numbers: the run seed
is the same for every trial), so trials are compared pair by pair; parameters already
tried are not run again. The configured strategy (its defaults and your overrides) is
the first trial when it lies in the space. The best trial is then run next to the
configured strategy on fresh worlds (a seed derived from the run seed) and their paired
difference printed with its 95% interval: the in-search best is optimistic, having been
selected on the search worlds; the fresh difference is the honest estimate.

Each --space is KEY=SPEC, KEY a parameter of the strategy and SPEC one of
{SPEC_FORMS};
the range must lie within what the parameter allows. --config reads a YAML file:
  space:
    strategy.threshold.margin_below: float:0.05:0.5
    strategy.threshold.lease_above_usd_per_kw_month: {{type: float, low: 50, high: 200}}
  overrides: [market/ai=glut]
Any other argument is a Hydra override of the config, as for `hashpivot`.

Outputs in --out: optuna.db (the trials; rerunning the same command resumes and counts
them toward --trials, a different search or a folder of other files there is refused),
trials.csv (one row per trial) and best.json (the best parameters, values and the fresh
paired difference).
best.json is removed while a search runs and written when it ends. Ctrl-C (or SIGTERM)
keeps the finished trials.

Examples:
  hashpivot-optimize phased --space strategy.phased.blocks_per_quarter=int:0:5 \\
      --space strategy.phased.max_share=float:0.2:1.0 --trials 20 --replications 100
  hashpivot-optimize threshold --space strategy.threshold.margin_below=float:0.05:0.5 \\
      --space strategy.threshold.lease_above_usd_per_kw_month=float:50:200 market/ai=glut
  hashpivot-optimize phased --config space.yaml --metric equity_npv_usd --out outputs/opt1
  hashpivot-optimize phased --space strategy.phased.use=choice:lease,cloud --metric peak_funding_usd"""


def parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    parse = OneLineParser(prog=PROG, description=DESCRIPTION,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("strategy", metavar="STRATEGY",
                       help="the strategy option to search (conf/strategy: phased, threshold, ...)")
    parse.add_argument("overrides", nargs="*", default=[], metavar="OVERRIDE",
                       help="Hydra overrides of the config, e.g. market/ai=glut site.grid_mw=200")
    parse.add_argument("--space", action="append", default=[], metavar="KEY=SPEC",
                       help="a searched parameter and its range (repeat for more)")
    parse.add_argument("--config", metavar="FILE", help="YAML file with 'space' (and 'overrides')")
    parse.add_argument("--trials", type=int, default=30, metavar="N",
                       help="trials in all, those already in --out included (default 30)")
    parse.add_argument("--metric", default="npv_usd", metavar="COLUMN",
                       help="summary column whose mean is optimised (default npv_usd)")
    parse.add_argument("--direction", choices=("max", "min"),
                       help="max or min (default: max, or min for lower-is-better metrics "
                            "such as payback_years, peak_funding_usd)")
    parse.add_argument("--replications", type=int, default=200, metavar="N",
                       help="worlds per trial, the same for every trial (default 200)")
    parse.add_argument("--fresh-replications", type=int, default=1000, metavar="M",
                       help="fresh worlds for the best-vs-baseline check; 0 skips it (default 1000)")
    parse.add_argument("--seed", type=int, metavar="S",
                       help="run seed of the search worlds (default: run.seed of the config)")
    parse.add_argument("--out", metavar="DIR",
                       help="output directory (default: outputs/optimize/STRATEGY)")
    parse.add_argument("--config-dir", action="append", default=[], metavar="DIR",
                       help="extra config directory (your own options), as hashpivot's --config-dir")
    parse.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parse.add_argument("--version", action="version", version=f"hashpivot {__version__}")
    return parse


def main(argv: list[str] | None = None) -> int:
    """Run `hashpivot-optimize`; return the exit code (2 for a user's error, 130 or 143 if
    interrupted)."""
    args = parser().parse_intermixed_args(argv)
    cwd_on_path()  # a user's plug-in modules, as hashpivot finds them
    out = args.out or f"outputs/optimize/{args.strategy}"
    try:
        with sigterm_interrupts():
            optimum = _search(args, out)
    except UserError as err:
        print(f"{PROG}: error: {flagged(err, FLAGS)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"{PROG}: {interrupted_line(out)}", file=sys.stderr)
        return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    print(render(optimum))
    return 0


def interrupted_line(out) -> str:
    """Return the line printed on Ctrl-C or SIGTERM: what `out` keeps and how to resume."""
    if not (Path(out) / DATABASE).exists():
        return "interrupted before the search started; nothing was written"
    return (f"interrupted; the finished trials are kept in {Path(out) / DATABASE} and listed in "
            f"{Path(out) / TRIALS}; {BEST} is written when the search ends: rerun the same "
            "command to resume")


def _search(args, out):
    """Return the Optimum of the search the parsed `args` describe, kept in `out`."""
    space, overrides, given_in = file_ranges(args.config, read_space_file, "space")
    for text in args.space:
        add_range(space, given_in, *split_assignment(text), f"--space {text}")
    return optimize(args.strategy, space, overrides=[*overrides, *args.overrides],
                    trials=args.trials, metric=args.metric, direction=args.direction,
                    replications=args.replications, fresh_replications=args.fresh_replications,
                    out_dir=out, seed=args.seed, config_dirs=args.config_dir,
                    progress=not args.no_progress)


if __name__ == "__main__":
    sys.exit(main())
