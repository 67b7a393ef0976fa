"""hashpivot-backtest: start a network model on past dates and score it against real difficulty.

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
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim._version import __version__
from sim.config import check_output_dir, compose, instantiate
from sim.economics import TWO_POW_32, hashprice_usd_per_ph_day, subsidy_btc
from sim.errors import OneLineParser, UserError
from sim.interrupts import INTERRUPTED, signals_held
from sim.processes.network import load_difficulty_epochs
from sim.btc_closes import btc_path, check_btc_covers, read_btc_csv, refuse_gap
from sim.coverage import (BANDS, PIT_BINS, TARGET_HASHPRICE_P5_P95, TARGET_P5_P95,
                          calibration_null, coverage, pit_histogram)
from sim.processes.series import BTC_CLOSE_COLUMNS, MIN_CLOSES
from sim.rundir import write_atomic
from sim.world import day_grid, rng_for

PROG = "hashpivot-backtest"
DEFAULT_STARTS = ("2016-01-01", "2019-01-01", "2020-01-01", "2022-01-01")
#: The longest backtest: beyond the shipped history (2009-2025) nothing is scored.
MAX_YEARS = 20.0
#: The tables a backtest writes under --out, beside one plot per start date (PLOTS).
TABLES = ("coverage", "epochs", "hashprice", "pit")
PLOTS = "bands_*.png"


# --- inputs -----------------------------------------------------------------------------------
#: Why the backtest reads a start's closes: the realised path it replays, or the month
#: starts whose realised hashprice it scores (and day 0, every world's start).
_READS = {True: "the realised path it replays",
          False: "the span of the month starts whose hashprice it scores"}


def btc_days_read(start: str, years: float, replay: bool) -> np.ndarray:
    """Return the days whose BTC close the backtest from `start` reads: every day of the
    window with `replay`, else day 0 and the month starts it scores (`month_starts`)."""
    day, _ = day_grid(start, years)
    days = np.datetime64(start, "D") + np.arange(len(day))
    return days if replay else days[np.union1d([0], month_starts(start, len(day)))]


#: The `--btc-model` options `--fit-btc` fits, each by `hashpivot-calibrate --btc`'s fit.
FITTED_BTC_MODELS = ("gbm", "jump")
#: The `--btc-model` option that resamples the closes before each start (market/btc=bootstrap).
BOOTSTRAP_BTC_MODEL = "bootstrap"


def closes_before(closes: pd.Series, start: str, source: str, needs: str) -> pd.Series:
    """Return the closes before `start`, or raise UserError naming the file unless they are
    a year of closes (`MIN_CLOSES`, as `hashpivot-calibrate --btc` asks): what `needs`
    them (--fit-btc, --btc-model bootstrap) draws on no close from after its start."""
    before = closes[closes.index < np.datetime64(start, "D")]
    if len(before) < MIN_CLOSES:
        raise UserError(f"--btc={source}: {len(before)} closes before {start}; {needs} needs "
                        f"at least {MIN_CLOSES} (a year of daily returns) before each start")
    return before


def fitted_btc(closes: pd.Series, start: str, option: str, source: str) -> tuple[dict, dict]:
    """Return (the parameters, their standard errors) of `market/btc=<option>` (gbm or
    jump) fitted by maximum likelihood, as `hashpivot-calibrate --btc` fits them, on the
    closes before `start` only (no world draws on prices from after its start), without
    `start_usd` (the backtest starts each world at the close of `start`); or raise
    UserError naming the file, and the row and column of a gap in those closes (the fits
    take daily returns)."""
    from sim.calibrate.btc import fit_gbm, fit_jump  # scipy: only where a fit is asked for

    fit = {"gbm": fit_gbm, "jump": fit_jump}[option]
    before = closes_before(closes, start, source, "--fit-btc")
    refuse_gap(before, before.index[0], before.index[-1], source, "--fit-btc fits daily returns")
    found = fit(before)
    return ({key: value for key, value in found.params.items() if key != "start_usd"},
            dict(found.errors))


#: The day-0 keys a network option must take to be backtested (`start_state` gives more:
#: those an option lacks, such as the time since the epoch's first block, are left out).
REQUIRED_STATE = ("start_height", "start_difficulty")
#: The network keys the backtest sets from the history on each start date (`start_state`).
STATE_KEYS = (*REQUIRED_STATE, "start_epoch_elapsed_days", "start_hashrate_ehs")


#: Days before day 0, at least, whose blocks' pace is the backtest's day-0 hashrate: as the
#: 7-day averages that mining data sites publish and the as-of snapshots take (conf/asof).
HASHRATE_WINDOW_DAYS = 7.0


def start_state(start: str, epochs: pd.DataFrame | None = None) -> dict:
    """Return the network's state at 00:00 UTC on `start` from the real epochs, as
    `market.network` keys: the height (interpolated in time within the epoch), its
    difficulty, the days since its first block, and the hashrate over at least the last
    `HASHRATE_WINDOW_DAYS` (EH/s): the work of the epoch's blocks so far over its time so
    far, plus, where it began less than a window ago, the rest of the window at the pace of
    the last complete epoch (from its duration)."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    stamp = _unix(start)
    times = epochs["timestamp"].to_numpy()
    row = int(np.searchsorted(times, stamp, side="right")) - 1
    if row < 1 or row >= len(epochs) - 1:
        raise UserError(f"--start={start}: the shipped difficulty history covers "
                        f"{_day(times[1])} to {_day(times[-1])}")
    heights = epochs["height"].to_numpy()
    height = int(np.interp(stamp, times, heights))
    previous_s = float(times[row] - times[row - 1]) * 2015 / 2016
    previous = float(epochs["difficulty"].iloc[row - 1]) * TWO_POW_32 * 2015 / previous_s / 1e18
    difficulty, elapsed_s = float(epochs["difficulty"].iloc[row]), float(stamp - times[row])
    window_s = max(HASHRATE_WINDOW_DAYS * 86_400.0, elapsed_s)
    work = (height - int(heights[row])) * difficulty * TWO_POW_32 / 1e18  # EH, this epoch
    hashrate = (work + (window_s - elapsed_s) * previous) / window_s
    return {"start_height": height, "start_difficulty": difficulty,
            "start_epoch_elapsed_days": elapsed_s / 86_400.0, "start_hashrate_ehs": hashrate}


