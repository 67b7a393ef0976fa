"""The verdict a decision maker reads first, in plain sentences.

The recommended strategy and how confident its ranking is (`verdict`; across several
scenarios, the strategy whose largest regret is smallest), its main risk, what a lender
reads first, the terminal value's share of its NPV and, when the run directory has
robustness.csv, whether the verdict holds under other valuation assumptions; then what
`run.until_confident` decided and what each learning strategy's training measured.
`sim.compare.report` sets these sentences at the top of report.html.
"""

from __future__ import annotations

import pandas as pd

from sim.compare.analysis import Analysis
from sim.compare.finance import covenant_dscr
from sim.compare.load import RunSet, run_name
from sim.compare import page
from sim.compare.page import fmt
from sim.compare.plots import feature_label, metric_name
from sim.compare.robustness import verdict_sentence
from sim.rundir.robustness_record import missing_line
from sim.selection import Selection, percent, select_best, until_confident_sentence

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
    return (f"{label} ({run_name}) converts in tranches of {policy.get('tranche_blocks')} blocks, each "
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
    alone = _alone(analysis, selection, unranked, name, mean, interval)
    if alone:
        return alone
    same = selection.twins_of(best)
    if len(selection.means) == 1 + len(same):  # one strategy, under several names
        return [f"{' and '.join((best, *same))} had the same {name} in every sampled world "
                f"(they acted alike): mean {mean}; there is no other strategy to rank them "
                f"against.{interval}"]
    lines = _ranked(analysis, scenario, selection, name, mean, level, interval)
    if same:
        lines.append(f"{' and '.join(same)} had the same {name} as {best} in every sampled world "
                     f"(it acted alike), so they are ranked as one.")
    return lines + _against_baseline(row, best, metric, name, level)


def _alone(analysis: Analysis, selection: Selection, unranked: dict, name: str, mean: str,
           interval: str) -> list[str]:
    """Return the headline where the best has no other strategy to be ranked against, or
    the single world simulated states no confidence; [] where it is ranked."""
    best = selection.best
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
    return []


def _ranked(analysis: Analysis, scenario: str, selection: Selection, name: str, mean: str,
            level: str, interval: str) -> list[str]:
    """Return the recommendation among strategies ranked against one another, and the test
    that ranks them: identified as best, or provisionally, with the replications to settle it."""
    best, metric = selection.best, analysis.metric
    zone, others = fmt(selection.delta, metric), [s for s in selection.survivors if s != best]
    here = analysis.table[analysis.table["scenario"] == scenario]
    pairs = ("replications" if not (here["paired"].astype("boolean") == False).any()  # noqa: E712
             else "replications, paired by number (not all the runs sampled the same worlds)")
    test = (f"A one-look paired Bonferroni test over all {fmt(selection.available, 'count')} "
            f"{pairs} gives {fmt(selection.zone_confidence, 'confidence')} confidence that no "
            f"strategy's mean {name} beats {best}'s by more than the indifference zone of "
            f"{zone}, and {fmt(selection.mcb_confidence, 'confidence')} that {best} beats every "
            f"other outright.")
    if selection.confident:
        tie = (f"; at {level} it is not told apart from {', '.join(others)}: "
               f"{'either' if len(others) == 1 else 'any of them'} may be better, but by no "
               f"more than the zone" if others else "")
        return [f"Recommended: {best}, the best mean {name} ({mean}), identified with "
                f"{level} {MONTE_CARLO}: no other strategy beats it by more than {zone}.",
                f"{test[:-1]}{tie}.{interval}"]
    needed = selection.required_replications
    return [f"Recommended, provisionally: {best}, which leads on mean {name} ({mean})"
            f" but is not yet identified as best (to within {zone}) at {level} "
            f"{MONTE_CARLO}.",
            f"{test} Still in contention: {', '.join(selection.survivors)}; about "
            f"{fmt(needed, 'count')} replications would settle it even were their means "
            f"equal (hashpivot run.replications={needed}).{interval}"]


def _against_baseline(row: pd.Series, best: str, metric: str, name: str, level: str) -> list[str]:
    """Return the sentence on what `best` gains or loses against its baseline, or none where
    it is the baseline or the table has no difference from it."""
    if isinstance(row.get("baseline"), str) and row["baseline"] != best \
            and pd.notna(row.get("diff_mean")):
        how = "paired over the same worlds" if row["paired"] else "unpaired"
        verb = "gains" if row["diff_mean"] >= 0 else "loses"
        return [f"Against {row['baseline']}, {best} {verb} "
                f"{fmt(abs(row['diff_mean']), metric)} of {name} on average ({level} "
                f"CI {fmt(row['diff_ci_low'], metric)} to "
                f"{fmt(row['diff_ci_high'], metric)}, {how}) and beats it in "
                f"{page.share(row['p_beats_baseline'])} of sampled worlds, a tie "
                f"counted as half{_shortfall_clause(row, metric)}."]
    return []


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
                f"a {cap_rate:.1%} cap rate, the mine as a going concern, GPUs at resale")
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
    holds; or that its table is about strategies this comparison leaves out; and for each
    run whose table was asked for but not made (run.json's record), so (`missing_line`)."""
    lines = []
    for run in runset.runs:
        table = run.robustness
        if table is None or table.empty:
            lines += [line for line in [missing_line(run.path, run.info)] if line]
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


def robust_choice(regret: pd.DataFrame) -> str | None:
    """Return the strategy whose largest regret over the scenarios is smallest, among those
    that ran in every scenario; None if none did, or only one did (nothing to weigh it against)."""
    usable = regret.loc[regret["scenarios_missing"] == 0, "max_regret"].dropna()
    if len(usable) < 2:
        return None
    return usable.idxmin()
