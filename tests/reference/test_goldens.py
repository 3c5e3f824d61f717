"""Hand-checked answers. Each expected array is worked out in the comment above it, not copied
from the code under test. The kernels are the seed tutorials' (sharpen, blur, outline)."""

import math

import numpy as np
import pytest

from convparity import reference as ref

SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]])
BLUR = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
OUTLINE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])

# A linear ramp x[i, j] = 4*i + j.
RAMP = np.arange(16.0).reshape(1, 1, 4, 4)


@pytest.mark.parametrize("kernel", [SHARPEN, BLUR], ids=["sharpen", "blur"])
def test_sharpen_and_blur_keep_a_linear_ramp(kernel):
    # Both kernels sum to 1 and are symmetric, so on a linear function they return the centre
    # cell: the valid 2x2 output is the inner block [[5, 6], [9, 10]].
    y = ref.conv2d(RAMP, kernel[None, None])
    np.testing.assert_array_equal(y[0, 0], [[5, 6], [9, 10]])


def test_outline_with_zero_padding_sees_only_the_border():
    # outline = 9*x[i,j] - (sum of the 3x3 block), zero outside. Inside the ramp it is 0; e.g.
    # corner (0,0): 0 - (0+1+4+5) = -10, (0,3): 27 - (2+3+6+7) = 9, (3,3): 135 - (10+11+14+15) = 85.
    expected = [[-10, -9, -6, 9],
                [9, 0, 0, 24],
                [21, 0, 0, 36],
                [66, 51, 54, 85]]
    y = ref.conv2d(RAMP, OUTLINE[None, None], padding=1)
    np.testing.assert_array_equal(y[0, 0], expected)


def test_seed_volume_5x5x3_padding_1_stride_2():
    # The seed's set-up: a 5x5x3 volume (channels_last), edge-detection (outline) filter on every
    # channel, zero-padding P=1, stride S=2 -> 3x3. Channel c holds the constant c+1, so a window
    # gives sum_c (c+1) * (8 - in-image neighbours): corners have 3 neighbours (5 per unit,
    # 5*(1+2+3) = 30), edge midpoints 5 (3 per unit, 18), the centre 8 (0).
    volume = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (5, 5, 3))
    weight = np.broadcast_to(OUTLINE, (1, 3, 3, 3))
    y = ref.conv2d(volume, weight, stride=2, padding=1, data_format="channels_last")
    np.testing.assert_array_equal(y[..., 0], [[30, 18, 30], [18, 0, 18], [30, 18, 30]])


def test_arange_with_a_ones_kernel_sums_each_window():
    x = np.arange(6.0).reshape(1, 1, 6)
    # stride 1: 0+1+2, 1+2+3, 2+3+4, 3+4+5
    np.testing.assert_array_equal(ref.conv1d(x, np.ones((1, 1, 3)))[0, 0], [3, 6, 9, 12])
    # padding 1, stride 2 over [0, 0,1,2,3,4,5, 0]: windows at 0, 2, 4 -> 0+0+1, 1+2+3, 3+4+5
    np.testing.assert_array_equal(
        ref.conv1d(x, np.ones((1, 1, 3)), stride=2, padding=1)[0, 0], [1, 6, 12]
    )


def test_impulse_shows_which_taps_fire():
    # x = e_3 (length 7), w = [1, 2, 4] = 2**t, stride 2, padding 1, dilation 2. Output i reads
    # padded cells 2i, 2i+2, 2i+4; the impulse sits at padded cell 4, so tap t fires where
    # 2i + 2t = 4: i=0 -> t=2 (4), i=1 -> t=1 (2), i=2 -> t=0 (1).
    x = np.eye(7)[3].reshape(1, 1, 7)
    w = (2.0 ** np.arange(3)).reshape(1, 1, 3)
    np.testing.assert_array_equal(ref.conv1d(x, w, stride=2, padding=1, dilation=2)[0, 0],
                                  [4, 2, 1])


