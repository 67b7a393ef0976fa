"""`python -m sim.compare RUN_DIR ...`: the same as `hashpivot-compare`."""

from sim.compare.cli import main

raise SystemExit(main())
