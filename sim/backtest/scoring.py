"""Running and scoring a backtest: the worlds of a network option started on each past date
from that day's state (`simulate`), and where every real epoch's difficulty and every month
start's realised hashprice falls in their simulated distribution of that day (`backtest`:
the share inside the P5–P95 and P25–P75 bands, the PIT and the calibration null).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.backtest.history import fitted_btc, realised_epochs, realised_hashprice, start_state
from sim.btc_closes import btc_path
from sim.config import compose
from sim.config_objects import instantiate
from sim.coverage import BANDS, TARGET_HASHPRICE_P5_P95, calibration_null, coverage
from sim.economics import hashprice_usd_per_ph_day
from sim.errors import UserError
from sim.world import day_grid, rng_for

#: The day-0 keys a network option must take to be backtested (`start_state` gives more:
#: those an option lacks, such as the time since the epoch's first block, are left out).
REQUIRED_STATE = ("start_height", "start_difficulty")
#: The network keys the backtest sets from the history on each start date (`start_state`).
STATE_KEYS = (*REQUIRED_STATE, "start_epoch_elapsed_days", "start_hashrate_ehs")


def simulate(start: str, years: float, replications: int, seed: int, option: str,
             overrides: list[str], closes: pd.Series, replay: bool, btc_option: str,
             source: str, btc_params: dict | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """Return the simulated daily difficulty and hashprice (USD/PH/day), one row per
    replication, from `start`, and the network's base fees (BTC per block). `btc_params`
    (`fitted_btc`), if given, set the keys of the sampled BTC option."""
    day, date = day_grid(start, years)
    realised = btc_path(closes, start, len(day), source) if replay else None
    state = start_state(start)
    takes = compose([f"market/network={option}"]).market.network
    lacking = [k for k in REQUIRED_STATE if k not in takes]
    if lacking:
        raise UserError(f"--network={option}: the option has no {', '.join(lacking)}, which the "
                        "backtest sets from the history on each start date")
    keys = [f"market.network.{k}={v!r}" for k, v in state.items() if k in takes]
    start_usd = float(btc_path(closes, start, 1, source, "day 0")[0])
    cfg = compose([f"market/network={option}", f"market/btc={btc_option}",
                   f"market.btc.start_usd={start_usd!r}",
                   *keys, *map(network_override, overrides),
                   *(f"market.btc.{k}={_override_value(v)}"
                     for k, v in (btc_params or {}).items())])
    history_only_before(cfg.market.network, start)
    if not replay:
        history_only_before(cfg.market.btc, start, source)
    network = instantiate(cfg.market.network, "market.network")
    btc = instantiate(cfg.market.btc, "market.btc")
    paths = np.empty((replications, len(day)))
    hashprices = np.empty((replications, len(day)))
    upstreams = [{"day": day, "date": date} for _ in range(replications)]
    for k, upstream in enumerate(upstreams):
        upstream["btc_usd"] = (realised if replay else
                               btc.sample(day, rng_for(seed, k, "btc"), upstream)["btc_usd"])
    rngs = [rng_for(seed, k, "network") for k in range(replications)]
    outs = (network.sample_batch(day, rngs, upstreams) if hasattr(network, "sample_batch")
            else [network.sample(day, rng, upstream) for rng, upstream in zip(rngs, upstreams)])
    for k, (out, upstream) in enumerate(zip(outs, upstreams)):
        paths[k] = out["difficulty"]
        hashprices[k] = hashprice_usd_per_ph_day(out["subsidy_btc"], out["fees_btc_per_block"],
                                                 upstream["btc_usd"], out["difficulty"])
    return paths, hashprices, float(network.fees_btc_per_block)


def network_override(text: str) -> str:
    """Return `--set`'s KEY=VALUE as the Hydra override of the network option's key, its
    sign kept in front: +KEY=VALUE adds a plug-in's extra argument, ~KEY deletes a key."""
    sign = text[:len(text) - len(text.lstrip("+~"))]
    return f"{sign}market.network.{text[len(sign):]}"


def check_sets(option: str, overrides: list[str]) -> None:
    """Raise UserError, naming the `--set`, at one of the network option's keys that the
    backtest sets from the history, or that the option lacks (a plug-in's extra argument
    takes --set +KEY=VALUE, as `hashpivot` takes +market.network.KEY=VALUE), or that a
    + would add twice; then in Hydra's line at any other it refuses: all before the work."""
    takes = compose([f"market/network={option}"]).market.network
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key in STATE_KEYS:
            raise UserError(f"--set={override}: the backtest sets {key} from the history "
                            "on each start date (the day's state is what it judges from)")
        has = key.split(".")[0] in takes
        if override[:1] not in "+~" and not has:
            raise UserError(f"--set={override}: market/network={option} has no key {key} "
                            f"(check the spelling; a plug-in's extra argument takes "
                            f"--set +{key}=...)")
        if override.startswith("+") and not override.startswith("++") and has:
            raise UserError(f"--set={override}: market/network={option} has {key} already; "
                            f"set it with --set {override[1:]} (+ adds a key it lacks)")
    compose([f"market/network={option}", *map(network_override, overrides)])


