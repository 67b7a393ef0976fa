"""Bad inputs and bad surroundings, refused before any work: issue #8's cases one by one.

Each refusal is one line naming the key, exit code 2, and no directory. The fuzz test
(test_fuzz_cli.py) draws many more; these pin the exact words of the cases users met.
"""

import re
import threading
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

import sim
from sim import memory
from sim.cli import main
from sim.config_checks import settings
from sim.errors import UserError
from sim.executors import start_ray
from sim.world import validate_output

QUICK = ["run.replications=2", "run.horizon_years=1", "run.progress=false", "run.compare=false",
         "run.robustness.replications=0"]

ISSUE = [
    (["strategy=phased", "strategy.phased.blocks_per_quarter=-1"],
     "strategy.phased.blocks_per_quarter=-1: must be >= 0"),
    (["strategy=phased", "strategy.phased.blocks_per_quarter=abc"],
     "strategy.phased.blocks_per_quarter='abc': must be a whole number"),
    # a whole float for a whole number: it said '...=10: must be a whole number'
    (["strategy=phased", "strategy.phased.blocks_per_quarter=1e1"],
     "strategy.phased.blocks_per_quarter=10.0: must be a whole number >= 0 (write 10)"),
    (["strategy=phased", "strategy.phased.use=rent"],
     "strategy.phased.use='rent': must be one of lease, cloud"),
    (["strategy=phased", "strategy.phased.max_share=2"],
     "strategy.phased.max_share=2: must be in [0, 1]"),
    (["market.btc.start_usd=-1"], "market.btc.start_usd=-1: must be > 0"),
    (["market.power.mean_usd_per_mwh=-40"], "market.power.mean_usd_per_mwh=-40: must be > 0"),
    (["market.demand.rate_per_year=nan"], "market.demand.rate_per_year=nan: must be a finite number"),
    (["market.network.start_difficulty=0"], "market.network.start_difficulty=0: must be > 0"),
    (["market.ai.start_regime=bubble"],
     "market.ai.start_regime='bubble': must be one of scarcity, glut, stationary"),
    (["market.demand.mw_it=uniform:50:10"], "market.demand.mw_it.low=50.0 must be <= "),
    (["-m", "market.btc.start_usd=90000,-1"], "market.btc.start_usd=-1: must be > 0"),
    (["run.horizon_years=0.001"], "run.horizon_years=0.001: must be in [1/12 (one month), 100]"),
    (["run.horizon_years=0.05"], "run.horizon_years=0.05: must be in [1/12 (one month), 100]"),
    (["strategy.threshold.margin_below=nan"],
     "strategy.threshold.margin_below=nan: must be a finite number"),
    (["strategy.threshold.lease_above_usd_per_kw_month=-5"],
     "strategy.threshold.lease_above_usd_per_kw_month=-5: must be >= 0"),
    (["strategy=phased", "strategy.phased.use=cloud", "site.cloud.gpus_per_mw_it=0"],
     "site.cloud.gpus_per_mw_it=0: must be > 0 when a strategy runs its own GPU cloud "
     "(strategy.phased.use=cloud)"),
    (["market.power.cap_usd_per_mwh=30"],
     "market.power.cap_usd_per_mwh=30: must be > mean_usd_per_mwh=40"),
    (["site.start_date=01/02/2027"],
     "site.start_date='01/02/2027': must be a date YYYY-MM-DD from 1970 to 2200, such as 2027-01-01"),
    (["site.start_date=2027-02-30"], "site.start_date='2027-02-30': must be a date YYYY-MM-DD"),
    (["finance.debt.loan_to_cost=1.5"], "finance.debt.loan_to_cost=1.5: must be in [0, 1]"),
    (["finance.debt.fixed_rate=-0.01"], "finance.debt.fixed_rate=-0.01: must be in [0, 1]"),
    (["finance.debt.target_dscr=0.9"], "finance.debt.target_dscr=0.9: must be >= 1"),
    (["finance.covenant.cure=forgive"],
     "finance.covenant.cure='forgive': must be one of sweep, equity, default"),
    (["finance.equipment.loan_to_value=0.5", "finance.equipment.term_years=6"],
     "finance.equipment.term_years=6: must be at most 4 (fleet.upgrade_every_years): a loan "
     "must not outlive the machines it finances"),
    (["asof.difficulty=1.3387e11"], "asof.hashprice_usd_per_ph_day=29: must be within 10% of"),
    (["hydra.run.dir=/proc/nope"], "hydra.run.dir=/proc/nope: cannot create it there"),
    (["-m", "hydra.sweep.dir=/proc/nope", "run.seed=1,2"], "hydra.sweep.dir=/proc/nope: "),
]


