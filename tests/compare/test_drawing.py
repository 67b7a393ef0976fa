"""The report's plots drawn side by side in forked workers: the same files, the same errors."""

import multiprocessing

import pytest

from sim.compare import compare_runs
from sim.compare import drawing as drawing_module
from sim.compare.drawing import Drawing
from sim.errors import UserError

forks = pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                           reason="the plots are drawn side by side only where processes fork")


def _two_scenarios(tmp_path, run_factory, financing_factory):
    """Return two runs of different scenarios (one financed): a report of 16 plots."""
    return [financing_factory(run_factory(tmp_path / "glut", market=["market/ai=glut"])),
            run_factory(tmp_path / "boom", seed=2, market=["market/ai=boom"])]


def _drawn(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


@forks
def test_plots_drawn_side_by_side_are_byte_for_byte_those_drawn_here(
        tmp_path, run_factory, financing_factory, monkeypatch):
    runs = _two_scenarios(tmp_path, run_factory, financing_factory)
    workers = []
    real_finish = Drawing.finish

    def finish(self):
        workers.append(min(self.workers, len(self.queued)))
        real_finish(self)

    monkeypatch.setattr(Drawing, "finish", finish)
    monkeypatch.setattr(drawing_module, "default_workers", lambda: 2)
    compare_runs(runs, out=tmp_path / "side_by_side")
    monkeypatch.setattr(drawing_module, "default_workers", lambda: 1)
    compare_runs(runs, out=tmp_path / "here")
    assert workers == [2, 1]
    side_by_side, here = _drawn(tmp_path / "side_by_side" / "plots"), _drawn(tmp_path / "here" / "plots")
    assert side_by_side == here
    # each scenario's figure is its own (a figure queued in a loop binds its scenario's data)
    assert {"ecdf_market_ai_glut.png", "ecdf_market_ai_boom.png", "dscr_market_ai_glut.png",
            "world_1_market_ai_glut.png", "regret.png"} <= set(here)
    assert here["ecdf_market_ai_glut.png"] != here["ecdf_market_ai_boom.png"]
    assert ((tmp_path / "side_by_side" / "report.html").read_text()
            == (tmp_path / "here" / "report.html").read_text())
    assert not list((tmp_path / "side_by_side" / "plots").glob(".tmp-*"))


@forks
def test_a_plot_that_fails_in_a_worker_fails_the_report_with_its_own_error(tmp_path):
    def fails(path):
        raise UserError(f"{path.name}: cannot be drawn")

    drawing = Drawing(workers=2)
    drawn = [drawing.add(tmp_path / "good.png", lambda path: path.write_bytes(b"png")),
             drawing.add(tmp_path / "bad.png", fails)]
    assert drawn == [tmp_path / "good.png", tmp_path / "bad.png"]  # queued: the paths to be
    with pytest.raises(UserError, match="bad.png: cannot be drawn"):
        drawing.finish()
    assert drawing_module._QUEUED == [] and drawing.queued == []


@forks
def test_a_worker_that_dies_is_named_in_one_line_and_its_half_plot_removed(tmp_path):
    import os

    from sim.rundir.files import temporary

    def dies_half_way(path):
        temporary(path).write_bytes(b"half a png")
        os._exit(9)

    drawing = Drawing(workers=2)
    drawing.add(tmp_path / "a.png", dies_half_way)
    drawing.add(tmp_path / "b.png", lambda path: path.write_bytes(b"png"))
    with pytest.raises(UserError, match="a process drawing the report's plots died"):
        drawing.finish()
    assert not (tmp_path / "a.png").exists() and not list(tmp_path.glob(".tmp-*"))


def test_without_a_folder_the_figure_is_drawn_at_once(tmp_path):
    drawing, made = Drawing(workers=2), []
    assert drawing.add(None, lambda path: made.append(path) or "figure") == "figure"
    assert made == [None] and drawing.queued == []
    drawing.add(tmp_path / "a.png", lambda path: made.append(path))
    assert made == [None]  # queued, not drawn
    drawing.finish()
    assert made == [None, tmp_path / "a.png"]  # one plot: drawn here, not in a worker
