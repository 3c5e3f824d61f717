"""The HTML report as a person sees it: rendered by headless Chromium, the screenshot must show
the matrix (its agree cells in their colour) and the error-distribution plot."""

import os
import shutil
import subprocess
import sys

import pytest
from PIL import Image

from convparity.adapters.report import STATUS_COLOR

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    BROWSER is None and not os.environ.get("CONVPARITY_REQUIRE_BROWSER"),
    reason="chromium is not installed (.ci/run installs it)")


def rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def test_the_report_page_shows_the_matrix(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "convparity.adapters.cli", "run", "--frameworks", "scipy",
         "--examples", "10", "--report", "report.html"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    shot = tmp_path / "shot.png"
    subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         "--window-size=1200,900", f"--screenshot={shot}",
         (tmp_path / "report.html").as_uri()],
        capture_output=True, timeout=120, check=True)
    image = Image.open(shot).convert("RGB")
    colors = dict((color, count) for count, color in image.getcolors(maxcolors=1 << 20))
    # five scipy APIs agree: five green cells of at least ~130x30 pixels each
    assert colors.get(rgb(STATUS_COLOR["agree"]), 0) > 5 * 2500
    assert colors.get(rgb("#1565c0"), 0) > 500  # the histogram bars
    assert colors.get(rgb(STATUS_COLOR["fail"]), 0) == 0
