"""Transposed convolution: the adjoint of :mod:`convolution <convparity.reference.conv>`.

Every input element scatters a copy of the kernel, scaled by its value, into a full-size output::

    full[n, g*O/G + o, i*s + t*d] += sum_{c < C/G} x[n, g*C/G + c, i] * w[g*C/G + c, o, t]

whose length per dim is ``(n-1)*s + d*(k-1) + 1``. Padding ``(lo, hi)`` then crops ``lo`` cells at
the start and ``hi`` at the end, and ``output_padding`` extends the end by that many cells (cells no
input reaches: zero, plus bias). Output size: ``(n-1)*s - lo - hi + d*(k-1) + output_padding + 1``.
Weights are ``(in_channels, out_channels/groups, *kernel_size)``, torch's layout.

``padding="same"`` gives TensorFlow's SAME: the output has ``n*s`` cells, the adjoint of a SAME conv
over ``n*s`` cells; ``"valid"`` crops nothing.
"""

from __future__ import annotations

import numpy as np

from convparity.reference.arguments import padding_pairs, per_dim, positive_int, same_padding
from convparity.reference.conv import (
    ConvGeometry,
    check_bias,
    check_channels,
    check_weight,
    conv_geometry,
    correlate_adjoint,
)
from convparity.reference.layout import batched_channels_first


def full_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """``(n-1)*s + d*(k-1) + 1``: the cells the scattered kernels cover before any crop."""
    return (size - 1) * stride + dilation * (kernel - 1) + 1


def transpose_crops(padding, output_padding, size, kernel_size, stride, dilation):
    """``(crops, output_padding)`` per dim; ``"same"`` derives both from TensorFlow's SAME."""
    if isinstance(padding, str) and padding.lower() == "same":
        if output_padding not in (0, (0,) * len(size)):
            raise ValueError(
                f"output_padding={output_padding!r} with padding='same': SAME fixes the output "
                f"size at input size * stride, so output_padding must be 0"
            )
        crops, extra = [], []
        for n, k, s, d in zip(size, kernel_size, stride, dilation):
            lo, hi = same_padding(n * s, k, s, d)
            crops.append((lo, hi))
            extra.append(n * s - (full_size(n, k, s, d) - lo - hi))
        return tuple(crops), tuple(extra)
    crops = padding_pairs(
        padding, input_size=size, kernel_size=kernel_size, stride=stride, dilation=dilation
    )
    extra = per_dim("output_padding", output_padding, len(size), minimum=0)
    for op, s, d in zip(extra, stride, dilation):
        if op >= max(s, d):
            raise ValueError(
                f"output_padding={output_padding!r}: each entry must be smaller than the stride "
                f"or the dilation along its dim (stride={stride}, dilation={dilation})"
            )
    return crops, extra


def check_transpose(ndim, channels, weight, groups) -> tuple[np.ndarray, int]:
    """The weight and groups of a transposed conv over ``channels`` input channels."""
    w = check_weight(weight, ndim, layout="(in_channels, out_channels/groups, *kernel_size)")
    groups = positive_int("groups", groups)
    if w.shape[0] != channels:
        raise ValueError(
            f"weight has shape {w.shape}: a transposed conv's weight.shape[0] must equal the "
            f"{channels} input channels"
        )
    check_channels(channels, groups, "input channels")
    return w, groups


def transpose_geometry(size, kernel_size, stride, padding, output_padding, groups,
                       dilation) -> ConvGeometry:
    """The validated geometry of a transposed conv over ``size`` (see
    :func:`transposed_geometry`)."""
    ndim = len(size)
    stride = per_dim("stride", stride, ndim, minimum=1)
    dilation = per_dim("dilation", dilation, ndim, minimum=1)
    crops, extra = transpose_crops(padding, output_padding, size, kernel_size, stride, dilation)
    full = tuple(map(full_size, size, kernel_size, stride, dilation))
    out_size = tuple(f - lo - hi + e for f, (lo, hi), e in zip(full, crops, extra))
    if min(out_size) < 1:
        raise ValueError(
            f"padding={padding!r} crops {crops} from a full output of size {full}"
            f" (+ output_padding {extra}), leaving {out_size}: every dim must keep >= 1 cell"
        )
    return transposed_geometry(size, kernel_size, stride, dilation, crops, extra, groups)


def _conv_transpose(
    ndim, input, weight, bias, stride, padding, output_padding, groups, dilation, data_format
) -> np.ndarray:
    x, restore = batched_channels_first(input, ndim, data_format)
    w, groups = check_transpose(ndim, x.shape[1], weight, groups)
    b = check_bias(bias, w.shape[1] * groups)
    geometry = transpose_geometry(x.shape[2:], w.shape[2:], stride, padding, output_padding,
                                  groups, dilation)
    return restore(correlate_adjoint(x, w, geometry) + b.reshape(-1, *[1] * ndim))


def transposed_geometry(size, kernel_size, stride, dilation, crops, extra,
                        groups) -> ConvGeometry:
    """The conv a transposed conv is the adjoint of: over the transposed output (``full`` minus
    the crops, plus ``output_padding``), padded by the crops, the end's less the extra cells
    (negative where the extra exceeds the crop), its output the transposed input."""
    full = tuple(map(full_size, size, kernel_size, stride, dilation))
    out_size = tuple(f - lo - hi + e for f, (lo, hi), e in zip(full, crops, extra))
    pads = tuple((lo, hi - e) for (lo, hi), e in zip(crops, extra))
    geometry = conv_geometry(out_size, kernel_size, stride, None, dilation, groups, crops=pads)
    assert geometry.out_size == tuple(size), (geometry, size)
    return geometry


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, data_format="channels_first"):
    """1-D transposed convolution, ``torch.nn.functional.conv_transpose1d``'s signature."""
    return _conv_transpose(1, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, data_format)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, data_format="channels_first"):
    """2-D transposed convolution, ``torch.nn.functional.conv_transpose2d``'s signature."""
    return _conv_transpose(2, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, data_format)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, *, data_format="channels_first"):
    """3-D transposed convolution, ``torch.nn.functional.conv_transpose3d``'s signature."""
    return _conv_transpose(3, input, weight, bias, stride, padding, output_padding, groups,
                           dilation, data_format)

