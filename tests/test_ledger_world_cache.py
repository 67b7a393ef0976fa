"""The ledger's answers kept on a world (`world._cache`: curtailed days, the last halving) are
never those of another world: a copy made with `dataclasses.replace` has a cache of its own."""

import dataclasses

import numpy as np

import sim
from sim.ledger import Account
from sim.site import simulate
from trained import ready_strategies


def test_a_world_copied_with_other_paths_is_accounted_on_its_own_paths(compose_small):
    cfg = compose_small("strategy=stay_mining", "run.horizon_years=3")
    world = sim.sample_world(cfg, 0)
    strategy, = ready_strategies(cfg).values()
    record = simulate(cfg, world, strategy)
    # half the hashprice (more days curtailed) and a subsidy that halves on day 500
    subsidy = np.where(np.arange(world.n_days) < 500, 3.125, 1.5625)
    paths = dict(hashprice_usd_per_ph_day=world.hashprice_usd_per_ph_day * 0.5, subsidy_btc=subsidy)
    alone = dataclasses.replace(world, **paths)  # copied before the original's cache is filled
    Account(cfg, world, record).summary()  # fills the original world's cache
    copied = dataclasses.replace(world, **paths)
    assert copied._cache is not world._cache and not copied._cache
    got, want = Account(cfg, copied, record), Account(cfg, alone, record)
    assert got.monthly.tobytes() == want.monthly.tobytes()
    assert got.curtailed_mwh == want.curtailed_mwh > Account(cfg, world, record).curtailed_mwh
    assert got._after_last_halving() == want._after_last_halving() == 500
