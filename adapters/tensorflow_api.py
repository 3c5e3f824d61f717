"""TensorFlow: ``tf.nn`` convolutions and pools and the Keras layers, weights set from the case.

Layouts: channels_last cases run as NWC/NHWC/NDHWC, channels_first ones as NCW/NCHW/NCDHW (TF's
CPU kernels take NCHW while oneDNN is on, the default). Weights go from torch's layout to TF's:
conv ``(O, I/g, *k)`` -> ``(*k, I/g, O)``; transposed ``(I, O, *k)`` -> ``(*k, O, I)``; depthwise
``(C*M, 1, *k)`` -> ``(*k, C, M)``.
"""

from __future__ import annotations

import contextvars
import dataclasses
import functools
import math
import os

import numpy as np

from convparity.adapters import environment
from convparity.adapters.api import (
    CRASHES,
    DIFFERS,
    GLOBAL_ONLY,
    HALF_PADDING_ONLY_WINDOW,
    HALF_UNREACHED_OUTPUT,
    NO_PARAMETER,
    RAISES,
    Api,
    Limit,
    along,
    channels_last,
    dilated,
    output_size,
    raises,
    strided,
    zeros_only,
)
from convparity.adapters.divergences import space_to_batch_geometry
from convparity.adapters.versions import in_range, installed_version
from convparity.reference.case import Case
from convparity.reference.numerics import (
    HALF_PRECISION,
    Numerics,
    accumulating_in_storage,
    bfloat16_inputs,
)

FRAMEWORK = "tensorflow"
FORMATS = {(1, False): "NCW", (2, False): "NCHW", (3, False): "NCDHW",
           (1, True): "NWC", (2, True): "NHWC", (3, True): "NDHWC"}


@functools.cache
def tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow

    tensorflow.get_logger().setLevel("ERROR")  # e.g. Keras layers' retracing notices
    return tensorflow


@functools.cache
def keras():
    tf()
    import keras

    return keras


# While a backward pass is recorded: (id of a case array -> its name, name -> (watched tensor,
# its gradient back to the case's layout), the tape)
TAPE = contextvars.ContextVar("convparity_tf_tape", default=None)


# While a call is traced for XLA: id of a case array -> the traced function's argument for it
TRACED = contextvars.ContextVar("convparity_tf_traced", default=None)


def xla(call):
    """``call`` compiled by XLA: ``tf.function(jit_compile=True)``, traced afresh for each case
    with the case's arrays as its arguments (constants would be folded before XLA sees them)."""
    def compiled(case: Case):
        arrays = [a for a in (case.input, case.weight, case.bias) if a is not None]

        def traced(*tensors):
            token = TRACED.set({id(a): t for a, t in zip(arrays, tensors)})
            try:
                return call(case)
            finally:
                TRACED.reset(token)

        return tf().function(traced, jit_compile=True)(*arrays)

    return compiled


def constant(array):
    """A case array as the call passes it: itself; while traced for XLA, the traced function's
    argument; or, while a backward pass is recorded, a watched constant (its gradient is the
    case's)."""
    traced = TRACED.get()
    if traced is not None and array is not None and id(array) in traced:
        return traced[id(array)]
    recording = TAPE.get()
    if recording is None or array is None or id(array) not in recording[0]:
        return array
    names, watched, tape = recording
    value = tf().constant(array)
    tape.watch(value)
    watched[names[id(array)]] = (value, None)
    return value


def watch(name: str, variable, to_case_layout) -> None:
    """Record a layer's own variable as the case's ``name`` array (its gradient mapped back to
    the case's layout by ``to_case_layout``)."""
    recording = TAPE.get()
    if recording is not None:
        recording[1][name] = (variable, to_case_layout)


def differentiated(call):
    """The backward pass of ``call`` under a ``GradientTape``: ``backward(case, cotangent)``
    returns ``{"input": ..., "weight": ..., "bias": ...}`` as NumPy arrays in the case's
    layouts (a Keras layer's kernel mapped back from TF's)."""
    def backward(case: Case, cotangent: np.ndarray) -> dict[str, np.ndarray]:
        from convparity.adapters.api import differentiable_arrays, to_numpy

        names = differentiable_arrays(case)
        watched: dict = {}
        with tf().GradientTape() as tape:
            token = TAPE.set((names, watched, tape))
            try:
                y = call(case)
            finally:
                TAPE.reset(token)
        targets = list(watched.items())
        found = tape.gradient(y, [value for _, (value, _) in targets],
                              output_gradients=tf().constant(np.asarray(cotangent, case.dtype)))
        result = {}
        for (name, (value, back)), gradient in zip(targets, found):
            array = (to_numpy(gradient) if gradient is not None
                     else np.zeros(value.shape, case.dtype))
            result[name] = back(array) if back else array
        return result

    return backward


def data_format(case: Case) -> str:
    return FORMATS[case.ndim, channels_last(case)]


def tf_weight(case: Case):
    """torch's ``(A, B, *k)`` -> TF's ``(*k, B, A)`` (conv: A=O, B=I/g; transposed: A=I, B=O)."""
    w = constant(case.weight)
    transpose = tf().transpose if tf().is_tensor(w) else np.transpose
    return transpose(w, (*range(2, w.ndim), 1, 0))


def from_tf_weight(w: np.ndarray) -> np.ndarray:
    """:func:`tf_weight` undone: TF's ``(*k, B, A)`` -> torch's ``(A, B, *k)``."""
    return np.transpose(w, (w.ndim - 1, w.ndim - 2, *range(w.ndim - 2)))


def depthwise_weight(case: Case):
    """``(C*M, 1, *k)`` -> ``(*k, C, M)``: output channel ``c*M + m`` is filter ``[..., c, m]``."""
    channels = case.input.shape[-1 if channels_last(case) else 1]
    w = constant(case.weight)
    ops = tf() if tf().is_tensor(w) else np
    w = ops.reshape(w, (channels, -1, *case.kernel))
    return ops.transpose(w, (*range(2, len(w.shape)), 0, 1))


