"""Rounding once, to nearest with ties to even: against NumPy's own casts (float64 to float16 and
float32 round once) and hand-derived bfloat16 values; and the numerics a user can declare."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ml_dtypes import bfloat16

from convparity.reference.numerics import Numerics, default_numerics, round_to


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
