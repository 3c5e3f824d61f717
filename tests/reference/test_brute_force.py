"""The oracle against an independent, element-at-a-time formulation, on drawn configurations.

Integer-valued data make both sides exact, so they must agree to the last bit.
"""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from convparity.reference.strategies import (
    adaptive_pool_cases,
    conv_cases,
    conv_transpose_cases,
    pool_cases,
    signal_cases,
)
from tests.reference import brute_force

ranks = st.integers(1, 3)
small = {"values": "integers"}


def assert_same(case):
    np.testing.assert_array_equal(case.expected(), brute_force.answer(case), err_msg=repr(case))


@given(conv_cases(ranks, **small, padding_mode=st.sampled_from(
    ["zeros", "reflect", "replicate", "circular", "symmetric"])))
def test_conv(case):
    assert_same(case)


@given(conv_cases(ranks, **small, input_size=st.integers(3, 7)))
def test_conv_in_blocks_of_output_rows(case):
    """The gather bounded to one output row at a time gives the same answer."""
    from convparity.reference import conv as conv_module

    whole = conv_module.GATHER_BYTES
    conv_module.GATHER_BYTES = 1
    try:
        answer = case.replace().expected()  # a fresh case: nothing cached
    finally:
        conv_module.GATHER_BYTES = whole
    np.testing.assert_array_equal(answer, brute_force.answer(case), err_msg=repr(case))


@given(conv_transpose_cases(ranks, **small))
def test_conv_transpose(case):
    assert_same(case)


@given(pool_cases(ranks, "max", values=st.sampled_from(["integers", "normal"])))
def test_max_pool(case):
    assert_same(case)  # max is exact for any values; NaN compares equal here


@given(pool_cases(ranks, "min", values=st.sampled_from(["integers", "normal"])))
def test_min_pool(case):
    assert_same(case)  # min is exact for any values; NaN compares equal here


@given(pool_cases(ranks, "avg", **small, dilation=st.integers(1, 2),
                  divisor_override=st.none() | st.integers(1, 5)))
def test_avg_pool(case):
    # Both sides sum the same integers exactly, then divide once: bit-equal.
    assert_same(case)


@given(pool_cases(ranks, "lp", values=st.sampled_from(["integers", "normal"]),
                  dilation=st.integers(1, 2)))
def test_lp_pool(case):
    # The same powers summed in another order: within a few ulps (never bit-compared).
    np.testing.assert_allclose(case.expected(), brute_force.answer(case), rtol=1e-12,
                               atol=1e-12, err_msg=repr(case))


@given(adaptive_pool_cases(ranks, "max", values=st.sampled_from(["integers", "normal"])))
def test_adaptive_max_pool(case):
    assert_same(case)


@given(adaptive_pool_cases(ranks, "avg", **small))
def test_adaptive_avg_pool(case):
    # Integers: both sides sum exactly and divide once; the bins come from other formulas.
    assert_same(case)


@given(signal_cases(st.sampled_from(["correlate", "convolve"]), **small))
def test_signal(case):
    assert_same(case)


def test_every_op_in_the_table_names_its_brute_force():
    from convparity.reference import ops

    for entry in ops.TABLE.values():
        assert callable(getattr(brute_force, entry.brute_force or "<none>", None)), entry.name
