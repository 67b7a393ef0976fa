"""The plots' labels and sizes: every world feature named in words, a tornado sized to its bars."""

import pandas as pd

import sim
from sim.compare.plots import FEATURES, feature_label, tornado
from sim.montecarlo import world_features


def test_every_feature_of_the_worlds_table_has_a_label_with_its_unit():
    cfg = sim.compose(["run.horizon_years=2"])
    features = set(world_features(sim.sample_world(cfg, replication=0))) - {"replication"}
    assert features <= set(FEATURES), features - set(FEATURES)
    assert all("_" not in feature_label(f) for f in features)
    assert feature_label("btc_usd_max") == "btc usd max"  # an unknown column, still in words


def test_the_tornado_spans_its_bars_not_minus_one_to_one():
    sens = pd.DataFrame({"strategy": "phased", "baseline": "stay_mining",
                         "feature": ["btc_usd_mean", "halving_day", "tenant_requests"],
                         "spearman_rho": [0.2, -0.1, 0.05]})
    figure = tornado(sens, "What drives it", None)
    ax = figure.axes[0]
    low, high = ax.get_xlim()
    assert high == -low and 0.2 < high <= 0.3
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == FEATURES["btc_usd_mean"]
    width, height = figure.get_size_inches()
    assert height < 2.5  # three bars: a short figure
