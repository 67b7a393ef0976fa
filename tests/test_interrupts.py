"""Interrupts that land where Python cannot raise them (sim.interrupts.interrupts_unprinted)."""

import weakref

from sim.interrupts import Terminated, interrupts_unprinted


class _Gone:
    """An object whose weakref callback is interrupted, as by a Ctrl-C during garbage collection."""


def _callback_raising(error):
    def callback(_):
        raise error

    return callback


def test_a_ctrl_c_or_sigterm_in_a_weakref_callback_prints_no_traceback(monkeypatch):
    """Before (Python's own hook): "Exception ignored in ..." and a traceback on stderr; seen
    in CI as a second Ctrl-C landed in a WeakSet's callback while a run stopped."""
    seen = []
    monkeypatch.setattr("sys.unraisablehook", lambda unraisable: seen.append(unraisable.exc_type))
    for interrupt in (KeyboardInterrupt(), Terminated()):
        gone = _Gone()
        ref = weakref.ref(gone, _callback_raising(interrupt))
        with interrupts_unprinted():
            del gone  # the callback runs here, interrupted
        assert ref() is None
    assert seen == []


def test_other_unraisable_errors_still_reach_the_hook_before_it(monkeypatch):
    seen = []
    monkeypatch.setattr("sys.unraisablehook", lambda unraisable: seen.append(unraisable.exc_type))
    gone = _Gone()
    ref = weakref.ref(gone, _callback_raising(ValueError("a bug")))
    with interrupts_unprinted():
        del gone
    assert ref() is None and seen == [ValueError]
    gone = _Gone()
    ref = weakref.ref(gone, _callback_raising(KeyboardInterrupt()))
    del gone  # outside the block: the hook before it sees the interrupt, as Python's would
    assert seen == [ValueError, KeyboardInterrupt]
