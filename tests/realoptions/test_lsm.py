"""Least-squares Monte Carlo against published and closed-form truth.

- Longstaff & Schwartz (2001), section 1: the 8-path worked example (value 0.1144).
- American puts (their Table 1 grid: K = 40, r = 0.06, 50 exercise dates a year) against a
  Cox-Ross-Rubinstein tree of 2,000 steps written here, and against the paper's own
  finite-difference figures.
- The option to invest I in a project worth V (GBM with payout yield delta): McDonald &
  Siegel (1986), Dixit & Pindyck (1994, ch. 5): V* = beta / (beta - 1) I and
  F(V) = (V* - I) (V / V*)^beta, against the LSM value and its learned boundary.
- Exact properties (hypothesis), the look-ahead that `regress_exercise` removes, and the
  out-of-sample value of a fitted rule.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.realoptions import lsm_value, policy_value
from sim.realoptions.lsm import BASES, basis_size

# --- helpers: simulated GBM paths and a binomial tree ----------------------------------------


def gbm_paths(seed, spot, rate, vol, years, per_year, paths, yield_=0.0):
    """Return (antithetic GBM paths (paths, steps + 1), t = 0 included; one-step discount factor)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    steps = round(years * per_year)
    dt = years / steps
    shocks = rng.standard_normal((steps, paths // 2))
    log_steps = (rate - yield_ - vol**2 / 2) * dt + vol * math.sqrt(dt) * np.hstack([shocks, -shocks])
    logs = np.vstack([np.zeros((1, 2 * (paths // 2))), np.cumsum(log_steps, axis=0)])
    return (spot * np.exp(logs)).T, math.exp(-rate * dt)  # a transposed view: no copy in lsm_value


def binomial(payoff, spot, rate, vol, years, steps, *, yield_=0.0, exercise_every=1):
    """Return (value, {exercise date: lowest price where exercising is optimal}) from a CRR tree.

    Exercise is allowed every `exercise_every` tree steps (1: American); the boundary is
    interpolated in log price between the last node that waits and the first that exercises
    (meaningful for calls, whose exercise region lies above the boundary)."""
    dt = years / steps
    up = math.exp(vol * math.sqrt(dt))
    p_up = (math.exp((rate - yield_) * dt) - 1 / up) / (up - 1 / up)
    step_discount = math.exp(-rate * dt)
    nodes = np.arange(steps + 1)
    value = payoff(spot * up ** (2 * nodes - steps))
    boundary = {}
    for i in range(steps - 1, -1, -1):
        value = step_discount * (p_up * value[1:] + (1 - p_up) * value[:-1])
        if i == 0 or i % exercise_every:
            continue
        prices = spot * up ** (2 * nodes[:i + 1] - i)
        gain = payoff(prices) - value
        exercise = (gain >= 0) & (payoff(prices) > 0)
        first = int(np.argmax(exercise))
        if exercise.any() and first > 0:
            share = gain[first] / (gain[first] - gain[first - 1])
            boundary[i // exercise_every] = prices[first] * up ** (-2 * share)
        value = np.maximum(value, payoff(prices))
    return float(value[0]), boundary


def put(strike):
    return lambda prices: np.maximum(strike - prices, 0.0)


def call(strike):
    return lambda prices: np.maximum(prices - strike, 0.0)


# --- 1. the paper's worked example -------------------------------------------------------------

#: Longstaff & Schwartz (2001), section 1: eight stock-price paths at t = 0..3.
PAPER_PATHS = np.array([
    [1.00, 1.09, 1.08, 1.34], [1.00, 1.16, 1.26, 1.54], [1.00, 1.22, 1.07, 1.03],
    [1.00, 0.93, 0.97, 0.92], [1.00, 1.11, 1.56, 1.52], [1.00, 0.76, 0.77, 0.90],
    [1.00, 0.92, 0.84, 1.01], [1.00, 0.88, 1.22, 1.34]])


def test_the_papers_worked_example():
    exercise = np.maximum(1.10 - PAPER_PATHS, 0.0)
    fit = lsm_value(PAPER_PATHS, exercise, math.exp(-0.06), degree=2)
    assert round(fit.value, 4) == 0.1144
    # the paper's stopping rule: paths 4, 6, 7, 8 at t = 1, path 3 at t = 3, the rest never
    assert fit.stop_step.tolist() == [-1, -1, 3, 1, -1, 1, 1, 1]
    # the paper's regressions, E[Y | X] = a + b X + c X^2 on in-the-money paths, printed to
    # 3 decimals: ours agree within that rounding, |da| + |db| X + |dc| X^2 <= 0.0005 (1 + X + X^2)
    for step, (a, b, c) in ((2, (-1.070, 2.983, -1.813)), (1, (2.038, -3.335, 1.356))):
        x = PAPER_PATHS[:, step][exercise[:, step] > 0]
        paper = a + b * x + c * x**2
        assert np.all(np.abs(fit.continuation(step, x) - paper) <= 0.0005 * (1 + x + x**2) + 1e-9)


# --- 2. American puts against a binomial tree --------------------------------------------------

#: (spot, vol, years, the paper's finite-difference value from its Table 1); K = 40, r = 0.06.
PUTS = [(36, 0.2, 1, 4.478), (36, 0.2, 2, 4.840), (36, 0.4, 1, 7.101), (36, 0.4, 2, 8.508),
        (40, 0.2, 1, 2.314), (40, 0.2, 2, 2.885), (40, 0.4, 1, 5.312), (40, 0.4, 2, 6.920),
        (44, 0.2, 1, 1.110), (44, 0.2, 2, 1.690), (44, 0.4, 1, 3.948), (44, 0.4, 2, 5.647)]


@pytest.mark.parametrize("spot, vol, years, paper", PUTS)
def test_american_puts_match_a_binomial_tree(spot, vol, years, paper):
    prices, step_discount = gbm_paths([2001, spot, round(vol * 10), years], spot, 0.06, vol, years, 50,
                                      100_000)
    fit = lsm_value(prices, put(40)(prices), step_discount, degree=3)
    tree, _ = binomial(put(40), spot, 0.06, vol, years, 2000)
    assert fit.value == pytest.approx(tree, rel=0.01)
    assert fit.value == pytest.approx(paper, rel=0.01)
    assert tree == pytest.approx(paper, rel=0.003)  # the tree against the paper's own figure


def test_the_papers_laguerre_basis_prices_a_put():
    prices, step_discount = gbm_paths([2002], 36, 0.06, 0.2, 1, 50, 50_000)
    fit = lsm_value(prices, put(40)(prices), step_discount, degree=2, basis="laguerre")
    assert basis_size(1, 2, "laguerre") == 4  # a constant and three weighted Laguerre polynomials
    assert fit.value == pytest.approx(binomial(put(40), 36, 0.06, 0.2, 1, 2000)[0], rel=0.01)


# --- 3. the option to invest: the perpetual closed form ----------------------------------------

def test_the_option_to_invest_recovers_the_perpetual_closed_form():
    """r = delta = 0.08, sigma = 0.2, I = 1, V0 = 1: beta = 2.562, V* = 1.640, F(1) = 0.1802.

    A 40-year horizon with quarterly exercise is 0.7% below the perpetual value (the
    tree's 0.1789). Exercising only quarterly lowers the boundary to 1.549 (-5.6%: one
    waits only if the next date is likely to be worth it), which is V* shifted by
    exp(-0.5826 sigma sqrt(dt)) as in Broadie, Glasserman & Kou's (1997) continuity
    correction; the learned boundary is compared with that finite-horizon truth."""
    rate = delta = 0.08
    vol, invest, years = 0.2, 1.0, 40
    beta = 0.5 - (rate - delta) / vol**2 + math.sqrt(((rate - delta) / vol**2 - 0.5) ** 2 + 2 * rate / vol**2)
    v_star = beta / (beta - 1) * invest
    perpetual = (v_star - invest) * (1.0 / v_star) ** beta
    tree, tree_boundary = binomial(call(invest), 1.0, rate, vol, years, years * 4 * 50, yield_=delta,
                                   exercise_every=50)
    assert tree == pytest.approx(perpetual, rel=0.01)
    early = [tree_boundary[q] for q in range(4, 21)]  # years 1 to 5
    assert np.median(early) == pytest.approx(v_star * math.exp(-0.5826 * vol * math.sqrt(0.25)), rel=0.005)

    values, step_discount = gbm_paths([12], 1.0, rate, vol, years, 4, 40_000, yield_=delta)
    fit = lsm_value(values, values - invest, step_discount, degree=4)
    assert fit.value == pytest.approx(perpetual, rel=0.03)
    assert fit.value == pytest.approx(tree, rel=0.02)
    grid = np.linspace(1.0, 3.0, 2001)
    learned = [grid[fit.exercise(q, grid, grid - invest)].min() for q in range(4, 21)]
    assert np.median(learned) == pytest.approx(np.median(early), rel=0.03)
    assert np.median(learned) == pytest.approx(v_star, rel=0.08)


# --- regress_exercise: a rule that reads only the state ---------------------------------------

def test_regress_exercise_ignores_what_the_future_adds_to_the_exercise_value():
    """Exercising pays K - S plus noise the holder cannot see at that step (mean 0, independent).

    The best rule that reads the state only is worth the Bermudan put (the option never to
    exercise makes K - S a put). Deciding on the realised exercise value looks ahead and
    overstates it by about a third; regressing the exercise value on the state does not."""
    prices, step_discount = gbm_paths([8], 40, 0.06, 0.2, 1, 50, 20_000)
    noise = np.random.default_rng(np.random.SeedSequence([9])).normal(0.0, 1.0, prices.shape)
    exercise = 40 - prices + noise
    bermudan, _ = binomial(put(40), 40, 0.06, 0.2, 1, 2000, exercise_every=40)
    looks_ahead = lsm_value(prices, exercise, step_discount, degree=3)
    honest = lsm_value(prices, exercise, step_discount, degree=3, regress_exercise=True)
    assert looks_ahead.value > 1.2 * bermudan
    assert honest.value == pytest.approx(bermudan, rel=0.02)
    assert all(c is not None for c in honest.exercise_coefficients[1:])
    spots = np.array([30.0, 40.0, 50.0])  # the fitted exercise value is K - S: the noise averages out
    assert honest.exercise_estimate(25, spots) == pytest.approx(40 - spots, abs=0.1)
    assert np.array_equal(honest.stop_steps(prices), honest.stop_step)  # no exercise values needed

    fresh, _ = gbm_paths([10], 40, 0.06, 0.2, 1, 50, 20_000)
    fresh_noise = np.random.default_rng(np.random.SeedSequence([11])).normal(0.0, 1.0, fresh.shape)
    out_of_sample = policy_value(honest, fresh, 40 - fresh + fresh_noise, step_discount)
    assert bermudan * 0.98 < out_of_sample < bermudan * 1.005


# --- 5. out of sample -------------------------------------------------------------------------

def test_out_of_sample_values_are_lower_and_bounded_by_the_tree():
    """Rules fitted on 1,000 paths look better on their own paths than on fresh ones (they
    fit the noise); on fresh paths no rule beats the tree; a rule fitted on 50,000 paths
    comes within 1% of it."""
    american, _ = binomial(put(40), 40, 0.06, 0.2, 1, 2000)
    fresh, step_discount = gbm_paths([500], 40, 0.06, 0.2, 1, 50, 40_000)
    fresh_exercise = put(40)(fresh)
    in_sample, out_of_sample = [], []
    for seed in range(12):
        prices, _ = gbm_paths([501, seed], 40, 0.06, 0.2, 1, 50, 1000)
        fit = lsm_value(prices, put(40)(prices), step_discount, degree=3)
        in_sample.append(fit.value)
        out_of_sample.append(policy_value(fit, fresh, fresh_exercise, step_discount))
    assert np.mean(in_sample) > np.mean(out_of_sample) + 0.03
    assert max(out_of_sample) < american

    prices, _ = gbm_paths([502], 40, 0.06, 0.2, 1, 50, 50_000)
    fit = lsm_value(prices, put(40)(prices), step_discount, degree=3)
    assert policy_value(fit, fresh, fresh_exercise, step_discount) == pytest.approx(american, rel=0.01)


# --- 4. exact properties -----------------------------------------------------------------------

@st.composite
def problems(draw):
    """Return small random stopping problems: (state, exercise value, step discount, options)."""
    paths, steps, dims = draw(st.integers(3, 40)), draw(st.integers(1, 5)), draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    state = rng.lognormal(0.0, 0.3, (paths, steps + 1, dims))
    if dims == 1 and draw(st.booleans()):
        state = state[:, :, 0]
    exercise = rng.normal(draw(st.sampled_from([-0.5, 0.0, 0.5])), 1.0, (paths, steps + 1))
    step_discount = draw(st.sampled_from([0.95, (steps,), (paths, steps)]))
    if isinstance(step_discount, tuple):
        step_discount = rng.uniform(0.8, 1.0, step_discount)
    options = {"degree": draw(st.integers(0, 3)), "basis": draw(st.sampled_from(BASES)),
               "regress_exercise": draw(st.booleans())}
    return state, exercise, step_discount, options


@settings(max_examples=60, deadline=None)
@given(problems(), st.sampled_from([0.25, 0.5, 2.0, 8.0]))
def test_exact_properties(problem, factor):
    state, exercise, step_discount, options = problem
    fit = lsm_value(state, exercise, step_discount, **options)
    paths, steps = exercise.shape[0], exercise.shape[1] - 1
    stop = fit.stop_step
    assert set(stop.tolist()) <= {-1, *range(1, steps + 1)}
    # the value is the mean of the realised payoffs at the stopping steps, discounted to t = 0
    discounts = np.broadcast_to(step_discount, (paths, steps))
    by_hand = [exercise[p, s] * np.prod(discounts[p, :s]) if s > 0 else 0.0 for p, s in enumerate(stop)]
    assert fit.value == pytest.approx(np.mean(by_hand), rel=1e-12, abs=1e-15)
    if not options["regress_exercise"]:
        assert fit.value >= 0
        assert np.all(exercise[stop > 0, stop[stop > 0]] > 0)
    # the rule, applied forward to the training paths, stops where the fit did
    known = None if options["regress_exercise"] else exercise
    assert np.array_equal(fit.stop_steps(state, known), stop)
    assert policy_value(fit, state, exercise, step_discount) == pytest.approx(fit.value, rel=1e-12, abs=1e-15)
    # a change of units of the state (a power of 2: exact in floating point) changes nothing
    scaled = lsm_value(state * factor, exercise, step_discount, **options)
    assert scaled.value == fit.value
    assert np.array_equal(scaled.stop_step, stop)


@settings(max_examples=40, deadline=None)
@given(problems(), st.integers(0, 2**32 - 1))
def test_a_path_exercises_only_where_allowed(problem, seed):
    """A mask of all True is no mask; with a random mask, stops fall on allowed steps only, the
    value is still the mean realised payoff, and the rule applied forward stops as the fit did."""
    state, exercise, step_discount, options = problem
    everywhere = np.ones(exercise.shape, bool)
    plain, masked = (lsm_value(state, exercise, step_discount, **options, allowed=a) for a in (None, everywhere))
    assert masked.value == plain.value and np.array_equal(masked.stop_step, plain.stop_step)
    allowed = np.random.default_rng(seed).random(exercise.shape) < 0.5
    fit = lsm_value(state, exercise, step_discount, **options, allowed=allowed)
    stop = fit.stop_step
    rows = np.flatnonzero(stop > 0)
    assert allowed[rows, stop[rows]].all()
    value = policy_value(fit, state, exercise, step_discount, allowed)
    assert value == pytest.approx(fit.value, rel=1e-12, abs=1e-15)


def test_a_later_exercise_window_by_hand():
    """Pay 1 at step 1 or 0.5 at step 2; half the paths may exercise only at step 2."""
    state = np.tile([1.0, 1.0, 1.0], (4, 1)) * np.arange(1, 5)[:, None]
    exercise = np.tile([0.0, 1.0, 0.5], (4, 1))
    allowed = np.ones((4, 3), bool)
    allowed[2:, 1] = False
    fit = lsm_value(state, exercise, 1.0, degree=0, allowed=allowed)
    assert fit.stop_step.tolist() == [1, 1, 2, 2]
    assert fit.value == pytest.approx(0.75)
    assert policy_value(fit, state, exercise, 1.0, allowed) == pytest.approx(0.75)
    with pytest.raises(ValueError, match=r"allowed: .* expected booleans of shape \(4, 3\)"):
        lsm_value(state, exercise, 1.0, allowed=np.ones((4, 2), bool))


def test_a_duplicated_state_dimension_changes_nothing():
    """Cross terms of (S, S) are collinear: lstsq's minimum-norm fit predicts as the 1-D fit does."""
    prices, step_discount = gbm_paths([20], 40, 0.06, 0.2, 1, 50, 4000)
    one = lsm_value(prices, put(40)(prices), step_discount, degree=2)
    two = lsm_value(np.stack([prices, prices], axis=2), put(40)(prices), step_discount, degree=2)
    assert basis_size(2, 2, "power") == 6
    assert two.value == pytest.approx(one.value, rel=1e-9)
    assert np.array_equal(two.stop_step, one.stop_step)


def test_too_few_in_the_money_paths_never_exercise_before_the_last_step():
    state = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 2.0], [1.0, 3.0, 3.0]])
    exercise = np.array([[0.0, 1.0, 1.0], [0.0, -1.0, 0.5], [0.0, 0.0, -1.0]])
    fit = lsm_value(state, exercise, 1.0, degree=1)  # 1 path in the money at step 1 < 2 basis functions
    assert fit.coefficients[1] is None
    assert fit.stop_step.tolist() == [2, 2, -1]
    assert fit.value == pytest.approx(1.5 / 3)


# --- errors: one line naming the argument -----------------------------------------------------

GOOD = (np.ones((4, 3)), np.ones((4, 3)), 0.9)


@pytest.mark.parametrize("state, exercise, discount, options, match", [
    (np.ones((4, 3, 1, 1)), GOOD[1], 0.9, {}, r"state: shape \(4, 3, 1, 1\)"),
    (np.ones((4, 1)), np.ones((4, 1)), 0.9, {}, "state: shape"),
    (GOOD[0], np.ones((4, 2)), 0.9, {}, r"exercise_value: shape \(4, 2\), expected \(4, 3\)"),
    (GOOD[0], GOOD[1], np.ones(3), {}, r"step_discount: shape \(3,\), expected a scalar, \(2,\)"),
    (GOOD[0], GOOD[1], -0.9, {}, "step_discount: .* > 0"),
    (np.full((4, 3), np.nan), GOOD[1], 0.9, {}, "state: holds NaN"),
    (*GOOD, {"basis": "chebyshev"}, "basis='chebyshev'"),
    (*GOOD, {"degree": -1}, "degree=-1"),
])
def test_bad_inputs_are_named(state, exercise, discount, options, match):
    with pytest.raises(ValueError, match=match):
        lsm_value(state, exercise, discount, **options)


def test_bad_uses_of_a_fit_are_named():
    fit = lsm_value(*GOOD)
    with pytest.raises(ValueError, match="step=0: exercise is allowed at steps 1..2"):
        fit.exercise(0, np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="exercise_value_at_step: needed"):
        fit.exercise(1, np.ones(4))
    with pytest.raises(ValueError, match="exercise_estimate: only a fit with regress_exercise"):
        fit.exercise_estimate(1, np.ones(4))
    with pytest.raises(ValueError, match=r"state_at_step: shape \(4, 2\)"):
        fit.exercise(1, np.ones((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"state: shape \(4, 5\), expected \(paths, 3\)"):
        policy_value(fit, np.ones((4, 5)), np.ones((4, 5)), 0.9)
