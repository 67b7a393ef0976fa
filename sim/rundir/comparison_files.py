"""The files a comparison writes into a run's folder (the report, its tables, its plots),
and removing an earlier comparison's, which would speak for other tables: before a new
comparison is written (sim.compare.pipeline), before a command reruns into the folder
(sim.cli.job), and before another run is saved over it (sim.result). Here, beside the
rest of the folder's layout, so that a module below the comparison can remove one.
"""

from __future__ import annotations

import re
from pathlib import Path

COMPARISON_CSV = "comparison.csv"
REPORT_HTML = "report.html"
PLOTS_DIR = "plots"
WORKBOOK = "comparison.xlsx"
#: What a comparison writes into its folder beside plots/ (a table it has nothing for is
#: not written): an earlier comparison's are removed before a new one is written.
WRITTEN = (REPORT_HTML, COMPARISON_CSV, "dominance.csv", "incremental_cashflows.csv",
           "sensitivity.csv", "regret.csv", WORKBOOK)
#: The names of the plots a comparison draws into plots/, each `<stem>.png` or, per scenario
#: or sampled world, `<stem>_<slug>.png` (`draw_named`, `draw_financing`; `plots.slug`).
PLOT_STEMS = ("ecdf", "box", "paired_difference", "tornado", "cumulative_cash", "mw_by_state",
              "regret", "world", "dscr")
_PLOT_NAME = re.compile(rf"(?:{'|'.join(PLOT_STEMS)})(?:_[a-z0-9_]+)?\.png")


def is_plot(name: str) -> bool:
    """Return whether a file named `name` in plots/ is one a comparison draws."""
    return _PLOT_NAME.fullmatch(name) is not None


def remove_comparison(out: Path) -> None:
    """Remove an earlier comparison's report, tables and plots from `out`, the report first:
    a report that is there was written whole, for the tables and plots beside it. Only
    the files a comparison writes go: any other file in `out` or plots/ stays."""
    for name in WRITTEN:
        (Path(out) / name).unlink(missing_ok=True)
    folder = Path(out) / PLOTS_DIR
    if folder.is_dir():
        for path in folder.iterdir():
            if is_plot(path.name) and path.is_file():
                path.unlink(missing_ok=True)
