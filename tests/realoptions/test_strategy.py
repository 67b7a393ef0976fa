"""The real_option strategy's features: read through sim.view's helpers, the same numbers as
reading the paths and the request table themselves."""

from types import SimpleNamespace

import numpy as np

import sim
from sim.config_checks import settings
from sim.realoptions.strategy import BLOCKS_PER_DAY, BLOCKS_PER_HALVING, features
from sim.view import MarketView, Past

SMALL = ["run.horizon_years=3", "site.blocks=4", "site.grid_mw=40", "run.detail=summary"]


def features_from_copies(view, site) -> np.ndarray:
    """Return the features as a strategy reads them from its views' copies (the general way)."""
    day = view.day
    height = float(view.block_height[-1])
    next_halving = (height // BLOCKS_PER_HALVING + 1) * BLOCKS_PER_HALVING
    requests = view.tenant_requests
    recent = requests["mw_it"].to_numpy(float)[requests["day"].to_numpy() > day - 365]
    return np.array([
        np.log(float(view.hashprice_usd_per_ph_day[-30:].mean())),
        float(view.lease_usd_per_kw_month[-1]),
        np.log(float(view.gpu_usd_per_hour[-1])),
        float(view.power_usd_per_mwh[-90:].mean()),
        (next_halving - height) / BLOCKS_PER_DAY,
        float(recent.sum()),
        float(site.tenants_waiting_mw_it),
    ])


def test_features_are_those_read_from_the_views_copies_bit_for_bit(compose_small):
    cfg = settings(compose_small(*SMALL))
    world = sim.sample_world(cfg, 0)
    site = SimpleNamespace(tenants_waiting_mw_it=12.5)
    request_days = world.tenant_requests["day"].to_numpy()
    assert len(request_days) > 2
    # every day near the start (short trailing windows) and around each request's window
    days = {*range(100), *(d + shift for d in request_days for shift in (-1, 0, 364, 365)),
            *range(0, world.n_days, 7)}
    past = Past(world)
    for day in sorted(d for d in days if 0 <= d < world.n_days):
        view = MarketView(world, day, past)
        fast, general = features(view, site), features_from_copies(view, site)
        assert fast.tobytes() == general.tobytes(), day
