# my_strategies.py
from sim.strategies import Convert, Strategy
from sim.view import trailing_mean


class LeaseTrigger(Strategy):
    """Each month, convert `blocks` more mining blocks for lease while the lease index's
    90-day mean is above `above` USD/kW/month."""

    decide_every_months = 1

    def __init__(self, above: float = 140.0, blocks: int = 2):
        self.above, self.blocks = above, blocks

    def decide(self, day, view, site):
        if site.blocks_mining and trailing_mean(view, "lease_usd_per_kw_month", 90) > self.above:
            return [Convert(min(self.blocks, site.blocks_mining), use="lease")]
        return []
