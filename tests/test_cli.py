"""The command lines end to end: runs, sweeps, plug-ins from outside the package, bad input."""

import json
import logging
import os
import shutil
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import sim
from trained import QUICK_TRAINING
from sim.cli import compare_main, main
from sim.rundir import RunDir, read_sweep

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
QUICK = ["run.replications=6", "run.horizon_years=3", "run.progress=false",
         "run.robustness.replications=0"]


def hashpivot(args, cwd, timeout=240):
    """Run the installed console script; return the finished process."""
    exe = Path(sys.executable).with_name("hashpivot")
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "HYDRA_FULL_ERROR": "0"})


@pytest.mark.slow
def test_default_experiment_writes_a_complete_run_dir(tmp_path):
    run_dir = tmp_path / "run"
    done = hashpivot([*QUICK, *QUICK_TRAINING, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ["summary.parquet", "cashflows.parquet", "timeline.parquet", "worlds.parquet",
                 "comparison.csv", "report.html", "run.json", ".hydra/config.yaml"]:
        assert (run_dir / name).exists(), name
    assert list((run_dir / "plots").glob("*.png"))
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "complete" and info["seed"] == 20270101
    summary = pd.read_parquet(run_dir / "summary.parquet")
    assert set(summary["strategy"]) == {"stay_mining", "convert_all", "phased", "threshold",
                                        "build_to_suit", "real_option"}
    assert len(summary) == 6 * 6
    for column in ["strategy", "mean NPV $M", "P5 $M", "P50 $M", "P95 $M", "P(NPV<0)", "MW converted"]:
        assert column in done.stdout
    assert not (tmp_path / "outputs").exists() or run_dir.exists()


@pytest.mark.slow
def test_multirun_sweeps_markets_into_job_dirs(tmp_path):
    sweep = tmp_path / "sweep"
    done = hashpivot(["-m", *QUICK, "market/ai=base,glut", "strategy=[stay_mining,phased]",
                      "run.compare=false", f"hydra.sweep.dir={sweep}"], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    for job in jobs:
        assert json.loads((job / "run.json").read_text())["status"] == "complete"


@pytest.mark.slow
def test_plugin_demand_from_a_directory_outside_the_package(tmp_path):
    example = ROOT / "examples" / "custom_demand"
    shutil.copytree(example, tmp_path / "user")
    user = tmp_path / "user"
    done = hashpivot(["--config-dir", "conf", "market/demand=lease_linked", *QUICK,
                      "strategy=[stay_mining,build_to_suit]", "run.compare=false",
                      f"hydra.run.dir={user / 'run'}"], cwd=user)
    assert done.returncode == 0, done.stderr
    cfg = (user / "run" / ".hydra" / "config.yaml").read_text()
    assert "my_demand.LeaseLinkedDemand" in cfg
    # The same from Python, as a user's script would.
    script = ("import sim\n"
              "cfg = sim.compose(['market/demand=lease_linked', 'run.replications=3', "
              "'run.horizon_years=3', 'run.progress=false'], config_dirs=['conf'])\n"
              "w = sim.sample_world(cfg, 0)\n"
              "print(len(w.tenant_requests), sim.run(cfg).summary.shape)\n")
    py = subprocess.run([sys.executable, "-c", script], cwd=user, capture_output=True, text=True,
                        timeout=240, env={**os.environ, "PYTHONPATH": str(user)})
    assert py.returncode == 0, py.stderr
    assert py.stdout.split()[1] == "(18,"  # 3 worlds x 6 strategies


BAD = [
    (["market/ai=nope"], "market/ai=nope: no such option"),
    (["site.grid_mw=-5"], "site.grid_mw=-5: must be > 0"),
    (["site.hosting.renewal_probability=1.5"], "site.hosting.renewal_probability=1.5: must be in [0, 1]"),
    (["run.horizon_years=-1"], "run.horizon_years=-1: must be in [1/12 (one month), 100]"),
    (["market.demand._target_=nowhere.Missing"], "does not import"),
    (["-m", "market/ai=base,nope"], "market/ai=nope: no such option"),
    # an option Hydra does not take printed Hydra's seven-line usage block before its error
    (["--out", "xx"], "--out: no such option; hashpivot takes key=value overrides (results go to "
                      "hydra.run.dir=DIR) and Hydra's options, listed by hashpivot --help"),
    # a group the defaults select, added with '+': Hydra's "Multiple values for asof. To
    # override a value use 'override asof: 2026-01-12'", or "appears more than once"
    (["+asof=2026-01-12"], "+asof=2026-01-12: asof is selected already (the defaults choose "
                           "one); replace it without the '+': asof=2026-01-12"),
    (["+market/btc=jump"], "+market/btc=jump: market/btc is selected already"),
    # a key of Hydra's own, given a value of another type: it said 'must be a group of keys'
    (["hydra.job.chdir=maybe"], "hydra.job.chdir='maybe': must be true or false"),
    (["hydra.job.name=[1]"], "hydra.job.name=[1]: must be text"),
    # a list of options for a group that takes one: Hydra merged them, the last ran alone
    (["fleet=[s21,s19xp]"], "fleet=[s21,s19xp]: one fleet option at a time (of a list, the last "
                            "would replace the others); to run several, sweep them: -m fleet=A,B"),
    (["market/btc=[gbm,jump]"], "market/btc=[gbm,jump]: one market/btc option at a time"),
    # a group's value that YAML reads as no string: Hydra raised ValueError/TypeError
    (["market/ai=null"], "market/ai=null: no such option; allowed: base, boom, glut"),
    (["market/ai=true"], "market/ai=true: no such option; allowed: base, boom, glut"),
    (["market/ai=1"], "market/ai=1: no such option; allowed: base, boom, glut"),
    (["market/ai=nan"], "market/ai=nan: no such option; allowed: base, boom, glut (YAML reads "
                        "nan as no name: an option of your own named so is quoted, "
                        "\"market/ai='nan'\")"),
    (["strategy=[stay_mining,null]"], "strategy=[stay_mining,null]: no such option (null); allowed: "),
    (["-m", "market/ai=base,null"], "market/ai=null: no such option; allowed: base, boom, glut"),
    # Hydra names no options for an unknown one in a list: the shipped ones are named
    (["strategy=[phased,nope]"], "strategy=nope: no such option; allowed: build_to_suit, "
                                 "convert_all, phased, real_option, stay_mining, threshold"),
    # a true-or-false key given a number or a word OmegaConf would read as a bool
    (["run.progress=2"], "run.progress=2: must be true or false"),
    (["site.sign_converting=yes"], "site.sign_converting='yes': must be true or false"),
    (["-m", "run.deterministic=true,0"], "run.deterministic=0: must be true or false"),
    # an interpolation that does not resolve: a traceback (exit 1), or in a sweep 'null'
    (["site.grid_mw=${nope.x}"],
     "site.grid_mw=${nope.x}: the interpolation's key nope.x is not in the config"),
    (["-m", "run.replications=${oops}"],
     "run.replications=${oops}: the interpolation's key oops is not in the config"),
    (["run.seed=${oops:1}"],
     "run.seed=${oops:1}: the interpolation cannot be resolved (Unsupported interpolation type oops)"),
    # a key of a strategy the command does not run: its hint led to a '+' key silently unused
    (["strategy=phased", "strategy.threshold.margin_below=0.2"],
     "strategy.threshold.margin_below: strategy threshold is not among the strategies run "
     "(strategy=[phased]); select it to set its keys"),
]


@pytest.mark.parametrize("sweep", [False, True])
def test_a_config_dir_file_that_is_not_yaml_is_one_line_naming_where(sweep, tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "mine" / "market" / "ai" / "broken.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("lease_usd_per_kw_month: [1\n")
    choice = "market/ai=base,broken" if sweep else "market/ai=broken"
    code = main([*(["-m"] if sweep else []), "--config-dir", str(tmp_path / "mine"), *QUICK,
                 choice, f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err == (f"hashpivot: error: {broken}, line 2, column 1: not valid YAML (expected ',' "
                   f"or ']', but got '<stream end>')")
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("args, fragment", BAD)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(args, fragment, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flags = [a for a in args if a.startswith("-")]  # Hydra's flags come before overrides
    overrides = [a for a in args if not a.startswith("-")]
    code = main([*flags, *QUICK, *overrides, f"hydra.run.dir={tmp_path / 'run'}",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.count("\n") == 0 and err.startswith("hashpivot: error: ") and fragment in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


PLUGIN_BAD = [
    ("market.power._target_=bad_plugins.NaNPower", "power_usd_per_mwh is not finite"),
    ("market.ai._target_=bad_plugins.NegativeLease", "lease_usd_per_kw_month must be >= 0"),
    ("market.btc._target_=bad_plugins.ShortBTC", "btc_usd has shape"),
    # a plug-in's own failure says where in its code (before, only "raised KeyError: ...")
    ("market.btc._target_=bad_plugins.RaisingBTC",
     "raised KeyError: 'no_such_path' (at bad_plugins.py:"),
]


def failed_with_bad_plugins(overrides, tmp_path, capsys, monkeypatch) -> str:
    """Run `main` with tests/bad_plugins.py importable; assert the run failed in one line,
    exit 2, with no summary and run.json saying failed; return that line."""
    shutil.copy(TESTS / "bad_plugins.py", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    run_dir = tmp_path / "run"
    code = main([*overrides, *QUICK, f"hydra.run.dir={run_dir}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert not (run_dir / "summary.parquet").exists()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"
    return err


@pytest.mark.parametrize("override, fragment", PLUGIN_BAD)
def test_misbehaving_plugin_fails_cleanly_naming_process_replication_and_seed(
        override, fragment, tmp_path, capsys, monkeypatch):
    err = failed_with_bad_plugins([override], tmp_path, capsys, monkeypatch)
    assert fragment in err and "replication 0" in err and "seed 20270101" in err


#: What each misbehaving strategy's line says, and where in the strategy's code it says the
#: error was raised (None: not in its code; the engine refused what it returned).
STRATEGY_BAD = [
    ("PeekingStrategy", "raised LookAheadError: strategy read btc_usd on day 30 while deciding on day 0",
     "decide"),
    ("IndexingStrategy", "raised IndexError: index 30 is out of bounds", "decide"),
    ("RaisingStrategy", "raised ZeroDivisionError: division by zero", "decide"),
    # its context once: it read 'replication 0, seed ...: strategy BadActionStrategy
    # (replication 0): decide returned 42' (an audit)
    ("BadActionStrategy", "(BadActionStrategy), replication 0, seed 20270101: decide returned 42; "
                          "expected a list of sim.strategies.Convert ([] for none)", None),
]


@pytest.mark.parametrize("plugin, fragment, raised_in", STRATEGY_BAD)
def test_misbehaving_strategy_fails_cleanly_naming_strategy_replication_and_seed(
        plugin, fragment, raised_in, tmp_path, capsys, monkeypatch):
    err = failed_with_bad_plugins([f"+strategy.plug._target_=bad_plugins.{plugin}",
                                   "strategy=[stay_mining]"], tmp_path, capsys, monkeypatch)
    assert err.startswith(f"hashpivot: error: strategy.plug ({plugin}), replication 0, seed 20270101")
    assert fragment in err
    if raised_in:
        assert re.search(rf" \(at bad_plugins\.py:\d+ in {raised_in}\)$", err), err
    else:
        assert " (at " not in err


@pytest.mark.slow
def test_user_error_through_the_console_script_has_no_traceback(tmp_path):
    done = hashpivot(["site.grid_mw=-5"], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "hashpivot: error: site.grid_mw=-5: must be > 0"
    assert not (tmp_path / "outputs").exists()


def test_help_explains_usage(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: hashpivot" in out and "market/ai: base, boom, glut" in out


def test_help_lists_the_options_its_errors_send_the_user_to(capsys):
    """An unknown or bad option's line says 'see --help', whose text named no option."""
    from hydra._internal.utils import get_args_parser

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    rarely = {"--help", "--run", "--shell-completion", "--config-path", "--experimental-rerun"}
    for action in get_args_parser()._actions:
        names = [name for name in action.option_strings if name.startswith("--")]
        if names and names[0] not in rarely:
            assert all(name in out for name in action.option_strings), action.option_strings


@pytest.mark.parametrize("args, line", [
    (["--cfg", "nope"], "--cfg=nope: must be one of job, hydra, all (see --help)"),
    (["-c", "nope", "run.seed=3"], "--cfg=nope: must be one of job, hydra, all (see --help)"),
    (["--info", "nope"], "--info=nope: must be one of all, config, defaults, defaults-tree, "
                         "plugins, searchpath (see --help)"),
    (["--package"], "--package: expected one argument (see --help)"),
    # Hydra's logging setup failed on it with a bare AssertionError and a traceback
    (["hydra.verbose=3"], "hydra.verbose=3: must be true, false, or the name of a logger to log "
                          "at DEBUG (or a list of them, e.g. hydra.verbose=[sim.cli])"),
    # overrides on both sides of an option: argparse's usage block and 'unrecognized arguments'
    (["run.replications=20", "-m", "run.seed=1,2"],
     "run.seed=1,2: the overrides must come together, after the options or before them, not "
     "on both sides; run: hashpivot -m run.replications=20 run.seed=1,2"),
    (["run.seed=3", "--cfg", "job", "strategy=[phased]", "site.blocks=4"],
     "strategy=[phased]: the overrides must come together, after the options or before them, "
     "not on both sides; run: hashpivot --cfg job run.seed=3 'strategy=[phased]' site.blocks=4"),
])
def test_a_bad_value_for_a_hydra_flag_is_one_line(args, line, capsys):
    """argparse printed its seven-line usage block before the error."""
    assert main(args) == 2
    assert capsys.readouterr().err == f"hashpivot: error: {line}\n"


@pytest.mark.parametrize("args, line", [
    (["run.replications=3", "--config-dir", "conf", "market/demand=step"],
     "market/demand=step: the overrides must come together, after the options or before them, "
     "not on both sides; run: hashpivot --config-dir conf run.replications=3 market/demand=step"),
    (["strategy=phased", "-m", "run.seed=1,2", "strategy=[a,b]"],
     "run.seed=1,2: the overrides must come together, after the options or before them, "
     "not on both sides; run: hashpivot -m strategy=phased run.seed=1,2 'strategy=[a,b]'"),
])
def test_overrides_on_both_sides_of_an_option_are_one_line_giving_the_command(args, line, capsys):
    """argparse printed its seven-line usage block and 'unrecognized arguments' (an audit:
    adding --config-dir to a working command, after its first overrides)."""
    assert main(args) == 2
    assert capsys.readouterr().err == f"hashpivot: error: {line}\n"


@pytest.mark.parametrize("args, line", [
    # passed the checks (the schema's defaults stood in), then failed in the job with Hydra's
    # 'Error executing job with overrides' block and left the run folder behind
    (["~run"], "~run: run cannot be deleted, every run needs it; set its keys instead "
               "(run.KEY=VALUE)"),
    # ran on the schema's defaults without a word
    (["~site"], "~site: site cannot be deleted, every run needs it; choose an option instead "
                "(site=default)"),
    (["-m", "~fleet"], "~fleet: fleet cannot be deleted, every run needs it; choose an option "
                       "instead (fleet=m60s|s19xp|s21|s21xp)"),
    # Hydra's own words: "Could not delete 'strategy'. No match in the defaults list"
    (["~strategy"], "~strategy: strategy cannot be deleted, every run needs it; choose the "
                    "strategies run instead, e.g. strategy=phased or 'strategy=[stay_mining,phased]'"),
    (["~market"], "~market: market cannot be deleted, every run needs it; choose its groups' "
                  "options instead (market/btc=..., market/network=..., market/power=..., "
                  "market/ai=..., market/demand=...)"),
    (["~market/btc=gbm"], "~market/btc=gbm: market/btc cannot be deleted, every run needs it; "
                          "choose an option instead (market/btc=bootstrap|gbm|jump)"),
])
def test_deleting_a_part_every_run_needs_is_one_line_saying_what_to_do(args, line, tmp_path,
                                                                        capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    flags = [a for a in args if a.startswith("-")]
    overrides = [a for a in args if not a.startswith("-")]
    code = main([*flags, *QUICK, *overrides, f"hydra.run.dir={tmp_path / 'run'}",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    assert (code, capsys.readouterr().err) == (2, f"hashpivot: error: {line}\n")
    assert not (tmp_path / "run").exists() and not (tmp_path / "sweep").exists()


@pytest.mark.parametrize("deleted", ["~market/rates", "~strategy.phased"])
def test_deleting_a_part_a_run_can_do_without_still_runs(deleted, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main([*QUICK, "run.replications=2", "run.compare=false", deleted,
                 f"hydra.run.dir={tmp_path / 'run'}"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "summary.parquet").exists()


def test_every_sweep_job_is_checked_before_the_first_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["-m", *QUICK, "strategy=phased", "strategy.phased.blocks_per_quarter=1,-1",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert "strategy.phased.blocks_per_quarter=-1" in err
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_a_sweep_refused_by_its_job_directories_leaves_the_sweep_as_it_was(tmp_path, capsys,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    argv = ["-m", *QUICK, "strategy=[stay_mining,convert_all]", "run.detail=summary",
            "run.compare=false", f"hydra.sweep.dir={sweep}"]
    assert main([*argv, "market/btc=gbm,jump"]) == 0
    before = {path: path.read_bytes() for path in sweep.rglob("*") if path.is_file()}
    capsys.readouterr()
    # the same jobs in another order: job 0 would be jump, whose directory holds gbm's run
    assert main([*argv, "market/btc=jump,gbm"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"hashpivot: error: {sweep / '0'}: holds a run")
    assert err.endswith("choose a new hydra.sweep.dir")
    after = {path: path.read_bytes() for path in sweep.rglob("*") if path.is_file()}
    assert after == before  # multirun.yaml included: it was rewritten before the refusal
    assert main([*argv, "market/btc=gbm,jump"]) == 0  # the same sweep again resumes


def test_a_sweep_interrupted_in_a_job_says_which_did_not_start_and_compare_refuses_it(
        tmp_path, capsys, monkeypatch):
    import sim.cli as cli

    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    ran = []

    def interrupted(cfg, out_dir):  # the job's run, Ctrl-C'd: its folder and run.json as then
        ran.append(Path(out_dir))
        RunDir(out_dir).write_info(cfg, "interrupted", None)
        return cli.INTERRUPTED

    monkeypatch.setattr(cli, "execute", interrupted)
    code = main(["-m", *QUICK, "market/ai=base,boom,glut", f"hydra.sweep.dir={sweep}"])
    err = capsys.readouterr().err.strip()
    assert code == 130 and ran == [sweep / "0"]  # the sweep stops at its first job
    assert err == (f"hashpivot: the sweep stopped in job 0 of 3 (numbered from 0): jobs 1, 2 "
                   f"did not start. Rerun the same command with hydra.sweep.dir={sweep} to "
                   f"resume the sweep; "
                   f"hashpivot-compare {sweep} refuses it until then (or compares the finished "
                   f"jobs alone with --finished-only)")
    assert [[o for o in job.split() if o.startswith("market/ai=")] for job in read_sweep(sweep)] \
        == [["market/ai=base"], ["market/ai=boom"], ["market/ai=glut"]]
    assert compare_main([str(sweep)]) == 2
    err = capsys.readouterr().err
    assert f"{sweep / '2'} (no run.json: the job never started" in err


def test_ctrl_c_in_a_launchers_own_process_is_130_without_a_traceback(tmp_path, capsys, monkeypatch):
    """Under the joblib launcher the jobs run in workers, which print their lines; the
    KeyboardInterrupt that reaches the launcher's process gave a 35-line traceback."""
    import sim.cli as cli

    def launcher_interrupted(cfg):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "_task", launcher_interrupted)
    assert main(["-m", *QUICK, "market/ai=base,glut", f"hydra.sweep.dir={tmp_path / 'sweep'}"]) == 130
    assert "Traceback" not in capsys.readouterr().err


def test_a_bug_in_the_pre_flight_stops_the_command_instead_of_running_it_unchecked(
        tmp_path, capsys, monkeypatch):
    """Hydra turns a callback's exception into a warning and runs the job anyway: a TypeError
    in a check (a 20-digit block height) ran the job unchecked, then failed in it."""
    from sim.cli import preflight

    def broken(cfg):
        raise RuntimeError("a check's own bug")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(preflight, "check_job", broken)
    assert main([*QUICK, f"hydra.run.dir={tmp_path / 'run'}"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: a check's own bug" in err
    assert not (tmp_path / "run").exists()


def test_a_sweep_goes_on_past_a_failed_job_and_names_it_at_the_end(tmp_path, capsys, monkeypatch):
    """Before, a job that failed at run time ended the sweep: the jobs after it never ran,
    and nothing said so. Now the others run; the command exits 2 naming the failed job."""
    shutil.copy(TESTS / "bad_plugins.py", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    sweep = tmp_path / "sweep"
    code = main(["-m", *QUICK, "market.power._target_=sim.processes.power.SeasonalLogOU,"
                 "bad_plugins.NaNPower,sim.processes.power.SeasonalLogOU", f"hydra.sweep.dir={sweep}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    statuses = [json.loads((sweep / str(n) / "run.json").read_text())["status"] for n in range(3)]
    assert statuses == ["complete", "failed", "complete"]
    assert "hashpivot: job 1 of the sweep failed; the sweep goes on with the others" in err
    assert err[-1].startswith("hashpivot: error: 1 of 3 jobs of the sweep failed (1); job 1 (")
    assert "market.power._target_=bad_plugins.NaNPower" in err[-1]
    assert "NaNPower), replication 0, seed 20270101: power_usd_per_mwh is not finite" in err[-1]
    assert err[-1].endswith(f"Fix it and rerun with hydra.sweep.dir={sweep}: the complete jobs "
                            "are kept (to rerun a failed job with other values, remove its "
                            "folder first)")


def test_a_sweeps_last_job_failing_does_not_say_the_sweep_goes_on(tmp_path, capsys, monkeypatch):
    """Before: 'job 1 of the sweep failed; the sweep goes on with the others' after its last
    job (a full disk failed both jobs of a two-job sweep), with no job left to go on with."""
    shutil.copy(TESTS / "bad_plugins.py", tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["-m", *QUICK, "market.power._target_=sim.processes.power.SeasonalLogOU,"
                 "bad_plugins.NaNPower", f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert "hashpivot: job 1 of the sweep failed" in err
    assert not [line for line in err if "goes on" in line]


@pytest.mark.parametrize("sweep", [False, True])
def test_an_interrupted_run_says_how_to_resume_it_alone_or_in_its_sweep(sweep, tmp_path, capsys,
                                                                        monkeypatch):
    def interrupted(cfg, out_dir=None):
        raise KeyboardInterrupt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sim, "run", interrupted)
    args = ["-m", "market/ai=base,glut"] if sweep else []
    code = main([*args, *QUICK, f"hydra.run.dir={tmp_path / 'run'}",
                 f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    lines = capsys.readouterr().err.strip().splitlines()
    job = tmp_path / "sweep" / "0" if sweep else tmp_path / "run"
    # the default folders are named by the time: the same command alone would start afresh
    again = (f"the same command with hydra.sweep.dir={tmp_path / 'sweep'} to resume" if sweep
             else f"the same command with hydra.run.dir={job} to resume")
    assert code == 130
    assert lines[0] == (f"hashpivot: interrupted; no chunk had finished (a trained policy is "
                        f"kept, if any) in {job}. Rerun {again}.")  # it said "finished chunks are kept"
    assert len(lines) == (2 if sweep else 1)  # and the sweep's jobs not started


def test_a_glob_sweep_is_checked_before_its_jobs_and_an_empty_one_refused(tmp_path, capsys,
                                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    # a glob needs Hydra's config loader: without it the check raised, and Hydra only warned
    code = main(["-m", *QUICK, "market/ai=glob(b*)", "site.grid_mw=-5", f"hydra.sweep.dir={sweep}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "hashpivot: error: site.grid_mw=-5: must be > 0"
    assert not sweep.exists()
    code = main(["-m", *QUICK, "run.horizon_years=glob(*)", f"hydra.sweep.dir={sweep}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.endswith("the sweep has no job (a sweep's list or glob chose no "
                                      "value); nothing to run")
    assert not sweep.exists()


def test_sweep_params_from_a_config_file_are_checked_too(tmp_path, capsys, monkeypatch):
    conf = tmp_path / "conf" / "experiment"
    conf.mkdir(parents=True)
    (conf / "bad_sweep.yaml").write_text(
        "# @package _global_\nhydra:\n  sweeper:\n    params:\n      site.grid_mw: 100,-5\n")
    monkeypatch.chdir(tmp_path)
    code = main(["-m", "--config-dir", str(tmp_path / "conf"), "+experiment=bad_sweep", *QUICK,
                 f"hydra.sweep.dir={tmp_path / 'sweep'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == "hashpivot: error: site.grid_mw=-5: must be > 0"
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_plugin_through_hydra_searchpath(tmp_path):
    user = tmp_path / "user"
    shutil.copytree(ROOT / "examples" / "custom_demand", user)
    done = hashpivot([f"hydra.searchpath=[file://{user / 'conf'}]", "market/demand=lease_linked",
                      *QUICK, "strategy=[stay_mining,build_to_suit]", "run.compare=false",
                      f"hydra.run.dir={user / 'run'}"], cwd=user)
    assert done.returncode == 0, done.stderr
    assert "my_demand.LeaseLinkedDemand" in (user / "run" / ".hydra" / "config.yaml").read_text()


def test_a_command_run_from_python_leaves_the_root_logger_as_it_found_it(tmp_path, capsys):
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    assert main([*QUICK, "run.replications=0", f"hydra.run.dir={tmp_path / 'run'}"]) == 2  # refused
    assert main(["--cfg", "job"]) == 0  # Hydra configured its logging and printed the config
    assert (list(root.handlers), root.level) == before
    assert "run.replications=0" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["hashpivot", "hashpivot-compare"])
def test_version_is_hashpivots_not_hydras(command, capsys):
    run = main if command == "hashpivot" else compare_main
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hashpivot {sim.__version__}"


@pytest.mark.slow
@pytest.mark.parametrize("command", ["hashpivot", "hashpivot-compare", "hashpivot-backtest",
                                     "hashpivot-calibrate"])
def test_every_console_script_prints_the_version(command, tmp_path):
    exe = Path(sys.executable).with_name(command)
    done = subprocess.run([str(exe), "--version"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, f"hashpivot {sim.__version__}")


def console_scripts() -> list[str]:
    """Return the console scripts pyproject.toml installs."""
    import tomllib
    return sorted(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"])


@pytest.mark.slow
@pytest.mark.parametrize("command", console_scripts())
def test_every_installed_command_prints_the_version(command, tmp_path):
    exe = Path(sys.executable).with_name(command)  # each command pyproject installs, new ones too
    done = subprocess.run([str(exe), "--version"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, f"hashpivot {sim.__version__}")


def test_the_job_log_names_the_settings_and_times_the_chunks(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    assert main([*QUICK, "run.replications=4", "run.chunk_size=2", "run.compare=false",
                 "strategy=[stay_mining,phased]", "run.seed=99", f"hydra.run.dir={run_dir}"]) == 0
    log = (run_dir / "hashpivot.log").read_text()
    assert "seed 99" in log and "4 replications" in log and "executor serial, workers 1," in log
    assert "chunk 1 of 2 done: replications 0-1" in log and "chunk 2 of 2 done" in log
    assert "replications/s" in log and "assembled 4 replications" in log
    captured = capsys.readouterr()
    assert "chunk 1 of 2" not in captured.out + captured.err  # the file, not the console


@pytest.mark.parametrize("module", ["sim.explore.cli", "sim.optimize.cli", "sim.backtest.cli",
                                    "sim.calibrate.cli"])
def test_every_commands_flag_errors_are_one_line(module, capsys):
    """argparse printed its seven-line usage block before the error (hashpivot-compare did not)."""
    import importlib

    main_of = importlib.import_module(module).main
    with pytest.raises(SystemExit) as stopped:
        main_of(["--no-such-flag", "x"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith(" (see --help)\n") and ": error: " in err


def test_a_start_date_far_from_the_snapshots_is_told(tmp_path, capsys, monkeypatch):
    """A 2030 start with the 2026 snapshot ran without a word, its market the snapshot's and
    its ASIC frontier 2030's; a start within a month of the snapshot says nothing."""
    monkeypatch.chdir(tmp_path)
    args = [*QUICK, "strategy=[stay_mining]", f"hydra.run.dir={tmp_path / 'run'}"]
    assert main([*args, "site.start_date=2030-01-01"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert notes == ["hashpivot: note: site.start_date=2030-01-01 is 1,285 days from "
                     "asof.date=2026-06-26: day 0's market is that snapshot's, while the ASIC "
                     "frontier, among other dated inputs, follows the calendar; for another "
                     "start, write a snapshot of its date (README, 'Your own snapshot') and "
                     "select it with asof=<date>"]
    assert main([*args[:-1], f"hydra.run.dir={tmp_path / 'near'}", "site.start_date=2026-07-10"]) == 0
    assert "note:" not in capsys.readouterr().err


def test_two_experiments_at_once_are_refused_saying_to_sweep_them(tmp_path, capsys, monkeypatch):
    """Before: 'strategy.build_to_suit: has no _target_', of a command that named no strategy."""
    monkeypatch.chdir(tmp_path)
    assert main(["+experiment=[hut8,iren]", f"hydra.run.dir={tmp_path / 'run'}"]) == 2
    assert capsys.readouterr().err == (
        "hashpivot: error: +experiment=[hut8,iren]: one experiment at a time, each sets the site "
        "and the strategies whole; to run several, sweep them: -m +experiment=hut8,iren\n")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("relabels, line", [
    # the option named after a label another strategy carries by its own name
    (["+strategy.phased.name=threshold"],
     "strategy.phased.name='threshold': strategy threshold carries that label; allowed: a label "
     "no other selected strategy carries (not threshold, stay_mining)"),
    (["+strategy.threshold.name=phased"],
     "strategy.threshold.name='phased': strategy phased carries that label; allowed: a label "
     "no other selected strategy carries (not phased, stay_mining)"),
    # two relabelled alike: the second one named
    (["+strategy.phased.name=k2", "+strategy.threshold.name=k2"],
     "strategy.threshold.name='k2': strategy phased carries that label; allowed: a label "
     "no other selected strategy carries (not k2, stay_mining)"),
])
def test_a_label_another_strategy_carries_names_the_key_that_set_it(relabels, line, tmp_path, capsys,
                                                                    monkeypatch):
    """Before: 'strategy.threshold.name='threshold': another strategy has that label', of a
    command that set strategy.phased.name and never strategy.threshold.name."""
    monkeypatch.chdir(tmp_path)
    code = main([*QUICK, "strategy=[phased,threshold,stay_mining]", *relabels,
                 f"hydra.run.dir={tmp_path / 'run'}"])
    assert (code, capsys.readouterr().err) == (2, f"hashpivot: error: {line}\n")
    assert not (tmp_path / "run").exists()


def test_a_directory_of_other_files_is_refused_and_left_as_it_was(tmp_path, capsys, monkeypatch):
    """A run into a folder that holds no hashpivot run (a user's files, a comparison's
    --out) wrote its report.html over theirs and its plots among them."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "report.html").write_text("my report")
    (folder / "notes.txt").write_text("my notes")
    code = main([*QUICK, "strategy=[stay_mining]", f"hydra.run.dir={folder}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0
    assert err == (f"hashpivot: error: hydra.run.dir={folder}: holds files that are not a "
                   "hashpivot run's (notes.txt, report.html); a run writes its tables, report "
                   "and plots there and would replace files of the same name: choose a new or "
                   "empty directory")
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "report.html"]
    assert (folder / "report.html").read_text() == "my report"
    with pytest.raises(sim.errors.UserError, match=r"^out_dir=.*: holds files that are not"):
        sim.run(sim.compose([*QUICK, "strategy=[stay_mining]"]), out_dir=folder)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "report.html"]


def test_a_directory_hydra_made_for_a_run_that_stopped_early_takes_the_run(tmp_path, capsys,
                                                                             monkeypatch):
    """What a run leaves before it writes a table of its own (Hydra's .hydra and log) is
    not a stranger's: the run goes ahead there."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "run"
    (folder / ".hydra").mkdir(parents=True)
    (folder / "hashpivot.log").write_text("")
    assert main([*QUICK, "strategy=[stay_mining]", f"hydra.run.dir={folder}"]) == 0
    assert RunDir(folder).is_run()


@pytest.mark.parametrize("args, named", [
    (["--config-dir", "nowhere"], "--config-dir=nowhere"),
    (["--config-dir=nowhere"], "--config-dir=nowhere"),
    (["-cd", "nowhere"], "--config-dir=nowhere"),
    (["hydra.searchpath=[file://{tmp}/nowhere]"], "hydra.searchpath={tmp}/nowhere"),
])
def test_a_config_directory_that_is_not_there_is_named_as_given(args, named, tmp_path, capsys,
                                                                 monkeypatch):
    """--config-dir's refusal was Hydra's, naming no flag; a hydra.searchpath's printed
    Hydra's UserWarning with its source line, and then named it --config-dir."""
    monkeypatch.chdir(tmp_path)
    args = [a.format(tmp=tmp_path) for a in args]
    code = main([*args, *QUICK, f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (f"hashpivot: error: {named.format(tmp=tmp_path)}: additional config directory "
                   f"'{tmp_path / 'nowhere'}' not found\n")


@pytest.mark.slow
def test_the_readmes_strategy_plugin_runs_from_a_directory_outside_the_package(tmp_path):
    """examples/custom_strategy is the README's example, file for file, and it runs."""
    example = ROOT / "examples" / "custom_strategy"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in (example / "my_strategies.py", example / "conf" / "strategy" / "lease_trigger.yaml"):
        assert path.read_text(encoding="utf-8").strip() in readme, path.name
    user = tmp_path / "user"
    shutil.copytree(example, user)
    done = hashpivot(["--config-dir", "conf", "strategy=[stay_mining,lease_trigger]",
                      "strategy.lease_trigger.above=130", *QUICK, "run.compare=false",
                      f"hydra.run.dir={user / 'run'}"], cwd=user)
    assert done.returncode == 0, done.stderr
    summary = pd.read_parquet(user / "run" / "summary.parquet")
    assert set(summary["strategy"].astype(str)) == {"stay_mining", "lease_trigger"}
