"""A second, independent oracle: one output element at a time, straight from the index formulas.

Nothing here pads, slices or reuses the oracle's machinery: out-of-range reads are resolved by
index arithmetic (``read``), output sizes by the textbook formulas, transposed conv by *gathering*
(which input cell and tap land on this output cell?) instead of scattering. Slow, so tests keep
shapes small.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from convparity.reference.case import Case


def _channels_first(case: Case) -> np.ndarray:
    x = np.asarray(case.input, dtype=np.float64)
    return np.moveaxis(x, -1, 1) if case.data_format == "channels_last" else x


def _channels_back(case: Case, y: np.ndarray) -> np.ndarray:
    return np.moveaxis(y, 1, -1) if case.data_format == "channels_last" else y


def _index(j: int, n: int, mode: str) -> int | None:
    """Where cell ``j`` of the (virtually) extended 1-D signal of length ``n`` reads from."""
    if 0 <= j < n:
        return j
    if mode in ("zeros", "fill"):
        return None
    if mode == "replicate":
        return min(max(j, 0), n - 1)
    if mode in ("circular", "wrap"):
        return j % n
    if mode == "reflect":  # mirror about the edge cells: -1 -> 1, n -> n-2
        period = 2 * (n - 1)
        j = j % period if period else 0
        return j if j < n else period - j
    if mode in ("symm", "symmetric"):  # mirror with the edge repeated: -1 -> 0, n -> n-1
        j %= 2 * n
        return j if j < n else 2 * n - 1 - j
    raise AssertionError(mode)


def padding_of(case: Case, size) -> list[tuple[int, int]]:
    """``case.padding`` as (before, after) pairs, derived here rather than by the oracle.

    SAME is TensorFlow's documented rule: ``out = ceil(n / s)``, ``pad_along = max((out-1)*s +
    (k-1)*d + 1 - n, 0)``, ``pad_before = pad_along // 2``. For a transposed conv, SAME crops what
    the SAME conv over ``n*s`` cells pads.
    """
    p, k, s, d = case.padding, case.kernel, case.strides, case.dilations
    if p == "valid":
        return [(0, 0)] * len(size)
    if p == "same":
        if case.op == "conv_transpose":
            size = [n * ss for n, ss in zip(size, s)]
        result = []
        for n, kk, ss, dd in zip(size, k, s, d):
            along = max((math.ceil(n / ss) - 1) * ss + (kk - 1) * dd + 1 - n, 0)
            result.append((along // 2, along - along // 2))
        return result
    if isinstance(p, int):
        return [(p, p)] * len(size)
    return [(q, q) if isinstance(q, int) else tuple(q) for q in p]


def read(a: np.ndarray, position, mode: str, fill: float = 0.0) -> float:
    """``a`` (spatial axes only) at a possibly out-of-range ``position``."""
    idx = [_index(j, n, mode) for j, n in zip(position, a.shape)]
    return fill if None in idx else float(a[tuple(idx)])


def conv(case: Case) -> np.ndarray:
    x, w = _channels_first(case), np.asarray(case.weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if case.bias is None else np.asarray(case.bias, dtype=np.float64)
    n_batch, channels = x.shape[:2]
    out_channels, k = w.shape[0], w.shape[2:]
    s, d, g = case.strides, case.dilations, case.groups
    pads = padding_of(case, x.shape[2:])
    out = [(n + lo + hi - dd * (kk - 1) - 1) // ss + 1
           for n, (lo, hi), kk, ss, dd in zip(x.shape[2:], pads, k, s, d)]
    cg, og = channels // g, out_channels // g
    y = np.zeros((n_batch, out_channels, *out))
    for nb, o, *i in itertools.product(range(n_batch), range(out_channels), *map(range, out)):
        acc = b[o]
        for c in range(cg):
            for t in itertools.product(*map(range, k)):
                pos = [ii * ss + tt * dd - lo for ii, tt, ss, dd, (lo, _) in zip(i, t, s, d, pads)]
                acc += w[(o, c, *t)] * read(x[nb, (o // og) * cg + c], pos, case.padding_mode)
        y[(nb, o, *i)] = acc
    return _channels_back(case, y)


def conv_transpose(case: Case) -> np.ndarray:
    """``y[o, j] = sum x[c, i] * w[c, o, t]`` over every ``(i, t)`` with ``i*s + t*d - lo == j``."""
    x, w = _channels_first(case), np.asarray(case.weight, dtype=np.float64)
    n_batch, channels = x.shape[:2]
    og, k = w.shape[1], w.shape[2:]
    s, d, crops = case.strides, case.dilations, padding_of(case, x.shape[2:])
    cg, out_channels = channels // case.groups, og * case.groups
    b = np.zeros(out_channels) if case.bias is None else np.asarray(case.bias, dtype=np.float64)
    if case.padding == "same":
        out = [n * ss for n, ss in zip(x.shape[2:], s)]
    else:
        op = case.output_padding
        op = [op] * case.ndim if isinstance(op, int) else list(op)
        out = [(n - 1) * ss - lo - hi + dd * (kk - 1) + p + 1
               for n, ss, (lo, hi), dd, kk, p in zip(x.shape[2:], s, crops, d, k, op)]
    y = np.zeros((n_batch, out_channels, *out))
    for nb, o, *j in itertools.product(range(n_batch), range(out_channels), *map(range, out)):
        acc = b[o]
        grp = o // og
        for c in range(cg):
            for t in itertools.product(*map(range, k)):
                # which input cell i sends tap t to output cell j?  i = (j + lo - t*d) / s
                nums = [jj + lo - tt * dd for jj, (lo, _), tt, dd in zip(j, crops, t, d)]
                if any(num % ss for num, ss in zip(nums, s)):
                    continue
                i = [num // ss for num, ss in zip(nums, s)]
                if all(0 <= ii < n for ii, n in zip(i, x.shape[2:])):
                    acc += x[(nb, grp * cg + c, *i)] * w[(grp * cg + c, o % og, *t)]
        y[(nb, o, *j)] = acc
    return _channels_back(case, y)


def pool(case: Case) -> np.ndarray:
    x = _channels_first(case)
    k, s, d, pad = case.kernel, case.strides, case.dilations, padding_of(case, x.shape[2:])
    out = []
    for n, (lo, hi), kk, ss, dd in zip(x.shape[2:], pad, k, s, d):
        span = n + lo + hi - dd * (kk - 1) - 1
        m = (math.ceil(span / ss) if case.ceil_mode else math.floor(span / ss)) + 1
        if case.ceil_mode and (m - 1) * ss >= n + lo:
            m -= 1
        out.append(m)
    y = np.zeros((*x.shape[:2], *out))
    for idx in itertools.product(*map(range, x.shape[:2]), *map(range, out)):
        nb, c, i = idx[0], idx[1], idx[2:]
        values, count = [], 0
        for t in itertools.product(*map(range, k)):
            pos = [ii * ss + tt * dd - lo for ii, tt, ss, dd, (lo, _) in zip(i, t, s, d, pad)]
            inside = all(0 <= p < n for p, n in zip(pos, x.shape[2:]))
            in_padding = all(-lo <= p < n + hi for p, n, (lo, hi) in zip(pos, x.shape[2:], pad))
            if inside:
                values.append(x[(nb, c, *pos)])
            count += inside or (in_padding and case.count_include_pad)
        if case.op in ("max_pool", "min_pool"):
            extreme = max if case.op == "max_pool" else min
            y[idx] = np.nan if any(np.isnan(values)) else extreme(values)
        elif case.op == "lp_pool":  # the cells inside only, each to the p, summed, rooted
            p = case.norm_type
            with np.errstate(invalid="ignore"):
                total = sum(np.float64(abs(v) if case.convention == "absolute" else v) ** p
                            for v in values)  # NumPy's power: NaN (not complex) below zero
                y[idx] = total if p == 1 else np.float64(total) ** (1 / p)
        else:
            with np.errstate(invalid="ignore"):
                y[idx] = sum(values) / (case.divisor_override or count)
    return _channels_back(case, y)


def adaptive_pool(case: Case) -> np.ndarray:
    """Output cell ``i`` of ``m`` reduces the input cells ``j`` with ``i*n/m - 1 < j < (i+1)*n/m``
    (real division: the cells the interval ``[i*n/m, (i+1)*n/m)`` touches)."""
    x = _channels_first(case)
    size = x.shape[2:]
    wanted = case.output_size
    wanted = [wanted] * len(size) if wanted is None or isinstance(wanted, int) else list(wanted)
    wanted = wanted * len(size) if len(wanted) == 1 else wanted
    out = [n if m is None else m for n, m in zip(size, wanted)]
    y = np.zeros((*x.shape[:2], *out))
    for idx in itertools.product(*map(range, x.shape[:2]), *map(range, out)):
        nb, c, i = idx[0], idx[1], idx[2:]
        cells = [[j for j in range(n) if ii * n / m - 1 < j < (ii + 1) * n / m]
                 for ii, n, m in zip(i, size, out)]
        values = [x[(nb, c, *pos)] for pos in itertools.product(*cells)]
        if case.op == "adaptive_max_pool":
            y[idx] = np.nan if any(np.isnan(values)) else max(values)
        else:
            with np.errstate(invalid="ignore"):
                y[idx] = sum(values) / len(values)
    return _channels_back(case, y)


def signal(case: Case) -> np.ndarray:
    """SciPy's definitions: the 'full' output, then the centred or valid slice of it."""
    a, kern = np.asarray(case.input, np.float64), np.asarray(case.weight, np.float64)
    convolve = case.op == "convolve"
    swapped = case.mode == "valid" and not all(p >= q for p, q in zip(a.shape, kern.shape))
    if swapped:
        a, kern = kern, a
    m = kern.shape
    full = [p + q - 1 for p, q in zip(a.shape, m)]
    y = np.zeros(full)
    for i in itertools.product(*map(range, full)):
        acc = 0.0
        for t in itertools.product(*map(range, m)):
            if convolve:   # c[i] = sum_t k[t] a[i - t]
                pos = [ii - tt for ii, tt in zip(i, t)]
            else:          # c[i] = sum_t k[t] a[i + t - (M-1)]
                pos = [ii + tt - (mm - 1) for ii, tt, mm in zip(i, t, m)]
            acc += kern[t] * read(a, pos, case.boundary, case.fillvalue)
        y[i] = acc
    if case.mode == "same":
        starts = [(mm - 1) // 2 if convolve else mm // 2 for mm in m]
        y = y[tuple(slice(st, st + n) for st, n in zip(starts, a.shape))]
    elif case.mode == "valid":
        y = y[tuple(slice(mm - 1, n) for mm, n in zip(m, a.shape))]
        if swapped and not convolve:
            y = y[::-1, ::-1]
    return y


def answer(case: Case) -> np.ndarray:
    """The op's formulation here, as its entry in the op table names it."""
    return globals()[case.spec.brute_force](case)
