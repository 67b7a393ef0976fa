"""scripts/bench.py's findings: the ratios it prints from measurements (no timing here)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _m(reps: int, seconds: float) -> dict:
    return dict(strategy_replications=reps, run_s=seconds, main_mb=100.0, worker_mb=0.0)


def test_speed_ups_and_the_share_of_the_ceiling_reached():
    """Serial 60 s, process x2 40 s and x4 20 s: speed-ups 1.5 and 3.0. One serial run does 100
    strategy-replications a second, two side by side 200 (x2) and four 320 (x3.2): the
    executor reaches 1.5/2 = 75% and 3.0/3.2 = 94% of what the machine gives at as many."""
    results = {
        ("executors", "serial"): _m(6000, 60.0),
        ("executors", "process ×2"): _m(6000, 40.0),   # x1.5
        ("executors", "process ×4"): _m(6000, 20.0),   # x3.0
        ("ceiling", "1 serial run side by side"): _m(1000, 10.0),   # 100 a second
        ("ceiling", "2 serial runs side by side"): _m(2000, 10.0),  # 200: x2
        ("ceiling", "4 serial runs side by side"): _m(4000, 12.5),  # 320: x3.2
    }
    lines = _bench().findings(results, {}, None)
    assert "process against serial (speed-up; targets: x1.8 at 2 workers, x12 at 16): x1.50 at 2, x3.00 at 4" in lines
    assert "ceiling (n serial runs side by side, no executor; throughput against one run): x2.00 at 2, x3.20 at 4" in lines
    assert ("process against the ceiling (its speed-up over the ceiling's at as many): 75% at 2, 94% at 4"
            in lines)


def test_no_share_of_the_ceiling_without_a_ceiling_at_that_count():
    results = {
        ("executors", "serial"): _m(6000, 60.0),
        ("executors", "process ×16"): _m(6000, 5.0),
        ("ceiling", "1 serial run side by side"): _m(1000, 10.0),
        ("ceiling", "2 serial runs side by side"): _m(2000, 10.0),
    }
    lines = _bench().findings(results, {}, None)
    assert not any("against the ceiling" in line for line in lines)
