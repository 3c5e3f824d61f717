"""ONNX Runtime's float32 max pool as MLAS folds it (convparity.adapters.mlas_pool), against
hand-folded windows: keep(m, x) = m if m > x else x, take(m, x) = x if m < x else m."""

import numpy as np
import pytest

from convparity.adapters import mlas_pool
from convparity.reference.case import Case
from convparity.reference.pooling import pool_geometry

NAN, LOWEST = np.nan, mlas_pool.LOWEST


def pool(x, **arguments):
    x = np.asarray(x, dtype=np.float32)
    case = Case("max_pool", x.reshape(1, 1, *x.shape), **arguments)
    return mlas_pool.mlas_max_pool(case)[0, 0].tolist()


def same(found, expected):
    return np.array_equal(np.asarray(found), np.asarray(expected), equal_nan=True)


@pytest.mark.parametrize("size, arguments, expected", [
    ((3, 3), dict(kernel_size=3, stride=1), "global"),
    ((3, 3), dict(kernel_size=2, stride=1), "vector"),
    ((3, 3), dict(kernel_size=2, stride=(1, 3)), "generic"),  # last stride over 2
    ((5,), dict(kernel_size=2, stride=1), "generic"),  # 1-D
    ((3, 40), dict(kernel_size=(1, 33), stride=1), "generic"),  # a kernel dim over 32
])
def test_the_kernel_is_chosen_as_mlas_chooses(size, arguments, expected):
    geometry = pool_geometry(size, arguments["kernel_size"], arguments["stride"], 0, 1, False)
    assert mlas_pool.kernel(geometry) == expected


def test_the_vector_kernel_folds_columns_then_rows():
    # a 3x1 input, kernel 2, padding 1: the one column (a scalar tail: take, from its first
    # row) over rows [x0], [x0, x1], [x1, x2], [x2] gives 1, 1, take(NaN, 2) = NaN, 2; along
    # the row, keep from the window's first cell: [pad, c] -> c, [c, pad] -> keep(c, lowest)
    assert same(pool([[1], [NAN], [2]], kernel_size=2, stride=1, padding=1),
                [[1, 1], [1, 1], [NAN, LOWEST], [2, 2]])


def test_whole_vector_columns_keep_a_later_number_over_nan():
    # width 4: all four columns are one vector, folded with keep. Column 0 over [0, NaN]:
    # keep(0, NaN) = NaN, column 1 keep(-4, -7) = -4; along the row keep(NaN, -4) = -4.
    # Over [NaN, 0]: keep(NaN, 0) = 0, column 1 -4; keep(0, -4) = 0
    top, bottom = [0, -4, 1, 1], [NAN, -7, 1, 1]
    assert pool([top, bottom], kernel_size=2, stride=1)[0][0] == -4.0
    assert pool([bottom, top], kernel_size=2, stride=1)[0][0] == 0.0


def test_the_3d_vector_kernel_folds_columns_from_the_lowest_value():
    # 1x2x1: the column folds take from lowest over [NaN, 5] -> 5 (NaN never taken), [NaN, NaN]
    # -> lowest; then keep along the row from the first cell
    assert pool([[[NAN], [5]]], kernel_size=(1, 2, 1), stride=1) == [[[5.0]]]
    assert pool([[[NAN], [NAN]]], kernel_size=(1, 2, 1), stride=1) == [[[LOWEST]]]


def test_the_generic_kernel_takes_from_the_lowest_value():
    # 1-D: take never takes NaN, and -inf is not greater than the lowest value
    assert pool([NAN, 3, -np.inf, NAN, -np.inf], kernel_size=2, stride=2,
                ceil_mode=True) == [3.0, LOWEST, LOWEST]


def test_the_global_kernel_keeps_four_lanes_then_takes_the_tail():
    # 5 cells: lanes [NaN, 1, 2, 0] keep from lowest -> [NaN, 1, 2, 0]; keep(keep(NaN, 2),
    # keep(1, 0)) = keep(2, 1) = 2; then take(2, 9) = 9
    assert pool([NAN, 1, 2, 0, 9], kernel_size=5, stride=1) == [9.0]
    # lanes [3, NaN, 1, 1]: keep(keep(3, 1), keep(NaN, 1)) = keep(3, 1) = 3; take(3, NaN) = 3
    assert pool([3, NAN, 1, 1, NAN], kernel_size=5, stride=1) == [3.0]


def test_dilated_windows_are_not_mlas_s():
    with pytest.raises(ValueError, match="dilation"):
        pool([1, 2, 3], kernel_size=2, dilation=2)
