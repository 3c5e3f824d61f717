"""SciPy's ``signal.correlate2d`` and ``signal.convolve2d``, on the shared window walk.

With ``xp`` the first input padded according to ``mode`` and ``boundary``::

    correlate2d(a, k)[i] = sum_t k[t] * xp[i + t]
    convolve2d(a, k)     = correlate2d(a, k[::-1, ::-1])   with the padding mirrored

Padding per dim, for a kernel of ``M`` cells: ``full`` pads ``(M-1, M-1)``; ``valid`` none;
``same`` keeps the input size, padding ``(floor((M-1)/2), ceil((M-1)/2))`` to correlate (like
TensorFlow's SAME) and the mirror image ``(ceil, floor)`` to convolve. ``boundary``: ``fill``
(``fillvalue``), ``wrap`` (circular), ``symm`` (mirror with the edge repeated, NumPy's
``symmetric``). In ``valid`` mode, as in SciPy, the inputs swap if the second is the larger in every
dim (the correlation is then reversed).
"""

from __future__ import annotations

import numbers

import numpy as np

from convparity.reference.dtypes import as_float64
from convparity.reference.windows import walk

MODES = ("full", "valid", "same")
BOUNDARIES = {
    "fill": "constant", "pad": "constant",
    "wrap": "wrap", "circular": "wrap",
    "symm": "symmetric", "symmetric": "symmetric",
}


def signal_pads(mode: str, kernel_size, *, flip: bool) -> tuple[tuple[int, int], ...]:
    """The padding of in1 for ``mode``, per dim (see the module docstring)."""
    if mode == "full":
        return tuple((m - 1, m - 1) for m in kernel_size)
    if mode == "valid":
        return tuple((0, 0) for _ in kernel_size)
    pads = tuple(((m - 1) // 2, m // 2) for m in kernel_size)  # (floor, ceil) of (M-1)/2
    return tuple((hi, lo) for lo, hi in pads) if flip else pads


def _check_2d(name: str, value) -> np.ndarray:
    array = as_float64(name, value)
    if array.ndim != 2 or 0 in array.shape:
        raise ValueError(f"{name} has shape {array.shape}; expected a non-empty 2-D array")
    return array


def _signal2d(in1, in2, mode, boundary, fillvalue, *, flip: bool) -> np.ndarray:
    a, k = _check_2d("in1", in1), _check_2d("in2", in2)
    if mode not in MODES:
        raise ValueError(f"mode={mode!r}: expected one of {', '.join(map(repr, MODES))}")
    if boundary not in BOUNDARIES:
        raise ValueError(
            f"boundary={boundary!r}: expected one of {', '.join(map(repr, BOUNDARIES))}"
        )
    if not isinstance(fillvalue, numbers.Real):
        raise TypeError(f"fillvalue={fillvalue!r}: expected a real number")

    swapped = False
    if mode == "valid":
        if not all(n >= m for n, m in zip(a.shape, k.shape)):
            if not all(m >= n for m, n in zip(k.shape, a.shape)):
                raise ValueError(
                    f"mode='valid' needs one input at least as large as the other in every dim; "
                    f"got in1 {a.shape} and in2 {k.shape}"
                )
            a, k, swapped = k, a, True
    if flip:
        k = k[::-1, ::-1]
    pads = signal_pads(mode, k.shape, flip=flip)
    np_mode = BOUNDARIES[boundary]
    if np_mode == "constant":
        xp = np.pad(a, pads, mode="constant", constant_values=float(fillvalue))
    else:
        xp = np.pad(a, pads, mode=np_mode)

    out_size = tuple(n - m + 1 for n, m in zip(xp.shape, k.shape))
    y = np.zeros(out_size)
    for tap, window in walk(k.shape, (1, 1), (1, 1), out_size):
        y += k[tap] * xp[window]  # y[i] += k[t] * xp[i + t]
    if swapped and not flip:
        y = y[::-1, ::-1]
    return y


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """``scipy.signal.correlate2d`` for real inputs; see the module docstring."""
    return _signal2d(in1, in2, mode, boundary, fillvalue, flip=False)


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0):
    """``scipy.signal.convolve2d`` for real inputs (kernel flipped); see the module docstring."""
    return _signal2d(in1, in2, mode, boundary, fillvalue, flip=True)
