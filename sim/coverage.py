"""How realised values sit in simulated ones: the share inside percentile bands, the
probability integral transform (PIT), and what a calibrated model would score on the same
values (each simulated path in turn taken for the real one)."""

from __future__ import annotations

import numpy as np

#: The percentile bands of the simulated values.
BANDS = (5, 25, 50, 75, 95)
PIT_BINS = 10
#: The P5–P95 coverage a start date is held to (calibration_null): of the real epochs'
#: difficulty conditional on the realised BTC path, and of the realised monthly hashprice.
TARGET_P5_P95 = 0.80
TARGET_HASHPRICE_P5_P95 = 0.85


def coverage(real: np.ndarray, simulated: np.ndarray) -> dict:
    """Return how real values sit in simulated ones: `simulated` has one row per real value
    and one column per replication. Keys: inside_p5_p95 and inside_p25_p75 (shares of the
    real values inside those percentile bands, ends included), pit (per value, the share of
    simulated values below it, ties counting half) and bands (rows of P5, P25, P50, P75, P95)."""
    real = np.asarray(real, dtype=float)
    simulated = np.asarray(simulated, dtype=float)
    bands = np.percentile(simulated, BANDS, axis=1).T
    pit = ((simulated < real[:, None]).mean(axis=1)
           + 0.5 * (simulated == real[:, None]).mean(axis=1))
    inside_90 = (bands[:, 0] <= real) & (real <= bands[:, 4])
    inside_50 = (bands[:, 1] <= real) & (real <= bands[:, 3])
    return {"inside_p5_p95": float(inside_90.mean()) if len(real) else float("nan"),
            "inside_p25_p75": float(inside_50.mean()) if len(real) else float("nan"),
            "pit": pit, "bands": bands}


def calibrated_coverage(simulated: np.ndarray) -> dict:
    """Return the coverage a calibrated model scores on the same values: each replication
    (column of `simulated`, one row per scored value) in turn stands for the real path and is
    scored against the bands of the others (leave one out). A calibrated model's real path
    is one more draw of its worlds, so these are the coverages such a model gets, with the
    same number of values, the same spacing and the same dependence between them (a path
    high in one epoch stays high in the next). Keys inside_p5_p95 and inside_p25_p75: one
    coverage per replication."""
    simulated = np.asarray(simulated, dtype=float)
    width = simulated.shape[1]
    inside = {"inside_p5_p95": np.empty(width), "inside_p25_p75": np.empty(width)}
    for j in range(width):
        scored = coverage(simulated[:, j], np.delete(simulated, j, axis=1))
        for key, shares in inside.items():
            shares[j] = scored[key]
    return inside


def rank_among(value: float, draws: np.ndarray) -> float:
    """Return the share of `draws` below `value`, ties counting half (a PIT of `value`)."""
    draws = np.asarray(draws, dtype=float)
    return float((draws < value).mean() + 0.5 * (draws == value).mean())


def calibration_null(real_coverage: dict, simulated: np.ndarray,
                     target: float = TARGET_P5_P95) -> dict:
    """Return how the real path's coverage compares with what a calibrated model scores
    (`calibrated_coverage` of `simulated`): the mean of its P5–P95 coverages, the share of
    them at or above `target`, the P10 and P90 of its P25–P75 coverages, and the rank of
    the real coverages among them (`rank_among`: near 0, worse than a calibrated model
    almost always does; for P25–P75 near 0 or 1, narrower or wider than it does)."""
    if not len(simulated):  # nothing scored: nothing to compare
        return dict.fromkeys(("calibrated_p5_p95_mean", "calibrated_p5_p95_at_target",
                              "calibrated_p25_p75_p10", "calibrated_p25_p75_p90",
                              "rank_p5_p95", "rank_p25_p75"), float("nan"))
    null = calibrated_coverage(simulated)
    wide, narrow = null["inside_p5_p95"], null["inside_p25_p75"]
    return {"calibrated_p5_p95_mean": float(wide.mean()),
            "calibrated_p5_p95_at_target": float((wide >= target - 1e-12).mean()),
            "calibrated_p25_p75_p10": float(np.percentile(narrow, 10)),
            "calibrated_p25_p75_p90": float(np.percentile(narrow, 90)),
            "rank_p5_p95": rank_among(real_coverage["inside_p5_p95"], wide),
            "rank_p25_p75": rank_among(real_coverage["inside_p25_p75"], narrow)}


def pit_histogram(pit: np.ndarray, bins: int = PIT_BINS) -> np.ndarray:
    """Return the shares of PIT values in `bins` equal bins of [0, 1] (flat if calibrated)."""
    counts, _ = np.histogram(np.clip(pit, 0, 1), bins=bins, range=(0.0, 1.0))
    return counts / max(len(pit), 1)
