"""SciPy's maximum/minimum filters (and OpenCV's dilate/erode) as pools, and the model of how
SciPy's fold NaN (convparity.adapters.ndimage_extreme), against windows folded by hand."""

import numpy as np
import pytest

from convparity.adapters import ndimage_extreme, opencv_morphology
from convparity.reference.case import Case

NAN = np.nan


def case(x, op="max_pool", **arguments):
    x = np.asarray(x, dtype=np.float64)
    return Case(op, x.reshape(1, 1, *x.shape), **arguments)


@pytest.mark.parametrize("x, op, arguments, expected", [
    # Harter's ring, max, kernel 3: [1, NaN, 3] -> 3 (3 >= 1 replaces the ring), [NaN, 3, 0] -> 3
    ([1, NAN, 3, 0], "max_pool", dict(kernel_size=3, stride=1), [3, 3]),
    # [NaN, 3]: 3 >= NaN is false, NaN <= 3 is false: 3 joins behind the NaN, which comes out
    ([NAN, 3, 1], "max_pool", dict(kernel_size=2, stride=1), [NAN, 3]),
    # min mirrors it: [2, NaN, 0] -> 0, [NaN, 0, 5] -> 0, [NaN, 5]... -> NaN first
    ([2, NAN, 0, 5], "min_pool", dict(kernel_size=3, stride=1), [0, 0]),
    # a dilated footprint: the first tap, then strictly better: [NaN, _, 2] -> NaN, [1, _, NaN] -> 1
    ([NAN, 1, 2, NAN], "max_pool", dict(kernel_size=2, stride=1, dilation=2), [NAN, 1]),
    # 2-D by a size: down the columns first ([1, 3] -> 3, [NaN, 0] -> NaN; [3, -inf] -> 3,
    # [0, -inf] -> 0), then along the rows ([3, NaN] -> 3, [3, 0] -> 3): the oracle's first
    # window holds the NaN and gives NaN
    ([[1, NAN], [3, 0]], "max_pool", dict(kernel_size=2, stride=1, padding=((0, 1), (0, 0))),
     [[3], [3]]),
])
def test_the_model_folds_as_worked_by_hand_and_as_scipy_does(x, op, arguments, expected):
    found = case(x, op, **arguments)
    minimum = op == "min_pool"
    model = ndimage_extreme.ndimage_extreme(found, minimum)[0, 0]
    np.testing.assert_array_equal(model, expected)
    np.testing.assert_array_equal(ndimage_extreme.scipy_pool(found, minimum)[0, 0], expected)


@pytest.mark.parametrize("engine", ["scipy", "cv2"])
def test_without_nan_the_filters_pool_as_the_oracle(engine):
    """SciPy's maximum/minimum filters and OpenCV's dilate/erode, as the adapters call them."""
    pytest.importorskip(engine)
    pool = ndimage_extreme.scipy_pool if engine == "scipy" else opencv_morphology.opencv_pool
    rng = np.random.default_rng(0)
    x = rng.integers(-5, 5, size=(2, 3, 7, 6)).astype(np.float64)
    for op in ("max_pool", "min_pool"):
        pooled = Case(op, x, kernel_size=(3, 2), stride=(2, 1), padding=1, dilation=(1, 2),
                      ceil_mode=True)
        np.testing.assert_array_equal(
            pool(pooled, op == "min_pool"), pooled.expected())
