"""Hypothesis strategies that draw valid :class:`~convparity.reference.case.Case` objects.

Every keyword takes a value or a strategy (as ``hypothesis.extra.numpy.arrays`` does); a keyword
left out is drawn from a default that reaches the hard cells — padding > 0, stride > 1,
dilation > 1, non-square inputs and kernels, even kernels, ``"same"`` with stride > 1, asymmetric
pads, several channels per group, depthwise, ceil-mode edge windows, channels_last, float16 /
bfloat16 / float32 / float64, integer-valued ("exact") and real-valued data, NaN/inf for pools.
Examples shrink toward the simplest case: one channel, stride 1, no padding, float32,
integer-valued data, channels_first.

Array values come from a NumPy generator seeded by a drawn integer: ``values="integers"`` gives
integers in [-8, 8] (every framework is then exact), ``"normal"`` standard-normal reals.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from convparity.reference import ops
from convparity.reference.arguments import is_int, padding_pairs, per_dim, positive_int
from convparity.reference.case import Case
from convparity.reference.conv_transpose import transpose_crops
from convparity.reference.pooling import pool_geometry

__all__ = [
    "conv_cases", "conv_transpose_cases", "pool_cases", "adaptive_pool_cases", "layer_cases",
    "signal_cases",
    "with_cotangent", "paddings", "DTYPES", "VALUES",
]


def _available_dtypes() -> tuple[str, ...]:
    names = ["float32", "float64", "float16"]
    try:
        import ml_dtypes  # noqa: F401
    except ImportError:
        pass
    else:
        names.append("bfloat16")
    return tuple(names)


DTYPES = _available_dtypes()
VALUES = ("integers", "normal")
INTEGER_RANGE = 8
_DEFAULT: Any = object()


def _check_arguments(kwargs: dict) -> None:
    """Arguments a strategy can never draw from raise ``InvalidArgument`` naming them when the
    strategy is built (as ``hypothesis.extra.numpy`` does), not ``Unsatisfiable`` hundreds of
    draws later. Strategies and left-out keywords are checked as they are drawn."""
    fixed = {k: v for k, v in kwargs.items()
             if v is not _DEFAULT and v is not None and not isinstance(v, st.SearchStrategy)}
    ndim = fixed.get("ndim", 1)
    if "ndim" in fixed and (not is_int(ndim) or ndim not in (1, 2, 3)):
        raise InvalidArgument(f"ndim={ndim!r}: expected 1, 2 or 3 spatial dims")
    try:
        for name in ("stride", "dilation", "kernel_size", "input_size"):
            if name in fixed:
                per_dim(name, fixed[name], ndim if is_int(ndim) else 1, minimum=1)
        for name in ("batch", "in_channels", "out_channels", "channels", "groups",
                     "channels_per_group"):
            if name in fixed:
                positive_int(name, fixed[name])
        if "output_padding" in fixed:
            per_dim("output_padding", fixed["output_padding"], ndim, minimum=0)
        if "padding" in fixed and not isinstance(fixed["padding"], str):
            padding_pairs(fixed["padding"], input_size=(1,) * ndim, kernel_size=(1,) * ndim,
                          stride=(1,) * ndim, dilation=(1,) * ndim)
        if "dtype" in fixed and as_dtype(fixed["dtype"]).name not in DTYPES:
            raise ValueError(f"dtype={fixed['dtype']!r}: expected one of {', '.join(DTYPES)}")
        if "values" in fixed and fixed["values"] not in VALUES:
            raise ValueError(f"values={fixed['values']!r}: expected one of {', '.join(VALUES)}")
        if "data_format" in fixed and fixed["data_format"] not in ("channels_first",
                                                                   "channels_last"):
            raise ValueError(f"data_format={fixed['data_format']!r}: expected 'channels_first' "
                             f"or 'channels_last'")
    except (ValueError, TypeError) as error:
        raise InvalidArgument(str(error)) from None


def _checked(strategy):
    """``strategy`` with its arguments checked when it is built (see :func:`_check_arguments`)."""
    @functools.wraps(strategy)
    def build(*args, **kwargs):
        names = list(inspect.signature(strategy).parameters)  # composite: `draw` is gone
        _check_arguments({**dict(zip(names, args)), **kwargs})
        return strategy(*args, **kwargs)

    return build


def as_dtype(name) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _resolve(draw, value, default):
    value = default if value is _DEFAULT else value
    return draw(value) if isinstance(value, st.SearchStrategy) else value


def _per_dim(draw, value, ndim: int, default: st.SearchStrategy) -> tuple[int, ...]:
    """One int per dim: ``value`` may be an int, a tuple, a strategy of either, or left out."""
    if value is _DEFAULT:
        return tuple(draw(default) for _ in range(ndim))
    value = draw(value) if isinstance(value, st.SearchStrategy) else value
    return (value,) * ndim if isinstance(value, int) else tuple(value)


def paddings(ndim: int, high: int = 2) -> st.SearchStrategy:
    """Every padding form, pads up to ``high``: 0 first (it shrinks there), then one int, per-dim
    ints, (before, after) pairs, 'valid'/'same'."""
    pad = st.integers(0, high)
    return st.one_of(
        st.just(0),
        pad,
        st.tuples(*[pad] * ndim),
        st.tuples(*[st.tuples(pad, pad)] * ndim),
        st.sampled_from(["valid", "same"]),
    )


class _Arrays:
    """Seeded array maker: integer-valued or standard-normal values, cast to ``dtype``."""

    def __init__(self, seed: int, values: str, dtype: str, specials: bool = False):
        self.rng = np.random.default_rng(seed)
        self.values, self.dtype, self.specials = values, as_dtype(dtype), specials

    def __call__(self, shape) -> np.ndarray:
        if self.values == "integers":
            a = self.rng.integers(-INTEGER_RANGE, INTEGER_RANGE + 1, size=shape).astype(float)
        else:
            a = self.rng.standard_normal(shape)
        if self.specials:
            a[self.rng.random(shape) < 0.1] = np.nan
            a[self.rng.random(shape) < 0.05] = np.inf
            a[self.rng.random(shape) < 0.05] = -np.inf
        return a.astype(self.dtype)


def _arrays(draw, values, dtype, seed, specials=False) -> _Arrays:
    return _Arrays(
        _resolve(draw, seed, st.integers(0, 2**32 - 1)),
        _resolve(draw, values, st.sampled_from(VALUES)),
        _resolve(draw, dtype, st.sampled_from(DTYPES)),
        specials,
    )


def _layout(x: np.ndarray, data_format: str) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(x, 1, -1)) if data_format == "channels_last" else x


@_checked
@st.composite
def conv_cases(draw, ndim=2, *, batch=_DEFAULT, in_channels=_DEFAULT, out_channels=_DEFAULT,
               groups=_DEFAULT, channels_per_group=_DEFAULT, kernel_size=_DEFAULT,
               input_size=_DEFAULT, stride=_DEFAULT, padding=_DEFAULT, dilation=_DEFAULT,
               bias=_DEFAULT, padding_mode="zeros", data_format=_DEFAULT, dtype=_DEFAULT,
               values=_DEFAULT, seed=_DEFAULT) -> Case:
    """Convolutions (torch semantics). Defaults: ``groups`` 1-3 with ``channels_per_group`` 1-3
    input channels (1: depthwise) and 1-3 output channels per group, kernel 1-4 per dim, stride
    1-3, dilation 1-2, padding any form up to 2, input size just large enough for the kernel
    plus 0-5, ``padding_mode`` zeros (pass a strategy over ``("zeros", "reflect", "replicate",
    "circular", "symmetric")`` for the others). ``padding`` may draw a function of the kernel
    size that gives the padding strategy."""
    ndim = _resolve(draw, ndim, None)
    groups = _resolve(draw, groups, st.integers(1, 3))
    per_group = _resolve(draw, channels_per_group, st.integers(1, 3))
    in_channels = _resolve(draw, in_channels, st.just(per_group * groups))
    out_channels = _resolve(draw, out_channels, st.integers(1, 3).map(lambda c: c * groups))
    kernel = _per_dim(draw, kernel_size, ndim, st.integers(1, 4))
    stride = _per_dim(draw, stride, ndim, st.integers(1, 3))
    dilation = _per_dim(draw, dilation, ndim, st.integers(1, 2))
    padding = _resolve(draw, padding, paddings(ndim, 2))
    if callable(padding):  # a function of the kernel (a filter's size-keeping placements)
        padding = draw(padding(kernel))
    padding_mode = _resolve(draw, padding_mode, None)
    size = _input_size(draw, input_size, ndim, kernel, dilation, padding, padding_mode)
    return _weighted_case(
        draw, "conv", (batch, in_channels, size), (out_channels, in_channels // groups, *kernel),
        bias, (values, dtype, seed), data_format, stride=stride, padding=padding,
        dilation=dilation, groups=groups, padding_mode=padding_mode)


def _weighted_case(draw, op, input_shape, weight_shape, bias, data, data_format, **fields):
    """Draw the arrays of a conv or transposed conv (input, weight, maybe a bias) and the
    layout; ``input_shape`` is ``(batch, channels, spatial size)``."""
    batch, channels, size = input_shape
    make = _arrays(draw, *data)
    data_format = _resolve(draw, data_format, st.sampled_from(["channels_first", "channels_last"]))
    x = make((_resolve(draw, batch, st.integers(1, 2)), channels, *size))
    w = make(weight_shape)
    out_channels = weight_shape[0] if op == "conv" else weight_shape[1] * fields["groups"]
    b = make((out_channels,)) if _resolve(draw, bias, st.booleans()) else None
    return _valid(Case(op, _layout(x, data_format), w, b, data_format=data_format, **fields))


def _input_size(draw, input_size, ndim, kernel, dilation, padding, padding_mode):
    """Spatial size: given, or drawn from the smallest the kernel and padding allow."""
    if input_size is not _DEFAULT:
        return _per_dim(draw, input_size, ndim, None)
    pads = padding if isinstance(padding, (tuple, list)) else [padding] * ndim
    sizes = []
    for k, d, p in zip(kernel, dilation, pads):
        lo, hi = (0, 0) if isinstance(p, str) else (p, p) if isinstance(p, int) else p
        smallest = max(1, d * (k - 1) + 1 - lo - hi)
        if padding_mode in ("reflect", "circular"):
            smallest = max(smallest, max(lo, hi) + 1)
        sizes.append(draw(st.integers(smallest, smallest + 5)))
    return tuple(sizes)


def _valid(case: Case) -> Case:
    """Rejects (``assume``) the rare drawn combination the oracle refuses."""
    try:
        case.expected()
    except ValueError:
        assume(False)
    return case


@_checked
@st.composite
def conv_transpose_cases(draw, ndim=2, *, batch=_DEFAULT, in_channels=_DEFAULT,
                         out_channels=_DEFAULT, groups=_DEFAULT, kernel_size=_DEFAULT,
                         input_size=_DEFAULT, stride=_DEFAULT, padding=_DEFAULT,
                         output_padding=_DEFAULT, dilation=_DEFAULT, bias=_DEFAULT,
                         data_format=_DEFAULT, dtype=_DEFAULT, values=_DEFAULT,
                         seed=_DEFAULT) -> Case:
    """Transposed convolutions (torch semantics; weight ``(in, out/groups, *k)``). Defaults as
    :func:`conv_cases`; ``output_padding`` drawn below ``max(stride, dilation)``; padding any form
    (crops) up to 2, ``"same"`` meaning TensorFlow's SAME output size ``n*s``."""
    ndim = _resolve(draw, ndim, None)
    groups = _resolve(draw, groups, st.integers(1, 3))
    in_channels = _resolve(draw, in_channels, st.integers(1, 3).map(lambda c: c * groups))
    out_channels = _resolve(draw, out_channels, st.integers(1, 3).map(lambda c: c * groups))
    kernel = _per_dim(draw, kernel_size, ndim, st.integers(1, 4))
    stride = _per_dim(draw, stride, ndim, st.integers(1, 3))
    dilation = _per_dim(draw, dilation, ndim, st.integers(1, 2))
    padding = _resolve(draw, padding, paddings(ndim, 2))
    if output_padding is _DEFAULT:
        output_padding = 0 if padding == "same" else tuple(
            draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)
        )
    output_padding = _resolve(draw, output_padding, None)
    size = _per_dim(draw, input_size, ndim, st.integers(1, 5))
    try:
        transpose_crops(padding, output_padding, size, kernel, stride, dilation)
    except ValueError:
        assume(False)
    return _weighted_case(
        draw, "conv_transpose", (batch, in_channels, size),
        (in_channels, out_channels // groups, *kernel), bias, (values, dtype, seed), data_format,
        stride=stride, padding=padding, output_padding=output_padding, groups=groups,
        dilation=dilation)


@_checked
@st.composite
def pool_cases(draw, ndim=2, kind="max", *, batch=_DEFAULT, channels=_DEFAULT,
               kernel_size=_DEFAULT, input_size=_DEFAULT, stride=_DEFAULT, padding=_DEFAULT,
               dilation=_DEFAULT, ceil_mode=_DEFAULT, count_include_pad=_DEFAULT,
               divisor_override=None, norm_type=_DEFAULT, convention=_DEFAULT,
               data_format=_DEFAULT, dtype=_DEFAULT, values=_DEFAULT, specials=_DEFAULT,
               seed=_DEFAULT) -> Case:
    """Max (``kind="max"``), min (``"min"``), average (``"avg"``) or Lp (``"lp"``: p of 1, 1.5,
    2, 3 and either convention) pooling, torch semantics.
    Defaults: kernel 1-4, stride ``None`` (= kernel) or 1-3, dilation 1-2 (max, min) / 1 (avg),
    padding any form up to the kernel size (only configurations in which every window sees the
    input are kept), ceil_mode and count_include_pad both ways, NaN/±inf in the data about a
    fifth of the time."""
    ndim = _resolve(draw, ndim, None)
    kind = _resolve(draw, kind, None)
    kernel = _per_dim(draw, kernel_size, ndim, st.integers(1, 4))
    if stride is _DEFAULT:
        stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * ndim)))
    else:
        stride = _resolve(draw, stride, None)
    dilation_default = st.just(1) if kind == "avg" else st.integers(1, 2)
    dilation = _per_dim(draw, dilation, ndim, dilation_default)
    padding = _resolve(draw, padding, paddings(ndim, max(kernel)))
    ceil_mode = _resolve(draw, ceil_mode, st.booleans())
    size = _input_size(draw, input_size, ndim, kernel, dilation, padding, "zeros")
    try:
        pool_geometry(size, kernel, stride, padding, dilation, ceil_mode)
    except ValueError:
        assume(False)
    specials = _resolve(draw, specials, st.integers(0, 4).map(lambda i: i == 4 and kind != "lp"))
    make = _arrays(draw, values, dtype, seed, specials=specials)
    data_format = _resolve(draw, data_format, st.sampled_from(["channels_first", "channels_last"]))
    x = make((_resolve(draw, batch, st.integers(1, 2)),
              _resolve(draw, channels, st.integers(1, 3)), *size))
    fields = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation,
                  ceil_mode=ceil_mode, data_format=data_format)
    if kind == "avg":
        fields["count_include_pad"] = _resolve(draw, count_include_pad, st.booleans())
        fields["divisor_override"] = _resolve(draw, divisor_override, None)
    if kind == "lp":
        fields["norm_type"] = _resolve(draw, norm_type, st.sampled_from([2.0, 1.0, 3.0, 1.5]))
        fields["convention"] = _resolve(draw, convention, st.sampled_from(
            ["absolute", "signed"]))
    return _valid(Case(f"{kind}_pool", _layout(x, data_format), **fields))


