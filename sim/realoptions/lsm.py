"""When to stop: least-squares Monte Carlo (Longstaff & Schwartz, 2001).

An option holder who may exercise once, at any of steps 1..steps of a simulated grid,
exercises when what she gets now beats what she expects from waiting. LSM estimates
the expectation of waiting by regressing, step by step backwards, the discounted cash
flow each path realises later under the rule found so far on a polynomial of the
state at that step. The value at t = 0 is the mean of the discounted cash flows that
the fitted rule realises on the same paths (the paper's in-sample estimate);
`policy_value` applies the fitted rule to fresh paths (out of sample: a lower bound
of the true value in expectation).

Conventions:

- `state`: (paths, steps + 1) or (paths, steps + 1, k), t = 0 included.
- `exercise_value`: (paths, steps + 1), the cash flow of exercising at each step
  (column 0 is never used: exercise at t = 0 is not allowed).
- `step_discount`: one-step discount factors, a scalar, an array (steps,) whose entry
  j discounts step j + 1 to step j, or an array (paths, steps) (a stochastic rate per
  path).
- `allowed` (optional): (paths, steps + 1) booleans, False where a path may not
  exercise at a step (its option is not yet alive there, as a later tranche of a
  staged investment before the earlier one started); such a path is neither regressed
  nor exercised at that step. None: every path may exercise at every step 1..steps.
- `stop_step` is -1 on paths that never exercise; they realise 0.
- Arrays laid out step by step (the transpose of a (steps + 1, paths) array) save
  `lsm_value` a copy.
- The state is scaled per step before the basis is formed, with the center and scale
  of the paths regressed at that step, stored in the fit so that the rule applies
  unchanged to new paths: power basis, standardised ((s - mean) / std; a dimension
  with no spread keeps scale 1); Laguerre basis, divided by the mean absolute value
  (meant for non-negative states such as prices, as in the paper's division by the
  strike).
- Power basis: every monomial of the scaled state of total degree <= `degree`, cross
  terms included. Laguerre basis: a constant plus exp(-sum(x) / 2) * prod L_n(x_i)
  over the same multi-indices (for k = 1 and degree 2, the paper's constant plus three
  weighted Laguerre polynomials).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations_with_replacement

import numpy as np

#: The regression bases `lsm_value` offers.
BASES = ("power", "laguerre")


@dataclass(frozen=True)
class StepRule:
    """The fitted exercise rule at one step: the state's scaling and the regression coefficients.

    `continuation` fits the discounted cash flow of waiting (None at the last step,
    where waiting is worth 0); `exercise` fits the exercise value on the state (only
    with `regress_exercise`)."""

    center: np.ndarray
    scale: np.ndarray
    continuation: np.ndarray | None
    exercise: np.ndarray | None


@dataclass(frozen=True)
class LsmFit:
    """The result of `lsm_value`: the value at t = 0, the stopping steps, the fitted rule."""

    value: float
    stop_step: np.ndarray
    rules: tuple[StepRule | None, ...]
    basis: str
    degree: int
    regress_exercise: bool
    steps: int
    state_dims: int
    state_ndim: int

    @property
    def coefficients(self) -> tuple[np.ndarray | None, ...]:
        """Return the continuation coefficients per step 0..steps (None where none were fitted)."""
        return tuple(None if rule is None else rule.continuation for rule in self.rules)

    @property
    def exercise_coefficients(self) -> tuple[np.ndarray | None, ...]:
        """Return the exercise-value coefficients per step (None unless `regress_exercise`)."""
        return tuple(None if rule is None else rule.exercise for rule in self.rules)

    def continuation(self, step: int, state_at_step) -> np.ndarray:
        """Return the fitted value of waiting at `step` per state (0 at the last step, NaN if unfitted)."""
        states = self._states(step, state_at_step)
        rule = self.rules[step]
        if step == self.steps:
            return np.zeros(len(states))
        if rule is None:
            return np.full(len(states), np.nan)
        return _design(self.basis, self.degree, _scaled(rule, states)) @ rule.continuation

    def exercise_estimate(self, step: int, state_at_step) -> np.ndarray:
        """Return the fitted exercise value at `step` per state (`regress_exercise` only; NaN if unfitted)."""
        if not self.regress_exercise:
            raise ValueError("exercise_estimate: only a fit with regress_exercise regresses the exercise value")
        states = self._states(step, state_at_step)
        rule = self.rules[step]
        if rule is None:
            return np.full(len(states), np.nan)
        return _design(self.basis, self.degree, _scaled(rule, states)) @ rule.exercise

    def exercise(self, step: int, state_at_step, exercise_value_at_step=None) -> np.ndarray:
        """Return, per path, whether the fitted rule exercises at `step` (a bool array).

        `state_at_step` is (paths,) or (paths, k). Without `regress_exercise` the rule
        needs the exercise value known at that step (`exercise_value_at_step`, (paths,));
        with it the rule reads the state only and the argument is ignored."""
        states = self._states(step, state_at_step)
        if self.regress_exercise:
            values = None
        else:
            if exercise_value_at_step is None:
                raise ValueError("exercise_value_at_step: needed unless the fit used regress_exercise")
            values = _finite(exercise_value_at_step, "exercise_value_at_step")
            if values.shape != (len(states),):
                raise ValueError(f"exercise_value_at_step: shape {values.shape}, expected ({len(states)},)")
        rule = self.rules[step]
        last = step == self.steps
        if rule is None and (self.regress_exercise or not last):
            return np.zeros(len(states), bool)
        design = None if rule is None else _design(self.basis, self.degree, _scaled(rule, states))
        return _decide(rule, last, design, values)

    def stop_steps(self, state, exercise_value=None, allowed=None) -> np.ndarray:
        """Return the first step at which the fitted rule exercises on each of new paths (-1: never),
        at steps where `allowed` (None: everywhere)."""
        states = _state_array(state)
        paths, columns = states.shape[:2]
        wrong = np.ndim(state) != self.state_ndim or states.shape[2] != self.state_dims
        if columns != self.steps + 1 or wrong:
            raise ValueError(f"state: shape {np.shape(state)}, expected (paths, {self.steps + 1}"
                             f"{', ' + str(self.state_dims) if self.state_ndim == 3 else ''})")
        values = None
        if exercise_value is not None:
            values = _finite(exercise_value, "exercise_value")
            if values.shape != (paths, self.steps + 1):
                raise ValueError(f"exercise_value: shape {values.shape}, expected {(paths, self.steps + 1)}")
        alive = _allowed(allowed, (paths, self.steps + 1))
        stop = np.full(paths, -1)
        for step in range(1, self.steps + 1):
            at_step = None if values is None else values[:, step]
            fires = self.exercise(step, states[:, step], at_step) & (stop < 0) & alive[:, step]
            stop[fires] = step
        return stop

    def _states(self, step: int, state_at_step) -> np.ndarray:
        """Return a step's states as (paths, k), after checking the step and the shape."""
        if not 1 <= step <= self.steps:
            raise ValueError(f"step={step}: exercise is allowed at steps 1..{self.steps}")
        states = _finite(state_at_step, "state_at_step")
        if states.ndim == 1:
            states = states[:, None]
        if states.ndim != 2 or states.shape[1] != self.state_dims:
            raise ValueError(f"state_at_step: shape {np.shape(state_at_step)}, "
                             f"expected (paths,) or (paths, {self.state_dims})")
        return states


