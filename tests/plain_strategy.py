"""A strategy plug-in as a plain class: no base class, no dataclass, its parameters those of `__init__`."""

from sim.strategies import Convert


class PlainPhased:
    """Convert `blocks_per_quarter` blocks every quarter, as sim.strategies.Phased does with
    max_share=1."""

    decide_every_months = 3

    def __init__(self, blocks_per_quarter=1, *args, use="lease", **kwargs):
        self.blocks_per_quarter = blocks_per_quarter
        self.use = use

    def decide(self, day, view, site):
        """Return this quarter's conversions, as many as are still mining."""
        blocks = min(self.blocks_per_quarter, site.blocks_mining)
        return [Convert(blocks, self.use)] if blocks else []


class PlainHidden(PlainPhased):
    """PlainPhased keeping its parameter under another name: a search reads its configured
    value from `__init__`'s default, not from an attribute of that name."""

    def __init__(self, blocks_per_quarter=2, use="lease"):
        super().__init__(use=use)
        del self.blocks_per_quarter
        self._per_quarter = blocks_per_quarter

    def decide(self, day, view, site):
        """Return this quarter's conversions, as many as are still mining."""
        blocks = min(self._per_quarter, site.blocks_mining)
        return [Convert(blocks, self.use)] if blocks else []