def realised_epochs(start: str, n_days: int, epochs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the real epochs that lie wholly inside the `n_days` from `start`: the day of
    their middle (from day 0) and their difficulty."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    days = (epochs["timestamp"].to_numpy() - _unix(start)) / 86_400.0
    begin, end = days[:-1], days[1:]
    inside = (begin >= 0) & (end <= n_days)
    return pd.DataFrame({"day": ((begin + end) / 2)[inside],
                         "difficulty": epochs["difficulty"].to_numpy()[:-1][inside]})


def _unix(date: str) -> int:
    return int((np.datetime64(date, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)) * 86_400


def _day(stamp) -> str:
    return str(np.datetime64(int(stamp), "s").astype("datetime64[D]"))


# --- running ----------------------------------------------------------------------------------
def simulate(start: str, years: float, replications: int, seed: int, option: str,
             overrides: list[str], closes: pd.Series, replay: bool, btc_option: str,
             source: str, btc_params: dict | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the simulated daily difficulty and hashprice (USD/PH/day), one row per
    replication, from `start`, and the network's base fees (BTC per block). `btc_params`
    (`fitted_btc`), if given, set the keys of the sampled BTC option."""
    day, date = day_grid(start, years)
    realised = btc_path(closes, start, len(day), source) if replay else None
    state = start_state(start)
    takes = compose([f"market/network={option}"]).market.network
    lacking = [k for k in REQUIRED_STATE if k not in takes]
    if lacking:
        raise UserError(f"--network={option}: the option has no {', '.join(lacking)}, which the "
                        "backtest sets from the history on each start date")
    keys = [f"market.network.{k}={v!r}" for k, v in state.items() if k in takes]
    start_usd = float(btc_path(closes, start, 1, source, "day 0")[0])
    cfg = compose([f"market/network={option}", f"market/btc={btc_option}",
                   f"market.btc.start_usd={start_usd!r}",
                   *keys, *map(network_override, overrides),
                   *(f"market.btc.{k}={_override_value(v)}"
                     for k, v in (btc_params or {}).items())])
    history_only_before(cfg.market.network, start)
    if not replay:
        history_only_before(cfg.market.btc, start, source)
    network = instantiate(cfg.market.network, "market.network")
    btc = instantiate(cfg.market.btc, "market.btc")
    paths = np.empty((replications, len(day)))
    hashprices = np.empty((replications, len(day)))
    upstreams = [{"day": day, "date": date} for _ in range(replications)]
    for k, upstream in enumerate(upstreams):
        upstream["btc_usd"] = (realised if replay else
                               btc.sample(day, rng_for(seed, k, "btc"), upstream)["btc_usd"])
    rngs = [rng_for(seed, k, "network") for k in range(replications)]
    outs = (network.sample_batch(day, rngs, upstreams) if hasattr(network, "sample_batch")
            else [network.sample(day, rng, upstream) for rng, upstream in zip(rngs, upstreams)])
    for k, (out, upstream) in enumerate(zip(outs, upstreams)):
        paths[k] = out["difficulty"]
        hashprices[k] = hashprice_usd_per_ph_day(out["subsidy_btc"], out["fees_btc_per_block"],
                                                 upstream["btc_usd"], out["difficulty"])
    return paths, hashprices, float(network.fees_btc_per_block)


def network_override(text: str) -> str:
    """Return `--set`'s KEY=VALUE as the Hydra override of the network option's key, its
    sign kept in front: +KEY=VALUE adds a plug-in's extra argument, ~KEY deletes a key."""
    sign = text[:len(text) - len(text.lstrip("+~"))]
    return f"{sign}market.network.{text[len(sign):]}"


def check_sets(option: str, overrides: list[str]) -> None:
    """Raise UserError, naming the `--set`, at one of the network option's keys that the
    backtest sets from the history, or that the option lacks (a plug-in's extra argument
    takes --set +KEY=VALUE, as `hashpivot` takes +market.network.KEY=VALUE), or that a
    + would add twice; then in Hydra's line at any other it refuses: all before the work."""
    takes = compose([f"market/network={option}"]).market.network
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key in STATE_KEYS:
            raise UserError(f"--set={override}: the backtest sets {key} from the history "
                            "on each start date (the day's state is what it judges from)")
        has = key.split(".")[0] in takes
        if override[:1] not in "+~" and not has:
            raise UserError(f"--set={override}: market/network={option} has no key {key} "
                            f"(check the spelling; a plug-in's extra argument takes "
                            f"--set +{key}=...)")
        if override.startswith("+") and not override.startswith("++") and has:
            raise UserError(f"--set={override}: market/network={option} has {key} already; "
                            f"set it with --set {override[1:]} (+ adds a key it lacks)")
    compose([f"market/network={option}", *map(network_override, overrides)])


def _override_value(value) -> str:
    """Return `value` (a number or a bool) as a Hydra override reads it back exactly."""
    return str(value).lower() if isinstance(value, bool) else repr(float(value))


def history_only_before(process_cfg, start: str, source: str | None = None) -> None:
    """Make a history-driven option (one with an `until` key, such as market/btc=bootstrap
    or market/network=bootstrap) read its history up to the day before `start`, from the
    file `source` if given: no world draws on history from after its start."""
    if "until" in process_cfg:
        process_cfg.until = str(np.datetime64(start, "D") - 1)
        if source is not None and "file" in process_cfg:
            process_cfg.file = str(source)


def month_starts(start: str, n_days: int, epochs: pd.DataFrame | None = None) -> np.ndarray:
    """Return the days (from day 0) of the `n_days` from `start` that are the first of a
    month, while the history of `epochs` (the shipped one if None) lasts."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    dates = np.datetime64(start, "D") + np.arange(n_days)
    firsts = np.flatnonzero(dates.astype("datetime64[M]").astype("datetime64[D]") == dates)
    stamps = np.array([_unix(str(dates[d])) for d in firsts], dtype=np.int64)
    return firsts[stamps < epochs["timestamp"].to_numpy()[-1]]


def realised_hashprice(start: str, n_days: int, closes: pd.Series, fees_btc_per_block: float,
                       epochs: pd.DataFrame | None = None,
                       source: str = "btc.csv") -> pd.DataFrame:
    """Return the realised hashprice on the first day of each month of the `n_days` from
    `start` (day index and USD/PH/day) while the shipped history lasts: the real difficulty
    in force, the subsidy at the real height, that day's BTC close and the given base fees
    (the history has no fees); or raise UserError if the closes of `source` lack a day from
    `start` to the last month start (`check_btc_covers`: no close is made up)."""
    epochs = load_difficulty_epochs() if epochs is None else epochs
    dates = np.datetime64(start, "D") + np.arange(n_days)
    firsts = month_starts(start, n_days, epochs)
    stamps = np.array([_unix(str(dates[d])) for d in firsts], dtype=np.int64)
    times = epochs["timestamp"].to_numpy()
    row = np.searchsorted(times, stamps, side="right") - 1
    height = np.interp(stamps, times, epochs["height"].to_numpy())
    if len(firsts):
        check_btc_covers(closes, start, dates[np.union1d([0], firsts)], source, _READS[False])
    close = closes.reindex(dates[firsts]).to_numpy(float)
    hashprice = hashprice_usd_per_ph_day(subsidy_btc(height.astype(np.int64)), fees_btc_per_block,
                                         close, epochs["difficulty"].to_numpy()[row])
    return pd.DataFrame({"day": firsts, "hashprice": hashprice})


def _scored(start: str, option: str, day: np.ndarray, at: np.ndarray, real: np.ndarray,
            paths: np.ndarray, name: str) -> tuple[dict, pd.DataFrame]:
    """Return (the coverage of the `real` values by the simulated `paths` (one row per
    replication) on the days `at`, one row per value: start, network, day, date (of `at`),
    real_<name>, the bands P5..P95 and the PIT)."""
    scored = coverage(real, paths[:, at].T)
    table = pd.concat([pd.DataFrame({
        "start": start, "network": option, "day": day,
        "date": np.datetime64(start, "D") + at, f"real_{name}": real}),
        pd.DataFrame(scored["bands"], columns=[f"p{b}" for b in BANDS]),
        pd.DataFrame({"pit": scored["pit"]})], axis=1)
    return scored, table


def backtest(starts, years, replications, seed, option, overrides, closes, replay,
             btc_option="gbm", source="btc.csv",
             fit_btc: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (one coverage row per start date, one row per scored real epoch, one row per
    scored month). A coverage row has the real epochs' coverage by the simulated
    difficulty, the median log(real / simulated median), how that coverage compares with
    what a calibrated model scores on the same epochs (`calibration_null`), the realised monthly
    hashprice's P5–P95 and P25–P75 coverage (base fees assumed; on the first day of each
    month after day 0, whose hashprice every world starts from) and its calibration null
    (hashprice_calibrated_*, hashprice_rank_*). With `fit_btc`, the
    sampled BTC option's parameters are fitted on the closes before each start
    (`fitted_btc`) and the row gives them as `btc_<key>`, with their standard errors as
    `btc_<key>_se`."""
    rows, epochs, months = [], [], []
    for start in starts:
        fitted, errors = fitted_btc(closes, start, btc_option, source) if fit_btc else ({}, {})
        simulated, hashprices, fees = simulate(start, years, replications, seed, option,
                                               overrides, closes, replay, btc_option, source,
                                               fitted)
        month = realised_hashprice(start, simulated.shape[1], closes, fees, source=source)
        month = month[month["day"] > 0]  # day 0's hashprice is the start's: known, not scored
        first_days = month["day"].to_numpy()
        monthly, table = _scored(start, option, first_days, first_days,
                                 month["hashprice"].to_numpy(), hashprices, "hashprice")
        monthly_null = calibration_null(monthly, hashprices[:, first_days].T,
                                        TARGET_HASHPRICE_P5_P95)
        months.append(table)
        real = realised_epochs(start, simulated.shape[1])
        at = np.minimum(real["day"].to_numpy().astype(int), simulated.shape[1] - 1)
        scored, table = _scored(start, option, real["day"].to_numpy(), at,
                                real["difficulty"].to_numpy(), simulated, "difficulty")
        epochs.append(table)
        rows.append({"start": start, "network": option, "epochs": len(real),
                     "inside_p5_p95": scored["inside_p5_p95"],
                     "inside_p25_p75": scored["inside_p25_p75"],
                     "median_log_error": float(np.median(np.log(
                         real["difficulty"].to_numpy() / table["p50"].to_numpy())))
                     if len(real) else float("nan"),
                     **calibration_null(scored, simulated[:, at].T),
                     "months": len(month),
                     "hashprice_inside_p5_p95": monthly["inside_p5_p95"],
                     "hashprice_inside_p25_p75": monthly["inside_p25_p75"],
                     **{f"hashprice_{k}": v for k, v in monthly_null.items()},
                     **{f"btc_{k}": v for k, v in fitted.items() if not isinstance(v, bool)},
                     **{f"btc_{k}_se": v for k, v in errors.items()}})
    return (pd.DataFrame(rows), pd.concat(epochs, ignore_index=True),
            pd.concat(months, ignore_index=True))


def plot(epochs: pd.DataFrame, months: pd.DataFrame, start: str, btc: str, path: Path,
         scores: pd.Series | None = None) -> None:
    """Write a PNG of one start date: the simulated bands against the real difficulty (top)
    and against the realised monthly hashprice (bottom), each with its PIT histogram;
    `btc` says where the worlds' BTC came from; `scores`, the date's row of `backtest`'s
    coverage table, if given, titles each panel with its coverage and its rank among a
    calibrated model's."""
    figure = Figure(figsize=(10, 7))
    axes = figure.subplots(2, 2, gridspec_kw={"width_ratios": [3, 1]})
    for (bands, pit), table, name, label, prefix in (
            (axes[0], epochs, "difficulty", "difficulty (real epochs)", ""),
            (axes[1], months, "hashprice", "hashprice, USD/PH/day (month starts)", "hashprice_")):
        part = table[table["start"] == start]
        if part.empty:  # a short window: no month starts after day 0 within the history
            bands.text(0.5, 0.5, f"no {name} to score in this window", ha="center",
                       transform=bands.transAxes)
            bands.set_ylabel(label)
            pit.set_axis_off()
            continue
        when = pd.to_datetime(part["date"])
        bands.fill_between(when, part["p5"], part["p95"], alpha=0.25, label="P5–P95")
        bands.fill_between(when, part["p25"], part["p75"], alpha=0.45, label="P25–P75")
        bands.plot(when, part["p50"], lw=1, label="median")
        bands.plot(when, part[f"real_{name}"], "k.", ms=3, label="real")
        bands.set_yscale("log")
        bands.set_ylabel(label)
        bands.legend(loc="best", fontsize=8)
        if scores is not None:
            bands.set_title(_scored_title(scores, prefix), fontsize=9)
        pit.bar(np.arange(PIT_BINS) / PIT_BINS, pit_histogram(part["pit"].to_numpy()),
                width=1 / PIT_BINS, align="edge")
        pit.axhline(1 / PIT_BINS, color="k", lw=0.8)
        pit.set_title(f"PIT of the {name}\n(flat = calibrated)", fontsize=9)
    network = epochs.loc[epochs["start"] == start, "network"]
    figure.suptitle(f"{network.iloc[0] if len(network) else ''} from {start}; {btc}")
    figure.tight_layout()
    write_atomic(path, lambda tmp: figure.savefig(tmp, dpi=100, format="png"))


def _scored_title(scores: pd.Series, prefix: str) -> str:
    """Return a panel's coverage and its ranks among a calibrated model's (`calibration_null`)."""
    inside, rank = (", ".join(f"{scores[f'{prefix}{kind}_{band}']:.2f}"
                              for band in ("p5_p95", "p25_p75")) for kind in ("inside", "rank"))
    return f"inside P5–P95, P25–P75: {inside}; ranks among a calibrated model's: {rank}"


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
    try:
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
        closes = read_btc_csv(args.btc)
        for start in args.start:  # every start's closes, before the first world runs
            check_btc_covers(closes, start, btc_days_read(start, args.years, args.replay_btc),
                             args.btc, _READS[args.replay_btc])
            for needs, asked in (("--fit-btc", args.fit_btc),
                                 (f"--btc-model {BOOTSTRAP_BTC_MODEL}",
                                  btc_model == BOOTSTRAP_BTC_MODEL)):
                if asked:
                    closes_before(closes, start, args.btc, needs)
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
    return 0


def _writers(args, table: pd.DataFrame, epochs: pd.DataFrame, months: pd.DataFrame,
             mode: str) -> dict:
    """Return {file name: a function writing it to a path} for every output of the run."""
    pit = pd.DataFrame({"start": np.repeat(args.start, PIT_BINS),
                        "bin_low": np.tile(np.arange(PIT_BINS) / PIT_BINS, len(args.start))})
    for column, scored in (("share", epochs), ("hashprice_share", months)):
        pit[column] = np.concatenate([pit_histogram(scored.loc[scored["start"] == s, "pit"]
                                                    .to_numpy()) for s in args.start])
    writers = {f"{name}.csv": lambda path, frame=frame: frame.to_csv(path, index=False)
               for name, frame in zip(TABLES, (table, epochs, months, pit))}
    for start in args.start:
        writers[f"bands_{args.network}_{start}.png"] = (
            lambda path, start=start: plot(epochs, months, start, mode, path,
                                           table.loc[table["start"] == start].iloc[0]))
    return writers


#: The hidden folder in --out that a backtest writes its outputs into before moving them
#: in, named `.backtest-<its process id>`.
STAGING_PREFIX = ".backtest-"


def left_behind(out: Path) -> list[Path]:
    """Return the staging folders in `out` whose backtest no longer runs: one killed
    (SIGKILL, a crash) before it moved its outputs in, or one of an earlier version (named
    at random)."""
    def running(name: str) -> bool:
        pid = name[len(STAGING_PREFIX):]
        if not pid.isdigit() or int(pid) in (0, os.getpid()):
            return False
        try:
            os.kill(int(pid), 0)  # signal 0: is there such a process
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's
            return True
        return True

    return sorted(folder for folder in out.glob(f"{STAGING_PREFIX}*")
                  if folder.is_dir() and not running(folder.name))


def stage_outputs(out: Path, writers: dict) -> Path:
    """Return a new hidden folder in `out` (made if missing) holding every output, each
    written by its writer; on any failure or interruption the folder is removed (and `out`,
    if this call made it and it is empty), so `out` is as it was. A staging folder that a
    killed backtest left in `out` is removed first."""
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    for stale in left_behind(out):
        shutil.rmtree(stale, ignore_errors=True)
    staging = out / f"{STAGING_PREFIX}{os.getpid()}"
    try:
        staging.mkdir()
        for name, write in writers.items():
            with signals_held():  # Agg turns an interrupt inside savefig into a ValueError
                write(staging / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if made:
            try:
                out.rmdir()
            except OSError:
                pass  # not empty: someone else's files
        raise
    return staging


def place_outputs(out: Path, staging: Path) -> None:
    """Replace the outputs of an earlier backtest in `out` (TABLES and PLOTS) by those in
    `staging`, and remove it; Ctrl-C and SIGTERM are held until the set is whole, so `out`
    never holds this run's tables beside an earlier run's plots."""
    with signals_held():
        for old in [*(out / f"{name}.csv" for name in TABLES), *out.glob(PLOTS)]:
            old.unlink(missing_ok=True)
        for new in staging.iterdir():
            os.replace(new, out / new.name)
        staging.rmdir()


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


if __name__ == "__main__":
    sys.exit(main())
