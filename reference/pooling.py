"""Max, min and average pooling, 1-3 spatial dims: the window walk with a reduction instead of
a sum of products. Output position ``i`` sees, through tap ``t``, padded index ``i*s + t*d``::

    max_pool[n, c, i] = max_t xp[n, c, i*s + t*d]          (padding never wins; NaN propagates)
    min_pool[n, c, i] = -max_pool(-x)[n, c, i]              (negation is exact: the same rules)
    avg_pool[n, c, i] = sum_t xp[n, c, i*s + t*d] / count[i]

``count[i]`` is the number of taps on input cells, plus those on padding if ``count_include_pad``;
taps past the padding, on the overhang that ``ceil_mode`` adds, never count; ``divisor_override``
replaces it. ``ceil_mode`` rounds the output size up but drops a last window that would start in the
right padding (torch's rule). A window with no tap on the input has no value and is an error.
"""

from __future__ import annotations

import math
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

    def positions(self, tap) -> tuple[np.ndarray, np.ndarray]:
        """For tap ``t``: the flat index into an input plane of the cell each output position
        ``i`` sees (``i*s + t*d - lo`` per dim), and whether that cell is on the input."""
        axes = [np.arange(m) * s + t * d - lo for m, s, t, d, (lo, _) in
                zip(self.out_size, self.stride, tap, self.dilation, self.pads)]
        grids = np.meshgrid(*axes, indexing="ij")
        inside = np.logical_and.reduce([(g >= 0) & (g < n) for g, n in zip(grids, self.size)])
        clipped = [np.clip(g, 0, n - 1) for g, n in zip(grids, self.size)]
        return np.ravel_multi_index(clipped, self.size), inside

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


def _max_pool(ndim, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    geometry = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    if return_indices:
        values, indices = argmax(x, geometry)
        return restore(values), restore(indices)
    y = np.full((*x.shape[:2], *geometry.out_size), -np.inf)
    for seen in geometry.views(geometry.padded(x, -np.inf, overhang_value=-np.inf)):
        y = np.maximum(y, seen)  # np.maximum propagates NaN; -inf padding never wins
    return restore(y)


def _min_pool(ndim, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              data_format):
    """``-max_pool(-x)``: negation is exact, so NaN propagates, padding never wins and ties go
    to the first minimum, each as in max pooling."""
    negated = -np.asarray(input, dtype=np.float64)
    found = _max_pool(ndim, negated, kernel_size, stride, padding, dilation, ceil_mode,
                      return_indices, data_format)
    if return_indices:
        values, indices = found
        return -values, indices
    return -found


def argmax(x: np.ndarray, geometry: PoolGeometry, *,
           nan_wins: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Each window's maximum and where it is, as a flat index into the input plane, torch's
    rule: walking the window in order, a tap on the input takes over when its value is greater
    or is NaN (ties stay with the first maximum; NaN wins, the last NaN); the index starts at
    the window's first tap on the input (an all ``-inf`` window points there). With
    ``nan_wins=False`` only a greater value takes over, so a NaN holds only as the first tap
    (TensorFlow's MaxPoolGrad rule)."""
    xp = geometry.padded(x, -np.inf, overhang_value=-np.inf)
    best = np.full((*x.shape[:2], *geometry.out_size), -np.inf)
    index = np.full(best.shape, -1, dtype=np.int64)
    for tap, window in walk(geometry.kernel_size, geometry.stride, geometry.dilation,
                            geometry.out_size):
        seen = xp[(..., *window)]
        flat, inside = geometry.positions(tap)
        with np.errstate(invalid="ignore"):
            take = inside & ((seen > best) | (nan_wins & np.isnan(seen)) | (index < 0))
        best = np.where(take, seen, best)
        index = np.where(take, flat, index)
    return best, index


def average_divisor(geometry: PoolGeometry, count_include_pad, divisor_override):
    """What each window's sum is divided by: ``divisor_override``, else its taps on the input
    (plus those on padding if ``count_include_pad``)."""
    if divisor_override is None:
        return geometry.tap_counts(count_pad=bool(count_include_pad))
    return nonzero_int("divisor_override", divisor_override)


def _avg_pool(ndim, input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, dilation, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    geometry = pool_geometry(x.shape[2:], kernel_size, stride, padding, dilation, ceil_mode)
    divisor = average_divisor(geometry, count_include_pad, divisor_override)
    total = np.zeros((*x.shape[:2], *geometry.out_size))
    with np.errstate(invalid="ignore"):  # inf + -inf in one window: NaN, as it should be
        for seen in geometry.views(geometry.padded(x, 0.0, overhang_value=0.0)):
            total += seen
    return restore(total / divisor)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, data_format="channels_first"):
    """1-D max pooling, ``torch.nn.functional.max_pool1d``'s signature; see the module docstring
    (``return_indices``: also where each maximum is, see :func:`argmax`)."""
    return _max_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, data_format="channels_first"):
    """2-D max pooling, ``torch.nn.functional.max_pool2d``'s signature; see
    :func:`max_pool1d`."""
    return _max_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, data_format="channels_first"):
    """3-D max pooling, ``torch.nn.functional.max_pool3d``'s signature; see
    :func:`max_pool1d`."""
    return _max_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format)


