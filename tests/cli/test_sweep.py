"""What a sweep left: the jobs that failed, named once the launcher has run them all."""

from sim.cli import sweep
from sim.rundir.files import write_json


def test_a_job_without_run_json_is_not_counted_as_failed(tmp_path, monkeypatch):
    """A job folder with no run.json (a launcher's process that died before writing it) ended
    the sweep in AttributeError: 'NoneType' object has no attribute 'get'."""
    (tmp_path / "0").mkdir()
    (tmp_path / "1").mkdir()
    write_json(tmp_path / "1" / "run.json", {"status": "failed", "error": "site.crews=0: bad"})
    jobs = [["run.seed=1"], ["run.seed=2"], ["run.seed=3"]]
    monkeypatch.setattr(sweep, "_LAUNCHED", {"dir": str(tmp_path), "jobs": jobs})
    assert sweep._failed_jobs_line().startswith(
        "1 of 3 jobs of the sweep failed (1); job 1 (run.seed=2): site.crews=0: bad.")
