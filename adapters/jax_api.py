"""JAX: ``lax.conv_general_dilated`` (convs and, through ``lhs_dilation``, transposed convs),
``lax.conv_transpose`` and ``lax.reduce_window`` (max and average pools), 1-3 spatial dims, each
eager and under ``jax.jit``. float64 through ``jax_enable_x64``; CPU only.

Each call is the translation a user writes: the layout by ``dimension_numbers`` (torch's
``OI...`` weight layout kept), padding as ``(before, after)`` pairs or JAX's own
``'SAME'``/``'VALID'``, a transposed conv as the conv of the stride-dilated input with the
flipped, in/out-swapped kernel, an average as a windowed sum over a windowed count.
"""

from __future__ import annotations

import contextvars
import functools
import os

import numpy as np

from convparity.adapters.api import (
    CRASHES,
    GLOBAL_ONLY,
    NO_PARAMETER,
    Api,
    Limit,
    along,
    channels_last,
    zeros_only,
)
from convparity.reference.case import Case
from convparity.reference.conv_transpose import transpose_crops
from convparity.reference.numerics import HALF_PRECISION, Numerics
from convparity.reference.pooling import pool_geometry

FRAMEWORK = "jax"
SPATIAL = {1: "W", 2: "HW", 3: "DHW"}
# Under jax.jit: id of a case array -> the tracer that stands for it
TRACED = contextvars.ContextVar("convparity_jax_traced", default=None)


@functools.cache
def jax():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)
    return jax


def array(values: np.ndarray):
    traced = TRACED.get()
    if traced is not None and id(values) in traced:
        return traced[id(values)]
    return jax().numpy.asarray(values)


def dimension_numbers(case: Case) -> tuple[str, str, str]:
    """``(input, weight, output)`` specs: NC+spatial or N+spatial+C; the weight as torch's."""
    spatial = SPATIAL[case.ndim]
    layout = f"N{spatial}C" if channels_last(case) else f"NC{spatial}"
    return layout, f"OI{spatial}", layout


def with_bias(y, case: Case):
    if case.bias is None:
        return y
    shape = [1] * y.ndim
    shape[-1 if channels_last(case) else 1] = -1
    return y + array(case.bias).reshape(shape)


def padding(case: Case):
    """JAX's own ``'SAME'``/``'VALID'`` where the case says so, else the pairs."""
    if isinstance(case.padding, str):
        return case.padding.upper()
    return [tuple(p) for p in case.pads]


# -- convs -------------------------------------------------------------------------------------
def conv(case: Case):
    y = jax().lax.conv_general_dilated(
        array(case.input), array(case.weight), window_strides=case.strides,
        padding=padding(case), rhs_dilation=case.dilations,
        dimension_numbers=dimension_numbers(case), feature_group_count=case.groups)
    return with_bias(y, case)


