"""The report a decision maker reads: a plain-language verdict, then the evidence.

`report.html` is one self-contained page: its plots are embedded as PNG data, it has
no script and fetches nothing, so it opens in a browser offline or from an e-mail. The
top holds the verdict (the recommended strategy, how confident the ranking is, and its
main risk) and, when the run directory has robustness.csv, whether the verdict holds
under other valuation assumptions; below come the tables, the financing (when the runs
carry it: the terms, each strategy's debt cover, breach probability and equity figures,
and the DSCR over time), the plots and the configuration that produced them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import yaml

from sim.compare.analysis import Analysis
from sim.compare.finance import Financing, covenant_dscr
from sim.compare.load import RunSet, run_name
from sim.compare import page
from sim.compare.page import fmt
from sim.compare.plots import feature_label, metric_name
from sim.compare.robustness import verdict_sentence, within_noise
from sim.selection import percent, select_best, until_confident_sentence

#: What the selection's confidence covers, said wherever it is stated.
MONTE_CARLO = "Monte Carlo confidence (sampling error only, given the model's assumptions)"


def verdict(analysis: Analysis, runset: RunSet) -> list[str]:
    """Return the verdict as plain sentences, the recommendation first."""
    scenarios = list(analysis.selections)
    if len(scenarios) == 1:
        scenario = scenarios[0]
        best = analysis.selections[scenario].best
        lines = _recommend(analysis, scenario)
        if best is not None:
            lines.append(_risk(analysis, scenario, best))
            lines += _lenders(analysis, scenario, best, runset)
            lines += _terminal_share(analysis, scenario, best, _terminal_method(runset))
    else:
        lines = _robust(analysis, scenarios)
    lines[1:1] = analysis.valued_differently  # beside the headline it qualifies
    lines += analysis.left_out
    lines += robustness_lines(runset)
    compared = set(runset.summary["strategy"]) | set(runset.summary["label"])
    for run in runset.runs:
        until = run.info.get("until_confident")
        if isinstance(until, dict) and until:
            lines.append(until_confident_line(run, until, run_name(run, runset)))
        for label, policy in (run.info.get("policies") or {}).items():
            if label in compared:
                lines.append(policy_line(label, policy, run_name(run, runset)))
    return lines + analysis.notes


def until_confident_line(run, until: dict, run_name: str) -> str:
    """Return what `run.until_confident` decided, the assumption of its sequential test,
    and, when the run's first replications look far from that assumption, so."""
    stopped = ("It added replications until the sequential Kim–Nelson procedure stopped"
               if until.get("reached") else
               "It added replications up to run.max_replications, where the sequential "
               "Kim–Nelson procedure had not yet stopped (the one-look test of the "
               "recommendation, over every replication and not sequential, can identify a "
               "best sooner)")
    line = f"run.until_confident in {run_name}: {until_confident_sentence(until)}. {stopped}"
    assumption = f"{line}, whose confidence assumes nearly normal paired differences of NPV."
    if "npv_usd" not in run.summary.columns:
        return assumption
    zone = ((run.config or {}).get("run") or {}).get("indifference_usd")
    kn = select_best(run.summary, "npv_usd", float(until.get("confidence", 0.95)),
                     delta=float(zone) if zone else None)
    return f"{line}. {kn.caveat}" if kn.caveat else assumption


def policy_line(label: str, policy: dict, run_name: str) -> str:
    """Return what a learning strategy's training measured, in one sentence."""
    words = {"lsm": "its fitted rule", "start_now": "start as soon as it may", "never": "never start"}
    rules = str(policy.get("rule", "")).split(",")
    tranches = "; ".join(f"tranche {k + 1}: {words.get(rule, rule)}" for k, rule in enumerate(rules))

    def usd(key, where=policy):
        return fmt(float(where.get(key, float("nan"))), key)

    stages = policy.get("stages") or []
    fitted = ""
    if any(stage.get("rule") != "lsm" for stage in stages):  # a fit it does not follow
        sums = {key: sum(float(stage.get(key, float("nan"))) for stage in stages)
                for key in ("in_sample_usd", "cross_validated_usd")}
        fitted = (f"; the rules fitted, {usd('in_sample_usd', sums)} in sample and "
                  f"{usd('cross_validated_usd', sums)} cross-validated")
    return (f"{label} in {run_name} converts in tranches of {policy.get('tranche_blocks')} blocks, each "
            f"with a rule of its own ({tranches}; a fixed rule where the fitted one did worse on "
            f"worlds it was not fitted on). Its gain in NPV over never converting, on its "
            f"{policy.get('training_replications')} training worlds: {usd('in_sample_usd')} in sample, "
            f"{usd('cross_validated_usd')} cross-validated with the rules it follows{fitted}; "
            f"{usd('start_now_usd')} converting every "
            f"tranche on day 0 (trained in {float(policy.get('train_seconds', 0)):.0f} s). Its honest "
            f"value is its paired difference on the evaluation worlds, below.")


