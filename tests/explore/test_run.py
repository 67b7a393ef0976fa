"""Running an experiment: the same worlds at every point, resumable points, another experiment refused."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import sim
import sim.explore.run as explore_run
from sim.arguments import ArgumentError
from sim.errors import UserError
from sim.explore.pipeline import explore
from sim.explore.run import point_path, prepare, run_in_memory, run_points
from sim.ranges import with_values

SMALL = ["run.horizon_years=1", "site.blocks=4", "run.replications=4",
         "strategy=[stay_mining,convert_all]"]
RATE = {"run.discount_rate": "0.05:0.15"}


@pytest.fixture
def small(compose_constant):
    return compose_constant(*SMALL)


def with_points(experiment, points):
    design = dataclasses.replace(experiment.design, points=np.asarray(points, dtype=float),
                                 base_points=len(points))
    return dataclasses.replace(experiment, design=design)


def test_two_points_with_the_same_inputs_give_identical_rows(compose_small):
    experiment = prepare(compose_small(*SMALL), {**RATE, "site.hosting.escalator_per_year": "0:0.05"},
                         points=4)
    twice = with_points(experiment, [[0.08, 0.02], [0.08, 0.02]])
    rows = run_in_memory(twice)
    first = rows[rows["point"] == 0].drop(columns="point").reset_index(drop=True)
    second = rows[rows["point"] == 1].drop(columns="point").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, second)
    assert len(first) == 4 * 2 and first["world.btc_usd_mean"].nunique() == 4


def test_a_point_is_the_run_of_its_config(small):
    experiment = with_points(prepare(small, RATE, points=2), [[0.07], [0.13]])
    rows = run_in_memory(experiment).set_index(["point", "strategy", "replication"]).sort_index()
    for point, rate in ((0, 0.07), (1, 0.13)):
        direct = sim.run(_with(small, rate)).summary
        direct = direct.set_index(["strategy", "replication"])["npv_usd"]
        assert np.allclose(rows.loc[point, "npv_usd"].sort_index(), direct.sort_index())
        assert (rows.loc[point, "run.discount_rate"] == rate).all()


def _with(cfg, rate):
    return with_values(cfg, {"run.discount_rate": rate, "run.progress": False})


def test_resume_skips_finished_points_and_refuses_another_experiment(small, tmp_path, monkeypatch):
    experiment = prepare(small, RATE, design="lhs", points=3)
    first = run_points(experiment, tmp_path)
    point_path(tmp_path, 1).unlink()
    calls = []
    real = explore_run.run
    monkeypatch.setattr(explore_run, "run", lambda cfg: calls.append(cfg) or real(cfg))
    again = run_points(experiment, tmp_path)
    assert len(calls) == 1  # only the missing point
    pd.testing.assert_frame_equal(first, again)
    other = prepare(small, {"run.discount_rate": "0.05:0.2"}, design="lhs", points=3)
    with pytest.raises(UserError, match="holds another experiment \\(different ranges\\)"):
        run_points(other, tmp_path)


def test_outputs_of_a_saltelli_experiment(small, tmp_path):
    experiment = prepare(small, {**RATE, "site.conversion.capex_usd_per_mw_it": "6e6:12e6"},
                         design="saltelli", points=4)
    found = explore(experiment, tmp_path, xlsx=True)
    assert len(experiment.design.points) == 4 * 4
    for name in ("points.csv", "prim.csv", "sobol.csv", "explore.html", "explore.xlsx"):
        assert (tmp_path / name).stat().st_size > 0
    points = pd.read_csv(tmp_path / "points.csv")
    assert len(points) == 16 * 2
    assert set(found.sensitivity["output"]) == {"npv_usd mean of stay_mining", "npv_usd mean of convert_all",
                                                "npv_usd difference convert_all - stay_mining"}
    medians = points["site.conversion.capex_usd_per_mw_it.median"]
    assert medians.between(6e6, 12e6).all()
    mining = found.sensitivity[found.sensitivity["output"] == "npv_usd mean of stay_mining"]
    capex = mining[mining["input"] == "site.conversion.capex_usd_per_mw_it.median"]
    assert float(capex["ST"].iloc[0]) == pytest.approx(0, abs=1e-9)  # mining never pays for conversion
    assert "beats stay_mining" in found.sentences[0]


def test_an_earlier_experiments_outputs_never_stay_beside_a_new_ones(small, tmp_path):
    experiment = prepare(small, RATE, design="sobol", points=2)  # no sensitivity table
    # the folder of an earlier command of this experiment (its signature), with other outputs
    (tmp_path / "explore.json").write_text(json.dumps(experiment.signature()))
    for name in ("morris.csv", "explore.xlsx", "explore.html", "points.csv"):
        (tmp_path / name).write_text("an earlier experiment's")
    explore(experiment, tmp_path)  # and no --xlsx
    assert not (tmp_path / "morris.csv").exists() and not (tmp_path / "explore.xlsx").exists()
    for name in ("explore.html", "points.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8") != "an earlier experiment's"


def test_a_bad_range_is_refused_before_anything_runs(small):
    with pytest.raises(UserError, match="^run.discount_rate=0.5:0.3: LOW must be below HIGH$"):
        prepare(small, {"run.discount_rate": "0.5:0.3"})
    with pytest.raises(UserError, match="^site.hosting.escalator_per_year=0:2: must be in \\[0, 1\\]$"):
        prepare(small, {"site.hosting.escalator_per_year": "0:2"})
    with pytest.raises(UserError, match="no such key"):
        prepare(small, {"run.no_such_rate": "0:1"})


def test_bad_arguments_are_named_as_python_passes_them(small, compose_constant, tmp_path):
    """prepare and explore named hashpivot-explore's flags ("--design=grid", "--out=...",
    "name two or more with --strategies"), which no Python caller typed."""
    def line(call, *args, **kwargs) -> str:
        with pytest.raises(UserError) as refused:
            call(*args, **kwargs)
        return str(refused.value)

    assert line(prepare, small, RATE, design="grid") == ("design='grid': must be one of sobol, lhs, "
                                                         "saltelli, morris")
    assert line(prepare, small, RATE, points=1) == "points=1: must be >= 2"
    experiment = prepare(small, RATE, design="lhs", points=2)
    assert line(explore, experiment, metric="npv_usdd").startswith(
        "metric='npv_usdd': not a summary column; one of npv_usd, ")
    assert line(explore, experiment, against="phased") == (
        "against='phased': not a strategy of this experiment; one of stay_mining, convert_all")
    taken = tmp_path / "a_file"
    taken.write_text("")
    assert line(explore, experiment, out_dir=taken) == (f"out_dir={str(taken)!r}: exists and is "
                                                        "not a directory")
    alone = prepare(compose_constant(*SMALL[:3], "strategy=[convert_all]"), RATE, points=2)
    assert line(explore, alone, against="convert_all") == (
        "against='convert_all': needs another strategy to compare; select two or more with strategy=")


@pytest.mark.parametrize(("specs", "line"), [
    ({"run.seed": "1:100"}, "run.seed=1:100: cannot be explored: every point runs the same worlds"),
    ({"run.replications": [2, 10]}, "run.replications=[2, 10]: cannot be explored: every point runs "
                                    "the same number of worlds; give one, run.replications=N"),
    ({**RATE, "run.workers": "1:4"}, "run.workers=1:4: cannot be explored: it sets how the points"),
])
def test_prepare_refuses_a_range_over_what_every_point_shares(specs, line, small):
    with pytest.raises(ArgumentError) as refused:
        prepare(small, specs, points=2)
    assert str(refused.value).startswith(line)
