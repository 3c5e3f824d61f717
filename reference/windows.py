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
from collections.abc import Iterator, Sequence

import numpy as np

from convparity.reference.arguments import Pair

PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


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

    ``mode`` is a torch padding mode: zeros (``value``), reflect (mirror, edge not repeated),
    replicate (edge repeated), circular (wrap around).
    """
    widths = [(0, 0)] * (x.ndim - len(pads)) + [tuple(p) for p in pads]
    if mode == "zeros":
        return np.pad(x, widths, mode="constant", constant_values=value)
    return np.pad(x, widths, mode=PADDING_MODES[mode])


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