def _row(analysis: Analysis, scenario: str, label: str) -> pd.Series:
    table = analysis.table
    return table[(table["scenario"] == scenario) & (table["strategy"] == label)].iloc[0]


def _recommend(analysis: Analysis, scenario: str) -> list[str]:
    """Return the headline, how sure it is, and how it compares with the baseline."""
    selection, metric, name = (analysis.selections[scenario], analysis.metric,
                               metric_name(analysis.metric))
    unranked = analysis.unranked.get(scenario, {})
    if selection.best is None and unranked:
        return [f"No recommendation by {name}: every strategy leaves {metric} undefined in "
                f"some of its worlds ({', '.join(unranked)}), and a strategy is ranked by a "
                "metric only where it defines it in every world (see 'Left out' below)."]
    if selection.best is None:
        return [f"No strategy has usable values of {metric}."]
    best, level = selection.best, percent(selection.confidence)
    row = _row(analysis, scenario, best)
    mean = fmt(row["mean"], metric)
    interval = (f" Its mean {name} lies between {fmt(row['ci_low'], metric)} and "
                f"{fmt(row['ci_high'], metric)} ({level} CI)." if pd.notna(row["ci_low"])
                else "")
    if len(selection.means) == 1 and unranked:
        return [f"Recommended: {best}, the only strategy with {name} defined in every sampled "
                f"world: mean {mean}; the others are left out of the ranking (below).{interval}"]
    if len(selection.means) == 1 and analysis.unselected:
        return [f"Only {best} was selected (--strategies); "
                f"{', '.join(analysis.unselected)} also ran. Mean {name} {mean}; there is "
                f"nothing to rank it against.{interval}"]
    if len(selection.means) == 1:
        return [f"Only {best} ran: mean {name} {mean}; there is nothing to rank it "
                f"against.{interval}"]
    if selection.available < 2:
        return [f"{best} has the highest {name} ({mean}) in the single world simulated; "
                "one replication states no confidence (run more replications for that)."]
    same = selection.twins_of(best)
    if len(selection.means) == 1 + len(same):  # one strategy, under several names
        return [f"{' and '.join((best, *same))} had the same {name} in every sampled world "
                f"(they acted alike): mean {mean}; there is no other strategy to rank them "
                f"against.{interval}"]
    zone, others = fmt(selection.delta, metric), [s for s in selection.survivors if s != best]
    here = analysis.table[analysis.table["scenario"] == scenario]
    pairs = ("replications" if not (here["paired"].astype("boolean") == False).any()  # noqa: E712
             else "replications, paired by number (not all the runs sampled the same worlds)")
    test = (f"A one-look paired Bonferroni test over all {fmt(selection.available, 'count')} "
            f"{pairs} gives {fmt(selection.zone_confidence, 'share')} confidence that no "
            f"strategy's mean {name} beats {best}'s by more than the indifference zone of "
            f"{zone}, and {fmt(selection.mcb_confidence, 'share')} that {best} beats every "
            f"other outright.")
    if selection.confident:
        tie = (f"; at {level} it is not told apart from {', '.join(others)}: "
               f"{'either' if len(others) == 1 else 'any of them'} may be better, but by no "
               f"more than the zone" if others else "")
        lines = [f"Recommended: {best}, the best mean {name} ({mean}), identified with "
                 f"{level} {MONTE_CARLO}: no other strategy beats it by more than {zone}.",
                 f"{test[:-1]}{tie}.{interval}"]
    else:
        needed = selection.required_replications
        lines = [f"Recommended, provisionally: {best}, which leads on mean {name} ({mean})"
                 f" but is not yet identified as best (to within {zone}) at {level} "
                 f"{MONTE_CARLO}.",
                 f"{test} Still in contention: {', '.join(selection.survivors)}; about "
                 f"{fmt(needed, 'count')} replications would settle it even were their means "
                 f"equal (hashpivot run.replications={needed}).{interval}"]
    if same:
        lines.append(f"{' and '.join(same)} had the same {name} as {best} in every sampled world "
                     f"(it acted alike), so they are ranked as one.")
    if isinstance(row.get("baseline"), str) and row["baseline"] != best \
            and pd.notna(row.get("diff_mean")):
        how = "paired over the same worlds" if row["paired"] else "unpaired"
        verb = "gains" if row["diff_mean"] >= 0 else "loses"
        lines.append(f"Against {row['baseline']}, {best} {verb} "
                     f"{fmt(abs(row['diff_mean']), metric)} of {name} on average ({level} "
                     f"CI {fmt(row['diff_ci_low'], metric)} to "
                     f"{fmt(row['diff_ci_high'], metric)}, {how}) and beats it in "
                     f"{page.share(row['p_beats_baseline'])} of sampled worlds, a tie "
                     f"counted as half{_shortfall_clause(row, metric)}.")
    return lines


