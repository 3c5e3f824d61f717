"""Known divergences as data: ``divergences.toml`` parsed and validated when it loads, each entry
matched against a case (and the machine) and judged by what it says the framework computes.

An entry says where it holds (``when``: a condition over the case's and the environment's facts,
see :mod:`convparity.adapters.conditions`) and what it expects there (``expect``):

- ``"differs"``: the output may differ in any way (the entry is stale if it never does);
- ``"instead"``: the output matches another computation, named by ``instead``: a rule
  (:data:`RULES`), the oracle's answer for the arguments as the framework rereads them
  (:data:`REREAD`), or rereads joined by ``+`` before a rule (see :func:`instead`); with
  ``sometimes = true`` the oracle's own answer is accepted too, element by element (the kernel
  or code path that runs decides: the machine, the dtype's kernel), and staleness is not
  judged;
- ``"wrong"``: the framework is wrong there, and with the backend named by ``agrees_with`` (see
  :mod:`convparity.adapters.backends`) it agrees with the oracle: that is checked for every case
  that differs.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import math
import pathlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convparity.adapters import environment
from convparity.adapters.api import (
    BACKENDS,
    EAGER,
    Api,
    channels_last,
    dilated,
    output_size,
    strided,
    tap_reads_only_padding,
)
from convparity.adapters.conditions import Condition, parse
from convparity.adapters.versions import in_range
from convparity.reference.case import Case
from convparity.reference.compare import compare
from convparity.reference.tolerance import expectation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = pathlib.Path(__file__).with_name("divergences.toml")
EXPECTATIONS = ("differs", "instead", "wrong")


@dataclass(frozen=True)
class Answer:
    """What a framework computes instead: the values, and the error bound a correct
    implementation of that computation has around them (same shape); ``or_else`` holds values
    accepted in their place, element by element (where the kernel or code path decides)."""

    values: np.ndarray
    bound: np.ndarray
    or_else: tuple[np.ndarray, ...] = ()


def alongside_oracle(alternative: Callable[..., np.ndarray]) -> Callable[..., Answer]:
    """An instead-computation whose values sit where the oracle's do: judged as the oracle's
    would be (rounded once in exact mode, else within the bound around its own values)."""
    @functools.wraps(alternative)
    def answer(case: Case, dtype=None, numerics=None) -> Answer:
        return Answer(*expectation(case, numerics, values=alternative(case, dtype)))

    return answer


def lowest_for_neg_inf(case: Case, dtype) -> np.ndarray:
    """The oracle's answer with every -inf replaced by the lowest finite value of ``dtype``, the
    type the framework returned (a max that starts from the lowest value, not from -inf)."""
    import ml_dtypes  # its finfo knows bfloat16 as well as NumPy's types

    y = case.expected()
    return np.where(y == -np.inf, float(ml_dtypes.finfo(dtype).min), y)


def nan_ignored(case: Case, dtype, numerics=None) -> Answer:
    """Max pooling over the non-NaN cells only: a window with none of them (only NaN, -inf or
    padding) gives the lowest finite value of ``dtype``, the type returned — in float16 and
    bfloat16 also -inf, which oneDNN's kernels give (TF's own give the lowest value)."""
    import ml_dtypes

    y = case.replace(input=np.where(np.isnan(case.input), -np.inf, case.input)).expected()
    lowest = np.where(y == -np.inf, float(ml_dtypes.finfo(dtype).min), y)
    half = np.dtype(dtype).name in ("float16", "bfloat16")
    return Answer(lowest, np.zeros_like(y), (y,) if half else ())


def mlas_max(case: Case, dtype, numerics=None) -> Answer:
    """ONNX Runtime's max pool as MLAS's float32 kernels fold each window, exactly
    (:mod:`convparity.adapters.mlas_pool`), rounded to ``dtype`` (float16: the lowest float32
    value becomes -inf)."""
    from convparity.adapters.mlas_pool import mlas_max_pool

    with np.errstate(over="ignore"):
        values = mlas_max_pool(case).astype(np.float32).astype(dtype).astype(np.float64)
    return Answer(values, np.zeros(values.shape))


def simd_max_padded(case: Case, dtype, numerics=None) -> Answer:
    """The two SIMD max folds of :func:`simd_folds` over windows whose padding cells hold the
    lowest finite value of ``dtype`` (Eigen's patches, as TF's own 3-D max pool takes them), from
    that value or from -inf (measured, float32: channels in whole 8-lane vectors fold ``m = x if
    x > m else m`` from -inf, so ``[NaN, NaN]`` gives -inf; the rest ``m = m if m > x else x``,
    so ``[6, NaN]`` gives NaN and ``[-7, NaN, padding]`` the lowest value)."""
    import ml_dtypes

    lowest = float(ml_dtypes.finfo(dtype).min)
    kept, taken = simd_folds(case, lowest, padding=lowest)
    kept_inf, taken_inf = simd_folds(case, -np.inf, padding=lowest)
    return Answer(kept, np.zeros(kept.shape), (taken, kept_inf, taken_inf))


def simd_max_per_axis(case: Case, dtype, numerics=None) -> Answer:
    """Adaptive max pooling as Keras runs it on TensorFlow's own 3-D max pool: one dim at a
    time (pools of one bin size and the next along it, each bin gathered from one of them), each
    bin folded in order by one of the pool's SIMD folds (:func:`simd_max_padded`: ``m = m if
    m > x else x`` from the lowest finite value, ``m = x if x > m else m`` from -inf, or the
    other two pairings), the channel's lane deciding which, the same in every dim."""
    import ml_dtypes

    from convparity.reference.adaptive import bins, output_sizes
    from convparity.reference.layout import batched_channels_first

    x, restore = batched_channels_first(np.asarray(case.input, dtype=np.float64), case.ndim,
                                        case.data_format)
    sizes = output_sizes(case.output_size, x.shape[2:])
    found = []
    for start in (float(ml_dtypes.finfo(dtype).min), -np.inf):
        for keeping in (True, False):
            y = x
            for axis, m in enumerate(sizes, start=2):
                folded = []
                for a, b in bins(y.shape[axis], m):
                    acc = np.full(np.take(y, a, axis=axis).shape, start)
                    for j in range(a, b):
                        seen = np.take(y, j, axis=axis)
                        with np.errstate(invalid="ignore"):
                            acc = np.where(acc > seen, acc, seen) if keeping \
                                else np.where(seen > acc, seen, acc)
                    folded.append(acc)
                y = np.stack(folded, axis=axis)
            found.append(restore(y))
    return Answer(found[0], np.zeros(found[0].shape), tuple(found[1:]))


