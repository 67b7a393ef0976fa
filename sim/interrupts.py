"""Ctrl-C and SIGTERM in every hashpivot command: their exit statuses, SIGTERM raised as
an interrupt in the main thread, a block in which both are held until it ends, and one in
which an interrupt that lands where Python cannot raise it goes without a traceback."""

from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

#: The exit status of every hashpivot command stopped by Ctrl-C (SIGINT), and by SIGTERM.
INTERRUPTED = 130
TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that a run stops as it does on Ctrl-C."""


@contextmanager
def sigterm_interrupts():
    """Within the block, make SIGTERM raise Terminated in this process (not in forked workers)."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may
        yield
        return
    owner = os.getpid()

    def on_sigterm(signum, frame):
        if os.getpid() != owner:  # a worker forked inside the block: end as SIGTERM ends it
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def signals_held():
    """Within the block, hold Ctrl-C and SIGTERM; after it, raise the first that came.

    Agg's renderer is C++: a KeyboardInterrupt raised inside it comes out as a
    ValueError ("Invalid bounding box"), which would read as a bug, not an interrupt.
    """
    if threading.current_thread() is not threading.main_thread():  # only it gets signals
        yield
        return
    caught: list[int] = []
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not None:  # None: a handler not set from Python
            previous[signum] = signal.signal(signum, lambda number, frame: caught.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])  # its own handler acts on it now


@contextmanager
def interrupts_unprinted():
    """Within the block, keep quiet about an interrupt that landed where Python cannot raise it.

    A Ctrl-C (or SIGTERM, `Terminated`) that arrives while a finalizer or a weakref callback
    runs (the garbage collector's, at any moment) is lost: Python prints "Exception ignored
    in ..." and a traceback, and goes on. Here it is lost without the traceback (a second
    Ctrl-C while a run stops, the usual case, would print one above the run's own line).
    It cannot be raised again from here: the hook is Python code, so a signal raised in it
    would interrupt the hook itself. Any other error still reaches the hook before this one.
    """
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        yield
    finally:
        sys.unraisablehook = previous
