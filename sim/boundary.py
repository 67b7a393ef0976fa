"""The plug-in boundary: what a market process returns, checked against the World contract.

Every process, shipped or a user's, returns a dict of the World fields it owns
(`sim.world.PROCESS_FIELDS`): daily paths on the day grid and event tables (`epochs`,
`tenant_requests`). `validate_output` checks each, so a bad plug-in stops the run with one
line naming the process, the field, the value and the day or row, rather than a wrong
number later: lengths, types, finite values, signs and bounds, sorted and whole-numbered
table columns, the tables' column names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.params import LARGEST

#: Columns of the event tables, in order.
TABLE_COLUMNS = {
    "epochs": ("start_day", "end_day", "start_height", "difficulty"),
    "tenant_requests": ("day", "mw_it", "term_days", "usd_per_kw_month", "wait_days"),
}

#: Columns a table may carry beyond the contract's, each with its value where absent:
#: `min_share`, the least share of `mw_it` the tenant signs for (1: all or nothing);
#: `phased`, 1 if the tenant takes delivery in parts as halls are energised (0: all at once);
#: `commence_days`, days after the request before which its rent does not start, a contract's
#: commencement date (0: from delivery; halls ready earlier are held for it, unleased);
#: `tenant`, a whole number naming the tenant: rows with the same one are one tenant's (an
#: anchor's phases), with one credit (None: each row its own tenant).
OPTIONAL_COLUMNS = {
    "epochs": {},
    "tenant_requests": {"min_share": 1.0, "phased": 0.0, "commence_days": 0.0, "tenant": None},
}

#: The longest lease term a tenant request may carry, in days (100 years): far longer terms
#: asked for rent schedules of terabytes.
MOST_TERM_DAYS = 36_525
#: Daily fields that must be strictly positive (everything else must be >= 0).
POSITIVE = {"btc_usd", "network_hashrate_ehs", "difficulty"}
#: The largest value of a path where it is not `LARGEST` (the config's bound): difficulty,
#: 1.3e14 in 2026, may pass 1e18 on a century's horizon; a rate is at most 1 (100% a year),
#: as the config's rates are (4.3 is a percent typed as a number).
_LARGEST = {"difficulty": math.inf, "short_rate": 1.0}
#: The paths that are annual rates, as fractions (0.043 a year, not 4.3).
_RATES = {"short_rate"}
#: The paths that never fall from one day to the next: blocks are only ever added.
_RISING = {"block_height"}


def validate_output(out, fields: tuple[str, ...], n_days: int, where: str) -> dict:
    """Return a process's output checked against the World contract, or raise UserError."""
    if not isinstance(out, Mapping):
        raise UserError(f"{where} returned {type(out).__name__}; expected a dict with "
                        f"{', '.join(fields)}")
    missing = [f for f in fields if f not in out]
    extra = [f for f in out if f not in fields]
    if missing or extra:
        raise UserError(f"{where} must return exactly {', '.join(fields)}; "
                        f"missing {missing or 'none'}, unexpected {extra or 'none'}")
    checked = {}
    for name in fields:
        value = out[name]
        if name in TABLE_COLUMNS:
            checked[name] = _check_table(name, value, n_days, where)
            continue
        array = _numbers(value, name, where)
        if array.shape != (n_days,):
            raise UserError(f"{where}: {name} has shape {array.shape}; expected ({n_days},), "
                            "one value per day")
        low = array.min()  # NaN if any is: then the checks below name the first
        top = array.max()
        if not (top < math.inf and top <= _LARGEST.get(name, LARGEST)
                and (low >= 1 / LARGEST if name in POSITIVE else low >= 0)):
            _refuse_path(name, array, where)
        if name in _RISING and (array[1:] < array[:-1]).any():
            day = int(np.flatnonzero(array[1:] < array[:-1])[0]) + 1
            raise UserError(f"{where}: {name} must not decrease (day {day}: {array[day]:.15g} "
                            f"after {array[day - 1]:.15g})")
        array.setflags(write=False)
        checked[name] = array
    return checked