def _shortfall_clause(row: pd.Series, metric: str) -> str:
    """Return '; where it does worse, it falls short by ... on average (at worst ...)', or ''
    where it never does or the comparison is unpaired."""
    if pd.isna(row.get("shortfall_mean")):
        return ""
    return (f"; where it does worse, it falls short by {fmt(row['shortfall_mean'], metric)} on "
            f"average (at worst {fmt(row['shortfall_worst'], metric)})")


def _lenders(analysis: Analysis, scenario: str, best: str, runset: RunSet) -> list[str]:
    """Return the sentence a lender reads first: how often the recommended strategy's debt
    breaks its cover covenant, how low its cover falls, and the equity it needs at its peak
    (where the comparison has financing columns and the strategy borrows)."""
    table = analysis.table
    if not {"covenant_breach_share", "min_dscr_p5", "min_dscr_p50"} <= set(table.columns):
        return []
    row = _row(analysis, scenario, best)
    if pd.isna(row["min_dscr_p5"]):
        return []
    floors = {covenant_dscr(run) for run in runset.runs}
    floor = floors.pop() if len(floors) == 1 else None
    covenant = f"its minimum DSCR of {floor:.2f}" if floor is not None else "its cover covenant"
    text = (f"For lenders: {best}'s debt breaks {covenant} in "
            f"{fmt(row['covenant_breach_share'], 'share')} of sampled worlds; the lowest cover "
            f"in a world is {row['min_dscr_p5']:.2f} or less in 5% of them (median "
            f"{row['min_dscr_p50']:.2f})")
    if pd.notna(row.get("peak_equity_mean_usd")):
        text += f", and its equity at its peak averages {fmt(row['peak_equity_mean_usd'], 'npv_usd')}"
    return [text + " (Financing, below)."]


def _terminal_method(runset: RunSet) -> str:
    """Return how the runs value the site at the horizon, as '; ...', or '' where they differ
    or do not say: the verdict's largest assumption, named beside the share it makes up."""
    methods = set()
    for run in runset.runs:
        terms = (run.config or {}).get("run") or {}
        method, cap_rate = terms.get("terminal_value"), (terms.get("valuation") or {}).get("cap_rate")
        methods.add((method, cap_rate if method == "market" else None))
    if len(methods) != 1:
        return ""
    method, cap_rate = methods.pop()
    if method == "market" and isinstance(cap_rate, (int, float)):
        return (f"; run.terminal_value=market: the AI halls at a year's forward net income over "
                f"a {cap_rate:.1%} cap rate")
    return f"; run.terminal_value={method}" if method else ""


def _terminal_share(analysis: Analysis, scenario: str, best: str, method: str = "") -> list[str]:
    """Return the sentence on the terminal value's share of NPV, if the table has that column;
    `method` names how it was valued."""
    if "terminal_value_share" not in analysis.table.columns:
        return []
    row = _row(analysis, scenario, best)
    shares = [(best, row["terminal_value_share"])]
    baseline = row.get("baseline")
    if isinstance(baseline, str) and baseline != best:
        shares.append((baseline, _row(analysis, scenario, baseline)["terminal_value_share"]))
    shown = [f"{fmt(share, 'share')} of {label}'s" for label, share in shares if pd.notna(share)]
    if not shown:
        return []
    sentence = (f"The terminal value (what the site is assumed to be worth at the horizon, "
                f"discounted{method}) makes up {' and '.join(shown)} mean NPV.")
    above = [label for label, share in shares if pd.notna(share) and share > 1]
    if above:
        sentence += (f" Above 100%, the cash within the horizon, discounted, loses money on "
                     f"average: "
                     f"{' and '.join(above)} rest{'s' if len(above) == 1 else ''} on that value.")
    return [sentence]


