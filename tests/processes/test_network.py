"""The Bitcoin network process against independent truth: real retargets, the supply
schedule, and the arithmetic of constant-hashrate epochs (the formulas themselves:
tests/test_economics.py)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.economics import retarget, subsidy_sats
from sim.errors import UserError
from sim.processes import network
from sim.processes.network import Network, issued_btc, load_difficulty_epochs
from sim.world import PROCESS_FIELDS, day_grid, validate_output

DAY, DATE = day_grid("2027-01-01", 10)


def flat_btc(usd=90_000.0, n=len(DAY)):
    return {"day": np.arange(n), "btc_usd": np.full(n, usd)}


def constant_network(**overrides):
    args = dict(start_height=985_824, hashrate_trend_per_year=0.0, elasticity_per_year=0.0,
                hashrate_volatility_per_year=0.0, fee_spikes_per_year=0.0)
    return Network(**{**args, **overrides})


# --- retarget --------------------------------------------------------------------------------
def history_errors(correct_off_by_one: bool) -> np.ndarray:
    epochs = load_difficulty_epochs()
    duration_s = np.diff(epochs["timestamp"].to_numpy()).astype(float)  # 2016 intervals
    if correct_off_by_one:
        duration_s *= 2015 / 2016  # Core measures first to last block: 2015 intervals
    difficulty = epochs["difficulty"].to_numpy()
    predicted = retarget(difficulty[:-1], duration_s)
    keep = epochs["height"].to_numpy()[:-1] >= 100_000
    return (predicted / difficulty[1:] - 1)[keep]


def test_retarget_predicts_every_real_epoch_since_height_100000():
    errors = history_errors(correct_off_by_one=True)
    assert len(errors) > 400
    assert np.max(np.abs(errors)) < 0.005
    assert abs(np.mean(errors)) < 1e-4


def test_without_the_off_by_one_correction_retargets_are_biased_low():
    biased = np.mean(history_errors(correct_off_by_one=False))
    assert biased == pytest.approx(-0.0005, abs=0.0002)  # one interval in 2016 ≈ -0.05%
    assert abs(np.mean(history_errors(correct_off_by_one=True))) < abs(biased) / 10


def test_the_epoch_loop_retargets_with_the_function_checked_against_history(monkeypatch):
    calls = []

    def spy(difficulty, actual_timespan_s):
        calls.append((difficulty, actual_timespan_s))
        return retarget(difficulty, actual_timespan_s)

    monkeypatch.setattr(network, "retarget", spy)
    out = constant_network(hashrate_trend_per_year=0.3).sample(np.arange(120), None,
                                                                flat_btc(n=120))
    epochs = out["epochs"]
    assert len(calls) == len(epochs) > 5  # one retarget per epoch, the last one past the grid
    assert all(actual < 1_209_600 for _, actual in calls[1:])  # a growing hashrate: short epochs
    assert list(epochs["difficulty"].iloc[1:]) == [retarget(*call) for call in calls[:-1]]


def test_loader_reads_the_shipped_copy_of_the_real_epochs():
    epochs = load_difficulty_epochs()
    assert list(epochs.columns) == ["height", "timestamp", "difficulty"]
    assert (epochs["height"] % 2016 == 0).all() and epochs["height"].is_monotonic_increasing
    assert epochs.loc[epochs["height"] == 0, "difficulty"].item() == 1


# --- subsidy ---------------------------------------------------------------------------------
def test_subsidy_is_zero_after_64_halvings_and_the_supply_is_bitcoins():
    assert subsidy_sats(64 * 210_000) == 0 and subsidy_sats(10**12) == 0
    eras = subsidy_sats(np.arange(64) * 210_000)
    assert int(eras.sum()) * 210_000 == 2_099_999_997_690_000  # total satoshis ever issued
    assert issued_btc(64 * 210_000) == pytest.approx(20_999_999.9769)


# --- sampled network -------------------------------------------------------------------------
def test_constant_hashrate_epochs_average_14_days_with_level_difficulty():
    n_days = 36_525  # a century: about 2,600 epochs
    difficulty = 1.6e14
    out = constant_network(start_difficulty=difficulty).sample(
        np.arange(n_days), np.random.default_rng(np.random.SeedSequence(11)), flat_btc(n=n_days))
    epochs = out["epochs"]
    assert np.ptp(out["network_hashrate_ehs"]) == 0
    mean_days = (epochs["end_day"].iloc[-1] - epochs["start_day"].iloc[0]) / len(epochs)
    assert mean_days == pytest.approx(14.0, rel=0.005)
    levels = epochs["difficulty"].to_numpy()[1:]
    assert levels.mean() == pytest.approx(difficulty, rel=0.003)
    assert levels.std() / levels.mean() == pytest.approx(1 / np.sqrt(2015), rel=0.1)  # ±2.2%


def test_deterministic_constant_hashrate_retargets_once_by_2016_over_2015():
    out = constant_network(start_difficulty=1.6e14).sample(DAY, None, flat_btc())
    np.testing.assert_allclose(out["epochs"]["difficulty"].to_numpy()[1:], 1.6e14 * 2016 / 2015)
    spans = np.diff(out["epochs"]["start_day"].to_numpy())
    assert set(spans) <= {14, 15}


def test_deterministic_halving_lands_in_april_2028_where_the_blocks_put_it():
    upstream = {"day": DAY, "date": DATE, "btc_usd": np.full(len(DAY), 90_000.0)}
    out = Network().sample(DAY, None, upstream)
    height, subsidy = out["block_height"], out["subsidy_btc"]
    assert height[0] == 984_000
    day = int(np.argmax(height >= 1_050_000))
    assert np.datetime64("2028-03-15") <= DATE[day] <= np.datetime64("2028-05-15")
    assert subsidy[day - 2] == 3.125 and subsidy[day + 1] == 1.5625
    assert 1.5625 <= subsidy[day - 1] <= 3.125  # the halving day mixes the two


def test_days_agree_with_the_epochs_table():
    rng = np.random.default_rng(np.random.SeedSequence(3))
    out = Network().sample(DAY, rng, {"btc_usd": 90_000 * np.exp(0.01 * np.arange(len(DAY)) / 365)})
    epochs = out["epochs"]
    assert epochs["start_height"].iloc[0] == 984_000 - 984_000 % 2016
    assert (np.diff(epochs["start_height"]) == 2016).all()
    assert (epochs["start_day"].iloc[1:].to_numpy() == epochs["end_day"].iloc[:-1].to_numpy()).all()
    assert epochs["end_day"].iloc[-1] >= len(DAY) - 1
    for row in epochs.iloc[1:-1].itertuples():
        assert out["difficulty"][row.start_day] == row.difficulty
        height = out["block_height"]
        assert height[row.start_day] <= row.start_height <= height[row.start_day + 1]


def test_output_is_exactly_the_network_fields_and_valid():
    rng = np.random.default_rng(np.random.SeedSequence(4))
    out = Network().sample(DAY, rng, {"btc_usd": np.full(len(DAY), 90_000.0)})
    checked = validate_output(out, PROCESS_FIELDS["network"], len(DAY), "network")
    assert isinstance(checked["epochs"], pd.DataFrame)


def test_hashrate_falls_when_bitcoin_is_cheaper_but_not_without_elasticity():
    def hashrate_at_two_years(usd, elasticity):
        network = Network(elasticity_per_year=elasticity, hashprice_ref_usd_per_ph_day=35.0)
        return network.sample(DAY, None, flat_btc(usd))["network_hashrate_ehs"][730]

    assert hashrate_at_two_years(45_000.0, 0.5) < 0.8 * hashrate_at_two_years(90_000.0, 0.5)
    assert hashrate_at_two_years(45_000.0, 0.0) == hashrate_at_two_years(90_000.0, 0.0)


def test_a_price_crash_drains_hashrate_no_faster_than_the_cap():
    btc = np.where(DAY < 100, 90_000.0, 9.0)  # mining stops paying on day 100
    network = Network(elasticity_per_year=5.0, hashrate_volatility_per_year=0.0,
                      max_drift_per_year=4.0)
    out = network.sample(DAY, None, {"btc_usd": btc})
    daily_change = np.diff(np.log(out["network_hashrate_ehs"]))
    assert daily_change.min() == pytest.approx(-4.0 / 365.25)
    assert out["network_hashrate_ehs"][-1] < 0.01 * out["network_hashrate_ehs"][0]
    epochs = out["epochs"]
    assert epochs["difficulty"].iloc[-1] < 0.01 * epochs["difficulty"].iloc[0]  # retargets follow
    assert 14.0 < len(DAY) / len(epochs) < 16.0  # each epoch a little long: hashrate is falling


def test_same_seed_same_network_and_fee_spikes_raise_fees():
    upstream = flat_btc()
    network = Network(fee_spikes_per_year=5.0)
    a = network.sample(DAY, np.random.default_rng(np.random.SeedSequence(7)), upstream)
    b = network.sample(DAY, np.random.default_rng(np.random.SeedSequence(7)), upstream)
    np.testing.assert_array_equal(a["network_hashrate_ehs"], b["network_hashrate_ehs"])
    pd.testing.assert_frame_equal(a["epochs"], b["epochs"])
    assert a["fees_btc_per_block"].min() > 0 and a["fees_btc_per_block"].mean() > 0.025


def test_the_base_case_fees_are_the_mean_of_the_sampled_fees():
    """The base case took the base fees alone, leaving out the spikes' expected uplift (a
    known weakness). Its fees are now the closed form of their mean (Campbell's theorem,
    `expected_spike_factor`): 0.025 BTC on day 0's eve, rising to 0.025 x exp(λ m (E[M] - 1))
    = 0.025 x exp(0.3 / 365.25 x 45 x (4 e^0.32 - 1)) = 0.0295 BTC; checked against the
    mean of 20,000 sampled paths within four standard errors on days 0, 30, 120 and 599."""
    network = Network()  # the defaults: 0.3 episodes a year of 45 days, x4 median, sigma 0.8
    n_days = 600
    expected = network.sample_fees(n_days, None)
    assert expected[0] == pytest.approx(0.025 * np.exp(0.3 / 365.25 * 45 * (4 * np.exp(0.32) - 1)
                                                       * (1 - np.exp(-1 / 45))), rel=1e-12)
    assert expected[-1] == pytest.approx(0.025 * np.exp(0.3 / 365.25 * 45 * (4 * np.exp(0.32) - 1)),
                                         rel=1e-5)
    rng = np.random.default_rng(np.random.SeedSequence(11))
    paths = np.array([network.sample_fees(n_days, rng) for _ in range(20_000)])
    for day in (0, 30, 120, 599):
        mean, error = paths[:, day].mean(), paths[:, day].std() / np.sqrt(len(paths))
        assert abs(mean - expected[day]) < 4 * error, (day, mean, expected[day], error)
    assert (Network(fee_spikes_per_year=0.0).sample_fees(n_days, None) == 0.025).all()


# --- the epoch in force on day 0 --------------------------------------------------------------
def hand_first_retarget(difficulty, hashrate_ehs, done, elapsed_s):
    """Return Bitcoin's retarget at the end of the day-0 epoch under a constant hashrate, by
    hand: `elapsed_s` so far, then the epoch's other 2015 - done intervals at 600 s x
    (the hashrate at which the difficulty gives 600 s blocks) / hashrate."""
    remaining_s = (2015 - done) * difficulty * 2**32 / (hashrate_ehs * 1e18)
    actual_s = min(max(elapsed_s + remaining_s, 1_209_600 / 4), 4 * 1_209_600)
    return difficulty * 1_209_600 / actual_s


@settings(max_examples=60, deadline=None)
@given(done=st.integers(1, 2015), elapsed_days=st.floats(1e-3, 80.0),
       hashrate_ehs=st.floats(300.0, 3000.0))
def test_the_first_retarget_counts_the_given_time_since_the_epochs_first_block(
        done, elapsed_days, hashrate_ehs):
    # rng=None: every interval at its mean, the hashrate constant; the clamp (x4, /4) is hit
    # at the ends of the range
    net = constant_network(start_height=985_824 + done, start_difficulty=1.6e14,
                           start_hashrate_ehs=hashrate_ehs, start_epoch_elapsed_days=elapsed_days)
    out = net.sample(np.arange(60), None, flat_btc(n=60))
    first = out["epochs"]["difficulty"].iloc[1]
    assert first == pytest.approx(hand_first_retarget(1.6e14, hashrate_ehs, done,
                                                      elapsed_days * 86_400), rel=1e-12)
    assert out["epochs"]["start_height"].iloc[0] == 985_824


def test_without_the_elapsed_time_the_epochs_blocks_so_far_took_their_time_at_the_hashrate():
    args = dict(start_height=985_824 + 1000, start_difficulty=1.6e14, start_hashrate_ehs=1500.0)
    inferred_s = 1000 * 1.6e14 * 2**32 / 1500e18  # faster than 600 s blocks
    default = constant_network(**args).sample(np.arange(60), None, flat_btc(n=60))["epochs"]
    assert default["difficulty"].iloc[1] == pytest.approx(
        hand_first_retarget(1.6e14, 1500.0, 1000, inferred_s), rel=1e-12)
    given_it = constant_network(**args, start_epoch_elapsed_days=inferred_s / 86_400).sample(
        np.arange(60), None, flat_btc(n=60))["epochs"]
    pd.testing.assert_frame_equal(given_it, default, check_exact=False, rtol=1e-12)
    later = constant_network(**args, start_epoch_elapsed_days=10.0).sample(
        np.arange(60), None, flat_btc(n=60))["epochs"]
    assert later["difficulty"].iloc[1] < default["difficulty"].iloc[1]  # a slower epoch so far


def test_an_epoch_whose_first_block_is_the_tip_may_have_begun_before_day_0():
    # height 985,824 is the epoch's first block, found half a day before day 0, none since
    net = constant_network(start_difficulty=1.6e14, start_hashrate_ehs=1145.0,
                           start_epoch_elapsed_days=0.5)
    out = net.sample(np.arange(60), None, flat_btc(n=60))
    assert out["epochs"]["difficulty"].iloc[1] == pytest.approx(
        hand_first_retarget(1.6e14, 1145.0, 0, 43_200.0), rel=1e-12)
    assert out["block_height"][0] == 985_824
    at_its_first_block = constant_network(start_difficulty=1.6e14, start_epoch_elapsed_days=0.0)
    pd.testing.assert_frame_equal(at_its_first_block.sample(DAY, None, flat_btc())["epochs"],
                                  constant_network(start_difficulty=1.6e14).sample(
                                      DAY, None, flat_btc())["epochs"])


@pytest.mark.parametrize("args, message", [
    ({"start_difficulty": -1.0}, "start_difficulty=-1: must be > 0"),
    ({"start_epoch_elapsed_days": -0.5}, r"start_epoch_elapsed_days=-0.5: must be >= 0$"),
    ({"start_height": 984_000, "start_epoch_elapsed_days": 0.0},
     r"^start_epoch_elapsed_days=0: must be > 0 when start_height=984000 lies 192 blocks into "
     r"its epoch \(those blocks took time\), or null$"),
    ({"start_height": 1.5}, "start_height=1.5: must be a whole number"),
    ({"fees_btc_per_block": float("nan")}, "fees_btc_per_block=nan: must be a finite number"),
])
def test_bad_arguments_are_named(args, message):
    with pytest.raises(UserError, match=message):
        Network(**args)
