"""Faults: damaged chunks, a refused rerun, two commands at once, SIGTERM, errors mid-run.

Every fault is made on a copy of one finished run directory, then the run is resumed:
its tables must equal a clean run's, the damaged chunk must be the one recomputed, and
the user told in one line. A refused command must leave the directory byte-identical.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

import sim
import sim.montecarlo as montecarlo
from sim.cli import main
from sim.cli.job import execute
from sim.errors import UserError
from sim.rundir import TABLES, ChunkStore, RunDir, check_claim, config_digest
from sim.rundir.manifest import write_chunk

SMALL = ["run.replications=8", "run.horizon_years=2", "run.chunk_size=3", "run.event_log=true",
         "strategy=[stay_mining,phased]", "run.progress=false", "run.compare=false",
         "run.robustness.replications=0"]
CHUNKS = [(0, 3), (3, 6), (6, 8)]
MIDDLE = "000000003-000000006"
HASHPIVOT = str(Path(sys.executable).with_name("hashpivot"))


def assert_same(a, b):
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def tree_digest(root: Path) -> dict[str, str]:
    """Return {relative path: SHA-256} of every file under `root` (hidden ones included)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def cfg():
    return sim.compose(SMALL)


@pytest.fixture(scope="module")
def clean(cfg):
    """A clean run, nothing on disk."""
    return sim.run(cfg)


@pytest.fixture(scope="module")
def pristine(cfg, tmp_path_factory):
    """A finished run directory of the same config, every table in three chunks."""
    out = tmp_path_factory.mktemp("pristine") / "run"
    sim.run(cfg, out_dir=out)
    assert ChunkStore(out).finished() == CHUNKS
    return out


