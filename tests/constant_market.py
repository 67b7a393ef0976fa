"""Market processes that hold every path constant: worlds whose outcomes a test can add up by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.economics import TWO_POW_32

#: Terms simple enough to check by hand, which the mechanism tests start from (and set what
#: they test on top): flat rent renewed at the index without limit, no tenant defaults,
#: one block a project, tenants signed for built halls only, one discount rate, and the
#: contracted terminal value. The defaults themselves are checked by tests/test_presets.py,
#: tests/test_baseline.py and tests/test_docs.py.
#: The flat market's ASIC frontier is the site's own fleet on day 0, improving 8% a year, so
#: that resale and upgrade checks read simply (the dated frontier is tested in test_fleet).
FLAT_FRONTIER = ["fleet.frontier_j_per_th=17.5", "fleet.frontier_date=2026-06-26",
                 "fleet.efficiency_gain_per_year=0.08"]
SIMPLE_TERMS = ["site.hosting.escalator_per_year=0", "site.hosting.extensions=null",
                "site.hosting.extension_years=null", "site.hosting.default_probability_per_year=0",
                "site.blocks_per_project=1", "site.sign_converting=false",
                "run.discount_rates.contracted=null", "run.terminal_value=contracted"]


class ConstantBTC:
    """BTC at a fixed price."""

    def __init__(self, usd: float):
        self.usd = usd

    def sample(self, days, rng, upstream):
        """Return a flat BTC price."""
        return {"btc_usd": np.full(len(days), float(self.usd))}


class ConstantNetwork:
    """A network whose difficulty gives a chosen hashprice, at a fixed height and no fees."""

    def __init__(self, hashprice_usd_per_ph_day: float, height: int = 900_000):
        self.hashprice_usd_per_ph_day = hashprice_usd_per_ph_day
        self.height = height

    def sample(self, days, rng, upstream):
        """Return flat network paths: difficulty solved from the hashprice formula."""
        n = len(days)
        subsidy = (5_000_000_000 >> (self.height // 210_000)) / 1e8
        btc = float(upstream["btc_usd"][0])
        difficulty = 86_400 * 1e15 * subsidy * btc / (self.hashprice_usd_per_ph_day * TWO_POW_32)
        hashrate_ehs = difficulty * TWO_POW_32 / 600 / 1e18
        return {
            "network_hashrate_ehs": np.full(n, hashrate_ehs),
            "difficulty": np.full(n, difficulty),
            "block_height": np.full(n, float(self.height)),
            "subsidy_btc": np.full(n, subsidy),
            "fees_btc_per_block": np.zeros(n),
            "epochs": pd.DataFrame({"start_day": [0], "end_day": [n], "start_height": [self.height],
                                    "difficulty": [difficulty]}),
        }


class ConstantPower:
    """Spot power at a fixed price."""

    def __init__(self, usd_per_mwh: float):
        self.usd_per_mwh = usd_per_mwh

    def sample(self, days, rng, upstream):
        """Return a flat spot price."""
        return {"power_usd_per_mwh": np.full(len(days), float(self.usd_per_mwh))}


class ConstantAI:
    """A flat lease index and GPU rental price."""

    def __init__(self, lease_usd_per_kw_month: float, gpu_usd_per_hour: float):
        self.lease_usd_per_kw_month = lease_usd_per_kw_month
        self.gpu_usd_per_hour = gpu_usd_per_hour

    def sample(self, days, rng, upstream):
        """Return flat AI prices."""
        n = len(days)
        return {"lease_usd_per_kw_month": np.full(n, float(self.lease_usd_per_kw_month)),
                "gpu_usd_per_hour": np.full(n, float(self.gpu_usd_per_hour))}


class SteppedAI(ConstantAI):
    """A flat lease index that steps to `later_usd_per_kw_month` on `step_day`."""

    def __init__(self, lease_usd_per_kw_month: float, gpu_usd_per_hour: float,
                 later_usd_per_kw_month: float, step_day: int):
        super().__init__(lease_usd_per_kw_month, gpu_usd_per_hour)
        self.later_usd_per_kw_month, self.step_day = later_usd_per_kw_month, step_day

    def sample(self, days, rng, upstream):
        """Return the flat prices, the lease index stepped."""
        out = super().sample(days, rng, upstream)
        out["lease_usd_per_kw_month"][self.step_day:] = float(self.later_usd_per_kw_month)
        return out


class ListedRequests:
    """Tenant requests given in full: (day, mw_it, term_days, usd_per_kw_month, wait_days),
    optionally followed by (min_share, phased), or (min_share, phased, commence_days), when
    every row has them."""

    def __init__(self, requests: list):
        self.requests = requests

    def sample(self, days, rng, upstream):
        """Return the listed requests as the tenant table."""
        columns = ["day", "mw_it", "term_days", "usd_per_kw_month", "wait_days"]
        optional = ["min_share", "phased", "commence_days"]
        for extra in (2, 3):
            if self.requests and all(len(r) == 5 + extra for r in self.requests):
                columns += optional[:extra]
        return {"tenant_requests": pd.DataFrame([list(r) for r in self.requests], columns=columns)}
