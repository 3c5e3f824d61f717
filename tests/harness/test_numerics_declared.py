"""The numerics adapters declare (what a framework computes in, on which machine), and the
diagnosis that names an implementation's accumulator."""

import numpy as np
from ml_dtypes import bfloat16

from convparity.adapters import tensorflow_api, torch_api
from convparity.reference.case import Case
from convparity.reference.diagnose import matching_numerics
from convparity.reference.numerics import Numerics
from tests.harness.test_environment import EPYC, XEON, machine


def conv(dtype, bias=True, op="conv"):
    x = np.ones((1, 1, 4), dtype)
    return Case(op, x, np.ones((1, 1, 2), dtype), np.ones(1, dtype) if bias else None)


def test_tensorflow_half_precision_depends_on_the_machine_and_the_op():
    xeon, epyc = machine(XEON), machine(EPYC)
    # oneDNN's float16 kernels need AVX512-FP16 (Xeon); elsewhere TF's own, in float16
    assert tensorflow_api.numerics(conv(np.float16), xeon) == Numerics("float16", "float32", 1)
    assert tensorflow_api.numerics(conv(np.float16, bias=False), xeon) == Numerics(
        "float16", "float32", 0)
    assert tensorflow_api.numerics(conv(np.float16), epyc) == Numerics("float16", "float16")
    assert tensorflow_api.numerics(conv(bfloat16), epyc) == Numerics("bfloat16", "float32", 1)
    no_onednn = machine(XEON, TF_ENABLE_ONEDNN_OPTS="0")
    assert tensorflow_api.numerics(conv(bfloat16), no_onednn) == Numerics("bfloat16", "bfloat16")
    # TF's transposed convs round to the storage type between kernel taps (2 taps + the bias)
    assert tensorflow_api.numerics(conv(bfloat16, op="conv_transpose"), xeon) == Numerics(
        "bfloat16", "float32", 3)
    pool = Case("avg_pool", np.ones((1, 1, 4), np.float16), kernel_size=2)
    assert tensorflow_api.numerics(pool, xeon) == Numerics("float16", "float16")
    assert tensorflow_api.numerics(conv(np.float32), epyc) is None  # the default


def test_torch_declares_its_transposed_half_precision_paths():
    xeon, epyc = machine(XEON), machine(EPYC)
    assert torch_api.numerics(conv(np.float16, op="conv_transpose"), xeon) == Numerics(
        "float16", "float16")
    assert torch_api.numerics(conv(np.float16), xeon) is None
    assert torch_api.numerics(conv(np.float16), epyc) == Numerics("float16", "float16")
    assert torch_api.numerics(conv(bfloat16), epyc) is None


def test_the_diagnosis_names_a_float16_accumulator():
    # x = [1, 2**-11, 2**-11] . w = [1, 1, 1]: exact 1 + 2**-10 (a float16 value);
    # accumulated in float16 left to right, 1 + 2**-11 rounds to 1 (tie, to even) twice: 1.0
    case = Case("conv", np.array([[[1.0, 2.0**-11, 2.0**-11]]], np.float16),
                np.ones((1, 1, 3), np.float16))
    assert case.expected().ravel().tolist() == [1 + 2.0**-10]
    in_half = np.array([[[1.0]]], np.float16)
    assert matching_numerics(in_half, case) == "accumulating in float16"
    assert matching_numerics(np.array([[[2.0]]], np.float16), case) is None


def test_float32_convs_in_the_bf16_fpmath_mode_round_inputs_to_bfloat16_on_amx_only():
    bf16_inputs = Numerics("float32", "float32", inputs="bfloat16")
    fpmath = {"ONEDNN_DEFAULT_FPMATH_MODE": "BF16"}
    xeon, epyc = machine(XEON, **fpmath), machine(EPYC, **fpmath)
    capped = machine(XEON, ONEDNN_MAX_CPU_ISA="AVX512_CORE_BF16", **fpmath)
    for adapter in (torch_api, tensorflow_api):
        assert adapter.numerics(conv(np.float32), xeon) == bf16_inputs
        assert adapter.numerics(conv(np.float32, op="conv_transpose"), xeon) == bf16_inputs
        assert adapter.numerics(conv(np.float32), epyc) is None  # no AMX: float32 as asked
        assert adapter.numerics(conv(np.float32), capped) is None
        assert adapter.numerics(conv(np.float32), machine(XEON)) is None
        assert adapter.numerics(conv(np.float64), xeon) is None
    pool = Case("avg_pool", np.ones((1, 1, 4), np.float32), kernel_size=2)
    assert tensorflow_api.numerics(pool, xeon) is None
    # TF's own switch; and none of it without oneDNN
    assert tensorflow_api.numerics(conv(np.float32), machine(
        XEON, TF_SET_ONEDNN_FPMATH_MODE="BF16")) == bf16_inputs
    assert tensorflow_api.numerics(conv(np.float32), machine(
        XEON, TF_ENABLE_ONEDNN_OPTS="0", **fpmath)) is None
