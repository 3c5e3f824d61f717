"""Convolution (cross-correlation, as every deep-learning framework defines it), 1-3 spatial dims.

With ``G`` groups of ``C/G`` input and ``O/G`` output channels, and ``xp`` the padded input::

    y[n, g*O/G + o, i] = b[g*O/G + o]
                         + sum_{c < C/G} sum_{t} w[g*O/G + o, c, t] * xp[n, g*C/G + c, i*s + t*d]

for every output position ``i`` and kernel tap ``t`` (multi-indices over the spatial dims).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from convparity.reference.arguments import Pair, choice, padding_pairs, per_dim, positive_int
from convparity.reference.dtypes import as_float64
from convparity.reference.layout import batched_channels_first
from convparity.reference.windows import (
    PADDING_MODES,
    conv_output_size,
    gather,
    pad,
    scatter,
    unpad,
)

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


class ConvGeometry(NamedTuple):
    """A conv's validated geometry, per spatial dim: input ``size``, ``pads`` (negative: a crop),
    ``kernel_size``, ``stride``, ``dilation``, ``out_size``; ``groups`` and the ``padding_mode``.
    A transposed conv is the same geometry read backwards: its output is this conv's input."""

    size: tuple[int, ...]
    pads: tuple[Pair, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    out_size: tuple[int, ...]
    groups: int
    padding_mode: str = "zeros"

    @property
    def padded_size(self) -> tuple[int, ...]:
        return tuple(n + lo + hi for n, (lo, hi) in zip(self.size, self.pads))

    def blocks(self, channels: int, batch: int) -> Iterator[tuple[int, tuple[int, ...]]]:
        """``(first, block)``: output rows (first spatial dim) a block at a time, so that the
        gathered taps of ``batch * channels`` planes stay within GATHER_BYTES."""
        taps = math.prod(self.kernel_size)
        row = batch * channels * taps * math.prod(self.out_size[1:]) * 8
        rows = max(1, min(self.out_size[0], GATHER_BYTES // max(row, 1)))
        for first in range(0, self.out_size[0], rows):
            yield first, (min(rows, self.out_size[0] - first), *self.out_size[1:])

    def rows(self, first: int, block: tuple[int, ...]) -> slice:
        """The padded input's rows that a block of output rows reads."""
        start = first * self.stride[0]
        return slice(start, start + (block[0] - 1) * self.stride[0]
                     + self.dilation[0] * (self.kernel_size[0] - 1) + 1)


def conv_geometry(size, kernel_size, stride, padding, dilation, groups,
                  padding_mode="zeros", *, crops=None) -> ConvGeometry:
    """Validated :class:`ConvGeometry` of a conv over ``size``: ``padding`` in any form the
    oracle takes, or, for a transposed conv read backwards, ``crops``: ``(before, after)``
    pairs that may be negative."""
    ndim = len(size)
    stride = per_dim("stride", stride, ndim, minimum=1)
    dilation = per_dim("dilation", dilation, ndim, minimum=1)
    pads = tuple(crops) if crops is not None else padding_pairs(
        padding, input_size=size, kernel_size=kernel_size, stride=stride, dilation=dilation)
    check_mode_padding(padding_mode, pads, size)
    out_size = tuple(map(conv_output_size, size, pads, kernel_size, stride, dilation))
    if min(out_size) < 1:
        raise ValueError(
            f"kernel_size={tuple(kernel_size)} with dilation={dilation} is larger than the padded "
            f"input {tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))} "
            f"(input {tuple(size)}, padding={pads})"
        )
    return ConvGeometry(tuple(size), pads, tuple(kernel_size), stride, dilation, out_size,
                        groups, padding_mode)


def grouped_weight(w: np.ndarray, groups: int) -> np.ndarray:
    """``wg[g, o, c*T + t] = w[g*O/G + o, c, t]``: the weight as one matrix per group."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def correlate(x: np.ndarray, w: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """The conv without bias: ``y[n, g, o, i] = sum_{c, t} wg[g, o, c, t] * xp[n, g, c, i*s +
    t*d]``, a block of output rows at a time (each row summed whole, in one order)."""
    n_batch, channels = x.shape[:2]
    g = geometry
    xp = pad(x, g.pads, mode=g.padding_mode)
    xp = xp.reshape(n_batch, g.groups, channels // g.groups, *xp.shape[2:])
    wg = grouped_weight(w, g.groups)
    y = np.empty((n_batch, *wg.shape[:2], *g.out_size))
    for first, block in g.blocks(channels, n_batch):
        cols = gather(xp[(..., g.rows(first, block), *[slice(None)] * (len(block) - 1))],
                      g.kernel_size, g.stride, g.dilation, block)
        part = wg @ cols.reshape(n_batch, g.groups, wg.shape[-1], math.prod(block))
        y[:, :, :, first:first + block[0]] = part.reshape(*part.shape[:3], *block)
    return y.reshape(n_batch, w.shape[0], *g.out_size)


def correlate_adjoint(grad: np.ndarray, w: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """The adjoint of :func:`correlate` in its input: every output's gradient times the kernel
    scattered back where its taps read, folded back through the padding (the input's gradient;
    with zero padding, a transposed conv)."""
    n_batch, out_channels = grad.shape[:2]
    g = geometry
    wg = grouped_weight(w, g.groups)
    c_per_group = w.shape[1]
    taps = math.prod(g.kernel_size)
    gg = grad.reshape(n_batch, g.groups, out_channels // g.groups, *g.out_size)
    xp = np.zeros((n_batch, g.groups, c_per_group, *g.padded_size))
    wt = np.swapaxes(wg, 1, 2)  # [g, c*T + t, o]
    for first, block in g.blocks(c_per_group * g.groups, n_batch):
        part = gg[:, :, :, first:first + block[0]].reshape(*gg.shape[:3], math.prod(block))
        cols = (wt @ part).reshape(n_batch, g.groups, c_per_group, taps, *block)
        rows = g.rows(first, block)
        xp[(..., rows, *[slice(None)] * (len(block) - 1))] += scatter(
            cols, g.kernel_size, g.stride, g.dilation,
            (rows.stop - rows.start, *g.padded_size[1:]))
    xp = xp.reshape(n_batch, g.groups * c_per_group, *g.padded_size)
    return unpad(xp, g.size, g.pads, mode=g.padding_mode)


def weight_gradient(x: np.ndarray, grad: np.ndarray, geometry: ConvGeometry,
                    weight_shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of :func:`correlate` in its weight: ``dw[g, o, c, t] = sum_{n, i}
    grad[n, g, o, i] * xp[n, g, c, i*s + t*d]``, summed over the batch and the positions."""
    n_batch, channels = x.shape[:2]
    g = geometry
    xp = pad(x, g.pads, mode=g.padding_mode)
    xp = xp.reshape(n_batch, g.groups, channels // g.groups, *xp.shape[2:])
    gg = grad.reshape(n_batch, g.groups, grad.shape[1] // g.groups, *g.out_size)
    dw = np.zeros((g.groups, grad.shape[1] // g.groups, math.prod(weight_shape[1:])))
    for first, block in g.blocks(channels, n_batch):
        cols = gather(xp[(..., g.rows(first, block), *[slice(None)] * (len(block) - 1))],
                      g.kernel_size, g.stride, g.dilation, block)
        cols = cols.reshape(n_batch, g.groups, dw.shape[-1], math.prod(block))
        part = gg[:, :, :, first:first + block[0]].reshape(*gg.shape[:3], math.prod(block))
        dw += np.einsum("ngop,ngkp->gok", part, cols)
    return dw.reshape(weight_shape)


def check_conv(ndim, channels, weight, groups, padding_mode) -> tuple[np.ndarray, int, str]:
    """The weight, groups and padding mode of a conv over ``channels`` input channels,
    validated."""
    w = check_weight(weight, ndim, layout="(out_channels, in_channels/groups, *kernel_size)")
    groups = positive_int("groups", groups)
    padding_mode = choice("padding_mode", padding_mode, tuple(PADDING_MODES))
    out_channels = w.shape[0]
    c_per_group = check_channels(channels, groups, "input channels")
    check_channels(out_channels, groups, "output channels (weight.shape[0])")
    if w.shape[1] != c_per_group:
        raise ValueError(
            f"weight has shape {w.shape}: with {channels} input channels and groups={groups} "
            f"weight.shape[1] must be {c_per_group}"
        )
    return w, groups, padding_mode


def _conv(
    ndim, input, weight, bias, stride, padding, dilation, groups, padding_mode, data_format
) -> np.ndarray:
    x, restore = batched_channels_first(input, ndim, data_format)
    w, groups, padding_mode = check_conv(ndim, x.shape[1], weight, groups, padding_mode)
    b = check_bias(bias, w.shape[0])
    geometry = conv_geometry(x.shape[2:], w.shape[2:], stride, padding, dilation, groups,
                             padding_mode)
    return restore(correlate(x, w, geometry) + b.reshape(-1, *[1] * ndim))


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