def _refuse_path(name: str, array: np.ndarray, where: str) -> None:
    """Raise UserError naming the first day where a daily path is not finite, or else
    beyond the sizes the model computes with (`LARGEST`, as for the config's numbers; a
    rate 1, 100% a year; a `POSITIVE` field at least its inverse), or else below its floor
    (0, or above 0 for the `POSITIVE` fields)."""
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise UserError(f"{where}: {name} is not finite (first at day {bad}: {array[bad]})")
    largest = _LARGEST.get(name, LARGEST)
    if array.max() > largest:
        bad = int(np.flatnonzero(array > largest)[0])
        if name in _RATES:
            raise UserError(f"{where}: {name} is {array[bad]:g} on day {bad}: must be at most "
                            f"{largest:g} (100% a year); a rate is a fraction (0.043, not 4.3)")
        raise UserError(f"{where}: {name} is {array[bad]:g} on day {bad}: too large to compute "
                        f"with; every value of a path must be at most {largest:g}")
    if name in POSITIVE and array.min() > 0:
        bad = int(np.flatnonzero(array < 1 / LARGEST)[0])
        raise UserError(f"{where}: {name} is {array[bad]:g} on day {bad}: too small to compute "
                        f"with; {name} must be at least {1 / LARGEST:g}")
    floor_ok = array > 0 if name in POSITIVE else array >= 0
    bad = int(np.flatnonzero(~floor_ok)[0])
    allowed = "> 0" if name in POSITIVE else ">= 0"
    raise UserError(f"{where}: {name} must be {allowed} (day {bad}: {array[bad]})")


def _numbers(value, name: str, where: str) -> np.ndarray:
    """Return `value` as a float array, or raise UserError unless it holds only numbers.

    Strings are refused even where they would parse ("40.5"): a plug-in that returns
    them has a bug that a silent conversion would hide.
    """
    try:
        array = np.asarray(value)
        if array.dtype.kind == "O":  # a pandas column, or a list mixing types
            array = np.asarray(pd.Series(np.ravel(array)).infer_objects()).reshape(array.shape)
    except (TypeError, ValueError) as err:
        raise UserError(f"{where}: {name} is not an array of numbers ({type(err).__name__}: "
                        f"{' '.join(str(err).split())})") from None
    if array.dtype.kind not in "iuf" and array.size:  # an empty column may be of any type
        raise UserError(f"{where}: {name} must hold numbers; got {_kind(array)}")
    return array.astype(float, copy=False)


def _kind(array: np.ndarray) -> str:
    """Return what a non-numeric array holds, in words ('strings such as 'abc'')."""
    names = {"U": "strings", "S": "bytes", "b": "true/false values", "M": "dates",
             "m": "time spans", "O": "mixed or non-numeric values"}
    values = array.ravel()[:10_000].tolist()  # Python objects: 'abc', not np.str_('abc')
    odd = [v for v in values if isinstance(v, bool) or not isinstance(v, (int, float))]
    first = odd[:1] or values[:1]
    example = f" such as {first[0]!r}" if first else ""
    return f"{names.get(array.dtype.kind, f'dtype {array.dtype}')}{example}"


#: The integer columns of each table (the others hold floats), and their numpy types.
_INTEGER_COLUMNS = {"epochs": ("start_day", "end_day", "start_height"), "tenant_requests": ("day",)}
_INT64, _FLOAT64 = np.dtype("int64"), np.dtype("float64")
#: The columns of each table that must be above 0 (the others must be >= 0).
_POSITIVE_COLUMNS = {"epochs": (), "tenant_requests": ("mw_it", "term_days")}


def _check_table(name: str, value, n_days: int, where: str) -> pd.DataFrame:
    """Return a table checked against the contract, in its shape (its columns, then the
    optional ones it holds; whole-number columns int64, the others float), or raise UserError."""
    columns = TABLE_COLUMNS[name]
    if not isinstance(value, pd.DataFrame):
        raise UserError(f"{where}: {name} must be a DataFrame with columns {', '.join(columns)}")
    labels = list(value.columns)
    kept = [*columns, *(c for c in OPTIONAL_COLUMNS[name] if c in labels)]
    integers = _INTEGER_COLUMNS[name]
    if labels == kept and list(value.dtypes) == [_INT64 if c in integers else _FLOAT64 for c in kept]:
        # already in the contract's shape (the built-in processes): check one float array
        numbers = dict(zip(kept, value.to_numpy(dtype=float).T))
        _check_numbers(name, numbers, n_days, where)
        for column in kept[len(columns):]:
            _optional_range(name, column, numbers[column], where)
        return value.reset_index(drop=True)  # no copy
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise UserError(f"{where}: {name} lacks columns {', '.join(missing)}")
    unknown = [c for c in labels if c not in columns and c not in OPTIONAL_COLUMNS[name]]
    if unknown:  # else dropped: a misspelt optional column (minshare) went unnoticed
        allowed = ", ".join(columns)
        if OPTIONAL_COLUMNS[name]:
            allowed += f", and optionally {', '.join(OPTIONAL_COLUMNS[name])}"
        raise UserError(f"{where}: {name}.{unknown[0]}: no such column (check the spelling); "
                        f"allowed: {allowed}")
    numbers = {c: _numbers(value[c], f"{name}.{c}", where) for c in columns}
    _check_numbers(name, numbers, n_days, where)
    optional = [c for c in OPTIONAL_COLUMNS[name] if c in value.columns]
    for column in optional:
        numbers[column] = _numbers(value[column], f"{name}.{column}", where)
        _optional_range(name, column, numbers[column], where)
    for column in integers:  # floats here: a fraction would be cut off silently
        fraction = numbers[column] != np.floor(numbers[column])
        if fraction.any():
            row = int(np.flatnonzero(fraction)[0])
            raise UserError(f"{where}: {name}.{column} must hold whole numbers (row {row}: "
                            f"{numbers[column][row]:g})")
    # not in the contract's shape (else the first branch took it): the table in that shape
    return pd.DataFrame({c: numbers[c].astype("int64") if c in integers else numbers[c]
                         for c in [*columns, *optional]})


