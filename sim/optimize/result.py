"""What a search leaves: the Optimum object, trials.csv, best.json and the printed table."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from sim.rundir.files import write_atomic, write_json

TRIALS = "trials.csv"
BEST = "best.json"


@dataclass(frozen=True)
class Optimum:
    """The best parameters of a search, their in-search value, and their paired gain on fresh worlds.

    `search_value` is optimistic (the best of many trials, selected on the same worlds);
    `fresh` holds the honest figures: the best parameters and the baseline (the strategy
    as configured) run on `fresh_replications` other worlds, and their paired difference
    (best − baseline, a `sim.compare.stats.Difference`), or None when that was skipped.
    """

    strategy: str
    metric: str
    direction: str
    params: dict
    search_value: float
    baseline_params: dict
    baseline_search_value: float | None
    trials: int
    trials_run: int
    refused: int
    seed: int
    replications: int
    fresh_seed: int | None
    fresh_replications: int
    fresh: dict | None
    overrides: list
    table: pd.DataFrame = field(repr=False)
    out_dir: Path | None = None

    def to_json(self) -> dict:
        """Return the figures best.json holds (everything but the trials table)."""
        data = {k: v for k, v in asdict(self).items() if k not in ("table", "out_dir", "fresh")}
        if self.fresh is not None:
            difference = asdict(self.fresh["difference"])
            data["fresh"] = dict(best_mean=self.fresh["best_mean"],
                                 baseline_mean=self.fresh["baseline_mean"],
                                 difference={k: _finite(v) for k, v in difference.items()},
                                 undefined=self.fresh.get("undefined", {}),
                                 confidence=0.95)
        else:
            data["fresh"] = None
        return data


def _finite(value):
    """Return `value`, or None for a NaN (JSON has no NaN)."""
    return None if isinstance(value, float) and math.isnan(value) else value


def trials_table(study, dimensions) -> pd.DataFrame:
    """Return one row per trial: number, the parameters, value, state, seconds, reuse and refusal."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        state = trial.state.name.lower()
        if state == "waiting":
            continue
        attrs = trial.user_attrs
        rows.append({"number": trial.number,
                     **{d.key: trial.params.get(d.key) for d in dimensions},
                     "value": trial.value,
                     "state": "refused" if "refused" in attrs else state,
                     "seconds": attrs.get("seconds", 0.0),
                     "reused_from": attrs.get("reused_from"),
                     "baseline": bool(attrs.get("baseline", False)),
                     "note": attrs.get("refused", "")})
    columns = ["number", *(d.key for d in dimensions), "value", "state", "seconds",
               "reused_from", "baseline", "note"]
    return pd.DataFrame(rows, columns=columns)


def write_outputs(out_dir, trials: pd.DataFrame | None = None, best: dict | None = None) -> None:
    """Write trials.csv and best.json into `out_dir`, each atomically."""
    out_dir = Path(out_dir)
    if trials is not None:
        write_atomic(out_dir / TRIALS, lambda tmp: trials.to_csv(tmp, index=False))
    if best is not None:
        write_json(out_dir / BEST, best)


def remove_best(out_dir) -> None:
    """Remove best.json from `out_dir`, if any: it is written again when the search running
    there ends."""
    if out_dir is not None:
        (Path(out_dir) / BEST).unlink(missing_ok=True)


def _money(value, metric: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if metric.endswith("_usd"):
        return f"{value / 1e6:+,.1f}M" if abs(value) >= 1e5 else f"{value:+,.0f}"
    return f"{value:+,.4g}"


def render(optimum: Optimum) -> str:
    """Return the printed report of a search: best parameters, search and fresh values, the gain."""
    o, m = optimum, optimum.metric
    better = "higher" if o.direction == "max" else "lower"
    lines = [f"{o.strategy}: {o.trials} trials ({o.trials_run} run, {o.trials - o.trials_run} "
             f"repeated parameters, {o.refused} refused) on {o.replications} worlds (seed {o.seed}); "
             f"{m}, {better} is better",
             "best parameters:   " + "  ".join(f"{k}={_plain(v)}" for k, v in o.params.items()),
             "baseline:          " + "  ".join(f"{k}={_plain(v)}" for k, v in o.baseline_params.items()),
             ""]
    fresh = o.fresh
    head = f"search ({o.replications} worlds)"
    fresh_head = f"fresh ({o.fresh_replications} worlds)" if fresh else "fresh (skipped)"
    lines.append(f"{'mean ' + m:<28}{head:>24}{fresh_head:>26}")
    base_search = o.baseline_search_value
    rows = [("best", o.search_value, fresh and fresh["best_mean"]),
            ("baseline", base_search, fresh and fresh["baseline_mean"])]
    for label, search, new in rows:
        lines.append(f"{label:<28}{_money(search, m):>24}{_money(new, m):>26}")
    gap = None if base_search is None else o.search_value - base_search
    if fresh:
        d = fresh["difference"]
        interval = f"[{_money(d.ci_low, m)}, {_money(d.ci_high, m)}]"
        lines.append(f"{'best - baseline':<28}{_money(gap, m):>24}{_money(d.mean, m):>26}")
        lines.append(f"{'  95% interval (paired)':<28}{'':>24}{interval:>26}")
        if o.params == o.baseline_params:  # a chance of beating itself would read 0.50
            lines.append("  the best parameters are the baseline's (the strategy as configured): "
                         "there is no gain to estimate")
        else:
            lines.append(f"{'  P(best beats baseline)':<28}{'':>24}{d.p_beats:>26.2f}")
        undefined = {k: v for k, v in fresh.get("undefined", {}).items() if v}
        if undefined:
            lines.append(f"{m} is undefined in " + " and ".join(
                f"{v} of {o.fresh_replications} fresh worlds for {k}" for k, v in undefined.items())
                + ": the fresh means and the difference use the worlds that define it, so the "
                "gain is not established there.")
    else:
        lines.append(f"{'best - baseline':<28}{_money(gap, m):>24}{'-':>26}")
    if base_search is None:
        lines.append(_no_baseline_value(o.table))
    lines.append("The search value is optimistic (the best of many trials on the same worlds); "
                 + ("the fresh difference is the honest estimate." if fresh else
                    "the fresh check was skipped (--fresh-replications 0), so the gain is not "
                    "estimated: rerun with fresh worlds for it."))
    if o.out_dir is not None:
        lines.append(f"wrote {o.out_dir / 'trials.csv'}, {o.out_dir / 'best.json'} "
                     f"(trials kept in {o.out_dir / 'optuna.db'})")
    return "\n".join(lines)


def _no_baseline_value(table: pd.DataFrame) -> str:
    """Return the line that says why the baseline has no search value (its '-')."""
    tried = "baseline" in table and table["baseline"].astype(bool).any()
    why = ("was refused in the search (trials.csv's note says why)" if tried else
           "lies outside the space, so it was not a trial")
    return f"  the baseline (the strategy as configured) {why}: it has no search value"


def _plain(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