def min_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, data_format="channels_first"):
    """1-D min pooling, :func:`max_pool1d`'s signature: each window's minimum, NaN propagating
    (``return_indices``: where it is, the first minimum, or the NaN that won)."""
    return _min_pool(1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format)


def min_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, data_format="channels_first"):
    """2-D min pooling; see :func:`min_pool1d`."""
    return _min_pool(2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format)


def min_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False, *, data_format="channels_first"):
    """3-D min pooling; see :func:`min_pool1d`."""
    return _min_pool(3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     data_format)


def _max_unpool(ndim, input, indices, kernel_size, stride, padding, output_size, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    where, _ = batched_channels_first(indices, ndim, data_format, name="indices")
    if where.shape != x.shape:
        raise ValueError(f"indices has shape {np.shape(indices)}; expected the input's, "
                         f"{np.shape(input)}")
    if not np.all(where == np.round(where)):
        raise TypeError("indices: expected integers (max_pool's return_indices)")
    kernel_size = per_dim("kernel_size", kernel_size, ndim, minimum=1)
    stride = kernel_size if stride is None else per_dim("stride", stride, ndim, minimum=1)
    pads = per_dim("padding", padding, ndim, minimum=0)
    if output_size is None:
        size = tuple((n - 1) * s - 2 * p + k for n, s, p, k in
                     zip(x.shape[2:], stride, pads, kernel_size))
    else:
        size = tuple(output_size)[-ndim:]
        per_dim("output_size", size, ndim, minimum=1)
    planes = math.prod(size)
    flat = where.reshape(*x.shape[:2], -1).astype(np.int64)
    if flat.size and (flat.min() < 0 or flat.max() >= planes):
        raise ValueError(f"indices: every index must lie in the output plane of {size} "
                         f"({planes} cells), got {int(flat.min())}..{int(flat.max())}")
    y = np.zeros((*x.shape[:2], planes))
    np.put_along_axis(y, flat, x.reshape(*x.shape[:2], -1), axis=-1)
    return restore(y.reshape(*x.shape[:2], *size))


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None, *,
                 data_format="channels_first"):
    """``torch.nn.functional.max_unpool1d``: each value put back at its index in a zero plane of
    ``output_size`` (default ``(n-1)*s - 2*p + k`` per dim)."""
    return _max_unpool(1, input, indices, kernel_size, stride, padding, output_size, data_format)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None, *,
                 data_format="channels_first"):
    """``torch.nn.functional.max_unpool2d``; see :func:`max_unpool1d`."""
    return _max_unpool(2, input, indices, kernel_size, stride, padding, output_size, data_format)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None, *,
                 data_format="channels_first"):
    """``torch.nn.functional.max_unpool3d``; see :func:`max_unpool1d`."""
    return _max_unpool(3, input, indices, kernel_size, stride, padding, output_size, data_format)


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
