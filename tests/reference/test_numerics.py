"""Rounding once, to nearest with ties to even: against NumPy's own casts (float64 to float16 and
float32 round once) and hand-derived bfloat16 values; and the numerics a user can declare."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ml_dtypes import bfloat16

from convparity.reference.case import Case
from convparity.reference.numerics import Numerics, default_numerics, round_to, tensor_float32
from convparity.reference.strategies import conv_cases, conv_transpose_cases
from convparity.reference.testing import assert_matches_reference, check_against_reference


def ties_and_neighbours(p: int, low: int, high: int):
    """Values with p + 1 significant bits (ties at p bits) and their float64 neighbours."""
    mantissa = st.integers(2**p, 2**(p + 1) - 1)
    value = st.builds(lambda m, e, s: s * m * 2.0**e, mantissa, st.integers(low, high),
                      st.sampled_from([-1.0, 1.0]))
    return value | value.map(lambda v: np.nextafter(v, 0.0))


@pytest.mark.parametrize("name, p, low, high",
                         [("float16", 11, -40, 8), ("float32", 24, -175, 110)])
@given(data=st.data())
def test_round_to_agrees_with_numpy_casts(name, p, low, high, data):
    values = data.draw(st.lists(ties_and_neighbours(p, low, high) | st.floats(-1e6, 1e6),
                                min_size=1, max_size=20))
    x = np.array(values)
    with np.errstate(over="ignore"):
        assert np.array_equal(round_to(x, name), x.astype(name).astype(np.float64))


def test_round_to_bfloat16_by_hand_where_casting_through_float32_rounds_twice():
    # 1 + 2**-8 + 2**-30: just above the tie between 1 and 1 + 2**-7 -> up. Through float32 it
    # first becomes the tie 1 + 2**-8, which then goes to even: 1.
    x = np.array([1 + 2.0**-8 + 2.0**-30, 1 + 2.0**-8, 3 * 2.0**-134, 2.0**128, -(2.0**-140)])
    assert round_to(x, "bfloat16").tolist() == [1 + 2.0**-7, 1.0, 2.0**-132, np.inf, -0.0]
    assert float(x[:1].astype(bfloat16)[0]) == 1.0  # the double rounding round_to avoids


def test_numerics_defaults_and_validation():
    assert default_numerics(np.float16) == Numerics("float16", "float32")
    assert default_numerics(bfloat16) == Numerics("bfloat16", "float32")
    assert default_numerics("float64") == Numerics("float64", "float64")
    assert "accumulating in bfloat16" in Numerics("bfloat16", "bfloat16").describe()
    with pytest.raises(TypeError, match="dtype=int32: no rounding model"):
        Numerics("int32", "float32")
    with pytest.raises(ValueError, match="storage_roundings=-1"):
        Numerics("float16", "float32", storage_roundings=-1)


def test_tfloat32_keeps_eleven_significant_bits():
    # 1 + 2**-11 is the tie between 1 and 1 + 2**-10: to even; a hair above goes up
    x = np.array([1 + 2.0**-11, 1 + 2.0**-11 + 2.0**-30, 3 + 2.0**-10, 2.0**-137])
    assert round_to(x, "tfloat32").tolist() == [1.0, 1 + 2.0**-10, 3.0, 0.0]
    assert tensor_float32("float32") == Numerics("float32", "float32", inputs="tfloat32")
    assert tensor_float32("float64") == Numerics("float64", "float64")
    assert "on inputs rounded to tfloat32" in tensor_float32("float32").describe()
    with pytest.raises(ValueError, match="storage='tfloat32'.*inputs="):
        Numerics("tfloat32", "float32")


def tf32_conv(case: Case) -> np.ndarray:
    """A simulated TF32 tensor-core conv (stride 1, no padding, one group): inputs rounded to
    tfloat32, each product exact in float32 (11 + 11 bits), summed one by one in float32."""
    x = round_to(case.input, "tfloat32").astype(np.float32)
    w = round_to(case.weight, "tfloat32").astype(np.float32)
    n, c = x.shape[:2]
    kh, kw = w.shape[2:]
    oh, ow = x.shape[2] - kh + 1, x.shape[3] - kw + 1
    y = np.zeros((n, w.shape[0], oh, ow), np.float32)
    for channel in range(c):
        for i in range(kh):
            for j in range(kw):
                taps = x[:, channel, i:i + oh, j:j + ow]
                y += taps[:, None] * w[None, :, channel, i, j, None, None]
    return y


plain_float32_convs = conv_cases(ndim=2, groups=1, stride=1, padding=0, dilation=1, bias=False,
                                 dtype="float32", values="normal", data_format="channels_first")


@given(plain_float32_convs)
def test_a_tf32_conv_meets_the_tf32_bound(case):
    assert_matches_reference(tf32_conv(case), case, numerics=tensor_float32("float32"))


def test_a_tf32_conv_fails_the_float32_bound_and_is_named():
    rng = np.random.default_rng(0)
    case = Case("conv", rng.standard_normal((1, 4, 6, 6)).astype(np.float32),
                rng.standard_normal((2, 4, 3, 3)).astype(np.float32))
    actual = tf32_conv(case)
    with pytest.raises(AssertionError, match="matches an implementation accumulating in float32 "
                                             "on inputs rounded to tfloat32"):
        assert_matches_reference(actual, case)
    # integers a tfloat32 holds: exact, at zero tolerance, in TF32 too
    exact = case.replace(input=np.round(4 * case.input), weight=np.round(4 * case.weight))
    assert_matches_reference(tf32_conv(exact), exact, numerics=tensor_float32("float32"))
    assert check_against_reference(tf32_conv(exact), exact).bound.max() == 0


def test_a_simulated_float16_accumulator_by_hand():
    from convparity.reference.simulate import accumulating_in

    # 1 + 2**-11 + 2**-11, summed left to right in float16: each step is the tie 1 + 2**-11,
    # to even: 1; the exact sum 1 + 2**-10 is a float16. The bias 2**-10 then lands exactly.
    case = Case("conv", np.array([[[1.0, 2.0**-11, 2.0**-11]]], np.float16),
                np.ones((1, 1, 3), np.float16), np.array([2.0**-10], np.float16))
    assert accumulating_in(case, "float16").ravel().tolist() == [1 + 2.0**-10]
    assert accumulating_in(case, "float32").ravel().tolist() == [1 + 2.0**-9]
    with pytest.raises(ValueError, match="case.op='max_pool'"):
        accumulating_in(Case("max_pool", np.ones((1, 1, 2)), kernel_size=2), "float16")


@given(conv_cases(ndim=1, values="integers", dtype="float64")
       | conv_transpose_cases(ndim=2, values="integers", dtype="float64"))
def test_a_simulated_accumulator_wide_enough_is_the_oracle(case):
    # integers summed in float64 are exact in any order: the split by channel and tap adds up
    from convparity.reference.simulate import accumulating_in

    assert np.array_equal(accumulating_in(case, "float64"), case.expected())
