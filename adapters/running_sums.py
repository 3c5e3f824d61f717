"""Average pooling through box filters that keep a running sum: OpenCV's ``blur``/``boxFilter``
and SciPy's ``ndimage.uniform_filter``, and what a running sum computes instead of each
window's own sum.

A pool is the filter over the input zero-padded as the pool pads it (count_include_pad), each
window placed at its first cell, read every stride (:mod:`convparity.adapters.filters`). Both
libraries sum in double, but along a line they update one sum, ``s_{i+1} = s_i + x_{i+k} - x_i``
(in some order), instead of summing each window afresh. Two things follow:

- a NaN or infinity that enters the sum never leaves it: ``inf - inf`` is NaN, so every later
  window along that line comes out NaN (even a 1x1 OpenCV blur poisons the cells below);
- the rounding error of output ``i`` grows with what the sum has seen, not what its window
  holds: ``|s^_i - s_i| <= gamma_{r_i}(u) * (E_i + L_i)``, ``r_i`` the roundings so far, ``E_i``
  the magnitudes of the cells added, ``L_i`` of those subtracted (Higham §3.1 applied to the
  chain of additions), which cancellation can make far larger than the window's own.

The orders (bit-exact on 2,600 random cases, NaN/inf included; OpenCV 5.1, SciPy 1.17):

- **OpenCV**, kernels up to 5x5 (its ``BlockSum`` path): each row window summed directly,
  ``((0 + a_0) + a_1) + ...``; down each column ``s = SUM + row_i``, output
  ``T(s * fl(1/(kh*kw)))``, then ``SUM = s - row_{i-kh+1}``, never reset;
- **SciPy**, one pass per axis whose size exceeds 1, each stored in the input dtype: ``t =
  ((0 + a_0) + ... + a_{k-1})``, output ``t / k``, then ``t = t + (a_{l+k-1} - a_{l-1})``.
"""

from __future__ import annotations

import numpy as np

from convparity.adapters.filters import each_plane, padded_batch
from convparity.reference.case import Case
from convparity.reference.numerics import SMALLEST_EXPONENT, dtype_name
from convparity.reference.tolerance import gamma, unit_roundoff

DOUBLE = unit_roundoff("float64")


def opencv_pool(case: Case, call) -> np.ndarray:
    """The pool through ``call(plane, (kw, kh))`` (``cv2.blur`` as the adapter calls it), one
    call per image and channel."""
    xp, read = padded_batch(case, 0.0)
    kh, kw = case.kernel
    return read(each_plane(xp, lambda plane: call(plane, (kw, kh))))


def scipy_pool(case: Case, call) -> np.ndarray:
    """The pool through ``call(array, size)`` (``ndimage.uniform_filter`` with the batch and
    channel sizes 1), on the whole batch at once."""
    xp, read = padded_batch(case, 0.0)
    return read(call(xp, (1, 1, *case.kernel)))


def _windows(a: np.ndarray, k: int, axis: int) -> np.ndarray:
    """``sum(a[..., i:i+k, ...])`` along ``axis`` for every ``i``, zeros past the end."""
    a = np.moveaxis(a, axis, -1)
    padded = np.concatenate([a, np.zeros((*a.shape[:-1], k - 1))], axis=-1)
    found = sum(padded[..., t:t + a.shape[-1]] for t in range(k))
    return np.moveaxis(found, -1, axis)


def _seen(magnitudes: np.ndarray, k: int, axis: int) -> np.ndarray:
    """``E_i + L_i`` along ``axis``: the magnitudes added up to ``i + k - 1`` and subtracted
    before ``i``."""
    a = np.moveaxis(magnitudes, axis, -1)
    total = np.cumsum(a, axis=-1)
    added = total[..., np.minimum(np.arange(a.shape[-1]) + k - 1, a.shape[-1] - 1)]
    left = np.concatenate([np.zeros((*a.shape[:-1], 1)), total[..., :-1]], axis=-1)
    return np.moveaxis(added + left, -1, axis)


