"""The economic network model against closed forms: breakeven power prices, the running
hashprice's equation, and the stationary hashrate at a constant BTC price."""

import math

import numpy as np
import pytest

from sim.economics import TARGET_SPACING_S, TWO_POW_32
from sim.errors import UserError
from sim.processes.network_economic import (EconomicNetwork, Outages, day0_fleet,
                                          past_growth_per_year, breakeven_usd_per_mwh,
                                          solve_log_hashprice)
from sim.processes.network import load_difficulty_epochs
from sim.world import PROCESS_FIELDS, day_grid, rng_for, validate_output

START = "2025-01-01"  # inside the shipped epochs: the day-0 fleet grows as they did in 2024
DAY, DATE = day_grid(START, 3)


def flat_world(usd=90_000.0):
    return {"day": DAY, "date": DATE, "btc_usd": np.full(len(DAY), usd)}


def still_network(**overrides):
    """A network with a frontier that never improves, no noise, no fee spikes, long lives."""
    args = dict(start_height=1_052_000, start_difficulty=300e18 * TARGET_SPACING_S / TWO_POW_32,
                payback_target_days=600.0, order_days=180.0, power_median_log_sd=0.0,
                frontier_date=START, frontier_gain_per_year=0.0, machine_life_years=40.0,
                hashrate_volatility_per_year=0.0, order_noise_log_sd=0.0,
                fee_spikes_per_year=0.0)
    return EconomicNetwork(**{**args, **overrides})


def equilibrium_ehs(net, btc_usd):
    """The stationary hashrate: hashprice settles where a frontier machine pays back in T,
    hp = 0.024 · e · m / (1 − k / T), and the network's revenue at 144 blocks a day
    buys R / hp PH/s."""
    hashprice = (0.024 * net.frontier_j_per_th * net.power_median_usd_per_mwh
                 / (1 - net.asic_price_days_of_hashprice / net.payback_target_days))
    revenue_usd_per_day = 144 * (1.5625 + net.fees_btc_per_block) * btc_usd
    return revenue_usd_per_day / hashprice / 1000


def test_breakeven_matches_the_hashrate_index_figure():
    # Hashrate Index, January 2026: about $97/MWh for ~17 J/TH at $39.53/PH/day
    assert breakeven_usd_per_mwh(39.53, 17.0) == pytest.approx(96.9, abs=0.1)


def test_running_hashprice_solves_its_equation():
    net = EconomicNetwork()
    capacity, j_per_th = np.array([300.0, 500.0, 200.0]), np.array([30.0, 20.0, 15.0])
    revenue = 45.0 * 800.0
    hp = net.running_hashprice(revenue, capacity, j_per_th)
    assert hp * np.dot(capacity, net.running_share(hp, j_per_th)) == pytest.approx(revenue)
    assert hp > revenue / capacity.sum()  # not every machine pays its power


def test_when_every_machine_pays_its_power_all_of_them_run():
    net = EconomicNetwork(power_median_usd_per_mwh=1e-6)
    assert net.running_hashprice(1000.0, np.array([10.0, 30.0]), np.array([30.0, 20.0])) == pytest.approx(25.0, rel=1e-12)


@pytest.mark.parametrize("btc_usd", [90_000.0, 180_000.0])
def test_constant_price_settles_to_the_closed_form_hashrate(btc_usd):
    net = still_network()
    out = net.sample(DAY, None, flat_world(btc_usd))
    expected = equilibrium_ehs(net, btc_usd)
    difficulty = out["epochs"]["difficulty"].to_numpy()
    settled_ehs = difficulty[-5:] * TWO_POW_32 / TARGET_SPACING_S / 1e18
    assert settled_ehs == pytest.approx(np.full(5, expected), rel=0.01)
    assert out["network_hashrate_ehs"][-1] == pytest.approx(expected, rel=0.01)


