"""The report in a real browser at a laptop's width: no sideways scrolling, and the verdict
and the first plot in the first screen.

A small real experiment writes report.html; headless Chromium opens a copy with a script
that measures the laid-out page into the DOM (the report itself has no script), dumps the
DOM, and takes a screenshot of the first screen (kept next to the copy for a person to look at).
"""

import json
import re
import shutil
import subprocess

import pytest

from sim.cli import main

WIDTH, HEIGHT = 1366, 900
QUICK = ["run.replications=6", "run.horizon_years=3", "run.progress=false",
         "run.robustness.replications=0", "strategy=[stay_mining,convert_all,phased]"]
MEASURE = """<script>
window.addEventListener("load", function () {
  var page = document.documentElement;
  var box = function (el) { var r = el.getBoundingClientRect(); return [r.top, r.bottom]; };
  var images = Array.prototype.slice.call(document.images);
  var measured = {scrollWidth: page.scrollWidth, innerWidth: window.innerWidth,
                  verdict: box(document.getElementById("verdict")),
                  firstImage: box(images[0]), imagesLoaded: images.every(function (i) {
                    return i.complete && i.naturalWidth > 0; })};
  var out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify(measured);
  document.body.appendChild(out);
});
</script>"""
CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


def chromium(*args: str) -> str:
    """Return the stdout of headless Chromium at the laptop window size."""
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}", *args],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary on PATH (Debian: apt-get "
                    "install chromium) to lay out the report in a real browser")
def test_the_first_screen_holds_the_verdict_and_the_first_plot_without_overflow(tmp_path,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_dir = tmp_path / "run"
    assert main([*QUICK, f"hydra.run.dir={run_dir}"]) == 0
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(report.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="measured">([^<]*)</pre>', dom)
    assert found, "the measuring script did not run"
    measured = json.loads(found.group(1))
    assert measured["imagesLoaded"]
    assert measured["scrollWidth"] <= measured["innerWidth"] == WIDTH  # no sideways scrolling
    assert 0 <= measured["verdict"][0] < measured["verdict"][1] <= HEIGHT
    assert measured["verdict"][1] <= measured["firstImage"][0] < HEIGHT - 200  # the plot shows
    shot = tmp_path / "first_screen.png"
    chromium(f"--screenshot={shot}", (run_dir / "report.html").as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
