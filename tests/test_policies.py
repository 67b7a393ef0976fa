"""Learning strategies are trained once per run, kept in the run directory and reused on resume."""

import json

import pytest

import sim
from sim import policies
from sim.config_checks import settings
from sim.config_objects import build_strategies
from sim.errors import UserError

SMALL = ["strategy=[stay_mining,real_option]", "run.horizon_years=2", "site.blocks=4",
         "site.grid_mw=40", "run.detail=summary", "strategy.real_option.training_replications=6",
         "strategy.real_option.tranche_blocks=2"]


@pytest.fixture
def fresh(monkeypatch):
    """Forget the policies this process has trained, so each test trains (or reads) its own."""
    monkeypatch.setattr(policies, "_TRAINED", {})


def no_training(*args, **kwargs):
    raise AssertionError("trained again")


def test_a_run_keeps_its_policy_and_a_rerun_reads_it_back(compose_small, tmp_path, fresh, monkeypatch):
    cfg = compose_small(*SMALL)
    first = sim.run(cfg, tmp_path)
    kept = tmp_path / "fits" / "real_option.pkl"
    figures = json.loads(kept.with_suffix(".json").read_text())
    assert figures["training_replications"] == 6 and figures["key"] == policies.policy_key(cfg, "real_option")
    monkeypatch.setattr(policies, "_TRAINED", {})
    monkeypatch.setattr(policies, "train", no_training)
    again = sim.run(compose_small(*SMALL, "run.replications=8"), tmp_path)  # resumes, adds 4 worlds
    assert again.summary.head(8).equals(first.summary.head(8))
    assert again.info["policies"] == first.info["policies"]


def test_the_log_says_whether_the_policy_was_trained_or_read_back(compose_small, tmp_path, fresh,
                                                                  monkeypatch, caplog):
    """Before, hashpivot.log said neither: a user checking that a resumed run did not train
    again had only the progress bar's absence to go by."""
    kept = tmp_path / "fits" / "real_option.pkl"
    with caplog.at_level("INFO", logger="sim.policies"):
        sim.run(compose_small(*SMALL), tmp_path)
    assert f"real_option: trained, its policy kept in {kept} for a rerun to read back" in caplog.text
    caplog.clear()
    monkeypatch.setattr(policies, "_TRAINED", {})
    with caplog.at_level("INFO", logger="sim.policies"):
        sim.run(compose_small(*SMALL), tmp_path)
    assert caplog.text.count(f"real_option: its trained policy read back from {kept}, not "
                             f"trained again") == 1 and "trained, its policy kept" not in caplog.text


def test_a_policy_of_another_config_is_not_used(compose_small, tmp_path, fresh):
    sim.run(compose_small(*SMALL), tmp_path / "a")
    other = compose_small(*SMALL, "strategy.real_option.degree=2")
    assert policies.policy_key(other, "real_option") != policies.policy_key(compose_small(*SMALL), "real_option")
    (tmp_path / "b" / "fits").mkdir(parents=True)
    (tmp_path / "a" / "fits" / "real_option.pkl").rename(tmp_path / "b" / "fits" / "real_option.pkl")
    result = sim.run(other, tmp_path / "b")  # the stale file is replaced by a policy of its own
    assert json.loads((tmp_path / "b" / "fits" / "real_option.json").read_text())["key"] == \
        policies.policy_key(other, "real_option")
    assert len(result.summary) == 8


def test_fit_file_reuses_a_policy_on_another_config(compose_small, tmp_path, fresh, monkeypatch):
    base = sim.run(compose_small(*SMALL), tmp_path)
    monkeypatch.setattr(policies, "_TRAINED", {})
    monkeypatch.setattr(policies, "train", no_training)
    kept = tmp_path / "fits" / "real_option.pkl"
    longer = sim.run(compose_small(*SMALL, "run.horizon_years=3", f"strategy.real_option.fit_file={kept}"))
    assert longer.info["policies"] == base.info["policies"]


@pytest.mark.parametrize("content, what", [(None, "not a readable"), (b"junk", "not a readable"),
                                           (b"garbage\n", "not a readable trained policy \\(ValueError")])
def test_a_bad_fit_file_is_one_line(compose_small, tmp_path, content, what):
    path = tmp_path / "policy.pkl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=what) as err:
        sim.run(compose_small(*SMALL, f"strategy.real_option.fit_file={path}"))
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(f"strategy.real_option.fit_file={path}: ")


@pytest.mark.parametrize("content", [b"garbage\n", b"\x80\x05"])  # damaged, truncated
def test_a_damaged_kept_policy_is_trained_again_and_said_so(compose_small, tmp_path, fresh, content, capsys):
    cfg = compose_small(*SMALL)
    sim.run(cfg, tmp_path)
    kept = tmp_path / "fits" / "real_option.pkl"
    kept.write_bytes(content)
    policies._TRAINED.clear()
    capsys.readouterr()
    result = sim.run(compose_small(*SMALL, "run.replications=8"), tmp_path)
    assert len(result.summary) == 16
    err = capsys.readouterr().err
    assert f"hashpivot: {kept}: not a readable trained policy" in err and "it is trained again" in err
    checked = settings(cfg)  # and the file is whole again
    strategy = build_strategies(checked)["real_option"]
    assert policies.load_policy(kept, strategy, checked.site).key == policies.policy_key(cfg, "real_option")


