"""Conversion strategies: when to turn mining blocks into AI halls, and for which use.

A strategy is a small class configured by `_target_`. At each decision day the engine
calls ``decide(day, view, site)``; `view` is the market up to `day` only and `site` the
site's current state, read-only (sim.view: `MarketView`, `SiteView`; reading anything
else, or past `day`, raises LookAheadError). It returns the actions to take
(`Convert`). When a tenant asks for more IT MW than the site has ready (or can deliver
in time from halls converting or planned), the engine asks ``on_request(request, view,
site)`` whether to sign it and build for it. A strategy with ``prelease: true`` only
*plans* its lease conversions: the blocks keep mining until a tenant signs for them
(sim.tenants).
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from sim.economics import mining_margin
from sim.errors import UserError
from sim.params import Checked, param, shown
from sim.view import trailing_sum
from sim.world import month_starts

USES = ("lease", "cloud")


@dataclass(frozen=True)
class Convert:
    """Start converting `blocks` mining blocks to `use` ('lease' or 'cloud').

    With `prelease`, the blocks are only planned: they keep mining, and are converted
    when a tenant signs for them (only for use 'lease').
    """

    blocks: int
    use: str = "lease"
    prelease: bool = False


def decision_days(date: np.ndarray, every_months: int | None,
                  starts: np.ndarray | None = None) -> list[int]:
    """Return the days a strategy deciding every `every_months` months decides on.

    Day 0, then the first day of every `every_months`-th calendar month after the one
    holding day 0 (None: day 0 only): from 2026-06-26, monthly on July 1, August 1, ...,
    quarterly on September 1, December 1, .... `date` is the run's day grid, the same in
    every world; `starts`, the days that open the ledger's months (day 0 the first, as the
    ledger's month 0 opens on it), where a world has them at hand (`World.month_starts`).
    """
    if not every_months:
        return [0]
    starts = month_starts(date) if starts is None else starts
    return [0] + starts[every_months::every_months].tolist()


def _use(default: str = "lease"):
    return param(default, unit="-", choices=USES, doc="what converted halls do: lease or cloud")


def _prelease():
    return param(False, unit="-",
                 doc="plan lease conversions and start each only once a tenant signs for it")


class Preleasing:
    """Mix-in of the converting strategies: `prelease` needs halls to lease, not a GPU cloud."""

    def cross_check(self, prefix: str) -> None:
        """Raise UserError if pre-leasing is asked of a GPU cloud."""
        if self.prelease and self.use != "lease":
            raise UserError(f"{prefix}prelease=true: needs {prefix}use=lease "
                            f"(got {self.use!r}; a GPU cloud has no tenant to wait for)")

    def convert(self, blocks: int) -> list[Convert]:
        """Return the action converting (or, with prelease, planning) `blocks` blocks, if any."""
        return [Convert(blocks, self.use, self.prelease)] if blocks else []


def _max_share(default: float):
    return param(default, unit="share", low=0, high=1,
                 doc="share of the site's blocks that may be converted")


def _defines_methods(cls) -> bool:
    """Return whether `cls` itself defines a method or property (not a dunder, not `finished`)."""
    return any(not name.startswith("__") and name != "finished"
               and (inspect.isfunction(value) or isinstance(value, (staticmethod, classmethod, property)))
               for name, value in vars(cls).items())


class Strategy:
    """Base class: never converts, and signs only tenants that fit the ready MW."""

    #: Months between decisions; None decides on day 0 only.
    decide_every_months: int | None = None
    use: str = "lease"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # `finished` speaks for the methods of the class that defines it. A subclass, or a
        # mixin before that class in the order methods are looked up, that defines methods of
        # its own (decide, room, convert, allowed, ...) may act where that class is finished:
        # it is never finished unless it says when itself.
        owner = next(c for c in cls.__mro__ if "finished" in vars(c))
        if any(_defines_methods(c) for c in cls.__mro__[:cls.__mro__.index(owner)]):
            cls.finished = Strategy.finished

    def decide(self, day: int, view, site) -> list[Convert]:
        """Return the actions to take on `day` (none by default)."""
        return []

    def finished(self, site) -> bool:
        """Return True once `decide` can return no action on any later day, whatever the
        market (the engine then stops asking it); False by default."""
        return False

    def on_request(self, request, view, site) -> bool:
        """Return True to sign a tenant that does not fit now and build for it."""
        return False

    @staticmethod
    def room(site, max_share: float) -> int:
        """Return how many more blocks may start converting without passing `max_share`
        (it never grows: blocks only leave mining)."""
        allowed = math.floor(max_share * site.n_blocks + 1e-9)
        return max(0, min(allowed - site.blocks_committed, site.blocks_mining))


def decide_every_months(strategy) -> int | None:
    """Return the months between `strategy`'s decisions (None: day 0 only), as it says or
    as `Strategy` does; raise UserError unless it is a whole number >= 1 or None."""
    every = getattr(strategy, "decide_every_months", Strategy.decide_every_months)
    if every is not None and (isinstance(every, (bool, np.bool_)) or not isinstance(every, Integral)
                              or every < 1):
        raise UserError(f"{type(strategy).__name__}.decide_every_months={every!r}: "
                        "must be a whole number >= 1, or None")
    return every


@dataclass
class StayMining(Strategy):
    """Never convert; curtail above breakeven and refresh the fleet (the fair baseline)."""


@dataclass
class ConvertAll(Checked, Preleasing, Strategy):
    """Convert every block as fast as crews allow, from day 0."""

    use: str = _use()
    prelease: bool = _prelease()

    def decide(self, day, view, site):
        """Return one conversion of every mining block (crews queue them)."""
        return self.convert(site.blocks_mining)

    def finished(self, site):
        """Return True once no block is left mining and free to convert."""
        return site.blocks_mining == 0


@dataclass
class Phased(Checked, Preleasing, Strategy):
    """Convert `blocks_per_quarter` blocks every quarter, up to a share `max_share` of the site."""

    decide_every_months = 3

    blocks_per_quarter: int = param(1, unit="blocks", low=0, integer=True,
                                    doc="blocks to start converting each quarter")
    max_share: float = _max_share(0.6)
    use: str = _use()
    prelease: bool = _prelease()

    def decide(self, day, view, site):
        """Return this quarter's conversions, capped by the share left."""
        return self.convert(min(self.blocks_per_quarter, self.room(site, self.max_share)))

    def finished(self, site):
        """Return True once the share left is none."""
        return self.room(site, self.max_share) == 0


