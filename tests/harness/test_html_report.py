"""The HTML report as a person sees it: rendered by headless Chromium, the screenshot must show
the matrix (its agree cells in their colour) and the error-distribution plot; a failing case's
map shows where its output is wrong."""

import base64
import dataclasses
import io
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import strategies as st
from PIL import Image

from convparity.adapters import gallery, parity, report
from convparity.adapters.registry import get_api
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
         "--ops", "correlate,convolve,conv", "--examples", "10", "--report", "report.html"],
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
    # SciPy's correlations agree (signal's and ndimage's): green cells of at least ~130x30
    # pixels each, five of them at least
    assert colors.get(rgb(STATUS_COLOR["agree"]), 0) > 5 * 2500
    assert colors.get(rgb("#1565c0"), 0) > 500  # the histogram bars
    assert colors.get(rgb(STATUS_COLOR["fail"]), 0) == 0


def end_padding_repeats_the_edge(api):
    """``api`` with the end padding of each dim read as the edge repeated instead of zeros:
    wrong in the last output row and column only."""
    def call(case):
        zeros = case.expected()
        pads = case.pads
        edge = case.replace(padding=1, padding_mode="replicate").expected()
        out = zeros.copy()
        if pads[-1][1]:
            out[..., -1] = edge[..., -1]
        if pads[-2][1]:
            out[..., -1, :] = edge[..., -1, :]
        return out.astype(case.dtype)

    return dataclasses.replace(api, name=f"{api.name}<end padding>", call=call,
                               mutation="end padding read as the edge repeated")


def test_a_failing_case_shows_where_its_output_is_wrong():
    """The shrunk failing case's map: red along the last row and column (the end padding),
    nowhere else."""
    broken = end_padding_repeats_the_edge(get_api("scipy.signal.correlate[2d]"))
    sweep = parity.sweep(broken, max_examples=50, seed=1, raise_on_failure=False,
                         kernel_size=3, padding=1, dilation=1, stride=1,
                         input_size=st.integers(4, 6), values="integers")
    assert sweep.status == parity.FAIL
    page = report.to_html(report.from_sweeps([sweep], {"examples": 50, "seed": 1}))
    data, = re.findall(r'src="data:image/png;base64,([^"]+)" alt="output positions past', page)
    pixels = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    red = np.all(pixels == gallery.MISMATCH, axis=-1)
    scale = pixels.shape[1] // len(report.row(sweep)["failing_map"][0])
    cells = red[::scale, ::scale]  # each map cell is drawn as a scale x scale block
    assert cells[-1].any() or cells[:, -1].any()  # red along the last row or column
    assert not cells[:-1, :-1].any()  # and nowhere else
