"""OpenCV's dilate/erode as pools, and the model of how they fold NaN
(convparity.adapters.opencv_morphology), against windows folded by hand and OpenCV itself."""

import numpy as np
import pytest

from convparity.adapters import opencv_morphology
from convparity.reference.case import Case

cv2 = pytest.importorskip("cv2")
NAN = np.nan


def row_case(values, dtype, kernel):
    x = np.asarray(values, dtype=dtype).reshape(1, 1, 1, -1)
    return Case("max_pool", x, kernel_size=(1, kernel), stride=1)


@pytest.mark.parametrize("dtype, expected", [
    # [1, 2, NaN, 0, 0, 0], kernel 3. float32's 4 outputs all take the vector loop (4 = the
    # half-width block, with 8 lanes or 4), folding each window in order by
    # v(a, b) = a > b ? a : b: [1, 2, NaN] -> NaN; [2, NaN, 0] -> v(NaN, 0) = 0; then 0, 0.
    ("float32", [NAN, 0, 0, 0]),
    # float64 has no vector loop: outputs in pairs sharing their inner taps, by
    # s(a, b) = a < b ? b : a: m = s(2, NaN) = 2, then s(m, 1) = 2 and s(m, 0) = 2;
    # m = s(0, 0) = 0, then s(m, NaN) = 0 and s(m, 0) = 0.
    ("float64", [2, 2, 0, 0]),
])
def test_the_model_folds_as_worked_by_hand_and_as_opencv_does(dtype, expected):
    found = row_case([1, 2, NAN, 0, 0, 0], dtype, 3)
    np.testing.assert_array_equal(opencv_morphology.opencv_extreme(found, False)[0, 0, 0],
                                  expected)
    np.testing.assert_array_equal(opencv_morphology.opencv_pool(found, False)[0, 0, 0], expected)
    assert np.isnan(found.expected()[0, 0, 0, :3]).all()  # the oracle propagates NaN


def test_the_model_is_bit_exact_on_random_nan_and_inf_images():
    rng = np.random.default_rng(7)
    values = np.array([NAN, np.inf, -np.inf, 0.0, -0.0, 1.0, 2.0, 2.0, -3.0])
    for _ in range(300):
        dtype = rng.choice(["float32", "float64"])
        x = values[rng.integers(0, values.size, (1, 2, *rng.integers(1, 10, 2)))]
        kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
        dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
        stride = tuple(int(s) for s in rng.integers(1, 3, 2))
        x = np.pad(x, [(0, 0), (0, 0)] + [(0, max(0, (k - 1) * d + 1 - n))
                                          for k, d, n in zip(kernel, dilation, x.shape[2:])])
        pooled = Case(rng.choice(["max_pool", "min_pool"]), x.astype(dtype), kernel_size=kernel,
                      stride=stride, dilation=dilation, padding=int(rng.integers(0, 2)) *
                      (min(kernel) // 2), ceil_mode=bool(rng.integers(0, 2)))
        minimum = pooled.op == "min_pool"
        np.testing.assert_array_equal(opencv_morphology.opencv_extreme(pooled, minimum),
                                      opencv_morphology.opencv_pool(pooled, minimum),
                                      err_msg=pooled.call_repr())

