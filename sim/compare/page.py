"""How numbers and tables look on the report's page.

Amounts in a metric's unit ("−$4.3M", "12.5%", "1.35x"), shares that never round a
nonzero share to "0%" nor a share short of 1 to "100%" (in the verdict "<1%", in the
tables "<0.1%"), calendar years without a thousands separator, and counts with one;
tables as HTML whose number cells never wrap (a minus sign stays with its number); long
tables folded into `<details>`; PNG figures embedded as data.
"""

from __future__ import annotations

import base64
import html
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

MINUS = "\u2212"

CSS = """body{font-family:sans-serif;max-width:1200px;margin:1.5em auto;padding:0 1em;
color:#111;line-height:1.45}h1{font-size:1.6em;margin:.3em 0}
.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;margin:.5em 0 1.5em;
font-size:.85em}th,td{border:1px solid #999;padding:.25em .5em;text-align:right}
th{background:#eee}td:first-child,th:first-child{text-align:left}
td.num,span.num{white-space:nowrap}
.verdict{border:2px solid #111;padding:.3em 1em;background:#f6f6f6}
.verdict p{margin:.45em 0}.verdict p:first-child{font-size:1.15em;font-weight:bold}
nav{margin:.4em 0;font-size:.9em}nav a{margin-right:1em}
details{margin:.3em 0 1em}summary{cursor:pointer;font-weight:bold}
figure{margin:.5em 0 1.5em}
.note{font-style:italic}img{max-width:100%;height:auto;border:1px solid #ccc}
pre{background:#f4f4f4;padding:.5em;overflow-x:auto;font-size:.8em}"""

#: A negative amount as fmt writes it ("−$4.3M"): a line may break between the minus
#: and the dollar sign (both prefixes in Unicode's line breaking), so `nowrap_numbers`
#: keeps it on one line. Other numbers do not break inside.
_NEGATIVE = re.compile(r"−\$[\d,]+(?:\.\d+)?[MBk]?")


def share(value) -> str:
    """Return a share as a whole percentage, never 0% or 100% unless it is exactly that."""
    if value is None or pd.isna(value):
        return "–"
    value = float(value)
    if 0 < value < 0.01:
        return "<1%"
    if 0.99 < value < 1:
        return ">99%"
    return f"{value:.0%}"


def fmt(value, metric: str = "") -> str:
    """Return `value` as text in the unit that `metric`'s name carries.

    Beside the units of summary columns ("_usd", "_irr", "_share", "dscr", "_years"),
    `metric` may be "year" (a calendar year: 2027), "count" (18,439), "confidence" (a
    statistical test's, never written as 100%: ">99.9%") or "correlation" (two decimals,
    as the verdict writes a rank correlation: −0.60).
    """
    if isinstance(value, (bool, np.bool_, str)):
        return str(bool(value)) if not isinstance(value, str) else value
    if value is None or pd.isna(value) or not math.isfinite(value):
        return "–"
    if metric == "year":
        return str(int(value))
    if metric == "count":
        return f"{int(round(value)):,}"
    if metric.endswith("_usd"):  # no sign on an amount that rounds to $0.0M
        amount = f"${abs(value) / 1e6:,.1f}M"
        return f"{MINUS if value < 0 and amount != '$0.0M' else ''}{amount}"
    if metric in ("share", "covenant_breached") or metric.endswith("_share"):
        return share_in_tenths(value)
    if metric == "confidence":  # a test's on sampled worlds: a 1 is a p-value lost to rounding
        return share_in_tenths(value) if value < 1 else ">99.9%"
    if metric == "correlation":
        return f"{value:.2f}".replace("-0.00", "0.00").replace("-", MINUS)
    if metric == "irr" or metric.endswith("_irr"):
        return f"{value:.1%}".replace("-0.0%", "0.0%").replace("-", MINUS)
    if metric.endswith("dscr"):
        return f"{value:,.2f}x".replace("-", MINUS)
    if metric.endswith("_years"):
        return f"{value:,.2f} years".replace("-", MINUS)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}".replace("-", MINUS)
    if abs(value) >= 1e4:  # never scientific notation on the page
        return f"{value:,.0f}".replace("-", MINUS)
    return f"{value:,.4g}".replace("-", MINUS)


def share_in_tenths(value: float) -> str:
    """Return a share to a tenth of a percent, never rounded to 0.0% unless it is 0, nor
    to 100.0% unless it is 1 (a signed share, such as the terminal value's part of NPV,
    may pass 100%)."""
    size, sign = abs(value), "-" if value < 0 else ""
    text = f"{size:.1%}"
    if size != 0 and text == "0.0%":
        text = "<0.1%"
    elif size != 1 and text == "100.0%":
        text = ">99.9%" if size < 1 else ">100.0%"
    return (sign + text).replace("-", MINUS)


def nowrap_numbers(text: str) -> str:
    """Return escaped `text` with each negative amount in a span that does not wrap."""
    escaped = html.escape(text)
    return _NEGATIVE.sub(lambda m: f'<span class="num">{m.group(0)}</span>', escaped)


def table(frame: pd.DataFrame, units: dict[str, str], headers: dict[str, str]) -> str:
    """Return `frame` as an HTML table: each number formatted in its column's unit (from
    `units`), in a cell that does not wrap; headers renamed by `headers`; in a box that
    scrolls sideways rather than widen the page."""
    e = html.escape
    head = "".join(f"<th>{e(headers.get(str(c), str(c)))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(frame.columns, values):
            if isinstance(value, str):
                cells.append(f"<td>{e(value)}</td>")
            else:
                cells.append(f'<td class="num">{e(fmt(value, units.get(column, "")))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def folded(title: str, body: str) -> str:
    """Return `body` under `title`, folded: a `<details>` element the reader opens."""
    return f"<details><summary>{html.escape(title)}</summary>{body}</details>"


def image(title: str, path: Path) -> str:
    """Return the PNG at `path` as a captioned figure with its data embedded."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(title)}</figcaption></figure>")
