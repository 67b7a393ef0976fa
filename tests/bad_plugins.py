"""Plug-ins that break the World contract, or a strategy's, on purpose, to test the boundary checks."""

import numpy as np


class NaNPower:
    """Spot power with a NaN in it."""

    def __init__(self, **_):
        pass

    def sample(self, days, rng, upstream):
        """Return a power path with one NaN."""
        path = np.full(len(days), 40.0)
        path[100] = np.nan
        return {"power_usd_per_mwh": path}


class NegativeLease:
    """A lease index that goes negative."""

    def __init__(self, **_):
        pass

    def sample(self, days, rng, upstream):
        """Return a lease index that falls below zero."""
        return {"lease_usd_per_kw_month": 120.0 - days.astype(float),
                "gpu_usd_per_hour": np.full(len(days), 2.0)}


class ShortBTC:
    """A BTC path one day too short."""

    def __init__(self, **_):
        pass

    def sample(self, days, rng, upstream):
        """Return a BTC path of the wrong length."""
        return {"btc_usd": np.full(len(days) - 1, 90_000.0)}


class RaisingBTC:
    """A BTC process whose own code fails, in a helper of its sample."""

    def __init__(self, **_):
        pass

    def sample(self, days, rng, upstream):
        """Return nothing: its helper looks up a path the upstream does not hold."""
        return self._helper(upstream)

    @staticmethod
    def _helper(upstream):
        return {"btc_usd": upstream["no_such_path"]}


class PeekingStrategy:
    """A strategy that reads the BTC price a month after its decision day."""

    decide_every_months = 3
    use = "lease"

    def decide(self, day, view, site):
        return [] if view.at("btc_usd", day + 30) > 0 else []

    def on_request(self, request, view, site):
        return False


class IndexingStrategy(PeekingStrategy):
    """A strategy that indexes the BTC path a month after its decision day."""

    def decide(self, day, view, site):
        return [] if view.btc_usd[day + 30] > 0 else []


class RaisingStrategy(PeekingStrategy):
    """A strategy whose own code fails."""

    def decide(self, day, view, site):
        return 1 / 0


class BadActionStrategy(PeekingStrategy):
    """A strategy that returns something other than a list of actions."""

    def decide(self, day, view, site):
        return 42
