"""A user's own tenant-demand process, plugged into hashpivot without touching the package.

Tenants come more often when AI capacity is dear: the arrival rate follows the lease
index (a path sampled before demand), and deal sizes come from a menu of typical
hyperscaler blocks. Nothing here imports from hashpivot: a process is a plain class.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class LeaseLinkedDemand:
    """Tenant requests whose rate rises with the lease index; sizes from a fixed menu."""

    def __init__(self, base_rate_per_year: float = 2.0, reference_usd_per_kw_month: float = 120.0,
                 elasticity: float = 1.5, sizes_mw_it: tuple = (10.0, 25.0, 50.0),
                 size_weights: tuple = (0.5, 0.3, 0.2), term_days: float = 4383.0,
                 wait_days: float = 365.0):
        if base_rate_per_year < 0:
            raise ValueError(f"base_rate_per_year={base_rate_per_year!r} must be >= 0")
        if len(sizes_mw_it) != len(size_weights) or not np.isclose(sum(size_weights), 1.0):
            raise ValueError("size_weights must match sizes_mw_it and sum to 1")
        self.base_rate_per_year = base_rate_per_year
        self.reference_usd_per_kw_month = reference_usd_per_kw_month
        self.elasticity = elasticity
        self.sizes_mw_it = tuple(sizes_mw_it)
        self.size_weights = tuple(size_weights)
        self.term_days = term_days
        self.wait_days = wait_days

    def sample(self, days, rng, upstream):
        """Return {'tenant_requests': DataFrame} drawn from the lease-linked arrival rate."""
        lease = np.asarray(upstream["lease_usd_per_kw_month"])
        rate_per_day = (self.base_rate_per_year / 365.25
                        * (lease / self.reference_usd_per_kw_month) ** self.elasticity)
        if rng is None:  # run.deterministic: requests where the expected count crosses integers
            expected = np.cumsum(rate_per_day)
            arrivals = np.searchsorted(expected, np.arange(1, int(expected[-1]) + 1) - 0.5)
            mw_it = np.full(len(arrivals), float(np.dot(self.sizes_mw_it, self.size_weights)))
        else:
            arrivals = np.repeat(days, rng.poisson(rate_per_day))
            mw_it = rng.choice(self.sizes_mw_it, size=len(arrivals), p=self.size_weights)
        return {"tenant_requests": pd.DataFrame({
            "day": arrivals.astype(int),
            "mw_it": mw_it,
            "term_days": np.full(len(arrivals), float(self.term_days)),
            "usd_per_kw_month": lease[arrivals],
            "wait_days": np.full(len(arrivals), float(self.wait_days)),
        })}