def lsm_value(state, exercise_value, step_discount, degree: int = 2, *, basis: str = "power",
              regress_exercise: bool = False, allowed=None) -> LsmFit:
    """Return the LSM fit of an optimal-stopping problem: value at t = 0, stop steps, the rule.

    Without `regress_exercise`, the regression at each step uses the in-the-money paths
    (exercise value > 0) and the rule exercises where the exercise value beats the
    fitted continuation. With `regress_exercise` (for exercise values that depend on
    the path's future, such as a project's realised value), both the exercise value and
    the continuation are regressed on the state over all paths at that step, and the rule
    exercises where the fitted exercise value is positive and beats the fitted
    continuation: it reads only the state known at that step, while the value still
    adds up the realised cash flows. A step with fewer regressed paths than basis
    functions never exercises (without `regress_exercise`, the last step needs no
    regression: it exercises wherever the exercise value is positive). Where `allowed` is
    False a path is neither regressed nor exercised at that step.
    """
    checked, values, discounts = _checked(state, exercise_value, step_discount, degree, basis)
    paths, columns, dims = checked.shape
    alive = np.ascontiguousarray(_allowed(allowed, (paths, columns)).T)
    steps = columns - 1
    states = np.ascontiguousarray(checked.transpose(1, 0, 2))  # one (paths, k) block per step
    values = np.ascontiguousarray(values.T)
    discounts = np.ascontiguousarray(discounts.T)
    size = basis_size(dims, degree, basis)
    cash = np.zeros(paths)  # each path's cash flow under the rule, discounted to the current step
    stop = np.full(paths, -1)
    rules: list[StepRule | None] = [None] * columns
    for step in range(steps, 0, -1):
        if step < steps:
            cash = cash * discounts[step]
        at_step = values[step]
        regressed = alive[step] if regress_exercise else (at_step > 0) & alive[step]
        needs_fit = regress_exercise or step < steps
        design = None
        if needs_fit:
            if regressed.sum() < size:
                continue
            rules[step], design = _fit_step(basis, degree, states[step], regressed, cash, at_step,
                                            step < steps, regress_exercise)
        fires = _decide(rules[step], step == steps, design, None if regress_exercise else at_step) & alive[step]
        cash = np.where(fires, at_step, cash)
        stop[fires] = step
    value = float(np.mean(cash * discounts[0]))
    stop.setflags(write=False)
    return LsmFit(value, stop, tuple(rules), basis, degree, regress_exercise, steps, dims, np.ndim(state))