def from_depthwise_weight(w: np.ndarray) -> np.ndarray:
    """:func:`depthwise_weight` undone: ``(*k, C, M)`` -> ``(C*M, 1, *k)``."""
    moved = np.transpose(w, (w.ndim - 2, w.ndim - 1, *range(w.ndim - 2)))
    return moved.reshape(moved.shape[0] * moved.shape[1], 1, *moved.shape[2:])


def explicit_padding(case: Case):
    """``'SAME'``/``'VALID'`` for those cases, else TF's explicit list (batch, channel: no pad)."""
    if isinstance(case.padding, str):
        return case.padding.upper()
    if not explicit(case):
        return "VALID"
    pads = [list(p) for p in case.pads]
    return [[0, 0], *pads, [0, 0]] if channels_last(case) else [[0, 0], [0, 0], *pads]


def add_bias(y, case: Case):
    if case.bias is None:
        return y
    return tf().nn.bias_add(y, constant(case.bias),
                            data_format="N...C" if channels_last(case) else "NC...")


def output_shape(case: Case) -> list[int]:
    return list(case.expected().shape)


# -- tf.nn -------------------------------------------------------------------------------------
def per_axis(case: Case, values) -> list[int]:
    """Per-dim values spread over every axis of the layout (1 on batch and channels)."""
    return [1, *values, 1] if channels_last(case) else [1, 1, *values]


def nn_conv(name: str):
    def call(case: Case):
        fn = getattr(tf().nn, name)
        strides, dilations = list(case.strides), list(case.dilations)
        if name == "conv3d":  # conv3d wants them over every axis
            strides, dilations = per_axis(case, strides), per_axis(case, dilations)
        y = fn(constant(case.input), tf_weight(case), strides, explicit_padding(case),
               data_format=data_format(case), dilations=dilations)
        return add_bias(y, case)

    return call


def nn_depthwise(case: Case):
    y = tf().nn.depthwise_conv2d(constant(case.input), depthwise_weight(case),
                                 per_axis(case, case.strides),
                                 explicit_padding(case), data_format=data_format(case),
                                 dilations=list(case.dilations))
    return add_bias(y, case)


def nn_conv_transpose(name: str):
    def call(case: Case):
        fn = getattr(tf().nn, name)
        y = fn(constant(case.input), tf_weight(case), output_shape(case), list(case.strides),
               padding=explicit_padding(case), data_format=data_format(case),
               dilations=list(case.dilations))
        return add_bias(y, case)

    return call


def nn_pool(name: str):
    def call(case: Case):
        fn = getattr(tf().nn, name)
        return fn(constant(case.input), list(case.kernel), list(case.strides),
                  explicit_padding(case), data_format=data_format(case))

    return call


# -- Keras -------------------------------------------------------------------------------------
def keras_padding(case: Case) -> str:
    if isinstance(case.padding, str):
        return case.padding.lower()
    return "valid" if all(p == (0, 0) for p in case.pads) else case.pads  # pairs: it raises


def keras_layer(name: str):
    def call(case: Case):
        layers = keras().layers
        cls = getattr(layers, name)
        dtype = case.dtype.name
        common = dict(padding=keras_padding(case), data_format=case.data_format, dtype=dtype)
        if case.op in ("max_pool", "avg_pool"):
            layer = cls(pool_size=case.kernel, strides=case.strides, **common)
            return layer(constant(case.input))
        if name.startswith("Global"):
            layer = cls(data_format=case.data_format, keepdims=True, dtype=dtype)
            return layer(constant(case.input))
        if name.startswith("Adaptive"):
            layer = cls(case.output_size, data_format=case.data_format, dtype=dtype)
            return layer(constant(case.input))
        use_bias = case.bias is not None
        if name.startswith("Depthwise"):
            channels = case.input.shape[-1 if channels_last(case) else 1]
            layer = cls(case.kernel, strides=case.strides, dilation_rate=case.dilations,
                        depth_multiplier=case.weight.shape[0] // channels, use_bias=use_bias,
                        **common)
            weights, back = [depthwise_weight(case)], from_depthwise_weight
        elif case.op == "conv":
            layer = cls(case.weight.shape[0], case.kernel, strides=case.strides,
                        dilation_rate=case.dilations, groups=case.groups, use_bias=use_bias,
                        **common)
            weights, back = [tf_weight(case)], from_tf_weight
        else:
            output_padding = None if case.padding == "same" else case.output_padding
            layer = cls(case.weight.shape[1] * case.groups, case.kernel, strides=case.strides,
                        dilation_rate=case.dilations, output_padding=output_padding,
                        use_bias=use_bias, **common)
            weights, back = [tf_weight(case)], from_tf_weight
        layer.build(case.input.shape)
        layer.set_weights([np.asarray(w) for w in weights] + ([case.bias] if use_bias else []))
        watch("weight", layer.kernel.value, back)
        if use_bias:
            watch("bias", layer.bias.value, None)
        return layer(constant(case.input))

    return call


def keras_lacks(name: str):
    """``unavailable`` for a Keras layer that older releases do not have."""
    def why() -> str | None:
        if hasattr(keras().layers, name):
            return None
        return f"keras {keras().__version__} has no keras.layers.{name}"

    return why


# -- limits ------------------------------------------------------------------------------------
def explicit(case: Case) -> bool:
    return not isinstance(case.padding, str) and any(p != (0, 0) for p in case.pads)


