"""One table of ops: what the oracle, the tolerance, the diagnosis and the strategies need to know
about an op, in one entry each. Adding an op is one oracle function plus one entry here.

Entries read a :class:`~convparity.reference.case.Case` (``case``) but never build one: this module
sits below it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from convparity.reference.adaptive import bins, output_sizes
from convparity.reference.arguments import padding_pairs, per_dim
from convparity.reference.conv_transpose import transpose_crops
from convparity.reference.signal import signal_pads

# What an op's answer costs in rounding: a sum of products (exact on integers that the
# accumulator holds), a sum then a division (never exact: the division may be a reciprocal
# multiply), a selection (no arithmetic: always exact), or a root of a sum of powers (never
# exact).
PRODUCTS, MEAN, SELECTION = "products", "mean", "selection"
POWER = "power"  # a sum of powers, then its root (Lp pooling)


@dataclass(frozen=True)
class Op:
    """One op. ``oracle``: the oracle's function name, ``{n}`` standing for the rank;
    ``fields``: the :class:`Case` fields it reads besides the arrays; ``call_arguments``: the
    oracle's positional and keyword arguments after the input; ``strategy``: the name of its
    strategy in :mod:`~convparity.reference.strategies` (called with the rank first);
    ``arithmetic``: :data:`PRODUCTS`, :data:`MEAN` or :data:`SELECTION`;
    ``channels_per_group``: the input channels one output sums over (ops with a weight);
    ``conventions``: nearby conventions a framework may use instead, as ``(description,
    changed fields)``; ``brute_force``: the name of its loop-per-output formulation in the
    test suite's ``tests/reference/brute_force.py`` (the oracle's independent check)."""

    name: str
    oracle: str
    fields: tuple[str, ...]
    call_arguments: Callable[[Any, Any, Any], tuple[tuple, dict]]
    strategy: str
    arithmetic: str
    weighted: bool = True
    signal: bool = False  # SciPy's 2-D arrays: no batch, no channels
    channels_per_group: Callable[[Any], int] = lambda case: 1
    conventions: Callable[[Any], Iterator[tuple[str, dict]]] = lambda case: iter(())
    pads: Callable[[Any], tuple] | None = None  # default: the padding as (before, after)
    kernel: Callable[[Any], tuple] | None = None  # default: kernel_size, or the weight's taps
    brute_force: str = ""

    def function_name(self, ndim: int) -> str:
        return self.oracle.format(n=ndim)

    @property
    def pooling(self) -> bool:
        """Its kernel is ``kernel_size``, not a weight's."""
        return not self.weighted


# -- per-op knowledge ------------------------------------------------------------------------------
COMMON = ("stride", "padding", "dilation", "data_format")


def _conv_arguments(case, weight, bias):
    return (weight, bias, case.stride, case.padding, case.dilation, case.groups), {
        "padding_mode": case.padding_mode, "data_format": case.data_format}


def _conv_transpose_arguments(case, weight, bias):
    return (weight, bias, case.stride, case.padding, case.output_padding, case.groups,
            case.dilation), {"data_format": case.data_format}


def _max_pool_arguments(case, weight, bias):
    return (case.kernel_size, case.stride, case.padding, case.dilation, case.ceil_mode), {
        "data_format": case.data_format}


def _avg_pool_arguments(case, weight, bias):
    return (case.kernel_size, case.stride, case.padding, case.ceil_mode, case.count_include_pad,
            case.divisor_override), {"dilation": case.dilation, "data_format": case.data_format}


def _lp_arguments(case, weight, bias):
    return (case.norm_type, case.kernel_size, case.stride, case.ceil_mode), {
        "padding": case.padding, "dilation": case.dilation, "convention": case.convention,
        "data_format": case.data_format}