def robustness_lines(runset: RunSet) -> list[str]:
    """Return, for each run with a robustness table, what was rerun and whether the verdict
    holds; or that its table is about strategies this comparison leaves out."""
    lines = []
    for run in runset.runs:
        table = run.robustness
        if table is None or table.empty:
            continue
        first = table.iloc[0]
        where = f" ({run_name(run, runset)})" if len(runset.runs) > 1 else ""
        if not compares(runset, run, table):
            lines.append(f"Under other assumptions{where}: robustness.csv reruns "
                         f"{first['strategy']} against {first['against']}, which this "
                         f"comparison leaves out (--strategies); its table is not shown.")
            continue
        against = f"{first['against']}"
        if first["against_role"] == "runner-up":
            against += f" (the runner-up: {first['strategy']} is the baseline itself)"
        valued = ("other terminal values, discount rates and cap rates"
                  if table["alternative"].astype(str).str.startswith("cap rate").any()
                  else "other terminal values and discount rates")
        lines.append(f"Under other assumptions{where}: {first['strategy']} against {against} on "
                     f"mean NPV, each alternative rerun with the run's seed, both strategies "
                     f"on the same worlds: {valued} on the run's first worlds, other "
                     f"horizons on worlds drawn over the longer grid "
                     f"(table below). {verdict_sentence(table)}")
    return lines


def compares(runset: RunSet, run, table: pd.DataFrame) -> bool:
    """Return whether the comparison holds both strategies of `run`'s robustness `table`."""
    index = next(i for i, r in enumerate(runset.runs) if r is run)
    ran = set(runset.summary.loc[runset.summary["run"] == index, "strategy"])
    first = table.iloc[0]
    return {str(first["strategy"]), str(first["against"])} <= ran


def robustness_table(table: pd.DataFrame) -> str:
    """Return a run's robustness table as HTML: each alternative's means, difference and verdict."""
    first = table.iloc[0]
    strategy, against = str(first["strategy"]), str(first["against"])
    columns = {"strategy_npv_usd": (f"{strategy} mean NPV", "x_usd"),
               "against_npv_usd": (f"{against} mean NPV", "x_usd"),
               "diff_npv_usd": ("mean difference", "x_usd"),
               "diff_ci_low_usd": ("95% CI low", "x_usd"),
               "diff_ci_high_usd": ("95% CI high", "x_usd"),
               "p_strategy_beats": (f"P({strategy} beats {against})", "share")}
    shown = pd.DataFrame({"alternative": table["alternative"].astype(str),
                          "replications": table["replications"].astype(int).astype(str)})
    for column, (name, _) in columns.items():
        shown[name] = table[column].to_numpy(float)
    shown["higher mean"] = table["higher_mean"].astype(str)
    noise = set(within_noise(table))
    shown["verdict holds"] = [("yes" if str(v).lower() == "true" else "no")
                              + (" (within noise)" if label in noise else "")
                              for label, v in zip(table["alternative"].astype(str), table["verdict_holds"])]
    return _table(shown, dict(columns.values()))


def _risk(analysis: Analysis, scenario: str, label: str, why: str = "") -> str:
    """Return the main risk of `label` in `scenario`: its tail, its chance of a loss and
    what its edge moves with; `why`, among several scenarios, says why this one."""
    row, metric = _row(analysis, scenario, label), analysis.metric
    where = f" in scenario '{scenario}' ({why})" if why else ""
    text = (f"Main risk of {label}{where}: in the worst 5% of sampled worlds its "
            f"{metric_name(metric)} "
            f"averages {fmt(row['cvar5'], metric)}")
    signed = metric.endswith("_usd") or metric.endswith("irr")
    if signed and pd.notna(row["p_negative"]) and row["p_negative"] > 0:
        text += f", and it is below zero in {page.share(row['p_negative'])} of worlds"
    elif signed and pd.notna(row["p_negative"]):
        text += ", and it is never below zero in the sampled worlds"
    sens = analysis.sensitivity
    sens = sens[(sens["scenario"] == scenario) & (sens["strategy"] == label)]
    if not sens.empty:
        top = sens.loc[sens["spearman_rho"].abs().idxmax()]
        rho = f"{top['spearman_rho']:+.2f}".replace("-", page.MINUS)
        text += (f"; its edge over {top['baseline']} moves most with "
                 f"{feature_label(top['feature'])} (Spearman ρ = {rho})")
    return text + "."


