"""The economic network's batched epoch loop: a world's numbers are its own, whatever else is
sampled with it (the model's closed forms and pinned worlds are in test_network_economic.py)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import ndtr

from sim.processes._economic_epochs import Fleet, Paths, renumbered, solve_rows, sums_by
from sim.processes.network_economic import EconomicNetwork
from sim.world import day_grid, rng_for

DAY, DATE = day_grid("2026-06-26", 4)
DEFAULTS = dict(start_height=955_584, start_difficulty=1.3387e14, start_hashrate_ehs=1000.0)


def upstream(k: int, drift: float = 0.0) -> dict:
    """A world's BTC path: a random walk of its own (seeded by k), drifting by `drift` a day."""
    steps = rng_for(7, k, "btc").normal(drift, 0.03, len(DAY))
    return {"day": DAY, "date": DATE, "btc_usd": 60_000.0 * np.exp(np.cumsum(steps))}


def same(a: dict, b: dict) -> bool:
    """True if two network outputs are equal bit for bit, field by field."""
    return all(a[k].equals(b[k]) if k == "epochs" else np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("overrides", [
    {},
    {"outages_per_year": 2.0},  # outages drawn per world, on a stream of their own
    {"power_median_log_sd": 0.0, "order_noise_log_sd": 0.0},
])
def test_a_world_is_the_same_alone_and_in_any_batch(overrides):
    """Worlds whose BTC falls or rises end the grid at different epochs (they leave the batch
    one by one); each equals itself sampled alone, and in a batch of other worlds."""
    net = EconomicNetwork(**DEFAULTS, **overrides)
    worlds = list(range(6))
    ups = [upstream(k, drift=(-1) ** k * 0.002 * k) for k in worlds]
    batch = net.sample_batch(DAY, [rng_for(1, k, "network") for k in worlds], ups)
    assert len({len(out["epochs"]) for out in batch}) > 1  # worlds do leave at different epochs
    for k in worlds:
        alone = net.sample(DAY, rng_for(1, k, "network"), ups[k])
        assert same(alone, batch[k])
    other = net.sample_batch(DAY, [rng_for(1, k, "network") for k in (4, 1)], [ups[4], ups[1]])
    assert same(other[0], batch[4]) and same(other[1], batch[1])


def test_deterministic_worlds_batch_as_well():
    net = EconomicNetwork(**DEFAULTS)
    ups = [upstream(0), upstream(1)]
    batch = net.sample_batch(DAY, [None, None], ups)
    assert same(batch[1], net.sample(DAY, None, ups[1]))
    assert not same(batch[0], batch[1])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(0, 2**32 - 1))
