"""The derived tolerance: hand-checked bounds, the exact mode, and its power to reject."""

import numpy as np
import pytest
from hypothesis import given
from ml_dtypes import bfloat16

from convparity import reference as ref
from convparity.reference.case import Case
from convparity.reference.numerics import Numerics
from convparity.reference.strategies import conv_cases
from convparity.reference.testing import assert_close, assert_matches_reference
from convparity.reference.tolerance import (
    error_bound,
    expectation,
    gamma,
    is_exact,
    products_reaching,
    unit_roundoff,
)


def test_gamma_and_unit_roundoff():
    assert unit_roundoff(np.float32) == 2.0**-24
    assert unit_roundoff(np.float16) == 2.0**-11
    assert gamma(4, 2.0**-24) == pytest.approx(4 * 2**-24 / (1 - 4 * 2**-24), rel=1e-15)
    assert gamma(4096, 2.0**-11) == np.inf  # so many float16 roundings may lose every digit
    assert gamma(np.array([1, 2]), 0.25).tolist() == [1 / 3, 1.0]


def test_bound_by_hand():
    # x = [0.5, -0.25, 2.125], w = [1, 1, 1] in float32 (not integer-valued, so not exact):
    # n = 3 products, sum |x w| = 2.875, y = 2.375;
    # bound = gamma_3 * 2.875 + u * 2.375 + 2**-150 (half the smallest float32 subnormal).
    case = Case("conv", np.array([[[0.5, -0.25, 2.125]]], np.float32),
                np.array([[[1.0, 1.0, 1.0]]], np.float32))
    u = 2.0**-24
    expected = 3 * u / (1 - 3 * u) * 2.875 + u * 2.375 + 2.0**-150
    assert error_bound(case)[0, 0, 0] == pytest.approx(expected, rel=1e-15)


def test_half_precision_accumulates_in_float32_unless_told_otherwise():
    # the same sums in float16: gamma_3 at the accumulator's u, the final rounding at float16's,
    # half float16's smallest subnormal (2**-24 / 2)
    case = Case("conv", np.array([[[0.5, -0.25, 2.125]]], np.float16),
                np.array([[[1.0, 1.0, 1.0]]], np.float16))
    u_acc, u_out = 2.0**-24, 2.0**-11
    assert error_bound(case)[0, 0, 0] == pytest.approx(
        3 * u_acc / (1 - 3 * u_acc) * 2.875 + u_out * 2.375 + 2.0**-25, rel=1e-15)
    in_storage = Numerics("float16", "float16")
    assert error_bound(case, in_storage)[0, 0, 0] == pytest.approx(
        3 * u_out / (1 - 3 * u_out) * 2.875 + u_out * 2.375 + 2.0**-25, rel=1e-15)
    two_stored = Numerics("float16", "float32", storage_roundings=2)
    assert error_bound(case, two_stored)[0, 0, 0] == pytest.approx(
        error_bound(case)[0, 0, 0] + 2 * u_out / (1 - 2 * u_out) * 2.875, rel=1e-15)


def test_only_the_products_that_reach_an_output_count():
    # kernel 3, padding 1 over 2 cells: each output has one tap on the zero padding -> 2, 2;
    # a stride-2 transposed conv with kernel 2 reaches each output by one tap -> 1, 1, 1, 1
    padded = Case("conv", np.ones((1, 1, 2)), np.ones((1, 1, 3)), padding=1)
    assert products_reaching(padded).ravel().tolist() == [2.0, 2.0]
    assert products_reaching(padded.replace(bias=np.ones(1))).ravel().tolist() == [3.0, 3.0]
    spread = Case("conv_transpose", np.ones((1, 1, 2)), np.ones((1, 1, 2)), stride=2)
    assert products_reaching(spread).ravel().tolist() == [1.0, 1.0, 1.0, 1.0]


def test_integer_data_get_the_exact_result_rounded_once_at_zero_tolerance():
    small = Case("conv", np.full((1, 1, 8), 8.0, np.float16), np.full((1, 1, 8), 8.0, np.float16))
    assert is_exact(small)  # sum |x w| = 512 <= 2**11
    assert not error_bound(small).any()
    # bfloat16 (8 bits) with float32 accumulation: 200 + 57 = 257 is exact in the accumulator
    # and rounds once to 256 (a tie between 256 and 258: to the even significand)
    tie = Case("conv", np.array([[[200.0, 57.0]]]).astype(bfloat16),
               np.array([[[1.0, 1.0]]]).astype(bfloat16))
    assert is_exact(tie)
    answer, bound = expectation(tie)
    assert answer.ravel().tolist() == [256.0] and not bound.any()
    assert_matches_reference(np.array([[[256.0]]]).astype(bfloat16), tie)
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 1"):
        assert_matches_reference(np.array([[[258.0]]]).astype(bfloat16), tie)
    # accumulating in bfloat16 itself, 257 is no longer held: not exact
    assert not is_exact(tie, numerics=Numerics("bfloat16", "bfloat16"))
    big = Case("conv", np.full((1, 1, 8), 2.0**12, np.float32),
               np.full((1, 1, 8), 2.0**13, np.float32))  # sum |x w| = 2**28 > 2**24
    assert not is_exact(big) and error_bound(big).all()


@given(conv_cases(values="normal", dtype="float32"))
def test_a_result_off_by_2_to_the_minus_10_fails(case):
    # Every output element scaled by 1 + 2**-10 must be caught where it is not ~0.
    expected = case.expected()
    wrong = (expected * (1 + 2.0**-10)).astype(np.float32)
    if np.abs(expected).max() < 1e-3:
        return
    with pytest.raises(AssertionError, match="Mismatched elements"):
        assert_matches_reference(wrong, case)


@given(conv_cases(dtype="float32"))
def test_the_oracle_rounded_to_the_dtype_always_passes(case):
    assert_matches_reference(case.expected().astype(np.float32), case)


def test_shape_is_checked_first():
    case = Case("conv", np.ones((1, 1, 4), np.float32), np.ones((1, 1, 2), np.float32))
    with pytest.raises(AssertionError, match=r"attribute 'shape' do not match: \(1, 1, 2\) != "):
        assert_matches_reference(np.ones((1, 1, 2)), case)


def test_assert_close_reports_the_worst_element():
    with pytest.raises(AssertionError, match=r"(?s)Mismatched elements: 1 / 3.*index \(2,\)"):
        assert_close([1.0, 2.0, 3.5], [1.0, 2.0, 3.0], bound=0.1)
    assert_close([1.0, np.nan], [1.05, np.nan], bound=0.1)


def test_report_names_the_convention_the_result_matches():
    x = np.arange(1.0, 6.0, dtype=np.float32).reshape(1, 1, 5)
    case = Case("avg_pool", x, kernel_size=(3,), stride=(2,), padding=1)
    excluding_pad = ref.avg_pool1d(x, 3, 2, 1, count_include_pad=False).astype(np.float32)
    with pytest.raises(AssertionError, match="matches the oracle with count_include_pad=False"):
        assert_matches_reference(excluding_pad, case)
    same_at_start = ref.conv1d(x, np.ones((1, 1, 2)), stride=2, padding=[(1, 0)])
    case = Case("conv", x, np.ones((1, 1, 2), np.float32), stride=2, padding="same")
    with pytest.raises(AssertionError, match=r"padding mirrored, \(\(1, 0\),\)"):
        assert_matches_reference(same_at_start.astype(np.float32), case)
