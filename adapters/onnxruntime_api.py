"""ONNX Runtime (CPU execution provider): each case as a one-node model
(:mod:`convparity.adapters.onnx_model`), Conv, ConvTranspose, MaxPool and AveragePool, 1-3-D."""

from __future__ import annotations

import functools
import math

from convparity.adapters import onnx_model
from convparity.adapters.api import RAISES, Api, Limit, raises
from convparity.adapters.onnx_model import (
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


NOT_IMPLEMENTED = raises("NotImplemented", "Could not find an implementation")
NO_BFLOAT16 = Limit("has no bfloat16 kernel on CPU", RAISES, on={"dtype": {"bfloat16"}},
                    raises=NOT_IMPLEMENTED)
NO_FLOAT64 = Limit("has no float64 kernel on CPU (MaxPool has)", RAISES,
                   on={"dtype": {"float64"}}, raises=NOT_IMPLEMENTED)
POOL_PAD = Limit("needs every pad smaller than the kernel size (undilated)", RAISES,
                 also=pad_not_below_kernel,
                 raises=raises("Fail", "Pad should be smaller than kernel"),
                 reach={"dtype": "float32", "kernel_size": 2, "padding": 2, "dilation": 2})
OUTPUT_PADDING = Limit("needs output_padding < stride (torch allows < max(stride, dilation))",
                       RAISES, also=output_padding_not_below_stride,
                       raises=raises("RuntimeException Fail InvalidArgument",
                                     "inconsistent|output_padding"),
                       reach={"dtype": "float32", "stride": 1, "dilation": 2,
                              "output_padding": 1})
SAME_NEGATIVE = Limit("raises for SAME where a dim's total padding would be negative (kernel < "
                      "stride; undilated)", RAISES, on={"dilation": {"one"}},
                      also=same_total_negative,
                      raises=raises("RuntimeException", "padding values must be non-negative"),
                      reach={"dtype": "float32", "padding": "same", "kernel_size": 1,
                             "stride": 2, "dilation": 1})
SAME_DILATED = Limit("takes no dilation with auto_pad SAME_UPPER/SAME_LOWER", RAISES,
                     on={"padding": {"same", "same, uneven"}, "dilation": {"dilated"}},
                     raises=raises("InvalidArgument", "Dilation not supported for AutoPadType"))


def apis() -> list[Api]:
    result = []
    for n in (1, 2, 3):
        for op, limits in [
            ("conv", (NCHW, NO_PADDING_MODE, NO_BFLOAT16, NO_FLOAT64, SAME_DILATED)),
            ("conv_transpose", (NCHW, NO_BFLOAT16, NO_FLOAT64, OUTPUT_PADDING)),
            ("max_pool", (NCHW, NO_BFLOAT16, POOL_PAD, SAME_NEGATIVE)),
            ("avg_pool", (NCHW, NO_DIVISOR, NO_BFLOAT16, NO_FLOAT64, POOL_PAD)),
        ]:
            op_type = onnx_model.OP_TYPES[op]
            result.append(Api(f"onnxruntime.{op_type}", FRAMEWORK, op, n, run, limits,
                              parameters=functools.partial(onnx_model.parameters, op_type)))
    return result
