"""The `hashpivot-explore` command: parse the options and ranges, run the experiment, print the findings."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from sim._version import __version__
from sim.arguments import flagged, names_listed
from sim.config import compose
from sim.errors import OneLineParser, UserError
from sim.explore.pipeline import explore
from sim.explore.run import POINTS, prepare
from sim.explore.space import SPEC_FORM, is_range, read_explore_file, split_assignment
from sim.interrupts import INTERRUPTED, TERMINATED, Terminated, sigterm_interrupts
from sim.plugins import cwd_on_path
from sim.ranges import add_range, file_ranges

PROG = "hashpivot-explore"
#: The flag of each argument of `prepare` and `explore` their errors name (they name the argument
#: as Python passes it; `strategy` and `run.replications`, the config's, are what --strategies
#: and --replications set).
FLAGS = {"design": "--design", "points": "--points", "metric": "--metric", "against": "--against",
         "strategy": "--strategies", "out_dir": "--out", "config_dirs": "--config-dir",
         "run.replications": "--replications"}

DESCRIPTION = f"""\
Run the model over ranges of uncertain assumptions, then say where a strategy pays
(PRIM scenario discovery) and which assumption drives the outcome (Sobol' indices or
Morris' screen).

Each range is explore.KEY={SPEC_FORM}, KEY any number of the config; a
distribution-valued key (site.conversion.capex_usd_per_mw_it, a lognormal) varies its
median, keeping its sigma. --config reads a YAML file:
  explore:
    site.conversion.capex_usd_per_mw_it: 4e6:11e6
    run.discount_rate: [0.07, 0.12]
  overrides: [site.blocks=8]
Any other argument is a Hydra override of the config, as for `hashpivot`.

Every design point runs the same worlds (the same run.seed: common random numbers),
with run.detail=summary and no comparison of its own; run.executor and run.workers
apply to each point. So a range over run.seed, run.replications (give --replications),
how the points are computed (run.executor, run.workers, run.chunk_size, run.ray.*) or
what explore fixes (run.detail, run.until_confident, ...) is refused.
Designs: sobol and lhs (--points points), saltelli (--points x (k + 2) points, gives
Sobol' indices), morris (--points x (k + 1), gives the Morris screen), for k ranges.
sobol and saltelli draw Sobol' points, even over the ranges only in a power of 2: give
--points 8, 16, 64, 256 (another number runs, with a note).

--metric and --against are checked before any point runs. A metric (irr, payback_years)
undefined (NaN) in more than half of a strategy's worlds at any point is refused once
the points have run, before any table is written, as hashpivot-compare refuses it (the
points are kept: another --metric reads them back); below that, each statistic uses the
worlds that define it and says how many do not, and PRIM counts the cases it leaves out.

Outputs in --out: points/<i>.parquet (each finished point; rerunning the same command
skips them, a different experiment or a folder of other files there is refused, Ctrl-C
or SIGTERM keeps them),
points.csv (per point and strategy: mean, P5/P50/P95, the share of worlds leaving the
metric undefined, the paired difference against --against with its 95% interval and its
pairs), prim.csv (the peeling trajectory), boxes.csv, explore.html, explore.xlsx with
--xlsx; with --design saltelli also sobol.csv (Sobol' indices), with --design morris
also morris.csv (the Morris screen); sobol and lhs give neither.

Examples:
  hashpivot-explore 'strategy=[stay_mining,convert_all]' run.replications=20 \\
      explore.site.conversion.capex_usd_per_mw_it=4e6:11e6 \\
      explore.market.ai.lease_start_usd_per_kw_month=100:170 explore.run.discount_rate=0.07:0.12
  hashpivot-explore --design saltelli --points 64 --config ranges.yaml --xlsx
  hashpivot-explore --design morris --points 10 --strategies stay_mining,phased --threshold 5e7 ..."""


def parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    parse = OneLineParser(prog=PROG, description=DESCRIPTION,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("arguments", nargs="*", metavar="OVERRIDE",
                       help="explore.KEY=LOW:HIGH ranges and Hydra overrides of the config")
    parse.add_argument("--config", metavar="FILE", help="YAML file with 'explore' (and 'overrides')")
    parse.add_argument("--design", default="sobol", choices=("sobol", "lhs", "saltelli", "morris"),
                       help="how the points are drawn (default sobol)")
    parse.add_argument("--points", type=int, default=64, metavar="N",
                       help="design points (saltelli: N x (k + 2), morris: N x (k + 1)); sobol, "
                            "saltelli: best a power of 2; default 64")
    parse.add_argument("--metric", default="npv_usd", metavar="COLUMN",
                       help="summary column analysed (default npv_usd)")
    parse.add_argument("--against", default="stay_mining", metavar="STRATEGY",
                       help="the strategy the others are compared with, world by world (default stay_mining)")
    parse.add_argument("--strategies", metavar="A,B", help="the strategies run (default: the config's)")
    parse.add_argument("--replications", type=int, metavar="R",
                       help="worlds per point (default: run.replications of the config)")
    parse.add_argument("--threshold", type=float, default=0.0, metavar="X",
                       help="PRIM's question: does a strategy beat --against by more than X (default 0)")
    parse.add_argument("--features", action="store_true",
                       help="let PRIM restrict the sampled worlds' features too, not only the ranges")
    parse.add_argument("--out", default="outputs/explore", metavar="DIR",
                       help="output directory (default outputs/explore)")
    parse.add_argument("--xlsx", action="store_true", help="also write explore.xlsx")
    parse.add_argument("--config-dir", action="append", default=[], metavar="DIR",
                       help="extra config directory (your own options), as hashpivot's --config-dir")
    parse.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parse.add_argument("--version", action="version", version=f"hashpivot {__version__}")
    return parse


def _split(args) -> tuple[dict, list[str]]:
    """Return (ranges {key: spec}, Hydra overrides) from the file, the options and the arguments."""
    specs, overrides, given_in = file_ranges(args.config, read_explore_file, "explore")
    for text in args.arguments:
        if is_range(text):
            add_range(specs, given_in, *split_assignment(text), text)
        else:
            overrides.append(text)
    if args.strategies:
        overrides.append(f"strategy=[{','.join(names_listed(args.strategies))}]")
    if not math.isfinite(args.threshold):
        raise UserError(f"--threshold={args.threshold}: must be a finite amount of the metric")
    if args.replications is not None:
        if args.replications < 2:
            raise UserError(f"--replications={args.replications}: must be >= 2")
        overrides.append(f"run.replications={args.replications}")
    return specs, overrides


def main(argv: list[str] | None = None) -> int:
    """Run `hashpivot-explore`; return the exit code (2 for a user's error, 130 or 143 if
    interrupted)."""
    args = parser().parse_intermixed_args(argv)
    cwd_on_path()  # a user's plug-in modules, as hashpivot finds them
    started = time.perf_counter()
    try:
        with sigterm_interrupts():
            specs, overrides = _split(args)
            experiment = prepare(compose(overrides, args.config_dir), specs, args.design,
                                 args.points, overrides)
            note = experiment.design.balance_note(FLAGS["points"])
            if note:
                print(f"{PROG}: note: {note}", file=sys.stderr)
            found = explore(experiment, args.out, args.metric, args.against, args.threshold,
                            args.features, args.xlsx, progress=not args.no_progress)
    except UserError as err:
        print(f"{PROG}: error: {flagged(err, FLAGS)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        print(f"{PROG}: {interrupted_line(args.out)}", file=sys.stderr)
        return TERMINATED if isinstance(err, Terminated) else INTERRUPTED
    for line in found.sentences:
        print(line)
    if len(found.sensitivity):
        print(found.sensitivity.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{len(experiment.design.points)} points in {time.perf_counter() - started:,.0f} s; "
          f"outputs in {args.out} (explore.html)")
    return 0


def interrupted_line(out) -> str:
    """Return the line printed on Ctrl-C or SIGTERM: what `out` keeps and how to resume."""
    points = Path(out) / POINTS
    if not points.is_dir():
        return "interrupted before any point ran; nothing was written"
    finished = sum(1 for _ in points.glob("*.parquet"))
    return (f"interrupted; the finished points ({finished}) are kept in {points}: rerun the "
            "same command to resume")


if __name__ == "__main__":
    sys.exit(main())