EXPLICIT = {"symmetric", "asymmetric"}  # explicit pads, some not zero
NHWC_ONLY = raises("UnimplementedError InvalidArgumentError", "N(D)?HWC")
PADDING_MODE = zeros_only()
# tf.nn says so (TypeError, ValueError); Keras's pooling and transposed layers call .lower() on it
NOT_A_STRING = raises("TypeError ValueError AttributeError", "padding|'lower'")
STRINGS_ONLY = Limit("takes padding 'SAME' or 'VALID' only, no explicit pads", RAISES,
                     on={"padding": EXPLICIT}, raises=NOT_A_STRING)
UNDILATED_STRINGS_ONLY = Limit(
    "takes explicit pads only with dilation > 1 (its dilated path); else 'SAME' or 'VALID' only",
    RAISES, on={"padding": EXPLICIT, "dilation": {"one"}}, raises=NOT_A_STRING)
STRIDE_DILATION = Limit(
    "rejects dilation > 1 together with stride > 1", RAISES,
    on={"stride": {"equal", "unequal"}, "dilation": {"dilated"}},
    raises=raises("ValueError", "not supported in conjunction with `dilation_rate"))
GROUPS = Limit("has no groups", NO_PARAMETER, on={"groups": {"several"}}, parameter="groups")
CEIL = Limit("has no ceil_mode", NO_PARAMETER, on={"ceil_mode": {True}}, parameter="ceil_mode")
POOL_DILATION = Limit("has no dilation", NO_PARAMETER, on={"dilation": {"dilated"}},
                      parameter="dilation")
KERAS_ADAPTIVE_NONE = Limit("takes no None in output_size", RAISES,
                           on={"output_size": {"keeps a dim"}},
                           raises=raises("TypeError", "unsupported operand type"))