def _steps(n: int, axis: int, ndim: int) -> np.ndarray:
    """``i`` along ``axis`` (broadcastable)."""
    shape = [1] * ndim
    shape[axis] = n
    return np.arange(n).reshape(shape)


def opencv_sums(xp: np.ndarray, kh: int, kw: int) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.blur(xp, (kw, kh), anchor=(0, 0), BORDER_CONSTANT)`` of a batch of planes (the last
    two axes) in OpenCV's order, and the bound on each output's error; see the module
    docstring."""
    if kh > 5 or kw > 5:
        raise ValueError(f"kernel ({kh}, {kw}): the model covers OpenCV's BlockSum path, "
                         f"kernels up to 5x5")
    dtype = xp.dtype
    height = xp.shape[-2]
    with np.errstate(all="ignore"):
        rows = _windows(xp.astype(np.float64), kw, -1)  # ((0 + a_0) + a_1) + ...
        below = np.concatenate([rows, np.zeros((*rows.shape[:-2], kh - 1, rows.shape[-1]))], -2)
        scale = 1.0 / (kh * kw)
        running = np.zeros(rows.shape[:-2] + rows.shape[-1:])
        for r in range(kh - 1):
            running = running + below[..., r, :]
        out = np.empty(rows.shape)
        for i in range(height):
            s = running + below[..., i + kh - 1, :]
            out[..., i, :] = s * scale
            running = s - below[..., i, :]
        magnitudes = _windows(np.abs(xp.astype(np.float64)), kw, -1)
        roundings = 2 * _steps(height, -2, xp.ndim) + kh + kw + 2
        bound = gamma(roundings, DOUBLE) * _seen(magnitudes, kh, -2) * scale
    return out.astype(dtype), bound


def scipy_sums(xp: np.ndarray, size) -> tuple[np.ndarray, np.ndarray]:
    """``ndimage.uniform_filter(xp, size, mode='constant', origin=-(k // 2))`` in SciPy's order,
    and the bound on each output's error: per pass, the running sum's, the division's and the
    storage rounding's, plus the window mean of the previous pass's bound."""
    dtype = xp.dtype
    stored = unit_roundoff(dtype_name(dtype))
    values, bound = xp, np.zeros(xp.shape)
    with np.errstate(all="ignore"):
        for axis, k in enumerate(size):
            if k == 1:
                continue
            line = np.moveaxis(values.astype(np.float64), axis, -1)
            padded = np.concatenate([line, np.zeros((*line.shape[:-1], k - 1))], axis=-1)
            out = np.empty(line.shape)
            t = np.zeros(line.shape[:-1])
            for j in range(k):
                t = t + padded[..., j]
            out[..., 0] = t / k
            for j in range(1, line.shape[-1]):
                t = t + (padded[..., j + k - 1] - padded[..., j - 1])
                out[..., j] = t / k
            out = np.moveaxis(out, -1, axis)
            magnitudes = np.abs(values.astype(np.float64))
            roundings = 2 * _steps(values.shape[axis], axis, values.ndim) + k + 1
            bound = (_windows(bound, k, axis) / k
                     + gamma(roundings, DOUBLE) * _seen(magnitudes, k, axis) / k
                     + stored * _windows(magnitudes, k, axis) / k)
            values = out.astype(dtype)
    return values, bound


def answer(case: Case, sums) -> tuple[np.ndarray, np.ndarray]:
    """The pool computed by ``sums`` (:func:`opencv_sums` or :func:`scipy_sums` on the
    zero-padded batch): where it is finite, the oracle's mean within the running sum's bound
    (plus the final rounding and half the dtype's smallest subnormal); where a NaN or infinity
    poisoned it, its NaN or infinity."""
    xp, read = padded_batch(case, 0.0)
    values, bound = sums(xp)
    values, bound = read(values), read(bound)
    expected = case.expected()
    finite = np.isfinite(values)
    name = dtype_name(case.dtype)
    with np.errstate(invalid="ignore"):
        bound = bound + unit_roundoff(name) * np.abs(expected) \
            + 2.0 ** (SMALLEST_EXPONENT[name] - 1)
    return np.where(finite, expected, values), np.where(finite, bound, 0.0)
