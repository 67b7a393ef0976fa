"""The comparison as one Excel workbook, for analysts who work in a spreadsheet.

`write_workbook` writes `comparison.xlsx` (or a path the user names) with one sheet per
table: the per-strategy statistics (comparison.csv), the paired differences against the
baseline, the per-replication summary of every strategy (summary.parquet, labelled),
the yearly net cash flow per strategy (mean and P5/P50/P95 over the sampled worlds) and
its mean by ledger category, and a sheet that says what each holds. Every header names
its unit in parentheses ("npv_usd (USD)"), read from the column name's suffix as the
summary and the ledger name them. pandas writes the file through openpyxl.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from sim.compare.analysis import Analysis
from sim.compare.cash import TERMINAL_VALUE
from sim.compare.finance import FINANCING_CATEGORIES
from sim.compare.load import RunSet
from sim.errors import UserError
from sim.rundir import write_atomic
from sim.rundir.comparison_files import WORKBOOK

#: Excel's largest sheet, header included.
MAX_ROWS = 1_048_576
#: Columns of comparison.csv in the metric's own unit (the unit of `--metric`).
IN_METRIC = ("mean", "ci_low", "ci_high", "std", "p5", "p50", "p95", "cvar5", "diff_mean",
             "diff_ci_low", "diff_ci_high", "diff_std", "unpaired_ci_width", "regret",
             "max_regret", "delta", "shortfall_mean", "shortfall_worst")
#: Columns of comparison.csv whose unit their name does not carry.
FIXED_UNITS = {"n": "count", "n_pairs": "count", "undefined_share": "fraction",
               "p_negative": "fraction", "p_beats_baseline": "fraction",
               "mcb_confidence": "fraction", "selection_confident": "true/false",
               "incremental_irr": "fraction per year",
               "incremental_irr_median": "fraction per year", "replication": "index",
               "year": "calendar year", "covenant_breached": "true/false",
               "replications": "count", "terminal_value_pv_mean": "USD",
               "paired": "true/false", "best_in_scenario": "true/false"}
#: The paired-differences sheet: the comparison's columns against the baseline.
PAIRED = ["scenario", "strategy", "baseline", "paired", "n_pairs", "diff_mean", "diff_ci_low",
          "diff_ci_high", "unpaired_ci_width", "p_beats_baseline", "shortfall_mean",
          "shortfall_worst", "fsd_vs_baseline", "ssd_vs_baseline", "incremental_irr",
          "incremental_irr_median"]
QUANTILES = {"p5": 0.05, "p50": 0.5, "p95": 0.95}


def unit_of(column: str, metric: str = "npv_usd") -> str:
    """Return the unit of a table column ("" for text), from its name as hashpivot spells it."""
    if column in IN_METRIC:
        return unit_of(metric)
    if column in FIXED_UNITS:
        return FIXED_UNITS[column]
    if column.endswith("_usd") or "_usd_" in column:
        return "USD"
    if column == "irr" or column.endswith(("_irr", "_irr_median")):
        return "fraction per year"
    if column.endswith(("_share", "_probability")) or column.startswith("p_"):
        return "fraction"
    if "dscr" in column:
        return "times"
    if column.endswith("_years"):
        return "years"
    if column.endswith("_months"):
        return "months"
    if column.endswith("_mwh"):
        return "MWh"
    if column.startswith("mw_") or column.endswith("_mw") or "_mw_" in column:
        return "MW"
    if column.startswith("tenant_requests") or column.startswith("n_"):
        return "count"
    return ""


def with_units(frame: pd.DataFrame, metric: str = "npv_usd") -> pd.DataFrame:
    """Return `frame` with each header followed by its unit in parentheses, where it has one."""
    return frame.rename(columns={c: f"{c} ({unit_of(str(c), metric)})" if unit_of(str(c), metric)
                                 else str(c) for c in frame.columns})


def yearly_cash(runset: RunSet) -> pd.DataFrame:
    """Return the yearly net cash flow before debt, tax and the terminal value (every
    category but FINANCING_CATEGORIES and TERMINAL_VALUE, as the report's cumulative cash
    and incremental_cashflows.csv) per scenario, strategy and year: its mean, P5, P50 and
    P95 over the sampled worlds (USD, nominal, undiscounted; empty without cash flows)."""
    flows = runset.table("cashflows")
    columns = ["scenario", "strategy", "year", "replications", "mean_usd",
               *(f"{name}_usd" for name in QUANTILES)]
    if flows is None or flows.empty:
        return pd.DataFrame(columns=columns)
    flows = flows[~flows["category"].isin([*FINANCING_CATEGORIES, TERMINAL_VALUE])]
    flows = flows.assign(year=pd.to_datetime(flows["month"]).dt.year)
    per_world = flows.groupby(["scenario", "label", "year", "replication"], sort=False,
                              observed=True)["usd"].sum()
    grouped = per_world.groupby(level=["scenario", "label", "year"], sort=False)
    table = pd.DataFrame({"replications": grouped.size(), "mean_usd": grouped.mean()})
    for name, q in QUANTILES.items():
        table[f"{name}_usd"] = grouped.quantile(q)
    table = table.reset_index().rename(columns={"label": "strategy"})
    return table.sort_values(["scenario", "strategy", "year"], kind="stable")[columns]


def yearly_categories(runset: RunSet) -> pd.DataFrame:
    """Return the mean yearly cash flow per scenario, strategy, year and ledger category
    over the sampled worlds (USD, nominal, undiscounted; one column per category)."""
    flows = runset.table("cashflows")
    if flows is None or flows.empty:
        return pd.DataFrame(columns=["scenario", "strategy", "year"])
    flows = flows.assign(year=pd.to_datetime(flows["month"]).dt.year,
                         category=flows["category"].astype(str))
    worlds = flows.groupby(["scenario", "label"], sort=False)["replication"].nunique()
    sums = flows.groupby(["scenario", "label", "year", "category"], sort=False,
                         observed=True)["usd"].sum()
    means = sums / worlds.reindex(sums.index.droplevel(["year", "category"])).to_numpy()
    wide = means.unstack("category", fill_value=0.0)
    wide.columns = [f"{c}_usd" for c in wide.columns]
    return wide.reset_index().rename(columns={"label": "strategy"})


def replications(runset: RunSet) -> pd.DataFrame:
    """Return the per-replication summary of every strategy compared, labelled."""
    summary = runset.summary.drop(columns=["strategy", "run", "world_key"], errors="ignore")
    front = ["scenario", "label", "replication"]
    summary = summary[front + [c for c in summary.columns if c not in front]]
    return summary.rename(columns={"label": "strategy"})


def sheets(analysis: Analysis, runset: RunSet) -> dict[str, pd.DataFrame]:
    """Return the workbook's sheets by name, headers with their units."""
    metric = analysis.metric
    table = analysis.table
    paired = table.loc[table["diff_mean"].notna(), [c for c in PAIRED if c in table]]
    parts = {"strategies": table, "paired_differences": paired,
             "replications": replications(runset), "cash_flow_yearly": yearly_cash(runset),
             "cash_flow_by_category": yearly_categories(runset)}
    for name, frame in parts.items():
        if len(frame) + 1 > MAX_ROWS:
            raise UserError(f"--xlsx: the {name} sheet would have {len(frame):,} rows, more "
                            f"than a worksheet holds ({MAX_ROWS - 1:,}); use the parquet "
                            f"tables, or compare fewer replications")
    book = {"about": about(analysis, runset, parts)}
    book.update({name: with_units(frame, metric) for name, frame in parts.items()})
    return book


