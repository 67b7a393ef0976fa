"""How fast the economic network sheds hashrate, against the real difficulty's history.

    python scripts/network_falls.py [--replications 400] [--btc FILE [--start DATE ...]
                                    [--years 9]] [OVERRIDE ...]

Prints, for the worlds of the default market (or the overrides'): the quantiles of each
world's largest one-year fall of difficulty, the history's largest since 2014 (the
shipped epochs), the share of worlds whose difficulty falls more than threefold between
June 2032 and March 2033 (where a fleet idle for years used to retire at once), and the
quantiles of the installed over the running hashrate at the first epoch's end (the idle
fleet a high median power price makes). With `--btc` (daily closes, as
hashpivot-backtest takes them), also the same quantiles of the largest fall with the
realised BTC path from each `--start`, as hashpivot-backtest --replay-btc runs the
network. docs/model.md, "Known weaknesses", quotes them.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

import sim
from sim.processes import _economic_epochs
from sim.btc_closes import read_btc_csv
from sim.errors import UserError
from sim.processes.network import load_difficulty_epochs
from sim.world import sample_worlds

QUANTILES = (0.1, 0.5, 0.9, 0.95, 0.99)


def largest_yearly_fall(difficulty: np.ndarray) -> float:
    """Return the largest ratio of a day's difficulty to that a year (365 days) later."""
    log = np.log(np.asarray(difficulty, dtype=float))
    return float(np.exp(log[:-365] - log[365:]).max()) if len(log) > 365 else float("nan")


def history_fall(since: str = "2014-01-01") -> tuple[float, str]:
    """Return the real difficulty's largest one-year fall since `since`, and the day it ends."""
    epochs = load_difficulty_epochs()
    daily = (epochs.set_index(pd.to_datetime(epochs["timestamp"], unit="s"))["difficulty"]
             .resample("D").last().ffill()[since:])
    log = np.log(daily.to_numpy(float))
    falls = np.exp(log[:-365] - log[365:])
    return float(falls.max()), str(daily.index[365 + int(falls.argmax())].date())


def first_epoch_idle_ratios(cfg, replications: int) -> tuple[list, np.ndarray]:
    """Return the worlds and each one's installed over running hashrate at its first epoch's end."""
    step, seen = _economic_epochs.Fleet.step, {}

    def probe(fleet, t_end, revenue, available):
        running = step(fleet, t_end, revenue, available)
        if "ratio" not in seen:  # the first call: every world's first epoch
            installed = fleet.born <= t_end[fleet.world]
            seen["ratio"] = np.bincount(fleet.world[installed], fleet.capacity[installed],
                                        len(t_end)) / running
        return running

    _economic_epochs.Fleet.step = probe
    try:
        worlds = sample_worlds(cfg, list(range(replications)))
    finally:
        _economic_epochs.Fleet.step = step
    return worlds, seen.get("ratio", np.array([np.nan]))


def fall_between(world, first: str, last: str) -> float:
    """Return the world's difficulty on `first` over that on `last` (NaN outside its dates)."""
    days = np.searchsorted(world.date, np.array([first, last], dtype="datetime64[D]"))
    if days[1] >= len(world.date):
        return float("nan")
    return float(world.difficulty[days[0]] / world.difficulty[days[1]])


def replayed_falls(closes, starts, years: float, replications: int) -> dict:
    """Return, per start date, each world's largest one-year fall of difficulty with the
    realised BTC `closes` from that date (the economic network as hashpivot-backtest runs it)."""
    from sim.backtest.scoring import simulate

    falls = {}
    for start in starts:
        paths, _, _ = simulate(start, years, replications, 20270101, "economic", [], closes,
                               True, "gbm", "--btc")
        falls[start] = np.array([largest_yearly_fall(path) for path in paths])
    return falls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=400)
    parser.add_argument("--btc", metavar="FILE", help="daily BTC closes: also replay them")
    parser.add_argument("--start", nargs="+", default=["2014-01-01", "2015-01-01", "2016-01-01"],
                        help="start dates of the replayed runs (with --btc)")
    parser.add_argument("--years", type=float, default=9.0, help="years of the replayed runs")
    parser.add_argument("overrides", nargs="*", help="config overrides, as hashpivot takes them")
    args = parser.parse_args(argv)
    closes = read_btc_csv(args.btc) if args.btc else None  # a bad file: refused before any figure
    cfg = sim.compose([*args.overrides, f"run.replications={args.replications}"])
    worlds, idle = first_epoch_idle_ratios(cfg, args.replications)
    falls = np.array([largest_yearly_fall(w.difficulty) for w in worlds])
    cliff = np.array([fall_between(w, "2032-06-01", "2033-03-01") for w in worlds])
    real, ending = history_fall()
    q = ", ".join(f"P{round(100 * p)} {v:.2f}" for p, v in zip(QUANTILES, np.quantile(falls, QUANTILES)))
    print(f"largest one-year fall of difficulty in a world ({len(worlds)} worlds): {q}")
    print(f"the real difficulty's largest one-year fall since 2014: {real:.2f} (to {ending})")
    if np.isfinite(cliff).any():
        print(f"worlds whose difficulty falls more than threefold from 2032-06-01 to 2033-03-01: "
              f"{np.nanmean(cliff > 3):.1%}")
    q = ", ".join(f"P{round(100 * p)} {v:.2f}" for p, v in zip(QUANTILES, np.quantile(idle, QUANTILES)))
    print(f"installed over running hashrate at the first epoch's end: {q}")
    if closes is not None:
        for start, replayed in replayed_falls(closes, args.start, args.years,
                                              min(args.replications, 100)).items():
            q = ", ".join(f"P{round(100 * p)} {v:.2f}" for p, v in zip(QUANTILES, np.quantile(replayed, QUANTILES)))
            print(f"with realised BTC from {start}, {args.years:g} years: largest one-year fall "
                  f"of difficulty in a world: {q}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as err:  # a bad file or value: one line, no traceback
        print(f"network_falls: error: {err}", file=sys.stderr)
        sys.exit(2)
