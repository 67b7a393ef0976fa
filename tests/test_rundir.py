"""The run directory: atomic files and folders, run.json, one config per directory, chunks."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

import sim
from sim.config_objects import build_strategies
from sim.errors import UserError
from sim.rundir import (RunDir, check_claim, code_digest, status_said, world_key, write_atomic,
                        write_folder_atomic)
from sim.rundir.lock import holder

QUIET = ["run.replications=2", "run.progress=false"]


@pytest.fixture(scope="module")
def base():
    """The default config, quiet and small."""
    return sim.compose(QUIET)


class Boom(RuntimeError):
    pass


# --- atomic writes ------------------------------------------------------------------------------
def test_a_file_writer_that_raises_leaves_no_file_and_no_temporary(tmp_path):
    def half(tmp):
        tmp.write_text("half of it")
        raise Boom

    with pytest.raises(Boom):
        write_atomic(tmp_path / "summary.parquet", half)
    assert list(tmp_path.iterdir()) == []


def test_a_file_writer_that_raises_keeps_the_previous_file_whole(tmp_path):
    target = tmp_path / "run.json"
    write_atomic(target, lambda tmp: tmp.write_text("old"))

    def half(tmp):
        tmp.write_text("ne")
        raise Boom

    with pytest.raises(Boom):
        write_atomic(target, half)
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_a_folder_writer_that_raises_leaves_no_folder(tmp_path):
    def half(folder):
        (folder / "summary.parquet").write_text("x")
        raise Boom

    with pytest.raises(Boom):
        write_folder_atomic(tmp_path / "000000000-000000004", half)
    assert list(tmp_path.iterdir()) == []
    write_folder_atomic(tmp_path / "done", lambda folder: (folder / "a.txt").write_text("a"))
    assert [p.name for p in tmp_path.iterdir()] == ["done"]
    assert (tmp_path / "done" / "a.txt").read_text() == "a"


# --- run.json -----------------------------------------------------------------------------------
def test_info_round_trips_with_labels_from_the_config(tmp_path):
    cfg = sim.compose([*QUIET, "strategy=[stay_mining,phased]", "+strategy.phased.name=quarterly"])
    run_dir = RunDir(tmp_path / "run")
    assert run_dir.read_info() is None
    written = run_dir.write_info(cfg, "complete", "2027-01-01T00:00:00+00:00",
                                 until_confident={"reached": True})
    assert run_dir.read_info() == json.loads(json.dumps(written))
    assert written["strategies"] == ["stay_mining", "quarterly"] == list(build_strategies(cfg))
    assert (written["seed"], written["replications"], written["status"]) == (20270101, 2, "complete")
    assert written["started"] == "2027-01-01T00:00:00+00:00" and written["finished"]
    # the code as run, edited or not since the commit (git_commit alone could not tell)
    assert written["code"] == code_digest() and written["code"].startswith(f"{sim.__version__} ")
    assert written["until_confident"] == {"reached": True}
    assert written["world_key"] == world_key(cfg)
    assert written["discount_rates"] == {"mining": 0.1, "contracted": 0.075, "merchant_ai": 0.1}


def test_a_running_info_has_no_finish_and_statuses_are_checked(tmp_path, base):
    assert RunDir(tmp_path).write_info(base, "running", "t0")["finished"] is None
    with pytest.raises(ValueError, match="status\\(='done'\\) must be one of running, complete, "
                                         "failed, interrupted"):
        RunDir(tmp_path).write_info(base, "done", "t0")


def test_an_unreadable_info_is_a_user_error(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(UserError, match="run.json: cannot read it"):
        RunDir(tmp_path).read_info()


# --- claiming the directory ------------------------------------------------------------------------
def test_claim_removes_a_table_a_killed_save_was_writing(tmp_path, base):
    """Before, .tmp-cashflows.parquet-<pid> stayed after the rerun completed (tens of MB)."""
    stale = tmp_path / ".tmp-cashflows.parquet-25842"
    stale.write_bytes(b"PAR1 half")
    kept = tmp_path / "summary.parquet"
    kept.write_bytes(b"an earlier table")
    RunDir(tmp_path).claim(base)
    assert not stale.exists() and kept.read_bytes() == b"an earlier table"



# --- tables and config ----------------------------------------------------------------------------
def test_tables_lists_what_is_written_and_refuses_unknown_names(tmp_path):
    run_dir = RunDir(tmp_path)
    run_dir.write_table("worlds", pd.DataFrame({"replication": [0]}))
    run_dir.write_table("summary", pd.DataFrame({"replication": [0]}))
    assert run_dir.tables() == ["summary", "worlds"]
    with pytest.raises(ValueError, match="table\\(='nope'\\) must be one of summary"):
        run_dir.write_table("nope", pd.DataFrame())
    run_dir.remove_table("worlds")
    assert run_dir.tables() == ["summary"] and run_dir.is_run()


def test_config_falls_back_to_hydras_and_bad_yaml_is_one_line(tmp_path):
    run_dir = RunDir(tmp_path)
    assert run_dir.read_config() is None and run_dir.overrides() == []
    (tmp_path / ".hydra").mkdir()
    (tmp_path / ".hydra" / "config.yaml").write_text("run:\n  seed: 3\n")
    (tmp_path / ".hydra" / "overrides.yaml").write_text("- market/ai=glut\n")
    assert run_dir.read_config().run.seed == 3 and run_dir.overrides() == ["market/ai=glut"]
    (tmp_path / "config.yaml").write_text("run: [unclosed\n")
    with pytest.raises(UserError, match="config.yaml: not valid YAML") as error:
        run_dir.read_config()
    assert "\n" not in str(error.value)


# --- the lock -----------------------------------------------------------------------------------------
def test_the_lock_is_reentrant_in_one_process_and_holds_its_pid(tmp_path):
    run_dir = RunDir(tmp_path / "run")
    assert holder(run_dir.path) is None
    with run_dir.lock():
        with run_dir.lock():  # sim.run inside the command line takes it again
            assert holder(run_dir.path) is None  # its own lock is no other holder
        assert (run_dir.path / ".lock").read_text() == f"{os.getpid()}\n"
    assert holder(run_dir.path) is None


HOLD = """import sys
from sim.rundir.lock import hold
with hold(sys.argv[1]):
    print("held", flush=True)
    sys.stdin.read()