def about(analysis: Analysis, runset: RunSet, parts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return the first sheet: what every other sheet holds, and the runs compared."""
    metric = analysis.metric
    described = {
        "strategies": f"per scenario and strategy: statistics of {metric} over the sampled "
                      f"worlds, against the baseline and in the selection (comparison.csv); "
                      f"statistics in {unit_of(metric) or 'the metric'}",
        "paired_differences": f"each strategy minus its baseline, paired over the same worlds "
                              f"where the runs share them ({metric})",
        "replications": "one row per scenario, strategy and sampled world: the run's summary",
        "cash_flow_yearly": "net cash flow before debt, tax and the terminal value per "
                            "calendar year (nominal, undiscounted, USD): mean, P5, P50 and P95 "
                            "over the sampled worlds (the terminal value is in "
                            "cash_flow_by_category)",
        "cash_flow_by_category": "mean cash flow per calendar year and ledger category (nominal,"
                                 " undiscounted, USD; inflows positive, outflows negative)"}
    rows = [{"sheet": name, "rows": len(parts[name]), "holds": text}
            for name, text in described.items()]
    rows += [{"sheet": "(run)", "rows": int(run.info.get("replications") or 0),
              "holds": f"{run.path}: seed {run.info.get('seed', '?')}, discount rate "
                       f"{run.info.get('discount_rate', '?')}, terminal value "
                       f"{run.info.get('terminal_value', '?')}"} for run in runset.runs]
    return pd.DataFrame(rows)


def workbook_path(out: Path, given: str | os.PathLike | None) -> Path:
    """Return where the workbook goes: `given`, or `out`/comparison.xlsx when it is ""."""
    if given is None or str(given) == "":
        return Path(out) / WORKBOOK
    path = Path(given)
    if path.suffix.lower() != ".xlsx":
        raise UserError(f"--xlsx={given}: a workbook path ending in .xlsx (to name the run "
                        f"directories first, put --xlsx after them)")
    return path


def write_workbook(analysis: Analysis, runset: RunSet, path: Path) -> Path:
    """Return `path` after writing the comparison's sheets there as one .xlsx workbook."""
    book = sheets(analysis, runset)
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda tmp: write_sheets(book, tmp))
    except OSError as error:
        raise UserError(f"{path}: cannot be written ({error.strerror or error})") from None
    return path


def write_sheets(book: dict[str, pd.DataFrame], path: Path) -> None:
    """Write each frame of `book` as a sheet of the workbook at `path` (not atomically)."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in book.items():
            frame = frame.replace([np.inf, -np.inf], np.nan)
            frame.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            for cell in sheet[1]:  # each column wide enough for its header
                width = min(60, max(10, len(str(cell.value or "")) + 2))
                sheet.column_dimensions[cell.column_letter].width = width
