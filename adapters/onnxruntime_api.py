"""ONNX Runtime (CPU execution provider): each case as a one-node model
(:mod:`convparity.adapters.onnx_model`), Conv, ConvTranspose, MaxPool and AveragePool, 1-3-D."""

from __future__ import annotations

import functools

from convparity.adapters import onnx_model
from convparity.adapters.api import NO_PARAMETER, RAISES, Api, Limit, raises
from convparity.reference.case import Case

FRAMEWORK = "onnxruntime"


@functools.cache
def ort():
    import onnxruntime

    return onnxruntime


def run(case: Case):
    session = ort().InferenceSession(onnx_model.model(case).SerializeToString(),
                                     providers=["CPUExecutionProvider"])
    return session.run(["Y"], onnx_model.inputs(case))[0]


NCHW = Limit("runs channels_first (NCHW) only", NO_PARAMETER,
             on={"data_format": {"channels_last"}}, parameter="data_format")
NO_PADDING_MODE = Limit("has no padding_mode (zeros only)", NO_PARAMETER,
                        on={"padding_mode": {"reflect", "replicate", "circular"}},
                        parameter="padding_mode")
NO_DIVISOR = Limit("has no divisor_override", NO_PARAMETER,
                   on={"divisor_override": {"given"}}, parameter="divisor_override")
NOT_IMPLEMENTED = raises("NotImplemented", "Could not find an implementation")
NO_BFLOAT16 = Limit("has no bfloat16 kernel on CPU", RAISES, on={"dtype": {"bfloat16"}},
                    raises=NOT_IMPLEMENTED)
NO_FLOAT64 = Limit("has no float64 kernel on CPU (MaxPool has)", RAISES,
                   on={"dtype": {"float64"}}, raises=NOT_IMPLEMENTED)
SAME_DILATED = Limit("takes no dilation with auto_pad SAME_UPPER/SAME_LOWER", RAISES,
                     on={"padding": {"same", "same, uneven"}, "dilation": {"dilated"}},
                     raises=raises("InvalidArgument", "Dilation not supported for AutoPadType"))


def apis() -> list[Api]:
    result = []
    for n in (1, 2, 3):
        for op, limits in [
            ("conv", (NCHW, NO_PADDING_MODE, NO_BFLOAT16, NO_FLOAT64, SAME_DILATED)),
            ("conv_transpose", (NCHW, NO_BFLOAT16, NO_FLOAT64)),
            ("max_pool", (NCHW, NO_BFLOAT16)),
            ("avg_pool", (NCHW, NO_DIVISOR, NO_BFLOAT16, NO_FLOAT64)),
        ]:
            name = f"onnxruntime.{onnx_model.OP_TYPES[op]}[{n}d]"
            result.append(Api(name, FRAMEWORK, op, n, run, limits))
    return result
