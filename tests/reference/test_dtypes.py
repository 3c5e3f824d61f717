"""Every input dtype float64 holds exactly is accepted, widened, and accumulated in float64."""

import ml_dtypes
import numpy as np
import pytest

from convparity import reference as ref

DTYPES = [np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.int8, np.int32, np.uint8,
          np.int64, np.bool_]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_inputs_are_widened_exactly(dtype):
    rng = np.random.default_rng(0)
    x64 = rng.integers(0, 2, size=(1, 2, 5, 5)).astype(np.float64)
    w64 = rng.integers(0, 2, size=(3, 2, 2, 2)).astype(np.float64)
    y = ref.conv2d(x64.astype(dtype), w64.astype(dtype), stride=2, padding=1)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, ref.conv2d(x64, w64, stride=2, padding=1))


def test_the_oracle_runs_on_the_rounded_values_it_is_given():
    # 1 + 2**-12 is not a float16 (10 fraction bits): it rounds to 1. The oracle must see the
    # float16 value, not the float64 one it came from.
    x = np.full((1, 1, 4), 1 + 2**-12)
    y = ref.conv1d(x.astype(np.float16), np.ones((1, 1, 4), np.float16))
    assert y[0, 0, 0] == 4.0
    assert ref.conv1d(x, np.ones((1, 1, 4)))[0, 0, 0] == 4 + 4 * 2**-12


def test_sums_beyond_float32_precision_are_exact():
    # 2**24 + 1 is not a float32; the oracle accumulates in float64 and gets it exactly.
    x = np.array([[[2.0**24, 1.0]]], dtype=np.float32)
    assert ref.conv1d(x, np.ones((1, 1, 2), np.float32))[0, 0, 0] == 2**24 + 1


def test_every_op_returns_float64():
    x = np.ones((1, 1, 4, 4), np.float16)
    w = np.ones((1, 1, 2, 2), np.float16)
    results = [ref.conv2d(x, w), ref.conv_transpose2d(x, w), ref.max_pool2d(x, 2),
               ref.avg_pool2d(x, 2), ref.correlate2d(x[0, 0], w[0, 0]),
               ref.convolve2d(x[0, 0], w[0, 0])]
    assert [r.dtype for r in results] == [np.float64] * len(results)
