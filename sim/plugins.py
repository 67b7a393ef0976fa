"""Where every hashpivot command finds a user's plug-in modules: the current directory,
put on `sys.path` as `python -m` would, so that a `_target_` such as `my_demand.LeaseLinkedDemand`
imports from the directory the command runs in."""

from __future__ import annotations

import os
import sys


def cwd_on_path() -> str:
    """Return the current directory, put first on `sys.path` unless it is there already."""
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    return cwd