def padded_windows(case: Case, pad_value: float):
    """A pooling case's input batched channels-first (``x``), padded with ``pad_value`` (past
    a ceil-mode overhang: NaN), its geometry, each tap with the window it reads, and the
    function that restores the case's layout."""
    from convparity.reference.layout import batched_channels_first
    from convparity.reference.pooling import pool_geometry
    from convparity.reference.windows import walk

    x, restore = batched_channels_first(np.asarray(case.input, dtype=np.float64), case.ndim,
                                        case.data_format)
    geometry = pool_geometry(x.shape[2:], case.kernel_size, case.stride, case.padding,
                             case.dilation, case.ceil_mode)
    xp = geometry.padded(x, pad_value, overhang_value=np.nan)
    taps = list(walk(geometry.kernel_size, geometry.stride, geometry.dilation,
                     geometry.out_size))
    return x, xp, geometry, taps, restore


def simd_folds(case: Case, start: float, padding: float | None = None):
    """Each window folded in tap order from ``start`` both ways, ``m = m if m > x else x`` and
    ``m = x if x > m else m``; padding cells skipped, or taking part as ``padding``."""
    x, xp, geometry, taps, restore = padded_windows(
        case, np.nan if padding is None else padding)
    kept = np.full((*x.shape[:2], *geometry.out_size), start)
    taken = kept.copy()
    for tap, window in taps:
        _, inside = geometry.positions(tap)
        inside = inside if padding is None else True
        seen = xp[(..., *window)]
        with np.errstate(invalid="ignore"):
            kept = np.where(inside & ~(kept > seen), seen, kept)
            taken = np.where(inside & (seen > taken), seen, taken)
    return restore(kept), restore(taken)


def lp_overhang_rescaled(case: Case, dtype=None, numerics=None) -> Answer:
    """Lp pooling computed as torch does, from an average: ``(avg_pool(x^p) * kernel
    volume)^(1/p)``, so a ceil-mode window that overhangs the input has its sum scaled by ``r =
    kernel volume / cells inside`` ([3, 4, 5], p=2, kernel 2, stride 2: sqrt(25*2) = 7.07 for
    the last window instead of 5): the oracle's answer and bound times ``r^(1/p)``."""
    from convparity.reference.lp_pool import _SUM

    ones = np.ones(case.input.shape)
    inside = _SUM[case.ndim](ones, case.kernel_size, case.stride, case.padding, case.ceil_mode,
                             True, 1, dilation=case.dilation, data_format=case.data_format)
    scale = (math.prod(case.kernel) / inside) ** (1 / case.norm_type)
    values, bound = expectation(case, numerics)
    return Answer(values * scale, bound * scale)


def nan_dropped(case: Case, dtype=None) -> np.ndarray:
    """Max pooling over the non-NaN cells only: a window with none of them gives -inf."""
    return case.replace(input=np.where(np.isnan(case.input), -np.inf, case.input)).expected()


def bias_on_last_axis(case: Case, dtype=None) -> np.ndarray:
    """The oracle's answer with the bias added along the last axis instead of the channels (for
    a channels_first output whose last spatial size equals the number of channels)."""
    return case.replace(bias=None).expected() + np.asarray(case.bias, dtype=np.float64)


def padded_as(case: Case, pairs) -> Case:
    """``case`` with explicit pads ``(lo, hi)`` per spatial dim, a negative one cropping that
    many cells off the input instead (the same windows)."""
    spatial = range(1, case.ndim + 1) if channels_last(case) else range(2, case.ndim + 2)
    crop = [slice(None)] * case.input.ndim
    for axis, n, (lo, hi) in zip(spatial, case.spatial_size, pairs):
        crop[axis] = slice(max(-lo, 0), n - max(-hi, 0))
    return case.replace(input=np.ascontiguousarray(case.input[tuple(crop)]),
                        padding=tuple((max(lo, 0), max(hi, 0)) for lo, hi in pairs))