def _override_value(value) -> str:
    """Return `value` (a number or a bool) as a Hydra override reads it back exactly."""
    return str(value).lower() if isinstance(value, bool) else repr(float(value))


def history_only_before(process_cfg, start: str, source: str | None = None) -> None:
    """Make a history-driven option (one with an `until` key, such as market/btc=bootstrap
    or market/network=bootstrap) read its history up to the day before `start`, from the
    file `source` if given: no world draws on history from after its start."""
    if "until" in process_cfg:
        process_cfg.until = str(np.datetime64(start, "D") - 1)
        if source is not None and "file" in process_cfg:
            process_cfg.file = str(source)


def _scored(start: str, option: str, day: np.ndarray, at: np.ndarray, real: np.ndarray,
            paths: np.ndarray, name: str) -> tuple[dict, pd.DataFrame]:
    """Return (the coverage of the `real` values by the simulated `paths` (one row per
    replication) on the days `at`, one row per value: start, network, day, date (of `at`),
    real_<name>, the bands P5..P95 and the PIT)."""
    scored = coverage(real, paths[:, at].T)
    table = pd.concat([pd.DataFrame({
        "start": start, "network": option, "day": day,
        "date": np.datetime64(start, "D") + at, f"real_{name}": real}),
        pd.DataFrame(scored["bands"], columns=[f"p{b}" for b in BANDS]),
        pd.DataFrame({"pit": scored["pit"]})], axis=1)
    return scored, table


def backtest(starts, years, replications, seed, option, overrides, closes, replay,
             btc_option="gbm", source="btc.csv",
             fit_btc: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (one coverage row per start date, one row per scored real epoch, one row per
    scored month). A coverage row has the real epochs' coverage by the simulated
    difficulty, the median log(real / simulated median), how that coverage compares with
    what a calibrated model scores on the same epochs (`calibration_null`), the realised monthly
    hashprice's P5–P95 and P25–P75 coverage (base fees assumed; on the first day of each
    month after day 0, whose hashprice every world starts from) and its calibration null
    (hashprice_calibrated_*, hashprice_rank_*). With `fit_btc`, the
    sampled BTC option's parameters are fitted on the closes before each start
    (`fitted_btc`) and the row gives them as `btc_<key>`, with their standard errors as
    `btc_<key>_se`."""
    rows, epochs, months = [], [], []
    for start in starts:
        fitted, errors = fitted_btc(closes, start, btc_option, source) if fit_btc else ({}, {})
        simulated, hashprices, fees = simulate(start, years, replications, seed, option,
                                               overrides, closes, replay, btc_option, source,
                                               fitted)
        month = realised_hashprice(start, simulated.shape[1], closes, fees, source=source)
        month = month[month["day"] > 0]  # day 0's hashprice is the start's: known, not scored
        first_days = month["day"].to_numpy()
        monthly, table = _scored(start, option, first_days, first_days,
                                 month["hashprice"].to_numpy(), hashprices, "hashprice")
        monthly_null = calibration_null(monthly, hashprices[:, first_days].T,
                                        TARGET_HASHPRICE_P5_P95)
        months.append(table)
        real = realised_epochs(start, simulated.shape[1])
        at = np.minimum(real["day"].to_numpy().astype(int), simulated.shape[1] - 1)
        scored, table = _scored(start, option, real["day"].to_numpy(), at,
                                real["difficulty"].to_numpy(), simulated, "difficulty")
        epochs.append(table)
        rows.append({"start": start, "network": option, "epochs": len(real),
                     "inside_p5_p95": scored["inside_p5_p95"],
                     "inside_p25_p75": scored["inside_p25_p75"],
                     "median_log_error": float(np.median(np.log(
                         real["difficulty"].to_numpy() / table["p50"].to_numpy())))
                     if len(real) else float("nan"),
                     **calibration_null(scored, simulated[:, at].T),
                     "months": len(month),
                     "hashprice_inside_p5_p95": monthly["inside_p5_p95"],
                     "hashprice_inside_p25_p75": monthly["inside_p25_p75"],
                     **{f"hashprice_{k}": v for k, v in monthly_null.items()},
                     **{f"btc_{k}": v for k, v in fitted.items() if not isinstance(v, bool)},
                     **{f"btc_{k}_se": v for k, v in errors.items()}})
    return (pd.DataFrame(rows), pd.concat(epochs, ignore_index=True),
            pd.concat(months, ignore_index=True))