def policy_value(fit: LsmFit, state, exercise_value, step_discount, allowed=None) -> float:
    """Return the mean discounted cash flow of applying a fitted rule to other paths (out of sample)."""
    return float(np.mean(path_values(fit, state, exercise_value, step_discount, allowed)))


def path_values(fit: LsmFit, state, exercise_value, step_discount, allowed=None) -> np.ndarray:
    """Return each path's discounted cash flow under a fitted rule (0 where it never exercises)."""
    states, values, discounts = _checked(state, exercise_value, step_discount, fit.degree, fit.basis)
    stop = fit.stop_steps(state, exercise_value, allowed)
    to_zero = np.cumprod(np.concatenate([np.ones((len(stop), 1)), discounts], axis=1), axis=1)
    rows = np.flatnonzero(stop >= 0)
    realised = np.zeros(len(stop))
    realised[rows] = values[rows, stop[rows]] * to_zero[rows, stop[rows]]
    return realised


def basis_exponents(dims: int, degree: int) -> tuple[tuple[int, ...], ...]:
    """Return the multi-indices (an exponent per state dimension) of total degree <= degree, constant first."""
    out = []
    for total in range(degree + 1):
        for combo in combinations_with_replacement(range(dims), total):
            out.append(tuple(combo.count(d) for d in range(dims)))
    return tuple(out)


def basis_size(dims: int, degree: int, basis: str) -> int:
    """Return the number of basis functions (regression columns) for a state of `dims` dimensions."""
    return len(basis_exponents(dims, degree)) + (1 if basis == "laguerre" else 0)


def _fit_step(basis, degree, states, regressed, cash, at_step, waits,
              regress_exercise) -> tuple[StepRule, np.ndarray]:
    """Return the rule fitted at one step on the `regressed` paths, and the design of every path."""
    everyone = regressed.all()
    center, scale = _scaling(basis, states if everyone else states[regressed])
    design = _design(basis, degree, (states - center) / scale)
    rows = design if everyone else design[regressed]
    continuation = _lstsq(rows, cash if everyone else cash[regressed]) if waits else None
    exercise = _lstsq(rows, at_step if everyone else at_step[regressed]) if regress_exercise else None
    return StepRule(center, scale, continuation, exercise), design


def _decide(rule: StepRule | None, last: bool, design: np.ndarray | None,
            values: np.ndarray | None) -> np.ndarray:
    """Return where a step's rule exercises, given the design of its paths' states (None without a
    rule); `values` are the exercise values, None under `regress_exercise`."""
    if rule is None:
        return values > 0  # the last step needs no regression
    waiting = 0.0 if last else design @ rule.continuation
    now = design @ rule.exercise if values is None else values
    return (now > 0) & (now > waiting)


