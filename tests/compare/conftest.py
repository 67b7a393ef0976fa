"""Synthetic run directories, written by hand so compare's tests never need the engine.

A synthetic site converts a share `c` of its 100 MW: the rest mines (revenue follows
the sampled BTC path, cost the power path), the converted share pays capex for six
months and then rent that follows the lease path. The sampled world depends only on
(seed, market), so runs with the same seed and market share worlds, as real runs do.
"""

from __future__ import annotations

import hashlib
import json
import zlib

import numpy as np
import pandas as pd
import pytest
import yaml

SHARES = {"stay_mining": 0.0, "phased": 0.5, "convert_all": 1.0, "threshold": 0.3,
          "build_to_suit": 0.2}
MONTHS = 36
MARKETS = {"default": 1.0, "glut": 0.6, "boom": 1.5}  # lease level per market


def _world(seed: int, market: str, replications: int):
    rng = np.random.default_rng([seed, zlib.crc32(market.encode())])
    lease_level = MARKETS.get(market.split("=")[-1], 1.0)
    steps = rng.normal(0, 0.12, size=(replications, MONTHS))
    btc = 90_000 * np.exp(np.cumsum(steps, axis=1))
    power = 40 * np.exp(rng.normal(0, 0.2, size=(replications, 1))
                        + rng.normal(0, 0.1, size=(replications, MONTHS)))
    lease = 120 * lease_level * np.exp(rng.normal(0, 0.25, size=(replications, 1))
                                       + rng.normal(0, 0.05, size=(replications, MONTHS)))
    gpu = 2.0 * np.exp(-0.25 * np.arange(MONTHS) / 12 + rng.normal(0, 0.05, (replications,
                                                                           MONTHS)))
    halving = np.where(rng.random(replications) < 0.8, rng.integers(300, 700, replications),
                       np.nan)
    return btc, power, lease, gpu, halving


def make_run(path, strategies=("stay_mining", "phased", "convert_all"), *, seed=1,
             replications=40, market=(), overrides=(), detail="monthly",
             status="complete", effects=None, noise_usd=2e6):
    """Write a synthetic, complete run directory at `path` and return `path`."""
    path.mkdir(parents=True, exist_ok=True)
    market_name = ", ".join(sorted(market)) or "default"
    btc, power, lease, gpu, halving = _world(seed, market_name, replications)
    months = pd.date_range("2027-01-01", periods=MONTHS, freq="MS")
    m = np.arange(MONTHS)
    discount = 1.1 ** (-m / 12)
    rows, flows, timeline = [], [], []
    for strategy in strategies:
        c = SHARES.get(strategy, 0.4)
        for o in overrides:
            if o.startswith(f"strategy.{strategy}.blocks_per_quarter="):
                c *= float(o.split("=")[1]) / 2
        rng = np.random.default_rng([seed, zlib.crc32(strategy.encode())])
        mining = (1 - c) * 8e6 * btc / 90_000
        power_cost = -(1 - c) * 100 * 730 * power
        capex = np.where(m < 6, -c * 700e6 / 6, 0.0) * np.ones((replications, 1))
        rent = np.where(m >= 6, 1.0, 0.0) * c * 77_000 * lease
        noise = rng.normal(0, noise_usd / MONTHS, size=(replications, MONTHS))
        extra = (effects or {}).get(strategy, 0.0) / MONTHS
        terminal = np.zeros((replications, MONTHS))
        terminal[:, -1] = c * 77_000 * lease[:, -1] * 12 * 8
        parts = {"mining_revenue": mining, "power_cost": power_cost,
                 "capex_conversion": capex, "hosting_rent": rent + noise + extra,
                 "terminal_value": terminal}
        net = sum(parts.values())
        for r in range(replications):
            rows.append({"strategy": strategy, "replication": r,
                         "npv_usd": float(net[r] @ discount), "irr": np.nan if c == 0 else
                         0.1 + float(rng.normal(0, 0.02)),
                         "payback_years": np.nan if c == 0 else 3 + float(rng.random()),
                         "peak_funding_usd": c * 700e6, "mw_converted": 100 * c,
                         "terminal_value_pv_usd": float(terminal[r] @ discount)})
        for category, usd in parts.items():
            flows.append(pd.DataFrame({
                "strategy": strategy, "replication": np.repeat(np.arange(replications),
                                                               MONTHS),
                "month": np.tile(months, replications), "category": category,
                "usd": usd.ravel()}))
        ramp = np.clip(m / 6, 0, 1) * 100 * c
        timeline.append(pd.DataFrame({
            "strategy": strategy, "replication": np.repeat(np.arange(replications), MONTHS),
            "month": np.tile(months, replications),
            "mw_mining": np.tile(100 * (1 - c) + 0 * m, replications),
            "mw_curtailed": 0.0, "mw_converting": np.tile(np.where(m < 6, 100 * c - ramp,
                                                                   0.0), replications),
            "mw_ready": 0.0, "mw_leased": np.tile(ramp, replications), "mw_cloud": 0.0}))
    pd.DataFrame(rows).to_parquet(path / "summary.parquet")
    if detail == "monthly":
        pd.concat(flows).to_parquet(path / "cashflows.parquet")
        pd.concat(timeline).to_parquet(path / "timeline.parquet")
    pd.DataFrame({"replication": np.arange(replications), "btc_usd_mean": btc.mean(1),
                  "hashprice_usd_per_ph_day_mean": btc.mean(1) / 2300,
                  "power_usd_per_mwh_mean": power.mean(1),
                  "lease_usd_per_kw_month_mean": lease.mean(1),
                  "gpu_usd_per_hour_trend_per_year": np.polyfit(m / 12, np.log(gpu).T, 1)[0],
                  "halving_day": halving}).to_parquet(path / "worlds.parquet")
    pd.DataFrame({"replication": np.repeat(np.arange(replications), MONTHS),
                  "month": np.tile(months, replications), "btc_usd": btc.ravel(),
                  "hashprice_usd_per_ph_day": btc.ravel() / 2300,
                  "power_usd_per_mwh": power.ravel(),
                  "lease_usd_per_kw_month": lease.ravel(),
                  "gpu_usd_per_hour": gpu.ravel()}).to_parquet(path / "world_monthly.parquet")
    key = hashlib.sha256(f"{seed}|{market_name}".encode()).hexdigest()[:16]
    (path / "run.json").write_text(json.dumps({
        "package_version": "0.1.0", "git_commit": None, "seed": seed,
        "replications": replications, "strategies": list(strategies), "world_key": key,
        "discount_rate": 0.1, "terminal_value": "contracted", "status": status,
        "started": "2027-01-01T00:00:00", "finished": "2027-01-01T00:01:00"}))
    (path / ".hydra").mkdir(exist_ok=True)
    config = {"run": {"seed": seed, "replications": replications},
              "strategy": {s: {"_target_": f"sim.strategies.{s}"} for s in strategies}}
    if "phased" in strategies:
        config["strategy"]["phased"]["blocks_per_quarter"] = 1
    (path / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    (path / ".hydra" / "overrides.yaml").write_text(
        yaml.safe_dump(list(market) + list(overrides)))
    return path


@pytest.fixture
def run_factory():
    """Return `make_run`, the writer of synthetic run directories."""
    return make_run


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """Return (run dir, Comparison) of one default synthetic run, compared once."""
    from sim.compare import compare_runs

    run = make_run(tmp_path_factory.mktemp("run") / "run")
    return run, compare_runs([run])