def test_a_policy_of_a_site_with_other_tranches_is_refused_in_one_line(compose_small, tmp_path, fresh):
    """Trained on 4 blocks in tranches of 2, it would convert only 2 of 4 tranches on 8 blocks."""
    sim.run(compose_small(*SMALL), tmp_path)
    kept = tmp_path / "fits" / "real_option.pkl"
    for other, has in [(["site.blocks=8", "site.grid_mw=80"], "4 tranches of 2 blocks (site.blocks=8)"),
                       (["strategy.real_option.tranche_blocks=1"], "4 tranches of 1 block (site.blocks=4)")]:
        with pytest.raises(UserError) as err:
            sim.run(compose_small(*SMALL, *other, f"strategy.real_option.fit_file={kept}"))
        assert str(err.value) == (f"strategy.real_option.fit_file={kept}: a policy trained for 2 "
                                  f"tranches of 2 blocks (site.blocks=4); this run has {has}")


def test_the_verdicts_reruns_judge_the_policy_the_run_learnt(compose_small, tmp_path, fresh, monkeypatch):
    from sim.compare.robustness import rerun_config

    cfg = compose_small(*SMALL)
    sim.run(cfg, tmp_path)
    pinned = policies.pinned(cfg, tmp_path)
    assert pinned.strategy.real_option.fit_file == str(tmp_path / "fits" / "real_option.pkl")
    assert cfg.strategy.real_option.fit_file is None  # the run's own config is untouched
    monkeypatch.setattr(policies, "_TRAINED", {})
    monkeypatch.setattr(policies, "train", no_training)
    rerun = sim.run(rerun_config(pinned, ("stay_mining", "real_option"), {"run.horizon_years": 3}, 4))
    assert set(rerun.summary["strategy"]) == {"stay_mining", "real_option"}


def test_run_json_and_the_report_carry_the_training_figures(compose_small, tmp_path, fresh):
    from sim.compare.verdict import policy_line
    from sim.rundir import RunDir

    result = sim.run(compose_small(*SMALL))
    result.save(tmp_path)
    kept = RunDir(tmp_path).read_info()["policies"]["real_option"]
    assert kept == result.info["policies"]["real_option"]
    line = policy_line("real_option", kept, "run")
    assert f"on its 6 training worlds: {'$'}{kept['in_sample_usd'] / 1e6:,.1f}M in sample" in line
    # a rule followed that is not the fitted one: the fitted rules' figures are named apart
    fixed = {**kept, "stages": [{**stage, "rule": "start_now", "in_sample_usd": 7e6,
                                 "cross_validated_usd": -2e6} for stage in kept["stages"]]}
    n = len(kept["stages"])
    assert (f"cross-validated with the rules it follows; the rules fitted, {'$'}{7 * n:,.1f}M "
            f"in sample and \N{MINUS SIGN}{'$'}{2 * n:,.1f}M cross-validated; ") in policy_line(
                "real_option", fixed, "run")
    assert "the rules fitted" not in policy_line("real_option", {**kept, "stages": [
        {**stage, "rule": "lsm"} for stage in kept["stages"]]}, "run")
    assert "tranches of 2 blocks" in line and "tranche 1: " in line
    assert len(kept["stages"]) == len(kept["rule"].split(",")) <= 2


def test_a_kept_policy_of_another_calendar_is_trained_again(compose_small, tmp_path, fresh):
    sim.run(compose_small(*SMALL), tmp_path / "a")
    (tmp_path / "b" / "fits").mkdir(parents=True)
    (tmp_path / "a" / "fits" / "real_option.pkl").rename(tmp_path / "b" / "fits" / "real_option.pkl")
    half_yearly = sim.run(compose_small(*SMALL, "strategy.real_option.every_months=6"), tmp_path / "b")
    # 2 years from 2026-06-26, every 6 months: day 0, then 2026-12-01, 2027-06-01, 2027-12-01, 2028-06-01
    assert half_yearly.info["policies"]["real_option"]["decision_days"] == 5


def test_a_policy_of_an_older_hashpivot_is_refused_in_one_line(compose_small, tmp_path):
    """A pickled policy with one rule for the whole programme (no tranches) cannot be applied."""
    import pickle

    from sim.realoptions.training import Policy

    old = object.__new__(Policy)
    object.__setattr__(old, "__dict__", {"fit": None, "rule": "start_now", "every_months": 3})
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps(old))
    with pytest.raises(UserError, match="older hashpivot.*train it again") as err:
        sim.run(compose_small(*SMALL, f"strategy.real_option.fit_file={path}"))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("blocks", "warned"), [(24, True), (20, False)])  # 12 tranches of 2, and 10
def test_training_many_tranches_is_announced_with_the_key_that_trains_fewer(compose_small, fresh, monkeypatch,
                                                                              capsys, blocks, warned):
    class Stop(Exception):
        """Training began: the announcement comes before it, so the test stops there."""

    def stop(cfg, strategy, **kwargs):
        raise Stop

    monkeypatch.setattr(policies, "train", stop)
    cfg = compose_small(*SMALL, f"site.blocks={blocks}", f"site.grid_mw={10 * blocks}",
                        "strategy.real_option.max_share=1")
    with pytest.raises(Stop):
        sim.run(cfg)
    lines = [line for line in capsys.readouterr().err.splitlines() if "trains a rule" in line]
    if not warned:
        assert lines == []
        return
    assert lines == ["hashpivot: real_option trains a rule for each of its 12 tranches of 2 blocks, one "
                     "after the other, each on 6 worlds: about 6 times the default site's training; "
                     "strategy.real_option.tranche_blocks=3 trains 8"]
