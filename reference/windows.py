"""The machinery every op shares: pad, then walk the kernel taps over the padded input.

Notation, per spatial dim: input size ``n``, padding ``(lo, hi)``, kernel size ``k``, stride ``s``,
dilation ``d``. Output position ``i`` sees, through tap ``t`` (``0 <= t < k``), the padded-input
element at ``i*s + t*d``. Walking the taps rather than the output positions turns each step into one
strided slice of the padded input — a view holding, for every output position at once, the
element that this tap sees. Conv gathers through those slices, transposed conv scatters through
them, pooling reduces over them: one walk for every rank and op.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import numpy as np

from convparity.reference.arguments import Pair

# torch's names (and symmetric, NumPy's) -> np.pad's modes
PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap",
                 "symmetric": "symmetric"}


def conv_output_size(size: int, pad: Pair, kernel: int, stride: int, dilation: int) -> int:
    """``floor((n + lo + hi - d*(k-1) - 1) / s) + 1``: the windows that fit in the padded input.

    Zero or negative means no window fits.
    """
    return (size + pad[0] + pad[1] - dilation * (kernel - 1) - 1) // stride + 1


def pool_output_size(
    size: int, pad: Pair, kernel: int, stride: int, dilation: int, ceil_mode: bool
) -> int:
    """Like :func:`conv_output_size`; ``ceil_mode`` rounds up (``ceil(span/s) + 1``, so a last
    window may hang past the padding) but drops a last window that would start in the right
    padding (``(m-1)*s >= n + lo``), torch's rule."""
    span = size + pad[0] + pad[1] - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1  # ceil(span / s) + 1
    if (out - 1) * stride >= size + pad[0]:
        out -= 1
    return out


def pad(
    x: np.ndarray, pads: Sequence[Pair], *, mode: str = "zeros", value: float = 0.0
) -> np.ndarray:
    """Pad the trailing ``len(pads)`` (spatial) axes; leading axes (batch, channel) are untouched.

    ``mode`` is a torch padding mode: zeros (``value``), reflect (mirror about the edge cell:
    ``[c b | a b c | b a]``), replicate (the edge cell repeated), circular (wrap around); or
    symmetric (mirror with the edge cell repeated, ``[b a | a b c | c b]``: NumPy's
    ``symmetric``, scipy.ndimage's ``reflect``, OpenCV's ``BORDER_REFLECT``), whose period
    ``2n`` serves any pad. A negative pad crops that many cells.
    """
    lead = x.ndim - len(pads)
    crop = tuple(slice(max(0, -lo), n - max(0, -hi)) for n, (lo, hi) in zip(x.shape[lead:], pads))
    x = x[(..., *crop)]
    widths = [(0, 0)] * lead + [(max(0, lo), max(0, hi)) for lo, hi in pads]
    if mode == "zeros":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=PADDING_MODES[mode])


def unpad(gradient: np.ndarray, size: Sequence[int], pads: Sequence[Pair], *,
          mode: str = "zeros") -> np.ndarray:
    """The adjoint of :func:`pad`: the padded array's gradient folded back onto the input, each
    padded cell's added to the input cell it copies (zeros copy none; a cropped cell gets
    none)."""
    ndim = len(size)
    source = pad(np.arange(math.prod(size)).reshape(size), pads, mode=mode, value=-1)
    kept = source.ravel() >= 0
    lead = gradient.shape[:-ndim]
    folded = np.zeros((*lead, math.prod(size)))
    flat = gradient.reshape(*lead, kept.size)[..., kept]
    np.add.at(folded, (..., source.ravel()[kept]), flat)
    return folded.reshape(*lead, *size)


def taps(kernel_size: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every kernel tap ``t = (t_1, ..., t_D)``, in C order."""
    return itertools.product(*(range(k) for k in kernel_size))


def tap_window(
    tap: Sequence[int], stride: Sequence[int], dilation: Sequence[int], out_size: Sequence[int]
) -> tuple[slice, ...]:
    """Slices of the padded spatial axes selecting, for every output position ``i``, the element
    ``i*s + t*d`` that tap ``t`` sees."""
    return tuple(
        slice(t * d, t * d + (m - 1) * s + 1, s)
        for t, s, d, m in zip(tap, stride, dilation, out_size, strict=True)
    )


def gather(xp: np.ndarray, kernel_size: Sequence[int], stride: Sequence[int],
           dilation: Sequence[int], out_size: Sequence[int]) -> np.ndarray:
    """What every tap sees: ``cols[..., t, *i] = xp[..., i*s + t*d]``, the taps (in C order) on a
    new axis before the spatial ones."""
    ndim = len(out_size)
    cols = np.empty((*xp.shape[:-ndim], math.prod(kernel_size), *out_size))
    for j, (_, window) in enumerate(walk(kernel_size, stride, dilation, out_size)):
        cols[(..., j, *[slice(None)] * ndim)] = xp[(..., *window)]
    return cols


def scatter(cols: np.ndarray, kernel_size: Sequence[int], stride: Sequence[int],
            dilation: Sequence[int], padded_size: Sequence[int]) -> np.ndarray:
    """The adjoint of :func:`gather`: every tap's values added back where it saw them,
    ``xp[..., i*s + t*d] += cols[..., t, *i]``, into zeros of ``padded_size``."""
    ndim = len(padded_size)
    out_size = cols.shape[-ndim:]
    xp = np.zeros((*cols.shape[:-ndim - 1], *padded_size))
    for j, (_, window) in enumerate(walk(kernel_size, stride, dilation, out_size)):
        xp[(..., *window)] += cols[(..., j, *[slice(None)] * ndim)]
    return xp


def walk(
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    out_size: Sequence[int],
) -> Iterator[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """The window walk: ``(tap, window)`` for every kernel tap, ``window`` as in :func:`tap_window`.

    Index an array ``a`` with ``a[(..., *window)]`` to see, at every output position, the element
    this tap multiplies (conv), receives (transposed conv) or reduces over (pooling).
    """
    for tap in taps(kernel_size):
        yield tap, tap_window(tap, stride, dilation, out_size)

