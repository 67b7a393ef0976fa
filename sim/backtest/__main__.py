"""`python -m sim.backtest`: the hashpivot-backtest command."""

import sys

from sim.backtest.cli import main

sys.exit(main())