@_checked
@st.composite
def adaptive_pool_cases(draw, ndim=2, kind="avg", *, batch=_DEFAULT, channels=_DEFAULT,
                        input_size=_DEFAULT, output_size=_DEFAULT, data_format=_DEFAULT,
                        dtype=_DEFAULT, values=_DEFAULT, specials=_DEFAULT,
                        seed=_DEFAULT) -> Case:
    """Adaptive average (``kind="avg"``) or max (``"max"``) pooling, torch's bins. Defaults:
    input 1-9 per dim; ``output_size`` global (1), one int, or one entry per dim, each 1 to
    the input's size plus 2 (so mostly not dividing it: overlapping bins, and bins of one cell
    repeated where the output is the larger) or ``None`` (the dim kept); ``output_size`` may
    also be a function of the drawn input size that gives one of those (or a strategy of
    them). NaN/±inf in max pooling's data about a fifth of the time."""
    ndim = _resolve(draw, ndim, None)
    kind = _resolve(draw, kind, None)
    size = _per_dim(draw, input_size, ndim, st.integers(1, 9))
    if output_size is _DEFAULT:
        entries = st.tuples(*[st.none() | st.integers(1, n + 2) for n in size])
        output_size = draw(st.just(1) | st.integers(1, min(size) + 2) | entries)
    else:
        output_size = _resolve(draw, output_size, None)
        if callable(output_size):  # a function of the input size
            output_size = _resolve(draw, output_size(size), None)
    specials = _resolve(draw, specials, st.integers(0, 4).map(lambda i: i == 4 and kind == "max"))
    make = _arrays(draw, values, dtype, seed, specials=specials)
    data_format = _resolve(draw, data_format, st.sampled_from(["channels_first", "channels_last"]))
    x = make((_resolve(draw, batch, st.integers(1, 2)),
              _resolve(draw, channels, st.integers(1, 3)), *size))
    return _valid(Case(f"adaptive_{kind}_pool", _layout(x, data_format),
                       output_size=output_size, data_format=data_format))


