"""Real options: when to act on an irreversible decision, valued from simulated paths."""

from sim.realoptions.lsm import LsmFit, StepRule, lsm_value, policy_value

__all__ = ["LsmFit", "StepRule", "lsm_value", "policy_value"]
