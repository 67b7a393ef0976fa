"""Does the verdict survive other assumptions? The recommended strategy against its baseline,
rerun under other valuation assumptions.

The verdict of a run (the strategy with the highest mean NPV beats the baseline) rests on
assumptions the sampled worlds do not vary: how the site is valued at the horizon, how long
the horizon is, and the discount rate. `verdict_robustness` reruns the two strategies under
each alternative (every other terminal value method, a 15- and a 20-year horizon, the
discount rate two points lower and higher, and under the market terminal value its cap
rate two points lower and higher) with the run's seed, so the two strategies meet
the same sampled worlds (common random numbers) and their difference is paired. The
terminal value, discount rate and cap rate rows revalue the run's own worlds; a horizon row samples
its worlds over its longer grid from the same seeds, and only the BTC and lease-index
paths keep their first years (the network, power, GPU and tenant draws depend on the grid's
length), so it differs from the run by sampling as well as by horizon. Nothing is written
by a rerun; the command line saves the table as `robustness.csv`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from sim.compare.reruns import rerun_npvs
from sim.compare.stats import paired_difference
from sim.config_objects import strategy_label
from sim.rundir import RunDir
from sim.params import meta_of
from sim.schema import TERMINAL_VALUES, Valuation
from sim.selection import distinct_columns

#: The horizons every run is also valued at (the run's own is skipped).
HORIZONS_YEARS = (15, 20)
#: The shifts of the discount rate, in rate points (0.02 = two percentage points).
RATE_SHIFTS = (-0.02, 0.02)
#: The shifts of the market terminal value's cap rate (`run.valuation.cap_rate`), in rate
#: points: the AI halls' value at the horizon, most of a converted site's, is their forward
#: income over it.
CAP_RATE_SHIFTS = (-0.02, 0.02)
_CAP_RATE = meta_of(Valuation, "cap_rate")["rule"]
#: The confidence of the paired difference's interval.
CONFIDENCE = 0.95
AS_RUN = "as run"
#: The columns of robustness.csv, in order.
COLUMNS = ("alternative", "overrides", "replications", "strategy", "against", "against_role",
           "strategy_npv_usd", "against_npv_usd", "diff_npv_usd", "diff_ci_low_usd",
           "diff_ci_high_usd", "p_strategy_beats", "higher_mean", "verdict_holds")


@dataclass(frozen=True)
class Alternative:
    """One alternative assumption: its label and the config keys (dotted) it sets."""

    label: str
    overrides: dict

    def describe(self) -> str:
        """Return the overrides as `key=value` text, space-separated."""
        return " ".join(f"{key}={value}" for key, value in self.overrides.items())


# --- which two strategies ---------------------------------------------------------------------
def best_strategy(summary: pd.DataFrame, metric: str = "npv_usd") -> str:
    """Return the strategy with the highest mean `metric` in `summary` (the first on a tie)."""
    means = summary.groupby("strategy", sort=False)[metric].mean()
    if means.dropna().empty:
        raise ValueError(f"no strategy has a value of {metric}")
    return str(means.idxmax())


def default_baseline(strategies) -> str:
    """Return the baseline among `strategies`: stay_mining if it ran, else the first."""
    strategies = list(strategies)
    return "stay_mining" if "stay_mining" in strategies else strategies[0]


def robustness_pair(summary: pd.DataFrame) -> tuple[str, str, str] | None:
    """Return (best, against, role), or None when fewer than two strategies ran.

    `against` is the baseline (role "baseline"), or, when the best is the baseline
    itself or alike it in every world, the strategy with the next highest mean NPV among
    those that are not (role "runner-up"); None where every strategy is alike the best:
    two strategies with the same NPV in every world differ under no assumption worth a row.
    """
    strategies = list(dict.fromkeys(summary["strategy"].astype(str)))
    if len(strategies) < 2:
        return None
    best, baseline = best_strategy(summary), default_baseline(strategies)
    alike = _alike(summary, best)
    if baseline not in alike:
        return best, baseline, "baseline"
    others = summary[~summary["strategy"].astype(str).isin(alike)]
    if others.empty:
        return None
    return baseline, best_strategy(others), "runner-up"


def _alike(summary: pd.DataFrame, strategy: str) -> set[str]:
    """Return `strategy` and the strategies with its NPV in every replication: its twins as
    the verdict's selection finds them (`sim.selection.distinct_columns`)."""
    wide = summary.pivot(index="replication", columns="strategy", values="npv_usd")
    wide.columns = wide.columns.astype(str)
    _, twins = distinct_columns(wide)
    return next(({first, *same} for first, same in twins if strategy in (first, *same)), {strategy})


