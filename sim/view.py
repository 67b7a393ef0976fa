"""What a strategy may see: the market up to its decision day, and nothing after it.

No look-ahead is enforced by structure: each daily path is handed over truncated at the
decision day, so reading tomorrow fails (IndexError), and `at(name, day)` refuses a
later day with LookAheadError. Event tables show only what has happened.
"""

from __future__ import annotations

from sim.errors import LookAheadError
from sim.world import DAILY_FIELDS


class MarketView:
    """The market as a strategy may see it on `day`: every path up to and including it."""

    __slots__ = ("_world", "day")

    def __init__(self, world, day: int):
        self._world = world
        self.day = int(day)

    def __getattr__(self, name):
        if name in DAILY_FIELDS or name in ("date",):
            return getattr(self._world, name)[: self.day + 1]
        if name == "tenant_requests":
            requests = self._world.tenant_requests
            return requests[requests["day"] <= self.day]
        if name == "epochs":
            epochs = self._world.epochs
            return epochs[epochs["start_day"] <= self.day]
        raise AttributeError(name)

    def at(self, name: str, day: int) -> float:
        """Return `name` on `day`, which must not be after the decision day."""
        if day > self.day:
            raise LookAheadError(f"strategy read {name} on day {day} while deciding on day "
                                 f"{self.day}: strategies see only the past")
        return float(getattr(self._world, name)[day])
