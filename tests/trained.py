"""Strategies ready for the engine: each learning strategy (real_option) given its trained policy."""

from sim.config_checks import settings
from sim.config_objects import build_strategies
from sim.policies import trained, with_policies

#: Few training worlds, and tranches of 5 blocks (the small test sites convert a block per
#: project, which would make a tranche of every block): tests that run every strategy check
#: the engine, not the policy.
QUICK_TRAINING = ["strategy.real_option.training_replications=8", "strategy.real_option.tranche_blocks=5"]


def ready_strategies(cfg) -> dict:
    """Return the strategies of `cfg` by label, learning ones trained (as sim.run does first)."""
    checked = settings(cfg)
    return build_strategies(with_policies(checked, trained(cfg, checked)))
