"""Max and min pooling through ``scipy.ndimage.maximum_filter``/``minimum_filter``, and how
those filters fold NaN (``scipy/ndimage/src/ni_filters.c``), as a rule the harness can judge.

A pool is the filter over the input padded with the fill (-inf for max, +inf for min; the
ceil-mode overhang too), each window placed at its first cell (``origin = -(k // 2)``), read
every stride. The filters take one of two paths:

- **a size** (undilated, or a full footprint): the 1-D filter along each axis in turn, each
  line by R. Harter's ascending extrema, a ring of (value, death) pairs: a new value replaces
  the current extremum if ``val >= extremum`` (max), else it drops the ring's tail while
  ``tail <= val`` and joins it. NaN compares false, so it joins the ring and comes out only
  while it is the oldest value left: ``[1, NaN, 3]`` gives 3, ``[NaN, 3, 0]`` 3 too, ``[NaN,
  3]`` NaN;
- **a footprint** (dilated): each window from its first tap, a later one taken only if
  greater (max) or smaller (min): NaN is kept only as the first tap.
"""

from __future__ import annotations

import numpy as np

from convparity.adapters.filters import (
    fill,
    footprint,
    geometry_of,
    padded,
    padded_batch,
    strided,
)
from convparity.reference.case import Case
from convparity.reference.layout import batched_channels_first
from convparity.reference.pooling import PoolGeometry


def scipy_pool(case: Case, minimum: bool) -> np.ndarray:
    """The pool through SciPy's filter, as a user assembles it (module docstring)."""
    from scipy import ndimage

    xp, read = padded_batch(case, fill(minimum))  # the filter sees the user's type
    geometry = geometry_of(case)
    taps = footprint(geometry)
    origin = [-(n // 2) for n in taps.shape]
    extreme = ndimage.minimum_filter if minimum else ndimage.maximum_filter
    if max(geometry.dilation) == 1:
        found = extreme(xp, size=taps.shape, mode="constant", cval=fill(minimum), origin=origin)
    else:
        found = extreme(xp, footprint=taps, mode="constant", cval=fill(minimum), origin=origin)
    return read(found)


def ndimage_extreme(case: Case, minimum: bool) -> np.ndarray:
    """What :func:`scipy_pool` computes, NaN included, by the filters' own algorithms."""
    x, restore = batched_channels_first(np.asarray(case.input, dtype=np.float64), case.ndim,
                                        case.data_format)
    geometry = geometry_of(case)
    xp = padded(x, geometry, minimum)
    if footprint(geometry).all():  # SciPy filters a full footprint by its size
        found = xp
        for axis, k in enumerate(geometry.kernel_size, start=2):
            if k > 1:
                found = np.apply_along_axis(harter, axis, found, k, minimum)
    else:
        found = first_then_better(xp, geometry, minimum)
    return restore(strided(found, geometry))


def harter(line: np.ndarray, k: int, minimum: bool) -> np.ndarray:
    """SciPy's 1-D running extremum (``NI_MinOrMaxFilter1D``) of windows ``[i, i + k)``, the
    line extended with the fill past its end (``origin = -(k // 2)``): a ring of [value, death]
    pairs, the extremum first; a value at least as good replaces the whole ring, any other
    drops the ring's tail while the tail is no better than it, then joins it."""
    with np.errstate(invalid="ignore"):
        extended = np.concatenate([line, np.full(k - 1, fill(minimum))])
        ring = [[extended[0], k]]
        out = []
        for step in range(1, len(extended)):
            value = extended[step]
            if ring[0][1] == step:
                ring.pop(0)
            if (value <= ring[0][0]) if minimum else (value >= ring[0][0]):
                ring = [[value, step + k]]
            else:
                while (ring[-1][0] >= value) if minimum else (ring[-1][0] <= value):
                    ring.pop()
                ring.append([value, step + k])
            if step >= k - 1:
                out.append(ring[0][0])
    return np.array(out)


def first_then_better(xp: np.ndarray, geometry: PoolGeometry, minimum: bool) -> np.ndarray:
    """Each window over the footprint's taps in C order: the first tap, then a later one only
    if strictly better (NaN never is)."""
    from convparity.reference.windows import taps as kernel_taps

    spans = [(k - 1) * d + 1 for k, d in zip(geometry.kernel_size, geometry.dilation)]
    size = [n - s + 1 for n, s in zip(xp.shape[2:], spans)]
    found = None
    for tap in kernel_taps(geometry.kernel_size):
        seen = xp[(..., *[slice(t * d, t * d + m) for t, d, m in
                          zip(tap, geometry.dilation, size)])]
        if found is None:
            found = seen.copy()
        else:
            with np.errstate(invalid="ignore"):
                take = seen < found if minimum else seen > found
            found = np.where(take, seen, found)
    return found
