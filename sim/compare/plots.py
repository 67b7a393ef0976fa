"""Pictures of a comparison: outcome distributions, cash over time, the worlds sampled.

Every figure is drawn with matplotlib's Agg backend (no display), labels its axes with
units, and tells strategies apart by line style, marker and hatch as well as colour, so
that it still reads when printed in grey. A figure that needs data the run did not keep
(cash flows or the timeline under `run.detail=summary`) is simply not drawn. Each
function saves its figure to `path` and returns `path`, or, given `path=None` (a
notebook), returns the open matplotlib Figure itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.compare.finance import dscr_fan  # noqa: E402
from sim.interrupts import signals_held  # noqa: E402
from sim.montecarlo import WORLD_FEATURE_WORDS  # noqa: E402
from sim.rundir import write_atomic  # noqa: E402

COLOURS = ["#000000", "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"]
LINES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 3))]
MARKERS = ["o", "s", "^", "D", "v", "x", "*"]
#: Hatches without horizontal or vertical lines ("+", "|", "-"): inside a histogram's
#: bars those read as bin edges, inside a box as its median.
HATCHES = ["", "//", "..", "xx", "\\\\", "oo", "OO"]
MW_STATES = ["mw_mining", "mw_curtailed", "mw_converting", "mw_ready", "mw_leased",
             "mw_cloud"]
WORLD_PATHS = {"btc_usd": ("BTC price", "USD thousands", 1e-3),
               "hashprice_usd_per_ph_day": ("Hashprice", "USD per PH/s per day", 1.0),
               "power_usd_per_mwh": ("Spot power price", "USD per MWh", 1.0),
               "lease_usd_per_kw_month": ("AI lease index", "USD per kW-month", 1.0),
               "gpu_usd_per_hour": ("GPU rental price", "USD per GPU-hour", 1.0),
               "short_rate": ("Short rate", "per cent a year", 100.0)}
#: The reader's name of every feature column of the worlds table
#: (`sim.montecarlo.world_features`), with its unit.
FEATURES = {name: label for name, (label, _, _) in WORLD_FEATURE_WORDS.items()}


def feature_label(feature: str) -> str:
    """Return the reader's name of a worlds-table column: its label, or for a column the
    label table does not know, its name in words ("btc_usd_max" -> "btc usd max")."""
    return FEATURES.get(feature, feature.replace("_", " "))


def style(i: int) -> dict:
    """Return the colour, line style and marker of the i-th strategy."""
    return {"color": COLOURS[i % len(COLOURS)], "linestyle": LINES[i % len(LINES)],
            "marker": MARKERS[i % len(MARKERS)]}


NAMES = {"npv_usd": "NPV", "irr": "IRR", "payback_years": "payback",
         "peak_funding_usd": "peak funding", "equity_npv_usd": "equity NPV",
         "equity_irr": "equity IRR", "min_dscr": "minimum DSCR",
         "covenant_breached": "covenant breach", "peak_equity_usd": "peak equity",
         "npv_after_tax_usd": "after-tax NPV"}


def metric_name(metric: str) -> str:
    """Return the reader's name of summary column `metric` ("NPV" for npv_usd)."""
    if metric in NAMES:
        return NAMES[metric]
    for suffix in ("_usd", "_years", "_mwh"):
        if metric.endswith(suffix):
            return metric[: -len(suffix)].replace("_", " ")
    return metric.replace("_", " ")


def axis_unit(metric: str) -> tuple[str, float]:
    """Return (axis label, scale factor) for summary column `metric`."""
    name = metric_name(metric)
    if metric.endswith("_usd"):
        return f"{name} (USD millions)", 1e-6
    if metric == "irr" or metric.endswith("_irr"):
        return f"{name} (% per year)", 100.0
    if metric.endswith("dscr"):
        return f"{name} (×: cash for debt service / debt service)", 1.0
    if metric == "covenant_breached":
        return f"{name} (1 = breached, 0 = not)", 1.0
    if metric.endswith("_years"):
        return f"{name} (years)", 1.0
    if metric.endswith("_mwh"):
        return f"{name} (MWh)", 1.0
    if metric.startswith("mw_"):
        return f"{metric[3:].replace('_', ' ')} (MW)", 1.0
    return name, 1.0


