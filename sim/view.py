"""What a strategy may see: the market up to its decision day, and the site's state now.

A strategy gets two views and nothing else: `MarketView` (every daily path up to and
including the decision day, the events that have happened) and `SiteView` (the site's
state and fixed facts as the engine holds them at that moment). Each view answers only
the names it lists (`MARKET_NAMES`, `SITE_NAMES`); any other name — a private one, the
world, the engine's clock or books, its random draws — raises `LookAheadError` with one
line saying what a strategy may read. So does reading a day after the decision day
(`at`); tomorrow's index of a path is simply not there (IndexError).

What the views hand out holds no way back. A slice of a world path would keep the whole
path, future included, as its `base`; so the engine gives each site a `Past`, its own
copy of the paths filled only up to the present (decision days come in order), and a
view's paths are read-only slices of it: cheap, and their `base` ends today. A view
built without one (`MarketView(world, day)`) hands out copies. Tables are fresh copies,
the fleet's J/TH is a copy; a strategy can change nothing of the world or the site. The epochs table shows the epochs started by the
decision day; an epoch's `end_day` is shown only once it has come (the current epoch's
end, a future fact, is NaN). The views are read-only and cannot be pickled or copied
(that would hand over their insides). They guard every ordinary route; Python's
introspection (`gc`, frames, `object.__getattribute__`) is beyond what an object can
guard, and a plug-in that uses it is not playing fair.
"""

from __future__ import annotations

import bisect

import numpy as np
import pandas as pd

from sim.errors import LookAheadError
from sim.world import DAILY_FIELDS

#: Names a strategy may read on a MarketView.
MARKET_NAMES = frozenset((*DAILY_FIELDS, "date", "day", "at", "epochs", "tenant_requests"))

#: The daily paths a MarketView shows up to its day (copies: a strategy's own to change).
_PATHS = frozenset((*DAILY_FIELDS, "date"))

#: The daily paths `at` and the trailing helpers read (a set: looked up at every read).
_DAILY = frozenset(DAILY_FIELDS)

#: The site's facts a strategy may read on a SiteView (numbers, as the engine has them now).
SITE_FACTS = ("blocks_mining", "conversions_queued", "projects_queued", "blocks_planned",
              "blocks_committed", "blocks_converted", "tenants_waiting", "tenants_waiting_mw_it",
              "ready_mw_it", "n_blocks", "block_mw", "block_mw_it", "crews", "blocks_per_project",
              "median_conversion_days", "pue_mining", "pue_ai", "pool_fee")

_SITE_FACTS = frozenset(SITE_FACTS)

#: Names a strategy may read on a SiteView: its facts, the fleet's J/TH and four formulas.
SITE_NAMES = frozenset((*SITE_FACTS, "j_per_th", "projects_for", "blocks_needed", "th_per_mw",
                        "mining_usd_per_mw_day"))

#: Special names that would hand over a view's insides (its state, for pickling or copying).
_SEALED_SPECIAL = frozenset(("__getstate__", "__setstate__", "__reduce__", "__reduce_ex__",
                             "__copy__", "__deepcopy__"))


def _special(name: str) -> bool:
    """Return True for a special (dunder) name that reveals nothing of the view's insides."""
    return name[:2] == "__" == name[-2:] and len(name) > 4 and name not in _SEALED_SPECIAL


#: `_slot(view, name)` returns a view's own slot `name` (the views themselves refuse private
#: names): object's lookup itself, not a function around it, as strategies read the views
#: many times a run.
_slot = object.__getattribute__


def _refuse(view, name: str, allowed: frozenset) -> LookAheadError:
    """Return the one-line error for a strategy reading `name` on `view`."""
    kind = type(view).__name__
    return LookAheadError(f"a strategy may not read {kind}.{name}: strategies see only the "
                          f"past and the site's state now; a {kind} offers "
                          f"{', '.join(sorted(allowed))}")


class _Sealed:
    """Base of the views: read-only, neither pickled nor copied, `dir` lists what is allowed."""

    __slots__ = ()
    _NAMES: frozenset = frozenset()

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is read-only: a strategy acts through the "
                             "actions it returns, never by writing to its views")

    def __delattr__(self, name):
        self.__setattr__(name, None)

    def __reduce_ex__(self, protocol):
        raise _refuse(self, "__reduce_ex__", type(self)._NAMES)

    def __dir__(self):
        return sorted(type(self)._NAMES)