def _unclamped_same(case: Case, reach, floor: bool = False, truncated: bool = False) -> Case:
    """SAME with ``total = (ceil(n/s)-1)*s + reach(k, d) - n`` not clamped at 0, split as C++
    divides, ``lo = total/2`` rounded toward zero (``floor``: rounded down), ``hi = total -
    lo``. ``truncated``: the output count ``(n + total - span)/s + 1`` divides as C++ does,
    toward zero, so where the dilated kernel's ``span`` overruns the padded input by less than
    a stride one window still runs, over the input cells it reaches."""
    pairs = []
    for n, k, s, d in zip(case.spatial_size, case.kernel, case.strides, case.dilations):
        total = (math.ceil(n / s) - 1) * s + reach(k, d) - n
        lo = total // 2 if total >= 0 or floor else -(-total // 2)
        span = (k - 1) * d + 1
        hi = max(total - lo, span - n - lo) if truncated else total - lo
        pairs.append((lo, hi))
    return padded_as(case, pairs)


def same_unclamped(case: Case) -> Case:
    """SAME padding without clamping at zero: where ``total = (ceil(n/s)-1)*s + (k-1)*d + 1 - n``
    is negative, the windows start ``-total // 2`` cells in (the surplus halved, rounded down)
    instead of at the first cell; ``ceil(n/s)`` outputs as usual."""
    return _unclamped_same(case, lambda k, d: (k - 1) * d + 1)


