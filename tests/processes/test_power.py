"""The ERCOT-like spot power price: its level, its seasons, its spikes and its bounds."""

import numpy as np
import pytest

from sim.errors import UserError
from sim.processes.power import SeasonalLogOU
from sim.world import PROCESS_FIELDS, day_grid, validate_output

DAY, DATE = day_grid("2027-01-01", 10)
UPSTREAM = {"day": DAY, "date": DATE}
MONTH = DATE.astype("datetime64[M]").astype(int) % 12 + 1


def sample_paths(process, n_paths, seed=40):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return np.array([process.sample(DAY, rng, UPSTREAM)["power_usd_per_mwh"]
                     for _ in range(n_paths)])


def test_long_run_mean_is_the_configured_level():
    paths = sample_paths(SeasonalLogOU(mean_usd_per_mwh=40.0), 100)
    per_path = paths.mean(axis=1)
    se = per_path.std(ddof=1) / np.sqrt(len(per_path))
    assert abs(per_path.mean() - 40.0) < max(4 * se, 0.4)
    assert np.median(paths) < 40.0  # spikes and noise put the mean above the median


def test_prices_peak_in_summer_and_stay_positive_and_capped():
    power = SeasonalLogOU(spikes_per_year=50.0, spike_log_mean=3.0, cap_usd_per_mwh=1000.0)
    paths = sample_paths(power, 20)
    assert paths.min() > 0 and paths.max() == 1000.0
    summer = np.median(paths[:, (MONTH >= 7) & (MONTH <= 8)])
    winter = np.median(paths[:, (MONTH <= 2) | (MONTH >= 12)])
    assert summer > 1.3 * winter


def test_deterministic_path_is_the_seasonal_mean_peaking_at_the_set_day():
    power = SeasonalLogOU(mean_usd_per_mwh=40.0, peak_day_of_year=213)
    path = power.sample(DAY, None, UPSTREAM)["power_usd_per_mwh"]
    first_year = path[:365]
    assert first_year.mean() == pytest.approx(40.0, rel=0.002)
    peak = DATE[int(np.argmax(first_year))]
    assert peak in (np.datetime64("2027-07-31"), np.datetime64("2027-08-01"))
    validate_output({"power_usd_per_mwh": path}, PROCESS_FIELDS["power"], len(DAY), "power")


def test_spike_mean_factor_matches_simulation():
    power = SeasonalLogOU(seasonal_amplitude_log=0.0, log_sd=0.0, spikes_per_year=30.0,
                          spike_log_mean=0.8, spike_log_sd=0.3, spike_half_life_days=2.0)
    prices = sample_paths(power, 40)[:, 30:]  # past the start, where no spike is yet in flight
    assert power.spike_mean_factor() > 1.3  # so a missing factor could not pass
    assert prices.mean() / power.level_usd_per_mwh() == pytest.approx(power.spike_mean_factor(),
                                                                    rel=0.03)
    assert prices.mean() == pytest.approx(40.0, rel=0.03)


def test_noise_halves_in_its_half_life():
    power = SeasonalLogOU(seasonal_amplitude_log=0.0, spikes_per_year=0.0, log_sd=0.3,
                          half_life_days=10.0)
    days = np.arange(36_525)
    dates = np.datetime64("2027-01-01") + days
    out = power.sample(days, np.random.default_rng(5), {"date": dates})
    log_price = np.log(out["power_usd_per_mwh"])
    deviation = log_price - log_price.mean()
    assert deviation.std() == pytest.approx(0.3, rel=0.05)
    lag_correlation = np.corrcoef(deviation[:-10], deviation[10:])[0, 1]
    assert lag_correlation == pytest.approx(0.5, abs=0.03)


def test_bad_arguments_are_named():
    with pytest.raises(UserError, match="half_life_days=0: must be > 0"):
        SeasonalLogOU(half_life_days=0)
    with pytest.raises(UserError, match=r"peak_day_of_year=400: must be in \[1, 366\]"):
        SeasonalLogOU(peak_day_of_year=400)


def test_a_batch_gives_each_world_what_it_gets_alone():
    """The seasons and the level are made once per batch; each world's draws are its own."""
    power = SeasonalLogOU()
    streams = lambda: [np.random.default_rng(k) for k in range(3)] + [None]  # noqa: E731
    batch = power.sample_batch(DAY, streams(), [UPSTREAM] * 4)
    for rng, out in zip(streams(), batch):
        assert np.array_equal(power.sample(DAY, rng, UPSTREAM)["power_usd_per_mwh"],
                              out["power_usd_per_mwh"])
    assert not np.array_equal(batch[0]["power_usd_per_mwh"], batch[1]["power_usd_per_mwh"])
