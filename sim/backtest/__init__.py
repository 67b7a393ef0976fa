"""hashpivot-backtest: start a network model on past dates and score it against real difficulty.

`history` reads the past (each start date's network state, the real epochs and the
realised hashprice after it, the BTC closes and the fits on those before it); `scoring`
runs the worlds from each start and scores the realised path in their bands; `plot` draws
a start date's bands; `outputs` writes the tables and plots into --out as one set; `cli`
is the command line, whose `main` is the console script's.
"""

from sim.backtest.cli import main

__all__ = ["main"]
