"""The tables of a finished experiment: per point and strategy, PRIM's boxes, the sensitivity indices.

`rows` are what `sim.explore.run` stores: one row per design point, replication and
strategy. A strategy *beats* `against` in a world by its paired gain: its metric less
against's (the reverse for a lower-is-better metric such as payback_years), in the same
world at the same point.

Some metrics are undefined (NaN) in some worlds (a payback never reached, an IRR that does
not exist). As `hashpivot-compare` does, a metric undefined in more than half of a
strategy's worlds (at any point) is refused: its mean over the few worlds that define it
would favour the strategy that fails most. Otherwise each statistic uses the worlds that
define it, each difference and PRIM's cases the worlds where both strategies do, and the
tables and sentences count the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.arguments import ArgumentError
from sim.compare.stats import MIN_DEFINED_SHARE, paired_difference
from sim.errors import UserError
from sim.explore.prim import Discovery, prim
from sim.explore.run import WORLD_PREFIX, Experiment
from sim.explore.sensitivity import morris_screen, sobol_indices
from sim.selection import metric_higher_is_better


def check_columns(rows: pd.DataFrame, metric: str, against: str, strategies) -> None:
    """Raise UserError unless `metric` is a numeric summary column of `rows` and `against` a
    strategy run."""
    numeric = [c for c in rows.columns if c not in ("strategy", "replication", "point")
               and not c.startswith(WORLD_PREFIX) and pd.api.types.is_numeric_dtype(rows[c])]
    check_choices(metric, against, strategies, numeric)


def check_choices(metric: str, against: str, strategies, columns) -> None:
    """Raise UserError unless `metric` is one of the summary `columns` and `against` one of
    two or more `strategies`."""
    if metric not in columns:
        raise ArgumentError(lambda name: f"{name('metric', metric)}: not a summary column; one of "
                                         f"{', '.join(columns)}")
    if against not in strategies:
        raise ArgumentError(lambda name: f"{name('against', against)}: not a strategy of this "
                                         f"experiment; one of {', '.join(strategies)}")
    if len(strategies) < 2:  # the experiment's strategies are its config's `strategy`
        raise ArgumentError(lambda name: f"{name('against', against)}: needs another strategy to "
                                         f"compare; select two or more with {name('strategy')}")


def undefined_counts(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Return per (strategy, point) the worlds where `metric` is undefined (NaN), column
    'undefined', and all its worlds, column 'worlds'."""
    undefined = pd.Series(~np.isfinite(rows[metric].to_numpy(dtype=float)), index=rows.index)
    grouped = undefined.groupby([rows["strategy"], rows["point"]])
    return pd.DataFrame({"undefined": grouped.sum(), "worlds": grouped.size()})


def _worst(counts: pd.DataFrame, strategy: str) -> str:
    """Return where `strategy` leaves the metric undefined most: 'point 2: 45 of 50 worlds'."""
    mine = counts.loc[strategy]
    point = (mine["undefined"] / mine["worlds"]).idxmax()
    return f"point {point}: {mine.loc[point, 'undefined']} of {mine.loc[point, 'worlds']} worlds"


def check_defined(rows: pd.DataFrame, metric: str, against: str, strategies) -> None:
    """Raise UserError if a strategy leaves `metric` undefined (NaN) in more than half of its
    worlds at some point, as `hashpivot-compare` refuses it (`MIN_DEFINED_SHARE`)."""
    counts = undefined_counts(rows, metric)
    rare = counts[1.0 - counts["undefined"] / counts["worlds"] < MIN_DEFINED_SHARE]
    if rare.empty:
        return
    points = rows["point"].nunique()
    named = [s for s in strategies if s in rare.index.get_level_values("strategy")]
    listed = " and ".join(f"{s} at {len(rare.loc[s])} of {points} points ({_worst(rare, s)})"
                          for s in named)
    kept = [s for s in strategies if s not in named]

    def says(name) -> str:
        leave = ""
        if len(kept) >= 2:
            leave = (f", or leave {', '.join(named)} out with {name('strategy', kept)}"
                     + ("" if against in kept else f" {name('against', kept[0])}"))
        return (f"{name('metric', metric)}: undefined (NaN) in more than half of the worlds of "
                f"{listed}; it can be explored only where every strategy defines it in at least "
                f"half of its worlds at every point (choose a metric such as npv_usd{leave})")
    raise ArgumentError(says)


def undefined_note(rows: pd.DataFrame, metric: str, against: str, strategies) -> list[str]:
    """Return a sentence on the strategies whose `metric` is undefined (NaN) in some worlds, or []."""
    counts = undefined_counts(rows, metric)
    some = counts[counts["undefined"] > 0]
    if some.empty:
        return []
    points = rows["point"].nunique()
    listed = ", ".join(f"{s} at {len(some.loc[s])} of {points} points (most at {_worst(some, s)})"
                       for s in strategies if s in some.index.get_level_values("strategy"))
    return [f"{metric} is undefined (NaN) in some worlds of {listed}: each mean and percentile "
            f"uses the worlds that define it (column '{metric} undefined share'), each "
            f"difference and PRIM's cases the worlds where both strategies do (column "
            f"'difference vs {against} pairs')."]


def gains(rows: pd.DataFrame, metric: str, strategy: str, against: str) -> pd.DataFrame:
    """Return per point and replication: `strategy`'s paired gain over `against` (column 'gain')."""
    sign = 1.0 if metric_higher_is_better(metric) else -1.0
    mine = rows[rows["strategy"] == strategy].set_index(["point", "replication"])
    theirs = rows[rows["strategy"] == against].set_index(["point", "replication"])[metric]
    joined = mine.join(theirs.rename("_against"), how="inner")
    joined["gain"] = sign * (joined[metric] - joined["_against"])
    return joined.reset_index()


