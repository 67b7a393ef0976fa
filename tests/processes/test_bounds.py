"""Every value a market process's rules allow, taken at the edges of its range, samples a
world, or is refused in one line (a UserError): no hang, no overflow, no memory blow-up.

Each numeric key of every shipped `conf/market/<group>/<option>.yaml` is set, alone, to
the highest value its rule allows and to its lowest (just above it where the range is
open); a two-year world is sampled for replication 0. A rate of events per year is capped
at one a day (`MOST_PER_YEAR`), a volatility or log standard deviation at 5 (`MOST_LOG_SD`)
and a spell's mean at a day (`LEAST_SPELL_YEARS`): above those, the draws hung or overflowed.
"""

import math

import numpy as np
import pytest

from history_files import HISTORY_FILES
from market_options import market_options
from sim.config import compose
from sim.config_checks import validate
from sim.config_objects import build_processes
from sim.errors import UserError
from sim.params import Number, keys
from sim.world import sample_world

SHORT = ["run.horizon_years=2", "run.progress=false"]


def edges(rule: Number) -> list:
    """Return the rule's lowest and highest allowed values (open ends nudged inside)."""
    values = []
    if rule.low is not None:
        values.append(math.nextafter(rule.low, math.inf) if rule.low_open else rule.low)
    if rule.high is not None:
        values.append(rule.high)
    return [int(math.ceil(v)) if rule.integer else v for v in values]


def cases():
    for path, _, cls in market_options():
        group, option = path.parent.name, path.stem
        choice = f"market/{group}={option}"
        base = [choice, *HISTORY_FILES.get(choice, []), *SHORT]  # a user's file: a synthetic one
        for key, meta in keys(cls):
            if isinstance(meta["rule"], Number):
                for value in edges(meta["rule"]):
                    yield pytest.param(base, f"market.{group}.{key}", value,
                                       id=f"{group}/{option}.{key}={value:g}")


@pytest.mark.slow
@pytest.mark.parametrize(("base", "key", "value"), list(cases()))
def test_a_value_at_the_edge_of_its_range_samples_or_is_refused_in_one_line(base, key, value):
    try:
        settings = validate(compose([*base, f"{key}={value!r}"]))
        world = sample_world(settings, 0)
    except UserError as err:  # refused, with or without the world: one line
        assert "\n" not in str(err) and str(err)
        return
    for name in world.daily_fields():
        assert np.isfinite(getattr(world, name)).all(), f"{name} is not finite with {key}={value}"


def test_a_rate_above_one_a_day_is_refused_when_the_process_is_built():
    """Before: a billion fee spikes a year drew for minutes, then ran out of memory."""
    settings = validate(compose(["market.network.fee_spikes_per_year=1e9", *SHORT]))
    with pytest.raises(UserError, match=r"^market\.network\.fee_spikes_per_year=1000000000: "
                                        r"must be in \[0, 365\.25\]$"):
        build_processes(settings)
