"""Gathering chunk tables: the same tables as joining the chunks, in any order of arrival."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.gathered import Gathered

LABELS = ["stay_mining", "convert_all", "phased"]


def chunk_tables(lo: int, hi: int, *, nan_from: int | None = None) -> dict[str, pd.DataFrame]:
    """Return made-up tables of replications [lo, hi), in run_chunk's row order."""
    reps = np.repeat(np.arange(lo, hi), len(LABELS))
    summary = pd.DataFrame({
        "strategy": LABELS * (hi - lo),
        "replication": reps,
        "npv_usd": reps * 1.5 + np.tile(np.arange(len(LABELS)), hi - lo) / 7,
        "months_breached": reps % 4,  # ints, unless a NaN arrives (below)
        "covenant_breached": reps % 3 == 0,
    })
    if nan_from is not None and hi > nan_from:
        summary["months_breached"] = summary["months_breached"].where(reps < nan_from)
    worlds = pd.DataFrame({"replication": np.arange(lo, hi), "btc_usd_mean": np.arange(lo, hi) * 1e3})
    monthly = pd.DataFrame({"strategy": LABELS * (hi - lo), "replication": reps, "usd": reps * 2.0})
    return dict(summary=summary, worlds=worlds, cashflows=monthly)


def joined(chunks: list[tuple[int, int]], **kw) -> dict[str, pd.DataFrame]:
    """Return the tables joined as one concat of the chunks in replication order (the old way)."""
    parts = [chunk_tables(lo, hi, **kw) for lo, hi in sorted(chunks)]
    return {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 7), min_size=1, max_size=8), data=st.data())
def test_gathered_tables_equal_the_joined_chunks_whatever_the_order(sizes, data):
    bounds = np.cumsum([0, *sizes]).tolist()
    chunks = list(zip(bounds[:-1], bounds[1:]))
    order = data.draw(st.permutations(chunks))
    gathered = Gathered(LABELS)
    for lo, hi in order:
        tables = chunk_tables(lo, hi)
        gathered.add((lo, hi), tables)
        assert set(tables) == {"cashflows"}  # the columnar tables' chunk copies are let go
    total = bounds[-1]
    pd.testing.assert_frame_equal(gathered.frame("summary", total), joined(chunks)["summary"])
    got = gathered.result_tables(total)
    for name, table in joined(chunks).items():
        if name == "cashflows":  # joined with the strategy categorical (as before)
            table["strategy"] = pd.Categorical(table["strategy"], categories=LABELS)
        pd.testing.assert_frame_equal(got[name], table, check_exact=True)


def test_a_column_that_turns_float_later_is_promoted_not_truncated():
    gathered = Gathered(LABELS)
    gathered.add((0, 4), chunk_tables(0, 4, nan_from=6))  # ints
    gathered.add((4, 8), chunk_tables(4, 8, nan_from=6))  # floats with NaN
    got = gathered.frame("summary", 8)
    want = joined([(0, 4), (4, 8)], nan_from=6)["summary"]
    assert got["months_breached"].dtype == np.float64
    pd.testing.assert_frame_equal(got, want)


def test_reserving_more_keeps_what_was_gathered():
    gathered = Gathered(LABELS)
    gathered.reserve(3)
    gathered.add((0, 3), chunk_tables(0, 3))
    gathered.reserve(10)  # until_confident asks for more replications
    gathered.add((3, 10), chunk_tables(3, 10))
    pd.testing.assert_frame_equal(gathered.frame("summary", 10), joined([(0, 3), (3, 10)])["summary"])
    assert sorted(gathered) == [(0, 3), (3, 10)]



def test_a_strategy_outside_the_run_is_never_placed():
    tables = chunk_tables(0, 2)
    tables["summary"].loc[1, "strategy"] = "not_a_strategy"
    with pytest.raises(ValueError, match="names a strategy outside"):
        Gathered(LABELS).add((0, 2), tables)


def test_a_chunk_of_a_run_that_listed_its_strategies_in_another_order_is_reordered():
    """A run of [stay_mining, phased] resumed as [phased, stay_mining]: the kept chunk's
    cash flows listed stay_mining first in each replication, the new chunk's phased first;
    the tables were equal to an uninterrupted run's only after sorting."""
    def flows(replications, order):
        rows = [(r, s, m) for r in replications for s in order for m in range(3)]
        return pd.DataFrame(rows, columns=["replication", "strategy", "month"]).assign(
            usd=lambda f: f["replication"] * 100.0 + f["strategy"].map({"a": 1.0, "b": 2.0})
            + f["month"])

    gathered = Gathered(["b", "a"])
    gathered.add((0, 2), {"cashflows": flows([0, 1], ["a", "b"])})  # the earlier run's order
    gathered.add((2, 4), {"cashflows": flows([2, 3], ["b", "a"])})
    joined = gathered.join("cashflows")
    expected = flows(range(4), ["b", "a"])
    expected["strategy"] = pd.Categorical(expected["strategy"], categories=["b", "a"])
    pd.testing.assert_frame_equal(joined, expected)