class Past:
    """One site's copy of the world's daily paths, filled only up to the latest day shown.

    The engine's days only move forward, so what a strategy holds from a `Past` — a
    read-only slice, whose `base` is the copy — reaches no day after the present.
    """

    __slots__ = ("world", "paths")

    def __init__(self, world):
        self.world = world
        self.paths: dict[str, tuple] = {}  # name -> (copy, its read-only face, days filled)

    def path(self, name: str, day: int) -> np.ndarray:
        """Return path `name` up to and including `day`, read-only (filling the copy that far)."""
        entry = self.paths.get(name)
        if entry is None or entry[2] <= day:
            source = getattr(self.world, name)
            if entry is None:
                copy = np.zeros_like(source)
                face = copy.view()
                face.flags.writeable = False
                entry = (copy, face, 0)
            copy, face, filled = entry
            copy[filled: day + 1] = source[filled: day + 1]
            entry = self.paths[name] = (copy, face, max(filled, day + 1))
        return entry[1][: day + 1]


class MarketView(_Sealed):
    """The market as a strategy may see it on `day`: every path up to and including it.

    `past` is the site's `Past` (the engine passes it: paths are then slices of it);
    without one, each path read is a copy.
    """

    __slots__ = ("_world", "_day", "_past")
    _NAMES = MARKET_NAMES

    def __init__(self, world, day: int, past: Past | None = None):
        object.__setattr__(self, "_world", world)
        object.__setattr__(self, "_day", int(day))
        object.__setattr__(self, "_past", past)

    def __getattribute__(self, name):
        if name in _PATHS:
            past, day = _slot(self, "_past"), _slot(self, "_day")
            if past is not None:
                return past.path(name, day)
            return getattr(_slot(self, "_world"), name)[: day + 1].copy()
        if name in MARKET_NAMES or _special(name):
            return _slot(self, name)
        raise _refuse(self, name, MARKET_NAMES)

    def __repr__(self):
        return f"MarketView(day={_slot(self, '_day')})"

    @property
    def day(self) -> int:
        """Return the decision day: the last day this view shows."""
        return _slot(self, "_day")

    @property
    def tenant_requests(self) -> pd.DataFrame:
        """Return the tenant requests made by the decision day (a copy)."""
        world = _slot(self, "_world")
        return world.tenant_requests.iloc[:_requests_by(world, _slot(self, "_day"))].copy()

    @property
    def epochs(self) -> pd.DataFrame:
        """Return the difficulty epochs started by the decision day (a copy); an `end_day`
        still to come (the current epoch's) is NaN."""
        day = _slot(self, "_day")
        table = _rows_started(_slot(self, "_world").epochs, "start_day", day)
        end_day = table["end_day"].to_numpy(dtype=float, copy=True)
        end_day[end_day > day] = np.nan
        table["end_day"] = end_day
        return table

    def at(self, name: str, day: int) -> float:
        """Return daily path `name` on `day`, which must not be after the decision day."""
        if name not in _DAILY:
            raise LookAheadError(f"MarketView.at({name!r}, ...): at() reads the daily paths "
                                 f"{', '.join(DAILY_FIELDS)}")
        today = _slot(self, "_day")
        if day > today:
            raise LookAheadError(f"strategy read {name} on day {day} while deciding on day "
                                 f"{today}: strategies see only the past")
        if day < 0:
            raise IndexError(f"MarketView.at({name!r}, {day}): days start at 0")
        return float(getattr(_slot(self, "_world"), name)[day])


def trailing_sum(view: MarketView, name: str, days: int) -> float:
    """Return the sum of daily path `name` over the `days` days up to the view's day.

    The same number as ``float(view.<name>[-days:].sum())``, bit for bit, but read from
    the world's path directly: a strategy deciding every month on a trailing window (the
    threshold's margin) would otherwise fill the site's copy of the path for one sum.
    Like `at`, it reads no day after the view's.
    """
    if name not in _DAILY:
        raise LookAheadError(f"trailing_sum(view, {name!r}, ...) sums the daily paths "
                             f"{', '.join(DAILY_FIELDS)}")
    if days < 1:
        raise ValueError(f"trailing_sum(view, {name!r}, days={days!r}): days must be >= 1")
    day = _slot(view, "_day")
    path = getattr(_slot(view, "_world"), name)
    return float(np.add.reduce(path[max(0, day - days + 1): day + 1]))