def test_impulse_2d_asymmetric_padding():
    # 3x3 impulse at (1,1), w[a, b] = 2**(3a + b) (2x3 kernel), padding ((0, 1), (2, 0)).
    # Output (i, j) reads padded (i + a, j + b); the impulse is at padded (1, 3), so tap (a, b)
    # fires at (1 - a, 3 - b): output shape (3, 3); (1,1) <- tap (0,2) = 4, (1,2) <- (0,1) = 2,
    # (0,1) <- (1,2) = 32, (0,2) <- (1,1) = 16; out-of-range positions stay 0.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1
    w = (2.0 ** np.arange(6)).reshape(1, 1, 2, 3)
    y = ref.conv2d(x, w, padding=((0, 1), (2, 0)))
    np.testing.assert_array_equal(y[0, 0], [[0, 32, 16], [0, 4, 2], [0, 0, 0]])


def test_same_padding_puts_the_odd_extra_at_the_end():
    # n=4, k=2, s=2: ceil(4/2) = 2 outputs, total = max(1*2 + 2 - 4, 0) = 0 -> no padding.
    # n=5, k=2, s=2: 3 outputs, total = max(2*2 + 2 - 5, 0) = 1 -> (0, 1):
    # windows [0,1] [2,3] [4,pad]
    x = np.arange(1.0, 6.0).reshape(1, 1, 5)
    y = ref.conv1d(x, np.ones((1, 1, 2)), stride=2, padding="same")
    np.testing.assert_array_equal(y[0, 0], [3, 7, 5])
    # n=4, k=3, s=1 (torch's 'same'): total 2 -> (1, 1); n=4, k=4: total 3 -> (1, 2)
    x = np.arange(1.0, 5.0).reshape(1, 1, 4)
    np.testing.assert_array_equal(ref.conv1d(x, np.ones((1, 1, 4)), padding="same")[0, 0],
                                  [6, 10, 9, 7])  # [0,1,2,3], [1,2,3,4], [2,3,4,0], [3,4,0,0]


def test_conv_transpose_scatters_the_kernel():
    # x = [1, 2], w = [1, 10, 100], stride 2: x[0] covers cells 0-2 with 1,10,100, x[1] covers
    # 2-4 with 2,20,200 -> full = [1, 10, 102, 20, 200].
    x = np.array([[[1.0, 2.0]]])
    w = np.array([[[1.0, 10.0, 100.0]]])
    np.testing.assert_array_equal(ref.conv_transpose1d(x, w, stride=2)[0, 0], [1, 10, 102, 20, 200])
    # padding 1 crops one cell at each end; output_padding 1 gives back one at the end.
    np.testing.assert_array_equal(ref.conv_transpose1d(x, w, stride=2, padding=1)[0, 0],
                                  [10, 102, 20])
    np.testing.assert_array_equal(
        ref.conv_transpose1d(x, w, stride=2, padding=1, output_padding=1)[0, 0], [10, 102, 20, 200]
    )
    # asymmetric crop (2, 0): [102, 20, 200]
    np.testing.assert_array_equal(ref.conv_transpose1d(x, w, stride=2, padding=[(2, 0)])[0, 0],
                                  [102, 20, 200])


def test_conv_transpose_groups_with_two_channels_per_group():
    # 4 input channels, groups=2, 1 output channel per group; input channel c holds the value
    # c+1 at its single cell and every kernel is [1, 1]. Group 0 sums channels 0,1 (1+2 = 3),
    # group 1 channels 2,3 (3+4 = 7): output [[3, 3], [7, 7]].
    x = np.arange(1.0, 5.0).reshape(1, 4, 1)
    y = ref.conv_transpose1d(x, np.ones((4, 1, 2)), groups=2)
    np.testing.assert_array_equal(y[0], [[3, 3], [7, 7]])


