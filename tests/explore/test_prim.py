"""PRIM finds a planted box; the trajectory's coverage and density are those of its boxes."""

import numpy as np
import pandas as pd
from hypothesis import given, settings, strategies as st

from sim.explore.prim import prim

PLANTED = {"x1": (0.2, 0.6), "x3": (0.5, 0.9)}


def planted_cases(n=4000, seed=7):
    rng = np.random.default_rng(seed)
    cases = pd.DataFrame(rng.uniform(0, 1, size=(n, 4)), columns=["x0", "x1", "x2", "x3"])
    inside = np.ones(n, dtype=bool)
    for name, (low, high) in PLANTED.items():
        inside &= cases[name].between(low, high).to_numpy()
    return cases, inside


def test_prim_finds_a_planted_box_and_leaves_the_other_inputs_free():
    cases, interesting = planted_cases()
    found = prim(cases, interesting)
    cut = found.box.restricted(found.bounds)
    assert set(cut) == set(PLANTED)  # x0 and x2 stay unrestricted
    resolution = 0.02  # the gap between neighbouring cases along one input, with margin
    for name, (low, high) in PLANTED.items():
        assert abs(cut[name][0] - low) < resolution and abs(cut[name][1] - high) < resolution
    assert found.box.density == 1.0
    assert found.box.coverage > 0.97
    assert abs(found.base_density - interesting.mean()) < 1e-12


def test_the_trajectory_measures_each_box_by_hand():
    cases, interesting = planted_cases(n=600, seed=3)
    found = prim(cases, interesting)
    table = found.trajectory
    assert table["coverage"].iloc[0] == 1.0 and table["mass"].iloc[0] == 1.0
    assert (np.diff(table["mass"]) < 0).all()  # every peel removes cases
    for _, row in table.sample(5, random_state=1).iterrows():
        inside = np.ones(len(cases), dtype=bool)
        for name in cases.columns:
            inside &= cases[name].between(row[f"{name} low"], row[f"{name} high"]).to_numpy()
        assert row["density"] == interesting[inside].mean()
        assert row["coverage"] == interesting[inside].sum() / interesting.sum()
    assert table["chosen"].sum() == 1


def test_no_case_of_interest_leaves_the_whole_box():
    cases, _ = planted_cases(n=300)
    found = prim(cases, np.zeros(len(cases), dtype=bool))
    assert found.box.restricted(found.bounds) == {} and found.box.density == 0.0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), inputs=st.integers(2, 4), points=st.integers(8, 40),
       repeats=st.integers(1, 10))
def test_every_stated_bound_cuts_off_a_case_within_the_other_limits(seed, inputs, points, repeats):
    """A bound that excludes no case, given the box's other limits, says nothing the cases
    support: 'lease start <= $163' where no case with the other limits lay above $163 (an
    audit of hashpivot-explore's sentence). Cases come as design points repeated over worlds,
    as explore makes them; whether one pays mixes the inputs and noise."""
    rng = np.random.default_rng(seed)
    design = rng.random((points, inputs))
    x = np.repeat(design, repeats, axis=0)
    score = x @ rng.normal(size=inputs) + 0.3 * rng.standard_normal(len(x))
    cases = pd.DataFrame(x, columns=[f"x{j}" for j in range(inputs)])
    found = prim(cases, score > np.quantile(score, 0.6))
    limits = found.box.limits
    for name, (low, high) in found.box.restricted(found.bounds).items():
        others = np.all([(cases[o] >= limits[o][0]) & (cases[o] <= limits[o][1])
                         for o in cases.columns if o != name], axis=0)
        if low is not None:
            assert (others & (cases[name] < low)).any(), (name, "low", low)
        if high is not None:
            assert (others & (cases[name] > high)).any(), (name, "high", high)
