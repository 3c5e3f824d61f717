"""Convolution (cross-correlation, as every deep-learning framework defines it), 1-3 spatial dims.

With ``G`` groups of ``C/G`` input and ``O/G`` output channels, and ``xp`` the padded input::

    y[n, g*O/G + o, i] = b[g*O/G + o]
                         + sum_{c < C/G} sum_{t} w[g*O/G + o, c, t] * xp[n, g*C/G + c, i*s + t*d]

for every output position ``i`` and kernel tap ``t`` (multi-indices over the spatial dims).
"""

from __future__ import annotations

import math

import numpy as np

from convparity.reference.arguments import choice, padding_pairs, per_dim, positive_int
from convparity.reference.dtypes import as_float64
from convparity.reference.layout import batched_channels_first
from convparity.reference.windows import PADDING_MODES, conv_output_size, pad, walk

GATHER_BYTES = 64 * 2**20  # the most the gathered taps of one block of output rows may take


def check_weight(weight, ndim: int, *, layout: str) -> np.ndarray:
    w = as_float64("weight", weight)
    if w.ndim != ndim + 2:
        raise ValueError(
            f"weight has shape {w.shape}: a {ndim}-D op takes a {ndim + 2}-D weight {layout}"
        )
    if 0 in w.shape:
        raise ValueError(f"weight has shape {w.shape}: every dim must be >= 1")
    return w


def check_bias(bias, out_channels: int) -> np.ndarray:
    if bias is None:
        return np.zeros(out_channels)
    b = as_float64("bias", bias)
    if b.shape != (out_channels,):
        raise ValueError(
            f"bias has shape {b.shape}; expected ({out_channels},), one per output channel"
        )
    return b


def check_channels(channels: int, groups: int, what: str) -> int:
    """``channels / groups``, or a ``ValueError`` if ``groups`` does not divide ``channels``."""
    if channels % groups:
        raise ValueError(f"groups={groups} does not divide the {channels} {what}")
    return channels // groups


def _conv(
    ndim, input, weight, bias, stride, padding, dilation, groups, padding_mode, data_format
) -> np.ndarray:
    x, restore = batched_channels_first(input, ndim, data_format)
    w = check_weight(weight, ndim, layout="(out_channels, in_channels/groups, *kernel_size)")
    groups = positive_int("groups", groups)
    padding_mode = choice("padding_mode", padding_mode, tuple(PADDING_MODES))
    stride = per_dim("stride", stride, ndim, minimum=1)
    dilation = per_dim("dilation", dilation, ndim, minimum=1)
    (n_batch, channels), size = x.shape[:2], x.shape[2:]
    out_channels, kernel_size = w.shape[0], w.shape[2:]
    c_per_group = check_channels(channels, groups, "input channels")
    o_per_group = check_channels(out_channels, groups, "output channels (weight.shape[0])")
    if w.shape[1] != c_per_group:
        raise ValueError(
            f"weight has shape {w.shape}: with {channels} input channels and groups={groups} "
            f"weight.shape[1] must be {c_per_group}"
        )
    b = check_bias(bias, out_channels)
    pads = padding_pairs(
        padding, input_size=size, kernel_size=kernel_size, stride=stride, dilation=dilation
    )
    check_mode_padding(padding_mode, pads, size)
    out_size = tuple(map(conv_output_size, size, pads, kernel_size, stride, dilation))
    if min(out_size) < 1:
        raise ValueError(
            f"kernel_size={tuple(kernel_size)} with dilation={dilation} is larger than the padded "
            f"input {tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))} "
            f"(input {tuple(size)}, padding={pads})"
        )

    xp = pad(x, pads, mode=padding_mode)
    xp = xp.reshape(n_batch, groups, c_per_group, *xp.shape[2:])
    taps_ = math.prod(kernel_size)
    wg = w.reshape(groups, o_per_group, c_per_group * taps_)
    y = np.empty((n_batch, groups, o_per_group, *out_size))
    # A block of output rows (first spatial dim) at a time, so the gathered taps stay within
    # GATHER_BYTES; each row is summed whole, in one order, whatever the block.
    row = n_batch * channels * taps_ * math.prod(out_size[1:]) * 8
    rows = max(1, min(out_size[0], GATHER_BYTES // max(row, 1)))
    for first in range(0, out_size[0], rows):
        block = (min(rows, out_size[0] - first), *out_size[1:])
        shift = first * stride[0]
        # Gather what every tap sees: cols[n, g, c, t, i] = xp[n, g, c, i*s + t*d] ...
        cols = np.empty((n_batch, groups, c_per_group, taps_, *block))
        for j, (_, window) in enumerate(walk(kernel_size, stride, dilation, block)):
            first_dim = slice(window[0].start + shift, window[0].stop + shift, window[0].step)
            cols[:, :, :, j] = xp[(..., first_dim, *window[1:])]
        # ... then contract: y[n, g, o, i] = sum_{c, t} w[g, o, c, t] * cols[n, g, c, t, i].
        part = wg @ cols.reshape(n_batch, groups, wg.shape[-1], math.prod(block))
        y[:, :, :, first:first + block[0]] = part.reshape(n_batch, groups, o_per_group, *block)
    y = y.reshape(n_batch, out_channels, *out_size) + b.reshape(-1, *[1] * ndim)
    return restore(y)


def check_mode_padding(padding_mode: str, pads, size) -> None:
    """reflect mirrors without repeating the edge, so needs ``pad < n``; circular ``pad <= n``."""
    limit = {"reflect": 0, "circular": 1}.get(padding_mode)
    if limit is None:
        return
    for n, pair in zip(size, pads):
        if max(pair) > n - 1 + limit:
            allowed = f"< {n}" if padding_mode == "reflect" else f"<= {n}"
            raise ValueError(
                f"padding={pads} with padding_mode={padding_mode!r} needs every pad {allowed} "
                f"(the input size {n} along that dim)"
            )


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", data_format="channels_first"):
    """1-D convolution, ``torch.nn.functional.conv1d``'s signature; see the module docstring."""
    return _conv(1, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 data_format)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", data_format="channels_first"):
    """2-D convolution, ``torch.nn.functional.conv2d``'s signature; see the module docstring."""
    return _conv(2, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 data_format)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           padding_mode="zeros", data_format="channels_first"):
    """3-D convolution, ``torch.nn.functional.conv3d``'s signature; see the module docstring."""
    return _conv(3, input, weight, bias, stride, padding, dilation, groups, padding_mode,
                 data_format)
