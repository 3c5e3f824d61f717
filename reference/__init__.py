"""convparity.reference: the oracle. NumPy arrays in, float64 NumPy arrays out.

Signatures follow ``torch.nn.functional`` (positional order included), extended so that every
framework's conventions can be expressed: ``(before, after)`` and ``"same"`` padding, channels_last
activations, dilated and asymmetrically padded pools, SciPy's correlate2d/convolve2d.
"""

from convparity.reference.adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
)
from convparity.reference.conv import conv1d, conv2d, conv3d
from convparity.reference.conv_transpose import (
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from convparity.reference.lp_pool import lp_pool1d, lp_pool2d, lp_pool3d
from convparity.reference.placement import anchor_padding, origin_padding
from convparity.reference.pooling import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
    min_pool1d,
    min_pool2d,
    min_pool3d,
)
from convparity.reference.signal import convolve2d, correlate2d

__all__ = [
    "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "max_pool1d", "max_pool2d", "max_pool3d",
    "min_pool1d", "min_pool2d", "min_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "correlate2d", "convolve2d",
    "origin_padding", "anchor_padding",
]
