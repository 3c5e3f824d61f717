"""Adaptive pooling, 1-3 spatial dims, torch's bins: output cell ``i`` of ``m`` along a dim of
``n`` input cells reduces the bin ``[floor(i*n/m), ceil((i+1)*n/m))`` (bins overlap where ``m``
does not divide ``n``)::

    adaptive_avg_pool[n, c, i] = sum over the bins' box / its size
    adaptive_max_pool[n, c, i] = max over the bins' box              (NaN propagates)

``output_size`` is an int or one entry per dim, ``None`` keeping that dim. Global pooling is
``output_size=1``. A box is the product of its dims' bins, so both reduce one dim at a time;
the average sums first and divides once (exact on integers).
"""

from __future__ import annotations

import numpy as np

from convparity.reference.arguments import is_int
from convparity.reference.layout import batched_channels_first


def bins(n: int, m: int) -> list[tuple[int, int]]:
    """The ``m`` bins ``[floor(i*n/m), ceil((i+1)*n/m))`` over ``n`` cells."""
    return [(i * n // m, -(-(i + 1) * n // m)) for i in range(m)]


def output_sizes(output_size, size: tuple[int, ...]) -> tuple[int, ...]:
    """``output_size`` as one positive int per dim (``None`` entries keep the input's)."""
    ndim = len(size)
    entries = (output_size,) * ndim if output_size is None or is_int(output_size) \
        else tuple(output_size)
    if len(entries) == 1:
        entries = entries * ndim
    if len(entries) != ndim:
        raise ValueError(f"output_size={output_size!r} has {len(entries)} entries; expected an "
                         f"int, None or {ndim} of them (one per spatial dim)")
    found = []
    for entry, n in zip(entries, size):
        if entry is None:
            found.append(n)
        elif not is_int(entry) or entry < 1:
            raise ValueError(f"output_size={output_size!r}: every entry must be an int >= 1 "
                             f"or None")
        else:
            found.append(int(entry))
    return tuple(found)


def _reduce(x: np.ndarray, sizes, reduce) -> np.ndarray:
    """``reduce(block, axis)`` over each dim's bins in turn."""
    for axis, m in enumerate(sizes, start=2):
        n = x.shape[axis]
        x = np.stack([reduce(np.take(x, range(a, b), axis=axis), axis)
                      for a, b in bins(n, m)], axis=axis)
    return x


def _adaptive_avg(ndim, input, output_size, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    sizes = output_sizes(output_size, x.shape[2:])
    with np.errstate(invalid="ignore"):  # inf + -inf in one bin: NaN, as it should be
        total = _reduce(x, sizes, np.sum)
    return restore(total / adaptive_counts(x.shape[2:], sizes))


def adaptive_counts(size, sizes) -> np.ndarray:
    """Each box's number of cells, shaped as the spatial output."""
    count = np.ones(())
    for axis, (n, m) in enumerate(zip(size, sizes)):
        shape = [1] * len(size)
        shape[axis] = m
        count = count * np.array([b - a for a, b in bins(n, m)]).reshape(shape)
    return count


def bins_covering(size, output_size) -> np.ndarray:
    """How many boxes hold each input cell, shaped as the spatial input."""
    count = np.ones(())
    for axis, (n, m) in enumerate(zip(size, output_sizes(output_size, size))):
        along = np.zeros(n)
        for a, b in bins(n, m):
            along[a:b] += 1
        shape = [1] * len(size)
        shape[axis] = n
        count = count * along.reshape(shape)
    return count


def _adaptive_max(ndim, input, output_size, return_indices, data_format):
    x, restore = batched_channels_first(input, ndim, data_format)
    sizes = output_sizes(output_size, x.shape[2:])
    values = _reduce(x, sizes, np.max)  # np.max propagates NaN
    if not return_indices:
        return restore(values)
    return restore(values), restore(argmax_in_bins(x, sizes))


def argmax_in_bins(x: np.ndarray, sizes) -> np.ndarray:
    """Where each box's maximum is, a flat index into the input plane, torch's rule: walking
    the box in order, a cell takes over when greater or NaN (ties stay with the first maximum,
    the last NaN wins)."""
    size = x.shape[2:]
    index = np.zeros((*x.shape[:2], *sizes), dtype=np.int64)
    per_dim = [bins(n, m) for n, m in zip(size, sizes)]
    for out in np.ndindex(*sizes):
        box = [range(*per_dim[d][i]) for d, i in enumerate(out)]
        best = np.full(x.shape[:2], -np.inf)
        where = np.full(x.shape[:2], -1, dtype=np.int64)
        for cell in np.ndindex(*[len(r) for r in box]):
            position = tuple(r[c] for r, c in zip(box, cell))
            seen = x[(..., *position)]
            with np.errstate(invalid="ignore"):
                take = (seen > best) | np.isnan(seen) | (where < 0)
            best = np.where(take, seen, best)
            where = np.where(take, np.ravel_multi_index(position, size), where)
        index[(..., *out)] = where
    return index


def adaptive_avg_pool1d(input, output_size, *, data_format="channels_first"):
    """1-D adaptive average pooling, ``torch.nn.functional.adaptive_avg_pool1d``'s signature;
    see the module docstring."""
    return _adaptive_avg(1, input, output_size, data_format)


def adaptive_avg_pool2d(input, output_size, *, data_format="channels_first"):
    """2-D adaptive average pooling; see :func:`adaptive_avg_pool1d`."""
    return _adaptive_avg(2, input, output_size, data_format)


def adaptive_avg_pool3d(input, output_size, *, data_format="channels_first"):
    """3-D adaptive average pooling; see :func:`adaptive_avg_pool1d`."""
    return _adaptive_avg(3, input, output_size, data_format)


def adaptive_max_pool1d(input, output_size, return_indices=False, *,
                        data_format="channels_first"):
    """1-D adaptive max pooling, ``torch.nn.functional.adaptive_max_pool1d``'s signature (NaN
    propagates; ``return_indices``: see :func:`argmax_in_bins`)."""
    return _adaptive_max(1, input, output_size, return_indices, data_format)


def adaptive_max_pool2d(input, output_size, return_indices=False, *,
                        data_format="channels_first"):
    """2-D adaptive max pooling; see :func:`adaptive_max_pool1d`."""
    return _adaptive_max(2, input, output_size, return_indices, data_format)


def adaptive_max_pool3d(input, output_size, return_indices=False, *,
                        data_format="channels_first"):
    """3-D adaptive max pooling; see :func:`adaptive_max_pool1d`."""
    return _adaptive_max(3, input, output_size, return_indices, data_format)
