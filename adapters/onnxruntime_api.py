"""ONNX Runtime (CPU execution provider): each case as a one-node model
(:mod:`convparity.adapters.onnx_model`), Conv, ConvTranspose, MaxPool and AveragePool, 1-3-D."""

from __future__ import annotations

import functools
import math

from convparity.adapters import onnx_model
from convparity.adapters.api import DIFFERS, GLOBAL_ONLY, RAISES, Api, Limit, raises
from convparity.adapters.onnx_model import (
    ABSOLUTE_ONLY,
    INTEGER_P,
    NCHW,
    NO_DIVISOR,
    NO_PADDING_MODE,
    output_padding_not_below_stride,
)
from convparity.adapters.versions import in_range
from convparity.reference.case import Case

FRAMEWORK = "onnxruntime"

# The newest ai.onnx opset each ONNX Runtime release runs (its compatibility table: 1.20 refuses
# an opset-22 model); its models are stamped with the lower of this and onnx_model.OPSET.
NEWEST_OPSET = ((">=1.21", 22), (">=1.18", 21), (">=1.17", 20), ("", 19))


@functools.cache
def ort():
    import onnxruntime

    return onnxruntime


@functools.cache
def opset() -> int:
    """The opset this ONNX Runtime's models are stamped with."""
    newest = next(o for versions, o in NEWEST_OPSET if in_range(ort().__version__, versions))
    return min(onnx_model.OPSET, newest)


def run(case: Case):
    options = ort().SessionOptions()
    options.log_severity_level = 4  # its errors are raised; no log lines on stderr
    session = ort().InferenceSession(onnx_model.model(case, opset()).SerializeToString(),
                                     options, providers=["CPUExecutionProvider"])
    return session.run(["Y"], onnx_model.inputs(case))[0]


def pad_not_below_kernel(case: Case) -> bool:
    return any(max(lo, hi) >= k for (lo, hi), k in zip(case.pads, case.kernel))


def same_total_negative(case: Case) -> bool:
    """SAME where some dim needs a negative total pad (``k < s`` with the last window inside)."""
    return isinstance(case.padding, str) and case.padding.lower() == "same" and any(
        (math.ceil(n / s) - 1) * s + k - n < 0
        for n, k, s in zip(case.spatial_size, case.kernel, case.strides))


def ceil_window_in_padding(case: Case) -> bool:
    """ceil_mode where ONNX Runtime 1.20's output count, ``ceil((n + lo + hi - (k-1)*d - 1)/s
    + 1)`` in float, keeps a last window starting past the input (in the right padding)."""
    same = isinstance(case.padding, str) and case.padding.lower() == "same"
    return bool(case.ceil_mode) and not same and any(
        (math.ceil((n + lo + hi - (k - 1) * d - 1) / s + 1) - 1) * s - lo >= n
        for n, (lo, hi), k, s, d in zip(case.spatial_size, case.pads, case.kernel, case.strides,
                                        case.dilations))


def same_dilated_overrun(case: Case) -> bool:
    """SAME with a dilation where the dilated kernel overruns the input padded for the
    undilated one (ONNX Runtime's SAME) by less than a stride: 1.20 has no window there."""
    return isinstance(case.padding, str) and case.padding.lower() == "same" and any(
        n + same_total - (k - 1) * d - 1 < 0
        for n, k, s, d in zip(case.spatial_size, case.kernel, case.strides, case.dilations)
        for same_total in [(math.ceil(n / s) - 1) * s + k - n])


NOT_IMPLEMENTED = raises("NotImplemented", "Could not find an implementation")
NO_BFLOAT16 = Limit("has no bfloat16 kernel on CPU", RAISES, on={"dtype": {"bfloat16"}},
                    # before opset 22 (ONNX Runtime 1.20) the schema refuses the type
                    raises=raises("NotImplemented InvalidGraph",
                                  r"Could not find an implementation|tensor\(bfloat16\)"))
NO_FLOAT64 = Limit("has no float64 kernel on CPU (MaxPool has)", RAISES,
                   on={"dtype": {"float64"}}, raises=NOT_IMPLEMENTED)
POOL_PAD = Limit("needs every pad smaller than the kernel size (undilated)", RAISES,
                 also=pad_not_below_kernel,
                 raises=raises("Fail RuntimeException",
                               r"Pad should be smaller than kernel|pads\[dim\] < kernel_shape"),
                 reach={"dtype": "float32", "kernel_size": 2, "padding": 2, "dilation": 2})