def test_sums_by_group_are_sequential_whatever_else_is_interleaved(vintages, worlds, seed):
    """A world's vintages, in order among the other worlds' in any interleaving, sum as one
    adds them left to right, as they would alone."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(vintages, worlds)) * 10.0 ** rng.uniform(-8, 8, (vintages, worlds))
    sequential = np.array([_left_to_right(values[:, j]) for j in range(worlds)])
    group = np.tile(np.arange(worlds), vintages)  # vintage by vintage
    assert np.array_equal(sums_by(group, values.ravel(), worlds), sequential)
    # each vintage's worlds shuffled, and some worlds with no vintages at all
    order = np.concatenate([v * worlds + rng.permutation(worlds) for v in range(vintages)])
    assert np.array_equal(sums_by(group[order], values.ravel()[order], worlds), sequential)
    assert np.array_equal(sums_by(group + 2, values.ravel(), worlds + 3)[2:-1], sequential)
    alone = group == worlds - 1
    assert sums_by(np.zeros(vintages, dtype=np.int64), values.ravel()[alone], 1)[0] == sequential[-1]


def _left_to_right(column) -> float:
    total = 0.0
    for value in column.tolist():
        total += value
    return total


def test_solve_rows_finds_each_root_whatever_the_others():
    """Problems of different widths, spreads of breakevens and guesses (cold, near, far) are
    each solved to g(x) = log revenue, and the same alone as together."""
    rng = np.random.default_rng(3)
    capacity = rng.uniform(0, 50, (12, 5))
    capacity[8:, 0] = 0.0  # a narrower problem, padded
    z_half = rng.normal(7.0, 1.5, (12, 5))
    log_revenue = rng.normal(11.0, 1.0, 5)
    guess = np.array([np.nan, 3.0, 40.0, -40.0, np.nan])
    spread = 0.5
    problem = np.tile(np.arange(5), 12)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        roots, _ = solve_rows(log_revenue, capacity.ravel(), z_half.ravel(), problem, spread, guess)
        for j in range(5):
            alone, _ = solve_rows(log_revenue[[j]], capacity[:, j], z_half[:, j],
                                  np.zeros(12, dtype=np.int64), spread, guess[[j]])
            assert alone[0] == roots[j]
        narrow, _ = solve_rows(log_revenue[[0]], capacity[:8, 0], z_half[:8, 0],
                               np.zeros(8, dtype=np.int64), spread, guess[[0]])
        assert narrow[0] == roots[0]  # the padding changes no bit
    g = roots + np.log((capacity * ndtr(roots / spread - z_half)).sum(axis=0))
    assert g == pytest.approx(log_revenue, abs=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)  # CI runs the same cases
@given(st.sampled_from([0.1, 0.5, 2.0]), st.integers(0, 1_200_000), st.floats(11.0, 15.0),
       st.floats(0.05, 2.0), st.floats(0.5, 10.0), st.floats(0.0, 2.0), st.floats(1.0, 60.0),
       st.floats(0.0, 400.0), st.sampled_from([0.0, 3.0]), st.booleans(), st.integers(0, 2**16))
def test_any_network_gives_each_world_its_own_numbers(years, height, log_difficulty, spread, life,
                                                      order_sd, switch, lag, outages,
                                                      deterministic, seed):
    """Random parameters, horizons and BTC paths: a world in a batch of three is the world
    alone, bit for bit, and its hashrate and difficulty are finite and positive."""
    net = EconomicNetwork(start_height=height, start_difficulty=10.0 ** log_difficulty,
                          power_log_sd=spread, machine_life_years=life, order_noise_log_sd=order_sd,
                          switch_days=switch, delivery_lag_days=lag, outages_per_year=outages)
    day, date = day_grid("2026-06-26", years)
    draws = np.random.default_rng(seed)
    ups = [{"day": day, "date": date,
            "btc_usd": 60_000.0 * np.exp(np.cumsum(draws.normal(draws.uniform(-0.01, 0.01), 0.04,
                                                               len(day))))}
           for _ in range(3)]

    def streams():
        return [None if deterministic else rng_for(seed, k, "network") for k in range(3)]

    batch = net.sample_batch(day, streams(), ups)
    for k, out in enumerate(batch):
        assert same(net.sample(day, streams()[k], ups[k]), out)
        assert np.all(np.isfinite(out["network_hashrate_ehs"]) & (out["network_hashrate_ehs"] > 0))
        assert np.all(out["difficulty"] > 0)


def test_a_cold_start_where_every_machine_runs_converges_when_g_rounds_above_the_target():
    """Every machine runs (z far above 0): the cold start x = log(revenue / Σ C) is the root,
    but g(x) = (t − log Σ C) + log Σ C rounds to t + 2 ulp here. The solver took the start for
    a lower bound, bisected onto it for ever and raised (found by hypothesis in CI)."""
    capacity = np.array([[93.7077641223583], [56.05981777785581], [24.77339750197481],
                         [74.40074533275346]])
    target = 15.115845723301442
    problem = np.zeros(4, dtype=np.int64)
    start = target - np.log(sums_by(problem, capacity.ravel(), 1))[0]
    assert start + np.log(sums_by(problem, capacity.ravel(), 1))[0] - target > 0  # g rounds above
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        root, slope = solve_rows(np.array([target]), capacity.ravel(), np.full(4, -60.0), problem,
                                 0.5, np.array([np.nan]))
    assert root[0] == pytest.approx(start, abs=1e-12) and slope[0] == 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 9), max_size=40), st.lists(st.integers(0, 9), unique=True, max_size=10))
def test_renumbered_keeps_the_entries_of_the_groups_kept_numbered_by_their_place(index, rows):
    kept, new = renumbered(np.array(index, dtype=np.int64), np.array(rows, dtype=np.int64), 10)
    place = {group: k for k, group in enumerate(rows)}
    assert kept.tolist() == [k for k, group in enumerate(index) if group in place]
    assert new.tolist() == [place[group] for group in index if group in place]


def test_a_world_without_machines_runs_none_and_leaves_the_others_as_they_are_alone():
    """A world none of whose vintages is installed is left out of the epoch's solve (its
    running hashrate is the floor, 1e-9 EH/s); the other worlds' running hashrates are those
    of a batch without it, bit for bit."""
    net = EconomicNetwork(**DEFAULTS)
    rng = np.random.default_rng(3)
    born = np.zeros((3, 5))
    born[1] = 400.0  # world 1's vintages are all still on order on day 90
    capacity, z_half = rng.uniform(50, 300, (3, 5)), rng.normal(0.0, 1.0, (3, 5))
    median, frontier_day0 = np.full(3, 45.0), np.full(3, 100.0)
    t_end, revenue = np.full(3, 90.0), np.array([40.0, 40.0, 55.0])

    def fleet(worlds):
        return Fleet(net, born[worlds], capacity[worlds], z_half[worlds], median[worlds], frontier_day0[worlds],
                     [np.random.default_rng(10 + k) for k in worlds])

    three = fleet([0, 1, 2]).step(t_end, revenue, None)
    two = fleet([0, 2]).step(t_end[[0, 2]], revenue[[0, 2]], None)
    assert three[1] == 1e-9
    assert np.array_equal(three[[0, 2]], two) and np.all(two > 1e-9)


def test_paths_left_by_a_world_are_the_others_own_also_once_they_widen():
    """A world leaves the batch (its rows stay, unread) and the others' epochs then run past
    the rows' width: each world's times and hashrates are those of the same worlds alone."""
    rng = np.random.default_rng(5)
    noise, log_start = np.cumsum(rng.normal(0.0, 0.02, (3, 40)), axis=1), np.log([500.0, 600.0, 700.0])
    drift = np.array([0.001, -0.002, 0.0])

    def paths(rows):
        made = Paths(log_start[rows], noise[rows])
        made.set_drift(np.zeros(len(rows), dtype=np.int64), drift[rows])
        return made

    left, alone = paths([0, 1, 2]), paths([2, 0])
    left.keep(np.array([2, 0]))
    width = left.log_ehs.shape[1]
    for work in (np.array([7_000.0, 5_000.0]), np.array([900.0 * width, 700.0 * width])):
        assert np.array_equal(left.time_at(work), alone.time_at(work))
    assert left.log_ehs.shape[1] > width  # the rows widened
    days = np.array([width + 5, 60])
    assert np.array_equal(left.log_ehs_on(days), alone.log_ehs_on(days))