@dataclass
class Threshold(Checked, Preleasing, Strategy):
    """Convert when the trailing mining margin is poor and the lease index is rich.

    The margin is 1 − power cost / mining revenue (after pool fees) of the site's fleet,
    averaged over `trailing_days`. Conversion starts when the margin falls below
    `margin_below` while the lease index is at least `lease_above_usd_per_kw_month`, and
    stops once the margin recovers above `margin_above` (hysteresis).
    """

    decide_every_months = 1

    margin_below: float = param(0.35, unit="share", doc="start converting below this margin")
    margin_above: float = param(0.5, unit="share",
                                doc="stop converting above this margin (hysteresis)")
    lease_above_usd_per_kw_month: float = param(100.0, unit="USD/kW/month", low=0,
                                                doc="only while the lease index is at least this")
    trailing_days: int = param(90, unit="days", low=1, integer=True,
                               doc="window of the margin average")
    blocks_per_month: int = param(1, unit="blocks", low=0, integer=True,
                                  doc="blocks to start converting each month while armed")
    max_share: float = _max_share(1.0)
    use: str = _use()
    prelease: bool = _prelease()
    _armed: bool = field(default=False, init=False, repr=False, compare=False)  # run state

    def cross_check(self, prefix: str) -> None:
        """Raise UserError unless the hysteresis band is the right way round (and prelease fits)."""
        super().cross_check(prefix)
        if self.margin_above < self.margin_below:
            raise UserError(f"{prefix}margin_above={shown(self.margin_above)}: must be >= "
                            f"{prefix}margin_below={shown(self.margin_below)}")

    def decide(self, day, view, site):
        """Return conversions while the margin signal is armed and leases pay."""
        room = self.room(site, self.max_share)
        if not room:  # finished: the signal no longer matters
            return []
        days = self.trailing_days
        revenue = site.mining_usd_per_mw_day(trailing_sum(view, "hashprice_usd_per_ph_day", days))
        margin = mining_margin(float(revenue), trailing_sum(view, "power_usd_per_mwh", days))
        if margin < self.margin_below:
            self._armed = True
        elif margin > self.margin_above:
            self._armed = False
        if not self._armed or view.at("lease_usd_per_kw_month", day) < self.lease_above_usd_per_kw_month:
            return []
        return self.convert(min(self.blocks_per_month, room))

    def finished(self, site):
        """Return True once the share left is none."""
        return self.room(site, self.max_share) == 0


@dataclass
class BuildToSuit(Checked, Strategy):
    """Convert only against a signed tenant request (the CoreWeave pattern).

    A request that does not fit the ready MW is signed when the blocks it needs can be
    converted within its `wait_days`, judged by the median conversion time: the projects
    queued and the new ones (its blocks, `site.blocks_per_project` to a project) take
    ``ceil(projects / crews)`` rounds. Late delivery costs the site's penalty.
    """

    max_share: float = _max_share(1.0)

    def on_request(self, request, view, site):
        """Return True when the blocks this tenant needs can be built within its wait."""
        blocks = site.blocks_needed(request.mw_it)
        if blocks == 0 or blocks > self.room(site, self.max_share):
            return False
        rounds = math.ceil((site.projects_queued + site.projects_for(blocks)) / site.crews)
        return rounds * site.median_conversion_days <= request.wait_days