def test_max_pool_ceil_mode_and_nan():
    x = np.array([[[1.0, 5.0, 2.0, 7.0, 3.0]]])
    # windows [1,5] [2,7] and, in ceil mode only, the partial [3]
    np.testing.assert_array_equal(ref.max_pool1d(x, 2)[0, 0], [5, 7])
    np.testing.assert_array_equal(ref.max_pool1d(x, 2, ceil_mode=True)[0, 0], [5, 7, 3])
    # NaN propagates; -inf padding never wins over real values
    y = ref.max_pool1d(np.array([[[1.0, np.nan, -3.0, -4.0]]]), 2, padding=1)
    np.testing.assert_array_equal(y[0, 0], [1, np.nan, -4])


def test_min_pool_by_hand():
    # the seed tutorial's min pooling: 2x2 windows, stride 2 over a 4x4 image
    x = np.array([[9.0, 3, 4, 8], [2, 7, 6, 5], [1, 0, 8, 8], [4, 6, 2, 9]])[None, None]
    np.testing.assert_array_equal(ref.min_pool2d(x, 2)[0, 0], [[2, 4], [0, 2]])
    # NaN propagates, +inf padding never wins; ceil mode keeps the partial window [3]
    y = ref.min_pool1d(np.array([[[1.0, np.nan, -3.0, 4.0, 3.0]]]), 2, ceil_mode=True)
    np.testing.assert_array_equal(y[0, 0], [np.nan, -3, 3])
    np.testing.assert_array_equal(ref.min_pool1d(np.array([[[5.0, 6.0]]]), 2, padding=1)[0, 0],
                                  [5, 6])
    # indices: the first minimum (ties), flat into the plane; the NaN's own where NaN wins
    _, where = ref.min_pool1d(np.array([[[2.0, 1, 1, np.nan, 0]]]), 3, 1, return_indices=True)
    np.testing.assert_array_equal(where[0, 0], [1, 3, 3])


def test_adaptive_pools_by_hand():
    # 5 cells into 3 bins [floor(i*5/3), ceil((i+1)*5/3)): [0, 2), [1, 4), [3, 5), overlapping
    x = np.array([[[1.0, 2, 3, 4, 5]]])
    np.testing.assert_array_equal(ref.adaptive_avg_pool1d(x, 3)[0, 0], [1.5, 3, 4.5])
    np.testing.assert_array_equal(ref.adaptive_max_pool1d(x, 3)[0, 0], [2, 4, 5])
    # the first maximum of a bin; NaN propagates and its index wins
    values, where = ref.adaptive_max_pool1d(np.array([[[1.0, 3, 3, np.nan, 0]]]), 2,
                                            return_indices=True)
    np.testing.assert_array_equal(values[0, 0], [3, np.nan])  # bins [0, 3), [2, 5)
    np.testing.assert_array_equal(where[0, 0], [1, 3])
    # 2-D: None keeps a dim; global pooling is output size 1; a box averages rows x columns
    y = np.arange(12.0).reshape(1, 1, 3, 4)
    np.testing.assert_array_equal(ref.adaptive_avg_pool2d(y, (1, None))[0, 0], [[4, 5, 6, 7]])
    np.testing.assert_array_equal(ref.adaptive_avg_pool2d(y, 1)[0, 0], [[5.5]])
    np.testing.assert_array_equal(ref.adaptive_max_pool2d(y, (2, 3))[0, 0],
                                  [[5, 6, 7], [9, 10, 11]])  # rows [0, 2), [1, 3)