def test_orders_replace_machines_before_they_retire():
    """Miners order for the fleet that will still run when the order arrives: a vintage that
    retires within the delivery lag is replaced on time, so at a constant price the hashrate
    holds its closed-form level through the retirements. (When orders counted every machine
    alive today, each retirement left a hole for the lag: the hashrate swung between 0.62
    and 0.94 of that level here, and in the default market a fleet idle for years retired
    at once and cut difficulty more than threefold in a tenth of the worlds.)"""
    net = still_network(machine_life_years=1.5, order_days=1.0, delivery_lag_days=120.0)
    hashrate = net.sample(DAY, None, flat_world(90_000.0))["network_hashrate_ehs"]
    expected = equilibrium_ehs(net, 90_000.0)
    settled = hashrate[300:] / expected  # the day-0 fleet's first retirements come before any order can
    assert settled.mean() == pytest.approx(1.0, abs=0.02)
    assert settled.min() > 0.85  # a retirement falls at most an epoch before its replacement


def test_the_start_is_neutral_until_the_pipeline_delivers():
    net = still_network(start_difficulty=440e18 * TARGET_SPACING_S / TWO_POW_32,
                        delivery_lag_days=200.0)  # 15 parts of 13.3 days: the first on day 6.7
    out = net.sample(DAY, None, flat_world())
    assert out["network_hashrate_ehs"][:6] == pytest.approx(np.full(6, 440.0), rel=1e-9)
    assert out["network_hashrate_ehs"][60] > 440.0


@pytest.mark.parametrize("hashrate_ehs", [400.0, 480.0])
def test_the_start_is_neutral_when_blocks_come_faster_or_slower_than_600_s(hashrate_ehs):
    """A day-0 hashrate off the difficulty's 600 s rate (a growing network, as the
    backtest's history gives) is what the day-0 revenue keeps running once blocks come
    every 600 s again: the fleet is made for that hashprice, so the network stays there."""
    net = still_network(start_difficulty=440e18 * TARGET_SPACING_S / TWO_POW_32,
                        start_hashrate_ehs=hashrate_ehs, delivery_lag_days=200.0)
    out = net.sample(DAY, None, flat_world())
    assert out["network_hashrate_ehs"][:6] == pytest.approx(np.full(6, hashrate_ehs), rel=1e-9)


def test_the_pipeline_delivers_about_every_epoch_over_the_lag():
    """The day-0 order book arrives in parts no more than 14 days apart, from the first
    epoch on, and adds the past year's growth over the lag (as the fleet's ages assume)."""
    net = still_network(delivery_lag_days=120.0)
    fleet = day0_fleet(net, START, 40.0, 300.0, net.power_median_usd_per_mwh)
    due = fleet.born[fleet.installed:]
    assert due[0] <= 7.0 and np.all(np.diff(due) <= 14.0) and due[-1] < 120.0
    installed = fleet.capacity[:fleet.installed].sum()
    growth = past_growth_per_year(START)
    assert growth > 0  # else the pipeline is empty and the test proves nothing
    assert fleet.capacity[fleet.installed:].sum() == pytest.approx(
        installed * math.expm1(growth * due[-1] / 365.25), rel=1e-12)
    assert np.all(fleet.capacity[fleet.installed:] > 0)