@st.composite
def layer_cases(draw, names=_DEFAULT, *, size=_DEFAULT, data_format=_DEFAULT, dtype=_DEFAULT,
                values=_DEFAULT, bias=_DEFAULT, seed=_DEFAULT) -> Case:
    """A real layer (:data:`~convparity.reference.layers.LAYERS`, or those ``names``) at its
    real channel counts and kernel: the accumulation length of the model. Spatial ``size``
    (per dim) defaults to the kernel's extent plus 0-2 strides, so that some output sees every
    tap, batch 1: the budget shrinks the image, never the channels."""
    from convparity.reference.layers import LAYERS

    chosen = [layer for layer in LAYERS if names is _DEFAULT or layer.name in names]
    layer = draw(st.sampled_from(chosen))
    if size is _DEFAULT:
        size = layer.smallest_size(draw(st.integers(0, 2)))
    size = _resolve(draw, size, None)
    make = _arrays(draw, values, dtype, seed)
    data_format = _resolve(draw, data_format, st.sampled_from(["channels_first",
                                                               "channels_last"]))
    with_bias = layer.op in ("conv", "conv_transpose") and _resolve(draw, bias, st.booleans())
    return _valid(layer.case(make, size, data_format=data_format, bias=with_bias))


@st.composite
def signal_cases(draw, op="correlate", *, in1_shape=_DEFAULT, in2_shape=_DEFAULT, mode=_DEFAULT,
                 boundary=_DEFAULT, fillvalue=_DEFAULT, dtype=_DEFAULT, values=_DEFAULT,
                 seed=_DEFAULT) -> Case:
    """SciPy's 2-D ``correlate2d`` (``op="correlate"``) or ``convolve2d`` (``"convolve"``), every
    mode and boundary; shapes 1-8 x 1-8 and kernels 1-5 x 1-5, either may be the larger."""
    op = _resolve(draw, op, None)
    shape1 = _resolve(draw, in1_shape, st.tuples(st.integers(1, 8), st.integers(1, 8)))
    shape2 = _resolve(draw, in2_shape, st.tuples(st.integers(1, 5), st.integers(1, 5)))
    mode = _resolve(draw, mode, st.sampled_from(["full", "valid", "same"]))
    if mode == "valid":
        fits = all(a >= b for a, b in zip(shape1, shape2))
        assume(fits or all(b >= a for a, b in zip(shape1, shape2)))
    boundary = _resolve(draw, boundary, st.sampled_from(["fill", "wrap", "symm"]))
    fillvalue = _resolve(draw, fillvalue, st.just(0.0) | st.integers(-3, 3).map(float))
    make = _arrays(draw, values, dtype, seed)
    return Case(op, make(shape1), make(shape2), mode=mode, boundary=boundary,
                fillvalue=fillvalue)


