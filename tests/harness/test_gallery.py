"""The gallery (``convparity gallery``): its PNGs decode to the pixels given, its error map
colours the positions past the bound, and in headless Chromium a padding bug shows as a red
frame around the error map, nothing inside it."""

import dataclasses
import io
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from convparity.adapters import gallery
from convparity.adapters.registry import get_api

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    BROWSER is None and not os.environ.get("CONVPARITY_REQUIRE_BROWSER"),
    reason="chromium is not installed (.ci/run installs it)")


def test_png_decodes_to_the_pixels_it_was_given():
    rng = np.random.default_rng(0)
    for pixels in (rng.integers(0, 256, (5, 7)), rng.integers(0, 256, (3, 4, 3))):
        decoded = np.asarray(Image.open(io.BytesIO(gallery.png(pixels))))
        np.testing.assert_array_equal(decoded, pixels)


def test_error_map_colours_past_within_and_bit_equal():
    mismatched = np.array([[True, False, False]])
    exact = np.array([[False, False, True]])
    colours = gallery.error_map(mismatched, exact)[0]
    assert [tuple(c) for c in colours] == [gallery.MISMATCH, gallery.WITHIN, gallery.EXACT]


def test_the_photograph_is_a_real_one_shipped_in_a_wheel():
    image = gallery.photograph(64)
    assert image.shape == (64, 64) and image.dtype == np.float32
    assert len(np.unique(image)) > 100  # a photograph, not a pattern


def replicate_padding(api):
    """``api`` with zero padding read as the edge repeated: wrong along the border only."""
    def call(case):
        return case.replace(padding=1, padding_mode="replicate").expected().astype(np.float32)

    return dataclasses.replace(api, name=f"{api.name}<edge padding>", call=call,
                               mutation="zero padding read as the edge repeated")


@needs_browser
def test_a_padding_bug_shows_as_a_red_frame_on_the_error_map(tmp_path):
    correct = get_api("scipy.signal.correlate[2d]")
    page = gallery.gallery([correct, replicate_padding(correct)], size=64, only=["sharpen"])
    assert page.count("agrees") == 1 and page.count("positions past the bound") == 1
    (tmp_path / "gallery.html").write_text(page)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         "--window-size=1000,900", f"--screenshot={shot}",
         (tmp_path / "gallery.html").as_uri()],
        capture_output=True, timeout=120, check=True)
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    red = np.all(np.abs(pixels - gallery.MISMATCH) <= 2, axis=-1)
    grey = np.all(np.abs(pixels - gallery.EXACT) <= 2, axis=-1)
    rows, cols = np.nonzero(red)
    # the broken engine's 64x64 map drawn at 2x: a 128x128 frame two pixels wide
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    assert (bottom - top + 1, right - left + 1) == (128, 128)
    assert red[top:top + 2, left:right + 1].all() and red[bottom - 1:bottom + 1,
                                                          left:right + 1].all()
    assert red[top:bottom + 1, left:left + 2].all() and red[top:bottom + 1,
                                                            right - 1:right + 1].all()
    assert not red[top + 2:bottom - 1, left + 2:right - 1].any()  # nothing inside the frame
    assert grey.sum() > 2 * 124 * 124  # both engines' maps bit-equal inside