def test_lp_pools_by_hand():
    # absolute (ONNX): sqrt(3^2 + 4^2) = 5, and the ceil-mode overhang holds 5 alone: 5
    x = np.array([[[3.0, 4, 5]]])
    np.testing.assert_allclose(ref.lp_pool1d(x, 2, 2, ceil_mode=True)[0, 0], [5, 5])
    np.testing.assert_array_equal(ref.lp_pool1d(np.array([[[-1.0, 2, -3]]]), 1, 3)[0, 0], [6])
    # signed (torch): p=1 a signed sum; p=3 the cube root of 7, NaN where the sum is negative
    signed = {"convention": "signed"}
    np.testing.assert_array_equal(ref.lp_pool1d(np.array([[[-5.0, 1]]]), 1, 2, **signed)[0, 0],
                                  [-4])
    y = ref.lp_pool1d(np.array([[[-1.0, 2, -3, 2]]]), 3, 2, **signed)[0, 0]
    np.testing.assert_allclose(y[0], 7 ** (1 / 3))
    assert np.isnan(y[1])  # -27 + 8 < 0
    # p = inf: the largest |x|; padding adds nothing
    np.testing.assert_array_equal(ref.lp_pool1d(np.array([[[-5.0, 1, -2, -3]]]), math.inf,
                                                2)[0, 0], [5, 3])
    np.testing.assert_allclose(ref.lp_pool1d(np.array([[[3.0, 4]]]), 2, 2, 1, padding=1)[0, 0],
                               [3, 5, 4])


def test_avg_pool_counts():
    x = np.array([[[1.0, 5.0, 2.0, 7.0, 3.0]]])
    # k=3, s=2, padding 1 over [0, 1,5,2,7,3, 0]: sums 6, 14, 10
    np.testing.assert_allclose(ref.avg_pool1d(x, 3, 2, 1)[0, 0], [6 / 3, 14 / 3, 10 / 3])
    np.testing.assert_allclose(ref.avg_pool1d(x, 3, 2, 1, count_include_pad=False)[0, 0],
                               [6 / 2, 14 / 3, 10 / 2])
    np.testing.assert_allclose(ref.avg_pool1d(x, 3, 2, 1, divisor_override=4)[0, 0],
                               [6 / 4, 14 / 4, 10 / 4])


def test_avg_pool_ceil_overhang_is_not_counted():
    # x = [1,2,3,4], k=3, s=2, padding 1, ceil: 3 windows over [0, 1,2,3,4, 0 | overhang]:
    # [0,1,2] -> 3/3, [2,3,4] -> 9/3, [4, 0, (overhang)] -> 4 over 2 cells (input + padding).
    x = np.array([[[1.0, 2.0, 3.0, 4.0]]])
    np.testing.assert_array_equal(ref.avg_pool1d(x, 3, 2, 1, ceil_mode=True)[0, 0], [1, 3, 2])
    # without count_include_pad only input cells count: 3/2, 9/3, 4/1
    np.testing.assert_array_equal(
        ref.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)[0, 0], [1.5, 3, 4]
    )


