"""A run's fingerprint: which config keys, code and files decide its numbers."""

import hashlib

import pytest

import sim
from sim.errors import UserError
from sim.rundir import RunDir, check_claim
from sim.rundir.fingerprints import code_digest, fingerprint, is_execution_key, is_outcome_neutral, world_key

QUIET = ["run.replications=2", "run.progress=false"]


@pytest.fixture(scope="module")
def base():
    """The default config, quiet and small."""
    return sim.compose(QUIET)


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



# --- the code and the files a run reads -----------------------------------------------------------
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
    import sim.rundir.fingerprints as rundir

    assert fingerprint(base)["hashpivot"] == rundir.code_digest()
    assert rundir.code_digest().startswith(f"{sim.__version__} ")
    RunDir(tmp_path).claim(base)
    monkeypatch.setattr(rundir, "code_digest", lambda: f"{sim.__version__} 0123456789abcdef")
    with pytest.raises(UserError, match=r"differs at hashpivot .*\) \(hashpivot's code changed "
                                        r"since its chunks were made\)"):
        check_claim(tmp_path, base)

