"""The `hashpivot-calibrate` command: read history files, fit, print, write Hydra options."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim._version import __version__
from sim.arguments import check_output_dir
from sim.calibrate.btc import check_closes, fit_gbm, fit_jump
from sim.calibrate.fit import Fit
from sim.calibrate.indices import check_index, fit_ai
from sim.calibrate.network import fit_network
from sim.calibrate.network_economic import (WINDOW_YEARS, check_epochs, fit_economic_network,
                                            fit_window, parse_since)
from sim.calibrate.output import render, write_all
from sim.calibrate.power import check_prices, fit_power
from sim.errors import OneLineParser, UserError
from sim.interrupts import INTERRUPTED
from sim.processes.history import read_epochs
from sim.processes.series import BTC_CLOSE_COLUMNS, read_dated, read_daily

PROG = "hashpivot-calibrate"

DESCRIPTION = """\
Fit the market processes to your history and write each fit as a ready config option:
  <out>/market/btc/fitted_gbm.yaml, <out>/market/btc/fitted_jump.yaml (--btc),
  <out>/market/power/fitted.yaml (--power), <out>/market/ai/fitted.yaml (--lease/--gpu),
  <out>/market/network/fitted.yaml (--network, with --btc).
Use one with:  hashpivot --config-dir <out> market/btc=fitted_gbm
--network fits, by default, the economic network (market/network=economic): run
deterministically from the history's state on the first day of the window, driven by
the real BTC closes, its hashrate predicts every real epoch's; least squares of the
log errors fits power_median_usd_per_mwh, payback_target_days and order_days (the rest
keep their built-in values). --network-model reference fits today's reference-hashprice
rule (market/network=reference) instead. Either is written as market/network=fitted.
Each option is the shipped one (gbm, jump, ercot, base, economic or reference) with the
fitted parameters replaced: every other key, day 0's state (conf/asof) among them, stays.
Each file is commented with the fit's period, every parameter's standard error and the
goodness of fit, which are printed too. Files are CSV with a header row; dates are
YYYY-MM-DD (a date with a UTC offset is read in UTC). A bad file (missing, a missing
column, a bad or repeated date, a gap, a non-positive price, too few data: --btc 366
closes, --power 366 days, --lease/--gpu 12 prices, --network 9 epochs) stops the command
with one line naming the file, row and column, before any fit, as does an --out that
cannot be written; nothing is written unless every fit succeeds (Ctrl-C: nothing)."""

FILES = {
    "btc": (f"daily BTC closes: columns date, {BTC_CLOSE_COLUMNS[0]} (or "
            f"{', '.join(BTC_CLOSE_COLUMNS[1:])}); one row per day, no gaps"),
    "power": "power prices: columns date, usd_per_mwh; one row per day, or per hour "
             "(date as YYYY-MM-DD HH:MM, averaged to days); no missing days",
    "network": "difficulty epochs: columns height, timestamp, difficulty (the first block's "
               "height and unix time of each epoch, as sim/data/difficulty_epochs.csv); "
               "needs --btc for the prices",
    "lease": "AI colocation lease index: columns date, usd_per_kw_month; any regular step "
             "(daily, weekly, monthly)",
    "gpu": "GPU rental price: columns date, usd_per_hour; any regular step",
}


def parser() -> argparse.ArgumentParser:
    """Return the command's argument parser (its --help explains every file's format)."""
    parse = OneLineParser(prog=PROG, description=DESCRIPTION,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("--version", action="version", version=f"hashpivot {__version__}")
    for name, help_text in FILES.items():
        parse.add_argument(f"--{name}", metavar="FILE", help=help_text)
    parse.add_argument("--out", metavar="DIR", default="calibrated",
                       help="directory to write the options under (default: calibrated)")
    parse.add_argument("--network-model", choices=("economic", "reference"),
                       help="the network model --network fits: economic (EconomicNetwork, "
                            "the default) or reference (Network, the reference-hashprice rule)")
    parse.add_argument("--network-since", metavar="DATE",
                       help="first day (YYYY-MM-DD) of the economic fit's window (default: "
                            f"{WINDOW_YEARS:g} years before the end of the epochs' and prices' "
                            "overlap)")
    parse.add_argument("--fees-btc-per-block", type=float, metavar="BTC",
                       help="fees per block assumed in the epochs' hashprice for --network "
                            "(default 0.025: between 2025's average, 0.036, and January 2026's, 0.0173)")
    return parse


def _read(flag: str, reader, path: str, *args, check=None):
    """Return the file read by `reader` and passed by `check` (enough data for its fit), or
    raise UserError naming the flag and the file."""
    try:
        data = reader(path, *args)
    except UserError as err:
        raise UserError(f"--{flag}={err}") from None
    try:
        if check is not None:
            check(data)
    except UserError as err:
        raise UserError(f"--{flag}={path}: {err}") from None
    return data


def _epochs(path: str) -> pd.DataFrame:
    """Return the difficulty history of `path` (`read_epochs`), a file that is not CSV refused."""
    try:
        return read_epochs(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not a CSV file ({' '.join(str(err).split())})") from None


def check_options(args) -> None:
    """Raise UserError at an option that is missing its partner, out of range, or would be ignored."""
    if not any(getattr(args, name) for name in FILES):
        raise UserError("no history given: pass at least one of --btc, --power, --network, "
                        "--lease, --gpu (see --help)")
    if args.network and not args.btc:
        raise UserError(f"--network={args.network}: needs --btc (the prices for its hashprice)")
    for flag, value in (("--network-model", args.network_model),
                        ("--network-since", args.network_since),
                        ("--fees-btc-per-block", args.fees_btc_per_block)):
        if value is not None and not args.network:
            raise UserError(f"{flag}={value}: only --network uses it (no --network given)")
    if args.network_since is not None:
        if args.network_model == "reference":
            raise UserError(f"--network-since={args.network_since}: only the economic model has "
                            "a fit window (--network-model reference fits every epoch inside "
                            "the --btc prices' dates)")
        parse_since(args.network_since)
    fees = args.fees_btc_per_block
    if fees is not None and not (math.isfinite(fees) and fees >= 0):
        raise UserError(f"--fees-btc-per-block={fees:g}: must be a number of BTC >= 0")


def _economic(args) -> bool:
    """Return whether --network fits the economic model (the default) rather than the reference."""
    return (args.network_model or "economic") == "economic"


def inputs(args) -> dict:
    """Return every file given, read and checked to hold enough data for its fit, and the
    network's fit window and --out checked: all before any fit starts (they take minutes)."""
    check_options(args)
    check_output_dir(args.out, "--out")
    data = {}
    if args.btc:
        data["btc"] = _read("btc", read_daily, args.btc, BTC_CLOSE_COLUMNS, check=check_closes)
    if args.power:
        data["power"] = _read("power", read_daily, args.power, "usd_per_mwh", True,
                              check=check_prices)
    for name, column in (("lease", "usd_per_kw_month"), ("gpu", "usd_per_hour")):
        if getattr(args, name):
            data[name] = _read(name, read_dated, getattr(args, name), column, check=check_index)
    if args.network:
        data["network"] = _read("network", _epochs, args.network, check=check_epochs)
        if _economic(args):
            fit_window(data["network"], data["btc"], args.network_since)
    return data