def trailing_mean(view: MarketView, name: str, days: int) -> float:
    """Return the mean of daily path `name` over the `days` days up to the view's day
    (fewer near day 0): ``float(view.<name>[-days:].mean())``, bit for bit (numpy's mean
    is the same sum divided by the count), without copying the path."""
    return trailing_sum(view, name, days) / min(days, _slot(view, "_day") + 1)


def requested_mw_it(view: MarketView, days: int) -> float:
    """Return the IT MW of the tenant requests made in the `days` days up to the view's day
    (those with ``day > view.day - days``).

    The same number as summing ``view.tenant_requests``' `mw_it` over those rows, bit for
    bit, without copying the table (a pandas copy costs a policy's feature most of its
    time). Like `at`, it reads no request after the view's day.
    """
    if days < 1:
        raise ValueError(f"requested_mw_it(view, days={days!r}): days must be >= 1")
    world, day = _slot(view, "_world"), _slot(view, "_day")
    rows = world.tenant_request_rows()
    recent = rows[_requests_by(world, day - days): _requests_by(world, day)]
    return float(np.add.reduce(np.array([row[1] for row in recent], dtype=float)))


def _requests_by(world, day: int) -> int:
    """Return how many of the world's tenant requests (in day order) are made by `day`."""
    # The world's rows of Python numbers (made once) count them faster than a pandas column.
    return bisect.bisect_right(world.tenant_request_rows(), day, key=_day_of)


def _day_of(request_row: tuple) -> int:
    """Return the day of one of `World.tenant_request_rows`."""
    return request_row[0]


def _rows_started(table, column: str, day: int):
    """Return a fresh copy of the rows of `table` (sorted by `column`) with `column` <= `day`."""
    rows = int(np.searchsorted(table[column].to_numpy(), day, side="right"))
    return table.iloc[:rows].copy()


class SiteView(_Sealed):
    """The site as a strategy may see it: its state now and its fixed facts, read live.

    Built once per site; every read asks the engine at that moment. Facts: see
    `SITE_FACTS` (sim.site.Site documents each); `j_per_th` is a copy of each block's
    fleet efficiency (J/TH).
    """

    __slots__ = ("_site",)
    _NAMES = SITE_NAMES

    def __init__(self, site):
        object.__setattr__(self, "_site", site)

    def __getattribute__(self, name):
        if name in _SITE_FACTS:
            return getattr(_slot(self, "_site"), name)
        if name in SITE_NAMES or _special(name):
            return _slot(self, name)
        raise _refuse(self, name, SITE_NAMES)

    def __repr__(self):
        return f"SiteView(n_blocks={_slot(self, '_site').n_blocks})"

    @property
    def j_per_th(self) -> np.ndarray:
        """Return each block's fleet efficiency now, J/TH (a copy)."""
        return _slot(self, "_site").j_per_th.copy()

    def projects_for(self, blocks: int) -> int:
        """Return how many projects `blocks` blocks queued together make."""
        return _slot(self, "_site").projects_for(blocks)

    def blocks_needed(self, mw_it: float) -> int:
        """Return how many more blocks a tenant of `mw_it` needs beyond the MW free for it
        (ready and, with sign_converting, converting or queued for lease, unreserved)."""
        return _slot(self, "_site").blocks_needed(mw_it)

    def th_per_mw(self, j_per_th) -> float:
        """Return the TH/s that one MW of grid mines at efficiency `j_per_th`."""
        return _slot(self, "_site").th_per_mw(j_per_th)

    def mining_usd_per_mw_day(self, hashprice_usd_per_ph_day, j_per_th=None):
        """Return mining revenue after pool fees per MW of grid per day, at a hashprice
        (of `j_per_th` if given, else of the least efficient fleet among the blocks mining and
        free to convert, neither queued nor planned; with none left, the last such fleet)."""
        return _slot(self, "_site").mining_usd_per_mw_day(hashprice_usd_per_ph_day, j_per_th)

