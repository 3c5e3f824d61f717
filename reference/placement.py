"""Where an image-processing library places its window, as the pads of a size-keeping conv.

A filter that keeps the input size reads, at output ``i`` through tap ``j`` (``0 <= j < k``),
the input cell ``i + j - b``: ``b`` cells of padding before and ``k - 1 - b`` after. The
libraries name ``b`` differently:

- scipy.ndimage: ``b = k // 2 + origin``, ``-(k // 2) <= origin <= (k - 1) // 2``. With an even
  kernel and origin 0 the extra cell goes *before* (k = 4: pads (2, 1)), where torch's and
  TensorFlow's 'same' put it after (1, 2).
- OpenCV: ``b = anchor``, ``0 <= anchor < k``; ``-1`` (the default) means ``k // 2``.
"""

from __future__ import annotations

from collections.abc import Sequence

from convparity.reference.arguments import Pair, is_int, per_dim


def _kernel(kernel_size) -> tuple[int, ...]:
    ndim = len(kernel_size) if isinstance(kernel_size, Sequence) else 1
    return per_dim("kernel_size", kernel_size, ndim, minimum=1)


def _per_dim_in(name: str, value, kernel: tuple[int, ...], low, high) -> tuple[int, ...]:
    """``value`` per dim (an int is repeated), each within ``[low(k), high(k)]``."""
    given = value
    if is_int(value):
        value = (value,) * len(kernel)
    values = per_dim(name, value, len(kernel), minimum=-max(kernel))
    for v, k in zip(values, kernel):
        if not low(k) <= v <= high(k):
            raise ValueError(f"{name}={given!r}: a kernel of {k} cells takes {name} "
                             f"{low(k)} to {high(k)}")
    return values


def origin_padding(kernel_size, origin=0) -> tuple[Pair, ...]:
    """scipy.ndimage's placement: ``(k//2 + origin, k - 1 - k//2 - origin)`` per dim."""
    kernel = _kernel(kernel_size)
    origin = _per_dim_in("origin", origin, kernel, lambda k: -(k // 2), lambda k: (k - 1) // 2)
    return tuple((k // 2 + o, k - 1 - k // 2 - o) for k, o in zip(kernel, origin))


def anchor_padding(kernel_size, anchor=-1) -> tuple[Pair, ...]:
    """OpenCV's placement: ``(a, k - 1 - a)`` per dim, anchor ``-1`` being ``k // 2``."""
    kernel = _kernel(kernel_size)
    anchor = _per_dim_in("anchor", anchor, kernel, lambda k: -1, lambda k: k - 1)
    anchor = tuple(k // 2 if a == -1 else a for k, a in zip(kernel, anchor))
    return tuple((a, k - 1 - a) for k, a in zip(kernel, anchor))


def origin_of(pads: Sequence[Pair], kernel_size) -> tuple[int, ...]:
    """The ndimage ``origin`` of size-keeping ``pads`` (``before + after == k - 1``)."""
    kernel = _kernel(kernel_size)
    for (lo, hi), k in zip(pads, kernel, strict=True):
        if lo < 0 or hi < 0 or lo + hi != k - 1:
            raise ValueError(f"pads={list(pads)!r}: a filter of {k} cells keeps the size with "
                             f"pads (b, {k} - 1 - b), 0 <= b < {k}")
    return tuple(lo - k // 2 for (lo, _), k in zip(pads, kernel))
