"""The ONNX reference evaluator (``onnx.reference.ReferenceEvaluator``) as an engine: each case
as a one-node model (:mod:`convparity.adapters.onnx_model`), Conv, ConvTranspose, MaxPool and
AveragePool, 1-3-D. Pure NumPy like the oracle, and wrong in places (its limits and
divergences say where)."""

from __future__ import annotations

import functools
import math

import numpy as np

from convparity.adapters import onnx_model
from convparity.adapters.api import DIFFERS, GLOBAL_ONLY, RAISES, Api, Limit, raises
from convparity.adapters.onnx_model import (
    ABSOLUTE_ONLY,
    NCHW,
    NO_DIVISOR,
    NO_PADDING_MODE,
    output_padding_not_below_stride,
)
from convparity.reference.case import Case
from convparity.reference.numerics import HALF_PRECISION, accumulating_in_storage

FRAMEWORK = "onnx"


def run(case: Case):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(onnx_model.model(case)).run(None, onnx_model.inputs(case))[0]


def several_per_group(case: Case) -> bool:
    """A grouped transposed conv with more than one input or output channel per group."""
    return case.groups > 1 and (case.weight.shape[0] // case.groups > 1 or case.weight.shape[1] > 1)


def stride_one_same(case: Case) -> bool:
    """SAME on MaxPool's stride-1 path (every stride and dilation 1) in 1-D or 3-D."""
    return case.ndim in (1, 3) and set(case.strides) == {1} and set(case.dilations) == {1}


def same_total_negative(case: Case) -> bool:
    return any((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n < 0
               for n, k, s, d in zip(case.spatial_size, case.kernel, case.strides,
                                     case.dilations))


def stride_one_path(case: Case) -> bool:
    return set(case.strides) == {1} and set(case.dilations) == {1}


def nan_only_window(case: Case) -> bool:
    """MaxPool's stride-1 path with a window of NaN only (it reduces the others: none)."""
    if not stride_one_path(case):
        return False
    isnan = np.isnan(np.asarray(case.input, dtype=np.float64))
    if not isnan.any():
        return False
    return bool((case.replace(input=-isnan.astype(np.float64)).expected() == -1).any())


def numerics(case: Case, machine: dict | None = None):
    """NumPy in the arrays' own dtype: float16 sums in float16."""
    return accumulating_in_storage(case.dtype.name) if case.dtype.name in HALF_PRECISION \
        and case.op not in ("max_pool", "adaptive_max_pool") else None


GROUPED_TRANSPOSE = Limit(
    "raises for a grouped ConvTranspose with several channels per group (onnx 1.23)", RAISES,
    also=several_per_group,
    raises=raises("ValueError", "cannot reshape|could not broadcast|n_input_plane"),
    reach={"dtype": "float32", "groups": 2})
MAXPOOL_SAME_1D_3D = Limit(
    "raises for SAME on MaxPool's stride-1 path in 1-D and 3-D", RAISES,
    on={"padding": {"same", "same, uneven"}, "stride": {"one"}, "dilation": {"one"}},
    also=stride_one_same,
    raises=raises("IndexError ValueError", "tuple index out of range|could not be broadcast"))
AVERAGE_AUTO_PAD_CEIL = Limit(
    "raises for ceil_mode with auto_pad SAME/VALID (AveragePool)", RAISES,
    on={"padding": {"same", "same, uneven", "valid"}, "ceil_mode": {True}},
    raises=raises("AssertionError", "ceil_mode is not supported with auto_pad"))
AVERAGE_SAME_NEGATIVE = Limit(
    "raises for SAME where a dim's total padding would be negative (AveragePool)", RAISES,
    on={"padding": {"same", "same, uneven"}}, also=same_total_negative,
    raises=raises("ValueError", "negative"),
    reach={"dtype": "float32", "kernel_size": 1, "stride": 2, "dilation": 1,
           "ceil_mode": False})


NAN_ONLY_WINDOW = Limit(
    "raises for a window of NaN only on MaxPool's stride-1 path (a max over no values)", RAISES,
    also=nan_only_window, raises=raises("ValueError", "zero-size array"),
    reach={"dtype": "float32", "stride": 1, "dilation": 1})
OUTPUT_PADDING = Limit("needs output_padding < stride (torch allows < max(stride, dilation))",
                       RAISES, also=output_padding_not_below_stride,
                       raises=raises("ValueError", "n_input_plane"),
                       reach={"dtype": "float32", "stride": 1, "dilation": 2,
                              "output_padding": 1})


STRIDE_ONE_PADS = Limit(
    "computes wrong values or raises for explicit pads on MaxPool's stride-1 path in 1-D and 3-D "
    "(x=[1, 2, 3], kernel 2, pads [0, 1]: [2, 3] instead of [2, 3, 3])", DIFFERS,
    on={"padding": {"symmetric", "asymmetric"}, "stride": {"one"}, "dilation": {"one"}},
    also=lambda c: c.ndim in (1, 3))
AVERAGE_CEIL_PADS = Limit(
    "computes wrong values or raises for ceil_mode with explicit pads (AveragePool: an overhang "
    "of 2 or more is split, half added at the start; x=[1, 2, 3, 3], kernel 3, stride 3: "
    "[1.5, 3] instead of [2, 3])", DIFFERS,
    on={"ceil_mode": {True}, "padding": {"zero", "symmetric", "asymmetric"}})


LP_CEIL = Limit(
    "computes something else for ceil_mode (LpPool, as (kernel volume * AveragePool(|x|^p))^(1/p)"
    ": an overhanging window is rescaled by the kernel over the cells inside in 2-D and 3-D, "
    "x=[-4, -3, -8], kernel 2: [5, 11.31] instead of [5, 8]; split in 1-D, x=[6, 2, 0, -4], "
    "kernel 3: [6.32, 0] instead of [6.32, 4])", DIFFERS,
    on={"ceil_mode": {True}})


FRACTIONAL_P = Limit(
    "takes an integer p only (the spec's int attribute): a float p runs, its 1/p in float32 "
    "(x=[6] in float64, p=1.5: 6.00000032 instead of 6)", DIFFERS,
    on={"norm_type": {"fractional"}})


AVERAGE_AUTO_PAD_DILATED = Limit(
    "computes something else for auto_pad with a dilation (AveragePool: the undilated kernel's "
    "output count, windows overhanging into zeros; VALID, kernel 2, dilation 2, x=[1, 2, 3, 3]: "
    "[2, 2.5, 0] instead of [2, 2.5])", DIFFERS,
    on={"padding": {"same", "same, uneven", "valid"}, "dilation": {"dilated"}},
    reach={"dtype": "float32", "kernel_size": 2, "dilation": 2, "ceil_mode": False})


CONV_AUTO_PAD = Limit(
    "computes something else or raises for Conv with auto_pad VALID or SAME (onnx 1.17: other "
    "pads, ceil(n/s) windows; VALID, x=[1, 2], W=[1, 10]: [21, 2] instead of [21]; SAME, "
    "x=[6, 2, 0], W=[-4, -3, -8], stride 3: -34 instead of -30)", DIFFERS,
    on={"padding": {"valid", "same", "same, uneven"}},
    reach={"dtype": "float32", "kernel_size": 2, "stride": 1, "dilation": 1,
           "padding": "valid"},
    versions="<1.18")  # measured: 1.17 computes it, 1.23 agrees


def transposed_same_short_kernel(case: Case) -> bool:
    """A transposed conv's SAME with a dim whose dilated kernel is shorter than its stride."""
    return isinstance(case.padding, str) and case.padding.lower() == "same" and any(
        (k - 1) * d + 1 < s for k, s, d in zip(case.kernel, case.strides, case.dilations))


TRANSPOSE_SAME_SHORT = Limit(
    "computes something else for ConvTranspose SAME_UPPER with a kernel shorter than the "
    "stride: it crops where the oracle (as TensorFlow's SAME) pads (x=[12], W=[1], stride 2: "
    "[0, 0] instead of [12, 0])", DIFFERS, on={"padding": {"same", "same, uneven"}},
    also=transposed_same_short_kernel,
    reach={"dtype": "float32", "kernel_size": 1, "stride": 2, "dilation": 1})


def apis() -> list[Api]:
    result = []
    for n in (1, 2, 3):
        for op, limits in [
            ("conv", (NCHW, NO_PADDING_MODE, CONV_AUTO_PAD)),
            ("conv_transpose", (NCHW, GROUPED_TRANSPOSE, OUTPUT_PADDING, TRANSPOSE_SAME_SHORT)),
            ("max_pool", (NCHW, MAXPOOL_SAME_1D_3D, NAN_ONLY_WINDOW, STRIDE_ONE_PADS)),
            ("avg_pool", (NCHW, NO_DIVISOR, AVERAGE_AUTO_PAD_CEIL, AVERAGE_SAME_NEGATIVE,
                          AVERAGE_CEIL_PADS, AVERAGE_AUTO_PAD_DILATED)),
            ("adaptive_avg_pool", (NCHW, GLOBAL_ONLY)),
            ("adaptive_max_pool", (NCHW, GLOBAL_ONLY)),
            # LpPool is (kernel volume * AveragePool(|x|^p))^(1/p): AveragePool's limits
            ("lp_pool", (NCHW, ABSOLUTE_ONLY, FRACTIONAL_P, LP_CEIL, AVERAGE_SAME_NEGATIVE,
                         AVERAGE_AUTO_PAD_DILATED)),
        ]:
            if op == "adaptive_max_pool" and n != 2:
                # GlobalMaxPool reduces axes 2 and 3 whatever the rank (onnx 1.23): in 1-D the
                # channels too, shape (N, 1); in 3-D shape (N, C, D, 1, 1, 1). Nothing to sweep.
                continue
            op_type = onnx_model.OP_TYPES[op]
            result.append(Api(f"onnx.reference.{op_type}", FRAMEWORK, op, n, run, limits,
                              numerics=numerics,
                              parameters=functools.partial(onnx_model.parameters, op_type)))
    return result
