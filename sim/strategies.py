"""Conversion strategies: when to turn mining blocks into AI halls, and for which use.

A strategy is a small class configured by `_target_`. At each decision day the engine
calls ``decide(day, view, site)``; `view` is the market up to `day` only (reading past it
fails) and `site` is the site's current state, read-only. It returns the actions to take
(`Convert`). When a tenant asks for more IT MW than the site has ready, the engine asks
``on_request(request, view, site)`` whether to sign it and build for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sim.economics import mining_margin
from sim.errors import UserError

USES = ("lease", "cloud")


@dataclass(frozen=True)
class Convert:
    """Start converting `blocks` mining blocks to `use` ('lease' or 'cloud')."""

    blocks: int
    use: str = "lease"


def _check_use(use: str) -> str:
    if use not in USES:
        raise UserError(f"use={use!r} must be one of {', '.join(USES)}")
    return use


def _check_share(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise UserError(f"{name}={value!r} must be a share in [0, 1]")
    return value


def _check_count(name: str, value: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise UserError(f"{name}={value!r} must be a whole number >= 0")
    return int(value)


class Strategy:
    """Base class: never converts, and signs only tenants that fit the ready MW."""

    #: Months between decisions; None decides on day 0 only.
    decide_every_months: int | None = None
    use: str = "lease"

    def decide(self, day: int, view, site) -> list[Convert]:
        """Return the actions to take on `day` (none by default)."""
        return []

    def on_request(self, request, view, site) -> bool:
        """Return True to sign a tenant that does not fit now and build for it."""
        return False

    @staticmethod
    def room(site, max_share: float) -> int:
        """Return how many more blocks may start converting without passing `max_share`."""
        allowed = math.floor(max_share * site.n_blocks + 1e-9)
        return max(0, min(allowed - site.blocks_committed, site.blocks_mining))


class StayMining(Strategy):
    """Never convert; curtail above breakeven and refresh the fleet (the fair baseline)."""


class ConvertAll(Strategy):
    """Convert every block as fast as crews allow, from day 0."""

    def __init__(self, use: str = "lease"):
        self.use = _check_use(use)

    def decide(self, day, view, site):
        """Return one conversion of every mining block (crews queue them)."""
        return [Convert(site.blocks_mining, self.use)] if site.blocks_mining else []


class Phased(Strategy):
    """Convert `blocks_per_quarter` blocks every quarter, up to a share `max_share` of the site."""

    decide_every_months = 3

    def __init__(self, blocks_per_quarter: int = 1, max_share: float = 0.6,
                 use: str = "lease"):
        self.blocks_per_quarter = _check_count("blocks_per_quarter", blocks_per_quarter)
        self.max_share = _check_share("max_share", max_share)
        self.use = _check_use(use)

    def decide(self, day, view, site):
        """Return this quarter's conversions, capped by the share left."""
        blocks = min(self.blocks_per_quarter, self.room(site, self.max_share))
        return [Convert(blocks, self.use)] if blocks else []


class Threshold(Strategy):
    """Convert when the trailing mining margin is poor and the lease index is rich.

    The margin is 1 − power cost / mining revenue (after pool fees) of the site's fleet,
    averaged over `trailing_days`. Conversion starts when the margin falls below
    `margin_below` while the lease index is at least `lease_above_usd_per_kw_month`, and
    stops once the margin recovers above `margin_above` (hysteresis).
    """

    decide_every_months = 1

    def __init__(self, margin_below: float = 0.35, margin_above: float = 0.5,
                 lease_above_usd_per_kw_month: float = 100.0, trailing_days: int = 90,
                 blocks_per_month: int = 1, max_share: float = 1.0, use: str = "lease"):
        if margin_above < margin_below:
            raise UserError(f"margin_above={margin_above!r} must be >= margin_below={margin_below!r}")
        if trailing_days < 1:
            raise UserError(f"trailing_days={trailing_days!r} must be >= 1")
        self.margin_below = margin_below
        self.margin_above = margin_above
        self.lease_above_usd_per_kw_month = lease_above_usd_per_kw_month
        self.trailing_days = int(trailing_days)
        self.blocks_per_month = _check_count("blocks_per_month", blocks_per_month)
        self.max_share = _check_share("max_share", max_share)
        self.use = _check_use(use)
        self._armed = False

    def decide(self, day, view, site):
        """Return conversions while the margin signal is armed and leases pay."""
        start = max(0, day - self.trailing_days + 1)
        revenue = site.mining_usd_per_mw_day(float(view.hashprice_usd_per_ph_day[start:].sum()))
        margin = mining_margin(float(revenue), float(view.power_usd_per_mwh[start:].sum()))
        if margin < self.margin_below:
            self._armed = True
        elif margin > self.margin_above:
            self._armed = False
        if not self._armed or view.lease_usd_per_kw_month[-1] < self.lease_above_usd_per_kw_month:
            return []
        blocks = min(self.blocks_per_month, self.room(site, self.max_share))
        return [Convert(blocks, self.use)] if blocks else []


class BuildToSuit(Strategy):
    """Convert only against a signed tenant request (the CoreWeave pattern).

    A request that does not fit the ready MW is signed when the blocks it needs can be
    converted within its `wait_days`, judged by the median conversion time and the
    crews free; late delivery costs the site's penalty.
    """

    def __init__(self, max_share: float = 1.0):
        self.max_share = _check_share("max_share", max_share)

    def on_request(self, request, view, site):
        """Return True when the blocks this tenant needs can be built within its wait."""
        blocks = site.blocks_needed(request.mw_it)
        if blocks == 0 or blocks > self.room(site, self.max_share):
            return False
        rounds = math.ceil((site.conversions_queued + blocks) / site.crews)
        return rounds * site.median_conversion_days <= request.wait_days
