"""The report's inputs that the pipeline prepares: each strategy's mean MW by state and month."""

import numpy as np
import pandas as pd

from sim.compare.load import load_runs
from sim.compare.pipeline import _timeline_means
from sim.compare.plots import MW_STATES


def _noisy(run, seed):
    """Give `run`'s timeline MW that differ between replications (the synthetic ones do not)."""
    frame = pd.read_parquet(run / "timeline.parquet")
    rng = np.random.default_rng(seed)
    frame[MW_STATES] = frame[MW_STATES] + rng.uniform(0, 5, size=(len(frame), len(MW_STATES)))
    frame.sample(frac=1.0, random_state=seed).to_parquet(run / "timeline.parquet")
    return run


def test_mean_mw_by_state_is_each_labels_months_mean(tmp_path, run_factory):
    runs = [_noisy(run_factory(tmp_path / "base", ("stay_mining", "phased")), 1),
            _noisy(run_factory(tmp_path / "glut", ("phased", "convert_all"),
                               market=("market/ai=glut",)), 2)]
    runset = load_runs(runs)
    means = _timeline_means(runset)
    pairs = runset.summary[["scenario", "label", "run", "strategy"]].drop_duplicates()
    assert set(means) == set(zip(pairs["scenario"], pairs["label"])) and len(means) == 4
    for scenario, label, index, strategy in pairs.itertuples(index=False):
        frame = pd.read_parquet(runs[index] / "timeline.parquet")
        mine = frame[frame["strategy"] == strategy]
        for month, rows in mine.groupby("month"):
            expected = [np.mean(rows[state].to_numpy()) for state in MW_STATES]
            np.testing.assert_allclose(means[(scenario, label)].loc[month, MW_STATES], expected,
                                       rtol=1e-12)
        assert means[(scenario, label)].index.name == "month"
    only = _timeline_means(runset.only(["phased"]))
    assert set(only) == {key for key in means if key[1].startswith("phased")}
    for key, frame in only.items():
        pd.testing.assert_frame_equal(frame, means[key], check_exact=True)
