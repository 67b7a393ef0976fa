"""Benchmark: CPU seconds to sample one world (every market path) with each network model.

Times `sim.sample_world` of the default experiment, 10 years daily, for each
`market/network` option, in this process: `--worlds` worlds per round, `--rounds` rounds
taking the options in turn (so that a busy machine slows them alike); it prints the
fastest and the median round's time per world. The default run samples 1,000 worlds.
With `--baseline COMMIT`, a git worktree of that commit is made in a temporary folder and
each round runs twice in turn, in fresh processes, the baseline's `sim` first; it prints
both trees' times and the ratio of their fastest rounds.

    python scripts/bench_worlds.py                       # reference and economic
    python scripts/bench_worlds.py --options economic --rounds 9
    python scripts/bench_worlds.py --baseline main       # that commit's tree against this one
    PYTHONPATH=/path/to/other/checkout python scripts/bench_worlds.py   # another tree's sim
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sim
from bench import ROOT, _worktree, machine
from sim.config_checks import settings
from sim.world import build_processes


def seconds_per_world(options: list[str], worlds: int, rounds: int) -> dict[str, list[float]]:
    """Return, for each network option, each round's mean CPU seconds per sampled world."""
    # the typed settings, as a run's chunks read them (attribute access costs what it does there)
    cfgs = {name: settings(sim.compose([f"market/network={name}"])) for name in options}
    processes = {name: build_processes(cfg) for name, cfg in cfgs.items()}
    for name, cfg in cfgs.items():  # warm up: imports, cached history
        sim.sample_world(cfg, 0, processes[name])
    times: dict[str, list[float]] = {name: [] for name in options}
    for _ in range(rounds):
        for name, cfg in cfgs.items():
            began = time.process_time()  # CPU: other work on a shared machine counts less
            for replication in range(worlds):
                sim.sample_world(cfg, replication, processes[name])
            times[name].append((time.process_time() - began) / worlds)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--options", default="reference,economic",
                        help="comma-separated market/network options (default: %(default)s)")
    parser.add_argument("--worlds", type=int, default=10, help="worlds per round (%(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (%(default)s)")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also time the tree of COMMIT, round by round in turn")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # one child's rounds
    args = parser.parse_args(argv)
    options = [name.strip() for name in args.options.split(",") if name.strip()]
    if args.json:
        print(json.dumps(seconds_per_world(options, args.worlds, args.rounds)))
        return 0
    print(f"world sampling benchmark — {machine()}")
    print(f"sim from {sim.__file__}")
    if not args.baseline:
        for name, rounds in seconds_per_world(options, args.worlds, args.rounds).items():
            print(f"market/network={name:<10} fastest {min(rounds):.4f} s, "
                  f"median {statistics.median(rounds):.4f} s CPU per 10-year world")
        return 0
    tree = _worktree(args.baseline)
    try:
        times = _side_by_side(tree, options, args.worlds, args.rounds)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                       capture_output=True)
        shutil.rmtree(tree.parent, ignore_errors=True)
    for name in options:
        then, now = times["baseline"][name], times["this tree"][name]
        for label, rounds in ((f"[{args.baseline}]", then), ("[this tree]", now)):
            print(f"market/network={name:<10} {label:<14} fastest {min(rounds):.4f} s, "
                  f"median {statistics.median(rounds):.4f} s CPU per 10-year world")
        print(f"market/network={name:<10} this tree x{min(then) / min(now):.2f} faster "
              f"(fastest rounds)")
    return 0


def _side_by_side(tree: Path, options: list[str], worlds: int, rounds: int) -> dict:
    """Return {"baseline"|"this tree": {option: seconds per world, one per round}}, each round
    timed in a fresh process of each tree in turn, the baseline first."""
    times: dict = {"baseline": {name: [] for name in options},
                   "this tree": {name: [] for name in options}}
    for _ in range(rounds):
        for label, source in (("baseline", tree), ("this tree", ROOT)):
            done = subprocess.run(
                [sys.executable, __file__, "--json", "--options", ",".join(options),
                 "--worlds", str(worlds), "--rounds", "1"],
                capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(source)))
            if done.returncode:
                raise SystemExit(f"bench_worlds: {label} failed:\n{done.stderr[-3000:]}")
            for name, seconds in json.loads(done.stdout.strip().splitlines()[-1]).items():
                times[label][name] += seconds
    return times


if __name__ == "__main__":
    sys.exit(main())
