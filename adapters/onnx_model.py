"""One case as a one-node ONNX model (Conv, ConvTranspose, MaxPool, AveragePool, LpPool, and
GlobalAveragePool/GlobalMaxPool for adaptive pools of output size 1), for the ONNX
engines (:mod:`convparity.adapters.onnxruntime_api`, :mod:`convparity.adapters.onnx_api`).

The translation a converter writes: torch's weight layouts are ONNX's (``(M, C/g, *k)`` for Conv,
``(C, M/g, *k)`` for ConvTranspose); pads as all the begins then all the ends; the case's
'same'/'valid' as ``auto_pad`` SAME_UPPER/VALID (SAME_UPPER puts the odd extra at the end, as
the oracle's 'same'); NCHW only. Opset 22 (bfloat16 in every op's type list).
"""

from __future__ import annotations

import functools

import numpy as np

from convparity.adapters.api import NO_PARAMETER, RAISES, Limit, raises, zeros_only
from convparity.reference.case import Case
from convparity.reference.conv_transpose import transpose_crops

OPSET = 22
IR_VERSION = 10
OP_TYPES = {"conv": "Conv", "conv_transpose": "ConvTranspose", "max_pool": "MaxPool",
            "avg_pool": "AveragePool", "adaptive_avg_pool": "GlobalAveragePool",
            "adaptive_max_pool": "GlobalMaxPool",  # global pools: output size 1 only
            "lp_pool": "LpPool"}


@functools.cache
def onnx():
    import onnx

    return onnx


def element_type(dtype) -> int:
    return {"float16": onnx().TensorProto.FLOAT16, "bfloat16": onnx().TensorProto.BFLOAT16,
            "float32": onnx().TensorProto.FLOAT, "float64": onnx().TensorProto.DOUBLE}[
        np.dtype(dtype).name]


def padding_attributes(case: Case) -> dict:
    same = isinstance(case.padding, str) and case.padding.lower() == "same"
    if same or (isinstance(case.padding, str) and case.op != "conv_transpose"):
        return {"auto_pad": "SAME_UPPER" if same else "VALID"}
    if case.op == "conv_transpose":  # 'valid' too: its output_padding goes with explicit pads
        crops, extra = transpose_crops(case.padding, case.output_padding, case.spatial_size,
                                       case.kernel, case.strides, case.dilations)
        pads = [lo for lo, _ in crops] + [hi for _, hi in crops]
        return {"pads": pads, "output_padding": list(extra)}
    return {"pads": [lo for lo, _ in case.pads] + [hi for _, hi in case.pads]}


def attributes(case: Case) -> dict:
    if case.op.startswith("adaptive"):
        return {}
    found = {"kernel_shape": list(case.kernel), "strides": list(case.strides),
             **padding_attributes(case)}
    if case.op in ("conv", "conv_transpose"):
        found.update(dilations=list(case.dilations), group=case.groups)
    elif case.op == "max_pool":
        found.update(dilations=list(case.dilations), ceil_mode=int(case.ceil_mode))
    elif case.op == "lp_pool":  # p as the case gives it: an int attribute, or a float one
        p = float(case.norm_type)
        found.update(dilations=list(case.dilations), ceil_mode=int(case.ceil_mode),
                     p=int(p) if p.is_integer() else p)
    else:
        found.update(ceil_mode=int(case.ceil_mode), count_include_pad=int(case.count_include_pad))
        if any(d > 1 for d in case.dilations):
            found["dilations"] = list(case.dilations)
    return found


def inputs(case: Case) -> dict[str, np.ndarray]:
    """The node's inputs by name, in order."""
    found = {"X": np.ascontiguousarray(case.input)}
    if case.weight is not None:
        found["W"] = np.ascontiguousarray(case.weight)
    if case.bias is not None:
        found["B"] = np.ascontiguousarray(case.bias)
    return found


def model(case: Case, opset: int = OPSET):
    """``case`` as a one-node ``ModelProto`` of the ai.onnx ``opset`` whose output ``Y`` has the
    oracle's shape."""
    helper = onnx().helper
    arrays = inputs(case)
    kind = element_type(case.dtype)
    node = helper.make_node(OP_TYPES[case.op], list(arrays), ["Y"], **attributes(case))
    graph = helper.make_graph(
        [node], "convparity",
        [helper.make_tensor_value_info(name, kind, a.shape) for name, a in arrays.items()],
        [helper.make_tensor_value_info("Y", kind, None)])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=IR_VERSION)


def parameters(op_type: str) -> list[str]:
    """The operator's inputs and attributes at :data:`OPSET` (its "signature")."""
    schema = onnx().defs.get_schema(op_type, OPSET)
    return [i.name for i in schema.inputs] + list(schema.attributes)


# -- what the format cannot express (both ONNX engines) ----------------------------------------
NCHW = Limit("runs channels_first (NCHW) only", NO_PARAMETER,
             on={"data_format": {"channels_last"}}, parameter="data_format")
NO_PADDING_MODE = zeros_only()
NO_DIVISOR = Limit("has no divisor_override", NO_PARAMETER,
                   on={"divisor_override": {"given"}}, parameter="divisor_override")
INTEGER_P = Limit("takes an integer p only (LpPool's p is an int attribute)", RAISES,
                  on={"norm_type": {"fractional"}},
                  raises=raises("InvalidGraph Fail ValidationError TypeError",
                                "attribute type|p|INT"))
ABSOLUTE_ONLY = Limit("sums |x|^p (the 'absolute' convention) only", NO_PARAMETER,
                      on={"convention": {"signed"}}, parameter="convention")


def output_padding_not_below_stride(case: Case) -> bool:
    return any(e >= s for e, s in zip(case.output_paddings, case.strides))
