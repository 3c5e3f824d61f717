"""Gradients of the oracle's ops, float64, NumPy only: ``torch.nn.grad``'s names and argument
order (keywords work too), plus the pools'.

For a loss whose gradient in an op's output is ``grad_output`` (the cotangent ``g``)::

    conv*d_input  = the conv's adjoint applied to g (the taps' products scattered back where
                    they read, folded back through reflect/replicate/circular padding)
    conv*d_weight = sum over the batch and the output positions of g times what each tap saw
    the bias's    = g summed over the batch and the spatial dims (not computed here)

A transposed conv is the adjoint of a conv, so its input gradient is that conv and its weight
gradient the conv's with the roles of input and cotangent swapped. Max pooling sends each
output's gradient to the cell its maximum came from (:func:`~convparity.reference.pooling.
argmax`: ties to the first maximum in window order); average pooling spreads it over the
window's input cells, divided by the same divisor as the forward pass.
"""

from __future__ import annotations

import numpy as np

from convparity.reference.adaptive import adaptive_counts, argmax_in_bins, bins, output_sizes
from convparity.reference.arguments import is_int
from convparity.reference.conv import (
    check_conv,
    conv_geometry,
    correlate,
    correlate_adjoint,
    weight_gradient,
)
from convparity.reference.conv_transpose import check_transpose, transpose_geometry
from convparity.reference.layout import batched_channels_first
from convparity.reference.pooling import argmax, average_divisor, pool_geometry
from convparity.reference.windows import scatter, unpad


def check_size(name: str, value, ndim: int, data_format: str) -> tuple[int, ...]:
    """A full tensor shape (``(N, C, *spatial)``, channels last for channels_last; unbatched
    allowed) as ``(N, C, *spatial)``."""
    if not (isinstance(value, (tuple, list)) and all(is_int(v) and v >= 1 for v in value)
            and len(value) in (ndim + 1, ndim + 2)):
        raise ValueError(f"{name}={value!r}: expected the {ndim + 2} (or unbatched "
                         f"{ndim + 1}) positive ints of a {ndim}-D op's shape")
    shape = tuple(int(v) for v in value)
    if len(shape) == ndim + 1:
        shape = (1, *shape)
    if data_format == "channels_last":
        shape = (shape[0], shape[-1], *shape[1:-1])
    return shape


def check_grad_output(grad, expected: tuple[int, ...], ndim: int, data_format: str):
    g, restore = batched_channels_first(grad, ndim, data_format, name="grad_output")
    if g.shape != expected:
        raise ValueError(f"grad_output has shape {np.shape(grad)}: the op's output has "
                         f"{expected} (batch, channels, *spatial; channels first)")
    return g, restore


# -- conv ----------------------------------------------------------------------------------------
def _conv_input(ndim, input_size, weight, grad_output, stride, padding, dilation, groups,
                padding_mode, data_format):
    shape = check_size("input_size", input_size, ndim, data_format)
    w, groups, padding_mode = check_conv(ndim, shape[1], weight, groups, padding_mode)
    geometry = conv_geometry(shape[2:], w.shape[2:], stride, padding, dilation, groups,
                             padding_mode)
    g, restore = check_grad_output(grad_output, (shape[0], w.shape[0], *geometry.out_size),
                                   ndim, data_format)
    return restore(correlate_adjoint(g, w, geometry))


