"""`python -m sim.cli ...`: the same as `hashpivot`."""

import sys

from sim.cli import main

sys.exit(main())
