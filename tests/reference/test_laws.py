"""Laws the ops must obey, on drawn configurations. Integer-valued data keep both sides exact,
so every law is checked for bit equality."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from convparity import reference as ref
from convparity.reference.strategies import conv_cases, pool_cases, signal_cases

ranks = st.integers(1, 3)
exact = {"values": "integers", "dtype": "float64"}


def conv_fn(ndim):
    return getattr(ref, f"conv{ndim}d")


@given(conv_cases(ranks, **exact, bias=False, data_format="channels_first"), st.data())
def test_conv_and_conv_transpose_are_adjoint(case, data):
    # <conv(x, w), y> == <x, conv_transpose(y, w)>, with the transposed conv cropping exactly the
    # conv's padding and output_padding returning the cells of x no conv window reached.
    y_shape = case.expected().shape
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    y = rng.integers(-8, 9, size=y_shape).astype(float)
    out_padding = tuple(
        (n + lo + hi - d * (k - 1) - 1) % s
        for n, (lo, hi), k, s, d in zip(case.spatial_size, case.pads, case.kernel, case.strides,
                                        case.dilations)
    )
    xt = getattr(ref, f"conv_transpose{case.ndim}d")(
        y, case.weight, None, case.stride, case.pads, out_padding, case.groups, case.dilation
    )
    assert xt.shape == case.input.shape
    assert np.vdot(case.expected(), y) == np.vdot(case.input, xt)


@given(conv_cases(ranks, **exact, bias=False), st.integers(-3, 3), st.integers(-3, 3))
def test_conv_is_linear_in_the_input(case, a, b):
    x2 = np.flip(case.input).copy()
    combined = case.replace(input=a * case.input + b * x2).expected()
    np.testing.assert_array_equal(combined, a * case.expected() + b * case.replace(
        input=x2).expected())


@given(conv_cases(ranks, **exact, padding=0, padding_mode="zeros",
                  data_format="channels_first"))
def test_conv_is_translation_equivariant(case):
    # Dropping the first s cells of the last axis drops the first output cell there.
    s = case.strides[-1]
    if case.input.shape[-1] - s < case.dilations[-1] * (case.kernel[-1] - 1) + 1:
        return  # nothing left to compare
    shifted = case.replace(input=case.input[..., s:]).expected()
    np.testing.assert_array_equal(shifted, case.expected()[..., 1:])


@given(conv_cases(ranks, **exact, kernel_size=1, stride=1, padding=0, groups=1,
                  data_format="channels_first"))
def test_1x1_conv_is_a_channel_matmul(case):
    w = case.weight.reshape(case.weight.shape[:2])
    expected = np.einsum("oc,nc...->no...", w, case.input.astype(float))
    if case.bias is not None:
        expected += case.bias.reshape(-1, *[1] * case.ndim)
    np.testing.assert_array_equal(case.expected(), expected)


@given(conv_cases(ranks, **exact, bias=False, data_format="channels_first",
                  groups=st.integers(2, 3)))
def test_grouped_conv_is_per_group_convs_concatenated(case):
    g = case.groups
    xs = np.split(case.input, g, axis=1)
    ws = np.split(case.weight, g, axis=0)
    parts = [case.replace(input=x, weight=w, groups=1).expected() for x, w in zip(xs, ws)]
    np.testing.assert_array_equal(case.expected(), np.concatenate(parts, axis=1))


@given(st.one_of(conv_cases(ranks, **exact, data_format="channels_first"),
                 pool_cases(ranks, "max", **exact, data_format="channels_first"),
                 pool_cases(ranks, "avg", **exact, data_format="channels_first")))
def test_channels_last_is_channels_first_transposed(case):
    last = case.replace(input=np.moveaxis(case.input, 1, -1), data_format="channels_last")
    np.testing.assert_array_equal(last.expected(), np.moveaxis(case.expected(), 1, -1))


@given(pool_cases(ranks, "avg", **exact, ceil_mode=False, count_include_pad=True,
                  specials=False, data_format="channels_first"))
def test_avg_pool_is_a_depthwise_conv_with_a_uniform_kernel(case):
    channels, k = case.input.shape[1], case.kernel
    weight = np.ones((channels, 1, *k))
    summed = conv_fn(case.ndim)(case.input, weight, None, case.strides, case.padding,
                                case.dilation, channels)
    # The integer sum is exact in float64 and IEEE division rounds it once, so the average is
    # bit for bit sum / count; average * count would round twice (-29.000000000000004).
    np.testing.assert_array_equal(case.expected(), summed / np.prod(k))


@given(pool_cases(ranks, "max", **exact, specials=False), st.integers(-100, 100))
def test_max_pool_commutes_with_adding_a_constant(case, c):
    # max(x + c) = max(x) + c holds only if no padding value ever wins a window.
    shifted = case.replace(input=case.input + c).expected()
    np.testing.assert_array_equal(shifted, case.expected() + c)


@given(signal_cases(st.just("convolve"), **exact, mode=st.sampled_from(["full", "valid"]),
                    boundary="fill", fillvalue=0.0))
def test_convolve2d_is_commutative(case):
    swapped = case.replace(input=case.weight, weight=case.input).expected()
    np.testing.assert_array_equal(case.expected(), swapped)