def forward_weight(case: Case):
    """torch's transposed-conv weight ``(I, O/g, *k)`` as the forward conv's ``(O, I/g, *k)``:
    each group's in/out swapped, the kernel flipped."""
    jnp = jax().numpy
    w = array(case.weight)
    i, o_per_group, *kernel = w.shape
    g = case.groups
    w = w.reshape(g, i // g, o_per_group, *kernel).swapaxes(1, 2)
    w = w.reshape(g * o_per_group, i // g, *kernel)
    return jnp.flip(w, axis=tuple(range(2, w.ndim)))


def transposed_padding(case: Case) -> list[tuple[int, int]]:
    """The dilated-input conv's padding: ``d*(k-1)`` less each crop, plus ``output_padding``."""
    crops, extra = transpose_crops(case.padding, case.output_padding, case.spatial_size,
                                   case.kernel, case.strides, case.dilations)
    return [(d * (k - 1) - lo, d * (k - 1) - hi + e)
            for k, d, (lo, hi), e in zip(case.kernel, case.dilations, crops, extra)]


def conv_transpose_by_lhs_dilation(case: Case):
    y = jax().lax.conv_general_dilated(
        array(case.input), forward_weight(case), window_strides=(1,) * case.ndim,
        padding=transposed_padding(case), lhs_dilation=case.strides,
        rhs_dilation=case.dilations, dimension_numbers=dimension_numbers(case),
        feature_group_count=case.groups)
    return with_bias(y, case)


def conv_transpose(case: Case):
    """``lax.conv_transpose`` with ``transpose_kernel=True`` (flip and swap: torch's meaning;
    its default False does not flip), torch's ``(I, O, *k)`` weight named ``IO...``."""
    spatial = SPATIAL[case.ndim]
    layout = dimension_numbers(case)[0]
    y = jax().lax.conv_transpose(
        array(case.input), array(case.weight), strides=case.strides,
        padding=transposed_padding(case), rhs_dilation=case.dilations,
        dimension_numbers=(layout, f"OI{spatial}", layout), transpose_kernel=True)
    return with_bias(y, case)


# -- pools -------------------------------------------------------------------------------------
def window(case: Case, values) -> tuple:
    """A per-dim value spread over every axis of the layout (1 on batch and channels)."""
    return (1, *values, 1) if channels_last(case) else (1, 1, *values)


def ends(geometry) -> list[tuple[int, int]]:
    """Per dim, ``(before, after)`` padding as far as the windows reach: ``after`` is the pad
    less what no window reaches, plus a ``ceil_mode`` window's overhang (never below 0: the
    input cells past the last window are fewer than a stride, so they add no window)."""
    return [(lo, max(0, (m - 1) * s + d * (k - 1) + 1 - n - lo))
            for n, k, s, d, (lo, _), m in zip(geometry.size, geometry.kernel_size,
                                              geometry.stride, geometry.dilation, geometry.pads,
                                              geometry.out_size)]


def spread(case: Case, pairs) -> tuple:
    """Per-dim pairs over every axis of the layout (none on batch and channels)."""
    pairs = tuple(tuple(p) for p in pairs)
    return ((0, 0), *pairs, (0, 0)) if channels_last(case) else ((0, 0), (0, 0), *pairs)


def geometry_of(case: Case):
    return pool_geometry(case.spatial_size, case.kernel_size, case.stride, case.padding,
                         case.dilation, case.ceil_mode)


def max_pool(case: Case):
    return extreme_pool(case, -np.inf, jax().lax.max)


def min_pool(case: Case):
    return extreme_pool(case, np.inf, jax().lax.min)


def extreme_pool(case: Case, start: float, fold):
    """``reduce_window`` folding each window with ``fold`` from ``start`` (padding holds it)."""
    geometry = geometry_of(case)
    x = array(case.input)
    return jax().lax.reduce_window(x, np.array(start, x.dtype), fold,
                                   window(case, geometry.kernel_size),
                                   window(case, geometry.stride), spread(case, ends(geometry)),
                                   window_dilation=window(case, geometry.dilation))


def avg_pool(case: Case):
    """``sum / divisor``: the divisor ``divisor_override``, else a windowed count of the cells
    on the input (and on the padding, with ``count_include_pad``; never the overhang)."""
    lax, jnp = jax().lax, jax().numpy
    geometry = geometry_of(case)
    x = array(case.input)
    reach = ends(geometry)
    sums = lax.reduce_window(x, np.array(0, x.dtype), lax.add, window(case, geometry.kernel_size),
                             window(case, geometry.stride), spread(case, reach),
                             window_dilation=window(case, geometry.dilation))
    if case.divisor_override is not None:
        return sums / np.array(case.divisor_override, x.dtype)
    ones, beyond = jnp.ones(x.shape, x.dtype), reach
    if case.count_include_pad:  # the padding counts, the overhang past it does not
        counted = [(lo, min(hi, end)) for (lo, hi), (_, end) in zip(geometry.pads, reach)]
        ones = jnp.pad(ones, spread(case, counted), constant_values=1)
        beyond = [(0, end - kept) for (_, kept), (_, end) in zip(counted, reach)]
    counts = lax.reduce_window(ones, np.array(0, x.dtype), lax.add,
                               window(case, geometry.kernel_size), window(case, geometry.stride),
                               spread(case, beyond),
                               window_dilation=window(case, geometry.dilation))
    return sums / counts


def global_pool(reduce: str):
    """Global pooling as flax models write it: ``jnp.mean``/``jnp.max`` over the spatial axes,
    dims kept."""
    def call(case: Case):
        first = 1 if channels_last(case) else 2
        axes = tuple(range(first, first + case.ndim))
        return getattr(jax().numpy, reduce)(array(case.input), axis=axes, keepdims=True)

    return call


# -- modes -------------------------------------------------------------------------------------
def jitted(call):
    """``call`` under ``jax.jit``: the case's arrays traced, everything else static."""
    def run(case: Case):
        arrays = [a for a in (case.input, case.weight, case.bias) if a is not None]

        def on(*tracers):
            token = TRACED.set({id(a): t for a, t in zip(arrays, tracers)})
            try:
                return call(case)
            finally:
                TRACED.reset(token)

        return jax().jit(on)(*[jax().numpy.asarray(a) for a in arrays])

    return run


def numerics(case: Case, machine: dict | None = None) -> Numerics | None:
    """What XLA's CPU kernels compute float16/bfloat16 in: ``reduce_window``'s add sums in the
    storage type (measured: 1 + 63 terms of eps/2 stays 1), and so, on small convs, do the
    conv's sums (a 2-tap float16 conv 6 ulps off, matching float16 accumulation; a 64-tap one
    summed in float32); the bias is added after rounding. float32/float64: themselves."""
    name = case.dtype.name
    if name not in HALF_PRECISION or case.op in ("max_pool", "min_pool", "adaptive_max_pool",
                                                   "adaptive_avg_pool"):
        # jnp.mean sums float16/bfloat16 in float32 (measured: the mean of 1 and 64 times
        # 2**-12 in float16 is 1/64, as exact, not float16 accumulation's 1/65)
        return None
    return Numerics(name, name, storage_roundings=int(case.bias is not None))


def upsampling_beside_dilated_point(case: Case) -> bool:
    """A dim of kernel 2, stride 2 and crop 1 on each side (each output reads one input cell)
    beside a 1-wide dim whose kernel (>= 2 taps) is dilated."""
    dims = list(zip(case.spatial_size, case.kernel, case.strides, case.dilations, case.pads))
    return any(k == 2 and s == 2 and d == 1 and pads == (1, 1) for _, k, s, d, pads in dims) \
        and any(n == 1 and k >= 2 and d >= 2 for n, k, _, d, _ in dims)


def upsampling_probes(ndim: int) -> tuple[dict, ...]:
    """The abort found, shrunk: a 1x3 float32 input, kernel 2x2, stride (1, 2), padding (0, 1),
    dilation (2, 1)."""
    if ndim == 1:
        return ()
    return ({"size": along(ndim, -1, 3, 1), "kernel": 2, "stride": along(ndim, -1, 2, 1),
             "padding": along(ndim, -1, 1, 0), "dilation": along(ndim, -1, 1, 2)},)


# Found by the sweep (jax 0.10.2, CPU): the process aborts at compile time, eager or jitted;
# shrunk by hand over 25 variants (kernel 3 stride 3, stride 3, no crop or a 2-wide dim: runs)
XLA_UPSAMPLING_ABORT = Limit(
    "can abort the process (XLA's algebraic simplifier: 'Window dimensions do not match RHS "
    "shape') on a transposed conv with a kernel-2, stride-2, crop-1 dim beside a 1-wide dim "
    "with a dilated kernel", CRASHES, also=upsampling_beside_dilated_point,
    probes=upsampling_probes)
NO_GROUPS = Limit("has no feature_group_count (groups)", NO_PARAMETER,
                  on={"groups": {"several"}}, parameter="groups")
NO_PADDING_MODE = zeros_only()


SHARED = ("jax.lax.conv_general_dilated", "jax.lax.reduce_window")  # callables serving several ops


def apis() -> list[Api]:
    result = []
    for n in (1, 2, 3):
        for name, op, call, limits in [
            ("jax.lax.conv_general_dilated", "conv", conv, (NO_PADDING_MODE,)),
            ("jax.lax.conv_general_dilated", "conv_transpose", conv_transpose_by_lhs_dilation,
             (XLA_UPSAMPLING_ABORT,)),
            ("jax.lax.conv_transpose", "conv_transpose", conv_transpose,
             (NO_GROUPS, XLA_UPSAMPLING_ABORT)),
            ("jax.lax.reduce_window", "max_pool", max_pool, ()),
            ("jax.lax.reduce_window", "min_pool", min_pool, ()),
            ("jax.lax.reduce_window", "avg_pool", avg_pool, ()),
            ("jax.numpy.mean", "adaptive_avg_pool", global_pool("mean"), (GLOBAL_ONLY,)),
            ("jax.numpy.max", "adaptive_max_pool", global_pool("max"), (GLOBAL_ONLY,)),
        ]:
            # the op names the variant where one callable serves several
            shown = op if name in SHARED else ""
            for backend, wrapped in (("", call), ("jit", jitted(call))):
                result.append(Api(name, FRAMEWORK, op, n, wrapped, limits, numerics=numerics,
                                  backend=backend, variant=shown))
    return result