def shipped_log_difficulty(date: str) -> float:
    """The log difficulty of the shipped epochs at 00:00 UTC on `date`, interpolated in time."""
    epochs = load_difficulty_epochs()
    stamp = (np.datetime64(date, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64) * 86_400
    return float(np.interp(stamp, epochs["timestamp"], np.log(epochs["difficulty"])))


def test_past_growth_inside_the_history_is_the_epochs_whatever_the_start_difficulty():
    expected = shipped_log_difficulty("2025-01-01") - shipped_log_difficulty("2024-01-01")
    assert expected > 0.3  # 2024: the difficulty grew by about half
    for difficulty in (None, 1e12, 1e16):
        assert past_growth_per_year("2025-01-01", difficulty) == pytest.approx(expected, abs=2e-3)


def test_past_growth_beyond_the_history_runs_to_the_start_difficulty():
    # within a year of the epochs' end (2025-11-27): from the shipped difficulty a year before
    a_year_before = shipped_log_difficulty("2025-06-26")
    assert past_growth_per_year("2026-06-26", 1.3387e14) == pytest.approx(
        math.log(1.3387e14) - a_year_before, abs=2e-3)  # the 2026-06-26 snapshot: about 0.12
    # more than a year on: from the epochs' end, per year
    end = load_difficulty_epochs().iloc[-1]
    years = (np.datetime64("2028-05-27") - np.datetime64(int(end["timestamp"]), "s")
             ).astype("timedelta64[s]").astype(float) / (365.25 * 86_400)
    assert past_growth_per_year("2028-05-27", end["difficulty"] * 2.0) == pytest.approx(
        math.log(2.0) / years, rel=1e-9)
    # clipped: a fall is no growth, and 1.5 a year at most
    assert past_growth_per_year("2026-06-26", 1e13) == 0.0
    assert past_growth_per_year("2026-06-26", 1e16) == 1.5
    # without a start difficulty, the epochs' last year (as before snapshots had their own)
    assert past_growth_per_year("2026-06-26") == pytest.approx(
        shipped_log_difficulty("2025-11-27") - shipped_log_difficulty("2024-11-27"), abs=5e-3)


def test_the_pipeline_scales_with_the_worlds_order_shock():
    net = still_network()
    one, two = (day0_fleet(net, START, 40.0, 300.0, net.power_median_usd_per_mwh, shock)
                for shock in (1.0, 2.5))
    size = one.installed
    assert two.capacity[:size] == pytest.approx(one.capacity[:size], rel=0, abs=0)
    assert two.capacity[size:] == pytest.approx(2.5 * one.capacity[size:], rel=1e-15)


def test_the_order_shock_is_lognormal_with_mean_one():
    net = EconomicNetwork(order_noise_log_sd=0.8)
    rng = np.random.default_rng(4)
    shocks = np.array([net.order_shock(rng) for _ in range(20_000)])
    assert shocks.mean() == pytest.approx(1.0, abs=4 * shocks.std() / math.sqrt(len(shocks)))
    assert np.log(shocks).std() == pytest.approx(0.8, rel=0.03)
    assert net.order_shock(None) == 1.0
    assert EconomicNetwork(order_noise_log_sd=0.0).order_shock(rng) == 1.0


def test_order_shocks_draw_one_shock_from_each_stream_in_turn():
    """The epoch loop's shocks are exp(sd · z − sd²/2), z each stream's next normal (None:
    1), and leave each stream where one draw leaves it; order_shock is one of them."""
    net = EconomicNetwork(order_noise_log_sd=0.8)
    streams = [np.random.default_rng(k) for k in range(3)]
    shocks = net.order_shocks([streams[0], None, streams[1], streams[2]])
    alone = [np.random.default_rng(k) for k in range(3)]
    expected = [math.exp(0.8 * a.standard_normal() - 0.8 * 0.8 / 2) for a in alone]
    assert shocks.tolist() == [expected[0], 1.0, expected[1], expected[2]]
    assert net.order_shock(np.random.default_rng(2)) == expected[2]
    assert [s.random() for s in streams] == [s.random() for s in alone]
    assert EconomicNetwork(order_noise_log_sd=0.0).order_shocks(streams).tolist() == [1.0] * 3


def test_each_world_draws_its_own_pipeline():
    """With order noise the only noise, worlds differ from the first delivery on, and their
    median stays near the deterministic path (the shock's median is exp(-sd^2 / 2))."""
    net = still_network(order_noise_log_sd=0.5, delivery_lag_days=120.0)
    base = net.sample(DAY, None, flat_world())["network_hashrate_ehs"]
    paths = np.array([net.sample(DAY, np.random.default_rng(seed), flat_world())
                      ["network_hashrate_ehs"] for seed in range(40)])
    assert np.all(paths[:, :6] == base[:6])  # before the first delivery, nothing to draw on
    day = 100  # before the first order placed after day 0 arrives
    assert len(np.unique(paths[:, day])) == 40
    assert np.median(paths[:, day]) < base[day] < paths[:, day].max()


def test_a_price_crash_switches_off_the_least_efficient_machines():
    net = still_network(frontier_gain_per_year=0.2, start_difficulty=450e18 * 600 / TWO_POW_32)
    btc = np.full(len(DAY), 90_000.0)
    btc[100:] = 30_000.0
    out = net.sample(DAY, None, {"day": DAY, "date": DATE, "btc_usd": btc})
    before, after = out["network_hashrate_ehs"][99], out["network_hashrate_ehs"][160]
    assert after < before * 0.8  # a third of the revenue: machines unplug
    assert after > before / 3  # but the efficient ones keep running: hashrate falls less


def test_output_meets_the_world_contract_with_noise():
    out = EconomicNetwork(start_height=1_052_000).sample(DAY, np.random.default_rng(3),
                                                         flat_world())
    validate_output(out, PROCESS_FIELDS["network"], len(DAY), "test")


def test_a_payback_target_shorter_than_the_asic_price_is_refused():
    with pytest.raises(UserError, match="payback_target_days=300"):
        EconomicNetwork(payback_target_days=300.0)


def test_frontier_improves_at_its_rate():
    net = EconomicNetwork(frontier_j_per_th=20.0, frontier_date="2024-01-01",
                          frontier_gain_per_year=0.2)
    assert net.frontier_at("2025-12-31") == pytest.approx(20.0 * 0.8 ** (730 / 365.25))
    assert math.isclose(net.frontier_at("2024-01-01"), 20.0)


def test_each_world_may_draw_its_own_median_power_price():
    net = still_network(power_median_log_sd=0.5, start_difficulty=300e18 * 600 / TWO_POW_32)
    ends = {round(float(net.sample(DAY, np.random.default_rng(seed), flat_world())
                       ["network_hashrate_ehs"][-1]), 3) for seed in range(4)}
    assert len(ends) == 4  # a cheaper world settles higher: H* is proportional to 1 / m
    fixed = still_network(power_median_log_sd=0.0)
    assert (fixed.sample(DAY, np.random.default_rng(0), flat_world())["network_hashrate_ehs"][-1]
            == pytest.approx(equilibrium_ehs(fixed, 90_000.0), rel=0.01))


# Today's parameters, spelled out so that a change of defaults does not move the pins.
PINNED = dict(start_height=1_052_000, start_difficulty=2.0e14, frontier_j_per_th=16.1,
              frontier_date="2024-01-01", frontier_gain_per_year=0.19,
              power_median_usd_per_mwh=45.0, power_log_sd=0.5,
              asic_price_days_of_hashprice=375.0, payback_target_days=500.0, order_days=90.0,
              delivery_lag_days=120.0, machine_life_years=6.0, switch_days=14.0,
              order_noise_log_sd=0.8, power_median_log_sd=0.7,
              hashrate_volatility_per_year=0.10)  # the class default when the pins were made


@pytest.mark.parametrize("seed, expected", [  # both re-pinned when orders came to replace the
    # machines that retire before they arrive (the day-0 fleet's oldest vintages retire from
    # the first quarter); before, when the day-0 fleet's growth came to run from the shipped
    # difficulty of the epochs' end to the start difficulty, and (the base case) when its
    # fees came to include the spikes' mean uplift
    (2026, (2101.239699307048, 2877.6498244175978, 3363.3192215150484, 306886833396356.7, 543, 80)),
    (None, (1356.9555153517792, 1284.1539738409474, 1452.217017136993, 204383218959758.7, 548, 79)),
])
def test_pinned_world_does_not_move(seed, expected):
    """A world's values as the model made them when it was made fast: a change that moves
    them (beyond the last bits of a platform's arithmetic) must say why and update them.
    It starts beyond the shipped epochs, as the default experiment does."""
    day, date = day_grid("2029-01-01", 3)
    btc_usd = 90_000.0 * np.exp(0.3 * np.sin(2 * np.pi * day / 365.25))
    rng = None if seed is None else np.random.default_rng(seed)
    out = EconomicNetwork(**PINNED).sample(day, rng, {"day": day, "date": date, "btc_usd": btc_usd})
    hashrate, epochs = out["network_hashrate_ehs"], out["epochs"]
    *ehs, difficulty, start_day, count = expected
    assert [hashrate[365], hashrate[730], hashrate[-1]] == pytest.approx(ehs, rel=1e-9)
    assert epochs["difficulty"].iloc[40] == pytest.approx(difficulty, rel=1e-9)
    assert (len(epochs), epochs["start_day"].iloc[40]) == (count, start_day)


@pytest.mark.parametrize("spread", [0.05, 0.5, 2.0])
def test_running_hashprice_solves_its_equation_from_any_guess(spread):
    """The solver's root does not depend on its start: cold, warm, far left or far right."""
    net = EconomicNetwork(power_log_sd=spread)
    capacity, j_per_th = np.array([300.0, 500.0, 200.0, 50.0]), np.array([40.0, 25.0, 17.0, 12.0])
    revenue = 40.0 * 1050.0
    z_half = net.log_breakeven_hashprice(j_per_th) / spread
    roots = [solve_log_hashprice(math.log(revenue), capacity, z_half, spread, guess)[0]
             for guess in (None, -50.0, 0.0, 3.0, 4.0, 60.0)]
    hp = math.exp(roots[0])
    assert hp * np.dot(capacity, net.running_share(hp, j_per_th)) == pytest.approx(revenue, rel=1e-13)
    assert roots == pytest.approx([roots[0]] * len(roots), abs=1e-13)


# --- outages -----------------------------------------------------------------------------------
def test_an_outages_share_returns_linearly_and_overlaps_multiply():
    one = Outages(np.array([10.0]), np.array([0.4]), 100.0)
    assert [one.available_share(d) for d in (9.9, 10.0, 60.0, 109.0, 110.0)] == pytest.approx(
        [1.0, 0.6, 0.8, 0.996, 1.0])
    two = Outages(np.array([10.0, 60.0]), np.array([0.4, 0.5]), 100.0)
    assert two.available_share(60.0) == pytest.approx(0.8 * 0.5)


def test_outages_arrive_as_poisson_with_shares_in_their_range():
    net = EconomicNetwork(outages_per_year=0.5, outage_share_low=0.2, outage_share_high=0.3)
    draws = [net.sample_outages(3653, rng_for(5, k, "network")) for k in range(2000)]
    counts = np.array([len(o.start_day) for o in draws])
    assert counts.mean() == pytest.approx(0.5 * 3653 / 365.25, abs=4 * math.sqrt(5 / 2000))
    assert counts.var() == pytest.approx(counts.mean(), rel=0.15)  # Poisson: variance = mean
    shares = np.concatenate([o.share for o in draws])
    assert shares.min() >= 0.2 and shares.max() <= 0.3
    starts = np.concatenate([o.start_day for o in draws])
    assert 0 <= starts.min() and starts.max() < 3653 and abs(starts.mean() / 3653 - 0.5) < 0.02
    assert len(EconomicNetwork(outages_per_year=0.5).sample_outages(3653, None).start_day) == 0


def test_an_outage_moves_no_other_draw_and_cuts_the_hashrate_until_it_recovers():
    calm = EconomicNetwork(start_height=1_052_000)
    stormy = EconomicNetwork(start_height=1_052_000, outages_per_year=1.0,
                             outage_share_low=0.5, outage_share_high=0.5)
    outages = stormy.sample_outages(len(DAY), rng_for(11, 0, "network"))
    assert len(outages.start_day) >= 1
    first = int(outages.start_day[0])
    quiet = calm.sample(DAY, rng_for(11, 0, "network"), flat_world())["network_hashrate_ehs"]
    hit = stormy.sample(DAY, rng_for(11, 0, "network"), flat_world())["network_hashrate_ehs"]
    assert np.array_equal(hit[:first], quiet[:first])  # the outages' own stream moves nothing else
    assert hit[first + 60] < 0.9 * quiet[first + 60]  # half the machines off: the rest switch on


def test_an_outage_share_range_upside_down_is_refused():
    with pytest.raises(UserError, match=r"^outage_share_low=0\.6: must not exceed "
                                        r"outage_share_high \(0\.5\)$"):
        EconomicNetwork(outage_share_low=0.6)
