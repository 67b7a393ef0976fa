"""Sobol' indices of the Ishigami function against its closed form; Morris' screen ranks its inputs."""

import warnings

import numpy as np
import pytest

from sim.errors import UserError
from sim.explore.analysis import wide_intervals_note
from sim.explore.design import draw
from sim.explore.sensitivity import morris_screen, sobol_indices

A, B = 7.0, 0.1
PI = np.pi


def ishigami(x):
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def closed_form():
    """Return (S1, ST) of the Ishigami function from its variance decomposition."""
    v1 = 0.5 * (1 + B * PI ** 4 / 5) ** 2
    v2 = A ** 2 / 8
    v13 = B ** 2 * PI ** 8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    return np.array([v1, v2, 0]) / total, np.array([v1 + v13, v2, v13]) / total


def test_sobol_indices_of_ishigami_match_the_closed_form():
    design = draw("saltelli", ["x1", "x2", "x3"], [(-PI, PI)] * 3, 4096, seed=11)
    assert len(design.points) == 4096 * 5
    found = sobol_indices(design, ishigami(design.points))
    first, total = closed_form()
    assert np.allclose(first, [0.3139, 0.4424, 0.0], atol=1e-4)  # the closed form itself
    assert np.allclose(total, [0.5576, 0.4424, 0.2437], atol=1e-4)
    assert np.allclose(found["S1"], first, atol=0.04)
    assert np.allclose(found["ST"], total, atol=0.04)
    assert (found["S1_conf"] > 0).all() and (found["S1_conf"] < 0.1).all()


def test_morris_effects_of_a_linear_function_are_its_slopes():
    design = draw("morris", ["a", "b", "c"], [(0, 1)] * 3, 20, seed=5)
    found = morris_screen(design, design.points @ np.array([3.0, -1.0, 0.0])).set_index("input")
    assert np.allclose(found["mu_star"], [3, 1, 0])  # |slope| over the unit range
    assert np.allclose(found["sigma"], 0, atol=1e-9)  # no curvature, no interaction


def test_indices_refuse_the_wrong_design_and_missing_outputs():
    design = draw("sobol", ["a", "b"], [(0, 1)] * 2, 16, seed=1)
    with pytest.raises(UserError, match="saltelli"):
        sobol_indices(design, np.zeros(16))
    saltelli = draw("saltelli", ["a", "b"], [(0, 1)] * 2, 8, seed=1)
    outputs = np.ones(len(saltelli.points))
    outputs[3] = np.nan
    with pytest.raises(UserError, match="no finite output"):
        sobol_indices(saltelli, outputs)


def test_a_sobol_design_not_a_power_of_2_draws_without_scipys_warning_and_has_a_note():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sobol = draw("sobol", ["a"], [(0, 1)], 5, seed=1)
        saltelli = draw("saltelli", ["a", "b"], [(0, 1)] * 2, 3, seed=1)
    assert len(sobol.points) == 5 and len(saltelli.points) == 3 * 4
    assert sobol.balance_note() == ("points=5: the sobol design draws 5 Sobol' points, which cover the "
                                    "ranges evenly only in a power of 2 (4, 8, ...); 5 leave parts of "
                                    "them denser than others: pass points=8 (or 4)")
    assert saltelli.balance_note("--points").startswith("--points=3: the saltelli design draws 3 Sobol' "
                                                        "points (its base points)")
    assert draw("sobol", ["a"], [(0, 1)], 8, seed=1).balance_note() is None
    assert draw("lhs", ["a"], [(0, 1)], 5, seed=1).balance_note() is None


def test_indices_of_too_few_points_are_said_unreadable():
    few = draw("saltelli", ["x1", "x2", "x3"], [(-PI, PI)] * 3, 4, seed=11)
    note = wide_intervals_note(sobol_indices(few, ishigami(few.points)), 4)
    assert len(note) == 1 and note[0].startswith("The Sobol' indices' 95% intervals are too wide to read")
    many = draw("saltelli", ["x1", "x2", "x3"], [(-PI, PI)] * 3, 4096, seed=11)
    assert wide_intervals_note(sobol_indices(many, ishigami(many.points)), 4096) == []


def test_morris_effects_are_in_the_outputs_unit_over_each_inputs_whole_range():
    """README and docs/model.md say mu* is the output's change across the input's whole range
    (SALib's effects are per unit of the scaled input): y = 3a + b over a in [0, 10] and b in
    [100, 200] gives 30 and 100, not the slopes 3 and 1."""
    design = draw("morris", ["a", "b"], [(0, 10), (100, 200)], 20, seed=5)
    found = morris_screen(design, design.points @ np.array([3.0, 1.0])).set_index("input")
    assert np.allclose(found["mu_star"], [30, 100])