def test_correlate2d_and_convolve2d_same_offsets():
    # 1x5 ramp, 1x4 kernel with a single 1 at tap 0. correlate2d 'same' pads (1, 2): output i
    # reads a[i - 1] -> [0, 1, 2, 3, 4]. convolve2d flips the kernel (the 1 moves to tap 3) and
    # pads (2, 1): output i reads a[i + 3 - 2] -> [2, 3, 4, 5, 0].
    a = np.arange(1.0, 6.0)[None]
    k = np.array([[1.0, 0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(ref.correlate2d(a, k, "same"), [[0, 1, 2, 3, 4]])
    np.testing.assert_array_equal(ref.convolve2d(a, k, "same"), [[2, 3, 4, 5, 0]])
    # full correlate: 3 leading zeros then a; full convolve: a then 3 zeros
    np.testing.assert_array_equal(ref.correlate2d(a, k), [[0, 0, 0, 1, 2, 3, 4, 5]])
    np.testing.assert_array_equal(ref.convolve2d(a, k), [[1, 2, 3, 4, 5, 0, 0, 0]])


def test_signal_boundaries():
    # a = [1, 2, 3], kernel [1, 0, 0] in 'same' mode reads a[i - 1]; the cell left of a[0] is
    # fillvalue (fill), a[2] (wrap) or a[0] (symm).
    a = np.array([[1.0, 2.0, 3.0]])
    k = np.array([[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(ref.correlate2d(a, k, "same", "fill", 9), [[9, 1, 2]])
    np.testing.assert_array_equal(ref.correlate2d(a, k, "same", "wrap"), [[3, 1, 2]])
    np.testing.assert_array_equal(ref.correlate2d(a, k, "same", "symm"), [[1, 1, 2]])



@pytest.mark.parametrize("mode, padded", [
    # x = [1, 2, 3] padded by 2 each side, as the docstring of windows.pad draws each mode
    ("zeros", [0, 0, 1, 2, 3, 0, 0]),
    ("reflect", [3, 2, 1, 2, 3, 2, 1]),  # mirror about the edge cell
    ("replicate", [1, 1, 1, 2, 3, 3, 3]),
    ("circular", [2, 3, 1, 2, 3, 1, 2]),
    ("symmetric", [2, 1, 1, 2, 3, 3, 2]),  # mirror with the edge cell repeated
])
def test_padding_modes_by_hand(mode, padded):
    # A one-tap kernel of weight 1 copies the padded input: the output is the padding itself.
    x = np.array([[[1.0, 2.0, 3.0]]])
    y = ref.conv1d(x, np.ones((1, 1, 1)), padding=2, padding_mode=mode)
    np.testing.assert_array_equal(y[0, 0], padded)


def test_symmetric_padding_past_the_input_repeats_with_period_2n():
    # [1, 2] extends with period 4: cell j reads [1, 2, 2, 1][j mod 4]. Pads of 5 each side
    # (wider than the input, which reflect and circular refuse) cover j = -5 .. 6.
    x = np.array([[[1.0, 2.0]]])
    y = ref.conv1d(x, np.ones((1, 1, 1)), padding=5, padding_mode="symmetric")
    np.testing.assert_array_equal(y[0, 0], [1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2])


def test_window_placement_as_pads():
    # ndimage centres tap k//2 + origin on the output cell: k=4, origin 0 reads cells i-2..i+1,
    # pads (2, 1); origin -2 starts the window at the cell itself (0, 3); origin 1 ends it
    # there (3, 0). k=3, origin 0 is the centred (1, 1).
    assert ref.origin_padding(4) == ((2, 1),)
    assert ref.origin_padding((4, 4, 3), (-2, 1, 0)) == ((0, 3), (3, 0), (1, 1))
    # OpenCV's anchor is the tap on the output cell: -1 is k//2 (so (2, 1) for k=4, as ndimage
    # with origin 0); anchor 0 puts all the padding after.
    assert ref.anchor_padding(4) == ((2, 1),)
    assert ref.anchor_padding((3, 5), (0, 4)) == ((0, 2), (4, 0))
    # torch's 'same' for k=4 pads (1, 2), the other way round: ndimage's origin -1.
    from convparity.reference.placement import origin_of

    assert origin_of([(1, 2)], 4) == (-1,)
    assert ref.origin_padding(4, -1) == ((1, 2),)

def test_torch_argument_forms_one_element_tuples_and_a_negative_divisor():
    # torch repeats a one-element tuple over every spatial dim, in convs and pools alike
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    ones = np.ones((1, 1, 3, 3))
    np.testing.assert_array_equal(ref.conv2d(x, ones, stride=(2,), padding=(1,), dilation=(1,)),
                                  ref.conv2d(x, ones, stride=2, padding=1))
    np.testing.assert_array_equal(ref.max_pool2d(x, (3,), (2,), (1,)), ref.max_pool2d(x, 3, 2, 1))
    # a negative divisor divides: the window [0, 1, 5, 6] sums to 12, over -2
    assert ref.avg_pool2d(x[..., :4, :4], 2, divisor_override=-2)[0, 0, 0, 0] == -6.0
