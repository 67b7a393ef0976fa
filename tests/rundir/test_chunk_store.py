"""The chunk store: the chunks a run keeps as they finish, one config's, read back to resume."""

import hashlib
import json

import pandas as pd
import pytest

import sim
from sim.errors import UserError
from sim.rundir import RunDir
from sim.rundir.chunk_store import ChunkStore, chunks, plan
from sim.rundir.fingerprints import config_digest
from sim.rundir.manifest import ChunkDamaged

QUIET = ["run.replications=2", "run.progress=false"]


@pytest.fixture(scope="module")
def base():
    """The default config, quiet and small."""
    return sim.compose(QUIET)


# --- cutting replications into chunks, and what a rerun reuses -------------------------------------
@pytest.mark.parametrize(("start", "stop", "size", "expected"), [
    (0, 10, 4, [(0, 4), (4, 8), (8, 10)]),
    (0, 8, 4, [(0, 4), (4, 8)]),
    (5, 10, 4, [(5, 8), (8, 10)]),     # boundaries stay at multiples of the size
    (3, 3, 4, []),
])
def test_chunks_are_cut_at_multiples_of_the_size(start, stop, size, expected):
    assert chunks(start, stop, size) == expected


@pytest.mark.parametrize(("finished", "stop", "reuse", "todo"), [
    ([], 10, [], [(0, 4), (4, 8), (8, 10)]),
    ([(0, 5), (5, 7)], 12, [((0, 5), 0, 5), ((5, 7), 5, 7)], [(7, 8), (8, 12)]),
    ([(0, 5), (5, 7)], 6, [((0, 5), 0, 5), ((5, 7), 5, 6)], []),       # a prefix of a chunk
    ([(4, 8)], 10, [((4, 8), 4, 8)], [(0, 4), (8, 10)]),               # a gap before it
    ([(0, 6), (4, 8)], 8, [((0, 6), 0, 6), ((4, 8), 6, 8)], []),       # overlapping chunks
])
def test_resume_plan_reads_what_is_finished_and_runs_the_rest(finished, stop, reuse, todo):
    assert plan(0, stop, 4, finished) == (reuse, todo)


# --- one config per directory, and its chunks ------------------------------------------------------
def test_claim_refuses_another_config_naming_the_keys(tmp_path, base):
    run_dir = RunDir(tmp_path)
    run_dir.claim(base)
    with pytest.raises(UserError, match=r"another config \(differs at site.blocks \(10 there, 20 now\)\)"):
        run_dir.claim(sim.compose([*QUIET, "site.blocks=20"]))
    run_dir.claim(sim.compose([*QUIET, "run.executor=process", "run.chunk_size=3"]))  # same numbers


@pytest.mark.parametrize("status", ["failed", "interrupted", "complete", "running"])
def test_a_run_that_did_not_finish_is_named_with_how_to_run_another_config_there(
        status, tmp_path, base):
    """A sweep's failed job, its swept value changed to fix it, was refused with only
    "choose a new hydra.sweep.dir", the complete jobs beside it then lost to the rerun."""
    run_dir = RunDir(tmp_path)
    run_dir.claim(base)
    run_dir.write_info(base, status)
    with pytest.raises(UserError) as refused:
        run_dir.claim(sim.compose([*QUIET, "site.blocks=20"]))
    how = ("its process ended without saving its status: killed, or out of memory"
           if status == "running" else f"it is {status}")  # running, with no lock held: killed
    advice = (f", or, as that run did not finish ({how}), remove {tmp_path} to run "
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
