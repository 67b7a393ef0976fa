"""Financing in a comparison: what lenders and equity investors read beside the NPV.

A run made with a `finance` section in its config carries, per strategy and
replication, the equity figures (`equity_npv_usd` at the cost of equity, `equity_irr`,
`peak_equity_usd`), the debt cover (`min_dscr`, the lowest tested trailing-12-month
debt service cover ratio, NaN without debt; `covenant_breached`) and `npv_after_tax_usd`
(the unlevered NPV after tax). Its monthly timeline has `dscr`, the trailing-12-month
cover at each month end, and its cash flows add the financing categories below. Older
runs carry none of this: `has_financing` is then False and nothing here is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.compare.load import Run, RunSet
from sim.compare.stats import MIN_DEFINED_SHARE
from sim.params import keys
from sim.schema import FinanceConfig

#: Cash-flow categories of debt and tax. The unlevered cash of a strategy is the sum of
#: every other category; these five turn it into the cash left to equity.
FINANCING_CATEGORIES = ("debt_draw", "interest", "principal", "fees", "tax")
#: Summary columns that runs with financing add.
SUMMARY_COLUMNS = ("equity_npv_usd", "equity_irr", "min_dscr", "covenant_breached",
                   "peak_equity_usd", "npv_after_tax_usd")
#: comparison.csv columns on financing, in order: (summary column, statistic over the
#: replications that define it). Added only when the runs carry financing.
CSV_COLUMNS = {"min_dscr_p5": ("min_dscr", "p5"), "min_dscr_p50": ("min_dscr", "p50"),
               "covenant_breach_share": ("covenant_breached", "mean"),
               "equity_npv_mean_usd": ("equity_npv_usd", "mean"),
               "equity_irr_median": ("equity_irr", "p50"),
               "peak_equity_mean_usd": ("peak_equity_usd", "mean"),
               "npv_after_tax_mean_usd": ("npv_after_tax_usd", "mean")}
#: Summary columns whose NaN means "undefined" (an IRR where no one rate parts positive NPV
#: from negative), not "not applicable" (`min_dscr` without debt): a statistic of one is
#: shown only where the strategy defines it in at least MIN_DEFINED_SHARE of its worlds, as
#: `hashpivot-compare --metric` compares it; the report says which are left blank.
UNDEFINED_WHEN_NAN = ("equity_irr",)
#: The report's table adds the unlevered NPV beside the financed figures.
REPORT_COLUMNS = {**CSV_COLUMNS, "npv_mean_usd": ("npv_usd", "mean")}
#: Fan chart quantiles of the monthly DSCR: the outer band, the inner band, the median.
DSCR_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: The financing terms in the schema's order (`finance.` left off), each with its meaning and unit.
TERMS = {key[len("finance."):]: f"{meta['doc']} ({meta['unit']})"
         for key, meta in keys(FinanceConfig, "finance.")}


@dataclass(eq=False)
class Financing:
    """The report's financing section: terms, figures per strategy, DSCR fans, notes."""

    terms: pd.DataFrame
    table: pd.DataFrame
    figures: list[tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def finance_config(run: Run) -> dict | None:
    """Return the run's `finance` config section, or None when it was made without one."""
    section = (run.config or {}).get("finance")
    return section if isinstance(section, dict) else None


def has_financing(runset: RunSet) -> bool:
    """Return whether any run carries financing (a finance section or its summary columns)."""
    return (any(finance_config(run) is not None for run in runset.runs)
            or any(c in runset.summary.columns for c in SUMMARY_COLUMNS))


def _column(rows: pd.DataFrame, name: str) -> np.ndarray:
    if name not in rows.columns:
        return np.full(len(rows), np.nan)
    return rows[name].astype(float).to_numpy()


def _statistic(values: np.ndarray, statistic: str, least_defined: float = 0.0) -> float:
    """Return `statistic` of the finite `values`; NaN where they are fewer than
    `least_defined` of all the values (or none)."""
    defined = values[np.isfinite(values)]
    if not defined.size or defined.size < least_defined * values.size:
        return np.nan
    values = defined
    if statistic == "mean":
        return float(values.mean())
    return float(np.percentile(values, {"p5": 5, "p50": 50}[statistic]))


def strategy_figures(rows: pd.DataFrame, columns: dict = REPORT_COLUMNS) -> dict[str, float]:
    """Return {column: value} of one strategy's summary rows (one row per replication).

    Each statistic is over the replications that define its summary column: the P5 and
    median of `min_dscr` only over worlds where the strategy carried debt. A column of
    UNDEFINED_WHEN_NAN defined in fewer than MIN_DEFINED_SHARE of the worlds gives NaN.
    """
    return {name: _statistic(_column(rows, source), statistic,
                             MIN_DEFINED_SHARE if source in UNDEFINED_WHEN_NAN else 0.0)
            for name, (source, statistic) in columns.items()}


def strategy_table(runset: RunSet, columns: dict = REPORT_COLUMNS) -> pd.DataFrame:
    """Return one row per (scenario, strategy label) of the financing figures."""
    rows = []
    for (scenario, label), part in runset.summary.groupby(["scenario", "label"],
                                                          sort=False):
        rows.append({"scenario": scenario, "strategy": label,
                     **strategy_figures(part, columns)})
    return pd.DataFrame(rows, columns=["scenario", "strategy", *columns])


def rarely_defined_notes(runset: RunSet, headed: dict[str, str],
                         columns: dict = REPORT_COLUMNS) -> list[str]:
    """Return a sentence on each figure of `strategy_table` left blank because its summary
    column (one of UNDEFINED_WHEN_NAN) is undefined in most of a strategy's worlds, naming
    the figure as `headed` does (the report's heading of each column)."""
    notes, many = [], len(runset.scenarios) > 1
    for (scenario, label), part in runset.summary.groupby(["scenario", "label"], sort=False):
        for name, (source, _) in columns.items():
            values = _column(part, source)
            if source not in UNDEFINED_WHEN_NAN or not values.size:
                continue
            undefined = float(np.mean(~np.isfinite(values)))
            if 1.0 - undefined < MIN_DEFINED_SHARE:
                where = f" in scenario '{scenario}'" if many else ""
                share = ("every one" if undefined == 1.0
                         else f"{undefined:.0%}") + " of its worlds"
                notes.append(f"The {headed.get(name, name)} ({name}) is left blank for "
                             f"{label}{where}: its {source} is undefined in {share} (no "
                             "one rate has the NPV of its cash to equity positive below it "
                             "and negative above)"
                             + ("." if undefined == 1.0 else
                                f", and a statistic of the other {1.0 - undefined:.0%} "
                                "would speak for them alone."))
    return notes


def _flatten(node: dict, prefix: str = "") -> dict[str, str]:
    flat = {}
    for key, value in node.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = "–" if value is None else str(value)
    return flat


def terms_table(runset: RunSet) -> pd.DataFrame:
    """Return the financing terms: one row per key, one value column per run.

    Runs with the same terms share one column, `value`; runs without a finance section
    show "–".
    """
    terms = {run.path.name: _flatten(finance_config(run) or {}) for run in runset.runs}
    names = list(dict.fromkeys(k for flat in terms.values() for k in flat))
    names.sort(key=lambda k: list(TERMS).index(k) if k in TERMS else len(TERMS))
    values = {name: [flat.get(k, "–") for k in names] for name, flat in terms.items()}
    distinct = list(dict.fromkeys(tuple(v) for v in values.values()))
    table = pd.DataFrame({"term": [f"finance.{k}" for k in names],
                          "meaning": [TERMS.get(k, "") for k in names]})
    if len(distinct) == 1:
        table["value"] = list(distinct[0])
    else:
        for name, column in values.items():
            table[name] = column
    return table


def covenant_dscr(run: Run) -> float | None:
    """Return the covenant's minimum DSCR from the run's config, or None if it has none."""
    covenant = (finance_config(run) or {}).get("covenant")
    value = covenant.get("min_dscr") if isinstance(covenant, dict) else None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) else None


