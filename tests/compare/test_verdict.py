"""The verdict's sentences, apart from the page around them."""

from sim.compare.load import read_run


def test_a_run_that_reached_its_cap_says_kim_nelson_had_not_stopped(tmp_path, run_factory):
    """At run.max_replications the line said "It added replications until the sequential
    Kim–Nelson procedure stopped": it had not; the cap had."""
    from sim.compare.verdict import until_confident_line

    run = read_run(run_factory(tmp_path / "run", ("stay_mining", "phased"), replications=10))
    until = dict(confidence=0.9, reached=False, best="phased", kim_nelson_best="phased",
                 kim_nelson_stage=10, replications=100, max_replications=100)
    capped = until_confident_line(run, until, "run")
    assert "NOT reached after 100 replications (cap 100)" in capped
    assert "until the sequential Kim–Nelson procedure stopped" not in capped
    assert ("It added replications up to run.max_replications, where the sequential "
            "Kim–Nelson procedure had not yet stopped") in capped
    reached = until_confident_line(run, {**until, "reached": True}, "run")
    assert "It added replications until the sequential Kim–Nelson procedure stopped" in reached


def test_a_learning_strategys_line_keeps_a_sweep_jobs_folder_apart_from_its_words():
    """A sweep's run is named "scenario 'market/ai=base', 0" (its folder a number): the line
    read "real_option in scenario 'market/ai=base', 0 converts in tranches", as if it
    converted nothing."""
    from sim.compare.verdict import policy_line

    policy = dict(rule="start_now,lsm", tranche_blocks=5, training_replications=64,
                  in_sample_usd=1e8, cross_validated_usd=9e7, start_now_usd=8e7, train_seconds=3)
    line = policy_line("real_option", policy, "scenario 'market/ai=base', 0")
    assert line.startswith("real_option (scenario 'market/ai=base', 0) converts in tranches "
                           "of 5 blocks")
    assert policy_line("real_option", policy, "run").startswith("real_option (run) converts")
