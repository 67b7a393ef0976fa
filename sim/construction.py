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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


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


@dataclass(eq=False)
class Project:
    """Blocks converted together by one crew, to `use`, for a tenant's `request` (None:
    speculative); `start_day` is None until a crew takes it."""

    blocks: list[int]
    use: str
    request: Any = None
    start_day: float | None = None
