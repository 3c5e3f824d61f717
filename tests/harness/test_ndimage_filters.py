"""scipy.ndimage's correlate/convolve as size-keeping convs: the facts the adapter rests on,
each checked against SciPy itself with hand-worked digits (a one-hot kernel copies the cell
its tap reads, so the output spells out where each output's window sits)."""

import numpy as np
import pytest

from convparity import reference as ref
from convparity.adapters.scipy_api import NDIMAGE_MODES, filter_by
from convparity.reference.case import Case

ndimage = pytest.importorskip("scipy.ndimage")

X = np.array([1.0, 2.0, 3.0])


def oracle_1d(x, kernel, pads, mode):
    return ref.conv1d(x[None, None], np.asarray(kernel, float)[None, None], padding=[pads],
                      padding_mode=mode)[0, 0]


@pytest.mark.parametrize("ours, theirs, digits", [
    # a 5-tap kernel [1, 0, 0, 0, 0] at origin 0 reads x[i - 2]: the two cells before X, then X[0]
    ("zeros", "constant", [0, 0, 1]),
    ("symmetric", "reflect", [2, 1, 1]),  # ndimage's reflect repeats the edge cell
    ("reflect", "mirror", [3, 2, 1]),  # ndimage's mirror is torch's reflect
    ("replicate", "nearest", [1, 1, 1]),
    ("circular", "wrap", [2, 3, 1]),
])
def test_padding_modes_by_their_ndimage_names(ours, theirs, digits):
    assert NDIMAGE_MODES[ours] == theirs
    one_hot = [1.0, 0, 0, 0, 0]
    np.testing.assert_array_equal(ndimage.correlate(X, one_hot, mode=theirs), digits)
    np.testing.assert_array_equal(oracle_1d(X, one_hot, (2, 2), ours), digits)


def test_an_even_kernel_at_origin_0_is_not_same_padding():
    # k = 4, tap 0 hot: ndimage puts 2 cells before (reads x[i - 2]), torch/TF 'same' puts 1
    # (reads x[i - 1]); ndimage's origin -1 is 'same'.
    x, one_hot = np.arange(5.0), [1.0, 0, 0, 0]
    np.testing.assert_array_equal(ndimage.correlate(x, one_hot, mode="constant"),
                                  [0, 0, 0, 1, 2])
    np.testing.assert_array_equal(ref.conv1d(x[None, None], np.array([[one_hot]]),
                                             padding="same")[0, 0], [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(ndimage.correlate(x, one_hot, mode="constant", origin=-1),
                                  [0, 0, 1, 2, 3])


def test_convolve_flips_the_kernel_and_mirrors_the_origin():
    # convolve(x, w) is correlate(x, w[::-1]) with the origin mirrored, less one for an even
    # kernel: w = [1, 0, 0, 0] becomes [0, 0, 0, 1] at origin -1, whose tap 3 reads
    # x[i + 3 - (2 - 1)] = x[i + 2].
    x = np.arange(5.0)
    np.testing.assert_array_equal(ndimage.convolve(x, [1.0, 0, 0, 0], mode="constant"),
                                  [2, 3, 4, 0, 0])
    # odd: [1, 0, 0] becomes [0, 0, 1] at origin 0, tap 2 reads x[i + 1]
    np.testing.assert_array_equal(ndimage.convolve(x, [1.0, 0, 0], mode="constant"),
                                  [1, 2, 3, 4, 0])


@pytest.mark.parametrize("name", ["correlate", "convolve"])
@pytest.mark.parametrize("mode", sorted(NDIMAGE_MODES))
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_every_placement_through_the_adapter(name, mode, k):
    """Every size-keeping placement (b cells before, k - 1 - b after) of every tap: the adapter's
    ndimage call copies the cell the oracle's padded input holds there."""
    x = np.arange(1.0, 7.0)
    for before in range(k):
        for hot in range(k):
            w = np.zeros(k)
            w[hot] = 1
            case = Case("conv", x[None, None], w[None, None], padding=[(before, k - 1 - before)],
                        padding_mode=mode)
            got = filter_by(name)(case)[0, 0]
            copied = np.pad(x, (before, k - 1 - before),
                            mode=ref_np_mode(mode))[hot:hot + x.size]
            np.testing.assert_array_equal(got, copied, err_msg=f"b={before} tap {hot}")
            np.testing.assert_array_equal(case.expected()[0, 0], copied)


def ref_np_mode(mode: str) -> str:
    """NumPy's name for each mode (the docs of np.pad), written out here independently."""
    return {"zeros": "constant", "symmetric": "symmetric", "reflect": "reflect",
            "replicate": "edge", "circular": "wrap"}[mode]
