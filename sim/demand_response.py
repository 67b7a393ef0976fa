"""Demand response: mining capacity enrolled with the grid operator, paid to stand ready.

Grid operators pay for load that they may curtail at their call (ERCOT's ancillary
services and Emergency Response Service), per MW enrolled and hour of availability. A
site enrols `site.power.demand_response.enrolled_mw` of its mining: on each of the
operator's event days those MW stop mining for `event_hours`, and every day they earn
`usd_per_mw_hour` for each of the 24 hours. A miner that curtails because spot power
beats its breakeven earns nothing for it: that is its own decision, not a service.

Rules: the MW enrolled on a day are capped by the MW of mining blocks that day (a
converted block leaves the programme); an event first counts the mining MW already
curtailed for price, and stops running MW only for the rest; the event days are drawn
once per replication from their own random stream, the same for every strategy (in
deterministic mode every day carries the expected event hours).
"""

from __future__ import annotations

import numpy as np

from sim.economics import DAYS_PER_YEAR, HOURS_PER_DAY
from sim.world import rng_for

#: The random stream of the operator's event days (see sim.world.rng_for).
STREAM = "demand_response"


def event_hours_by_day(terms, n_days: int, rng: np.random.Generator | None) -> np.ndarray:
    """Return the hours of the operator's events on each day (their expectation if rng is None).

    Each day is an event day with probability events_per_year / 365.25, independently.
    """
    chance = min(float(terms.events_per_year) / DAYS_PER_YEAR, 1.0)
    hours = float(terms.event_hours)
    if rng is None:
        return np.full(n_days, chance * hours)
    return np.where(rng.random(n_days) < chance, hours, 0.0)


def draw_event_hours(terms, n_days: int, seed: int, replication: int,
                     deterministic: bool) -> np.ndarray:
    """Return the event hours by day of one replication, from its own stream (see module doc)."""
    rng = None if deterministic else rng_for(seed, replication, STREAM)
    return event_hours_by_day(terms, n_days, rng)


def enrolled_mw_by_day(enrolled_mw: float, mw_mining: np.ndarray) -> np.ndarray:
    """Return the MW enrolled on each day: the enrolment, capped by the MW of mining blocks."""
    return np.minimum(float(enrolled_mw), mw_mining)


def stopped_share(enrolled_mw: np.ndarray, mw_running: np.ndarray, mw_curtailed: np.ndarray,
                  event_hours: np.ndarray) -> np.ndarray:
    """Return the share of each day's running mining MW that the operator's events stop.

    The event calls the enrolled MW off for `event_hours`; MW already curtailed for price
    count first, so only `enrolled - curtailed` of the running MW stop, for that share of
    the day.
    """
    stopped_mw = np.clip(enrolled_mw - mw_curtailed, 0.0, mw_running)
    share = np.divide(stopped_mw, mw_running, out=np.zeros_like(mw_running), where=mw_running > 0)
    return share * event_hours / HOURS_PER_DAY


def capacity_payment_usd_per_day(enrolled_mw: np.ndarray, usd_per_mw_hour: float) -> np.ndarray:
    """Return the operator's payment for standing ready: enrolled MW · 24 h · price."""
    return enrolled_mw * HOURS_PER_DAY * float(usd_per_mw_hour)
