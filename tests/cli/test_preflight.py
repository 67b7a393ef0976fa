"""The pre-flight's own steps: a sweep's jobs as Hydra's basic sweeper expands them."""


def test_sweep_jobs_expand_like_hydras_basic_sweeper():
    from sim.cli.preflight import sweep_jobs

    jobs = sweep_jobs(["market/ai=base,glut", "run.seed=1", "site.crews=2,3"],
                      params={"site.crews": "1,9", "run.horizon_years": "3,4"})
    # Config params first, command-line overrides replace a key in place; last key varies fastest.
    assert jobs == [[f"site.crews={c}", f"run.horizon_years={h}", f"market/ai={a}", "run.seed=1"]
                    for c in (2, 3) for h in (3, 4) for a in ("base", "glut")]


def test_a_sweep_whose_jobs_are_not_in_numbered_folders_is_refused(tmp_path, capsys,
                                                                   monkeypatch):
    """hydra.sweep.subdir=s${run.seed} ran every job, then ended in a traceback (the sweep's end
    read folders 0, 1, ...); a fixed subdir put the second job into the first one's folder."""
    from sim.cli import main

    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "sweep"
    for subdir in ("same", "s${run.seed}"):
        code = main(["-m", "run.replications=2", "run.progress=false", "strategy=stay_mining",
                     "run.seed=1,2", f"hydra.sweep.subdir={subdir}", f"hydra.sweep.dir={sweep}"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"hashpivot: error: hydra.sweep.subdir={subdir}: must name each "
                              f"job's folder by its number, as shipped (${{hydra.job.num}}: job 0 "
                              f"in {sweep / '0'}, not {sweep / subdir.replace('${run.seed}', '1')})")
        assert not sweep.exists()


def test_a_cap_that_nothing_reads_is_noted_before_the_run(capsys):
    """run.replications=30 run.max_replications=300 ran 30 without a word, while a cap below
    run.replications is refused, as if the key mattered (it caps run.until_confident alone)."""
    import sim
    from sim.cli.preflight import check_job

    check_job(sim.compose(["run.replications=30", "run.max_replications=3000",
                           "strategy=stay_mining"]))
    assert capsys.readouterr().err == (
        "hashpivot: note: run.max_replications=3,000 caps run.until_confident alone, which is "
        "not set: this run runs run.replications=30\n")
    for read in (["run.until_confident=0.95"], ["run.max_replications=null"]):
        check_job(sim.compose(["run.replications=30", "run.max_replications=3000",
                               "strategy=stay_mining", *read]))
        assert capsys.readouterr().err == ""
