"""The run directory: atomic files and folders, run.json, one config per directory, chunks."""

import hashlib
import json
import os
import subprocess
import sys

import pandas as pd
import pytest

import sim
from sim.config_objects import build_strategies
from sim.errors import UserError
from sim.rundir import (ChunkDamaged, ChunkStore, RunDir, check_claim, code_digest, config_digest,
                        fingerprint, is_execution_key, is_outcome_neutral, world_key,
                        write_atomic, write_folder_atomic)
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


# --- which keys decide the numbers -----------------------------------------------------------------
@pytest.mark.parametrize("overrides", [
    ["run.executor=process", "run.workers=3"],
    ["run.chunk_size=7", "run.progress=true", "run.compare=false"],
    ["run.replications=99"],
    ["run.until_confident=0.9", "run.max_replications=40"],
    ["run.ray.address=auto"],
])
def test_execution_keys_do_not_change_the_fingerprint(base, overrides):
    assert fingerprint(sim.compose([*QUIET, *overrides])) == fingerprint(base)


@pytest.mark.parametrize("overrides", [
    ["site.blocks=20"], ["run.seed=5"], ["market/ai=glut"], ["strategy=phased"],
    ["run.detail=summary"],  # chunks kept at another detail cannot complete this run's tables
])
def test_model_keys_change_the_fingerprint(base, overrides):
    assert fingerprint(sim.compose([*QUIET, *overrides])) != fingerprint(base)


def test_fingerprint_drops_hydra_and_leaves_its_input_alone():
    config = {"hydra": {"run": {"dir": "x"}}, "run": {"seed": 1, "workers": 4}, "site": {"blocks": 2}}
    assert fingerprint(config) == {"run": {"seed": 1}, "site": {"blocks": 2},
                                   "hashpivot": code_digest()}
    assert config["run"]["workers"] == 4


@pytest.mark.parametrize("key, execution, neutral", [
    ("run.executor", True, True),
    ("run.ray.address", True, True),
    ("hydra/launcher", True, True),
    ("hydra.sweep.dir", True, True),
    ("run.detail", False, True),
    ("run.replicationsx", False, False),
    ("run.seed", False, False),
    ("strategy.phased.blocks_per_quarter", False, False),
])
def test_execution_and_outcome_neutral_keys(key, execution, neutral):
    assert (is_execution_key(key), is_outcome_neutral(key)) == (execution, neutral)


def test_world_key_follows_the_worlds_not_the_strategies(base):
    same = sim.compose([*QUIET, "strategy=phased", "run.executor=process", "site.blocks=20"])
    assert world_key(same) == world_key(base)
    for other in (["run.seed=7"], ["market/ai=glut"], ["run.horizon_years=3"]):
        assert world_key(sim.compose([*QUIET, *other])) != world_key(base)


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


# --- one config per directory, and its chunks ------------------------------------------------------
def test_claim_refuses_another_config_naming_the_keys(tmp_path, base):
    run_dir = RunDir(tmp_path)
    run_dir.claim(base)
    with pytest.raises(UserError, match=r"another config \(differs at site.blocks \(10 there, 20 now\)\)"):
        run_dir.claim(sim.compose([*QUIET, "site.blocks=20"]))
    run_dir.claim(sim.compose([*QUIET, "run.executor=process", "run.chunk_size=3"]))  # same numbers


@pytest.mark.parametrize("status", ["failed", "interrupted", "complete"])
def test_a_run_that_did_not_finish_is_named_with_how_to_run_another_config_there(
        status, tmp_path, base):
    """A sweep's failed job, its swept value changed to fix it, was refused with only
    "choose a new hydra.sweep.dir", the complete jobs beside it then lost to the rerun."""
    run_dir = RunDir(tmp_path)
    run_dir.claim(base)
    run_dir.write_info(base, status)
    with pytest.raises(UserError) as refused:
        run_dir.claim(sim.compose([*QUIET, "site.blocks=20"]))
    advice = (f", or, as that run did not finish (it is {status}), remove {tmp_path} to run "
              "this config there (a sweep's other jobs are kept)")
    assert str(refused.value).endswith("choose a new hydra.run.dir" + (
        "" if status == "complete" else advice))


def test_claim_refused_for_other_strategies_names_them_not_their_inner_keys(tmp_path):
    """It named the first differing inner keys: "differs at strategy.phased._target_
    ('sim.strategies.Phased' there, None now), ..."."""
    run_dir = RunDir(tmp_path)
    run_dir.claim(sim.compose([*QUIET, "strategy=[stay_mining,phased]"]))
    with pytest.raises(UserError) as refused:
        run_dir.claim(sim.compose([*QUIET, "strategy=[stay_mining,threshold]", "site.blocks=20"]))
    assert ("another config (differs at strategy (['phased', 'stay_mining'] there, ['stay_mining', "
            "'threshold'] now), site.blocks (10 there, 20 now));") in str(refused.value)


