"""A run's chunk tables as they arrive, gathered so the end of a run holds one copy of each.

The summary (a row per strategy and replication) and the worlds (a row per replication)
grow with the replications: at 100,000 of them, with six strategies, the summary alone is
about 160 MB. Kept as chunks and joined at the end, they would be held twice at the
peak (every chunk, and the joined table). `Gathered` copies each chunk's rows of those two
tables, as the chunk arrives, into columns made once for every replication of the run,
at the place of each row's replication and strategy; the chunk's copy is then let go.
The other tables (monthly cash flows, timeline, world paths, events) vary in rows per
replication and are kept by chunk and joined once (`join`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The tables gathered into columns, and how many rows a replication has in each
#: (None: one per strategy).
COLUMNAR = {"summary": None, "worlds": 1}


def strategy_codes(strategy: pd.Series, labels: list[str]) -> np.ndarray:
    """Return the index in `labels` of each row's strategy (-1 where it is none of them)."""
    return pd.Index(labels).get_indexer(strategy)


class Gathered:
    """The tables of a run's finished chunks: `add` each, `frame` or `result_tables` to read."""

    def __init__(self, labels: list[str]):
        self.labels = list(labels)
        self.capacity = 0  # replications the columns hold
        self.columns: dict[str, dict[str, np.ndarray]] = {}
        self.chunks: dict[tuple[int, int], dict[str, pd.DataFrame]] = {}

    def __iter__(self):
        """Iterate over the (lo, hi) of the chunks added."""
        return iter(self.chunks)

    def reserve(self, replications: int) -> None:
        """Make room in the columns for replications 0 .. `replications` - 1."""
        if replications <= self.capacity:
            return
        for name, columns in self.columns.items():
            for column, values in columns.items():
                grown = np.zeros(replications * self._per_replication(name), values.dtype)
                grown[:len(values)] = values
                columns[column] = grown
        self.capacity = replications

    def add(self, chunk: tuple[int, int], tables: dict[str, pd.DataFrame]) -> None:
        """Keep chunk (lo, hi)'s `tables`: the columnar ones copied into place, the rest as they are.

        `tables` is emptied of the columnar tables, so its caller's copies are let go."""
        self.reserve(chunk[1])
        for name in COLUMNAR:
            if name in tables:
                self._place(name, tables.pop(name))
        self.chunks[chunk] = tables

    def frame(self, name: str, replications: int) -> pd.DataFrame:
        """Return columnar table `name` of replications 0 .. `replications` - 1 (a copy)."""
        rows = replications * self._per_replication(name)
        columns = self.columns.get(name)
        if columns is None:
            return pd.DataFrame()
        return pd.DataFrame({column: self._values(column, values[:rows])
                             for column, values in columns.items()})

    def result_tables(self, replications: int) -> dict[str, pd.DataFrame]:
        """Return every table of the run by name, the columns let go as they become frames."""
        tables = {}
        for name in list(self.columns):
            rows = replications * self._per_replication(name)
            columns = self.columns.pop(name)
            tables[name] = pd.DataFrame(
                {column: self._values(column, columns.pop(column)[:rows])
                 for column in list(columns)}, copy=False)
        for name in sorted({name for kept in self.chunks.values() for name in kept}):
            tables[name] = self.join(name)
        return tables

    def join(self, name: str) -> pd.DataFrame:
        """Return the non-columnar table `name` of every chunk, in replication order, taking
        each chunk's copy out as it goes."""
        frames = [self.chunks[c].pop(name) for c in sorted(self.chunks) if name in self.chunks[c]]
        if not frames:
            return pd.DataFrame()
        if "strategy" in frames[0]:  # one categorical dtype, so concat keeps it (no strings)
            for i, frame in enumerate(frames):
                frame["strategy"] = pd.Categorical(frame["strategy"], categories=self.labels)
                frames[i] = self._in_label_order(frame)
        return pd.concat(frames, ignore_index=True)

    def _in_label_order(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return `frame` with each replication's rows in the run's strategy order (a chunk
        kept from a run that listed its strategies in another order is reordered, stably)."""
        if "replication" not in frame or frame.empty:
            return frame
        key = (frame["replication"].to_numpy(dtype=np.int64) * len(self.labels)
               + frame["strategy"].cat.codes.to_numpy())
        if (np.diff(key) >= 0).all():
            return frame
        return frame.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)

    # --- the columns ---------------------------------------------------------------------------
    def _per_replication(self, name: str) -> int:
        return COLUMNAR[name] or len(self.labels)

    def _place(self, name: str, table: pd.DataFrame) -> None:
        """Copy `table`'s rows to the rows of their replication (and strategy)."""
        where = table["replication"].to_numpy(dtype=np.int64)
        if COLUMNAR[name] is None:
            codes = strategy_codes(table["strategy"], self.labels)
            if (codes < 0).any():  # never expected: not_whole refuses such a chunk before
                raise ValueError(f"a chunk's summary names a strategy outside {self.labels}")
            where = where * len(self.labels) + codes
        columns = self.columns.setdefault(name, {})
        for column in table.columns:
            values = (codes.astype(np.int8 if len(self.labels) < 128 else np.int32)
                      if column == "strategy" else table[column].to_numpy())
            held = columns.get(column)
            if held is None:
                held = columns[column] = np.zeros(self.capacity * self._per_replication(name),
                                                  values.dtype)
            elif not np.can_cast(values.dtype, held.dtype, casting="safe"):  # e.g. ints, then NaN
                held = columns[column] = held.astype(np.result_type(held.dtype, values.dtype))
            held[where] = values

    def _values(self, column: str, values: np.ndarray):
        if column == "strategy":
            return pd.Series(pd.Categorical.from_codes(values, categories=self.labels)).astype(str)
        return values
