"""The plot of one backtest start date: the simulated bands against the real difficulty and
the realised monthly hashprice, each beside its PIT histogram."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.coverage import PIT_BINS, pit_histogram
from sim.rundir import write_atomic


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