# --- which alternatives ------------------------------------------------------------------------
def shifted_rates(cfg, shift: float) -> dict:
    """Return the overrides that move every discount rate of the run by `shift` (0.02 = 2 points).

    `run.discount_rate` and each rate per kind of cash flow that is set
    (`run.discount_rates.*`; a null one follows `run.discount_rate` anyway).
    """
    overrides = {"run.discount_rate": round(float(cfg.run.discount_rate) + shift, 10)}
    kinds = cfg.run.get("discount_rates") or {}
    for kind, rate in kinds.items():
        if rate is not None:
            overrides[f"run.discount_rates.{kind}"] = round(float(rate) + shift, 10)
    return overrides


def _rates_label(overrides: dict) -> str:
    """Return how an alternative's discount rates read in the table."""
    label = f"discount rate {_percent(overrides['run.discount_rate'])}"
    kinds = [f"{key.rsplit('.', 1)[1]} {_percent(rate)}" for key, rate in overrides.items()
             if key.startswith("run.discount_rates.")]
    return label + (f" ({', '.join(kinds)})" if kinds else "")


def _percent(rate: float) -> str:
    return f"{rate * 100:.4g}%"


def alternatives(cfg) -> list[Alternative]:
    """Return the alternatives to the run's own assumptions, in the table's order."""
    method, horizon = str(cfg.run.terminal_value), float(cfg.run.horizon_years)
    found = [Alternative(f"terminal value: {other}", {"run.terminal_value": other})
             for other in TERMINAL_VALUES if other != method]
    found += [Alternative(f"horizon {years} years", {"run.horizon_years": years})
              for years in HORIZONS_YEARS if years != horizon]
    for shift in RATE_SHIFTS:
        overrides = shifted_rates(cfg, shift)
        if min(overrides.values()) > -1:  # the schema's bound: a rate of -100% or less discounts nothing
            found.append(Alternative(_rates_label(overrides), overrides))
    if method == "market":
        for shift in CAP_RATE_SHIFTS:
            cap_rate = round(float(cfg.run.valuation.cap_rate) + shift, 10)
            if _CAP_RATE.low <= cap_rate <= _CAP_RATE.high:  # the schema's bounds
                found.append(Alternative(f"cap rate {_percent(cap_rate)}",
                                         {"run.valuation.cap_rate": cap_rate}))
    return found


def rerun_config(cfg, strategies, overrides: dict, replications: int) -> DictConfig:
    """Return `cfg` rerunning only `strategies` (labels) with `overrides`, quietly, on `replications` worlds.

    The rerun is a fixed-size run (no until_confident) that keeps its summary only and
    writes nothing; its seed, market and site are the run's.
    """
    data = OmegaConf.to_container(cfg, resolve=True)
    data.pop("hydra", None)
    data["strategy"] = {option: node for option, node in data["strategy"].items()
                        if strategy_label(option, node) in strategies}
    new = OmegaConf.create(data)
    settings = {"run.replications": int(replications), "run.until_confident": None,
                "run.max_replications": None, "run.detail": "summary", "run.compare": False,
                "run.progress": False, "run.event_log": False, **overrides}
    for key, value in settings.items():
        OmegaConf.update(new, key, value, merge=False)
    return new


