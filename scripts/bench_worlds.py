"""Benchmark: seconds to sample one world (every market path) with each network model.

Times `sim.sample_world` of the default experiment, 10 years daily, for each
`market/network` option, in this process: `--worlds` worlds per round, `--rounds` rounds
taking the options in turn (so that a busy machine slows them alike); it prints the
fastest and the median round's time per world. The default run samples 1,000 worlds.

    python scripts/bench_worlds.py                       # reference and economic
    python scripts/bench_worlds.py --options economic --rounds 9
    PYTHONPATH=/path/to/other/checkout python scripts/bench_worlds.py   # another tree's sim
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import sim
from bench import machine
from sim.world import build_processes


def seconds_per_world(options: list[str], worlds: int, rounds: int) -> dict[str, list[float]]:
    """Return, for each network option, each round's mean seconds per sampled world."""
    cfgs = {name: sim.compose([f"market/network={name}"]) for name in options}
    processes = {name: build_processes(cfg) for name, cfg in cfgs.items()}
    for name, cfg in cfgs.items():  # warm up: imports, cached history
        sim.sample_world(cfg, 0, processes[name])
    times: dict[str, list[float]] = {name: [] for name in options}
    for _ in range(rounds):
        for name, cfg in cfgs.items():
            began = time.perf_counter()
            for replication in range(worlds):
                sim.sample_world(cfg, replication, processes[name])
            times[name].append((time.perf_counter() - began) / worlds)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--options", default="reference,economic",
                        help="comma-separated market/network options (default: %(default)s)")
    parser.add_argument("--worlds", type=int, default=10, help="worlds per round (%(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (%(default)s)")
    args = parser.parse_args(argv)
    options = [name.strip() for name in args.options.split(",") if name.strip()]
    print(f"world sampling benchmark — {machine()}")
    print(f"sim from {sim.__file__}")
    for name, rounds in seconds_per_world(options, args.worlds, args.rounds).items():
        print(f"market/network={name:<10} fastest {min(rounds):.4f} s, "
              f"median {statistics.median(rounds):.4f} s per 10-year world")
    return 0


if __name__ == "__main__":
    sys.exit(main())
