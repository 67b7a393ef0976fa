"""The job log: what the console shows."""

import logging

from sim.cli.job_log import _ConsoleFilter


def test_the_console_shows_warnings_once_and_no_info():
    def record(level, **extra):
        made = logging.LogRecord("sim.montecarlo", level, __file__, 1, "message", None, None)
        made.__dict__.update(extra)
        return made

    keep = _ConsoleFilter().filter
    assert not keep(record(logging.INFO)) and keep(record(logging.WARNING))
    assert not keep(record(logging.WARNING, printed=True))  # already a line on stderr
