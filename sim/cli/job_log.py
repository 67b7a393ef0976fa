"""The job's log: the `sim.` loggers' INFO in Hydra's job log file, the console left to
warnings not already printed, and the root logger as it was after the command."""

from __future__ import annotations

import logging
from contextlib import contextmanager


class _ConsoleFilter(logging.Filter):
    """Pass to the console only warnings and errors not already printed to stderr."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether `record` is shown on the console."""
        return record.levelno >= logging.WARNING and not getattr(record, "printed", False)


@contextmanager
def job_log():
    """Within the block, log the `sim.` loggers' INFO and up to Hydra's job log, and leave
    the console (tqdm's bar, the headline) to warnings.

    Hydra's job logging gives the root logger a console handler and a file handler
    (`<run dir>/hashpivot.log`), both at INFO. The file handler keeps every record of
    the `sim.` loggers; the console handlers get a filter that lets through only
    warnings and errors that were not also printed as a line on stderr. After the
    block the `sim.` loggers stop reaching the handlers Hydra leaves behind, so a later
    `sim.run` in the same process (a notebook, a test) writes to no finished job's log.
    """
    for handler in logging.getLogger().handlers:
        console = type(handler) is logging.StreamHandler  # not a file, nor a test's capture
        if console and not any(isinstance(f, _ConsoleFilter) for f in handler.filters):
            handler.addFilter(_ConsoleFilter())
    package = logging.getLogger("sim")
    package.setLevel(logging.INFO)
    package.propagate = True
    try:
        yield
    finally:
        package.setLevel(logging.NOTSET)
        package.propagate = False


@contextmanager
def root_logging_restored():
    """Within the block Hydra may configure logging; after it the root logger has its own
    handlers and level back, and the handlers Hydra gave it are closed. So a command run
    from Python (a notebook, a test) leaves no console handler bound to its stderr, which
    a later `sim.run` in the same process would write to after that stream is gone."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
