"""The cash a switch of strategy brings: net cash per world and month, and its increments.

A run's ledger (`cashflows.parquet`) books each month's cash by category. What the
comparison shows of it (each strategy's cumulative cash, the yearly increments over the
baseline in incremental_cashflows.csv) is the cash before debt and tax
(FINANCING_CATEGORIES) and before the terminal value: the value of the site at the
horizon is booked in the last month, and shown as cash it would read as that year's
takings (a real run's convert_all: $1,443.5M of incremental cash in its last year, $19.0M
without it). The IRR of the increments counts it, as the NPV does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.compare.finance import FINANCING_CATEGORIES
from sim.compare.load import RunSet
from sim.economics import first_month_share, irr

#: The ledger category of the value at the horizon, booked in the last month.
TERMINAL_VALUE = "terminal_value"


def net_cash(runset: RunSet) -> tuple[dict, dict]:
    """Return ({(scenario, label): net cash USD before debt, tax and the terminal value},
    {(scenario, label): the terminal value USD}), each replication × month.

    The first is every category but debt and tax (FINANCING_CATEGORIES) and
    TERMINAL_VALUE. Categories are summed run by run before anything is labelled, so the
    long cashflows table is never copied whole.
    """
    cash, terminal, kinds = {}, {}, {}  # kinds: run index -> (operating rows, terminal rows)
    for (index, strategy), label in runset.labels.items():
        flows = runset.runs[index].cashflows
        if flows is None or flows.empty:
            continue
        scenario = runset.summary.loc[runset.summary["run"] == index, "scenario"].iloc[0]
        if index not in kinds:
            ends = (flows["category"] == TERMINAL_VALUE).to_numpy()
            kinds[index] = (~flows["category"].isin(FINANCING_CATEGORIES).to_numpy() & ~ends,
                            ends)
        mine = (flows["strategy"] == strategy).to_numpy()
        operating, ends = kinds[index]
        cash[(scenario, label)] = _by_month(flows.loc[mine & operating])
        terminal[(scenario, label)] = _by_month(flows.loc[mine & ends])
    return cash, terminal


def _by_month(rows: pd.DataFrame) -> pd.DataFrame:
    """Return the sum of `rows`' usd per replication × month (a column per month)."""
    net = rows.groupby(["replication", "month"], sort=True)["usd"].sum()
    wide = net.unstack("month", fill_value=0.0)
    wide.columns = pd.to_datetime(wide.columns)
    return wide


def incremental(cash, terminal, scenario, label, other, increments) -> dict:
    """Append yearly incremental cash rows (without the terminal value); return the IRR
    columns for the table row (of the incremental cash with the terminal value)."""
    if (scenario, label) not in cash or (scenario, other) not in cash:
        return {"incremental_irr": np.nan, "incremental_irr_median": np.nan}
    a, b = cash[(scenario, label)], cash[(scenario, other)]
    ends = terminal[(scenario, label)], terminal[(scenario, other)]
    months = a.columns.union(b.columns).union(ends[0].columns).union(ends[1].columns)
    common = a.index.intersection(b.index)

    def less(x, y):  # x − y on the common worlds and every month
        return (x.reindex(index=common, columns=months, fill_value=0.0)
                - y.reindex(index=common, columns=months, fill_value=0.0))
    delta = less(a, b)
    yearly = delta.T.groupby(months.year).sum().T
    mean = yearly.mean()
    for year in yearly.columns:
        increments.append([scenario, label, other, int(year), float(mean[year]),
                           float(yearly[year].quantile(0.05)),
                           float(yearly[year].quantile(0.95)),
                           float(mean.loc[:year].sum())])
    delta = delta + less(*ends)
    share = first_month_share(months[0])  # the first month opens on the start date, as the ledger's
    per_replication = irr(delta.to_numpy(), first_share=share)
    return {"incremental_irr": irr(delta.mean().to_numpy(), first_share=share),
            "incremental_irr_median": float(np.nanmedian(per_replication))
            if np.isfinite(per_replication).any() else np.nan}
