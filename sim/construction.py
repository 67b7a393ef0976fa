"""Construction capacity: conversion projects, the crews that build them, and when they finish.

A site converts blocks in *projects*. The blocks queued together (for one tenant, or by
one decision of the strategy) are cut, in order, into projects of at most
`site.blocks_per_project` blocks; a project holds one of the `site.crews` crews while
each of its blocks is decommissioned and retrofitted, and frees the crew when its last
block is ready. Crews take projects first come, first served.

To sign a tenant against halls not yet built, the site needs to know when they will
be ready. It does not look at its own random draws for that: like a developer quoting a
delivery date, it expects every project to take the median conversion time from the day
a crew takes it. `expected_finish_days` plays the crews forward under that rule.
"""

from __future__ import annotations

import heapq
import math
import weakref
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import simpy

from sim import distributions
from sim.memo import read_only
from sim.world import rng_for


def projects(blocks: Sequence[int], blocks_per_project: int) -> list[list[int]]:
    """Return `blocks` cut, in order, into projects of at most `blocks_per_project` blocks."""
    return [list(blocks[i:i + blocks_per_project]) for i in range(0, len(blocks), blocks_per_project)]


def project_count(blocks: int, blocks_per_project: int) -> int:
    """Return how many projects `blocks` blocks queued together make."""
    return -(-blocks // blocks_per_project)


def expected_finish_days(now: float, busy_finish_days: Sequence[float], waiting: int,
                         crews: int, duration_days: float, until_day: float = math.inf) -> list[float]:
    """Return the expected finish day of each of `waiting` queued projects, in queue order.

    `busy_finish_days` are the expected finish days of the projects that hold a crew now
    (at most `crews` of them); each queued project takes the first crew to come free
    (never before `now`) and keeps it `duration_days`. The days never fall along the
    queue, so the list stops at the first day after `until_day` (that one included).
    """
    free = sorted(max(now, day) for day in busy_finish_days)
    free += [now] * (crews - len(free))
    heapq.heapify(free)
    finish = []
    for _ in range(waiting):
        day = heapq.heappop(free) + duration_days
        finish.append(day)
        if day > until_day:
            break
        heapq.heappush(free, day)
    return finish


class Crews:
    """The site's `capacity` crews, taken first come, first served: `simpy.Resource`'s
    events, in its order, without its generic queues.

    `take` returns an event that succeeds when the caller has a crew (at once, if one is
    free and nobody waits); `give_back` frees a crew with an event that, once processed,
    hands it to the first project waiting. As with `simpy.Resource` (whose put queue is
    tried only at its head), only the project first in line is ever tried.
    """

    def __init__(self, env: simpy.Environment, capacity: int):
        self.env = env
        self.capacity = capacity
        self.busy = 0  # crews taken (Resource.users)
        self.line: deque[simpy.Event] = deque()  # projects waiting, first come first (Resource.put_queue)

    def take(self) -> simpy.Event:
        """Return the event of a crew taken for the caller (Resource.request)."""
        event = simpy.Event(self.env)
        self.line.append(event)
        self._hand_over()
        return event

    def give_back(self) -> None:
        """Free the caller's crew (Resource.release): the first waiting takes it once this
        release is processed, after the events already scheduled for now."""
        self.busy -= 1
        release = simpy.Event(self.env)
        release.callbacks.append(self._hand_over)
        release.succeed()

    def _hand_over(self, _release: simpy.Event | None = None) -> None:
        """Give a free crew, if any, to the first project waiting (Resource._trigger_put)."""
        if self.line and self.busy < self.capacity:
            self.busy += 1
            self.line.popleft().succeed()


@dataclass(eq=False)
class Project:
    """Blocks converted together by one crew, to `use`, for a tenant's `request` (None:
    speculative); `start_day` is None until a crew takes it."""

    blocks: list[int]
    use: str
    request: Any = None
    start_day: float | None = None


class SiteDraws(NamedTuple):
    """The site's own random draws in one world (read-only): per block, then per tenant request."""

    decommission_days: np.ndarray
    retrofit_days: np.ndarray
    capex_usd_per_mw_it: np.ndarray
    renewal_draws: np.ndarray       # (requests, options) uniforms: is each extension taken
    default_after_days: np.ndarray  # per request, days from its lease start to its default


#: The site's draws of each world, by what they depend on: every strategy run over a world
#: meets the same ones, so they are drawn once per world (and forgotten with it).
_DRAWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def site_draws(cfg, world, n_blocks: int, terms) -> SiteDraws:
    """Return the site's draws in `world` (`terms`: its sim.leases.LeaseTerms), made on first use."""
    conv = cfg.site.conversion
    specs = tuple(distributions.parse(spec) for spec in  # equal when of one kind and parameters
                  (conv.decommission_days, conv.retrofit_days, conv.capex_usd_per_mw_it))
    options = _renewal_options(world, terms)
    key = (int(cfg.run.seed), int(n_blocks), specs, terms.hazard_per_year(), options)
    drawn = _DRAWS.setdefault(world, {})
    if key not in drawn:
        drawn[key] = _draw(cfg, world, n_blocks, terms, options)
    return drawn[key]


def _renewal_options(world, terms) -> int:
    """Return how many renewal draws each tenant request of `world` has (`terms`: its
    sim.leases.LeaseTerms): one per option a lease can take before the horizon, its terms
    no shorter than the shortest request's (a tenant's requests read its first one's
    draws), and never fewer than 1 + n_days // 365, as many as were drawn before options
    were counted (so those stay the same numbers); at most one a day of the grid (a term
    under a day, which the config allows, would otherwise ask for millions)."""
    rows = world.tenant_request_rows()  # cached on the world: no pandas per strategy run
    shortest_term_days = min((row[2] for row in rows), default=math.inf)  # term_days
    options = min(terms.options_before(world.n_days, shortest_term_days), world.n_days + 1)
    return max(1 + int(world.n_days // 365), options)


def _draw(cfg, world, n: int, terms, options: int) -> SiteDraws:
    """Return the site's draws in `world` for `n` blocks and `options` renewal draws per
    request, read-only, from its own streams."""
    conv, det = cfg.site.conversion, world.deterministic
    rng = None if det else rng_for(cfg.run.seed, world.replication, "site")
    n_requests = len(world.tenant_requests)
    decommission_days = distributions.draw(conv.decommission_days, rng, n, det)
    retrofit_days = distributions.draw(conv.retrofit_days, rng, n, det)
    capex_usd_per_mw_it = distributions.draw(conv.capex_usd_per_mw_it, rng, n, det)
    yearly = 1 + int(world.n_days // 365)  # the first draws, one a year of the grid
    if det:
        renewal_draws = np.full((n_requests, options), 0.5)
    else:
        renewal_draws = rng.uniform(size=(n_requests, yearly))
        if options > yearly:  # terms under a year: the options past those, each request's
            # from its own stream, so that its draws do not depend on the requests after it
            extra = [rng_for(cfg.run.seed, world.replication, f"renewals {i}").uniform(size=options - yearly)
                     for i in range(n_requests)]
            renewal_draws = np.hstack([renewal_draws, np.array(extra).reshape(n_requests, -1)])
    default_after_days = terms.default_after_days(cfg.run.seed, world.replication, n_requests, det)
    draws = SiteDraws(decommission_days, retrofit_days, capex_usd_per_mw_it, renewal_draws,
                      default_after_days)
    read_only(*draws)
    return draws