# --- the table ----------------------------------------------------------------------------------
def paired_row(summary: pd.DataFrame, strategy: str, against: str) -> dict:
    """Return the means, the paired difference (95% CI) and P(strategy beats) of NPV."""
    wide = summary.pivot(index="replication", columns="strategy", values="npv_usd")
    x = wide[strategy].to_numpy(float)
    y = wide[against].to_numpy(float)
    diff = paired_difference(x, y, CONFIDENCE)
    means = (float(np.nanmean(x)), float(np.nanmean(y)))
    return {"replications": diff.n, "strategy": strategy, "against": against,
            "strategy_npv_usd": means[0], "against_npv_usd": means[1],
            "diff_npv_usd": diff.mean, "diff_ci_low_usd": diff.ci_low, "diff_ci_high_usd": diff.ci_high,
            "p_strategy_beats": diff.p_beats,
            "higher_mean": (strategy if means[0] > means[1] else against if means[1] > means[0]
                            else "equal"),
            "verdict_holds": bool(means[0] > means[1])}


def verdict_robustness(cfg, best: str, baseline: str, replications: int, summary: pd.DataFrame,
                       role: str = "baseline") -> pd.DataFrame:
    """Return the robustness table: `best` against `baseline` as run, then under each alternative.

    The "as run" row comes from the run's `summary`; each alternative reruns the two
    strategies over the first min(run's replications, `replications`) worlds of the
    run's seed, with the run's executor; the alternatives that change only the valuation
    share each world's engine runs (sim.compare.reruns), with the numbers of a full rerun
    each. `role` says what `baseline` is to the reader
    ("baseline", or "runner-up" when the best strategy is the baseline itself).
    """
    pair = summary[summary["strategy"].isin([best, baseline])]
    n = min(int(pair["replication"].nunique()), int(replications))
    rows = [{"alternative": AS_RUN, "overrides": "", **paired_row(pair, best, baseline)}]
    chosen = alternatives(cfg)
    configs = {a.label: rerun_config(cfg, (best, baseline), a.overrides, n) for a in chosen}
    reruns = rerun_npvs(configs, {a.label: a.overrides for a in chosen}, n, bool(cfg.run.progress))
    for alternative in chosen:
        rows.append({"alternative": alternative.label, "overrides": alternative.describe(),
                     **paired_row(reruns[alternative.label], best, baseline)})
    table = pd.DataFrame(rows)
    table["against_role"] = role
    return table[list(COLUMNS)]


def changed_under(table: pd.DataFrame) -> list[str]:
    """Return the labels of the alternatives under which the verdict does not hold."""
    rows = table[table["alternative"] != AS_RUN]
    return [str(label) for label, holds in zip(rows["alternative"], rows["verdict_holds"])
            if not _true(holds)]


def within_noise(table: pd.DataFrame) -> list[str]:
    """Return the labels of the alternatives whose difference's 95% interval spans zero: on
    their worlds the two strategies are not told apart, whichever mean is higher."""
    rows = table[table["alternative"] != AS_RUN]
    if not {"diff_ci_low_usd", "diff_ci_high_usd"} <= set(rows.columns):
        return []
    low, high = (pd.to_numeric(rows[c], errors="coerce") for c in ("diff_ci_low_usd", "diff_ci_high_usd"))
    return [str(label) for label, spans in zip(rows["alternative"], (low <= 0) & (high >= 0)) if spans]


def _named(labels: list[str]) -> str:
    return ", ".join(label.replace(":", "") for label in labels)


def _true(value) -> bool:
    return value is True or value is np.True_ or str(value).strip().lower() == "true"


def verdict_sentence(table: pd.DataFrame) -> str:
    """Return plain sentences: the verdict holds under every alternative, or where it changes,
    and where the two strategies are within the noise (their difference's interval spans zero)."""
    noise = within_noise(table)
    changed = [c for c in changed_under(table) if c not in noise]
    if len(table) <= 1:
        sentence = "No alternative assumption was run."
    elif not changed and not noise:
        sentence = "The verdict holds under every alternative."
    else:
        sentence = (f"The verdict changes under: {_named(changed)}." if changed
                    else "No alternative reverses the verdict.")
        if noise:
            sentence += (f" Within the noise under: {_named(noise)} (the difference's 95% "
                         "interval spans zero: neither strategy is shown to be ahead).")
    if len(table) and (pd.to_numeric(table["replications"], errors="coerce") <= 1).all():
        sentence += " (One replication: no interval.)"
    return sentence


def save(table: pd.DataFrame, out_dir) -> None:
    """Write `table` as robustness.csv in `out_dir`, atomically."""
    RunDir(out_dir).write_robustness(table)