def adaptive_window_outruns_input(case: Case) -> bool:
    """Keras's adaptive pools run a VALID pool of windows ceil(n/m) and ceil(n/m) + 1 and gather
    from both: where a dim keeps one cell or pools to one (ceil(n/m) + 1 > n), the second is an
    empty pool. (An output size with a None is KERAS_ADAPTIVE_NONE's.)"""
    from convparity.reference.adaptive import output_sizes

    wanted = output_sizes(case.output_size, case.spatial_size)
    return any(-(-n // m) + 1 > n for n, m in zip(case.spatial_size, wanted))


def adaptive_outrun_probes(ndim: int) -> tuple[dict, ...]:
    """Tiny adaptive max pools pooling one dim (first or last) of 4 cells to 1, both layouts."""
    return tuple({"size": 4, "output_size": along(ndim, at, 1, 2), "data_format": layout}
                 for at in (0, -1) for layout in ("channels_last", "channels_first"))


# Found on an Intel Xeon (Sapphire Rapids; TF 2.21, oneDNN on): SIGFPE, every time, in the
# empty max pool of the gather (float16, float32 and float64 alike); an AVX2-only AMD EPYC ran it.
KERAS_ADAPTIVE_MAX_OUTRUN = Limit(
    "can crash the process (SIGFPE in an empty max pool) where a dim keeps one cell or pools "
    "to one", CRASHES, on={"output_size": {"global", "divides", "uneven"}},
    also=adaptive_window_outruns_input, probes=adaptive_outrun_probes)

DIVISOR = Limit("has no divisor_override", NO_PARAMETER, on={"divisor_override": {"given"}},
                parameter="divisor_override")
SAME_EXCLUDES_PAD = Limit(
    "SAME averages over input cells only (count_include_pad=False)", NO_PARAMETER,
    on={"count_include_pad": {True}}, also=lambda c: any(p != (0, 0) for p in c.pads),
    steers=True, parameter="count_include_pad")
NOT_DEPTHWISE = Limit("computes groups == in_channels (depthwise) only", NO_PARAMETER,
                      on={"channels_per_group": {"several"}}, parameter="groups")
# oneDNN runs TF's channels_first kernels and has no float64; it has native float16 only on CPUs
# with AVX512-FP16 (Sapphire Rapids and later), so there a probe decides the float16 limits.
FP16_NATIVE = "unless oneDNN has a native float16 kernel for it (AVX512-FP16 CPUs)"
WITHOUT_ONEDNN = "without oneDNN (TF's default on CPUs without VNNI, BF16 or AMX)"
CHANNELS_FIRST_FLOAT64 = Limit(
    "runs channels_first (NCHW) on CPU only through oneDNN, which has no float64", RAISES,
    on={"data_format": {"channels_first"}, "dtype": {"float64"}}, raises=NHWC_ONLY)
CHANNELS_FIRST_FLOAT16 = Limit(
    f"cannot run channels_first (NCHW) float16 on CPU {FP16_NATIVE}", RAISES,
    on={"data_format": {"channels_first"}, "dtype": {"float16"}}, raises=NHWC_ONLY,
    probes=({"dtype": "float16", "data_format": "channels_first"},))
POOL3D_DTYPES = Limit(
    "3-D pooling on CPU runs only in float32/bfloat16", RAISES,
    on={"dtype": {"float16", "float64"}},
    raises=raises("NotFoundError InvalidArgumentError",
                  "Could not find device|N(D)?HWC|not in the list of allowed values"))
CHANNELS_FIRST_EXPLICIT = Limit(
    "runs explicit (before, after) padding only channels_last (NHWC) on CPU", RAISES,
    on={"data_format": {"channels_first"}, "padding": EXPLICIT}, raises=NHWC_ONLY)
NO_DILATION = raises("InvalidArgumentError", "not yet support dilation|supports dilated rates of 1")
TRANSPOSE_DILATION = Limit(
    "supports dilation > 1 on CPU only through oneDNN (no float64)", RAISES,
    on={"dilation": {"dilated"}, "dtype": {"float64"}}, raises=NO_DILATION)
TRANSPOSE_DILATION_EXPLICIT = Limit(
    "supports dilation > 1 on CPU only with SAME/VALID padding", RAISES,
    on={"dilation": {"dilated"}, "padding": EXPLICIT}, raises=NO_DILATION)
TRANSPOSE_DILATION_FLOAT16 = Limit(
    f"cannot run dilation > 1 in float16 on CPU {FP16_NATIVE}", RAISES,
    on={"dilation": {"dilated"}, "dtype": {"float16"}, "padding": {"valid", "same", "zero",
                                                                   "same, uneven"}},
    raises=NO_DILATION, probes=({"dtype": "float16", "data_format": "channels_last",
                                 "dilation": 2},))


def output_padding_reaches_stride(case: Case) -> bool:
    """Some ``output_padding >= stride`` (torch allows up to ``max(stride, dilation) - 1``)."""
    return case.padding != "same" and any(
        p >= s for p, s in zip(case.output_paddings, case.strides))


# output_padding 1 at stride 1, dilation 2: valid for torch, >= stride for TF and Keras
OUTPUT_PADDING_AT_STRIDE = {"dtype": "float32", "data_format": "channels_last",
                            "padding": "valid", "groups": 1, "stride": 1, "dilation": 2,
                            "output_padding": 1}
TRANSPOSE_OUTPUT_PADDING = Limit(
    "derives output_padding from output_shape, which then must be < stride: a larger one is an "
    "invalid output shape (oneDNN aborts)", RAISES, also=output_padding_reaches_stride,
    raises=raises("AbortedError InvalidArgumentError", "exception|out_backprop|shape"),
    reach=OUTPUT_PADDING_AT_STRIDE)
MAX_POOL_FLOAT64 = Limit(
    "computes float64 input in float32 (it returns float32), or raises for it channels_first",
    DIFFERS, on={"dtype": {"float64"}}, raises=NHWC_ONLY)


def computed_width(case: Case) -> int:
    """The output width of the conv tf.nn.depthwise_conv2d runs: the case's, or with stride and
    dilation both > 1, that of the per-phase conv inside with_space_to_batch."""
    if strided(case) and dilated(case):
        return space_to_batch_geometry(case)[-1][1]
    return output_size(case)[-1]


def onednn_avx512() -> bool:
    """TF runs oneDNN here, on a CPU with AVX-512 (where its brgemm kernels run)."""
    facts = environment.facts()
    return facts["tf_onednn"] and facts["avx512f"]


DEPTHWISE_ROW_STRIDE = Limit(
    "(oneDNN brgemm, AVX-512) computes wrong rows with a channel multiplier >= 2, a single "
    "output column and width kernel and stride >= 2 (found by convparity)", DIFFERS,
    on={"dtype": {"float32", "bfloat16"}},
    also=lambda c: c.weight.shape[0] > c.groups and computed_width(c) == 1
    and c.kernel[-1] >= 2 and c.strides[-1] >= 2 and onednn_avx512(),
    reach={"dtype": "float32", "groups": 1, "channels_per_group": 1, "out_channels": 2,
           "kernel_size": (1, 2), "stride": (1, 3),
           "input_size": (4, 3), "padding": "valid", "dilation": 1})
POOL_PAD_BELOW_WINDOW = Limit(
    "needs every explicit pad smaller than the window size", RAISES,
    also=lambda c: explicit(c) and any(max(p) >= k for p, k in zip(c.pads, c.kernel)),
    raises=raises("InvalidArgumentError", "needs to be smaller than the window size"),
    reach=lambda ndim: {"dtype": "float32", "data_format": "channels_last", "kernel_size": 2,
                        "padding": ((0, 2),) * ndim, "input_size": 4, "stride": 3,
                        "dilation": 1, "ceil_mode": False})  # the last window overhangs fully
UNEQUAL = raises("InvalidArgumentError", "equal length strides")
UNEQUAL_STRIDES = Limit(
    "needs equal strides along height and width outside oneDNN (float64)", RAISES,
    on={"stride": {"unequal"}, "dtype": {"float64"}}, raises=UNEQUAL)
UNEQUAL_STRIDES_FLOAT16 = Limit(
    f"needs equal strides along height and width in float16 {FP16_NATIVE}", RAISES,
    on={"stride": {"unequal"}, "dtype": {"float16"}}, raises=UNEQUAL,
    probes=({"dtype": "float16", "data_format": "channels_last", "stride": (1, 2)},))
OWN_UNEQUAL_STRIDES = Limit(
    f"needs equal strides along height and width {WITHOUT_ONEDNN}", RAISES,
    on={"stride": {"unequal"}}, raises=UNEQUAL,
    probes=({"data_format": "channels_last", "stride": (1, 2)},))
# Keras decomposes stride with dilation itself (a stride-1 dilated conv, then subsampled)
KERAS_OWN_UNEQUAL_STRIDES = Limit(
    f"needs equal strides along height and width unless dilated {WITHOUT_ONEDNN}", RAISES,
    on={"stride": {"unequal"}, "dilation": {"one"}}, raises=UNEQUAL,
    probes=({"data_format": "channels_last", "stride": (1, 2)},))
KERAS_UNEQUAL_STRIDES = Limit(
    "needs equal strides along height and width outside oneDNN (float64) unless dilated",
    RAISES, on={"stride": {"unequal"}, "dtype": {"float64"}, "dilation": {"one"}},
    raises=UNEQUAL)
KERAS_UNEQUAL_STRIDES_FLOAT16 = Limit(
    f"needs equal strides along height and width in float16 unless dilated {FP16_NATIVE}",
    RAISES, on={"stride": {"unequal"}, "dtype": {"float16"}, "dilation": {"one"}},
    raises=UNEQUAL,
    probes=({"dtype": "float16", "data_format": "channels_last", "stride": (1, 2)},))
KERAS_CHANNELS_FIRST_FLOAT64 = Limit(
    "runs channels_first on CPU only through oneDNN (no float64) unless grouped", RAISES,
    on={"data_format": {"channels_first"}, "dtype": {"float64"}, "groups": {"one"}},
    raises=NHWC_ONLY)
KERAS_CHANNELS_FIRST_FLOAT16 = Limit(
    f"cannot run ungrouped channels_first float16 on CPU {FP16_NATIVE}", RAISES,
    on={"data_format": {"channels_first"}, "dtype": {"float16"}, "groups": {"one"}},
    raises=NHWC_ONLY, probes=({"dtype": "float16", "data_format": "channels_first"},))
CONV3D_DILATION = Limit(
    "supports dilation > 1 on CPU only through oneDNN (no float64)", RAISES,
    on={"dilation": {"dilated"}, "dtype": {"float64"}}, raises=NO_DILATION)
CONV3D_DILATION_FLOAT16 = Limit(
    f"cannot run dilation > 1 in float16 on CPU {FP16_NATIVE}", RAISES,
    on={"dilation": {"dilated"}, "dtype": {"float16"}}, raises=NO_DILATION,
    probes=({"dtype": "float16", "data_format": "channels_last", "dilation": 2},))
# Without oneDNN, TF runs its own CPU kernels: channels_last only, and no dilation in conv3d or
# the transposed convs. TF leaves oneDNN off by default on CPUs without AVX512_VNNI, AVX512_BF16,
# AVX_VNNI or AMX (environment.TF_ONEDNN_FLAGS; measured on an AVX2-only AMD EPYC), and with
# TF_ENABLE_ONEDNN_OPTS=0, so a probe decides these.
OWN_CHANNELS_FIRST = Limit(
    f"runs channels_first (NCHW) on CPU only through oneDNN: channels_last only {WITHOUT_ONEDNN}",
    RAISES, on={"data_format": {"channels_first"}}, raises=NHWC_ONLY,
    probes=({"data_format": "channels_first"},))
KERAS_OWN_CHANNELS_FIRST = Limit(
    f"runs ungrouped channels_first on CPU only through oneDNN: not {WITHOUT_ONEDNN}", RAISES,
    on={"data_format": {"channels_first"}, "groups": {"one"}}, raises=NHWC_ONLY,
    probes=({"data_format": "channels_first"},))
OWN_DILATION = Limit(
    f"supports dilation > 1 on CPU only through oneDNN: not {WITHOUT_ONEDNN}", RAISES,
    on={"dilation": {"dilated"}}, raises=NO_DILATION,
    probes=({"data_format": "channels_last", "dilation": 2},))
KERAS_OUTPUT_PADDING = Limit(
    "needs output_padding < stride (torch allows < max(stride, dilation))", RAISES,
    also=output_padding_reaches_stride,
    raises=raises("ValueError", "`output_padding` must be strictly less than `strides`"),
    reach=OUTPUT_PADDING_AT_STRIDE)


# -- XLA (tf.function(jit_compile=True)): its own kernels, so its own limits -----------------
XLA_EXPLICIT_POOL = Limit(
    "takes no explicit pads under XLA ('XLA does not support pooling ops with explicit "
    "padding')", RAISES, on={"padding": EXPLICIT},
    raises=raises("UnimplementedError", "explicit padding"))
XLA_POOL3D_FLOAT64 = Limit("max_pool3d takes no float64", RAISES, on={"dtype": {"float64"}},
                           raises=raises("TypeError InvalidArgumentError", "float64|double"))
# Found by a fuzz of 300 transposed convs per rank (TF 2.21): SAME/VALID ran; shrunk by hand
XLA_TRANSPOSE_ABORT = Limit(
    "can abort the process under XLA (its algebraic simplifier: 'Window dimensions do not "
    "match RHS shape') with explicit pads: a 1x3 input, kernel 2x2, stride (1, 2), pads "
    "((1, 0), (1, 1))", CRASHES, on={"padding": EXPLICIT},
    probes=lambda ndim: ({"size": (1, 3), "kernel": 2, "stride": (1, 2),
                          "padding": ((1, 0), (1, 1)), "data_format": "channels_last"},)
    if ndim == 2 else ())
XLA_CONV3D_VALID_DILATED = Limit(
    "can raise under tf.function for VALID with a dilation: its graph shape inference dilates "
    "the wrong axes ('Negative dimension size'; x 1x1x2x4x1, kernel 1x1x3, dilation 2 along "
    "the last: eager gives [6, 9, 18, 21])", DIFFERS,
    on={"padding": {"valid", "zero"}, "dilation": {"dilated"}},
    reach={"dtype": "float32", "data_format": "channels_last", "input_size": (1, 2, 4),
           "kernel_size": (1, 1, 3), "dilation": (1, 1, 2), "stride": 1, "groups": 1})


def xla_numerics(case: Case, machine: dict | None = None) -> Numerics | None:
    """XLA on CPU: a half-precision conv's sums in float32, rounded to storage before the bias
    is added (in storage); average pools sum in storage. Before TF 2.21, float16 convs on a CPU
    with AVX512-FP16 sum in float16 (measured: TF 2.19's sweep on Sapphire Rapids; there TF 2.21,
    and on AMD EPYC TF 2.19 and 2.21, sum in float32: 4,097 float16 ones give 4,096, not 2,048)."""
    name = case.dtype.name
    if name not in HALF_PRECISION or case.op == "max_pool":
        return None
    machine = environment.facts() if machine is None else environment.derive_facts(machine)
    native_half = (name == "float16" and machine["avx512_fp16"]
                   and not in_range(installed_version(FRAMEWORK), ">=2.21"))
    if case.op == "avg_pool" or native_half:
        return accumulating_in_storage(name)
    return Numerics(name, "float32", storage_roundings=int(case.bias is not None))


def xla_apis() -> list[Api]:
    """tf.nn's convs and pools compiled by XLA, each beside its eager API."""
    pools = (CEIL, POOL_DILATION, DIVISOR)
    result = []
    for n in (1, 2, 3):
        explicit_ok = n == 2
        strings = () if explicit_ok else (STRINGS_ONLY,)
        result += [
            Api(f"tensorflow.nn.conv{n}d", FRAMEWORK, "conv", n, xla(nn_conv(f"conv{n}d")),
                (PADDING_MODE, *strings)
                + ((GROUPS, XLA_CONV3D_VALID_DILATED) if n == 3 else ())),
            Api(f"tensorflow.nn.conv{n}d_transpose", FRAMEWORK, "conv_transpose", n,
                xla(nn_conv_transpose(f"conv{n}d_transpose")),
                (GROUPS, *strings, TRANSPOSE_OUTPUT_PADDING)
                + ((XLA_TRANSPOSE_ABORT,) if explicit_ok else ())),
            Api(f"tensorflow.nn.max_pool{n}d", FRAMEWORK, "max_pool", n,
                xla(nn_pool(f"max_pool{n}d")),
                pools + ((STRINGS_ONLY, XLA_POOL3D_FLOAT64) if n == 3 else (XLA_EXPLICIT_POOL,))),
            Api(f"tensorflow.nn.avg_pool{n}d", FRAMEWORK, "avg_pool", n,
                xla(nn_pool(f"avg_pool{n}d")), pools + (STRINGS_ONLY, SAME_EXCLUDES_PAD)),
        ]
    return [dataclasses.replace(api, backend="xla", numerics=xla_numerics) for api in result]


# -- devices (see convparity.adapters.devices) -------------------------------------------------
def placed(device: str):
    return tf().device("/GPU:0" if device == "cuda" else "/CPU:0")


def gpus() -> list:
    return tf().config.list_physical_devices("GPU")


def device_unavailable(device: str) -> str | None:
    if not gpus():
        return (f"no GPU visible to TensorFlow {tf().__version__} "
                f"(tf.config.list_physical_devices('GPU') is empty)")
    return None


def device_numerics(device: str, case: Case) -> Numerics | None:
    from convparity.adapters.devices import gpu_numerics

    details = tf().config.experimental.get_device_details(gpus()[0])
    return gpu_numerics(case, tf32=tf().config.experimental.tensor_float_32_execution_enabled(),
                        capability=tuple(details.get("compute_capability", (0, 0))))


def global_numerics(case: Case, machine: dict | None = None) -> Numerics | None:
    """Keras's global pooling layers reduce float16/bfloat16 in float32 (measured: 0.5 ulps
    over 4096 cells, where ``tf.reduce_mean`` in float16 is 17-20 ulps off)."""
    return None


def numerics(case: Case, machine: dict | None = None) -> Numerics | None:
    """What TF computes a float16/bfloat16 case in on ``machine`` (as
    :func:`~convparity.adapters.environment.machine` gives it; default: this one). oneDNN's
    kernels accumulate in float32; TF's own ones (oneDNN off, or float16 without AVX512-FP16)
    and its average pooling (Keras's adaptive layers too: 20 ulps of float16 measured) in the
    storage type. The bias is added afterwards (bias_add, or
    Keras's add): one more rounding in storage. float32/float64 accumulate in themselves (the
    default), except float32 convs in oneDNN's bf16 fpmath mode (``TF_SET_ONEDNN_FPMATH_MODE``
    or ``ONEDNN_DEFAULT_FPMATH_MODE`` = BF16) on AMX: inputs rounded to bfloat16 (measured,
    Sapphire Rapids, every conv; capped at AVX512_CORE_BF16, float32 as asked)."""
    name = case.dtype.name
    machine = environment.facts() if machine is None else environment.derive_facts(machine)
    if name == "float32" and machine["tf_fpmath_bf16"] and case.op in ("conv",
                                                                        "conv_transpose"):
        return bfloat16_inputs(name)
    if name not in HALF_PRECISION:
        return None
    # float16 through oneDNN measured only with TF 2.21 (TF 2.19's Keras grouped and 3-D convs
    # sum float16 in float16 on the same CPU)
    native = machine["tf_onednn"] and (name == "bfloat16" or (
        machine["avx512_fp16"] and in_range(installed_version(FRAMEWORK), ">=2.21")))
    if case.op in ("avg_pool", "adaptive_avg_pool") or not native:
        return accumulating_in_storage(name)
    bias = int(case.bias is not None)
    if case.op == "conv_transpose":  # rounds to the storage type between kernel taps (measured:
        # a 4x4/2 128->64 bfloat16 layer on integers, 69% of outputs one ulp off the exact sum)
        return Numerics(name, "float32", storage_roundings=math.prod(case.kernel) + bias)
    return Numerics(name, "float32", storage_roundings=bias)


CRASH = HALF_PADDING_ONLY_WINDOW  # the same oneDNN kernels as torch's
TRANSPOSE_CRASH = HALF_UNREACHED_OUTPUT


def backward_numerics(case: Case, machine: dict | None = None) -> Numerics | None:
    """TF's gradients in float16/bfloat16 sum in the storage type (measured: the bias gradient
    of a float16 conv3d, BiasAddGrad, 1.1x the float32-accumulation bound)."""
    if case.dtype.name in HALF_PRECISION:
        return accumulating_in_storage(case.dtype.name)
    return None


# TF's CPU gradient kernels take channels_last only, where the forward pass also takes NCHW.
NHWC_GRADIENT = Limit("runs channels_last only on CPU (MaxPoolGrad, MaxPool3DGrad and "
                      "DepthwiseConv2dNativeBackpropInput take NHWC/NDHWC)", RAISES,
                      on={"data_format": {"channels_first"}},
                      raises=raises("InvalidArgumentError UnimplementedError",
                                    r"only supports N\w*C|only supported for NHWC"))
# depthwise_conv2d's NCHW gradient with SAME/VALID runs (oneDNN); with explicit pads it is TF's
NHWC_EXPLICIT_DEPTHWISE_GRADIENT = Limit(
    "input gradient runs channels_last only with explicit pads (DepthwiseConv2dNative"
    "BackpropInput)", RAISES, on={"data_format": {"channels_first"}}, also=explicit,
    raises=raises("UnimplementedError", "only supported for NHWC"))


def own_gradient(case: Case) -> bool:
    """The conv's input gradient runs in TF's own kernel, not oneDNN's: explicit pads, float64
    (no oneDNN kernel), or oneDNN off (measured, TF 2.21: SAME/VALID in float16/bfloat16/
    float32 go through oneDNN, which takes NCHW, dilation and groups)."""
    return explicit(case) or case.dtype.name == "float64" or not environment.facts()["tf_onednn"]


OWN_GRADIENT_NCHW = Limit(
    "input gradient runs channels_last only with explicit pads or in float64 (TF's own "
    "Conv2DCustomBackpropInputOp)", RAISES, on={"data_format": {"channels_first"}},
    also=own_gradient, raises=raises("InvalidArgumentError", "only supports NHWC"))
OWN_GRADIENT_DILATED = Limit(
    "has no dilated input gradient with explicit pads or in float64 (TF's own kernel: 'do not "
    "yet support dilation rates larger than 1')", RAISES,
    on={"dilation": {"dilated"}, "data_format": {"channels_last"}}, also=own_gradient,
    reach={"dtype": "float64"},
    raises=raises("InvalidArgumentError", "do not yet support dilation rates larger than 1"))
OWN_GRADIENT_GROUPED = Limit(
    "has no grouped input gradient with explicit pads or in float64 (TF's own kernel)", RAISES,
    on={"groups": {"several"}, "dilation": {"one"}, "data_format": {"channels_last"}},
    also=own_gradient,
    reach={"dtype": "float64"},
    raises=raises("InvalidArgumentError",
                  "Gradients for grouped convolutions are not supported|doesn't match filter"))


CONVOLUTION_GROUPED_GRADIENT = Limit(
    "has no grouped input gradient with explicit pads or in float64 (TF's own kernel; "
    "dilated too: tf.nn.convolution dilates through space_to_batch)", RAISES,
    on={"groups": {"several"}, "data_format": {"channels_last"}}, also=own_gradient,
    reach={"dtype": "float64"},
    raises=raises("InvalidArgumentError",
                  "Gradients for grouped convolutions are not supported|doesn't match filter"))


def space_to_batch_reshapes(case: Case) -> bool:
    """Stride and dilation both > 1, where TF's with_space_to_batch gives the output another
    shape than the oracle's (the forward divergence ``space_to_batch``)."""
    if not (strided(case) and dilated(case)):
        return False
    counts = tuple(count for _, _, count, _, _ in space_to_batch_geometry(case))
    return counts != tuple(output_size(case))


SPACE_TO_BATCH_GRADIENT = Limit(
    "takes no cotangent of the oracle's shape where with_space_to_batch (stride and dilation) "
    "gives the output another shape", RAISES,
    on={"stride": {"equal", "unequal"}, "dilation": {"dilated"}}, also=space_to_batch_reshapes,
    raises=raises("InvalidArgumentError", "not divisible by block_shape|Incompatible shapes"
                                          "|shape"))


UNEQUAL_STRIDES_GRADIENT = Limit(
    "takes equal row and column strides only with explicit pads (DepthwiseConv2dNative"
    "BackpropInput; SAME/VALID run in oneDNN)", RAISES, on={"stride": {"unequal"}},
    also=explicit,
    raises=raises("InvalidArgumentError", "only supports equal length strides"))


def apis() -> list[Api]:
    from hypothesis import strategies as st

    from convparity.reference.strategies import paddings

    same_often = {"padding": st.one_of(st.sampled_from(["same", "valid"]), paddings(2))}
    nchw = (CHANNELS_FIRST_FLOAT64, CHANNELS_FIRST_FLOAT16)
    pools = (CEIL, POOL_DILATION, DIVISOR)
    result = []
    for n in (1, 2, 3):
        pool3d = (POOL3D_DTYPES,) if n == 3 else ()
        explicit_ok = n == 2  # explicit pads: conv2d, conv2d_transpose (max_pool1d/2d too)
        conv_limits = (PADDING_MODE, *nchw, OWN_CHANNELS_FIRST, CRASH) + (
            () if explicit_ok else (STRINGS_ONLY,)) + (
            () if n < 3 else (GROUPS, CONV3D_DILATION, CONV3D_DILATION_FLOAT16, OWN_DILATION))
        transpose_dilation = (TRANSPOSE_DILATION, TRANSPOSE_DILATION_FLOAT16)
        result += [
            Api(f"tensorflow.nn.conv{n}d", FRAMEWORK, "conv", n, nn_conv(f"conv{n}d"),
                conv_limits, same_often if explicit_ok else {}),
            Api("tensorflow.nn.convolution", FRAMEWORK, "conv", n, nn_conv("convolution"),
                (PADDING_MODE, *nchw, OWN_CHANNELS_FIRST,
                 UNDILATED_STRINGS_ONLY if n == 2 else STRINGS_ONLY, CRASH, STRIDE_DILATION)
                + ((GROUPS,) if n == 3 else ())),
            Api(f"tensorflow.nn.conv{n}d_transpose", FRAMEWORK, "conv_transpose", n,
                nn_conv_transpose(f"conv{n}d_transpose"),
                (GROUPS, *nchw, OWN_CHANNELS_FIRST, OWN_DILATION)
                + ((CHANNELS_FIRST_EXPLICIT, TRANSPOSE_DILATION_EXPLICIT) if explicit_ok
                   else (STRINGS_ONLY,))
                + transpose_dilation + (TRANSPOSE_OUTPUT_PADDING, TRANSPOSE_CRASH)),
            Api(f"tensorflow.nn.max_pool{n}d", FRAMEWORK, "max_pool", n,
                nn_pool(f"max_pool{n}d"),
                pools + pool3d + (OWN_CHANNELS_FIRST,)
                + ((MAX_POOL_FLOAT64,) if n == 2 else nchw if n == 1 else ())
                + ((STRINGS_ONLY,) if n == 3
                   else (CHANNELS_FIRST_EXPLICIT, POOL_PAD_BELOW_WINDOW))),
            Api(f"tensorflow.nn.avg_pool{n}d", FRAMEWORK, "avg_pool", n,
                nn_pool(f"avg_pool{n}d"),
                pools + pool3d + (nchw if n < 3 else ())
                + (OWN_CHANNELS_FIRST, STRINGS_ONLY, SAME_EXCLUDES_PAD)),
            Api(f"keras.layers.Conv{n}D", FRAMEWORK, "conv", n, keras_layer(f"Conv{n}D"),
                (PADDING_MODE, STRINGS_ONLY, STRIDE_DILATION, CRASH)
                + ((KERAS_CHANNELS_FIRST_FLOAT64, KERAS_CHANNELS_FIRST_FLOAT16,
                    KERAS_OWN_CHANNELS_FIRST) if n < 3 else ())),
            Api(f"keras.layers.Conv{n}DTranspose", FRAMEWORK, "conv_transpose", n,
                keras_layer(f"Conv{n}DTranspose"),
                (GROUPS, STRINGS_ONLY, STRIDE_DILATION, KERAS_OUTPUT_PADDING, *transpose_dilation,
                 *nchw, OWN_CHANNELS_FIRST, OWN_DILATION, TRANSPOSE_CRASH)),
            Api(f"keras.layers.MaxPooling{n}D", FRAMEWORK, "max_pool", n,
                keras_layer(f"MaxPooling{n}D"), pools + pool3d + (STRINGS_ONLY,)),
            Api(f"keras.layers.AveragePooling{n}D", FRAMEWORK, "avg_pool", n,
                keras_layer(f"AveragePooling{n}D"),
                pools + pool3d + (STRINGS_ONLY, SAME_EXCLUDES_PAD)),
        ]
        for kind, word in (("adaptive_avg_pool", "Average"), ("adaptive_max_pool", "Max")):
            result += [
                Api(f"keras.layers.Global{word}Pooling{n}D", FRAMEWORK, kind, n,
                    keras_layer(f"Global{word}Pooling{n}D"), (GLOBAL_ONLY,)),
                Api(f"keras.layers.Adaptive{word}Pooling{n}D", FRAMEWORK, kind, n,
                    keras_layer(f"Adaptive{word}Pooling{n}D"),
                    (KERAS_ADAPTIVE_NONE, *pool3d)
                    + ((KERAS_ADAPTIVE_MAX_OUTRUN,) if word == "Max" else ()),
                    unavailable=keras_lacks(f"Adaptive{word}Pooling{n}D")),
            ]
    result += [
        Api("tensorflow.nn.depthwise_conv2d", FRAMEWORK, "conv", 2, nn_depthwise,
            (PADDING_MODE, *nchw, OWN_CHANNELS_FIRST, NOT_DEPTHWISE, UNEQUAL_STRIDES,
             UNEQUAL_STRIDES_FLOAT16, OWN_UNEQUAL_STRIDES, DEPTHWISE_ROW_STRIDE, CRASH)),
        Api("keras.layers.DepthwiseConv2D", FRAMEWORK, "conv", 2,
            keras_layer("DepthwiseConv2D"),
            # unequal strides as tf.nn.depthwise_conv2d: oneDNN runs them (wrong only where
            # its brgemm row bug is), TF's own kernels raise
            (PADDING_MODE, NOT_DEPTHWISE, STRINGS_ONLY, KERAS_UNEQUAL_STRIDES,
             KERAS_UNEQUAL_STRIDES_FLOAT16, KERAS_OWN_UNEQUAL_STRIDES, DEPTHWISE_ROW_STRIDE,
             CRASH)),
    ]
    # Keras's global and adaptive max pooling have no backward sweep yet: GlobalMaxPooling*'s
    # gradient (reduce_max's) splits a window's cotangent over tied maxima ([1, 3, 3, 2]:
    # [0, .5, .5, 0]), and AdaptiveMaxPooling*'s returns uninitialised memory (-1.7e10 for a
    # 1-cell input, output 1: the gathered big-window pool is empty; MaxPoolGrad leaves it).
    return [dataclasses.replace(api, numerics=global_numerics if "Global" in api.name else numerics,
                                backward=None if api.op == "adaptive_max_pool"
                                else differentiated(api.call),
                                backward_numerics=backward_numerics,
                                backward_limits=gradient_limits(api))
            for api in result] + xla_apis()


def gradient_limits(api: Api) -> tuple[Limit, ...]:
    """What an API's backward pass cannot do on CPU besides what its forward pass cannot."""
    found = []
    if api.id.startswith("tensorflow.nn.max_pool"):
        found.append(NHWC_GRADIENT)
    if api.id == "tensorflow.nn.depthwise_conv2d":
        found += [NHWC_EXPLICIT_DEPTHWISE_GRADIENT, SPACE_TO_BATCH_GRADIENT,
                  UNEQUAL_STRIDES_GRADIENT]
    # probed over 4 dtypes x 2 layouts x 3 paddings x groups x dilation (TF 2.21)
    if api.id == "tensorflow.nn.conv2d":
        found += [OWN_GRADIENT_NCHW, OWN_GRADIENT_DILATED, OWN_GRADIENT_GROUPED]
    if api.id == "tensorflow.nn.conv1d":  # NCHW float64 and explicit pads: forward limits
        found += [OWN_GRADIENT_DILATED, OWN_GRADIENT_GROUPED]
    if api.id.startswith("tensorflow.nn.convolution") and api.ndim < 3:
        found.append(CONVOLUTION_GROUPED_GRADIENT)  # its dilation runs in space_to_batch
    return tuple(found)
