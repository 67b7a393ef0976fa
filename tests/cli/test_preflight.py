"""The pre-flight's own steps: a sweep's jobs as Hydra's basic sweeper expands them."""


def test_sweep_jobs_expand_like_hydras_basic_sweeper():
    from sim.cli.preflight import sweep_jobs

    jobs = sweep_jobs(["market/ai=base,glut", "run.seed=1", "site.crews=2,3"],
                      params={"site.crews": "1,9", "run.horizon_years": "3,4"})
    # Config params first, command-line overrides replace a key in place; last key varies fastest.
    assert jobs == [[f"site.crews={c}", f"run.horizon_years={h}", f"market/ai={a}", "run.seed=1"]
                    for c in (2, 3) for h in (3, 4) for a in ("base", "glut")]