def _fit(label: str, fitter, *args) -> Fit:
    """Return fitter(*args), or raise UserError naming its flags and files (`label`) where
    the fit fails or a fitted value is not a finite number (an unknown standard error is
    infinite)."""
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            fit = fitter(*args)  # a NaN or infinite result is refused below
    except (UserError, ArithmeticError, ValueError) as err:
        raise UserError(f"{label}: the fit failed ({err})") from None
    bad = fit.not_finite()
    if bad:
        raise UserError(f"{label}: the fitted {bad[0]} is {fit.params[bad[0]]}, not a finite "
                        "number: the data cannot identify it")
    fit.errors = {key: error if math.isfinite(error) else math.inf
                  for key, error in fit.errors.items()}
    return fit


def fits(args) -> list[tuple[Fit, str]]:
    """Return [(fit, its data files)] for the files given, or raise UserError."""
    data = inputs(args)
    out: list[tuple[Fit, str]] = []
    if "btc" in data:
        out += [(_fit(f"--btc={args.btc}", fitter, data["btc"]), args.btc)
                for fitter in (fit_gbm, fit_jump)]
    if "power" in data:
        out.append((_fit(f"--power={args.power}", fit_power, data["power"]), args.power))
    if "lease" in data or "gpu" in data:
        label = " and ".join(f"--{name}={getattr(args, name)}" for name in ("lease", "gpu")
                             if name in data)
        out.append((_fit(label, fit_ai, data.get("lease"), data.get("gpu")),
                    " and ".join(f for f in (args.lease, args.gpu) if f)))
    if "network" in data:
        fees = 0.025 if args.fees_btc_per_block is None else args.fees_btc_per_block
        fitter, extra = ((fit_economic_network, (args.network_since,)) if _economic(args)
                         else (fit_network, ()))
        out.append((_fit(f"--network={args.network}", fitter, data["network"], data["btc"],
                         fees, *extra), f"{args.network} with {args.btc}"))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run `hashpivot-calibrate`; return the exit code (2 for a user's error)."""
    args = parser().parse_args(argv)
    try:
        done = fits(args)
        out = Path(args.out)
        files = {out / "market" / fit.group / f"{fit.name}.yaml": render(fit, source, out)
                 for fit, source in done}
        write_all(files)  # all or none, an interruption included
    except UserError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"{PROG}: error: {err.filename or args.out}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; no fit was written (--out={args.out} holds no file of this "
              "run)", file=sys.stderr)
        return INTERRUPTED
    for (fit, _), path in zip(done, files):
        print(fit.summary())
        print(f"  wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
