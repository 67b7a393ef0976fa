"""The `hashpivot-calibrate` command: read history files, fit, print, write Hydra options."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sim._version import __version__
from sim.calibrate.btc import fit_gbm, fit_jump
from sim.calibrate.fit import Fit
from sim.calibrate.indices import fit_ai
from sim.calibrate.network import fit_network
from sim.calibrate.network_economic import WINDOW_YEARS, fit_economic_network
from sim.calibrate.output import render, write_all
from sim.calibrate.power import fit_power
from sim.errors import UserError
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
Each file is commented with the fit's period, every parameter's standard error and the
goodness of fit, which are printed too. Files are CSV with a header row; dates are
YYYY-MM-DD. A bad file (missing, a missing column, a bad or repeated date, a gap, a
non-positive price) stops the command with one line naming the file, row and column;
nothing is written unless every fit succeeds."""

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
    parse = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parse.add_argument("--version", action="version", version=f"hashpivot {__version__}")
    for name, help_text in FILES.items():
        parse.add_argument(f"--{name}", metavar="FILE", help=help_text)
    parse.add_argument("--out", metavar="DIR", default="calibrated",
                       help="directory to write the options under (default: calibrated)")
    parse.add_argument("--network-model", choices=("economic", "reference"), default="economic",
                       help="the network model --network fits: economic (EconomicNetwork, "
                            "the default) or reference (Network, the reference-hashprice rule)")
    parse.add_argument("--network-since", metavar="DATE",
                       help="first day (YYYY-MM-DD) of the economic fit's window (default: "
                            f"{WINDOW_YEARS:g} years before the end of the epochs' and prices' "
                            "overlap)")
    parse.add_argument("--fees-btc-per-block", type=float, default=0.025, metavar="BTC",
                       help="fees per block assumed in the epochs' hashprice for --network "
                            "(default 0.025: between 2025's average, 0.036, and January 2026's, 0.0173)")
    return parse


def _read(flag: str, reader, *args):
    try:
        return reader(*args)
    except UserError as err:
        raise UserError(f"--{flag} {err}") from None


def fits(args) -> list[tuple[Fit, str]]:
    """Return [(fit, its data files)] for the files given, or raise UserError."""
    if not any(getattr(args, name) for name in FILES):
        raise UserError("no history given: pass at least one of --btc, --power, --network, "
                        "--lease, --gpu (see --help)")
    if args.network and not args.btc:
        raise UserError(f"--network {args.network}: needs --btc (the prices for its hashprice)")
    btc = _read("btc", read_daily, Path(args.btc), BTC_CLOSE_COLUMNS) if args.btc else None
    power = (_read("power", read_daily, Path(args.power), "usd_per_mwh", True)
             if args.power else None)
    epochs = _read("network", read_epochs, args.network) if args.network else None
    lease = _read("lease", read_dated, Path(args.lease), "usd_per_kw_month") if args.lease else None
    gpu = _read("gpu", read_dated, Path(args.gpu), "usd_per_hour") if args.gpu else None
    network = None  # fitted first: a bad fit window stops the command before the slow fits
    if epochs is not None:
        network = (fit_economic_network(epochs, btc, args.fees_btc_per_block, args.network_since)
                   if args.network_model == "economic"
                   else fit_network(epochs, btc, args.fees_btc_per_block))
    out: list[tuple[Fit, str]] = []
    if btc is not None:
        out += [(fit_gbm(btc), args.btc), (fit_jump(btc), args.btc)]
    if power is not None:
        out.append((fit_power(power), args.power))
    if lease is not None or gpu is not None:
        out.append((fit_ai(lease, gpu), " and ".join(f for f in (args.lease, args.gpu) if f)))
    if network is not None:
        out.append((network, f"{args.network} with {args.btc}"))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run `hashpivot-calibrate`; return the exit code (2 for a user's error)."""
    args = parser().parse_args(argv)
    try:
        done = fits(args)
    except UserError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    out = Path(args.out)
    files = {out / "market" / fit.group / f"{fit.name}.yaml": render(fit, source, out)
             for fit, source in done}
    try:
        write_all(files)
    except OSError as err:
        print(f"{PROG}: error: {err.filename or out}: {err.strerror or err}", file=sys.stderr)
        return 2
    for (fit, _), path in zip(done, files):
        print(fit.summary())
        print(f"  wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