@pytest.fixture
def copy(pristine, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(pristine, run_dir)
    return run_dir


@pytest.fixture
def ran(monkeypatch):
    """The chunks computed (not read back) from now on."""
    chunks, real = [], montecarlo.run_chunk
    monkeypatch.setattr(montecarlo, "run_chunk",
                        lambda cfg, a, b, p=None: chunks.append((a, b)) or real(cfg, a, b, p))
    return chunks


# --- damaged chunks are recomputed --------------------------------------------------------------
def delete(path: Path) -> None:
    path.unlink()


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte different
    path.write_bytes(bytes(data))


FAULTS = {"delete": delete, "truncate": truncate, "corrupt": corrupt}


def resume_after(fault, cfg, run_dir, ran, capsys):
    """Return (the one line a resume printed after `fault`, its Result); check what it recomputed."""
    capsys.readouterr()
    fault()
    result = sim.run(cfg, out_dir=run_dir)
    err = capsys.readouterr().err.strip()
    assert ran == [(3, 6)], ran
    assert err.count("\n") == 0 and err.endswith("; recomputing it"), err
    assert err.startswith(f"hashpivot: chunk {MIDDLE} is damaged ("), err
    store = RunDir(run_dir).claim(cfg)
    assert store.finished() == CHUNKS and store.read(3, 6)  # whole again
    return err, result


@pytest.mark.parametrize("kind", list(FAULTS))
@pytest.mark.parametrize("table", TABLES)
def test_a_damaged_chunk_file_is_recomputed_and_the_tables_equal_a_clean_run(
        table, kind, cfg, clean, copy, ran, capsys):
    file = copy / "chunks" / MIDDLE / f"{table}.parquet"
    size = file.stat().st_size
    err, result = resume_after(lambda: FAULTS[kind](file), cfg, copy, ran, capsys)
    reason = {"delete": f"{table}.parquet: missing",
              "truncate": f"{table}.parquet: {size // 2} bytes, {size} written",
              "corrupt": f"{table}.parquet: checksum differs"}[kind]
    assert err == f"hashpivot: chunk {MIDDLE} is damaged ({reason}); recomputing it"
    assert_same(result, clean)


@pytest.mark.parametrize("kind", list(FAULTS))
def test_a_damaged_manifest_is_recomputed(kind, cfg, clean, copy, ran, capsys):
    err, result = resume_after(lambda: FAULTS[kind](copy / "chunks" / MIDDLE / "manifest.json"),
                               cfg, copy, ran, capsys)
    assert "manifest.json: " in err
    assert_same(result, clean)


def edit_manifest(run_dir: Path, edit) -> None:
    file = run_dir / "chunks" / MIDDLE / "manifest.json"
    manifest = json.loads(file.read_text())
    edit(manifest)
    file.write_text(json.dumps(manifest))


@pytest.mark.parametrize("edit, reason", [
    (lambda m: m["tables"].pop("cashflows"), "cashflows.parquet: not in manifest.json"),  # file too
    (lambda m: m.__setitem__("config_sha256", "0" * 64), "manifest.json: made by another config"),
    (lambda m: m.__setitem__("stop", 7), "manifest.json: says replications 3-7"),
    (lambda m: m["tables"]["summary"].__setitem__("rows", 5), "summary.parquet: 6 rows, 5 written"),
    (lambda m: m.__setitem__("tables", []), "manifest.json: not a manifest of this format"),
])
def test_a_chunk_that_does_not_match_its_manifest_is_recomputed(edit, reason, cfg, clean, copy, ran, capsys):
    if "cashflows" in reason:
        (copy / "chunks" / MIDDLE / "cashflows.parquet").unlink()
    err, result = resume_after(lambda: edit_manifest(copy, edit), cfg, copy, ran, capsys)
    assert err == f"hashpivot: chunk {MIDDLE} is damaged ({reason}); recomputing it"
    assert_same(result, clean)


def test_a_chunk_without_a_manifest_from_an_older_version_is_recomputed(cfg, clean, copy, ran, capsys):
    for folder in (copy / "chunks").iterdir():
        if folder.is_dir():
            (folder / "manifest.json").unlink()
    capsys.readouterr()
    assert_same(sim.run(cfg, out_dir=copy), clean)
    assert ran == CHUNKS and capsys.readouterr().err.count("manifest.json: missing") == 3


def test_a_deleted_chunk_folder_is_simply_run_again(cfg, clean, copy, ran):
    shutil.rmtree(copy / "chunks" / MIDDLE)
    assert_same(sim.run(cfg, out_dir=copy), clean)
    assert ran == [(3, 6)]


# --- the claim: chunks/config.json ------------------------------------------------------------
def test_an_unreadable_claim_is_rebuilt_when_every_chunk_proves_it_is_this_configs(
        cfg, clean, copy, ran, capsys):
    claim = copy / "chunks" / "config.json"
    truncate(claim)
    capsys.readouterr()
    assert_same(sim.run(cfg, out_dir=copy), clean)
    assert ran == [] and json.loads(claim.read_text())["run"]["seed"] == 20270101
    assert capsys.readouterr().err == (f"hashpivot: {claim} was unreadable; rewritten, since every "
                                       "chunk's manifest shows this config made it\n")


def test_an_unreadable_claim_with_a_foreign_chunk_is_refused_and_nothing_is_touched(cfg, copy):
    corrupt(copy / "chunks" / "config.json")
    edit_manifest(copy, lambda m: m.__setitem__("config_sha256", "f" * 64))
    before = tree_digest(copy)
    with pytest.raises(UserError, match=r"config.json: cannot read it \(\w+\), and chunk "
                                        rf"{MIDDLE} does not show it was made by this config") as err:
        sim.run(cfg, out_dir=copy)
    assert "\n" not in str(err.value) and tree_digest(copy) == before


def test_check_claim_writes_nothing_and_ignores_hydras_node(cfg, copy, tmp_path):
    before = tree_digest(copy)
    check_claim(copy, cfg)
    unresolved = {"run": {"dir": "${now:%H}"}, "sweep": {"subdir": "${hydra.job.num}"}, "job": {"num": "???"}}
    check_claim(copy, OmegaConf.create({**OmegaConf.to_container(cfg), "hydra": unresolved}))
    with pytest.raises(UserError, match=r"differs at run.seed \(20270101 there, 5 now\)"):
        check_claim(copy, sim.compose([*SMALL, "run.seed=5"]))
    check_claim(tmp_path / "nowhere", cfg)
    assert tree_digest(copy) == before and not (tmp_path / "nowhere").exists()
    assert config_digest(sim.compose([*SMALL, "run.workers=3"])) == config_digest(cfg)


# --- the final tables are checked before "complete" ---------------------------------------------
@pytest.mark.parametrize("table, damage, fragment", [
    ("summary", lambda t: t[t["replication"] != 5], "summary table does not hold replications 0-7 "
                                                    "exactly once per strategy (replication 5 missing)"),
    ("summary", lambda t: pd.concat([t, t.iloc[:1]]), "(17 rows, 16 expected)"),
    ("worlds", lambda t: t.assign(replication=t["replication"].replace(7, 6)), "replication 7 missing"),
    ("timeline", lambda t: t.iloc[:-1], "timeline table"),
    ("cashflows", lambda t: t.iloc[1:], "cashflows table"),
    ("world_monthly", lambda t: pd.concat([t, t.iloc[:1]]), "world_monthly table"),
])
def test_tables_missing_or_repeating_a_replication_are_not_whole(clean, table, damage, fragment):
    labels = ["stay_mining", "phased"]
    assert montecarlo.not_whole(vars(clean), 0, 8, labels, monthly=True) is None
    broken = {**vars(clean), table: damage(getattr(clean, table))}
    assert fragment in montecarlo.not_whole(broken, 0, 8, labels, monthly=True)
    assert montecarlo.not_whole(vars(clean), 0, 9, labels, monthly=True) == (
        "the summary table does not hold replications 0-8 exactly once per strategy (replication 8 missing)")


@pytest.mark.parametrize("ranges, problem", [
    ([(0, 3), (3, 6), (6, 8)], None),
    ([(0, 3), (6, 8)], "the chunks do not tile replications 0-7 (replication 3 missing)"),
    ([(0, 3), (2, 6), (6, 8)], "the chunks do not tile replications 0-7 (replication 2 twice)"),
    ([(0, 3), (3, 6)], "the chunks do not tile replications 0-7 (they end at 6)"),
])
def test_the_chunks_must_tile_the_replications(ranges, problem):
    assert montecarlo.tiling_gap(ranges, 8) == problem


def test_a_chunk_whose_files_match_but_whose_tables_miss_a_replication_is_recomputed(
        cfg, clean, copy, ran, capsys):
    folder = copy / "chunks" / MIDDLE
    tables = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    tables["summary"] = tables["summary"][tables["summary"]["replication"] != 4]

    def rewrite():  # a chunk made whole-looking by hand: files and manifest agree
        write_chunk(folder, 3, 6, tables, config_digest(cfg))

    err, result = resume_after(rewrite, cfg, copy, ran, capsys)
    assert err.endswith("is damaged (the summary table does not hold replications 3-5 exactly once "
                        "per strategy (replication 4 missing)); recomputing it")
    assert_same(result, clean)


def test_a_chunk_computed_short_of_a_replication_is_never_kept_and_the_run_fails(
        cfg, tmp_path, monkeypatch, capsys):
    real = montecarlo.run_chunk

    def short(cfg, a, b, progress=None):
        tables = real(cfg, a, b, progress)
        tables["summary"] = tables["summary"][tables["summary"]["replication"] != 4]
        return tables

    monkeypatch.setattr(montecarlo, "run_chunk", short)
    assert execute(cfg, tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("hashpivot: error: replications 3-5 as computed: the summary table does not hold "
                   "replications 3-5 exactly once per strategy (replication 4 missing)")
    info = RunDir(tmp_path).read_info()
    assert info["status"] == "failed" and "replication 4 missing" in info["error"]
    assert not (tmp_path / "summary.parquet").exists()
    assert ChunkStore(tmp_path).finished() == [(0, 3)]


# --- run.json never stays "running" -------------------------------------------------------------
def fail_on_middle_chunk(monkeypatch, action):
    real = montecarlo.run_chunk

    def chunk(cfg, a, b, progress=None):
        if a == 3:
            action()
        return real(cfg, a, b, progress)

    monkeypatch.setattr(montecarlo, "run_chunk", chunk)


def test_a_bug_mid_run_records_failed_then_raises(cfg, tmp_path, monkeypatch):
    def bug():
        raise RuntimeError("boom\n  on two lines")

    fail_on_middle_chunk(monkeypatch, bug)
    with pytest.raises(RuntimeError, match="boom"):
        execute(cfg, tmp_path)
    info = RunDir(tmp_path).read_info()
    assert (info["status"], info["error"]) == ("failed", "RuntimeError: boom on two lines")
    assert ChunkStore(tmp_path).finished() == [(0, 3)]  # kept for the rerun


def test_a_full_disk_mid_run_is_one_line_and_failed(cfg, tmp_path, monkeypatch, capsys):
    """The line says how to resume, as Ctrl-C's does (before: it stopped at 'finished chunks
    are kept in DIR', and a sweep's job did not say that the sweep's folder resumes it)."""
    def full():
        raise OSError(28, "No space left on device")

    fail_on_middle_chunk(monkeypatch, full)
    assert execute(cfg, tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"hashpivot: error: OSError: [Errno 28] No space left on device; finished chunks "
                   f"are kept in {tmp_path}: once that is fixed, rerun the same command with "
                   f"hydra.run.dir={tmp_path} to resume")
    assert RunDir(tmp_path).read_info()["status"] == "failed"


def test_a_full_disk_before_any_chunk_does_not_claim_finished_chunks(cfg, tmp_path, monkeypatch,
                                                                    capsys):
    """Before: 'finished chunks are kept in DIR' where none had finished (`ulimit -f 300`
    failed the first chunk's cashflows.parquet)."""
    def full(*args, **kwargs):
        raise OSError(27, "File too large")

    monkeypatch.setattr(montecarlo, "run_chunk", full)
    assert execute(cfg, tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"hashpivot: error: OSError: [Errno 27] File too large; no chunk had finished "
                   f"(a trained policy is kept, if any) in {tmp_path}: once that is fixed, rerun "
                   f"the same command with hydra.run.dir={tmp_path} to resume")
    assert ChunkStore(tmp_path).finished() == []


def test_sigterm_is_interrupted_with_143_and_the_rerun_completes_identically(
        cfg, clean, tmp_path, monkeypatch, capsys):
    fail_on_middle_chunk(monkeypatch, lambda: os.kill(os.getpid(), signal.SIGTERM))
    previous = signal.getsignal(signal.SIGTERM)
    assert execute(cfg, tmp_path) == 143
    assert signal.getsignal(signal.SIGTERM) is previous  # restored
    assert "interrupted; finished chunks are kept" in capsys.readouterr().err
    assert RunDir(tmp_path).read_info()["status"] == "interrupted"
    assert ChunkStore(tmp_path).finished() == [(0, 3)]
    monkeypatch.undo()
    assert execute(cfg, tmp_path) == 0
    assert RunDir(tmp_path).read_info()["status"] == "complete"
    assert_same(sim.load(tmp_path), clean)


# --- a save is all or nothing --------------------------------------------------------------------
def replications_per_table(run_dir: Path) -> dict[str, int]:
    return {name: pd.read_parquet(run_dir / f"{name}.parquet")["replication"].nunique()
            for name in RunDir(run_dir).tables()}


def test_a_save_interrupted_between_two_tables_leaves_no_new_summary_beside_the_old_tables(
        cfg, copy, monkeypatch, capsys):
    """Ctrl-C after the first table of a rerun with more worlds into a finished folder left
    the new 10-replication summary.parquet beside the earlier run's 8-replication cashflows,
    timeline and worlds; a reader of the files took them for one run. The rerun repairs it."""
    assert execute(cfg, copy) == 0
    more = sim.compose([*SMALL, "run.replications=10"])
    run, to_parquet, written = sim.run, pd.DataFrame.to_parquet, []

    def interrupted_after_one_table(table, *args, **kwargs):
        if written:
            raise KeyboardInterrupt
        written.append(table)
        return to_parquet(table, *args, **kwargs)

    def run_then_save_one_table(*args, **kwargs):
        result = run(*args, **kwargs)
        monkeypatch.setattr(pd.DataFrame, "to_parquet", interrupted_after_one_table)
        return result

    monkeypatch.setattr(sim, "run", run_then_save_one_table)
    assert execute(more, copy) == 130
    monkeypatch.undo()
    assert len(written) == 1 and "interrupted; finished chunks are kept" in capsys.readouterr().err
    assert RunDir(copy).read_info()["status"] == "interrupted"
    assert replications_per_table(copy) == {name: 8 for name in TABLES}  # the earlier run, whole
    assert not list(copy.glob(".tmp-*"))
    assert execute(more, copy) == 0
    assert RunDir(copy).read_info()["status"] == "complete"
    assert replications_per_table(copy) == {name: 10 for name in TABLES}


def test_sigterm_as_the_summary_is_moved_in_leaves_the_run_complete_not_interrupted(
        cfg, clean, copy, monkeypatch, capsys):
    """SIGTERM the moment summary.parquet appeared left it, every replication, beside a
    run.json saying interrupted. The save's renames hold the signal: the run is complete,
    and the line says what was not written."""
    replace = os.replace

    def sigterm_on_the_summary(src, dst):
        replace(src, dst)
        if Path(dst).name == "summary.parquet":
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(os, "replace", sigterm_on_the_summary)
    robust = sim.compose([*SMALL, "run.robustness.replications=2"])
    assert execute(robust, copy) == 143
    monkeypatch.undo()
    assert RunDir(copy).read_info()["status"] == "complete"
    assert capsys.readouterr().err.strip() == (
        f"hashpivot: interrupted; the run is complete and saved in {copy}, but its robustness "
        f"table (robustness.csv) was not written: rerun the same command with "
        f"hydra.run.dir={copy} to make it from the saved run")
    assert_same(sim.load(copy), clean)


# --- a refused rerun touches nothing -------------------------------------------------------------
def test_a_refused_execute_leaves_the_directory_byte_identical(cfg, copy, capsys):
    RunDir(copy).write_info(cfg, "complete", "t0")
    before = tree_digest(copy)
    assert execute(sim.compose([*SMALL, "run.seed=9"]), copy) == 2
    assert "differs at run.seed (20270101 there, 9 now)" in capsys.readouterr().err
    assert tree_digest(copy) == before


def test_a_refused_rerun_through_the_command_line_leaves_the_directory_byte_identical(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    args = [*SMALL, "run.replications=3", "run.detail=summary", f"hydra.run.dir={run_dir}"]
    assert main(args) == 0
    assert RunDir(run_dir).read_info()["status"] == "complete"
    before = tree_digest(run_dir)
    assert {".hydra/config.yaml", ".lock", "run.json", "summary.parquet"} <= set(before)
    capsys.readouterr()
    assert main([*args, "run.seed=2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "differs at run.seed (20270101 there, 2 now)" in err
    assert tree_digest(run_dir) == before


# --- two commands into one directory --------------------------------------------------------------
@pytest.mark.slow
def test_a_second_command_into_a_locked_directory_refuses_naming_the_holder(cfg, tmp_path):
    run_dir = tmp_path / "run"
    with RunDir(run_dir).lock():
        done = subprocess.run([HASHPIVOT, *SMALL, f"hydra.run.dir={run_dir}"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"hashpivot: error: {run_dir}: another hashpivot (pid {os.getpid()}) "
                                   "is writing into this run directory; wait for it to finish, or "
                                   "choose a new hydra.run.dir")
    assert not (run_dir / "run.json").exists() and not (run_dir / "chunks").exists()


# --- SIGTERM through the real command line ---------------------------------------------------------
# 64 chunks of a few hundredths of a second each: the run outlasts the signal sent after
# its first two (32 chunks of 2-year worlds once finished before it arrived)
TERM_RUN = ["run.replications=128", "run.horizon_years=5", "run.chunk_size=2", "run.detail=summary",
            "strategy=[stay_mining,phased]", "run.executor=process", "run.workers=2",
            "run.progress=false", "run.compare=false", "run.robustness.replications=0"]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_through_the_console_script_exits_143_and_the_rerun_matches(tmp_path):
    run_dir = tmp_path / "run"
    args = [*TERM_RUN, f"hydra.run.dir={run_dir}"]
    process = subprocess.Popen([HASHPIVOT, *args], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(ChunkStore(run_dir).finished()) < 2:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no chunk finished in time"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert "interrupted; finished chunks are kept" in err and "Traceback" not in err
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    kept = ChunkStore(run_dir).finished()
    assert 2 <= len(kept) < 64
    assert main(args) == 0
    assert json.loads((run_dir / "run.json").read_text())["status"] == "complete"
    pd.testing.assert_frame_equal(pd.read_parquet(run_dir / "summary.parquet"),
                                  sim.run(sim.compose(TERM_RUN)).summary, check_exact=True)