def _robust(analysis: Analysis, scenarios: list[str]) -> list[str]:
    regret, metric = analysis.regret, analysis.metric
    robust = robust_choice(regret)
    everywhere = list(regret.index[regret["scenarios_missing"] == 0])
    if robust is None and len(everywhere) == 1:
        bests = "; ".join(f"'{s}': {analysis.selections[s].best}" for s in scenarios)
        return ([f"No recommendation across {len(scenarios)} scenarios: only "
                 f"{everywhere[0]} ran in every scenario, so there is no other strategy to "
                 f"weigh it against (the best in each: {bests})."]
                + [f"Scenario '{s}': {analysis.selections[s].describe()}" for s in scenarios])
    if robust is None:
        return [f"No strategy has usable values of {metric} in every scenario."]
    per = regret.loc[robust, scenarios]
    wins = sum(analysis.selections[s].best == robust for s in scenarios)
    if per.max() > 0:
        worst, why = per.idxmax(), "where its regret is largest"
        lines = [f"Recommended across {len(scenarios)} scenarios: {robust}, the "
                 f"strategy whose largest regret is smallest: at worst it trails the best "
                 f"strategy by {fmt(per.max(), metric)} of {metric_name(metric)} (in "
                 f"scenario '{worst}'); it is best in {wins} of {len(scenarios)} scenarios."]
    else:  # no regret anywhere: its risk is told where its own tail is worst
        tails = pd.Series({s: _row(analysis, s, robust)["cvar5"] for s in scenarios})
        worst = (tails.idxmin() if analysis.higher_is_better else tails.idxmax()) \
            if tails.notna().any() else scenarios[0]
        why = "where its worst 5% of worlds fare worst"
        lines = [f"Recommended across {len(scenarios)} scenarios: {robust}, the best "
                 f"strategy by mean {metric_name(metric)} in every one of them (no regret)."]
    lines += [f"Scenario '{s}': {analysis.selections[s].describe()}" for s in scenarios]
    lines.append(_risk(analysis, worst, robust, why))
    return lines


HEADERS = {"ci_low": "CI low", "ci_high": "CI high", "std": "std dev", "p5": "P5",
           "p50": "P50", "p95": "P95", "p_negative": "P(< 0)", "cvar5": "CVaR 5%",
           "n_pairs": "pairs (both defined)", "undefined_share": "undefined (NaN)", "diff_mean": "mean difference", "diff_ci_low": "CI low",
           "diff_ci_high": "CI high", "unpaired_ci_width": "unpaired CI width (reference)",
           "p_beats_baseline": "P(beats baseline)", "fsd_vs_baseline": "1st-order dominance",
           "shortfall_mean": "mean shortfall where it trails",
           "shortfall_worst": "worst shortfall",
           "ssd_vs_baseline": "2nd-order dominance",
           "incremental_irr": "IRR of mean incremental cash (terminal value included)",
           "incremental_irr_median": "median IRR of incremental cash (terminal value included)",
           "mcb_confidence": "confidence it beats every other outright",
           "zone_confidence": "confidence none beats it by more than delta", "first_order":
           "1st-order dominant", "second_order": "2nd-order dominant",
           "max_regret": "max regret", "scenarios_missing": "scenarios missing",
           "spearman_rho": "Spearman ρ", "swing": "top 20% − bottom 20%",
           "terminal_value_pv_mean": "terminal value (PV)", "terminal_value_share": "terminal value / NPV"}


def robust_choice(regret: pd.DataFrame) -> str | None:
    """Return the strategy whose largest regret over the scenarios is smallest, among those
    that ran in every scenario; None if none did, or only one did (nothing to weigh it against)."""
    usable = regret.loc[regret["scenarios_missing"] == 0, "max_regret"].dropna()
    if len(usable) < 2:
        return None
    return usable.idxmin()


#: Columns counted, whatever the metric.
COUNTS = {"n": "count", "n_pairs": "count", "about needed": "count", "replications": "count",
          "year": "year"}