def _lp_conventions(case) -> Iterator[tuple[str, dict]]:
    other = "signed" if case.convention == "absolute" else "absolute"
    yield f"convention={other!r} (x^p {'without' if other == 'signed' else 'with'} abs)", {
        "convention": other}
    yield from _mirrored_padding(case)
    yield f"ceil_mode={not case.ceil_mode}", {"ceil_mode": not case.ceil_mode}


def _adaptive_arguments(case, weight, bias):
    return (case.output_size,), {"data_format": case.data_format}


def _adaptive_kernel(case) -> tuple[int, ...]:
    """The largest bin per dim: the most cells one output reduces over along it."""
    sizes = output_sizes(case.output_size, case.spatial_size)
    return tuple(max(b - a for a, b in bins(n, m)) for n, m in zip(case.spatial_size, sizes))


def _no_pads(case):
    return ((0, 0),) * case.ndim


def _signal_arguments(case, weight, bias):
    return (weight, case.mode, case.boundary, case.fillvalue), {}


def _transpose_pads(case):
    crops, _ = transpose_crops(case.padding, case.output_padding, case.spatial_size, case.kernel,
                               case.strides, case.dilations)
    return crops


def _signal_pads(case):
    return signal_pads(case.mode, case.kernel, flip=case.op == "convolve")


def _mirrored_padding(case) -> Iterator[tuple[str, dict]]:
    pads = case.pads
    flipped = tuple((hi, lo) for lo, hi in pads)
    if flipped != pads:
        yield (f"the padding mirrored, {flipped} (e.g. SAME's odd extra at the start)",
               {"padding": flipped})


def _flipped_kernel(case) -> Iterator[tuple[str, dict]]:
    axes = tuple(range(-case.ndim, 0))
    yield ("the kernel flipped (true convolution instead of cross-correlation, or back)",
           {"weight": np.flip(case.weight, axes).copy()})


def _conv_conventions(case):
    yield from _mirrored_padding(case)
    yield from _flipped_kernel(case)


def _conv_transpose_conventions(case):
    yield from _mirrored_padding(case)
    yield from _flipped_kernel(case)
    if case.padding != "same" and any(case.output_paddings):
        shifted = tuple((lo - e, hi) for (lo, hi), e in zip(case.pads, case.output_paddings))
        if min(lo for lo, _ in shifted) >= 0:
            yield ("output_padding at the start instead of the end",
                   {"padding": shifted, "output_padding": 0})


def _pool_conventions(case):
    yield from _mirrored_padding(case)
    if case.op == "avg_pool":
        yield (f"count_include_pad={not case.count_include_pad}",
               {"count_include_pad": not case.count_include_pad})
    yield f"ceil_mode={not case.ceil_mode}", {"ceil_mode": not case.ceil_mode}
    yield from _nan_ignored(case)


def _nan_ignored(case) -> Iterator[tuple[str, dict]]:
    extreme = {"max_pool": ("max", -np.inf), "adaptive_max_pool": ("max", -np.inf),
               "min_pool": ("min", np.inf)}.get(case.op)
    if extreme and np.isnan(np.asarray(case.input, dtype=float)).any():
        word, never = extreme
        no_nan = np.where(np.isnan(case.input.astype(float)), never, case.input.astype(float))
        yield (f"NaN ignored (the {word} of the other values)",
               {"input": no_nan.astype(case.input.dtype)})


def _adaptive_conventions(case) -> Iterator[tuple[str, dict]]:
    if case.op == "adaptive_max_pool":
        yield from _nan_ignored(case)


def _correlate_conventions(case):
    yield "the kernel flipped (convolve2d)", {"op": "convolve"}


def _convolve_conventions(case):
    yield from _flipped_kernel(case)
    yield "the kernel not flipped (correlate2d)", {"op": "correlate"}