def test_a_plugins_changed_code_is_another_config(tmp_path, monkeypatch, base):
    """A rerun after fixing a plug-in resumed from the chunks of the old code, without a
    word, and mixed their numbers with the new code's. The plug-in's source is part of the
    fingerprint; the shipped processes add nothing to it."""
    assert "plugin_sources" not in fingerprint(base) and "data_files" not in fingerprint(base)
    code = tmp_path / "code"
    code.mkdir()
    module = code / "my_btc_for_rundir.py"
    module.write_text("from sim.processes.btc import GBM as MyBTC\n")
    monkeypatch.syspath_prepend(str(code))
    cfg = sim.compose([*QUIET, "market.btc._target_=my_btc_for_rundir.MyBTC"])
    digest = hashlib.sha256(module.read_bytes()).hexdigest()[:16]
    assert fingerprint(cfg)["plugin_sources"] == {"my_btc_for_rundir": f"my_btc_for_rundir.py {digest}"}
    run_dir = RunDir(tmp_path / "run")
    run_dir.claim(cfg)
    run_dir.claim(cfg)  # the same code resumes
    module.write_text("from sim.processes.btc import GBM as MyBTC  # fixed\n")
    with pytest.raises(UserError, match=r"differs at plugin_sources.my_btc_for_rundir .*\) \(a "
                                        r"plug-in's code changed since its chunks were made\); "
                                        r"choose a new hydra.run.dir"):
        check_claim(tmp_path / "run", cfg)


def test_claim_removes_a_table_a_killed_save_was_writing(tmp_path, base):
    """Before, .tmp-cashflows.parquet-<pid> stayed after the rerun completed (tens of MB)."""
    stale = tmp_path / ".tmp-cashflows.parquet-25842"
    stale.write_bytes(b"PAR1 half")
    kept = tmp_path / "summary.parquet"
    kept.write_bytes(b"an earlier table")
    RunDir(tmp_path).claim(base)
    assert not stale.exists() and kept.read_bytes() == b"an earlier table"


def test_a_data_files_changed_bytes_are_another_config(tmp_path, monkeypatch):
    """A BTC file edited between a run and its rerun was resumed: replications 0-99 from the
    old file, 100-149 from the new. The file's digest is part of the fingerprint."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "btc.csv").write_text("date,close_usd\n2020-01-01,7200\n2020-01-02,6985\n")
    cfg = sim.compose([*QUIET, "market/btc=bootstrap", "market.btc.file=btc.csv"])
    assert fingerprint(cfg)["data_files"] == {
        "market.btc.file": f"btc.csv {hashlib.sha256((tmp_path / 'btc.csv').read_bytes()).hexdigest()[:16]}"}
    RunDir(tmp_path / "run").claim(cfg)
    (tmp_path / "btc.csv").write_text("date,close_usd\n2020-01-01,7200\n2020-01-02,7985\n")
    with pytest.raises(UserError, match=r"differs at data_files.market.btc.file .*\) \(a data "
                                        r"file changed since its chunks were made\)"):
        check_claim(tmp_path / "run", cfg)


def test_hashpivots_own_code_is_part_of_the_fingerprint(tmp_path, monkeypatch, base):
    """An upgrade (or an edit) between a run and its rerun resumed from the old code's chunks:
    stay_mining's mining revenue matched the old code for replications 0-99 only."""
    import sim.rundir as rundir

    assert fingerprint(base)["hashpivot"] == rundir.code_digest()
    assert rundir.code_digest().startswith(f"{sim.__version__} ")
    RunDir(tmp_path).claim(base)
    monkeypatch.setattr(rundir, "code_digest", lambda: f"{sim.__version__} 0123456789abcdef")
    with pytest.raises(UserError, match=r"differs at hashpivot .*\) \(hashpivot's code changed "
                                        r"since its chunks were made\)"):
        check_claim(tmp_path, base)


def test_claim_cleans_a_half_written_chunk_and_keeps_finished_ones(tmp_path, base):
    store = RunDir(tmp_path).claim(base)
    frame = pd.DataFrame({"replication": [0, 1, 2, 3], "npv_usd": [1.0, 2.0, 3.0, 4.0]})
    store.write(0, 4, {"summary": frame})
    stale = store.root / ".tmp-000000004-000000008-999"
    stale.mkdir()
    assert RunDir(tmp_path).claim(base).finished() == [(0, 4)]
    assert not stale.exists()
    part = store.read(0, 4, 1, 3)["summary"]
    pd.testing.assert_frame_equal(part, frame.iloc[1:3].reset_index(drop=True))


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


# --- chunk manifests --------------------------------------------------------------------------------
def test_a_chunk_carries_a_manifest_of_its_files(tmp_path, base):
    store = RunDir(tmp_path).claim(base)
    frame = pd.DataFrame({"replication": [4, 5], "npv_usd": [1.0, 2.0]})
    store.write(4, 6, {"summary": frame, "worlds": frame[["replication"]]})
    folder = store.path(4, 6)
    manifest = json.loads((folder / "manifest.json").read_text())
    data = (folder / "summary.parquet").read_bytes()
    assert (manifest["start"], manifest["stop"], sorted(manifest["tables"])) == (4, 6, ["summary", "worlds"])
    assert manifest["tables"]["summary"] == dict(file="summary.parquet", rows=2, bytes=len(data),
                                                 sha256=hashlib.sha256(data).hexdigest())
    pd.testing.assert_frame_equal(store.read(4, 6, expected=["summary"])["summary"], frame)
    with pytest.raises(ChunkDamaged, match=r"chunk 000000004-000000006 is damaged "
                                           r"\(cashflows.parquet: not in manifest.json\)"):
        store.read(4, 6, expected=["summary", "cashflows"])
    other = ChunkStore(tmp_path)
    other.config_sha256 = config_digest(sim.compose([*QUIET, "run.seed=3"]))
    with pytest.raises(ChunkDamaged, match=r"manifest.json: made by another config"):
        other.read(4, 6)


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
