"""PRIM's question on a finished experiment's rows (sim.explore.analysis.discover)."""

import numpy as np
import pandas as pd

from sim.explore.analysis import discover


def _rows(points: int = 16, worlds: int = 10) -> pd.DataFrame:
    """Rows as sim.explore.run stores them: a lease start per point, a world feature per world."""
    rng = np.random.default_rng(4)
    lease = rng.uniform(100, 170, points)
    frames = []
    for strategy in ("stay_mining", "convert_all"):
        point, replication = np.repeat(np.arange(points), worlds), np.tile(np.arange(worlds), points)
        hashprice = 40 + 5 * np.sin(replication + 1.0)  # the same world at every point
        gain = (lease[point] - 140) * 1e6 + (45 - hashprice) * 1e6
        frames.append(pd.DataFrame({
            "point": point, "replication": replication, "strategy": strategy,
            "market.ai.lease_start_usd_per_kw_month": lease[point],
            "world.hashprice_usd_per_ph_day_mean": hashprice,
            "npv_usd": gain if strategy == "convert_all" else 0.0}))
    return pd.concat(frames, ignore_index=True)


def test_with_the_worlds_features_the_design_points_are_still_the_points():
    """Before: with --features each case (a world at a point) had its own feature values, so
    it counted as a design point: '30 of the 160 design points' in a 16-point experiment."""
    rows = _rows()
    found = discover(rows, ["market.ai.lease_start_usd_per_kw_month"], "npv_usd",
                     "convert_all", "stay_mining", features=True).discovery
    assert "world.hashprice_usd_per_ph_day_mean" in found.bounds
    assert found.points == 16
    box = np.ones(160, dtype=bool)
    cases = rows[rows["strategy"] == "convert_all"]
    for name, (low, high) in found.box.limits.items():
        box &= ((cases[name] >= low) & (cases[name] <= high)).to_numpy()
    assert found.box.points == cases[box]["point"].nunique() <= 16