def _table(frame: pd.DataFrame, units: dict[str, str]) -> str:
    return page.table(frame, {**COUNTS, **units}, HEADERS)


def _tables(analysis: Analysis) -> list[tuple[str, str]]:
    m, t = analysis.metric, analysis.table
    usd = {c: m for c in ("mean", "ci_low", "ci_high", "std", "p5", "p50", "p95",
                          "cvar5", "diff_mean", "diff_ci_low", "diff_ci_high",
                          "unpaired_ci_width", "regret", "max_regret", "delta", "terminal_value_pv_mean",
                          "shortfall_mean", "shortfall_worst")}
    usd.update({"terminal_value_share": "share", "undefined_share": "share", "p_negative": "share", "p_beats_baseline": "share", "mcb_confidence":
                "share", "incremental_irr": "irr", "incremental_irr_median": "irr"})
    sections = [(f"Per-strategy statistics of {metric_name(m)} ({m})", _table(t[[
        "scenario", "strategy", "n", "undefined_share", "mean", "ci_low", "ci_high", "std",
        "p5", "p50", "p95", "p_negative", "cvar5", "terminal_value_pv_mean", "terminal_value_share"]], usd))]
    versus = t[t["diff_mean"].notna()]
    if not versus.empty:
        sections.append((f"Against the baseline ({percent(analysis.confidence)} intervals; "
                         "paired where the runs share worlds, over the worlds where both "
                         "define the metric)", _table(versus[[
                             "scenario", "strategy", "baseline", "paired", "n_pairs",
                             "diff_mean", "diff_ci_low", "diff_ci_high",
                             "unpaired_ci_width", "p_beats_baseline", "shortfall_mean",
                             "shortfall_worst", "fsd_vs_baseline",
                             "ssd_vs_baseline", "incremental_irr",
                             "incremental_irr_median"]], usd)))
    rows = [{"scenario": s, "best": sel.best, "confident": sel.confident,
             "confidence": sel.confidence, "zone_confidence": sel.zone_confidence,
             "mcb_confidence": sel.mcb_confidence, "replications": sel.replications,
             "in contention": ", ".join(sel.survivors), "delta": sel.delta,
             "about needed": sel.required_replications, "method": sel.method}
            for s, sel in analysis.selections.items()]
    sections.append(("Selection of the best strategy: the best mean, and how sure (a one-look "
                     "paired Bonferroni test over every replication, indifference zone delta)",
                     _table(pd.DataFrame(rows), {**usd, "confidence": "share",
                                                 "zone_confidence": "share"})))
    if not analysis.dominance.empty:
        sections.append(("Stochastic dominance, each pair (the strategy named dominates;"
                         " 'neither' when the distributions cross)",
                         _table(analysis.dominance, {})))
    regret = analysis.regret.reset_index()
    in_metric = {c: m for c in regret.columns if c not in ("strategy", "scenarios_missing")}
    sections.append((f"Regret: distance from each scenario's best mean {metric_name(m)}",
                     _table(regret, {**usd, **in_metric})))
    inc = analysis.incremental
    if not inc.empty:
        wide = inc.pivot_table(index=["scenario", "year"], columns="strategy",
                               values="mean_usd").reset_index()
        sections.append(("Incremental net cash flow against the baseline before debt, tax "
                         "and the terminal value, mean per calendar year",
                         _table(wide, {c: "x_usd" for c in wide.columns
                                       if c not in ("scenario", "year")})))
    sens = analysis.sensitivity
    if not sens.empty:
        sens = sens.assign(feature=sens["feature"].map(feature_label))
        sections.append(("What drives the difference: rank correlation with features of"
                         " the sampled world, and the mean difference in the top minus "
                         "the bottom 20% of each feature", _table(sens, {"swing": m})))
    return sections


#: The financing table's headers, and the unit each is shown in.
FINANCING = {"min_dscr_p5": ("P5 of min DSCR", "dscr"),
             "min_dscr_p50": ("median min DSCR", "dscr"),
             "covenant_breach_share": ("P(covenant breach)", "share"),
             "equity_npv_mean_usd": ("mean equity NPV", "x_usd"),
             "equity_irr_median": ("median equity IRR", "irr"),
             "npv_mean_usd": ("mean NPV (unlevered)", "x_usd"),
             "npv_after_tax_mean_usd": ("mean NPV after tax (unlevered)", "x_usd"),
             "peak_equity_mean_usd": ("mean peak equity", "x_usd")}


