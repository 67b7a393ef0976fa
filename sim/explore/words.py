"""Explored inputs in words: labels from config keys, values in their units, PRIM's box as a sentence."""

from __future__ import annotations

import math

from sim.explore.analysis import Scenario
from sim.explore.run import WORLD_PREFIX
from sim.montecarlo import WORLD_FEATURE_WORDS

#: Where a key's name stops being its label and starts being its unit.
UNIT_PARTS = ("_usd", "_per_", "_mw", "_kw", "_ehs", "_ph", "_mwh")
#: Sections whose keys are named by their section: run.discount_rates.contracted -> 'discount rate (contracted)'.
PARENT_LABELS = {"discount_rates": "discount rate", "terminal_multiple": "terminal multiple"}
PERCENT_UNITS = {"1/year": "%/yr", "share/year": "%/yr", "share": "%", "probability": "%",
                 "fraction": "%"}
#: The world's features PRIM may cut with --features (`sim.montecarlo.world_features`): their
#: words and units (their names' endings, _growth_per_year or _end, are not units).
WORLD_FEATURES = {name: (words, unit) for name, (_, words, unit) in WORLD_FEATURE_WORDS.items()}


def unit_of(column: str, units: dict) -> str:
    """Return the unit of an input column: the explored range's (`units`), or a world feature's."""
    if column in units:
        return units[column]
    return WORLD_FEATURES.get(column[len(WORLD_PREFIX):], ("", ""))[1] if column.startswith(
        WORLD_PREFIX) else ""


def label(column: str) -> str:
    """Return the words of an input column: `site.conversion.capex_usd_per_mw_it.median` -> 'capex (median)'."""
    world = column.startswith(WORLD_PREFIX)
    name = column[len(WORLD_PREFIX):] if world else column
    if world and name in WORLD_FEATURES:
        return f"world {WORLD_FEATURES[name][0]}"
    parameter = ""
    last = name.rsplit(".", 1)[-1]
    if last in ("median", "value") and "." in name:
        parameter, name = f" ({last})", name.rsplit(".", 1)[0]
        last = name.rsplit(".", 1)[-1]
    parent = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""
    if parent in PARENT_LABELS:
        return f"{PARENT_LABELS[parent]} ({last.replace('_', ' ')}){parameter}"
    cut = min([last.find(p) for p in UNIT_PARTS if last.find(p) > 0], default=len(last))
    words = last[:cut].replace("_", " ").strip() or last.replace("_", " ")
    if world and last.endswith("_mean"):
        words += " (mean)"
    return f"{'world ' if world else ''}{words}{parameter}"


def money(value: float) -> str:
    """Return USD in short words: 8.1e6 -> '$8.1M', 142 -> '$142', -2.5e8 -> '-$250M'."""
    sign, value = ("-" if value < 0 else ""), abs(float(value))
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{sign}${value / size:.3g}{suffix}"
    return f"{sign}${value:.3g}"


def in_unit(value: float, unit: str) -> str:
    """Return `value` written in its `unit`: '$8.1M/MW of IT', '$142/kW/month', '9.5%/yr'."""
    if not math.isfinite(value):
        return str(value)
    if unit.startswith("USD"):
        return money(value) + unit[3:]
    if unit in PERCENT_UNITS:
        return f"{value * 100:.3g}{PERCENT_UNITS[unit]}"
    if unit in ("", "-"):
        return f"{value:.3g}"
    return f"{value:.3g} {unit}"


#: The significant digits a box's bound is written with (`in_unit`'s `.3g`).
DIGITS = 3


def outward(value: float, up: bool) -> float:
    """Return `value` rounded to `DIGITS` significant digits away from the box: up for an
    upper bound, down for a lower one, so that the bound as written holds every design
    point the box holds (PRIM's bounds lie on points' values: rounded to the nearest, a
    lower bound of 0.74568 written 0.746 left out the points at 0.74568)."""
    if value == 0 or not math.isfinite(value):
        return value
    exponent = math.floor(math.log10(abs(value))) - (DIGITS - 1)
    scaled = value / 10.0 ** exponent
    nearest = round(scaled)
    digits = nearest if math.isclose(scaled, nearest, rel_tol=1e-9) else (
        math.ceil(scaled) if up else math.floor(scaled))
    return digits / 10.0 ** -exponent if exponent < 0 else digits * 10.0 ** exponent


def condition(column: str, low, high, unit: str) -> str:
    """Return one restriction of a box in words: 'rent ≥ $142/kW/month', '7% ≤ discount rate ≤ 9%',
    each bound rounded outward (`outward`)."""
    name = label(column)
    low = None if low is None else outward(low, up=False)
    high = None if high is None else outward(high, up=True)
    if low is not None and high is not None:
        return f"{in_unit(low, unit)} ≤ {name} ≤ {in_unit(high, unit)}"
    if low is not None:
        return f"{name} ≥ {in_unit(low, unit)}"
    return f"{name} ≤ {in_unit(high, unit)}"


def cases(scenario: Scenario) -> str:
    """Return the cases PRIM saw in words: 'all 200 cases', or 'the 180 cases where both define
    irr (20 of all 200 left out: undefined)'."""
    if not scenario.undefined:
        return f"all {scenario.cases:,} cases"
    return (f"the {scenario.cases:,} cases where both define {scenario.metric} "
            f"({scenario.undefined:,} of all {scenario.cases + scenario.undefined:,} left out: undefined)")


#: Fewer design points than this in PRIM's box and the sentence says its bounds are weak
#: evidence: a point's worlds share its inputs, so they count once for where a bound lies.
FEW_POINTS = 5


def sentence(scenario: Scenario, units: dict) -> str:
    """Return PRIM's main box as a sentence a decision maker reads, with its coverage and share of cases."""
    found, box = scenario.discovery, scenario.discovery.box
    beats = f"{scenario.strategy} beats {scenario.against}"
    if scenario.threshold_usd:
        beats += f" by more than {in_unit(scenario.threshold_usd, 'USD' if 'usd' in scenario.metric else '')}"
    beats += f" ({scenario.metric})"
    cut = box.restricted(found.bounds)
    if not cut:
        return (f"{beats} in {found.base_density:.0%} of {cases(scenario)}; no range of "
                "the explored inputs does markedly better or worse.")
    words = " and ".join(condition(c, lo, hi, unit_of(c, units)) for c, (lo, hi) in cut.items())
    points = (f", {box.points:,} of the {found.points:,} design points"
              + (" (so few that its bounds are weak evidence)" if box.points < FEW_POINTS else "")
              + ",") if found.points else ""
    return (f"{beats} in {box.density:.0%} of cases where {words} "
            f"(against {found.base_density:.0%} of {cases(scenario)}; this box holds "
            f"{box.mass:.0%} of the cases{points} and {box.coverage:.0%} of those where it beats).")
