"""The mining fleet's arithmetic: hashrate per MW, shrinkage by failures, ASIC prices.

A block of mining grid holds ASICs of one efficiency (J/TH). Machines fail at a yearly
rate; with `fleet.refresh=replace` the failed TH are bought back as they fail (a cost),
otherwise the fleet shrinks. New ASICs cost a number of days of hashprice per TH;
used ones sell at a share of that, less again the further they lag the newest machines.
The engine (salvage, upgrades) and the ledger (mining, buy-back, terminal resale) both
use this one copy.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from sim.economics import DAYS_PER_YEAR, frontier_j_per_th

@dataclass(frozen=True)
class FleetDecay:
    """How many of a fleet's machines still run: none lost if failures are replaced.

    Without replacement, a fleet whole on day s keeps exp(-f·(d - s)) of its machines on
    day d, for failure rate f per day. The record keeps mining MW in *fleet units*, MW
    times `weight(s)` = exp(f·s), so that one factor `share_alive(d)` = exp(-f·d) turns
    the fleet units of every tranche, whatever its day s, into MW still alive on day d.
    """

    failure_rate_per_day: float
    replace_failures: bool

    @property
    def decay_per_day(self) -> float:
        """Return the rate at which the fleet shrinks: 0 when failures are replaced."""
        return 0.0 if self.replace_failures else self.failure_rate_per_day

    def weight(self, since_day: float) -> float:
        """Return the factor turning MW of a fleet whole on `since_day` into fleet units."""
        return math.exp(self.decay_per_day * since_day)

    def share_alive(self, day: float) -> float:
        """Return the factor turning fleet units into MW of machines alive on `day`."""
        return math.exp(-self.decay_per_day * day)

    def share_alive_by_day(self, n_days: int) -> np.ndarray:
        """Return `share_alive` on each day 0 .. n_days - 1."""
        return np.exp(-self.decay_per_day * np.arange(n_days, dtype=float))

    def failed_th_per_day(self, th_running):
        """Return the TH/s that fail each day out of `th_running` (bought back if replaced)."""
        return self.failure_rate_per_day * th_running


class AsicPrices:
    """ASIC prices over one world: new machines follow hashprice, used ones their efficiency.

    `fleet` is the fleet config (`frontier_j_per_th` on `frontier_date`,
    `efficiency_gain_per_year`, `price_days_of_hashprice`, `resale_share`); `start_date`
    is day 0's date (the frontier is dated: the same law as the economic network's).
    """

    def __init__(self, fleet, hashprice_usd_per_ph_day: np.ndarray, start_date):
        self.fleet = fleet
        self.hashprice_usd_per_ph_day = hashprice_usd_per_ph_day
        self.frontier_years_at_day0 = _years_between(fleet.frontier_date, start_date)

    def new_usd_per_th(self, day: float) -> float:
        """Return the price of a new ASIC per TH/s on `day`."""
        hashprice = self.hashprice_usd_per_ph_day
        return float(self.fleet.price_days_of_hashprice
                     * hashprice[min(int(day), len(hashprice) - 1)] / 1000.0)

    def new_usd_per_th_by_day(self) -> np.ndarray:
        """Return `new_usd_per_th` on every day of the world."""
        return float(self.fleet.price_days_of_hashprice) * self.hashprice_usd_per_ph_day / 1000.0

    def frontier_j_per_th(self, day: float) -> float:
        """Return the efficiency of the newest machines on `day`."""
        fleet = self.fleet
        years = self.frontier_years_at_day0 + day / DAYS_PER_YEAR
        return float(frontier_j_per_th(float(fleet.frontier_j_per_th),
                                       fleet.efficiency_gain_per_year, years))

    def used_usd_per_th(self, j_per_th: float, day: float) -> float:
        """Return the resale price per TH/s of used machines of efficiency `j_per_th` on `day`."""
        return (self.new_usd_per_th(day) * self.fleet.resale_share
                * min(1.0, self.frontier_j_per_th(day) / j_per_th))


@functools.lru_cache(maxsize=64)
def _years_between(first_date, date) -> float:
    """Return the years (of DAYS_PER_YEAR) from `first_date` to `date`, both read as days
    (cached: every run of a grid asks the same; numpy's dates cost microseconds)."""
    return float((np.datetime64(date, "D") - np.datetime64(first_date, "D")).astype(int) / DAYS_PER_YEAR)


def book_alike(count: int, bookings: list[tuple[np.ndarray, int, float]]) -> None:
    """Add what one block books (`bookings`: cells, index, amount, in order) for `count` alike
    blocks, one block after the other; return nothing. Each cell gets its additions in the
    order that many single additions would make them, so its sum is the same, bit for bit
    (a site's blocks of one fleet are booked at once, whatever their number)."""
    if count == 1:
        for cells, index, amount in bookings:
            cells[index] += amount
        return
    steps: dict[tuple[int, int], tuple[np.ndarray, int, list[float]]] = {}
    for cells, index, amount in bookings:
        step = steps.get((id(cells), index))
        if step is None:
            steps[id(cells), index] = (cells, index, [float(amount)])
        else:
            step[2].append(float(amount))
    for cells, index, amounts in steps.values():
        if count * len(amounts) <= _FEW_ADDITIONS:  # as Python floats, one at a time
            total = cells.item(index)
            if len(amounts) == 1:
                amount, = amounts
                for _ in range(count):
                    total += amount
            else:
                for _ in range(count):
                    for amount in amounts:
                        total += amount
            cells[index] = total
            continue
        terms = np.empty(count * len(amounts) + 1)
        terms[0] = cells[index]
        terms[1:].reshape(count, len(amounts))[:] = amounts
        # accumulate adds one term at a time, left to right (unlike sum's pairwise order)
        cells[index] = np.add.accumulate(terms)[-1]


#: Up to this many additions to one cell, `book_alike` adds Python floats (numpy's setup
#: costs more); beyond, numpy's accumulate. Both add left to right: the same sum.
_FEW_ADDITIONS = 64
