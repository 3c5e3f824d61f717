"""Max and average pooling, 1-3 spatial dims: the window walk with a reduction instead of a
sum of products. Output position ``i`` sees, through tap ``t``, padded index ``i*s + t*d``::

    max_pool[n, c, i] = max_t xp[n, c, i*s + t*d]          (padding never wins; NaN propagates)
    avg_pool[n, c, i] = sum_t xp[n, c, i*s + t*d] / count[i]

``count[i]`` is the number of taps on input cells, plus those on padding if ``count_include_pad``;
taps past the padding, on the overhang that ``ceil_mode`` adds, never count; ``divisor_override``
replaces it. ``ceil_mode`` rounds the output size up but drops a last window that would start in the
right padding (torch's rule). A window with no tap on the input has no value and is an error.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convparity.reference.arguments import Pair, nonzero_int, padding_pairs, per_dim
from convparity.reference.layout import batched_channels_first
from convparity.reference.windows import pad, pool_output_size, walk


class PoolGeometry(NamedTuple):
    """Validated per-dim pooling parameters. ``overhang`` extends the end past the padding, as
    far as a ``ceil_mode`` window reaches."""

    size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pads: tuple[Pair, ...]
    overhang: tuple[int, ...]
    out_size: tuple[int, ...]

    def padded(self, x: np.ndarray, pad_value: float, overhang_value: float) -> np.ndarray:
        x = pad(x, self.pads, value=pad_value)
        return pad(x, [(0, o) for o in self.overhang], value=overhang_value)

    def views(self, xp: np.ndarray):
        """For every tap, the elements of the padded ``xp`` it sees at every output position."""
        for _, window in walk(self.kernel_size, self.stride, self.dilation, self.out_size):
            yield xp[(..., *window)]

    def tap_counts(self, *, count_pad: bool) -> np.ndarray:
        """For every output position, how many taps land on input cells, plus those on padding
        if ``count_pad``; overhang cells never count."""
        mask = self.padded(np.ones(self.size), 1.0 if count_pad else 0.0, overhang_value=0.0)
        counts = np.zeros(self.out_size)
        for seen in self.views(mask):
            counts += seen
        return counts


def pool_geometry(size, kernel_size, stride, padding, dilation, ceil_mode) -> PoolGeometry:
    ndim = len(size)
    kernel_size = per_dim("kernel_size", kernel_size, ndim, minimum=1)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        stride = kernel_size  # torch: stride defaults to kernel_size (None or [])
    stride = per_dim("stride", stride, ndim, minimum=1)
    dilation = per_dim("dilation", dilation, ndim, minimum=1)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode={ceil_mode!r}: expected a bool")
    pads = padding_pairs(
        padding, input_size=size, kernel_size=kernel_size, stride=stride, dilation=dilation
    )
    out_size = tuple(
        pool_output_size(n, p, k, s, d, bool(ceil_mode))
        for n, p, k, s, d in zip(size, pads, kernel_size, stride, dilation)
    )
    if min(out_size) < 1:
        raise ValueError(
            f"kernel_size={kernel_size} with dilation={dilation} is larger than the padded input "
            f"{tuple(n + lo + hi for n, (lo, hi) in zip(size, pads))} "
            f"(input {tuple(size)}, padding={pads})"
        )
    overhang = tuple(
        max(0, (m - 1) * s + d * (k - 1) + 1 - (n + lo + hi))
        for m, s, d, k, n, (lo, hi) in zip(out_size, stride, dilation, kernel_size, size, pads)
    )
    geometry = PoolGeometry(tuple(size), kernel_size, stride, dilation, pads, overhang, out_size)
    empty = np.argwhere(geometry.tap_counts(count_pad=False) == 0)
    if len(empty):
        raise ValueError(
            f"padding={padding!r} leaves the window at output position "
            f"{tuple(map(int, empty[0]))} with no tap on the input (it lies wholly in padding); "
            f"use less padding"
        )
    return geometry


def _max_pool(ndim, input, kernel_size, stride, padding, dilation, ceil_mode, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    geometry = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    y = np.full((*x.shape[:2], *geometry.out_size), -np.inf)
    for seen in geometry.views(geometry.padded(x, -np.inf, overhang_value=-np.inf)):
        y = np.maximum(y, seen)  # np.maximum propagates NaN; -inf padding never wins
    return restore(y)


def _avg_pool(ndim, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    geometry = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    if divisor_override is None:
        divisor = geometry.tap_counts(count_pad=bool(count_include_pad))
    else:
        divisor = nonzero_int("divisor_override", divisor_override)
    total = np.zeros((*x.shape[:2], *geometry.out_size))
    with np.errstate(invalid="ignore"):  # inf + -inf in one window: NaN, as it should be
        for seen in geometry.views(geometry.padded(x, 0.0, overhang_value=0.0)):
            total += seen
    return restore(total / divisor)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
               data_format="channels_first"):
    """1-D max pooling, ``torch.nn.functional.max_pool1d``'s signature; see the module docstring."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, data_format)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
               data_format="channels_first"):
    """2-D max pooling, ``torch.nn.functional.max_pool2d``'s signature; see the module docstring."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, data_format)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, *,
               data_format="channels_first"):
    """3-D max pooling, ``torch.nn.functional.max_pool3d``'s signature; see the module docstring."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, data_format)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, dilation=1,
               data_format="channels_first"):
    """1-D average pooling, ``torch.nn.functional.avg_pool1d``'s signature (plus
    ``divisor_override`` and ``dilation``); see the module docstring."""
    return _avg_pool(1, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, dilation, data_format)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, dilation=1,
               data_format="channels_first"):
    """2-D average pooling, ``torch.nn.functional.avg_pool2d``'s signature (plus ``dilation``);
    see the module docstring."""
    return _avg_pool(2, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, dilation, data_format)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None, *, dilation=1,
               data_format="channels_first"):
    """3-D average pooling, ``torch.nn.functional.avg_pool3d``'s signature (plus ``dilation``);
    see the module docstring."""
    return _avg_pool(3, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, dilation, data_format)
