"""run.json's record of the verdict's robustness reruns: what a report says of a table
asked for but not made."""

import pytest

from sim.rundir.lock import hold
from sim.rundir.robustness_record import missing_line, record

RERUN = "the same command with hydra.run.dir=RUN"


@pytest.mark.parametrize("state, fields, said", [
    ("failed", {"error": "WorkerLost: a worker died"}, "failed (WorkerLost: a worker died)"),
    ("interrupted", {}, "were interrupted"),
    # running while no process holds the folder: the reruns' process was killed
    ("running", {}, "stopped unfinished (their process ended, killed or out of memory)"),
])
def test_reruns_asked_for_but_not_made_are_named_with_how_to_make_them(state, fields, said, tmp_path):
    info = record(tmp_path, {"status": "complete"}, state, replications=200, rerun=RERUN, **fields)
    assert missing_line(tmp_path, info) == (
        f"The verdict's robustness reruns (run.robustness.replications=200) were asked for but "
        f"{said}, so there is no robustness table: rerun {RERUN} to make them from the saved run.")


def test_reruns_made_skipped_or_never_asked_for_are_not_missing(tmp_path):
    assert missing_line(tmp_path, {"status": "complete"}) is None  # sim.run, or replications=0
    for state in ("made", "skipped"):
        assert missing_line(tmp_path, record(tmp_path, {}, state, replications=2)) is None


def test_reruns_still_being_made_are_said_to_be(tmp_path):
    info = record(tmp_path, {"status": "complete"}, "running", replications=2, rerun=RERUN)
    with hold(tmp_path):
        assert missing_line(tmp_path, info) == (
            f"The verdict's robustness reruns of {tmp_path} are still being made: compare it "
            "again once its hashpivot has finished.")


def test_a_state_outside_the_record_is_refused(tmp_path):
    with pytest.raises(ValueError, match="state\\(='done'\\) must be one of running, made"):
        record(tmp_path, {}, "done")
