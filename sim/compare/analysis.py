"""The comparison itself: each strategy's outcomes, against a baseline, across markets.

Within a scenario (one market configuration), every strategy is described on its own,
then against the baseline (paired when both ran on the same worlds, unpaired
otherwise), checked for stochastic dominance against every other strategy, and ranked.
Across scenarios, each strategy's regret is its distance from the scenario's best; a
strategy missing from a scenario has no regret there and no largest regret.
Where cash flows were kept, the baseline's monthly unlevered cash (before debt and tax)
is subtracted replication by replication to give the incremental cash flows a switch
would bring, and their IRR. The cash shown (the yearly increments, the cumulative cash)
leaves out the terminal value, the value at the horizon booked in the last month, which
would otherwise dwarf the last year's cash; the IRR counts it, as the NPV does. For NPV,
each strategy's row also says how much of its mean
NPV is the terminal value's; runs with financing add each strategy's equity and debt
cover figures (sim.compare.finance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.arguments import ArgumentError
from sim.compare import commensurable, finance, stats
from sim.compare.cash import incremental, net_cash
from sim.compare.load import RunSet, same_worlds
from sim.compare.stats import MIN_DEFINED_SHARE
from sim.selection import Selection, select_by_mean

DEFAULT_BASELINE = "stay_mining"
#: The columns of comparison.csv, in order; runs with financing add
#: `finance.CSV_COLUMNS` after them.
COLUMNS = ["scenario", "strategy", "name", "run", "metric", "n", "n_missing",
           "undefined_share", "mean",
           "ci_low", "ci_high", "std", "p5", "p50", "p95", "p_negative", "cvar5",
           "terminal_value_pv_mean", "terminal_value_share",
           "baseline", "paired", "n_pairs", "diff_mean", "diff_ci_low", "diff_ci_high",
           "diff_std", "unpaired_ci_width", "p_beats_baseline", "shortfall_mean",
           "shortfall_worst", "fsd_vs_baseline", "ssd_vs_baseline", "incremental_irr",
           "incremental_irr_median", "best_in_scenario", "selection_confident", "regret",
           "max_regret"]
_DOMINANCE = {"x": "dominates", "y": "dominated", "equal": "equal", "neither": "neither"}


@dataclass(eq=False)
class Analysis:
    """Every table of a comparison, plus the per-replication data the plots draw."""

    metric: str
    higher_is_better: bool
    baseline: str | None
    confidence: float
    table: pd.DataFrame
    dominance: pd.DataFrame
    selections: dict[str, Selection]
    regret: pd.DataFrame
    incremental: pd.DataFrame
    sensitivity: pd.DataFrame
    differences: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    #: {(scenario, label): net cash before debt, tax and the terminal value, USD,
    #: replication × month}.
    cash: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: What was read but is not compared, each sentence starting "Left out:" (said in the
    #: report's verdict and on the terminal).
    left_out: list[str] = field(default_factory=list)
    #: {scenario: {strategy: share of its worlds where the metric is undefined}} of the
    #: strategies left out of the ranking there (see `_unranked_line`).
    unranked: dict[str, dict[str, float]] = field(default_factory=dict)
    #: The strategies that ran but were not selected (--strategies).
    unselected: list[str] = field(default_factory=list)
    #: The sentence, if any, naming the valuation settings (discount rates, terminal value,
    #: horizon) the runs compared differ in: their NPVs do not compare (`commensurable`).
    valued_differently: list[str] = field(default_factory=list)


def resolve_baseline(runset: RunSet, baseline: str | None) -> tuple[str | None, list[str]]:
    """Return the baseline strategy (a name or a label) to use, and a note when it was
    chosen for you: stay_mining, else the first strategy compared, counted by label (a
    sweep of one strategy's parameter compares several)."""
    names = list(dict.fromkeys(runset.summary["strategy"]))
    labels = list(dict.fromkeys(runset.summary["label"]))
    if baseline is not None:
        if baseline not in names and baseline not in labels:
            raise ArgumentError(lambda name: f"{name('baseline', baseline)}: not among the "
                                             f"strategies compared; one of {', '.join(labels)}")
        return baseline, []
    if DEFAULT_BASELINE in names:
        return DEFAULT_BASELINE, []
    if len(labels) == 1:
        verb = "was selected" if runset.unselected else "ran"
        return None, [f"Only one strategy {verb} ({labels[0]}): there is no baseline."]
    return labels[0], [f"{DEFAULT_BASELINE} did not run; {labels[0]} serves as the baseline."]


def _scenario_baseline(here: pd.DataFrame, scenario: str, baseline: str | None, given: bool,
                       many: bool) -> tuple[str | None, list[str]]:
    """Return the baseline of one scenario (its rows `here`) and a note where it is not the
    run's: a scenario without the default baseline (stay_mining, or the first strategy)
    takes its own first strategy; one without a baseline named by --baseline has none."""
    if baseline is None or not many or ((here["label"] == baseline) | (here["strategy"] == baseline)).any():
        return baseline, []
    if given:
        return None, [f"In scenario '{scenario}', {baseline} did not run: its strategies have "
                      "no differences against a baseline."]
    first = here["label"].iloc[0]
    if (here["label"] == first).all():
        return None, [f"In scenario '{scenario}', {baseline} did not run and {first} alone "
                      "did: there is no baseline there."]
    return first, [f"In scenario '{scenario}', {baseline} did not run; {first} serves as its "
                   "baseline."]


def _baseline_label(runset: RunSet, scenario: str, label: str, baseline: str | None):
    """Return (baseline label, paired) for `label` in `scenario`, or (None, False)."""
    if baseline is None:
        return None, False
    rows = runset.summary[runset.summary["scenario"] == scenario]
    candidates = rows.loc[(rows["label"] == baseline) | (rows["strategy"] == baseline),
                          ["label", "run"]].drop_duplicates("label")
    if candidates.empty:
        return None, False
    own = runset.run_of(scenario, label)
    for chosen, index in candidates.itertuples(index=False):
        if runset.runs[index] is own:
            return chosen, True
    for chosen, index in candidates.itertuples(index=False):
        if same_worlds(own, runset.runs[index]):
            return chosen, True
    return candidates["label"].iloc[0], False


def _values(here: pd.DataFrame, label: str, metric: str) -> pd.Series:
    """Return `label`'s `metric` by replication, from its scenario's rows `here`."""
    rows = here[here["label"] == label]
    return rows.set_index("replication")[metric].astype(float).sort_index()


def analyse(runset: RunSet, metric: str = "npv_usd", baseline: str | None = None,
            confidence: float = 0.95, delta: float | None = None) -> Analysis:
    """Return the Analysis of `runset` on summary column `metric`.

    `delta` is the selection's indifference zone in the metric's units (see
    `select_by_mean`).
    """
    better = stats.higher_is_better(metric)
    runset = runset.shared()  # runs of different sizes: the replications all of them ran
    given = baseline is not None
    baseline, notes = resolve_baseline(runset, baseline)
    notes = runset.notes + notes
    cash, terminal = net_cash(runset)
    rows, dominance, selections, increments, sensitivity = [], [], {}, [], []
    differences, unranked, left_out = {}, {}, list(runset.left_out)
    for scenario in runset.scenarios:
        here = runset.summary[runset.summary["scenario"] == scenario]
        labels = list(dict.fromkeys(here["label"]))
        values = {label: _values(here, label, metric) for label in labels}
        notes += _undefined(metric, scenario, values, many=len(runset.scenarios) > 1)
        shares = {label: float(v.isna().mean()) for label, v in values.items()}
        unranked[scenario] = {label: share for label, share in shares.items() if share > 0}
        left_out += _unranked_line(metric, scenario, unranked[scenario],
                                   many=len(runset.scenarios) > 1)
        selections[scenario] = select_by_mean(here[~here["label"].isin(unranked[scenario])],
                                              metric, confidence, by="label",
                                              higher_is_better=better, delta=delta)
        unpaired = []
        own, note = _scenario_baseline(here, scenario, baseline, given, many=len(runset.scenarios) > 1)
        notes += note
        for label in labels:
            row = {"scenario": scenario, "strategy": label,
                   "name": here.loc[here["label"] == label, "strategy"].iloc[0],
                   "run": str(runset.run_of(scenario, label).path), "metric": metric}
            row.update(stats.describe(values[label], confidence, better))
            row["undefined_share"] = row["n_missing"] / max(len(values[label]), 1)
            row.update(terminal_share(here[here["label"] == label], metric, row["mean"]))
            other, paired = _baseline_label(runset, scenario, label, own)
            row["baseline"] = other
            if other is not None and other != label:
                row.update(_versus(values[label], values[other], paired, confidence,
                                   better))
                if paired:
                    d = _paired(values[label], values[other])
                    differences[(scenario, label)] = (d["x"] - d["y"]).to_numpy()
                    sensitivity += _sensitivity(runset, scenario, label, other, d)
                    row.update(incremental(cash, terminal, scenario, label, other,
                                           increments))
                else:
                    unpaired.append(label)
            rows.append(row)
        dominance += _dominance_pairs(runset, scenario, labels, values, better)
        if unpaired:
            notes.append(f"In scenario '{scenario}', {', '.join(unpaired)} did not run on "
                         f"the baseline's worlds (another seed or market): their "
                         "differences use unpaired (Welch) statistics.")
    table = pd.DataFrame(rows).reindex(columns=COLUMNS[:-4])
    regret = regret_table(table, better, {(scenario, label) for scenario, labels
                                          in unranked.items() for label in labels})
    table = _add_selection_and_regret(table, selections, regret)
    if finance.has_financing(runset):
        figures = finance.strategy_table(runset, finance.CSV_COLUMNS)
        table = table.merge(figures, on=["scenario", "strategy"], how="left")
    return Analysis(metric=metric, higher_is_better=better, baseline=baseline,
                    confidence=confidence, table=table,
                    dominance=pd.DataFrame(dominance, columns=[
                        "scenario", "strategy", "other", "first_order", "second_order"]),
                    selections=selections, regret=regret,
                    incremental=pd.DataFrame(increments, columns=[
                        "scenario", "strategy", "baseline", "year", "mean_usd", "p5_usd",
                        "p95_usd", "cumulative_mean_usd"]),
                    sensitivity=pd.DataFrame(sensitivity, columns=[
                        "scenario", "strategy", "baseline", "feature", "spearman_rho",
                        "swing", "n"]),
                    differences=differences, cash=cash, notes=notes,
                    left_out=left_out + missing_from_scenarios(regret, table),
                    unranked=unranked, unselected=list(runset.unselected),
                    valued_differently=commensurable.differences(runset))


def terminal_share(rows: pd.DataFrame, metric: str, mean: float) -> dict:
    """Return the mean present value of the terminal value and its share of the mean NPV.

    Only for `npv_usd`, over the worlds (`rows`, one strategy's) where the NPV is defined,
    from the summary's `terminal_value_pv_usd` (NaN for runs saved without it). The
    share is signed: above 1, the cash before the horizon is worth less than nothing;
    below 0, the NPV is negative in the mean despite a positive terminal value.
    """
    column = "terminal_value_pv_usd"
    if metric != "npv_usd" or column not in rows.columns:
        return {"terminal_value_pv_mean": np.nan, "terminal_value_share": np.nan}
    pv = rows.loc[np.isfinite(rows[metric].astype(float)), column].astype(float)
    pv_mean = float(pv.mean()) if pv.notna().any() else np.nan
    share = pv_mean / mean if math.isfinite(mean) and mean != 0 else np.nan
    share = share if math.isfinite(share) else np.nan  # a mean NPV too close to 0 to divide by
    return {"terminal_value_pv_mean": pv_mean, "terminal_value_share": share}


def _undefined(metric: str, scenario: str, values: dict, many: bool) -> list[str]:
    """Return a note on each strategy whose metric is undefined (NaN) in some worlds.

    Raise UserError when one defines it in fewer than half its worlds: its mean, and
    any comparison with it, would speak for a few unusual worlds only.
    """
    where = f" in scenario '{scenario}'" if many else ""
    shares = {label: float(v.isna().mean()) for label, v in values.items() if len(v)}
    rare = {label: share for label, share in shares.items() if 1 - share < MIN_DEFINED_SHARE}
    if rare:
        listed = ", ".join(f"{label} in {share:.0%} of its worlds" for label, share in rare.items())
        kept = [label for label in values if label not in rare]
        raise ArgumentError(lambda name: (
            f"{name('metric', metric)}: undefined (NaN){where} for {listed}; it can be compared "
            f"only when every strategy defines it in at least half of its worlds (choose a metric "
            f"such as npv_usd" + (f", or leave {', '.join(rare)} out with {name('strategies', kept)}"
                                  if kept else "") + ")"))
    undefined = {label: share for label, share in shares.items() if share > 0}
    if not undefined:
        return []
    listed = ", ".join(f"{label} in {share:.0%} of its worlds"
                       for label, share in undefined.items())
    return [f"{metric} is undefined (NaN){where} for {listed} (column undefined_share). Each "
            "strategy's statistics use the worlds that define it; each comparison of two "
            "strategies on the same worlds (against the baseline, dominance, selection) uses "
            "only the worlds where both define it (column n_pairs)."]


def _unranked_line(metric: str, scenario: str, unranked: dict, many: bool) -> list[str]:
    """Return a "Left out:" sentence on the strategies not ranked by `metric` in `scenario`
    because it is undefined in some of their worlds, or []."""
    if not unranked:
        return []
    where = f" in scenario '{scenario}'" if many else ""
    listed = ", ".join(f"{label} (undefined in {share:.0%} of its worlds)"
                       for label, share in unranked.items())
    return [f"Left out of the ranking by {metric}{where}: {listed}. A strategy is ranked by a "
            "metric only if it defines it in every world: a mean over the worlds that define "
            "it would favour the strategy that fails most (a payback never reached within the "
            "horizon, an IRR that does not exist); its statistics are still in the tables."]


def _paired(x: pd.Series, y: pd.Series) -> pd.DataFrame:
    """Return x and y as columns `x`, `y` on the worlds (replications) where both are defined."""
    return x.to_frame("x").join(y.rename("y"), how="inner").dropna()


def _both_defined(x: pd.Series, y: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return x and y on the worlds (replications) where both are defined."""
    both = _paired(x, y)
    return both["x"], both["y"]


def _versus(x: pd.Series, y: pd.Series, paired: bool, confidence: float, better: bool):
    unpaired = stats.unpaired_difference(x, y, confidence, better)
    shortfall = (np.nan, np.nan)
    if paired:
        x, y = _both_defined(x, y)
        diff = stats.paired_difference(x, y, confidence, better)
        shortfall = _shortfall(x.to_numpy(float), y.to_numpy(float), better)
    else:
        diff = unpaired
    return {"paired": paired, "n_pairs": diff.n if paired else 0,
            "diff_mean": diff.mean, "diff_ci_low": diff.ci_low,
            "diff_ci_high": diff.ci_high, "diff_std": diff.std,
            "unpaired_ci_width": unpaired.width, "p_beats_baseline": diff.p_beats,
            "shortfall_mean": shortfall[0], "shortfall_worst": shortfall[1],
            "fsd_vs_baseline": _DOMINANCE[stats.dominance(x, y, 1, better)],
            "ssd_vs_baseline": _DOMINANCE[stats.dominance(x, y, 2, better)]}


def _shortfall(x: np.ndarray, y: np.ndarray, better: bool) -> tuple[float, float]:
    """Return how far x falls short of y in the worlds where it does worse, on average and at
    worst (positive amounts; NaN where it never does worse): the size of the risk that
    P(beats) counts."""
    short = (y - x) if better else (x - y)
    short = short[short > 0]
    return (float(short.mean()), float(short.max())) if len(short) else (np.nan, np.nan)


def _dominance_pairs(runset, scenario, labels, values, better):
    """Return [scenario, a, b, first order, second order] for each pair of strategies;
    pairs that ran on the same worlds are compared on the worlds where both are defined."""
    pairs = []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            x, y = values[a], values[b]
            if same_worlds(runset.run_of(scenario, a), runset.run_of(scenario, b)):
                x, y = _both_defined(x, y)
            found = [stats.dominance(x, y, order, better) for order in (1, 2)]
            pairs.append([scenario, a, b] + [{"x": a, "y": b}.get(f, f) for f in found])
    return pairs


def regret_table(table: pd.DataFrame, higher_is_better: bool = True,
                 unranked=()) -> pd.DataFrame:
    """Return strategy × scenario regret (distance from the scenario's best mean); the
    (scenario, strategy) pairs in `unranked` have no mean to rank, as if they had not run."""
    unranked = set(unranked)
    ranked = table.assign(mean=[np.nan if (s, label) in unranked else mean for s, label, mean
                                in zip(table["scenario"], table["strategy"], table["mean"])])
    means = ranked.pivot(index="strategy", columns="scenario", values="mean")
    means = means.reindex(index=list(dict.fromkeys(table["strategy"])),
                          columns=list(dict.fromkeys(table["scenario"])))
    regret = means.max() - means if higher_is_better else means - means.min()
    # A strategy missing from a scenario has no regret there, not zero: its max is unknown.
    regret["max_regret"] = regret.max(axis=1, skipna=False)
    regret["scenarios_missing"] = means.isna().sum(axis=1)
    return regret


def missing_from_scenarios(regret: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    """Return a "Left out:" sentence naming the strategies missing from some scenario (or
    not ranked there), or []."""
    scenarios = [c for c in regret.columns if c not in ("max_regret", "scenarios_missing")]
    if len(scenarios) < 2:
        return []
    ran = set(zip(table["scenario"], table["strategy"]))
    missing = []
    for label, row in regret.iterrows():
        for verb, where in (("did not run", [s for s in scenarios if (s, label) not in ran]),
                            ("is not ranked", [s for s in scenarios if (s, label) in ran
                                               and pd.isna(row[s])])):
            if where:
                missing.append(f"{label} {verb} in scenario{'s' if len(where) > 1 else ''} "
                               + ", ".join(f"'{s}'" for s in where))
    if not missing:
        return []
    return [f"Left out of the comparison across scenarios: {'; '.join(missing)}. A strategy's "
            "regret is counted only in the scenarios where it ran; its largest regret is "
            "unknown (blank in regret.csv), so it cannot be the recommendation across "
            "scenarios."]


def _add_selection_and_regret(table, selections, regret):
    table["best_in_scenario"] = [selections[s].best == label for s, label in
                                 zip(table["scenario"], table["strategy"])]
    table["selection_confident"] = [selections[s].confident for s in table["scenario"]]
    table["regret"] = [regret.at[label, s] for s, label in
                       zip(table["scenario"], table["strategy"])]
    table["max_regret"] = regret.loc[table["strategy"], "max_regret"].to_numpy()
    return table


def _sensitivity(runset, scenario, label, other, paired: pd.DataFrame) -> list[list]:
    worlds = runset.run_of(scenario, label).worlds
    if worlds is None:
        return []
    diff = (paired["x"] - paired["y"]).rename("diff")
    data = worlds.set_index("replication").join(diff, how="inner")
    found = []
    for feature in worlds.columns:
        if feature == "replication" or not pd.api.types.is_numeric_dtype(worlds[feature]):
            continue
        column = data[feature].astype(float)
        if feature == "halving_day" and column.notna().any():
            column = column.fillna(column.max() + 1)  # no halving in the horizon: latest
        pair = pd.DataFrame({"f": column, "d": data["diff"]}).dropna()
        if len(pair) < 3 or pair["f"].nunique() < 2 or pair["d"].nunique() < 2:
            continue
        rho = float(np.corrcoef(pair["f"].rank(), pair["d"].rank())[0, 1])
        low, high = pair["f"].quantile([0.2, 0.8])
        swing = (pair.loc[pair["f"] >= high, "d"].mean()
                 - pair.loc[pair["f"] <= low, "d"].mean())
        found.append([scenario, label, other, feature, rho, float(swing), len(pair)])
    return found
