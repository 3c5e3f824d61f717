"""ONNX Runtime's float32 max pool as its MLAS kernels compute it (``onnxruntime/core/mlas/lib/
pooling.cpp``, used where no dilation and no indices are asked for): which kernel runs, and in
what order, from what start and with which operand order each folds a window — which decides
where a NaN or -inf goes.

Two maxima fold a window, and they differ only on NaN::

    keep(m, x) = m if m > x else x      (SSE _mm_max_ps(m, x): a NaN either side gives x)
    take(m, x) = x if m < x else m      (std::max(m, x): a NaN x is never taken)

The kernel, chosen by the geometry (``lowest`` is float32's lowest finite value):

- **global** (the kernel covers the input, stride 1, no padding): four lanes ``keep`` every
  fourth cell of the flattened plane from ``lowest``, then ``keep(keep(l0, l2), keep(l1, l3))``,
  then ``take`` the cells past the last whole four;
- **vector** (2-D and 3-D, last stride at most 2, every kernel dim at most 32): per output row,
  each input column is folded over the window's clamped rows (and planes) — in 2-D from its
  first row, in 3-D from ``lowest`` — with ``keep`` in the columns of whole four-vectors and
  ``take`` in the rest; the column maxima, ``lowest`` in the padding, are then folded along
  the row with ``keep``, from each window's first cell;
- **generic** otherwise: ``take`` over the window's input cells from ``lowest`` (the max of the
  non-NaN cells, else ``lowest``).
"""

from __future__ import annotations

import numpy as np

from convparity.reference.case import Case
from convparity.reference.layout import batched_channels_first
from convparity.reference.pooling import PoolGeometry, pool_geometry
from convparity.reference.windows import walk

LOWEST = float(np.finfo(np.float32).min)
LANES = 4  # an SSE vector of float32
MAX_VECTOR_KERNEL = 32
REDUCTION_BUFFER = 2048 - (LANES - 1)


def keep(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``m if m > x else x``, element by element."""
    with np.errstate(invalid="ignore"):
        return np.where(m > x, m, x)


def take(m: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x if m < x else m``, element by element."""
    with np.errstate(invalid="ignore"):
        return np.where(m < x, x, m)


def mlas_max_pool(case: Case) -> np.ndarray:
    """The float32 max pool of an undilated ``case`` as MLAS computes it (module docstring)."""
    if max(case.dilations) > 1:
        raise ValueError(f"dilation={case.dilation!r}: MLAS pools only undilated windows")
    x, restore = batched_channels_first(np.asarray(case.input, dtype=np.float64), case.ndim,
                                        case.data_format)
    geometry = pool_geometry(x.shape[2:], case.kernel_size, case.stride, case.padding,
                             case.dilation, case.ceil_mode)
    if kernel(geometry) == "global":
        return restore(global_max(x))
    if kernel(geometry) == "vector":
        return restore(vector_max(x, geometry))
    return restore(generic_max(x, geometry))


def kernel(geometry: PoolGeometry) -> str:
    """Which MLAS kernel pools ``geometry``: ``"global"``, ``"vector"`` or ``"generic"``."""
    no_padding = all(lo == hi == 0 for lo, hi in geometry.pads)
    if geometry.kernel_size == geometry.size and set(geometry.stride) == {1} and no_padding:
        return "global"
    lo, hi = geometry.pads[-1]
    if (len(geometry.size) >= 2 and geometry.stride[-1] <= 2
            and max(geometry.kernel_size) <= MAX_VECTOR_KERNEL
            and geometry.size[-1] + lo + hi <= REDUCTION_BUFFER):
        return "vector"
    return "generic"


def global_max(x: np.ndarray) -> np.ndarray:
    """The global kernel: four ``keep`` lanes, joined pairwise, then ``take`` over the tail."""
    flat = x.reshape(*x.shape[:2], -1)
    whole = flat.shape[-1] // LANES * LANES
    lanes = np.full((*x.shape[:2], LANES), LOWEST)
    for start in range(0, whole, LANES):
        lanes = keep(lanes, flat[..., start:start + LANES])
    m = keep(keep(lanes[..., 0], lanes[..., 2]), keep(lanes[..., 1], lanes[..., 3]))
    for cell in range(whole, flat.shape[-1]):
        m = take(m, flat[..., cell])
    return m.reshape(*x.shape[:2], *[1] * (x.ndim - 2))


def generic_max(x: np.ndarray, geometry: PoolGeometry) -> np.ndarray:
    """The generic kernels: ``take`` over each window's input cells from ``lowest`` (padding
    cells, as NaN, are never taken)."""
    xp = geometry.padded(x, np.nan, overhang_value=np.nan)
    m = np.full((*x.shape[:2], *geometry.out_size), LOWEST)
    for _, window in walk(geometry.kernel_size, geometry.stride, geometry.dilation,
                          geometry.out_size):
        m = take(m, xp[(..., *window)])
    return m


def vector_max(x: np.ndarray, geometry: PoolGeometry) -> np.ndarray:
    """The vector kernels: per output row, column maxima over the window's rows (and planes),
    then each window's ``keep`` fold along the row of them."""
    *lead, width = geometry.size
    *lead_out, width_out = geometry.out_size
    y = np.empty((*x.shape[:2], *geometry.out_size))
    vector_columns = np.arange(width) < width // LANES * LANES
    for row in np.ndindex(*lead_out):
        ranges = [clamped_rows(o, s, k, lo, n) for o, s, k, (lo, _), n in
                  zip(row, geometry.stride, geometry.kernel_size, geometry.pads, lead)]
        cells = x[(..., *[slice(a, b) for a, b in ranges], slice(None))]
        cells = cells.reshape(*x.shape[:2], -1, width)  # plane-major rows of the window
        column = cells[..., 0, :] if len(lead) == 1 else np.full(cells[..., 0, :].shape, LOWEST)
        for r in range(1 if len(lead) == 1 else 0, cells.shape[-2]):
            column = np.where(vector_columns, keep(column, cells[..., r, :]),
                              take(column, cells[..., r, :]))
        y[(..., *row, slice(None))] = along_row(column, geometry, width_out)
    return y


def clamped_rows(out: int, stride: int, kernel_size: int, lo: int, n: int) -> tuple[int, int]:
    """The input rows ``[start, end)`` a window covers, clamped to the input."""
    start = out * stride - lo
    return max(start, 0), min(start + kernel_size, n)


def along_row(column: np.ndarray, geometry: PoolGeometry, width_out: int) -> np.ndarray:
    """Each window's ``keep`` fold from its first cell over the column maxima, with ``lowest``
    in the padding (and past it, where a ceil-mode window overhangs)."""
    (lo, _), k, s = geometry.pads[-1], geometry.kernel_size[-1], geometry.stride[-1]
    starts = np.arange(width_out) * s
    reach = int(starts[-1]) + k
    buffer = np.full((*column.shape[:-1], max(reach, lo + column.shape[-1])), LOWEST)
    buffer[..., lo:lo + column.shape[-1]] = column
    m = buffer[..., starts]
    for t in range(1, k):
        m = keep(m, buffer[..., starts + t])
    return m