def _conv_weight(ndim, input, weight_size, grad_output, stride, padding, dilation, groups,
                 padding_mode, data_format):
    x, _ = batched_channels_first(input, ndim, data_format)
    size = check_size("weight_size", weight_size, ndim, "channels_first")
    w, groups, padding_mode = check_conv(ndim, x.shape[1], np.zeros(size), groups, padding_mode)
    geometry = conv_geometry(x.shape[2:], size[2:], stride, padding, dilation, groups,
                             padding_mode)
    g, _ = check_grad_output(grad_output, (x.shape[0], size[0], *geometry.out_size), ndim,
                             data_format)
    return weight_gradient(x, g, geometry, size)


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 padding_mode="zeros", data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.conv1d` in its input (of shape
    ``input_size``), ``torch.nn.grad.conv1d_input``'s signature."""
    return _conv_input(1, input_size, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, data_format)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 padding_mode="zeros", data_format="channels_first"):
    """See :func:`conv1d_input`."""
    return _conv_input(2, input_size, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, data_format)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                 padding_mode="zeros", data_format="channels_first"):
    """See :func:`conv1d_input`."""
    return _conv_input(3, input_size, weight, grad_output, stride, padding, dilation, groups,
                       padding_mode, data_format)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  padding_mode="zeros", data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.conv1d` in its weight (of shape
    ``weight_size``), ``torch.nn.grad.conv1d_weight``'s signature."""
    return _conv_weight(1, input, weight_size, grad_output, stride, padding, dilation, groups,
                        padding_mode, data_format)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  padding_mode="zeros", data_format="channels_first"):
    """See :func:`conv1d_weight`."""
    return _conv_weight(2, input, weight_size, grad_output, stride, padding, dilation, groups,
                        padding_mode, data_format)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1, *,
                  padding_mode="zeros", data_format="channels_first"):
    """See :func:`conv1d_weight`."""
    return _conv_weight(3, input, weight_size, grad_output, stride, padding, dilation, groups,
                        padding_mode, data_format)


# -- transposed conv ------------------------------------------------------------------------------
def _transpose_input(ndim, input_size, weight, grad_output, stride, padding, output_padding,
                     groups, dilation, data_format):
    shape = check_size("input_size", input_size, ndim, data_format)
    w, groups = check_transpose(ndim, shape[1], weight, groups)
    geometry = transpose_geometry(shape[2:], w.shape[2:], stride, padding, output_padding, groups,
                                  dilation)
    g, restore = check_grad_output(grad_output, (shape[0], w.shape[1] * groups, *geometry.size),
                                   ndim, data_format)
    return restore(correlate(g, w, geometry))


def _transpose_weight(ndim, input, weight_size, grad_output, stride, padding, output_padding,
                      groups, dilation, data_format):
    x, _ = batched_channels_first(input, ndim, data_format)
    size = check_size("weight_size", weight_size, ndim, "channels_first")
    _, groups = check_transpose(ndim, x.shape[1], np.zeros(size), groups)
    geometry = transpose_geometry(x.shape[2:], size[2:], stride, padding, output_padding, groups,
                                  dilation)
    g, _ = check_grad_output(grad_output, (x.shape[0], size[1] * groups, *geometry.size), ndim,
                             data_format)
    return weight_gradient(g, x, geometry, size)  # the conv it transposes: g in, x out