def dscr_paths(runset: RunSet, scenario: str) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Return ({label: monthly DSCR, replication × month}, labels without debt) in `scenario`.

    A strategy whose DSCR is undefined (NaN; an infinite cover counts as undefined) in
    every month of every world carried no debt: it is listed apart, not given a path.
    Runs without a `dscr` in their timeline give neither.
    """
    paths, undebted = {}, []
    here = runset.summary[runset.summary["scenario"] == scenario]
    for label in dict.fromkeys(here["label"]):
        first = here[here["label"] == label].iloc[0]
        timeline = runset.runs[int(first["run"])].timeline
        strategy = first["strategy"]
        if timeline is None or "dscr" not in timeline.columns:
            continue
        part = timeline.loc[timeline["strategy"] == strategy, ["replication", "month", "dscr"]]
        wide = part.pivot(index="replication", columns="month", values="dscr").astype(float)
        wide = wide.replace([np.inf, -np.inf], np.nan)  # no debt service: no cover to chart
        if not np.isfinite(wide.to_numpy()).any():
            undebted.append(label)
            continue
        wide.columns = pd.to_datetime(wide.columns)
        paths[label] = wide.sort_index(axis=1)
    return paths, undebted


def dscr_fan(wide: pd.DataFrame) -> pd.DataFrame:
    """Return the DSCR quantiles per month (rows: month; columns: DSCR_QUANTILES).

    Each month's quantiles are over the worlds with a DSCR that month; months with none
    are NaN (a gap in the chart).
    """
    fan = wide.quantile(list(DSCR_QUANTILES)).T
    fan.columns = list(DSCR_QUANTILES)
    return fan


def has_dscr(run: Run) -> bool:
    """Return whether the run's timeline carries the monthly DSCR."""
    return run.timeline is not None and "dscr" in run.timeline.columns


def no_debt_notes(undebted: list[str], drawn: bool, where: str = "") -> list[str]:
    """Return the sentence on strategies left out of the DSCR chart for carrying no debt."""
    if not undebted:
        return []
    names = ", ".join(undebted)
    verb = "carries" if len(undebted) == 1 else "carry"
    if drawn:
        return [f"{names} {verb} no debt in any sampled world{where} (no DSCR), so "
                f"the DSCR chart leaves {'it' if len(undebted) == 1 else 'them'} out."]
    return [f"No strategy carries debt in any sampled world{where} ({names}): there is "
            "no DSCR to chart."]
