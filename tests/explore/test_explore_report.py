"""The experiment's outputs: explore.html and explore.xlsx name each input's unit."""

import re

import numpy as np
import pandas as pd
import pytest

from sim.explore.analysis import Scenario
from sim.explore.prim import prim
from sim.explore.report import Findings, page, write_outputs
from sim.explore.run import prepare

SMALL = ["run.horizon_years=1", "site.blocks=4", "run.replications=4",
         "strategy=[stay_mining,convert_all]"]
UNITS = {"run.discount_rate": "1/year"}


@pytest.fixture
def experiment(compose_constant):
    return prepare(compose_constant(*SMALL), {"run.discount_rate": "0.05:0.15"}, design="lhs",
                   points=2)


def found_with_a_world_feature() -> Findings:
    """Return findings whose PRIM box cuts an explored input and a world feature (--features)."""
    rng = np.random.default_rng(3)
    cases = pd.DataFrame({"run.discount_rate": rng.uniform(0.05, 0.15, 500),
                          "world.hashprice_usd_per_ph_day_mean": rng.uniform(20, 60, 500)})
    wins = ((cases["run.discount_rate"] <= 0.1)
            & (cases["world.hashprice_usd_per_ph_day_mean"] <= 30)).to_numpy()
    scenario = Scenario("convert_all", "stay_mining", "npv_usd", 0.0, prim(cases, wins), 500)
    points = pd.DataFrame({"point": [0, 1], "run.discount_rate": [0.07, 0.12],
                           "strategy": ["convert_all"] * 2, "npv_usd mean": [1e8, 2e8]})
    return Findings(points, [scenario], pd.DataFrame(), [], dict(UNITS))


def html_tables(text: str) -> list[list[list[str]]]:
    """Return each table of a page as rows of cells, the header row first."""
    return [[re.findall(r"<t[hd]>(.*?)</t[hd]>", row) for row in re.findall(r"<tr.*?</tr>", table, re.S)]
            for table in re.findall(r"<table.*?</table>", text, re.S)]


def test_the_pages_tables_name_each_inputs_unit_world_features_included(experiment):
    """Before: the boxes table's low and high, and the design points' inputs, had no unit
    (a world feature's bound read 29.9, of hashprice in USD per PH/s-day)."""
    boxes, points = html_tables(page(experiment, found_with_a_world_feature(), "npv_usd", 1.0))
    header = boxes[0]
    units = {row[header.index("input")]: row[header.index("unit")] for row in boxes[1:]}
    assert units == {"run.discount_rate": "1/year", "world.hashprice_usd_per_ph_day_mean": "USD/PH/day"}
    assert points[0][:2] == ["point", "run.discount_rate (1/year)"]
    assert "npv_usd mean (USD)" in points[0]


def test_the_workbook_names_the_units_of_prims_bounds_and_the_csvs_stay_as_they_were(experiment,
                                                                                       tmp_path):
    found = found_with_a_world_feature()
    write_outputs(tmp_path, experiment, found, "npv_usd", 1.0, xlsx=True)
    book = pd.read_excel(tmp_path / "explore.xlsx", sheet_name=None)
    assert {"run.discount_rate low (1/year)", "world.hashprice_usd_per_ph_day_mean high (USD/PH/day)"
            } <= set(book["prim"].columns)
    assert list(book["boxes"].columns[2:4]) == ["input", "unit"]
    assert list(pd.read_csv(tmp_path / "boxes.csv").columns) == list(found.boxes().columns)
    assert "unit" not in found.boxes() and "run.discount_rate low" in found.prim_table()
