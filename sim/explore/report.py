"""The outputs of an experiment: points.csv, prim.csv, sobol.csv or morris.csv, explore.html, explore.xlsx."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)
import pandas as pd  # noqa: E402

from sim.compare.workbook import unit_of, write_sheets  # noqa: E402
from sim.errors import UserError  # noqa: E402
from sim.explore.analysis import Scenario  # noqa: E402
from sim.explore.run import Experiment  # noqa: E402
from sim.explore.words import in_unit, label, unit_of as input_unit  # noqa: E402
from sim.rundir.files import write_atomic  # noqa: E402

MAX_TABLE_ROWS = 500


@dataclass
class Findings:
    """What an experiment found: the points table, PRIM's scenarios, the sensitivity table, the sentences."""

    points: pd.DataFrame
    scenarios: list[Scenario]
    sensitivity: pd.DataFrame
    sentences: list[str]
    units: dict = field(default_factory=dict)

    def prim_table(self) -> pd.DataFrame:
        """Return every scenario's peeling trajectory, one row per box, with the strategy named."""
        parts = [s.discovery.trajectory.assign(strategy=s.strategy, against=s.against)
                 for s in self.scenarios]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def boxes(self) -> pd.DataFrame:
        """Return the chosen box of each scenario: one row per restricted input."""
        rows = []
        for s in self.scenarios:
            box = s.discovery.box
            for column, (low, high) in box.restricted(s.discovery.bounds).items():
                rows.append(dict(strategy=s.strategy, against=s.against, input=column, low=low,
                                 high=high, coverage=box.coverage, density=box.density, mass=box.mass))
            if not box.restricted(s.discovery.bounds):
                rows.append(dict(strategy=s.strategy, against=s.against, input="(none)",
                                 coverage=box.coverage, density=box.density, mass=box.mass))
        return pd.DataFrame(rows)