def conv_transpose1d_input(input_size, weight, grad_output, stride=1, padding=0,
                           output_padding=0, groups=1, dilation=1, *,
                           data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.conv_transpose1d` in its input."""
    return _transpose_input(1, input_size, weight, grad_output, stride, padding, output_padding,
                            groups, dilation, data_format)


def conv_transpose2d_input(input_size, weight, grad_output, stride=1, padding=0,
                           output_padding=0, groups=1, dilation=1, *,
                           data_format="channels_first"):
    """See :func:`conv_transpose1d_input`."""
    return _transpose_input(2, input_size, weight, grad_output, stride, padding, output_padding,
                            groups, dilation, data_format)


def conv_transpose3d_input(input_size, weight, grad_output, stride=1, padding=0,
                           output_padding=0, groups=1, dilation=1, *,
                           data_format="channels_first"):
    """See :func:`conv_transpose1d_input`."""
    return _transpose_input(3, input_size, weight, grad_output, stride, padding, output_padding,
                            groups, dilation, data_format)


def conv_transpose1d_weight(input, weight_size, grad_output, stride=1, padding=0,
                            output_padding=0, groups=1, dilation=1, *,
                            data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.conv_transpose1d` in its weight."""
    return _transpose_weight(1, input, weight_size, grad_output, stride, padding, output_padding,
                             groups, dilation, data_format)


def conv_transpose2d_weight(input, weight_size, grad_output, stride=1, padding=0,
                            output_padding=0, groups=1, dilation=1, *,
                            data_format="channels_first"):
    """See :func:`conv_transpose1d_weight`."""
    return _transpose_weight(2, input, weight_size, grad_output, stride, padding, output_padding,
                             groups, dilation, data_format)


def conv_transpose3d_weight(input, weight_size, grad_output, stride=1, padding=0,
                            output_padding=0, groups=1, dilation=1, *,
                            data_format="channels_first"):
    """See :func:`conv_transpose1d_weight`."""
    return _transpose_weight(3, input, weight_size, grad_output, stride, padding, output_padding,
                             groups, dilation, data_format)


# -- pooling -------------------------------------------------------------------------------------
def _max_pool(ndim, input, grad_output, kernel_size, stride, padding, dilation, ceil_mode,
              data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    geometry = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    g, _ = check_grad_output(grad_output, (*x.shape[:2], *geometry.out_size), ndim, data_format)
    _, index = argmax(x, geometry)
    return restore(routed(g, index, x.shape))


def routed(grad_output: np.ndarray, index: np.ndarray, shape) -> np.ndarray:
    """``(N, C, *spatial)`` input gradient of ``shape`` with each output's gradient added to the
    input cell its flat ``index`` names in its plane (``grad_output`` and ``index`` channels
    first)."""
    planes = shape[0] * shape[1]
    dx = np.zeros((planes, int(np.prod(shape[2:]))))
    np.add.at(dx, (np.arange(planes)[:, None], index.reshape(planes, -1)),
              np.asarray(grad_output, dtype=np.float64).reshape(planes, -1))
    return dx.reshape(shape)


def _avg_pool(ndim, input, grad_output, kernel_size, stride, padding, ceil_mode,
              count_include_pad, divisor_override, dilation, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    geometry = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    g, _ = check_grad_output(grad_output, (*x.shape[:2], *geometry.out_size), ndim, data_format)
    share = g / average_divisor(geometry, count_include_pad, divisor_override)
    taps = int(np.prod(geometry.kernel_size))
    cols = np.broadcast_to(share[:, :, None], (*share.shape[:2], taps, *share.shape[2:]))
    ends = [(lo, hi + o) for (lo, hi), o in zip(geometry.pads, geometry.overhang)]
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(geometry.size, ends))
    xp = scatter(cols, geometry.kernel_size, geometry.stride, geometry.dilation, padded)
    return restore(unpad(xp, geometry.size, ends))


def max_pool1d(input, grad_output, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, *, data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.max_pool1d` in its input: each output's
    gradient to its window's maximum (the first, where maxima tie)."""
    return _max_pool(1, input, grad_output, kernel_size, stride, padding, dilation, ceil_mode,
                     data_format)


def max_pool2d(input, grad_output, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, *, data_format="channels_first"):
    """See :func:`max_pool1d`."""
    return _max_pool(2, input, grad_output, kernel_size, stride, padding, dilation, ceil_mode,
                     data_format)


def max_pool3d(input, grad_output, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, *, data_format="channels_first"):
    """See :func:`max_pool1d`."""
    return _max_pool(3, input, grad_output, kernel_size, stride, padding, dilation, ceil_mode,
                     data_format)


def min_pool1d(input, grad_output, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, *, data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.min_pool1d` in its input: each output's
    gradient to its window's minimum (the first, where minima tie), as max pooling of ``-x``
    routes it."""
    return _max_pool(1, -np.asarray(input, dtype=np.float64), grad_output, kernel_size, stride,
                     padding, dilation, ceil_mode, data_format)


def min_pool2d(input, grad_output, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, *, data_format="channels_first"):
    """See :func:`min_pool1d`."""
    return _max_pool(2, -np.asarray(input, dtype=np.float64), grad_output, kernel_size, stride,
                     padding, dilation, ceil_mode, data_format)


def min_pool3d(input, grad_output, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, *, data_format="channels_first"):
    """See :func:`min_pool1d`."""
    return _max_pool(3, -np.asarray(input, dtype=np.float64), grad_output, kernel_size, stride,
                     padding, dilation, ceil_mode, data_format)


def _adaptive_avg(ndim, input, grad_output, output_size, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    sizes = output_sizes(output_size, x.shape[2:])
    g, _ = check_grad_output(grad_output, (*x.shape[:2], *sizes), ndim, data_format)
    share = g / adaptive_counts(x.shape[2:], sizes)
    for axis, (n, m) in enumerate(zip(x.shape[2:], sizes), start=2):
        spread = np.zeros((*share.shape[:axis], n, *share.shape[axis + 1:]))
        for i, (a, b) in enumerate(bins(n, m)):
            index = [slice(None)] * share.ndim
            index[axis] = slice(a, b)
            spread[tuple(index)] += np.take(share, [i], axis=axis)
        share = spread
    return restore(share)


def _adaptive_max(ndim, input, grad_output, output_size, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    sizes = output_sizes(output_size, x.shape[2:])
    g, _ = check_grad_output(grad_output, (*x.shape[:2], *sizes), ndim, data_format)
    return restore(routed(g, argmax_in_bins(x, sizes), x.shape))


def adaptive_avg_pool1d(input, grad_output, output_size, *, data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.adaptive_avg_pool1d` in its input: each
    output's gradient over its box's size, to every cell of the box (boxes overlap)."""
    return _adaptive_avg(1, input, grad_output, output_size, data_format)


def adaptive_avg_pool2d(input, grad_output, output_size, *, data_format="channels_first"):
    """See :func:`adaptive_avg_pool1d`."""
    return _adaptive_avg(2, input, grad_output, output_size, data_format)


def adaptive_avg_pool3d(input, grad_output, output_size, *, data_format="channels_first"):
    """See :func:`adaptive_avg_pool1d`."""
    return _adaptive_avg(3, input, grad_output, output_size, data_format)


def adaptive_max_pool1d(input, grad_output, output_size, *, data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.adaptive_max_pool1d` in its input: each
    output's gradient to its box's maximum (torch's rule, see ``argmax_in_bins``)."""
    return _adaptive_max(1, input, grad_output, output_size, data_format)


def adaptive_max_pool2d(input, grad_output, output_size, *, data_format="channels_first"):
    """See :func:`adaptive_max_pool1d`."""
    return _adaptive_max(2, input, grad_output, output_size, data_format)


def adaptive_max_pool3d(input, grad_output, output_size, *, data_format="channels_first"):
    """See :func:`adaptive_max_pool1d`."""
    return _adaptive_max(3, input, grad_output, output_size, data_format)


def avg_pool1d(input, grad_output, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, dilation=1,
               data_format="channels_first"):
    """The gradient of :func:`~convparity.reference.avg_pool1d` in its input: each output's
    gradient over its divisor, to every input cell of its window."""
    return _avg_pool(1, input, grad_output, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, dilation, data_format)


def avg_pool2d(input, grad_output, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, dilation=1,
               data_format="channels_first"):
    """See :func:`avg_pool1d`."""
    return _avg_pool(2, input, grad_output, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, dilation, data_format)


def avg_pool3d(input, grad_output, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, dilation=1,
               data_format="channels_first"):
    """See :func:`avg_pool1d`."""
    return _avg_pool(3, input, grad_output, kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override, dilation, data_format)


__all__ = [
    "conv1d_input", "conv2d_input", "conv3d_input",
    "conv1d_weight", "conv2d_weight", "conv3d_weight",
    "conv_transpose1d_input", "conv_transpose2d_input", "conv_transpose3d_input",
    "conv_transpose1d_weight", "conv_transpose2d_weight", "conv_transpose3d_weight",
    "max_pool1d", "max_pool2d", "max_pool3d",
    "min_pool1d", "min_pool2d", "min_pool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
]