TABLE: dict[str, Op] = {op.name: op for op in (
    Op("conv", "conv{n}d", (*COMMON, "groups", "padding_mode"), _conv_arguments, "conv_cases",
       PRODUCTS, channels_per_group=lambda case: case.weight.shape[1],
       conventions=_conv_conventions, brute_force="conv"),
    Op("conv_transpose", "conv_transpose{n}d", (*COMMON, "groups", "output_padding"),
       _conv_transpose_arguments, "conv_transpose_cases", PRODUCTS,
       channels_per_group=lambda case: case.weight.shape[0] // case.groups,
       conventions=_conv_transpose_conventions, pads=_transpose_pads,
       brute_force="conv_transpose"),
    Op("max_pool", "max_pool{n}d", (*COMMON, "kernel_size", "ceil_mode"), _max_pool_arguments,
       "max_pool_cases", SELECTION, weighted=False, conventions=_pool_conventions,
       brute_force="pool"),
    Op("min_pool", "min_pool{n}d", (*COMMON, "kernel_size", "ceil_mode"), _max_pool_arguments,
       "min_pool_cases", SELECTION, weighted=False, conventions=_pool_conventions,
       brute_force="pool"),
    Op("avg_pool", "avg_pool{n}d",
       (*COMMON, "kernel_size", "ceil_mode", "count_include_pad", "divisor_override"),
       _avg_pool_arguments, "avg_pool_cases", MEAN, weighted=False,
       conventions=_pool_conventions, brute_force="pool"),
    Op("lp_pool", "lp_pool{n}d",
       (*COMMON, "kernel_size", "ceil_mode", "norm_type", "convention"), _lp_arguments,
       "lp_pool_cases", POWER, weighted=False, conventions=_lp_conventions,
       brute_force="pool"),
    Op("adaptive_avg_pool", "adaptive_avg_pool{n}d", ("output_size", "data_format"),
       _adaptive_arguments, "adaptive_avg_pool_cases", MEAN, weighted=False,
       pads=_no_pads, kernel=_adaptive_kernel, brute_force="adaptive_pool"),
    Op("adaptive_max_pool", "adaptive_max_pool{n}d", ("output_size", "data_format"),
       _adaptive_arguments, "adaptive_max_pool_cases", SELECTION, weighted=False,
       conventions=_adaptive_conventions, pads=_no_pads, kernel=_adaptive_kernel,
       brute_force="adaptive_pool"),
    Op("correlate", "correlate2d", ("mode", "boundary", "fillvalue"), _signal_arguments,
       "correlate_cases", PRODUCTS, signal=True, conventions=_correlate_conventions,
       pads=_signal_pads, brute_force="signal"),
    Op("convolve", "convolve2d", ("mode", "boundary", "fillvalue"), _signal_arguments,
       "convolve_cases", PRODUCTS, signal=True, conventions=_convolve_conventions,
       pads=_signal_pads, brute_force="signal"),
)}
NAMES = tuple(TABLE)


def op(name: str) -> Op:
    """The entry for ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return TABLE[name]
    except (KeyError, TypeError):
        raise ValueError(f"op={name!r}: expected one of {', '.join(map(repr, NAMES))}") from None


def default_pads(case) -> tuple:
    return padding_pairs(case.padding, input_size=case.spatial_size, kernel_size=case.kernel,
                         stride=case.strides, dilation=case.dilations)


def kernel_of(case) -> tuple[int, ...]:
    if TABLE[case.op].kernel:
        return TABLE[case.op].kernel(case)
    if TABLE[case.op].pooling:
        return per_dim("kernel_size", case.kernel_size, case.ndim, minimum=1)
    return tuple(case.weight.shape[-case.ndim:])


def products_per_output(case) -> int:
    """The most terms one output element sums: kernel taps times the channels per group, plus
    the bias; an average's division counts as one more rounding; a selection none."""
    entry = TABLE[case.op]
    taps = math.prod(case.kernel)
    if entry.arithmetic == SELECTION:
        return 0
    if entry.arithmetic in (MEAN, POWER):
        return taps + 1
    return entry.channels_per_group(case) * taps + (case.bias is not None)