OUTPUT_PADDING = Limit("needs output_padding < stride (torch allows < max(stride, dilation))",
                       RAISES, also=output_padding_not_below_stride,
                       raises=raises("RuntimeException Fail InvalidArgument",
                                     "inconsistent|output_padding"),
                       reach={"dtype": "float32", "stride": 1, "dilation": 2,
                              "output_padding": 1},
                       versions=">=1.21")  # measured: 1.20 runs it, 1.32 raises
OUTPUT_PADDING_UNSET = Limit(
    "leaves the outputs past the last tap unset for output_padding >= stride in 2-D "
    "(unrepeatable values; 1-D and 3-D agree: x=[[6]], W=[[2]], stride 1, dilation 2, "
    "output_padding 1)", DIFFERS,
    also=lambda c: c.ndim == 2 and output_padding_not_below_stride(c),
    reach={"dtype": "float32", "stride": 1, "dilation": 2, "output_padding": 1},
    versions="<1.21")  # measured: 1.20.1 (values change from call to call), 1.32 raises
SAME_NEGATIVE = Limit("raises for SAME where a dim's total padding would be negative (kernel < "
                      "stride; undilated)", RAISES, on={"dilation": {"one"}},
                      also=same_total_negative,
                      raises=raises("RuntimeException", "padding values must be non-negative"),
                      reach={"dtype": "float32", "padding": "same", "kernel_size": 1,
                             "stride": 2, "dilation": 1},
                      versions=">=1.21")  # measured: 1.20 runs it (same_undilated), 1.32 raises
CEIL_WINDOW_IN_PADDING = Limit(
    "keeps a ceil_mode window that starts in the right padding (one output more: the lowest "
    "value, or 0 in AveragePool; x=[1, 2, 3, 4], kernel 2, stride 2, pads (0, 1): [1.5, 3.5, 0] "
    "instead of [1.5, 3.5])", DIFFERS, on={"ceil_mode": {True}}, also=ceil_window_in_padding,
    reach=lambda ndim: {"dtype": "float32", "kernel_size": 2, "stride": 2, "dilation": 1,
                        "padding": ((0, 1),) * ndim},
    versions="<1.21")  # measured: 1.20.1 keeps it, 1.32 drops it
SAME_DILATED_EMPTY = Limit(
    "returns no output where SAME's dilated kernel overruns the padded input by less than a "
    "stride (x=[1, 2], kernel 2, dilation 2, stride 3: [] instead of [1])", DIFFERS,
    on={"padding": {"same", "same, uneven"}, "dilation": {"dilated"}},
    also=same_dilated_overrun, versions="<1.21")  # measured: 1.20.1 empty, 1.32 one window
SAME_DILATED = Limit("takes no dilation with auto_pad SAME_UPPER/SAME_LOWER", RAISES,
                     on={"padding": {"same", "same, uneven"}, "dilation": {"dilated"}},
                     raises=raises("InvalidArgument", "Dilation not supported for AutoPadType"))


def apis() -> list[Api]:
    result = []
    for n in (1, 2, 3):
        for op, limits in [
            ("conv", (NCHW, NO_PADDING_MODE, NO_BFLOAT16, NO_FLOAT64, SAME_DILATED)),
            ("conv_transpose", (NCHW, NO_BFLOAT16, NO_FLOAT64, OUTPUT_PADDING,
                                OUTPUT_PADDING_UNSET)),
            ("max_pool", (NCHW, NO_BFLOAT16, POOL_PAD, SAME_NEGATIVE, CEIL_WINDOW_IN_PADDING,
                          SAME_DILATED_EMPTY)),
            ("avg_pool", (NCHW, NO_DIVISOR, NO_BFLOAT16, NO_FLOAT64, POOL_PAD,
                          CEIL_WINDOW_IN_PADDING, SAME_DILATED_EMPTY)),
            ("adaptive_avg_pool", (NCHW, GLOBAL_ONLY, NO_BFLOAT16, NO_FLOAT64)),
            ("adaptive_max_pool", (NCHW, GLOBAL_ONLY, NO_BFLOAT16, NO_FLOAT64)),
            ("lp_pool", (NCHW, ABSOLUTE_ONLY, INTEGER_P, NO_BFLOAT16, NO_FLOAT64, POOL_PAD)),
        ]:
            op_type = onnx_model.OP_TYPES[op]
            result.append(Api(f"onnxruntime.{op_type}", FRAMEWORK, op, n, run, limits,
                              parameters=functools.partial(onnx_model.parameters, op_type)))
    return result
