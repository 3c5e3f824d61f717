"""OpenCV's filter2D as a size-keeping conv: the facts the adapter rests on, each checked against
OpenCV itself with hand-worked digits (a one-hot kernel copies the cell its tap reads)."""

import numpy as np
import pytest

from convparity import reference as ref
from convparity.adapters.opencv_api import BORDERS
from convparity.reference.case import Case

cv2 = pytest.importorskip("cv2")

X = np.array([[1.0, 2.0, 3.0]], np.float32)
READS_TWO_BEFORE = np.array([[1.0, 0, 0, 0, 0]], np.float32)  # default anchor 2: x[j - 2]


@pytest.mark.parametrize("ours, theirs, digits", [
    ("zeros", "BORDER_CONSTANT", [0, 0, 1]),
    ("symmetric", "BORDER_REFLECT", [2, 1, 1]),  # OpenCV's REFLECT repeats the edge cell
    ("reflect", "BORDER_REFLECT_101", [3, 2, 1]),  # REFLECT_101 (the default) is torch's
    ("replicate", "BORDER_REPLICATE", [1, 1, 1]),
])
def test_borders_by_their_opencv_names(ours, theirs, digits):
    assert BORDERS[ours] == theirs
    got = cv2.filter2D(X, -1, READS_TWO_BEFORE, borderType=getattr(cv2, theirs))
    np.testing.assert_array_equal(got, [digits])
    case = Case("conv", X[None, None], READS_TWO_BEFORE[None, None], padding=[(0, 0), (2, 2)],
                padding_mode=ours)
    np.testing.assert_array_equal(case.expected()[0, 0, :, :], [digits])


def test_wrap_is_refused():
    with pytest.raises(cv2.error, match="BORDER_WRAP"):
        cv2.filter2D(X, -1, READS_TWO_BEFORE, borderType=cv2.BORDER_WRAP)


def test_the_anchor_is_a_point_column_first_and_defaults_to_the_kernel_centre():
    # a 3x4 kernel with tap (0, 0) hot: the default anchor (-1, -1) is (4//2, 3//2) = column 2,
    # row 1, so dst[i, j] = src[i - 1, j - 2] (an even kernel's extra cell goes before, as
    # ref.anchor_padding says: rows (1, 1), columns (2, 1)).
    x = np.arange(1.0, 13.0, dtype=np.float32).reshape(3, 4)
    k = np.zeros((3, 4), np.float32)
    k[0, 0] = 1
    shifted = [[0, 0, 0, 0], [0, 0, 1, 2], [0, 0, 5, 6]]
    got = cv2.filter2D(x, -1, k, borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(got, shifted)
    assert ref.anchor_padding((3, 4)) == ((1, 1), (2, 1))
    # anchor=(0, 2): column 0, row 2 -> dst[i, j] = src[i - 2, j]
    got = cv2.filter2D(x, -1, k, anchor=(0, 2), borderType=cv2.BORDER_CONSTANT)
    np.testing.assert_array_equal(got, [[0, 0, 0, 0], [0, 0, 0, 0], [1, 2, 3, 4]])


def test_from_50_taps_float64_goes_through_a_dft_whose_error_is_global():
    """Next to a 1e4-times brighter half, a float64 7x7 kernel (direct sums) stays within each
    output's own rounding-error bound; an 8x8 one (64 taps: OpenCV's DFT path) errs past it by
    orders of magnitude in the dark half: a DFT's error scales with the whole image's norm, not
    the window's (measured: up to 728x the bound)."""
    from convparity.adapters.registry import get_api
    from convparity.reference.testing import check_against_reference

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 1, 32, 32))
    x[..., :16, :] *= 1e4
    worst = {}
    for k in (7, 8):
        case = Case("conv", x, rng.standard_normal((1, 1, k, k)),
                    padding=ref.anchor_padding((k, k)))
        found = check_against_reference(get_api("cv2.filter2D").run(case), case)
        worst[k] = float(np.max(np.abs(found.actual - found.expected) / found.bound))
    assert worst[7] <= 1 < 10 < worst[8], worst
