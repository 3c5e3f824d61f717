"""Max and min pooling through OpenCV's ``dilate``/``erode``, and how they fold NaN (x86), as a
rule the harness can judge: bit-exact on 12,000 random NaN/±inf cases under AVX2, SSE4.1 and
the SSE3 baseline (OpenCV 5.1, ``modules/imgproc/src/morph.simd.hpp``).

A pool is the filter over the input padded with the fill (:mod:`convparity.adapters.filters`),
the mask the dilated kernel's taps, anchor ``(0, 0)``. Two operators fold each window:

- the vector ``v_max(a, b) = a > b ? a : b`` (``_mm_max_ps``): a left fold is NaN when its *last*
  operand is, else the max of the operands after the last NaN;
- the scalar ``std::max(a, b) = a < b ? b : a``: NaN when its *first* operand is, else the max of
  the others.

float32's first ``vector_columns(W)`` output columns take the vector operator (morphology is
built for SSE and AVX2 only: 8 lanes with AVX2, else 4); float64 has no vector path. A full
rectangle runs a row pass then a column pass; the scalar path shares the inner taps of two
neighbouring outputs (``m = s[1] op ... op s[k-1]``, then ``op(m, s[0])`` and ``op(m, s[k])``);
the row pass's vector outputs fold their taps in order, the column pass pairs rows for every
column (in the chunks of rows FilterEngine hands it), each column with its own operator. Any
other mask folds its taps in row-major order. Dilate is max, erode min.
"""

from __future__ import annotations

import numpy as np

from convparity.adapters.filters import each_plane, fill, footprint, geometry_of, padded_batch
from convparity.reference.case import Case

AVX2 = 11  # OpenCV's CPU feature id (cv::CPU_AVX2)


def lanes() -> int:
    """float32 lanes of the morphology kernels OpenCV dispatches here (``OPENCV_CPU_DISABLE``
    included)."""
    import cv2

    return 8 if cv2.checkHardwareSupport(AVX2) else 4


def opencv_pool(case: Case, minimum: bool) -> np.ndarray:
    """The pool through ``cv2.erode``/``dilate``, one call per image and channel."""
    import cv2

    def extreme(xp, mask):
        op = cv2.erode if minimum else cv2.dilate
        return op(xp, mask.astype(np.uint8), anchor=(0, 0), borderType=cv2.BORDER_CONSTANT,
                  borderValue=fill(minimum))

    return _pooled(case, minimum, extreme)


def opencv_extreme(case: Case, minimum: bool) -> np.ndarray:
    """What :func:`opencv_pool` computes, NaN included, by the folds in the module docstring."""
    vector = lanes()
    return _pooled(case, minimum, lambda xp, mask: fold_image(xp, mask, minimum, vector))


def _pooled(case: Case, minimum: bool, extreme) -> np.ndarray:
    xp, read = padded_batch(case, fill(minimum))
    mask = footprint(geometry_of(case))[0, 0]
    return read(each_plane(xp, lambda plane: extreme(plane, mask)))


def _vector_op(a, b, minimum):
    with np.errstate(invalid="ignore"):
        return np.where(a < b, a, b) if minimum else np.where(a > b, a, b)


def _scalar_op(a, b, minimum):
    with np.errstate(invalid="ignore"):
        return np.where(b < a, b, a) if minimum else np.where(a < b, b, a)


def vector_columns(width: int, lanes_: int) -> int:
    """How many leading outputs of a row the vector loop takes: blocks of 4n, then 2n, n, n/2."""
    if lanes_ == 0:
        return 0
    i = 0
    while i <= width - 4 * lanes_:
        i += 4 * lanes_
    for block in (2 * lanes_, lanes_, lanes_ // 2):
        if i <= width - block:
            i += block
    return i


def fold_image(xp: np.ndarray, mask: np.ndarray, minimum: bool, lanes_: int) -> np.ndarray:
    """``dilate``/``erode`` of one 2-D image, anchor (0, 0), the border the fill."""
    if xp.dtype == np.float64:
        lanes_ = 0
    height, width = xp.shape
    kh, kw = mask.shape
    if kh * kw == 1:
        return xp.copy()
    p = np.full((height + kh - 1, width + kw - 1), fill(minimum), xp.dtype)
    p[:height, :width] = xp
    first_scalar = vector_columns(width, lanes_)
    vector = np.arange(width) < first_scalar

    def op(a, b):  # per output column: the vector operator where its column is vectorised
        return np.where(vector, _vector_op(a, b, minimum), _scalar_op(a, b, minimum))

    if not mask.all():
        taps = [p[i:i + height, j:j + width] for i, j in zip(*np.nonzero(mask))]
        found = taps[0]
        for tap in taps[1:]:
            found = op(found, tap)
        return found
    rows = np.empty((height + kh - 1, width), xp.dtype)  # the row pass, along each row
    for i in range(first_scalar):  # vector outputs fold their taps in order
        found = p[:, i]
        for t in range(1, kw):
            found = _vector_op(found, p[:, i + t], minimum)
        rows[:, i] = found
    scalar = _paired(p.T[first_scalar:], kw, width - first_scalar, [width - first_scalar],
                     lambda a, b: _scalar_op(a, b, minimum))
    rows[:, first_scalar:] = scalar.T
    return _paired(rows, kh, height, _column_chunks(height, kh), op)


def _column_chunks(height: int, kh: int) -> list[int]:
    """The row counts FilterEngine hands the column pass: its buffer holds
    ``max(kh + 3, 2*kh - 1)`` rows."""
    step = max(kh + 3, 2 * kh - 1) - kh + 1
    return [min(step, height - start) for start in range(0, height, step)]


def _paired(lines: np.ndarray, k: int, count: int, chunks, op) -> np.ndarray:
    """``count`` outputs along axis 0, output ``i`` folding ``lines[i:i + k]``: within each
    chunk, outputs go in pairs sharing their inner taps (``m = lines[i+1] op ... op
    lines[i+k-1]``, then ``op(m, lines[i])`` and ``op(m, lines[i+k])``), an odd last one folded
    in order."""
    if k == 1:
        return lines[:count].copy()
    out = np.empty((count, *lines.shape[1:]), lines.dtype)
    i = 0
    for chunk in chunks:
        end = i + chunk
        while end - i > 1:
            inner = lines[i + 1]
            for t in range(2, k):
                inner = op(inner, lines[i + t])
            out[i], out[i + 1] = op(inner, lines[i]), op(inner, lines[i + k])
            i += 2
        while i < end:
            found = lines[i]
            for t in range(1, k):
                found = op(found, lines[i + t])
            out[i] = found
            i += 1
    return out