def _png(figure) -> str:
    """Return `figure` as a base64 PNG, closing it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def tradeoff_plot(scenario: Scenario) -> str:
    """Return the PRIM trade-off curve (coverage against density of each peeled box) as a base64 PNG."""
    table = scenario.discovery.trajectory
    figure, axes = plt.subplots(figsize=(6.4, 4.0))
    points = axes.scatter(table["coverage"], table["density"], c=table["step"], cmap="viridis", s=18)
    chosen = table[table["chosen"]]
    axes.scatter(chosen["coverage"], chosen["density"], s=120, facecolors="none", edgecolors="red",
                 label="chosen (before pasting)")
    box = scenario.discovery.box
    axes.scatter([box.coverage], [box.density], marker="*", s=160, color="red", label="final box")
    axes.set_xlabel("coverage (share of the cases where it beats)")
    axes.set_ylabel("density (share of the box's cases where it beats)")
    axes.set_title(f"PRIM: {scenario.strategy} beats {scenario.against}")
    axes.legend(loc="lower left", fontsize=8)
    figure.colorbar(points, ax=axes, label="peeling step")
    return _png(figure)


def sensitivity_plot(table: pd.DataFrame) -> str:
    """Return bars of the indices (S1 and ST, or Morris' mu*) of each output, with intervals, as a base64 PNG."""
    outputs = list(dict.fromkeys(table["output"]))
    figure, axes = plt.subplots(len(outputs), 1, figsize=(7.0, 2.4 * len(outputs)), squeeze=False)
    for ax, output in zip(axes[:, 0], outputs):
        part = table[table["output"] == output]
        names = [label(c) for c in part["input"]]
        y = range(len(part))
        if "ST" in part:
            ax.barh([i + 0.2 for i in y], part["ST"], 0.4, xerr=part["ST_conf"], label="total (ST)")
            ax.barh([i - 0.2 for i in y], part["S1"], 0.4, xerr=part["S1_conf"], label="first order (S1)")
            ax.set_xlim(0, max(1.0, float((part["ST"] + part["ST_conf"]).max())))
        else:
            ax.barh(list(y), part["mu_star"], 0.6, xerr=part["mu_star_conf"], label="mu*")
        ax.set_yticks(list(y), names, fontsize=8)
        ax.set_title(output, fontsize=9)
        ax.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return _png(figure)


def plain(value: float) -> str:
    """Return a table number without scientific notation: 10,320,000, or 0.1137."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.4g}"


def _figure(data: str, title: str) -> str:
    return (f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")


def page(experiment: Experiment, findings: Findings, metric: str, wall_s: float) -> str:
    """Return the self-contained explore.html: the sentences, the plots and the tables."""
    ranges = "".join(f"<li><code>{html.escape(r.column)}</code>: {html.escape(in_unit(r.low, r.unit))} to "
                     f"{html.escape(in_unit(r.high, r.unit))}</li>" for r in experiment.ranges)
    parts = [f"<h1>hashpivot-explore: {html.escape(metric)}</h1>",
             "".join(f"<p class=verdict>{html.escape(s)}</p>" for s in findings.sentences),
             f"<p>{experiment.design.kind} design, {len(experiment.design.points)} points × "
             f"{int(experiment.cfg.run.replications)} worlds (the same worlds at every point, run seed "
             f"{experiment.seed}), strategies {', '.join(experiment.strategies)}; this command took {wall_s:,.0f} s (points "
             f"finished by an earlier command are read back, not rerun).</p>",
             f"<ul>{ranges}</ul>"]
    for scenario in findings.scenarios:
        parts.append(_figure(tradeoff_plot(scenario), f"PRIM trade-off, {scenario.strategy}"))
    if len(findings.sensitivity):
        kind = "Sobol' indices" if "ST" in findings.sensitivity else "Morris screen"
        parts.append(f"<h2>{kind}</h2>")
        parts.append(_figure(sensitivity_plot(findings.sensitivity), kind))
        parts.append(findings.sensitivity.to_html(index=False, float_format=lambda v: f"{v:.3f}"))
    if len(findings.boxes()):
        boxes = _boxes_with_units(findings.boxes(), findings.units)
        parts += ["<h2>PRIM boxes</h2>", boxes.to_html(index=False, float_format=plain, na_rep="–")]
    shown = findings.points.head(MAX_TABLE_ROWS)
    more = len(findings.points) - len(shown)
    parts += ["<h2>Design points</h2>",
              f"<p>The first {len(shown)} of {len(findings.points)} rows (all in points.csv).</p>" if more else "",
              _with_units(shown, findings.units, metric).to_html(index=False, float_format=plain,
                                                                 na_rep="–")]
    style = ("body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
             "img{max-width:100%}table{border-collapse:collapse;font-size:.8rem;display:block;"
             "overflow-x:auto}td,th{border:1px solid #ccc;padding:2px 6px;white-space:nowrap}"
             ".verdict{font-size:1.15rem;font-weight:bold}")
    return (f"<!doctype html><html><head><meta charset=utf-8><title>hashpivot-explore</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


#: What `write_outputs` may write into its folder, the page first: an earlier experiment's
#: are removed before any is written, and the page is written last, so a page that is
#: there speaks for the tables beside it (an interrupt leaves no page, never an old one).
OUTPUTS = ("explore.html", "points.csv", "prim.csv", "boxes.csv", "sobol.csv", "morris.csv",
           "explore.xlsx")


def write_outputs(out: Path, experiment: Experiment, findings: Findings, metric: str,
                  wall_s: float, xlsx: bool = False) -> list[Path]:
    """Return the files written in `out`: the csv tables, (if `xlsx`) explore.xlsx and,
    last, explore.html; an earlier experiment's outputs (`OUTPUTS`) are removed first."""
    out = Path(out)
    tables = {"points": findings.points, "prim": findings.prim_table(), "boxes": findings.boxes()}
    if len(findings.sensitivity):
        tables["sobol" if "ST" in findings.sensitivity else "morris"] = findings.sensitivity
    written = []
    try:
        for name in OUTPUTS:
            (out / name).unlink(missing_ok=True)
        for name, frame in tables.items():
            path = out / f"{name}.csv"
            write_atomic(path, lambda tmp, frame=frame: frame.to_csv(tmp, index=False))
            written.append(path)
        if xlsx:
            book = {name: _with_units(frame, findings.units, metric) for name, frame in tables.items()}
            book["boxes"] = _boxes_with_units(tables["boxes"], findings.units)
            path = out / "explore.xlsx"
            write_atomic(path, lambda tmp: write_sheets(book, tmp))
            written.append(path)
        path = out / "explore.html"
        text = page(experiment, findings, metric, wall_s)
        write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        written.append(path)
    except OSError as error:
        raise UserError(f"{out}: cannot be written ({error.strerror or error})") from None
    return written


def _unit(column, units: dict) -> str:
    """Return the unit of an input column, or of a PRIM bound on one (`<input> low`), a world
    feature's included; '' for none or for another column."""
    name = str(column)
    for end in (" low", " high"):
        name = name.removesuffix(end)
    unit = input_unit(name, units)
    return "" if unit in ("", "-") else unit


def _boxes_with_units(boxes: pd.DataFrame, units: dict) -> pd.DataFrame:
    """Return the boxes table with each input's unit (that of its low and high) beside it."""
    if "input" not in boxes:
        return boxes
    table = boxes.copy()
    table.insert(table.columns.get_loc("input") + 1, "unit",
                 [_unit(column, units) for column in table["input"]])
    return table


def _with_units(frame: pd.DataFrame, units: dict, metric: str) -> pd.DataFrame:
    """Return `frame` with each input's (world features included), each PRIM bound's and each
    metric column's header followed by its unit."""
    named = {c: _unit(c, units) for c in frame.columns if _unit(c, units)}
    named.update({c: unit_of(metric) for c in frame.columns if unit_of(metric)
                  and (str(c).startswith(f"{metric} ") or str(c).startswith("difference vs "))})
    named.update({c: "fraction" for c in frame.columns if c == f"{metric} undefined share"})
    named.update({c: "count" for c in frame.columns
                  if str(c).startswith("difference vs ") and str(c).endswith(" pairs")})
    return frame.rename(columns={c: f"{c} ({u})" for c, u in named.items()})