def _lstsq(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Return least-squares coefficients (minimum norm where the design is rank-deficient)."""
    coefficients = np.linalg.lstsq(design, target, rcond=None)[0]
    coefficients.setflags(write=False)
    return coefficients


def _scaling(basis: str, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the (center, scale) per state dimension of the regressed paths at a step."""
    if basis == "power":
        center, scale = states.mean(axis=0), states.std(axis=0)
    else:
        center, scale = np.zeros(states.shape[1]), np.abs(states).mean(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    center.setflags(write=False)
    scale.setflags(write=False)
    return center, scale


def _scaled(rule: StepRule, states: np.ndarray) -> np.ndarray:
    """Return states (paths, k) scaled as the rule's step was when it was fitted."""
    return (states - rule.center) / rule.scale


def _design(basis: str, degree: int, scaled: np.ndarray) -> np.ndarray:
    """Return the regression matrix (paths, basis size) of scaled states (paths, k)."""
    paths, dims = scaled.shape
    powers = _laguerre(scaled, degree) if basis == "laguerre" else _powers(scaled, degree)
    exponents = basis_exponents(dims, degree)
    offset = 1 if basis == "laguerre" else 0
    design = np.ones((paths, offset + len(exponents)))
    for column, exponent in enumerate(exponents, start=offset):
        for dim, power in enumerate(exponent):
            if power:
                design[:, column] *= powers[power][:, dim]
    if basis == "laguerre":
        design[:, 1:] *= np.exp(-scaled.sum(axis=1) / 2)[:, None]
    return design


def _powers(x: np.ndarray, degree: int) -> list[np.ndarray]:
    """Return [x**0, x**1, ..., x**degree], elementwise."""
    out = [np.ones_like(x)]
    for _ in range(degree):
        out.append(out[-1] * x)
    return out


def _laguerre(x: np.ndarray, degree: int) -> list[np.ndarray]:
    """Return the Laguerre polynomials [L_0(x), ..., L_degree(x)], by their three-term recurrence."""
    out = [np.ones_like(x), 1 - x]
    for n in range(1, degree):
        out.append(((2 * n + 1 - x) * out[n] - n * out[n - 1]) / (n + 1))
    return out[:degree + 1]


def _finite(array, name: str) -> np.ndarray:
    """Return `array` as floats, or raise naming it if it holds NaN or infinity."""
    out = np.asarray(array, dtype=float)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name}: holds NaN or infinite values")
    return out


def _allowed(allowed, shape: tuple[int, int]) -> np.ndarray:
    """Return the (paths, steps + 1) mask of where exercise is allowed (None: everywhere), checked."""
    if allowed is None:
        return np.ones(shape, bool)
    mask = np.asarray(allowed)
    if mask.shape != shape or mask.dtype != bool:
        raise ValueError(f"allowed: {mask.dtype} of shape {mask.shape}, expected booleans of shape {shape}")
    return mask


def _state_array(state) -> np.ndarray:
    """Return the state as (paths, steps + 1, k)."""
    states = _finite(state, "state")
    if states.ndim == 2:
        return states[:, :, None]
    if states.ndim != 3:
        raise ValueError(f"state: shape {states.shape}, expected (paths, steps + 1) or (paths, steps + 1, k)")
    return states


def _checked(state, exercise_value, step_discount, degree, basis):
    """Return (states (paths, steps + 1, k), exercise values, discounts (paths, steps)), checked."""
    if basis not in BASES:
        raise ValueError(f"basis={basis!r}: expected one of {', '.join(BASES)}")
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ValueError(f"degree={degree!r}: expected an integer >= 0")
    states = _state_array(state)
    paths, columns = states.shape[:2]
    if columns < 2 or paths < 1:
        raise ValueError(f"state: shape {states.shape[:2]}, expected at least 1 path and 2 steps (t = 0 and 1)")
    values = _finite(exercise_value, "exercise_value")
    if values.shape != (paths, columns):
        raise ValueError(f"exercise_value: shape {values.shape}, expected {(paths, columns)} like state")
    discounts = _finite(step_discount, "step_discount")
    steps = columns - 1
    if discounts.shape not in ((), (steps,), (paths, steps)):
        raise ValueError(f"step_discount: shape {discounts.shape}, "
                         f"expected a scalar, ({steps},) or {(paths, steps)}")
    if np.any(discounts <= 0):
        raise ValueError("step_discount: one-step discount factors must be > 0")
    return states, values, np.broadcast_to(discounts, (paths, steps))