def _check_numbers(name: str, numbers: dict, n_days: int, where: str) -> None:
    """Raise UserError unless a table's columns (float arrays, by name) keep the contract."""
    columns = TABLE_COLUMNS[name]
    first = numbers[columns[0]]
    if not len(first):
        if name == "epochs":  # a strategy reading view.epochs would find no difficulty
            raise UserError(f"{where}: epochs is empty; a network must return at least the "
                            "epoch in force on day 0")
        return
    stacked = np.vstack([numbers[c] for c in columns])
    if not (stacked.max() < math.inf and stacked.min() >= 0):  # NaN fails both
        finite = np.isfinite(stacked)
        bad = ~finite if not finite.all() else stacked < 0
        row = int(np.flatnonzero(bad.any(axis=0))[0])  # the first row at fault, its first column
        column = columns[int(np.flatnonzero(bad[:, row])[0])]
        value = numbers[column][row]
        if not finite.all():
            raise UserError(f"{where}: {name}.{column} is not finite (first at row {row}: {value})")
        allowed = "> 0" if column in _POSITIVE_COLUMNS[name] else ">= 0"
        raise UserError(f"{where}: {name}.{column} must be {allowed} (row {row}: {value:g})")
    if (first[1:] < first[:-1]).any():
        raise UserError(f"{where}: {name} must be sorted by {columns[0]}")
    if first[-1] >= n_days:
        row = int(np.flatnonzero(first >= n_days)[0])
        raise UserError(f"{where}: {name}.{columns[0]} must lie on the day grid [0, {n_days}) "
                        f"(row {row}: {first[row]:g})")
    if name == "epochs":  # an epoch under a day long starts and ends on one day (floors)
        end = numbers["end_day"]
        if (end < first).any():
            row = int(np.flatnonzero(end < first)[0])
            raise UserError(f"{where}: epochs.end_day must be >= start_day (row {row}: "
                            f"end_day {end[row]:g}, start_day {first[row]:g})")
    if name == "tenant_requests":
        for column in _POSITIVE_COLUMNS[name]:
            if numbers[column].min() <= 0:
                row = int(np.flatnonzero(numbers[column] <= 0)[0])
                raise UserError(f"{where}: {name}.{column} must be > 0 "
                                f"(row {row}: {numbers[column][row]:g})")
        term = numbers["term_days"]
        if term.max() > MOST_TERM_DAYS:
            row = int(np.flatnonzero(term > MOST_TERM_DAYS)[0])
            raise UserError(f"{where}: tenant_requests.term_days must be at most {MOST_TERM_DAYS:,} "
                            f"(100 years); row {row}: {term[row]:g}")


def _optional_range(name: str, column: str, array: np.ndarray, where: str) -> None:
    """Raise UserError where an optional column of a table (floats) leaves its range."""
    if column == "min_share":
        ok, allowed = (array > 0) & (array <= 1), "in (0, 1]"
    elif column == "commence_days":
        ok, allowed = (array >= 0) & (array < math.inf), "a finite number >= 0"
    elif column == "tenant":
        whole = (array >= 0) & (array < math.inf) & (array == np.floor(array))
        ok, allowed = whole, "a whole number >= 0"
    else:  # phased
        ok, allowed = (array == 0) | (array == 1), "0 or 1"
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise UserError(f"{where}: {name}.{column} must be {allowed} (row {bad}: {array[bad]})")