def points_table(rows: pd.DataFrame, inputs, metric: str, against: str) -> pd.DataFrame:
    """Return one row per point and strategy: inputs, mean and P5/P50/P95 of `metric` over the
    worlds that define it, the share that do not, the paired difference over the worlds where both do."""
    table = []
    higher = metric_higher_is_better(metric)
    for (point, strategy), group in rows.groupby(["point", "strategy"], sort=True):
        values = group.sort_values("replication")[metric].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        row = {"point": point, **{c: group[c].iloc[0] for c in inputs}, "strategy": strategy,
               f"{metric} mean": finite.mean() if finite.size else np.nan}
        for q in (5, 50, 95):
            row[f"{metric} P{q}"] = np.percentile(finite, q) if finite.size else np.nan
        row[f"{metric} undefined share"] = 1.0 - finite.size / values.size
        base = rows[(rows["point"] == point) & (rows["strategy"] == against)]
        base = base.sort_values("replication")[metric].to_numpy(dtype=float)
        if strategy != against and len(base) == len(values):
            diff = paired_difference(values, base, higher_is_better=higher)
            row.update({f"difference vs {against} mean": diff.mean,
                        f"difference vs {against} 95% low": diff.ci_low,
                        f"difference vs {against} 95% high": diff.ci_high,
                        f"difference vs {against} pairs": diff.n})
        table.append(row)
    return pd.DataFrame(table)


def outputs_by_point(points: pd.DataFrame, strategy: str, column: str, n_points: int) -> np.ndarray:
    """Return `column` of `strategy` at each design point 0..n_points-1 (NaN where missing)."""
    mine = points[points["strategy"] == strategy].set_index("point")[column]
    return mine.reindex(range(n_points)).to_numpy(dtype=float)


@dataclass(frozen=True)
class Scenario:
    """PRIM's answer for one strategy: its Discovery and what the question was."""

    strategy: str
    against: str
    metric: str
    threshold_usd: float
    discovery: Discovery
    #: The cases (worlds at points) PRIM saw: those where both strategies define the metric.
    cases: int
    #: The cases left out because the metric is undefined (NaN) for one or both strategies.
    undefined: int = 0


def discover(rows: pd.DataFrame, inputs, metric: str, strategy: str, against: str,
             threshold: float = 0.0, features: bool = False) -> Scenario:
    """Return PRIM's Scenario: where (over the inputs, and the world features if asked) `strategy`
    gains > `threshold`, over the cases where both define `metric` (the others counted)."""
    joined = gains(rows, metric, strategy, against)
    defined = np.isfinite(joined["gain"].to_numpy(dtype=float))
    undefined = int((~defined).sum())
    joined = joined[defined]
    columns = list(inputs)
    if features:
        columns += [c for c in joined.columns if c.startswith(WORLD_PREFIX)
                    and pd.api.types.is_numeric_dtype(joined[c]) and joined[c].notna().all()
                    and joined[c].nunique() > 1]
    if joined.empty:
        raise UserError(f"{strategy} vs {against}: no world where both have a finite {metric}")
    found = prim(joined[columns], (joined["gain"] > threshold).to_numpy(),
                 points=joined["point"].to_numpy())
    return Scenario(strategy, against, metric, float(threshold), found, len(joined), undefined)


#: A Sobol' index is a share of variance, 0 to 1: a 95% interval of half-width above this is
#: wider than that whole scale, and the index says nothing.
UNREADABLE_HALF_WIDTH = 0.5


def wide_intervals_note(table: pd.DataFrame, base_points: int) -> list[str]:
    """Return a sentence if a Sobol' index's 95% interval (`table`: `sensitivity`'s) is wider
    than the whole 0-1 scale, or []."""
    if "ST_conf" not in table:
        return []
    widest = table[["S1_conf", "ST_conf"]].max()
    if not (widest > UNREADABLE_HALF_WIDTH).any():
        return []
    return [f"The Sobol' indices' 95% intervals are too wide to read (half-widths up to "
            f"{widest['S1_conf']:.3g} for S1 and {widest['ST_conf']:.3g} for ST, of indices "
            f"between 0 and 1): {base_points} base points are too few; rerun with more "
            f"(--points, e.g. 64 or 256: a power of 2)."]


def sensitivity(experiment: Experiment, points: pd.DataFrame, metric: str, against: str) -> pd.DataFrame:
    """Return the Sobol' indices (saltelli design) or Morris screen (morris) of each output; empty otherwise."""
    design = experiment.design
    kind = design.kind
    if kind not in ("saltelli", "morris"):
        return pd.DataFrame()
    analyse = sobol_indices if kind == "saltelli" else morris_screen
    n = len(design.points)
    parts = []
    for strategy in experiment.strategies:
        outputs = {f"{metric} mean of {strategy}": f"{metric} mean"}
        if strategy != against:
            outputs[f"{metric} difference {strategy} - {against}"] = f"difference vs {against} mean"
        for label, column in outputs.items():
            if column not in points.columns:
                continue
            found = analyse(design, outputs_by_point(points, strategy, column, n))
            parts.append(found.assign(output=label))
    table = pd.concat(parts, ignore_index=True)
    return table[["output", *[c for c in table.columns if c != "output"]]]