def _refused(args, tmp_path, capsys) -> str:
    flags = [a for a in args if a.startswith("-")]
    overrides = [a for a in args if not a.startswith("-")]
    own_dir = any(o.startswith("hydra.") for o in overrides)
    dirs = [] if own_dir else [f"hydra.run.dir={tmp_path / 'run'}",
                               f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    code = main([*flags, *QUICK, *overrides, *dirs])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("hashpivot: error: ") and err.count("\n") == 0, err
    assert list(tmp_path.iterdir()) == []
    return err


@pytest.mark.parametrize("args, expected", ISSUE)
def test_the_issues_bad_inputs_are_refused_before_any_directory(args, expected, tmp_path,
                                                                 capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert expected in _refused(args, tmp_path, capsys)


def test_an_output_path_under_a_file_is_refused(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.chdir(tmp_path)
    code = main([*QUICK, f"hydra.run.dir={blocker}/run"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == (f"hashpivot: error: hydra.run.dir={blocker}/run: {blocker} "
                                 "is a file, not a directory")
    assert [p.name for p in tmp_path.iterdir()] == ["a_file"]


def test_an_unquoted_non_ascii_path_says_how_to_quote_it(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main([*QUICK, "hydra.run.dir=runs/été"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert "hydra.run.dir=runs/été" in err and """'hydra.run.dir="runs/été"'""" in err
    assert list(tmp_path.iterdir()) == []
    # The quoting the line suggests is what Hydra reads as that path.
    override = OverridesParser.create().parse_override('hydra.run.dir="runs/été"')
    assert override.value() == "runs/été"


# --- the world boundary: what a plug-in returns --------------------------------------------------
WHERE = "market.power (StringPower), replication 3, seed 11"


@pytest.mark.parametrize("value, words", [
    (np.full(5, "40.5"), "power_usd_per_mwh must hold numbers; got strings such as '40.5'"),
    ([40.0, 41.0, "high", 40.0, 39.0], "power_usd_per_mwh must hold numbers; got strings"),
    ([40.0, None, 41.0, 40.0, 39.0], "power_usd_per_mwh is not finite (first at day 1: nan)"),
    (np.array([True] * 5), "power_usd_per_mwh must hold numbers; got true/false values"),
])
def test_a_plugin_returning_non_numbers_is_named_with_field_replication_and_seed(value, words):
    with pytest.raises(UserError) as refused:
        validate_output({"power_usd_per_mwh": value}, ("power_usd_per_mwh",), 5, WHERE)
    assert str(refused.value).startswith(f"{WHERE}: {words}")


def test_a_table_with_a_text_column_is_named_with_its_column():
    requests = pd.DataFrame({"day": [1, 2], "mw_it": ["10", "20"], "term_days": [10, 10],
                             "usd_per_kw_month": [100.0, 100.0], "wait_days": [5, 5]})
    where = "market.demand (Odd), replication 0, seed 1"
    with pytest.raises(UserError, match=r"^market\.demand \(Odd\), replication 0, seed 1: "
                                        r"tenant_requests\.mw_it must hold numbers"):
        validate_output({"tenant_requests": requests}, ("tenant_requests",), 5, where)



def test_a_lease_term_over_a_century_is_named_with_its_row():
    """Before: market.demand.term_days=fixed:1e12 ran out of memory (7 TiB) mid-run."""
    requests = pd.DataFrame({"day": [1, 2], "mw_it": [10.0, 20.0], "term_days": [4383.0, 1e12],
                             "usd_per_kw_month": [100.0, 100.0], "wait_days": [5.0, 5.0]})
    where = "market.demand (Long), replication 0, seed 1"
    with pytest.raises(UserError, match=r"^market\.demand \(Long\), replication 0, seed 1: "
                                        r"tenant_requests\.term_days must be at most 36,525 "
                                        r"\(100 years\); row 1: 1e\+12$"):
        validate_output({"tenant_requests": requests}, ("tenant_requests",), 5, where)
    requests.loc[1, "term_days"] = 36_525.0  # a century is allowed
    validate_output({"tenant_requests": requests}, ("tenant_requests",), 5, where)


def test_a_term_over_a_century_stops_the_run_in_one_line(tmp_path, capsys, monkeypatch):
    """A fixed term is refused before the run, naming the key; a drawn one (lognormal, no
    upper bound) where the worlds are made."""
    monkeypatch.chdir(tmp_path)
    code = main([*QUICK, "market.demand.term_days=fixed:1e12", "hydra.run.dir=run"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == ("hashpivot: error: market.demand.term_days=fixed:1000000000000: "
                                 "at most 36,525 days (100 years)")
    assert not (tmp_path / "run").exists()
    code = main([*QUICK, "market.demand.term_days=lognormal:1e6:0.1", "hydra.run.dir=drawn"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err and "term_days must be at most 36,525" in err

def test_sample_world_names_the_plugin_that_returned_strings(monkeypatch, tmp_path):
    (tmp_path / "string_plugin.py").write_text(
        "import numpy as np\n"
        "class StringPower:\n"
        "    def __init__(self, **_): pass\n"
        "    def sample(self, days, rng, upstream):\n"
        "        return {'power_usd_per_mwh': np.full(len(days), '40')}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = sim.compose(["market.power._target_=string_plugin.StringPower", "run.seed=11",
                       *QUICK])
    with pytest.raises(UserError, match=r"^market\.power \(StringPower\), replication 3, seed 11: "
                                        r"power_usd_per_mwh must hold numbers; got strings"):
        sim.sample_world(cfg, 3)


# --- memory: estimated before starting -------------------------------------------------------
def test_a_run_too_big_for_memory_is_refused_with_the_estimate_and_the_fix(
        tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 2 * 10**9)
    code = main(["run.replications=23000", "run.progress=false",
                 f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0, err
    assert err.startswith("hashpivot: error: run.replications=23000: needs about ")
    assert "more than the 2.0 GB available; set run.detail=summary" in err
    assert list(tmp_path.iterdir()) == []
    # The summary alone fits: the fix the line gives works.
    cfg = sim.compose(["run.replications=23000", "run.detail=summary"])
    memory.check_memory(settings(cfg), 5, available=2 * 10**9)


@pytest.mark.parametrize("overrides, key", [
    (["run.replications=23000"], "run.replications"),
    (["run.replications=50000", "run.detail=summary"], "run.replications"),
    (["run.replications=20", "run.until_confident=0.95", "run.max_replications=23000"],
     "run.max_replications"),
])
@pytest.mark.parametrize("workers", [0, 4])
def test_a_run_too_big_for_memory_is_told_how_many_replications_fit(overrides, key, workers):
    """The line said "or run fewer replications" without a number, where the refusal of too
    many workers names the most that fit: it names the most that fit, and that many do."""
    available = 400 * 10**6 if "run.detail=summary" in overrides else 2 * 10**9
    cfg = settings(sim.compose(overrides))
    with pytest.raises(UserError) as refused:
        memory.check_memory(cfg, 5, available=available, workers=workers)
    most = int(re.search(rf"{re.escape(key)} to at most (\d+)$", str(refused.value)).group(1))
    memory.check_memory(settings(sim.compose([*overrides, f"{key}={most}"])), 5,
                        available=available, workers=workers)
    with pytest.raises(UserError):
        memory.check_memory(settings(sim.compose([*overrides, f"{key}={most + 1}"])), 5,
                            available=available, workers=workers)


def test_a_cap_that_only_run_until_confident_reads_is_not_counted_without_it():
    """run.replications=30 with run.max_replications=100000000 and no run.until_confident
    runs 30 replications, yet was refused as needing 700 GB."""
    cfg = settings(sim.compose(["run.replications=30", "run.max_replications=100000000",
                                "run.detail=summary"]))
    memory.check_memory(cfg, 2, available=10**9)
    sequential = settings(sim.compose(["run.replications=30", "run.max_replications=100000000",
                                       "run.detail=summary", "run.until_confident=0.95"]))
    with pytest.raises(UserError, match=r"^run\.max_replications=100000000: needs about 700\.0 GB"):
        memory.check_memory(sequential, 2, available=10**9)


def test_too_many_worker_processes_are_refused_naming_how_many_fit(tmp_path, capsys, monkeypatch):
    """Each forked worker adds about 80 MB: 1,000 workers were all forked, whatever the
    memory. With 2 GB available and a summary run's few MB of tables, at most
    (2 GB - tables) // 80 MB workers fit; a serial run starts none."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 2 * 10**9)
    overrides = ["run.replications=200", "run.detail=summary", "run.progress=false"]
    code = main([*overrides, "run.executor=process", "run.workers=1000", f"hydra.run.dir={tmp_path / 'run'}"])
    err = capsys.readouterr().err.strip()
    tables = memory.memory_needed_bytes(settings(sim.compose(overrides)), 6)
    fit = (2 * 10**9 - tables) // 80_000_000
    assert code == 2 and err.count("\n") == 0, err
    assert err.startswith("hashpivot: error: run.workers=1000: 1000 worker processes need about 80.0 GB")
    assert err.endswith(f"set run.workers to at most {fit}")
    assert list(tmp_path.iterdir()) == []
    cfg = settings(sim.compose([*overrides, f"run.workers={fit}"]))
    memory.check_memory(cfg, 6, available=2 * 10**9, workers=fit)
    with pytest.raises(UserError, match=f"^run.workers={fit + 1}: "):
        memory.check_memory(cfg, 6, available=2 * 10**9, workers=fit + 1)


#: What a monthly run's peak holds beside its tables, in copies (sim.memory's measurements):
#: every table about twice (joined from the chunks, then written), and the comparison's
#: grouping of one strategy's cash flows at a time, about three times that strategy's rows.
TABLE_COPIES, ONE_STRATEGY_CASH_COPIES = 2, 3


@pytest.mark.parametrize("strategies", [
    ["stay_mining"], ["stay_mining", "convert_all"],
    ["stay_mining", "convert_all", "phased", "threshold", "build_to_suit", "real_option"]])
def test_the_memory_estimate_covers_the_tables_a_run_holds_and_their_copies(compose_small,
                                                                              strategies):
    """A monthly run of one strategy was estimated at half its peak (167 kB a replication
    against 338 kB measured): the estimate was all per strategy, and the comparison's
    grouping of each strategy's cash flows in turn costs the same whatever their number.
    The estimate covers the tables a small run keeps and their copies, for 1, 2 and 6
    strategies, and is not far above them."""
    cfg = compose_small("run.replications=20", "run.horizon_years=1",
                        f"strategy=[{','.join(strategies)}]")
    result = sim.run(cfg)
    tables = {name: int(getattr(result, name).memory_usage(deep=True).sum())
              for name in ("summary", "worlds", "cashflows", "timeline", "world_monthly")}
    assert min(tables.values()) > 0
    one_strategy_cash = tables["cashflows"] / len(strategies)
    held = TABLE_COPIES * sum(tables.values()) + ONE_STRATEGY_CASH_COPIES * one_strategy_cash
    estimate = memory.memory_needed_bytes(settings(cfg), len(strategies))
    assert held <= estimate <= 1.5 * held
    summary = memory.memory_needed_bytes(settings(cfg), len(strategies), detail="summary")
    assert TABLE_COPIES * (tables["summary"] + tables["worlds"]) <= summary


def test_available_memory_is_read_from_proc_meminfo():
    available = memory.available_memory_bytes()
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    assert available is not None and 0 < available <= total * 1024


@pytest.mark.parametrize("limit, usage, inactive, room", [
    ("4000000000", 3_000_000_000, 500_000_000, 1_500_000_000),  # limit less the working set
    ("max", 3_000_000_000, 0, None),                            # v2 without a limit
    ("9223372036854771712", 10, 0, None),                       # v1 without a limit
])
def test_a_containers_memory_limit_caps_what_is_available(tmp_path, limit, usage, inactive, room):
    """A container reads its host's /proc/meminfo: a run that fit the host but not the
    container's limit passed the check and was killed for memory while it ran."""
    (tmp_path / "max").write_text(limit + "\n")
    (tmp_path / "current").write_text(f"{usage}\n")
    (tmp_path / "stat").write_text(f"anon 5\ninactive_file {inactive}\nactive_file 7\n")
    files = ((str(tmp_path / "max"), str(tmp_path / "current"), str(tmp_path / "stat"),
              "inactive_file"),)
    assert memory._cgroup_room(files) == room
    host = memory._meminfo_available()
    assert memory.available_memory_bytes(files) == (host if room is None else min(host, room))


# --- Ray: a cluster that is not there ----------------------------------------------------------
class HangingRay:
    """A stand-in for the ray module whose init waits for a cluster that never answers."""

    def __init__(self):
        self.stop = threading.Event()

    def init(self, **options):
        self.stop.wait(60)


def test_ray_init_that_hangs_times_out_in_one_line():
    ray = HangingRay()
    settings = SimpleNamespace(address="nonsense:1", timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(UserError) as refused:
        start_ray(ray, settings, {"address": "nonsense:1"})
    ray.stop.set()
    assert time.monotonic() - started < 5
    assert str(refused.value).startswith("run.ray.address='nonsense:1': Ray did not start or "
                                         "connect within run.ray.timeout_s=0.5 s")


def test_ray_init_that_fails_is_one_line():
    class FailingRay:
        def init(self, **options):
            raise ConnectionError("cannot reach\nnonsense:1")

    with pytest.raises(UserError, match=r"^run.ray.address='nonsense:1': Ray could not start or "
                                        r"connect \(ConnectionError: cannot reach nonsense:1\)$"):
        start_ray(FailingRay(), SimpleNamespace(address="nonsense:1", timeout_s=5), {})
