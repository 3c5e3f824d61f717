"""Bad input: a TypeError/ValueError that names the parameter, the value and what is allowed.

The invalid calls are data (as PyTorch's OpInfo keeps ErrorInputs): the call, the exception type,
and a regex that the message must match.
"""

import re

import numpy as np
import pytest

from convparity import reference as ref
from convparity.reference.placement import origin_of

X = np.zeros((1, 4, 5, 5))
W = np.zeros((6, 2, 3, 3))  # groups=2
X1 = np.zeros((1, 2, 6))
W1 = np.zeros((3, 2, 3))

ERROR_INPUTS = [
    # (id, call, exception, message regex)
    ("input rank", lambda: ref.conv2d(np.zeros((5, 5)), W), ValueError,
     r"input has shape \(5, 5\).*4-D"),
    ("weight rank", lambda: ref.conv2d(X, np.zeros((6, 2, 3))), ValueError,
     r"weight has shape \(6, 2, 3\).*4-D weight"),
    ("channel mismatch", lambda: ref.conv2d(X, np.zeros((6, 3, 3, 3))), ValueError,
     r"weight.shape\[1\] must be 4"),
    ("groups do not divide in", lambda: ref.conv2d(X, W, groups=3), ValueError,
     r"groups=3 does not divide the 4 input channels"),
    ("groups do not divide out", lambda: ref.conv2d(X, np.zeros((5, 2, 3, 3)), groups=2),
     ValueError, r"groups=2 does not divide the 5 output channels"),
    ("groups zero", lambda: ref.conv2d(X, W, groups=0), ValueError, r"groups=0.*positive int"),
    ("groups float", lambda: ref.conv2d(X, W, groups=2.0), TypeError, r"groups=2.0.*int"),
    ("stride zero", lambda: ref.conv2d(X, W, stride=0, groups=2), ValueError,
     r"stride=0: every entry must be >= 1"),
    ("stride fractional", lambda: ref.conv2d(X, W, stride=1.5, groups=2), TypeError,
     r"stride=1.5"),
    ("stride bool", lambda: ref.conv2d(X, W, stride=True, groups=2), TypeError, r"stride=True"),
    ("stride wrong length", lambda: ref.conv2d(X, W, stride=(1, 1, 1), groups=2), ValueError,
     r"stride=\(1, 1, 1\) has 3 entries; expected an int or 2 ints"),
    ("dilation negative", lambda: ref.conv2d(X, W, dilation=(1, -1), groups=2), ValueError,
     r"dilation=\(1, -1\)"),
    ("padding negative", lambda: ref.conv2d(X, W, padding=-1, groups=2), ValueError,
     r"padding=-1: padding must be >= 0"),
    ("padding unknown string", lambda: ref.conv2d(X, W, padding="full", groups=2), ValueError,
     r"padding='full': expected 'valid', 'same'"),
    ("padding bad pair", lambda: ref.conv2d(X, W, padding=[(1, 2, 3), 0], groups=2), TypeError,
     r"entry \(1, 2, 3\) is neither an int nor a \(before, after\) pair"),
    ("padding_mode unknown", lambda: ref.conv2d(X, W, groups=2, padding_mode="mirror"),
     ValueError, r"padding_mode='mirror': expected one of 'zeros', 'reflect'"),
    ("reflect pad too large", lambda: ref.conv2d(X, W, groups=2, padding=5,
                                                  padding_mode="reflect"),
     ValueError, r"padding_mode='reflect' needs every pad < 5"),
    ("data_format unknown", lambda: ref.conv2d(X, W, groups=2, data_format="NHWC"), ValueError,
     r"data_format='NHWC': expected one of 'channels_first', 'channels_last'"),
    ("kernel larger than input", lambda: ref.conv1d(X1, np.zeros((1, 2, 7))), ValueError,
     r"kernel_size=\(7,\).*larger than the padded input \(6,\)"),
    ("dilated kernel larger", lambda: ref.conv1d(X1, W1, dilation=3), ValueError,
     r"larger than the padded input"),
    ("bias length", lambda: ref.conv1d(X1, W1, np.zeros(2)), ValueError,
     r"bias has shape \(2,\); expected \(3,\)"),
    ("complex input", lambda: ref.conv1d(X1.astype(complex), W1), TypeError,
     r"input has complex dtype"),
    ("string input", lambda: ref.conv1d(np.array([[["a"]]]), W1), TypeError,
     r"input has dtype <U1; allowed"),
    ("object weight", lambda: ref.conv1d(X1, W1.astype(object)), TypeError,
     r"weight has dtype object"),
    ("longdouble", lambda: ref.conv1d(X1.astype(np.longdouble), W1), TypeError,
     r"float64 cannot represent exactly"),
    ("int64 beyond 2**53", lambda: ref.conv1d(np.full((1, 2, 6), 2**60), W1), ValueError,
     r"beyond 2\*\*53"),
    ("transposed weight in-channels",
     lambda: ref.conv_transpose1d(X1, np.zeros((3, 1, 3))), ValueError,
     r"weight.shape\[0\] must equal the 2 input channels"),
    ("output_padding too large",
     lambda: ref.conv_transpose1d(X1, np.zeros((2, 1, 3)), stride=2, output_padding=2),
     ValueError, r"output_padding=2: each entry must be smaller than the stride or the dilation"),
    ("transposed crop too large",
     lambda: ref.conv_transpose1d(X1, np.zeros((2, 1, 3)), padding=4), ValueError,
     r"crops \(\(4, 4\),\) from a full output of size \(8,\)"),
    ("same with output_padding",
     lambda: ref.conv_transpose1d(X1, np.zeros((2, 1, 3)), stride=2, padding="same",
                                  output_padding=1),
     ValueError, r"output_padding=1 with padding='same'"),
    ("pool window wholly in padding", lambda: ref.max_pool1d(X1, 2, padding=2), ValueError,
     r"padding=2 leaves the window at output position \(0,\) with no tap on the input"),
    ("adaptive output size zero", lambda: ref.adaptive_avg_pool1d(X1, 0), ValueError,
     r"output_size=0: every entry must be an int >= 1 or None"),
    ("adaptive output size per dim", lambda: ref.adaptive_max_pool1d(X1, (2, 2)), ValueError,
     r"output_size=\(2, 2\) has 2 entries; expected an int, None or 1"),
    ("lp convention", lambda: ref.lp_pool1d(X1, 2, 2, convention="abs"), ValueError,
     r"convention='abs': expected one of 'absolute', 'signed'"),
    ("lp norm_type", lambda: ref.lp_pool1d(X1, 0, 2), ValueError,
     r"norm_type=0: expected a number > 0"),
    ("pool kernel zero", lambda: ref.max_pool1d(X1, 0), ValueError,
     r"kernel_size=0: every entry must be >= 1"),
    ("pool kernel larger", lambda: ref.avg_pool1d(X1, 7), ValueError,
     r"larger than the padded input"),
    ("ceil_mode not bool", lambda: ref.max_pool1d(X1, 2, ceil_mode="yes"), TypeError,
     r"ceil_mode='yes': expected a bool"),
    ("divisor_override zero", lambda: ref.avg_pool1d(X1, 2, divisor_override=0), ValueError,
     r"divisor_override=0: expected a nonzero int"),
    ("signal rank", lambda: ref.correlate2d(np.zeros(3), np.zeros((2, 2))), ValueError,
     r"in1 has shape \(3,\); expected a non-empty 2-D array"),
    ("signal mode", lambda: ref.correlate2d(np.zeros((3, 3)), np.zeros((2, 2)), "wide"),
     ValueError, r"mode='wide': expected one of 'full', 'valid', 'same'"),
    ("signal boundary", lambda: ref.convolve2d(np.zeros((3, 3)), np.zeros((2, 2)),
                                               boundary="reflect"),
     ValueError, r"boundary='reflect': expected one of 'fill'"),
    ("signal valid neither larger",
     lambda: ref.correlate2d(np.zeros((3, 1)), np.zeros((1, 3)), "valid"), ValueError,
     r"mode='valid' needs one input at least as large as the other"),
    ("signal complex fillvalue",
     lambda: ref.correlate2d(np.zeros((3, 3)), np.zeros((2, 2)), fillvalue=1j), TypeError,
     r"fillvalue=1j: expected a real number"),
    ("origin past the kernel", lambda: ref.origin_padding(4, 2), ValueError,
     r"origin=2: a kernel of 4 cells takes origin -2 to 1"),
    ("origin per dim", lambda: ref.origin_padding((3, 3), (0, -2)), ValueError,
     r"origin=\(0, -2\): a kernel of 3 cells takes origin -1 to 1"),
    ("origin not an int", lambda: ref.origin_padding((3, 3), "a"), TypeError,
     r"origin='a': expected an int or a sequence of 2 ints"),
    ("anchor past the kernel", lambda: ref.anchor_padding(3, 3), ValueError,
     r"anchor=3: a kernel of 3 cells takes anchor -1 to 2"),
    ("anchor below -1", lambda: ref.anchor_padding(3, -2), ValueError,
     r"anchor=-2: a kernel of 3 cells takes anchor -1 to 2"),
    ("pads that change the size", lambda: origin_of([(1, 1)], 4), ValueError,
     r"pads=\[\(1, 1\)\]: a filter of 4 cells keeps the size with pads \(b, 4 - 1 - b\)"),
]


@pytest.mark.parametrize("call, exception, message",
                         [pytest.param(*e[1:], id=e[0]) for e in ERROR_INPUTS])
def test_bad_input_gets_a_clear_error(call, exception, message):
    with pytest.raises(exception) as info:
        call()
    assert type(info.value) is exception
    assert re.search(message, str(info.value)), str(info.value)