def max_pool_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`pool_cases` of ``kind="max"``."""
    return pool_cases(ndim, "max", **kwargs)


def min_pool_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`pool_cases` of ``kind="min"``."""
    return pool_cases(ndim, "min", **kwargs)


def lp_pool_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`pool_cases` of ``kind="lp"``."""
    return pool_cases(ndim, "lp", **kwargs)


def avg_pool_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`pool_cases` of ``kind="avg"``."""
    return pool_cases(ndim, "avg", **kwargs)


def adaptive_avg_pool_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`adaptive_pool_cases` of ``kind="avg"``."""
    return adaptive_pool_cases(ndim, "avg", **kwargs)


def adaptive_max_pool_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`adaptive_pool_cases` of ``kind="max"``."""
    return adaptive_pool_cases(ndim, "max", **kwargs)


def correlate_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`signal_cases` of ``correlate2d`` (2-D only)."""
    return signal_cases("correlate", **kwargs)


def convolve_cases(ndim=2, **kwargs) -> st.SearchStrategy:
    """:func:`signal_cases` of ``convolve2d`` (2-D only)."""
    return signal_cases("convolve", **kwargs)


def cases(op: str, ndim=2, **kwargs) -> st.SearchStrategy:
    """The strategy of ``op`` (its entry in :data:`~convparity.reference.ops.TABLE`)."""
    return globals()[ops.op(op).strategy](ndim, **kwargs)


@st.composite
def with_cotangent(draw, cases: st.SearchStrategy, *, values=_DEFAULT,
                   seed=_DEFAULT) -> tuple[Case, np.ndarray]:
    """``(case, cotangent)``: a case from ``cases`` and a gradient for its output, of the
    output's shape and the case's dtype; integer-valued when the case's data are (so that the
    backward pass is exact too), else standard normal, unless ``values`` says."""
    case = draw(cases)
    integer_data = all(np.all(np.asarray(a, dtype=float) == np.round(np.asarray(a, dtype=float)))
                       for a in (case.input, case.weight) if a is not None)
    if values is _DEFAULT:
        values = "integers" if integer_data else "normal"
    make = _arrays(draw, values, case.dtype.name, seed)
    return case, make(case.expected().shape)