def slug(text: str) -> str:
    """Return `text` as a safe file-name fragment."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "default"


def _save(fig, path: Path | None) -> Path | Figure:
    if path is None:  # in memory: the caller keeps the open figure
        return fig
    try:  # whole or not at all: an interrupted report leaves no half-drawn plot
        with signals_held():
            write_atomic(path, lambda tmp: fig.savefig(
                tmp, format=path.suffix.lstrip(".") or "png", dpi=100, bbox_inches="tight"))
    finally:
        plt.close(fig)
    return path


def ecdf(values: dict[str, np.ndarray], metric: str, title: str,
         path: Path | None) -> Path | Figure:
    """Return `path` after drawing an ECDF of `metric` per strategy."""
    label, scale = axis_unit(metric)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (name, x) in enumerate(values.items()):
        x = np.sort(x[np.isfinite(x)]) * scale
        if x.size:
            y = np.arange(1, x.size + 1) / x.size
            ax.step(x, y, where="post", label=name, markevery=max(1, x.size // 8),
                    **style(i))
        else:
            ax.plot([], [], label=f"{name} (no values)", **style(i))
    ax.set(xlabel=label, ylabel="share of replications at or below (–)", title=title,
           ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def boxes(values: dict[str, np.ndarray], metric: str, title: str,
          path: Path | None) -> Path | Figure:
    """Return `path` after drawing a box plot of `metric` per strategy."""
    label, scale = axis_unit(metric)
    names = list(values)
    data = [x[np.isfinite(x)] * scale for x in values.values()]
    fig, ax = plt.subplots(figsize=(max(5, 1.4 * len(names) + 2), 4.5))
    keep = [i for i, x in enumerate(data) if x.size]
    if keep:
        parts = ax.boxplot([data[i] for i in keep], patch_artist=True, whis=(5, 95),
                           showmeans=True, tick_labels=[names[i] for i in keep],
                           medianprops={"color": "black"},
                           meanprops={"markerfacecolor": "black",
                                      "markeredgecolor": "black"})
        for j, box in zip(keep, parts["boxes"]):
            box.set(facecolor="white", hatch=HATCHES[j % len(HATCHES)],
                    edgecolor=COLOURS[j % len(COLOURS)])
    ax.set(ylabel=label, title=f"{title}\n(box: P25–P75, whiskers: P5–P95, triangle: mean)")
    ax.tick_params(axis="x", rotation=20)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _panels(count: int, width: float = 4.2, height: float = 3.2, sharey: bool = False):
    cols = min(3, count)
    rows = int(np.ceil(count / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows),
                             squeeze=False, sharex=True, sharey=sharey)
    for ax in axes.flat[count:]:
        ax.set_visible(False)
    for ax in axes.flat:
        ax.tick_params(labelbottom=True, labelleft=True)
    return fig, axes.flat


def _months(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def cash_fans(cash: dict[str, pd.DataFrame], title: str, path: Path | None) -> Path | Figure:
    """Return `path` after drawing P5–P95 fans of the cumulative sum of `cash` (each
    strategy's replication × month frame) per strategy."""
    fig, axes = _panels(len(cash), sharey=True)
    for i, ((name, wide), ax) in enumerate(zip(cash.items(), axes)):
        cumulative = wide.sort_index(axis=1).cumsum(axis=1) * 1e-6
        q = cumulative.quantile([0.05, 0.5, 0.95])
        months = pd.to_datetime(cumulative.columns)
        ax.fill_between(months, q.loc[0.05], q.loc[0.95], color="0.8", lw=0,
                        label="P5–P95")
        ax.plot(months, q.loc[0.5], label="median", **{**style(i), "marker": None})
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set(title=name, ylabel="cumulative net cash (USD millions)", xlabel="month")
        _months(ax)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def mw_states(timeline: dict[str, pd.DataFrame], title: str, path: Path | None) -> Path | Figure:
    """Return `path` after drawing the mean MW in each state over time per strategy, stacked.

    The states part the site's grid MW in every world, so their means do too: the stack's
    top is the site (medians, drawn apart, need not add up). States that are zero
    throughout, in every panel, are left out.
    """
    fig, axes = _panels(len(timeline), sharey=True)
    used = [s for s in MW_STATES if any(s in m and (m[s] != 0).any()
                                        for m in timeline.values())]
    for (name, means), ax in zip(timeline.items(), axes):
        months = pd.to_datetime(means.index)
        shown = [state for state in used if state in means]
        layers = ax.stackplot(months, *[means[state].to_numpy(float) for state in shown],
                              labels=[state[3:] for state in shown], alpha=0.85,
                              colors=[COLOURS[used.index(state) % len(COLOURS)] for state in shown])
        for layer, state in zip(layers, shown):  # told apart without colour too
            layer.set_hatch(HATCHES[used.index(state) % len(HATCHES)])
        ax.set(title=name, ylabel="grid MW (mean over replications)", xlabel="month")
        _months(ax)
    handles = {}  # one legend for the panels, below them, where it hides no layer
    for ax in fig.axes:  # `axes` is a flat iterator, spent above
        handles.update(zip(*reversed(ax.get_legend_handles_labels())))
    fig.suptitle(title)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=len(handles),
               fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _save(fig, path)


def differences(diffs: dict[str, np.ndarray], metric: str, title: str,
                path: Path | None) -> Path | Figure:
    """Return `path` after drawing a histogram of each set of paired differences.

    `diffs` maps a panel title ("phased − stay_mining") to the differences.
    """
    label, scale = axis_unit(metric)
    fig, axes = _panels(len(diffs))
    for i, ((name, d), ax) in enumerate(zip(diffs.items(), axes)):
        d = d[np.isfinite(d)] * scale
        ax.hist(d, bins=min(40, max(5, d.size // 5)), color="0.75", edgecolor="0.2",
                hatch=HATCHES[(i + 1) % len(HATCHES)])
        ax.axvline(0, color="black", lw=1)
        if d.size:
            ax.axvline(d.mean(), color="black", ls="--", lw=1.2, label="mean")
            ax.legend(fontsize=7)
        ax.set(title=name, xlabel=f"difference in {label}", ylabel="replications")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # a count: never 2.5 replications
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def regret_heatmap(regret: pd.DataFrame, metric: str, path: Path | None) -> Path | Figure:
    """Return `path` after drawing the strategy × scenario regret table as a heat map."""
    label, scale = axis_unit(metric)
    data = regret.drop(columns=["max_regret", "scenarios_missing"]) * scale
    fig, ax = plt.subplots(figsize=(2 + 1.6 * data.shape[1], 1.5 + 0.5 * data.shape[0]))
    image = ax.imshow(data.to_numpy(float), cmap="Greys", aspect="auto")
    top = np.nanmax(data.to_numpy(float)) if np.isfinite(data.to_numpy(float)).any() else 0
    for (r, c), v in np.ndenumerate(data.to_numpy(float)):
        ax.text(c, r, _cell(v, metric), ha="center", va="center", fontsize=8,
                color="white" if np.isfinite(v) and v > 0.6 * top else "black")
    ax.set_xticks(range(data.shape[1]), data.columns, rotation=20, ha="right")
    ax.set_yticks(range(data.shape[0]), data.index)
    ax.set(xlabel="scenario", ylabel="strategy",
           title="Regret: distance from the scenario's best mean")
    fig.colorbar(image, ax=ax, label=f"regret in {label}")
    return _save(fig, path)


def _cell(value: float, metric: str) -> str:
    """Return a heat map cell's text: an amount in millions to a tenth, as the tables write
    it, and never in scientific notation (1,015.4, not 1.02e+03)."""
    if not np.isfinite(value):
        return "–"
    if metric.endswith("_usd"):
        return f"{value:,.1f}"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.3g}"


def world_fans(monthly: pd.DataFrame, title: str, path: Path | None) -> Path | Figure:
    """Return `path` after drawing P5–P95 fans of each sampled market path."""
    fields = [f for f in WORLD_PATHS if f in monthly]
    fig, axes = _panels(len(fields), width=4.4)
    months = pd.to_datetime(monthly["month"])
    for field, ax in zip(fields, axes):
        name, unit, scale = WORLD_PATHS[field]
        q = (monthly.assign(month=months).groupby("month")[field]
             .quantile([0.05, 0.5, 0.95]).unstack() * scale)
        ax.fill_between(q.index, q[0.05], q[0.95], color="0.8", lw=0, label="P5–P95")
        ax.plot(q.index, q[0.5], color="black", label="median")
        ax.set(title=name, ylabel=unit, xlabel="month")
        _months(ax)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def tornado(sensitivity: pd.DataFrame, title: str, path: Path | None) -> Path | Figure:
    """Return `path` after drawing a tornado of rank correlations per strategy pair.

    Two panels a row, each as tall as its bars, the axis spanning the largest |ρ| drawn
    (not the whole −1..1), so the bars fill the figure.
    """
    pairs = list(dict.fromkeys(zip(sensitivity["strategy"], sensitivity["baseline"])))
    rho_all = sensitivity["spearman_rho"].abs().to_numpy(float)
    reach = float(np.nanmax(rho_all)) if np.isfinite(rho_all).any() else 1.0
    reach = min(1.0, max(0.1, 1.15 * reach))
    features = sensitivity["feature"].nunique()
    cols = min(2, len(pairs))
    rows = int(np.ceil(len(pairs) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(6.4 * cols, (0.26 * features + 0.9) * rows),
                             squeeze=False)
    for ax in axes.flat[len(pairs):]:
        ax.set_visible(False)
    for (name, baseline), ax in zip(pairs, axes.flat):
        part = sensitivity[(sensitivity["strategy"] == name)
                           & (sensitivity["baseline"] == baseline)]
        part = part.reindex(part["spearman_rho"].abs().sort_values().index)
        labels = [feature_label(f) for f in part["feature"]]
        rho = part["spearman_rho"].to_numpy()
        bars = ax.barh(labels, rho, height=0.7, color=np.where(rho >= 0, "0.35", "0.8"),
                       edgecolor="black")
        for bar, r in zip(bars, rho):
            bar.set_hatch("" if r >= 0 else "//")
        ax.axvline(0, color="black", lw=0.8)
        ax.set_ylim(-0.6, len(labels) - 0.4)
        ax.tick_params(axis="y", labelsize=8)
        ax.set(xlim=(-reach, reach), title=f"{name} − {baseline}",
               xlabel="Spearman rank correlation with the difference (–)")
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def dscr_fans(paths: dict[str, pd.DataFrame], covenant: dict[str, float | None],
              title: str, path: Path | None, places: dict[str, int] | None = None
              ) -> Path | Figure:
    """Return `path` after drawing fans of the monthly DSCR per strategy.

    `paths` maps a strategy to its trailing-12-month DSCR (replication × month); each
    panel shows the median, P25–P75 and P5–P95 over the worlds with a DSCR that month,
    and a dashed line at the strategy's covenant minimum (`covenant`, None for none).
    `places` gives each strategy's place among all those compared, so that its median
    has the style it has in the other plots (which draw the strategies without debt too);
    by default, its place in `paths`.
    """
    places = places or {}
    fig, axes = _panels(len(paths))  # each panel its own scale: one wide fan must not flatten the others
    for i, ((name, wide), ax) in enumerate(zip(paths.items(), axes)):
        fan = dscr_fan(wide)
        months = pd.to_datetime(fan.index)
        ax.fill_between(months, fan[0.05], fan[0.95], color="0.85", lw=0, label="P5–P95")
        ax.fill_between(months, fan[0.25], fan[0.75], color="0.6", lw=0, label="P25–P75")
        ax.plot(months, fan[0.5], label="median", lw=1.6,  # solid: the covenant is dashed
                **{**style(places.get(name, i)), "marker": None, "linestyle": "-"})
        floor = covenant.get(name)
        if floor is not None:
            ax.axhline(floor, color="black", ls="--", lw=1.2,
                       label=f"covenant minimum {floor:.2f}×")
        upper = fan[0.75].to_numpy(float)
        upper = upper[np.isfinite(upper)]
        top = max(upper.max() if upper.size else 0.0, floor or 0.0)
        if top > 0:  # a few worlds with tiny debt service must not flatten the fan
            low, high = ax.get_ylim()
            ax.set_ylim(min(low, 0.0), min(high, 2.5 * top))
        ax.set(title=name, ylabel="trailing-12-month DSCR (×)", xlabel="month")
        _months(ax)
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)