def space_to_batch_geometry(case: Case) -> list[tuple]:
    """Per spatial dim, TF's with_space_to_batch for a strided, dilated conv: the pads
    ``(lo, hi)``, the output width of the undilated stride-``s`` conv it runs on each of the
    ``d`` phases (``ceil(P/d)`` wide), the output count, ``s`` and ``d``."""
    dims = []
    for n, k, s, d, (lo, hi) in zip(case.spatial_size, case.kernel, case.strides, case.dilations,
                                    case.pads):
        if case.padding == "same":
            lo, hi = (k - 1) * d // 2, (k - 1) * d - (k - 1) * d // 2
        total = n + lo + hi
        inner = (-(-total // d) - k) // s + 1
        dims.append(((lo, hi), inner, d * inner - (-total) % d, s, d))
    return dims


def space_to_batch(case: Case, dtype=None, numerics=None) -> Answer:
    """A strided, dilated conv as TF's ``with_space_to_batch`` computes it (tf.nn.depthwise_conv2d
    with both stride > 1 and dilation > 1): the stride-1 dilated conv ``z`` on the input padded
    by ``(lo, hi)`` per dim ('same': ``(k-1)*d`` halved, the extra after; 'valid': none;
    explicit: as given), read in groups of ``d`` cells every ``s*d``: output ``o`` is
    ``z[(o // d)*s*d + o % d]``, ``d*(floor((ceil(P/d) - k)/s) + 1) - (-P mod d)`` of them,
    ``P = n + lo + hi``."""
    stride_one, picks = _space_to_batch_reads(case)
    values, bound = expectation(stride_one, numerics)
    return Answer(_picked(values, picks, case), _picked(bound, picks, case))


def _space_to_batch_reads(case: Case) -> tuple[Case, list[np.ndarray]]:
    """The stride-1 dilated conv :func:`space_to_batch` runs, and the cells it reads of each
    spatial dim of that conv's output."""
    pads, picks = [], []
    for (lo, hi), _, count, s, d in space_to_batch_geometry(case):
        pads.append((lo, hi))
        picks.append(np.array([o // d * s * d + o % d for o in range(max(count, 0))], dtype=int))
    return case.replace(stride=1, padding=tuple(pads)), picks


def _picked(y: np.ndarray, picks, case: Case) -> np.ndarray:
    for axis, index in enumerate(picks, start=1 if channels_last(case) else 2):
        y = np.take(y, index, axis=axis)
    return y


def space_to_batch_gradients(case: Case, cotangent) -> dict:
    """The gradients of :func:`space_to_batch`: the stride-1 conv's, for its output's cotangent
    that is the case's at the cells it reads and 0 elsewhere (the reads' adjoint)."""
    from convparity.reference import backward

    stride_one, picks = _space_to_batch_reads(case)
    full = np.zeros(stride_one.expected().shape)
    first = 1 if channels_last(case) else 2
    index = [slice(None)] * full.ndim
    for axis, cells in enumerate(picks, start=first):
        index[axis] = cells
    full[np.ix_(*[np.arange(n) if isinstance(i, slice) else i
                  for n, i in zip(full.shape, index)])] = np.asarray(cotangent, dtype=np.float64)
    return {g.name: g.exact() for g in backward.gradients(stride_one, full)}


def first_then_greater_max(case: Case, dtype=None) -> np.ndarray:
    """Max pooling that starts from each window's first cell and takes a later one only if
    strictly greater: a NaN is kept only as the first cell (NaN is never greater)."""
    from convparity.reference.layout import batched_channels_first
    from convparity.reference.pooling import argmax, pool_geometry

    x, restore = batched_channels_first(np.asarray(case.input, dtype=np.float64), case.ndim,
                                        case.data_format)
    geometry = pool_geometry(x.shape[2:], case.kernel_size, case.stride, case.padding,
                             case.dilation, case.ceil_mode)
    values, _ = argmax(x, geometry, nan_wins=False)
    return restore(values)


def same_unclamped_up(case: Case) -> Case:
    """:func:`same_unclamped` with the surplus halved rounded *up*: a negative ``total`` crops
    ``ceil(-total/2)`` cells before the first window (NumPy's ``total // 2``)."""
    return _unclamped_same(case, lambda k, d: (k - 1) * d + 1, floor=True)


def same_undilated(case: Case) -> Case:
    """SAME padding sized for the undilated kernel, ``total = (ceil(n/s)-1)*s + k - n`` (not
    clamped at 0) split as in :func:`same_unclamped`, then the dilated windows over it (fewer
    outputs where the dilated kernel needs more padding; the count rounded toward zero, so at
    least one)."""
    return _unclamped_same(case, lambda k, d: k, truncated=True)


def kernel_divisor(case: Case) -> Case:
    """Average pooling that divides every window's sum by the whole kernel volume, a
    ceil-mode overhang included (``divisor_override = prod(kernel)``)."""
    return case.replace(divisor_override=math.prod(case.kernel))


def global_as_window(case: Case) -> Case:
    """A global pool as max pooling by one window over the whole input (stride 1, no
    padding): the same answer, in the terms MLAS's kernels take."""
    return Case("max_pool", case.input, kernel_size=case.spatial_size, stride=1,
                data_format=case.data_format)


def pads_regrouped(case: Case) -> Case:
    """ONNX's pads ``[b_1, ..., b_n, e_1, ..., e_n]`` read as consecutive (before, after) pairs
    per dim: ``(b_1, b_2), (e_1, e_2)`` in 2-D."""
    flat = [lo for lo, _ in case.pads] + [hi for _, hi in case.pads]
    return case.replace(padding=tuple(zip(flat[0::2], flat[1::2])))


def ceil_mode_ignored(case: Case) -> Case:
    return case.replace(ceil_mode=False)


def same_clamped_transpose(case: Case) -> Case:
    """A transposed conv's SAME with its crop clamped at 0 and no output padding added: where
    ``(k-1)*d + 1 < s`` the full ``(n-1)*s + (k-1)*d + 1`` outputs, not ``n*s``."""
    from convparity.reference.conv_transpose import transpose_crops

    crops, _ = transpose_crops(case.padding, case.output_padding, case.spatial_size,
                               case.kernel, case.strides, case.dilations)
    return case.replace(padding=tuple(crops), output_padding=0)


def nan_ignored_mean(case: Case, dtype=None, numerics=None) -> Answer:
    """Average pooling over the non-NaN cells only (count_include_pad=0): the mean with NaN as 0
    over the share of non-NaN cells in each window (its bound scaled by the same share)."""
    isnan = np.isnan(np.asarray(case.input, dtype=np.float64))
    means, bound = expectation(case.replace(input=np.where(isnan, 0.0, case.input)), numerics)
    share = case.replace(input=(~isnan).astype(np.float64)).expected()
    with np.errstate(invalid="ignore", divide="ignore"):
        return Answer(means / share, bound / share)


def ndimage_order(case: Case, dtype=None) -> np.ndarray:
    """SciPy's maximum/minimum filter as it folds NaN (:mod:`convparity.adapters.ndimage_extreme`):
    a running extremum along each axis, or first-then-better over a dilated footprint."""
    from convparity.adapters.ndimage_extreme import ndimage_extreme

    return ndimage_extreme(case, minimum=case.op == "min_pool")


def opencv_order(case: Case, dtype=None) -> np.ndarray:
    """OpenCV's dilate/erode as they fold NaN (:mod:`convparity.adapters.opencv_morphology`):
    SIMD and scalar folds by output column, rows then columns."""
    from convparity.adapters.opencv_morphology import opencv_extreme

    return opencv_extreme(case, minimum=case.op == "min_pool")


def opencv_running_sum(case: Case, dtype=None, numerics=None) -> Answer:
    """OpenCV's blur as a running sum down each column
    (:mod:`convparity.adapters.running_sums`)."""
    from convparity.adapters.running_sums import answer, opencv_sums

    return Answer(*answer(case, lambda xp: opencv_sums(xp, *case.kernel)))


def scipy_running_sum(case: Case, dtype=None, numerics=None) -> Answer:
    """SciPy's uniform_filter as a running sum along each axis
    (:mod:`convparity.adapters.running_sums`)."""
    from convparity.adapters.running_sums import answer, scipy_sums

    return Answer(*answer(case, lambda xp: scipy_sums(xp, (1, 1, *case.kernel))))


def first_group_bias(case: Case, dtype=None) -> np.ndarray:
    """A grouped transposed conv whose every group adds the first group's bias."""
    y = case.replace(bias=None).expected()
    per_group = len(case.bias) // case.groups
    bias = np.tile(np.asarray(case.bias[:per_group], dtype=np.float64), case.groups)
    shape = [1] * y.ndim
    shape[-1 if channels_last(case) else 1] = -1
    return y + bias.reshape(shape)


# How a framework reads a case's arguments instead, by name: case -> the case it computes (the
# oracle's answer for it, or a rule's).
REREAD: dict[str, Callable[[Case], Case]] = {
    "same_unclamped": same_unclamped, "same_unclamped_up": same_unclamped_up,
    "same_undilated": same_undilated, "kernel_divisor": kernel_divisor,
    "pads_regrouped": pads_regrouped, "ceil_mode_ignored": ceil_mode_ignored,
    "same_clamped_transpose": same_clamped_transpose, "global_as_window": global_as_window}

# What a framework computes instead on a case, by name: (case, the dtype it returned) -> Answer.
RULES: dict[str, Callable[..., Answer]] = {
    name: alongside_oracle(alternative) for name, alternative in [
        ("lowest_for_neg_inf", lowest_for_neg_inf), ("bias_on_last_axis", bias_on_last_axis),
        ("first_then_greater", first_then_greater_max), ("first_group_bias", first_group_bias),
        ("nan_dropped", nan_dropped), ("ndimage_order", ndimage_order),
        ("opencv_order", opencv_order)]
} | {"space_to_batch": space_to_batch, "nan_ignored": nan_ignored, "mlas_max": mlas_max,
     "simd_max_padded": simd_max_padded, "simd_max_per_axis": simd_max_per_axis,
     "nan_ignored_mean": nan_ignored_mean, "lp_overhang_rescaled": lp_overhang_rescaled,
     "opencv_running_sum": opencv_running_sum, "scipy_running_sum": scipy_running_sum}

INSTEAD = (*REREAD, *RULES)


def check_instead(names: str) -> str:
    """``names`` validated: rereads joined by ``+``, then at most one rule (``"same_undilated+
    mlas_max"``); ``ValueError`` otherwise."""
    *rereads, last = names.split("+") if isinstance(names, str) else [names]
    if not all(name in REREAD for name in rereads) or last not in INSTEAD:
        raise ValueError(f"instead={names!r}: expected one of {', '.join(INSTEAD)}, or "
                         f"some of {', '.join(REREAD)} joined by '+' before one of them")
    return names


def instead(names: str, case: Case, dtype, numerics=None) -> tuple[Answer, Case]:
    """What the computation ``names`` (see :func:`check_instead`) gives for ``case``: each
    reread applied in turn, then the rule on the case as reread (the oracle's answer if there
    is none); and that case."""
    *rereads, last = names.split("+")
    if last in REREAD:
        rereads, last = [*rereads, last], None
    for name in rereads:
        case = REREAD[name](case)
    answer = RULES[last](case, dtype, numerics) if last else Answer(*expectation(case, numerics))
    return answer, case


@dataclass(frozen=True)
class Divergence:
    api: tuple[str, ...]
    when: Condition
    why: str
    link: str = ""
    versions: str = ""
    expect: str = "differs"
    instead: str = ""
    agrees_with: str = ""
    sometimes: bool = False
    direction: str = "forward"  # or "backward": the gradients differ, not the output
    # the backends it holds under ("eager", "jit", ...): eager only unless it names others (a
    # compiled backend runs other kernels, with other bugs)
    backends: tuple[str, ...] = (EAGER,)

    def covers(self, api: Api) -> bool:
        named = any(api.id == pattern or fnmatch.fnmatchcase(api.id, pattern)
                    for pattern in self.api)  # ids like "x[3d]" are no glob classes
        return named and in_range(api.version, self.versions) and \
            api.backend_name in self.backends

    def applies(self, api: Api, case: Case, machine: dict | None = None) -> bool:
        return self.covers(api) and self.when.holds(facts(case, machine))

    @property
    def judged_for_staleness(self) -> bool:
        """Whether a sweep in which every matched case agreed proves this entry stale."""
        return self.expect == "differs" or (self.expect == "instead"
                                            and not self.sometimes)

    def tells_apart(self, case: Case, numerics=None) -> bool:
        """Whether ``case`` can show this entry at work: for an ``instead`` entry, its answer and
        the oracle's differ by more than the bound (else agreeing proves nothing)."""
        if self.expect != "instead":
            return True
        try:
            answer, _ = instead(self.instead, case, case.dtype, numerics)
        except ValueError:  # reread, it is no valid case (a window past the input): no telling
            return False
        if answer.values.shape != case.expected().shape:
            return True
        return not compare(answer.values, *expectation(case, numerics), case.dtype).ok

    def explains(self, api: Api, case: Case, actual: np.ndarray,
                 numerics=None) -> tuple[bool, str]:
        """Whether ``actual`` (the framework's output, which differs from the oracle) is what
        this entry expects for an implementation with ``numerics``, and what was found."""
        if self.expect == "differs":
            return True, ""
        if self.expect == "instead":
            try:
                answer, reread = instead(self.instead, case, np.asarray(actual).dtype, numerics)
            except ValueError as error:
                return False, f"{self.instead} reads it as no valid case ({error})"
            if answer.values.shape != np.shape(actual):
                return False, (f"its shape {np.shape(actual)} is neither the oracle's nor "
                               f"{self.instead}'s {answer.values.shape}")
            mismatched = compare(actual, answer.values, answer.bound, case.dtype).mismatched
            for other in answer.or_else:
                mismatched = mismatched & compare(actual, other, answer.bound,
                                                  case.dtype).mismatched
            if self.sometimes:  # or the oracle's answer (for the case as reread)
                mismatched = mismatched & compare(actual, *expectation(reread, numerics),
                                                  case.dtype).mismatched
            if mismatched.any():
                return False, (f"it matches neither the oracle nor {self.instead}: "
                               f"{int(mismatched.sum())} of {mismatched.size} elements")
            return True, f"computes {self.instead}"
        from convparity.adapters import backends

        found = backends.verdict(backends.backend(self.agrees_with), api, case)
        return found.agrees, str(found)

    def describe(self) -> str:
        return f"{self.why} ({self.link})" if self.link else self.why


def case_facts(case: Case) -> dict:
    """The names a ``when`` may use about the case."""
    expected = case.expected()
    totals = []
    if not case.spec.signal and case.spec.pads is None:  # padding_pairs' SAME
        for n, k, s, d in zip(case.spatial_size, case.kernel, case.strides, case.dilations):
            totals.append((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n)
    return {
        "op": case.op, "ndim": case.ndim, "dtype": case.dtype.name,
        "channels_first": not channels_last(case), "channels_last": channels_last(case),
        "strided": strided(case), "dilated": dilated(case), "groups": case.groups,
        "channels_per_group": case.channels_per_group,
        "has_bias": case.bias is not None,
        "distinct_bias": 0 if case.bias is None else len(set(case.bias.tolist())),
        "out_channels": expected.shape[-1 if channels_last(case) else 1],
        "padding": case.padding.lower() if isinstance(case.padding, str) else "explicit",
        "same_totals": tuple(totals) or (0,), "kernel": case.kernel, "strides": case.strides,
        "dilations": case.dilations, "input_size": case.spatial_size,
        "out_size": output_size(case),
        "expected_has_nan": bool(np.isnan(expected).any()),
        # (a reread may bring into a window a NaN or -inf that the oracle's windows miss)
        "input_has_nan": bool(np.isnan(np.asarray(case.input, dtype=np.float64)).any()),
        "input_has_neg_inf": bool((np.asarray(case.input, dtype=np.float64) == -np.inf).any()),
        "input_has_inf": bool(np.isinf(np.asarray(case.input, dtype=np.float64)).any()),
        "expected_has_neg_inf": bool((expected == -np.inf).any()),
        "tap_reads_only_padding": case.op == "conv" and tap_reads_only_padding(case),
        "ceil_mode": bool(case.ceil_mode), "count_include_pad": bool(case.count_include_pad),
    }


CASE_FACT_NAMES = frozenset({
    "op", "ndim", "dtype", "channels_first", "channels_last", "strided", "dilated", "groups",
    "channels_per_group",
    "has_bias", "distinct_bias", "out_channels", "padding", "same_totals", "kernel", "strides",
    "dilations", "input_size", "out_size", "expected_has_nan", "expected_has_neg_inf",
    "input_has_nan", "input_has_neg_inf", "input_has_inf",
    "tap_reads_only_padding", "ceil_mode", "count_include_pad"})
KNOWN_NAMES = CASE_FACT_NAMES | environment.FACT_NAMES


def facts(case: Case, machine: dict | None = None) -> dict:
    """Case facts and machine facts (this machine's, or a faked :func:`machine` record)."""
    found = environment.facts() if machine is None else environment.derive_facts(machine)
    return {**found, **case_facts(case)}


def parse_entry(raw: dict, where: str) -> Divergence:
    """One ``[[divergence]]`` table, validated; ``ValueError`` says which entry and what."""
    def fail(message):
        raise ValueError(f"{where}: {message}")

    known = {"api", "when", "why", "link", "versions", "expect", "instead", "agrees_with",
             "sometimes", "direction", "backends"}
    if unknown := sorted(set(raw) - known):
        fail(f"unknown keys {unknown}; expected some of {sorted(known)}")
    for key in ("api", "when", "why"):
        if key not in raw:
            fail(f"missing {key!r}")
    api = raw["api"]
    api = (api,) if isinstance(api, str) else api
    if not (isinstance(api, (list, tuple)) and api and all(isinstance(a, str) for a in api)):
        fail(f"api={raw['api']!r}: expected an API id pattern or a list of them")
    try:
        when = parse(raw["when"], KNOWN_NAMES)
    except ValueError as error:
        fail(str(error))
    under = raw.get("backends", [EAGER])
    under = [under] if isinstance(under, str) else under
    allowed = (EAGER, *BACKENDS)
    if not isinstance(under, list) or not set(under) <= set(allowed):
        fail(f"backends={raw['backends']!r}: expected some of {', '.join(allowed)}")
    direction = raw.get("direction", "forward")
    if direction not in ("forward", "backward"):
        fail(f"direction={direction!r}: expected 'forward' or 'backward'")
    expect = raw.get("expect", "differs")
    if expect not in EXPECTATIONS:
        fail(f"expect={expect!r}: expected one of {', '.join(EXPECTATIONS)}")
    if expect == "instead" and direction == "backward" \
            and raw.get("instead") not in BACKWARD_INSTEAD:
        fail(f"instead={raw.get('instead')!r}: expected one of {', '.join(BACKWARD_INSTEAD)} "
             f"(backward)")
    if expect == "instead" and direction == "forward":
        try:
            check_instead(raw.get("instead"))
        except ValueError as error:
            fail(str(error))
    if expect == "wrong":
        from convparity.adapters import backends

        try:
            backends.backend(raw.get("agrees_with", ""))
        except ValueError as error:
            fail(str(error).replace("backend=", "agrees_with="))
    return Divergence(api=tuple(api), when=when, why=raw["why"], link=raw.get("link", ""),
                      versions=raw.get("versions", ""), expect=expect,
                      instead=raw.get("instead", ""), agrees_with=raw.get("agrees_with", ""),
                      sometimes=bool(raw.get("sometimes", False)), direction=direction,
                      backends=tuple(under))


def parse_file(text: str, name: str = "divergences") -> tuple[Divergence, ...]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{name}: not TOML ({error})") from None
    return tuple(parse_entry(raw, f"{name}, entry {i + 1}")
                 for i, raw in enumerate(data.get("divergence", [])))


@functools.cache
def load(path: str | None = None) -> tuple[Divergence, ...]:
    """Every entry of the divergence file (default: the one shipped with the adapters)."""
    path = pathlib.Path(path or DEFAULT_FILE)
    return parse_file(path.read_text(), path.name)


MATCHED: set = set()  # entries that covered at least one case in this process


def matching(api: Api, case: Case, entries=None,
             direction: str = "forward") -> Divergence | None:
    """The first registered divergence of ``api`` that covers ``case`` on this machine, in the
    forward or the backward pass."""
    found = all_matching(api, case, entries, direction)
    return found[0] if found else None


def all_matching(api: Api, case: Case, entries=None,
                 direction: str = "forward") -> list[Divergence]:
    """Every registered divergence of ``api`` that covers ``case`` on this machine, in order
    (a case may sit under several: NaN input and a padding rule)."""
    found = [entry for entry in (load() if entries is None else entries)
             if entry.direction == direction and entry.applies(api, case)]
    MATCHED.update(found)
    return found


def combined(candidates) -> list[Divergence]:
    """The entries several ``instead`` candidates make together: every reread among them, in
    order, before each rule among them (or none), as one entry (a case may sit under a padding
    rule and a NaN rule at once)."""
    rereads = [d for d in candidates if d.expect == "instead" and d.instead in REREAD]
    rules = [d for d in candidates if d.expect == "instead" and d.instead in RULES]
    if not rereads or len(rereads) + len(rules) < 2:
        return []
    joined = "+".join(d.instead for d in rereads)
    together = [(rereads, joined)] if len(rereads) > 1 else []
    together += [([*rereads, rule], f"{joined}+{rule.instead}") for rule in rules]
    return [dataclasses.replace(
        parts[-1], api=tuple(dict.fromkeys(a for d in parts for a in d.api)), instead=names,
        why=" Together with: ".join(d.why for d in parts),
        sometimes=any(d.sometimes for d in parts)) for parts, names in together]


def explaining(candidates, api: Api, case: Case, actual,
               numerics) -> tuple[Divergence | None, str]:
    """The first of ``candidates`` (or of the entries they make together) that explains
    ``actual``, and what it found; if none does, ``None`` and what the first found."""
    first = ""
    for divergence in [*candidates, *combined(candidates)]:
        explained, found = divergence.explains(api, case, actual, numerics)
        if explained:
            return divergence, found
        first = first or found
    return None, first


# -- what a backward pass computes instead: (case, cotangent) -> {gradient name: values} -------
def routed_to(case: Case, cotangent, target: np.ndarray) -> np.ndarray:
    """Max pooling's input gradient as TF's MaxPool3DGrad computes it from its own forward
    output ``target``: each window's whole cotangent to every cell whose difference from the
    target is 0 (so an infinite maximum gets nothing); a window with none gets lost."""
    from convparity.reference.layout import batched_channels_first
    from convparity.reference.pooling import pool_geometry
    from convparity.reference.windows import walk

    x = np.asarray(case.input, dtype=np.float64)
    xc, restore = batched_channels_first(x, case.ndim, case.data_format)
    gc, _ = batched_channels_first(np.asarray(cotangent, dtype=np.float64), case.ndim,
                                   case.data_format, name="cotangent")
    yc, _ = batched_channels_first(target, case.ndim, case.data_format, name="target")
    args, _ = case.arguments()
    geometry = pool_geometry(xc.shape[2:], *args)
    xp = geometry.padded(xc, np.nan, overhang_value=np.nan)  # padding equals no target
    planes = xc.shape[0] * xc.shape[1]
    dx = np.zeros((planes, int(np.prod(geometry.size))))
    rows = np.arange(planes).reshape(*xc.shape[:2], *[1] * case.ndim)
    for tap, window in walk(geometry.kernel_size, geometry.stride, geometry.dilation,
                            geometry.out_size):
        flat, inside = geometry.positions(tap)
        seen = xp[(..., *window)]
        with np.errstate(invalid="ignore"):  # inf - inf: no match, as TF's MaxPool3DGrad
            hit = inside & (seen - yc == 0)
        np.add.at(dx, (np.broadcast_to(rows, hit.shape)[hit],
                       np.broadcast_to(flat, hit.shape)[hit]), gc[hit])
    return restore(dx.reshape(xc.shape))


def nan_ignored_gradient(case: Case, cotangent) -> dict:
    """TF's max pool gradient over NaN/-inf. 1-D and 2-D (MaxPoolGrad): each window's cotangent
    to its first cell, or a later one strictly greater (:func:`first_then_greater`: a NaN keeps
    it only as the first cell). 3-D (MaxPool3DGrad): routed to the cells equal to its forward
    output, which ignores NaN (:func:`nan_ignored`: a window of NaN/-inf gives the lowest value,
    which no cell equals, so its gradient is lost; in float16/bfloat16 oneDNN gives -inf, which
    the -inf cells equal: ``or_else``), every tied cell of it (:func:`every_tied_maximum`)."""
    if case.ndim < 3:
        return first_then_greater(case, cotangent)
    return routed_to_answer(case, cotangent, nan_ignored(case, case.dtype))


def simd_max_padded_gradient(case: Case, cotangent) -> dict:
    """TF's own MaxPool3DGrad (without oneDNN): each window's cotangent to every cell equal to
    its forward output, :func:`simd_max_padded` (a NaN or the lowest value: to none)."""
    return routed_to_answer(case, cotangent, simd_max_padded(case, case.dtype))


def same_unclamped_routed(case: Case, cotangent) -> dict:
    """TF's own MaxPool3DGrad under its forward pass's unclamped SAME (:func:`same_unclamped`):
    each window, as SAME clamped at 0 places it, sends its cotangent to its cells equal to the
    shifted window's maximum (``[6, 2, 0]``, kernel 1, stride 3: the 2 is no cell of the window
    at the first cell, so the gradient is lost)."""
    return {"input": routed_to(case, cotangent, same_unclamped(case).expected())}


def routed_to_answer(case: Case, cotangent, answer: Answer) -> dict:
    """Each window's cotangent to every cell equal to the forward ``answer``'s value, or to its
    alternatives' (element by element)."""
    return {"input": routed_to(case, cotangent, answer.values),
            "input or_else": tuple(routed_to(case, cotangent, v) for v in answer.or_else)}


def _max_pool_routed(case: Case, cotangent, move=None, **rule) -> np.ndarray:
    """Max pooling's input gradient with each window's cotangent sent where
    :func:`~convparity.reference.pooling.argmax` (under ``rule``) points, after ``move(values,
    index)`` if given; in the case's layout."""
    from convparity.reference.grad import routed
    from convparity.reference.layout import batched_channels_first
    from convparity.reference.pooling import argmax, pool_geometry

    x, restore = batched_channels_first(np.asarray(case.input, dtype=np.float64), case.ndim,
                                        case.data_format)
    g, _ = batched_channels_first(np.asarray(cotangent, dtype=np.float64), case.ndim,
                                  case.data_format, name="cotangent")
    args, _ = case.arguments()
    values, index = argmax(x, pool_geometry(x.shape[2:], *args[:5]), **rule)
    if move is not None:
        index = move(values, index)
    return restore(routed(g, index, x.shape))


def first_then_greater(case: Case, cotangent) -> dict:
    """TF's MaxPoolGrad: each window's cotangent to its first cell on the input, or to a later
    cell strictly greater than the best so far (NaN is never greater: it keeps the gradient
    only as the first cell, and the cells after it lose to it)."""
    return {"input": _max_pool_routed(case, cotangent, nan_wins=False)}


def every_tied_maximum(case: Case, cotangent) -> dict:
    """TF's MaxPool3DGrad: each window's whole cotangent to every cell equal to its maximum."""
    return {"input": routed_to(case, cotangent, case.expected())}


def bias_gradient_on_last_axis(case: Case, cotangent) -> dict:
    """The bias gradient of a bias added along the last axis (:func:`bias_on_last_axis`): the
    cotangent summed over every other axis."""
    g = np.asarray(cotangent, dtype=np.float64)
    return {"bias": g.sum(axis=tuple(range(g.ndim - 1)))}


def same_unclamped_input_gradient(case: Case, cotangent) -> dict:
    """A transposed conv's input gradient is the conv over the cotangent it transposes; TF's
    Conv3D there computes SAME unclamped (:func:`same_unclamped`)."""
    conv = Case("conv", np.asarray(cotangent), case.weight, stride=case.stride,
                padding="same", dilation=case.dilation, groups=case.groups,
                data_format=case.data_format)
    return {"input": same_unclamped(conv).expected()}


def neg_inf_window_without_depth(case: Case, cotangent) -> dict:
    """torch's channels_last max_pool3d in its scalar channel lanes: a window whose cells are
    all -inf starts from the flat index of its first cell *without its depth term*
    (``h * W + w``, not ``d * H * W + h * W + w``) and keeps it, so its gradient lands in depth
    0. The vectorised lanes are right, so either gradient is accepted, element by element."""
    plane = int(np.prod(case.spatial_size[1:]))
    return {"input": _max_pool_routed(
                case, cotangent, lambda values, index: np.where(values == -np.inf,
                                                                index % plane, index)),
            "input or_else": _max_pool_routed(case, cotangent)}


BACKWARD_INSTEAD: dict[str, Callable[[Case, np.ndarray], dict]] = {
    "nan_ignored": nan_ignored_gradient,
    "every_tied_maximum": every_tied_maximum,
    "bias_on_last_axis": bias_gradient_on_last_axis,
    "same_unclamped": same_unclamped_input_gradient,
    "neg_inf_window_without_depth": neg_inf_window_without_depth,
    "space_to_batch": space_to_batch_gradients,
    "simd_max_padded": simd_max_padded_gradient,
    "same_unclamped_routed": same_unclamped_routed,
}