def financing_section(financing: Financing) -> list[str]:
    """Return the HTML parts of the report's financing section (its terms folded)."""
    e = html.escape
    table = financing.table[["scenario", "strategy", *FINANCING]]
    table = table.rename(columns={c: name for c, (name, _) in FINANCING.items()})
    parts = ['<h2 id="financing">Financing</h2>',
             page.folded("Financing terms", _table(financing.terms, {})),
             "<h3>Equity and debt cover per strategy (P5 and median of the minimum DSCR "
             "over the worlds with debt; equity NPV at the cost of equity, the unlevered "
             "NPVs at the run's discount rate)</h3>",
             _table(table, dict(FINANCING.values()))]
    parts += [f'<p class="note">{e(note)}</p>' for note in financing.notes]
    parts += [page.image(title, path) for title, path in financing.figures]
    return parts


#: Tables shown open; the others are folded into <details> (the CSV files hold them all).
OPEN_TABLES = 2


def render(analysis: Analysis, runset: RunSet, figures: list[tuple[str, Path]],
           lines: list[str], financing: Financing | None = None) -> str:
    """Return the report as a self-contained HTML page (with a financing section when
    `financing` is given).

    The first screen holds the verdict and the first plot; then come the other plots,
    the tables (the two main ones open, the long ones folded), the financing and the
    configuration (folded).
    """
    e = html.escape
    name = e(metric_name(analysis.metric))
    links = [("plots", "Plots"), ("tables", "Tables")]
    links += [("financing", "Financing")] if financing is not None else []
    links.append(("configuration", "Configuration"))
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>hashpivot comparison: {name}</title>",
             f"<style>{page.CSS}</style></head><body>",
             f"<h1>hashpivot: strategies compared by {name}</h1>",
             '<div class="verdict" id="verdict">']
    parts += [f"<p>{page.nowrap_numbers(line)}</p>" for line in lines]
    parts.append("</div>")
    parts.append("<nav>" + "".join(f'<a href="#{anchor}">{text}</a>' for anchor, text in links)
                 + "</nav>")
    shown = [run for run in runset.runs if run.robustness is not None
             and not run.robustness.empty and compares(runset, run, run.robustness)]
    for i, run in enumerate(shown):  # beside the verdict: the table of each run that has one
        anchor = "robustness" if i == 0 else f"robustness-{i + 1}"
        where = f" — {run_name(run, runset)}" if len(runset.runs) > 1 else ""
        parts += [f'<h3 id="{anchor}">Verdict under other assumptions (mean NPV){e(where)}</h3>',
                  robustness_table(run.robustness)]
    parts.append('<h2 id="plots">Plots</h2>')
    parts += [page.image(title, path) for title, path in figures]
    parts.append(f'<h2 id="tables">Tables</h2><p>{e(_context(runset))}</p>')
    for i, (title, body) in enumerate(_tables(analysis)):
        parts += ([f"<h3>{e(title)}</h3>", body] if i < OPEN_TABLES
                  else [page.folded(title, body)])
    if financing is not None:
        parts += financing_section(financing)
    parts.append('<h2 id="configuration">Configuration</h2>')
    for run in runset.runs:
        config = (yaml.safe_dump(run.config, sort_keys=False) if run.config
                  else "(no .hydra/config.yaml)")
        parts.append(page.folded(
            str(run.path), f"<p>Overrides: {e(' '.join(run.overrides) or '(none)')}</p>"
            f"<pre>{e(json.dumps(run.info, indent=2, default=str))}</pre>"
            f"<pre>{e(config)}</pre>"))
    parts.append("</body></html>")
    return "\n".join(parts)


def _context(runset: RunSet) -> str:
    facts = []
    for run in runset.runs:
        info = run.info
        rates = info.get("discount_rates") or {}
        by_kind = (", rates by kind: " + ", ".join(f"{kind} {rate}" for kind, rate in rates.items())
                   if len(set(rates.values())) > 1 else "")
        facts.append(f"{run_name(run, runset)}: seed {info.get('seed', '?')}, "
                     f"{info.get('replications', '?')} replications, discount rate "
                     f"{info.get('discount_rate', '?')}, terminal value "
                     f"{info.get('terminal_value', '?')}{by_kind}")
    return "Runs compared — " + "; ".join(facts) + "."
