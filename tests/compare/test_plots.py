"""The plots' labels and sizes: every world feature named in words, a tornado sized to its bars."""

import numpy as np
import pandas as pd
import pytest

import sim
from sim.compare.plots import FEATURES, feature_label, tornado
from sim.montecarlo import world_features


def test_every_feature_of_the_worlds_table_has_a_label_with_its_unit():
    cfg = sim.compose(["run.horizon_years=2"])
    features = set(world_features(sim.sample_world(cfg, replication=0))) - {"replication"}
    assert features <= set(FEATURES), features - set(FEATURES)
    assert all("_" not in feature_label(f) for f in features)
    # with its unit in brackets: "day of the next halving" left the reader to guess from when
    assert all(feature_label(f).endswith(")") for f in features), \
        [feature_label(f) for f in features if not feature_label(f).endswith(")")]
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


def test_the_mw_states_stack_to_the_site_in_every_month(tmp_path):
    """The states part the site's MW in every world, so their means stack to it exactly;
    their medians, drawn as lines, summed to 64-107 MW of a 100 MW site (an audit)."""
    from sim.compare.load import load_runs
    from sim.compare.pipeline import _timeline_means
    from sim.compare.plots import mw_states

    cfg = sim.compose(["run.replications=6", "run.horizon_years=2", "run.progress=false",
                       "run.compare=false", "run.detail=monthly", "run.executor=serial",
                       "strategy=[stay_mining,phased]"])
    result = sim.run(cfg)
    means = {label: frame for (_, label), frame in
             _timeline_means(load_runs([result.save(tmp_path / 'run')])).items()}
    for frame in means.values():
        assert frame.sum(axis=1).to_numpy() == pytest.approx(cfg.site.grid_mw, rel=1e-12)
    figure = mw_states(means, "Capacity by state", None)
    for ax in figure.axes[:len(means)]:
        top = max(collection.get_paths()[0].vertices[:, 1].max() for collection in ax.collections)
        assert top == pytest.approx(cfg.site.grid_mw, rel=1e-9)


def test_a_wide_dscr_fan_does_not_flatten_the_others():
    """Each panel has its own scale: phased's P95 near 6x set every panel's top, and
    convert_all's band lay squeezed against the 1.2x covenant (an audit of the report)."""
    import numpy as np

    from sim.compare.plots import dscr_fans

    rng = np.random.default_rng(3)
    months = pd.period_range("2027-01", periods=24, freq="M").astype(str)
    narrow = pd.DataFrame(1.5 + 0.1 * rng.standard_normal((50, 24)), columns=months)
    wide = pd.DataFrame(np.exp(1.2 + 0.6 * rng.standard_normal((50, 24))), columns=months)
    figure = dscr_fans({"convert_all": narrow, "phased": wide}, {"convert_all": 1.2, "phased": 1.2},
                       "Debt service cover ratio", None)
    (low, high), (_, wide_high) = figure.axes[0].get_ylim(), figure.axes[1].get_ylim()
    assert low == 0 and 1.5 < high < 2.0 and wide_high > 4  # each fan its own top


def test_the_paired_differences_count_whole_replications():
    """50 differences in 10 bins: the axis counting them read 2.5, 7.5 and 12.5
    replications (a sweep's report, hashpivot -m ... run.replications=50)."""
    from sim.compare.plots import differences

    rng = np.random.default_rng(5)
    diffs = {"convert_all − stay_mining": rng.normal(5e8, 3e8, 50),
             "phased − stay_mining": rng.normal(3e8, 1e8, 50)}
    figure = differences(diffs, "npv_usd", "Paired differences of NPV", None)
    for ax in figure.axes:
        ticks = ax.get_yticks()
        assert len(ticks) >= 3 and np.all(ticks == np.round(ticks)), ticks


def test_no_hatch_draws_a_line_a_reader_takes_for_a_bin_edge_or_a_median():
    """real_option's "++" drew vertical lines in its histogram's bars, which read as twice
    as many bins as convert_all's beside it on the same differences, and horizontal lines
    in its box beside the median."""
    from sim.compare.plots import HATCHES

    assert not any(set(hatch) & set("+|-") for hatch in HATCHES)
    assert len(set(HATCHES)) == len(HATCHES)  # still one of its own for each strategy


def test_the_regret_heat_map_writes_amounts_as_the_tables_do():
    """Its cells had three significant digits: a regret of $1,015.4M read 1.02e+03, and
    $66.0M read 66 beside 69.1 (a sweep's report)."""
    from sim.compare.plots import regret_heatmap

    regret = pd.DataFrame({"a": [1015.4e6, 66.0e6, 0.0], "b": [np.nan, 69.1e6, 0.0],
                           "max_regret": 0.0, "scenarios_missing": 0},
                          index=["stay_mining", "threshold", "convert_all"])
    figure = regret_heatmap(regret, "npv_usd", None)
    cells = [text.get_text() for text in figure.axes[0].texts]
    assert cells == ["1,015.4", "–", "66.0", "69.1", "0.0", "0.0"]