"""


@pytest.mark.slow
def test_the_lock_refuses_another_process_naming_its_pid_and_dies_with_it(tmp_path, base):
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        assert holder(tmp_path) == str(other.pid)
        refusal = rf"{tmp_path}: another hashpivot \(pid {other.pid}\) is writing into this run directory"
        with pytest.raises(UserError, match=refusal):
            with RunDir(tmp_path).lock():
                pass
        with pytest.raises(UserError, match=refusal):
            check_claim(tmp_path, base)
        with pytest.raises(UserError, match=refusal + "; wait for it to finish, or choose a new out_dir$"):
            sim.run(base, out_dir=tmp_path)  # named as Python passes it (it said hydra.run.dir)
    finally:
        other.kill()  # SIGKILL: no chance to unlock; the OS releases the lock
        other.wait()
    assert holder(tmp_path) is None
    with RunDir(tmp_path).lock():
        assert (tmp_path / ".lock").read_text() == f"{os.getpid()}\n"


@pytest.mark.slow
def test_a_run_json_that_says_running_is_running_only_while_a_process_holds_the_lock(tmp_path, base):
    """A hashpivot killed (SIGKILL, out of memory) leaves run.json saying running: sim.load,
    hashpivot-compare and a rerun's refusal called it running for ever after."""
    RunDir(tmp_path).write_info(base, "running", "t0")
    info = RunDir(tmp_path).read_info()
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "held"
        assert status_said(tmp_path, info) == ("run status is 'running', not 'complete': pid "
                                               f"{other.pid} is still writing into it")
    finally:
        other.kill()
        other.wait()
    assert status_said(tmp_path, info) == ("the run stopped without saving its status: run.json "
                                           "says 'running', but its process ended, killed or "
                                           "out of memory")
    with RunDir(tmp_path).lock():  # this process's own run
        assert status_said(tmp_path, info).endswith(f": pid {os.getpid()} is still writing into it")
    assert status_said(tmp_path, {"status": "failed", "error": "boom"}) == (
        "run status is 'failed' (boom), not 'complete'")
