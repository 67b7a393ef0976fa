"""Inputs and boxes in words: labels from keys, values in their units, the sentence."""

import math

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from sim.explore.analysis import Scenario
from sim.explore.prim import prim
from sim.explore.words import condition, in_unit, label, money, outward, sentence


def test_labels_and_units():
    assert label("site.conversion.capex_usd_per_mw_it.median") == "capex (median)"
    assert label("market.ai.lease_start_usd_per_kw_month") == "lease start"
    assert label("run.valuation.cap_rate") == "cap rate"
    assert label("run.discount_rates.contracted") == "discount rate (contracted)"
    assert label("world.lease_usd_per_kw_month_mean") == "world lease (mean)"
    assert in_unit(8.1e6, "USD/MW of IT") == "$8.1M/MW of IT"
    assert in_unit(142.0, "USD/kW/month") == "$142/kW/month"
    assert in_unit(0.095, "1/year") == "9.5%/yr"
    assert money(-2.5e8) == "-$250M"


def test_the_sentence_states_the_box_and_its_shares():
    rng = np.random.default_rng(2)
    cases = pd.DataFrame({"market.ai.lease_start_usd_per_kw_month": rng.uniform(100, 170, 2000),
                          "run.discount_rate": rng.uniform(0.07, 0.12, 2000)})
    wins = (cases["market.ai.lease_start_usd_per_kw_month"] >= 142).to_numpy()
    found = prim(cases, wins)
    text = sentence(Scenario("convert_all", "stay_mining", "npv_usd", 0.0, found, 2000),
                    {"market.ai.lease_start_usd_per_kw_month": "USD/kW/month", "run.discount_rate": "1/year"})
    assert text.startswith("convert_all beats stay_mining (npv_usd) in 100% of cases where lease start ≥ $14")
    assert "/kW/month" in text and "discount rate" not in text
    assert f"against {wins.mean():.0%} of all 2,000 cases" in text


def test_the_sentence_counts_the_design_points_in_the_box_and_warns_when_few():
    """Cases are worlds at design points: ten worlds at one point share its inputs, so the
    sentence says how many points the box holds (an audit: a box fencing 2 of 16 points
    read as a finding about capex)."""
    rng = np.random.default_rng(5)
    for points in (64, 16):
        design = pd.DataFrame({"market.ai.lease_start_usd_per_kw_month": rng.uniform(100, 170, points),
                               "run.discount_rate": rng.uniform(0.07, 0.12, points)})
        cases = design.loc[design.index.repeat(10)].reset_index(drop=True)  # 10 worlds a point
        wins = ((cases["market.ai.lease_start_usd_per_kw_month"] >= 160).to_numpy()
                & (rng.random(len(cases)) < 0.9))
        found = prim(cases, wins)
        inside = np.ones(len(cases), dtype=bool)
        for name, (low, high) in found.box.limits.items():
            inside &= (cases[name] >= low).to_numpy() & (cases[name] <= high).to_numpy()
        held = len(cases[inside].drop_duplicates())
        assert (found.points, found.box.points) == (points, held)
        text = sentence(Scenario("convert_all", "stay_mining", "npv_usd", 0.0, found, len(cases)), {})
        assert f"this box holds {found.box.mass:.0%} of the cases, {held:,} of the {points:,} design points" in text
        assert ("weak evidence" in text) == (held < 5)


def test_a_bound_as_written_holds_the_points_the_box_holds():
    """Before: bounds were rounded to the nearest, so a lower bound on a design point's
    value, 7.4568%, read '≥ 7.46%' and left that point out of the box as written (in an
    8-point Saltelli run of the README's ranges the written box held 29 points, PRIM's 36)."""
    assert condition("run.discount_rate", 0.07456826281733811, None, "1/year") == (
        "discount rate ≥ 7.45%/yr")
    assert condition("run.valuation.cap_rate", None, 0.08418999306857586, "1/year") == (
        "cap rate ≤ 8.42%/yr")
    assert condition("site.conversion.capex_usd_per_mw_it.median", 4.04e6, 9706843.3,
                     "USD/MW of IT") == "$4.04M/MW of IT ≤ capex (median) ≤ $9.71M/MW of IT"


@given(value=st.floats(-1e12, 1e12, allow_nan=False).filter(lambda v: abs(v) > 1e-9),
       up=st.booleans())
def test_outward_rounds_to_three_digits_away_from_the_box(value, up):
    bound = outward(value, up)
    assert ((bound >= value) if up else (bound <= value)) or math.isclose(bound, value, rel_tol=1e-9)
    assert math.isclose(float(f"{bound:.3g}"), bound, rel_tol=1e-12)
    assert abs(bound - value) <= 10 ** (math.floor(math.log10(abs(value))) - 2) * (1 + 1e-9)


def test_the_worlds_features_are_named_with_their_units():
    """Before: with --features the sentence read 'world network hashrate ≤ 0.212' (a growth
    per year, its name cut at _ehs), 'world short rate mean (mean)', 'world gpu' and
    'world hashprice (mean) ≤ 22.9', without a unit."""
    assert label("world.network_hashrate_ehs_growth_per_year") == "world network hashrate growth (log)"
    assert label("world.short_rate_mean") == "world short rate (mean)"
    assert label("world.gpu_usd_per_hour_trend_per_year") == "world GPU price trend (log)"
    assert label("world.btc_usd_end") == "world BTC price (end)"
    rng = np.random.default_rng(3)
    cases = pd.DataFrame({"world.hashprice_usd_per_ph_day_mean": rng.uniform(20, 60, 500),
                          "world.network_hashrate_ehs_growth_per_year": rng.uniform(0, 0.5, 500)})
    wins = ((cases["world.hashprice_usd_per_ph_day_mean"] <= 30)
            & (cases["world.network_hashrate_ehs_growth_per_year"] <= 0.3)).to_numpy()
    text = sentence(Scenario("convert_all", "stay_mining", "npv_usd", 0.0, prim(cases, wins), 500), {})
    assert "world hashprice (mean) ≤ $3" in text and "/PH/day" in text
    assert "world network hashrate growth (log) ≤ 3" in text and "%/yr" in text
