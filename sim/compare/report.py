"""The report a decision maker reads: a plain-language verdict, then the evidence.

`report.html` is one self-contained page: its plots are embedded as PNG data, it has
no script and fetches nothing, so it opens in a browser offline or from an e-mail. The
top holds the verdict (its sentences are `sim.compare.verdict`'s: the recommended
strategy, how confident the ranking is, and its main risk) and, when the run directory
has robustness.csv, the table of whether the verdict holds under other valuation
assumptions; below come the tables, the financing (when the runs carry it: the terms,
each strategy's debt cover, breach probability and equity figures, and the DSCR over
time), the plots and the configuration that produced them.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import yaml

from sim.compare.analysis import Analysis
from sim.compare.finance import Financing
from sim.compare.load import RunSet, run_name
from sim.compare import page
from sim.compare.plots import feature_label, metric_name
from sim.compare.robustness import within_noise
from sim.compare.verdict import compares
from sim.selection import percent


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
    # within the noise neither strategy is shown ahead, whichever mean is higher (as the
    # verdict's sentence says): a "yes" there would read as the verdict holding
    shown["verdict holds"] = ["not shown (within noise)" if label in noise
                              else "yes" if str(v).lower() == "true" else "no"
                              for label, v in zip(table["alternative"].astype(str), table["verdict_holds"])]
    return _table(shown, dict(columns.values()))


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
           "terminal_value_pv_mean": "terminal value (PV)", "terminal_value_share": "terminal value / NPV",
           "contract_value_mean": "mean contract value"}


#: Columns counted, whatever the metric.
COUNTS = {"n": "count", "n_pairs": "count", "about needed": "count", "replications": "count",
          "year": "year"}


def _table(frame: pd.DataFrame, units: dict[str, str]) -> str:
    return page.table(frame, {**COUNTS, **units}, HEADERS)


def contract_values(runset: RunSet) -> pd.Series | None:
    """Return the mean contract value (USD: the contracted rent of the leases and GPU-hour
    contracts signed, summary's `contract_value_usd`) by (scenario, label), or None where no
    strategy signed a contract (or the runs were saved without the column).

    The figure that ties a run to the deal it models (the presets: core_scientific's $8.7B).
    """
    summary = runset.summary
    if "contract_value_usd" not in summary.columns:
        return None
    signed = summary["contract_value_usd"].astype(float)
    if not (signed > 0).any():
        return None
    return signed.groupby([summary["scenario"], summary["label"]], sort=False).mean()


def _per_strategy(analysis: Analysis, runset: RunSet) -> pd.DataFrame:
    """Return the per-strategy statistics the report shows, with each strategy's mean
    contract value where some strategy signed one."""
    frame = analysis.table[[
        "scenario", "strategy", "n", "undefined_share", "mean", "ci_low", "ci_high", "std",
        "p5", "p50", "p95", "p_negative", "cvar5", "terminal_value_pv_mean", "terminal_value_share"]]
    contracts = contract_values(runset)
    if contracts is None:
        return frame
    keys = zip(frame["scenario"], frame["strategy"])
    return frame.assign(contract_value_mean=[contracts.get(key) for key in keys])


def _tables(analysis: Analysis, runset: RunSet) -> list[tuple[str, str]]:
    m, t = analysis.metric, analysis.table
    usd = {c: m for c in ("mean", "ci_low", "ci_high", "std", "p5", "p50", "p95",
                          "cvar5", "diff_mean", "diff_ci_low", "diff_ci_high",
                          "unpaired_ci_width", "regret", "max_regret", "delta", "terminal_value_pv_mean",
                          "shortfall_mean", "shortfall_worst")}
    usd["contract_value_mean"] = "x_usd"  # in USD whatever the metric
    usd.update({"terminal_value_share": "share", "undefined_share": "share", "p_negative": "share", "p_beats_baseline": "share", "mcb_confidence":
                "confidence", "incremental_irr": "irr", "incremental_irr_median": "irr"})
    sections = [(f"Per-strategy statistics of {metric_name(m)} ({m})",
                 _table(_per_strategy(analysis, runset), usd))]
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
                                                 "zone_confidence": "confidence"})))
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
        order = list(dict.fromkeys(inc["strategy"]))  # as the other tables list them
        wide = inc.pivot_table(index=["scenario", "year"], columns="strategy",
                               values="mean_usd")[order].reset_index()
        sections.append(("Incremental net cash flow against the baseline before debt, tax "
                         "and the terminal value, mean per calendar year",
                         _table(wide, {c: "x_usd" for c in wide.columns
                                       if c not in ("scenario", "year")})))
    sens = analysis.sensitivity
    if not sens.empty:
        sens = sens.assign(feature=sens["feature"].map(feature_label))
        sections.append(("What drives the difference: rank correlation with features of"
                         " the sampled world, and the mean difference in the top minus "
                         "the bottom 20% of each feature",
                         _table(sens, {"swing": m, "spearman_rho": "correlation"})))
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


#: What a comparison of runs that kept no monthly tables leaves out.
NO_MONTHLY = ("The runs kept no monthly cash flows or capacity (run.detail=summary), so the "
              "cumulative cash and the capacity by state are not drawn, and the IRR of "
              "incremental cash and the incremental cash flow table are left out (–).")

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
    if not analysis.cash:  # else the missing plots and the blank IRR columns go unexplained
        parts.append(f'<p class="note">{e(NO_MONTHLY)}</p>')
    parts.append(f'<h2 id="tables">Tables</h2><p>{e(_context(runset))}</p>')
    for i, (title, body) in enumerate(_tables(analysis, runset)):
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
        by_kind = (", rates by kind: " + ", ".join(f"{kind} {_rate(rate)}"
                                                   for kind, rate in rates.items())
                   if len(set(rates.values())) > 1 else "")
        facts.append(f"{run_name(run, runset)}: seed {info.get('seed', '?')}, "
                     f"{info.get('replications', '?')} replications, discount rate "
                     f"{_rate(info.get('discount_rate', '?'))}, terminal value "
                     f"{info.get('terminal_value', '?')}{by_kind}")
    return "Runs compared — " + "; ".join(facts) + "."


def _rate(value) -> str:
    """Return a rate of run.json as the page writes rates, in percent (0.0725: 7.25%); what
    is not a number (an older run's missing key) as it is."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return percent(value) if number else str(value)
