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

import sim
from sim.compare import main as compare_main

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


#: The financing terms written into a synthetic run's config (the #10 data contract).
FINANCE = {"debt": {"loan_to_cost": 0.8, "rate": "fixed", "fixed_rate": 0.0775,
                    "spread": 0.0275, "amortisation": "sculpted", "term_years": 10,
                    "target_dscr": 1.3, "upfront_fee": 0.015},
           "equipment": {"loan_to_value": 0.0, "term_years": 3, "rate": 0.09},
           "covenant": {"min_dscr": 1.2, "cure": "sweep"}, "cost_of_equity": 0.15,
           "tax": {"federal_rate": 0.21, "state_rate": 0.05, "bonus_share": 0.4}}


def add_financing(path, debt=("phased", "convert_all"), *, seed=7, terms=FINANCE):
    """Give the synthetic run at `path` what a run with financing holds; return `path`.

    Strategies in `debt` borrow 80% of their capex: their summary gets a min DSCR spread
    around the covenant (some worlds breach it), equity figures that differ from the
    unlevered ones, a monthly trailing DSCR (NaN while building) and the financing cash
    categories; the others carry no debt (NaN DSCR, equity figures = unlevered ones).
    """
    summary = pd.read_parquet(path / "summary.parquet")
    columns = {c: np.full(len(summary), np.nan) for c in (
        "equity_npv_usd", "equity_irr", "min_dscr", "peak_equity_usd", "npv_after_tax_usd")}
    breached = np.zeros(len(summary), dtype=bool)
    timeline = pd.read_parquet(path / "timeline.parquet") \
        if (path / "timeline.parquet").is_file() else None
    flows = pd.read_parquet(path / "cashflows.parquet") \
        if (path / "cashflows.parquet").is_file() else None
    extra_flows, dscr = [], np.full(0 if timeline is None else len(timeline), np.nan)
    for strategy in dict.fromkeys(summary["strategy"]):
        rows = (summary["strategy"] == strategy).to_numpy()
        rng = np.random.default_rng([seed, zlib.crc32(strategy.encode())])
        n, npv = rows.sum(), summary.loc[rows, "npv_usd"].to_numpy()
        columns["npv_after_tax_usd"][rows] = 0.8 * npv
        if strategy not in debt:
            columns["equity_npv_usd"][rows] = npv
            columns["equity_irr"][rows] = summary.loc[rows, "irr"].to_numpy()
            columns["peak_equity_usd"][rows] = summary.loc[rows, "peak_funding_usd"]
            continue
        low = 1.0 + 0.6 * rng.random(n)  # the worst cover of each world
        columns["min_dscr"][rows] = low
        breached[rows] = low < terms["covenant"]["min_dscr"]
        columns["equity_npv_usd"][rows] = 1.2 * npv + rng.normal(0, 5e6, n)
        columns["equity_irr"][rows] = 0.19 + rng.normal(0, 0.03, n)
        columns["peak_equity_usd"][rows] = 0.2 * summary.loc[rows, "peak_funding_usd"]
        if timeline is not None:
            here = (timeline["strategy"] == strategy).to_numpy()
            month = timeline.loc[here, "month"].rank(method="dense").to_numpy() - 1
            lows = low[timeline.loc[here, "replication"].to_numpy()]
            dscr[here] = np.where(month < 6, np.nan, lows + 0.02 * (month - 6))
        if flows is not None:
            capex = flows[(flows["strategy"] == strategy)
                          & (flows["category"] == "capex_conversion")]
            for category, share in (("debt_draw", -0.8), ("interest", 0.05),
                                    ("principal", 0.1), ("fees", 0.01), ("tax", 0.02)):
                extra_flows.append(capex.assign(category=category, usd=share * capex["usd"]))
    summary = summary.assign(**columns, covenant_breached=breached)
    summary.to_parquet(path / "summary.parquet")
    if timeline is not None:
        timeline.assign(dscr=dscr).to_parquet(path / "timeline.parquet")
    if flows is not None:
        pd.concat([flows, *extra_flows], ignore_index=True).to_parquet(
            path / "cashflows.parquet")
    config_file = path / ".hydra" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config_file.write_text(yaml.safe_dump({**config, "finance": terms}))
    return path


@pytest.fixture(scope="module")
def financed(tmp_path_factory):
    """Return (run dir, Comparison) of a synthetic run with financing, compared once."""
    from sim.compare import compare_runs

    run = add_financing(make_run(tmp_path_factory.mktemp("run") / "run"))
    return run, compare_runs([run])


@pytest.fixture
def financing_factory():
    """Return `add_financing`, which gives a synthetic run what a financed run holds."""
    return add_financing


#: A real run small enough for the compare tests: two strategies, three years, six worlds.
REAL_RUN = ["run.replications=6", "run.horizon_years=3", "run.progress=false",
            "run.robustness.replications=0", "strategy=[stay_mining,convert_all]"]


@pytest.fixture(scope="session")
def real_run(tmp_path_factory):
    """Return (result, run_dir): a small real run in memory, and saved, then compared by
    `hashpivot-compare RUN_DIR --xlsx` (comparison.csv, report.html, comparison.xlsx)."""
    result = sim.run(sim.compose(REAL_RUN))
    run_dir = result.save(tmp_path_factory.mktemp("real") / "run")
    assert compare_main([str(run_dir), "--xlsx"]) == 0
    return result, run_dir
