"""PyTorch: ``torch.nn.functional`` conv/conv_transpose/pools (adaptive ones too) and their
``torch.nn`` modules, 1-3 spatial dims. channels_last cases run on channels_last memory format
(an NHWC array seen as NCHW), not on a copy."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import os
import shutil
import sys

import numpy as np

from convparity.adapters import environment
from convparity.adapters.api import (
    CRASHES,
    DIFFERS,
    HALF_PADDING_ONLY_WINDOW,
    NO_PARAMETER,
    RAISES,
    Api,
    Limit,
    along,
    asymmetric,
    channels_last,
    output_size,
    raises,
    window_reads_only_padding,
    zeros_only,
)
from convparity.reference.case import Case
from convparity.reference.numerics import (
    HALF_PRECISION,
    Numerics,
    accumulating_in_storage,
    bfloat16_inputs,
)

FRAMEWORK = "torch"
DEVICE = contextvars.ContextVar("convparity_torch_device", default="cpu")
# While a backward pass is recorded: (id of a case array -> its name, name -> the leaf tensor)
LEAVES = contextvars.ContextVar("convparity_torch_leaves", default=None)


@functools.cache
def torch():
    import torch

    return torch


def tensor(array: np.ndarray | None, data_format: str = "channels_first"):
    """A NumPy array as a torch tensor of the same dtype; channels_last input becomes an
    ``(N, C, *spatial)`` view of the NHWC data (torch's channels_last memory format)."""
    if array is None:
        return None
    t = torch()
    if array.dtype.name == "bfloat16":
        result = t.from_numpy(array.astype(np.float32)).to(t.bfloat16)
    else:
        result = t.from_numpy(np.ascontiguousarray(array))
    recording = LEAVES.get()
    if recording is not None and id(array) in recording[0]:
        result = record(recording[0][id(array)], result.requires_grad_())
    if data_format == "channels_last":
        result = result.movedim(-1, 1)
    return result if DEVICE.get() == "cpu" else result.to(DEVICE.get())


def record(name: str, leaf):
    """Keep ``leaf`` as the tensor whose gradient is the case's ``name`` gradient."""
    recording = LEAVES.get()
    if recording is not None:
        recording[1][name] = leaf
    return leaf


def differentiated(call):
    """The backward pass of ``call``: ``backward(case, cotangent)`` runs it with the case's
    arrays as leaves (a module's own weight and bias), back-propagates the cotangent and
    returns ``{"input": ..., "weight": ..., "bias": ...}`` as NumPy arrays in the case's
    layouts."""
    def backward(case: Case, cotangent: np.ndarray) -> dict[str, np.ndarray]:
        from convparity.adapters.api import differentiable_arrays, to_numpy

        names = differentiable_arrays(case)
        leaves: dict = {}
        token = LEAVES.set((names, leaves))
        try:
            y = call(case)
        finally:
            LEAVES.reset(token)
        y.backward(tensor(np.asarray(cotangent, dtype=case.dtype)))
        return {name: to_numpy(leaf.grad) for name, leaf in leaves.items()}

    return backward


def output(result, case: Case):
    return result.movedim(1, -1) if channels_last(case) else result


def symmetric_pads(case: Case) -> tuple[int, ...]:
    return tuple(lo for lo, _ in case.pads)


def conv_padding(case: Case):
    """torch's own 'same'/'valid' where it takes them (stride 1), else the explicit pads."""
    if torch_takes_string(case):
        return case.padding.lower()
    if asymmetric(case):
        return case.pads  # torch takes no (before, after) pairs: raises
    return symmetric_pads(case)


def pool_padding(case: Case):
    return case.pads if asymmetric(case) else symmetric_pads(case)


# -- calls -------------------------------------------------------------------------------------
def functional(name: str, compiled: bool = False):
    def call(case: Case):
        fn = getattr(torch().nn.functional, name)
        fn = inductor_compiled(fn) if compiled else fn
        x = tensor(case.input, case.data_format)
        if case.op == "conv":
            y = fn(x, tensor(case.weight), tensor(case.bias), case.strides,
                   conv_padding(case), case.dilations, case.groups)
        elif case.op == "conv_transpose":
            y = fn(x, tensor(case.weight), tensor(case.bias), case.strides,
                   transpose_padding(case), case.output_padding, case.groups, case.dilations)
        elif case.op == "max_pool":
            y = fn(x, case.kernel, case.strides, pool_padding(case), case.dilations,
                   case.ceil_mode)
        elif case.op.startswith("adaptive"):
            y = fn(x, case.output_size)
        elif case.op == "lp_pool":
            y = fn(x, case.norm_type, *lp_window(case), case.ceil_mode)
        else:
            extra = {} if case.ndim == 1 else {"divisor_override": case.divisor_override}
            y = fn(x, case.kernel, case.strides, pool_padding(case), case.ceil_mode,
                   case.count_include_pad, **extra)
        return output(y, case)

    return call


# -- torch.compile (inductor: C++ generated and compiled on CPU) -------------------------------
def no_cxx_compiler() -> str | None:
    """Why torch.compile cannot run here: inductor compiles C++ on CPU, with ``$CXX`` or else
    g++; None when that compiler is found."""
    compiler = os.environ.get("CXX", "g++")
    if shutil.which(compiler):
        return None
    return f"torch.compile's inductor needs a C++ compiler on CPU: {compiler!r} was not found"


@functools.cache
def inductor():
    """torch with inductor set up once: one compile thread (2-core machines), and a recompile
    limit that raises instead of falling back to eager for the rest of the process."""
    t = torch()
    importlib.import_module("torch._dynamo").config.fail_on_recompile_limit_hit = True
    importlib.import_module("torch._inductor.config").compile_threads = 1
    return t


def inductor_compiled(fn):
    """``fn`` compiled afresh for this call by ``torch.compile`` (whole graph, static shapes),
    dynamo's caches reset first: past 8 configurations of one function dynamo runs it eager.
    Raises what the op raised while traced, and unless one new graph was compiled and run."""
    def run(*args, **kwargs):
        from torch._dynamo.utils import counters

        t = inductor()
        t._dynamo.reset()
        graphs = counters["stats"]["unique_graphs"]
        try:
            y = t.compile(fn, fullgraph=True, dynamic=False)(*args, **kwargs)
        except t._dynamo.exc.TorchDynamoException as error:
            # what the op raised while dynamo traced it (on fake tensors), as eager raises it
            if error.__cause__ is not None:
                raise error.__cause__ from error
            raise
        if counters["stats"]["unique_graphs"] != graphs + 1:
            raise RuntimeError(f"torch.compile ran {fn.__name__} without one new graph")
        return y

    return run


def lp_window(case: Case) -> tuple:
    """Kernel and stride as lp_pool takes them: ints in 1-D (a tuple breaks its kernel-volume
    multiply), else per dim."""
    if case.ndim == 1:
        return case.kernel[0], None if case.stride is None else case.strides[0]
    return case.kernel, None if case.stride is None else case.strides


def transpose_padding(case: Case):
    if case.padding == "same":
        return "same"  # conv_transpose takes no strings: raises
    return case.pads if asymmetric(case) else symmetric_pads(case)


def module(name: str):
    def call(case: Case):
        t = torch()
        cls = getattr(t.nn, name)
        x = tensor(case.input, case.data_format)
        if case.op in ("conv", "conv_transpose"):
            w = tensor(case.weight)
            channels = (x.shape[1], w.shape[0] if case.op == "conv" else w.shape[1] * case.groups)
            common = dict(kernel_size=case.kernel, stride=case.strides, dilation=case.dilations,
                          groups=case.groups, bias=case.bias is not None)
            if case.op == "conv":
                layer = cls(*channels, padding=conv_padding(case),
                            padding_mode=case.padding_mode, **common)
            else:
                layer = cls(*channels, padding=transpose_padding(case),
                            output_padding=case.output_padding, **common)
            layer = layer.to(device=w.device, dtype=w.dtype)
            with t.no_grad():
                layer.weight.copy_(w.detach())
                if case.bias is not None:
                    layer.bias.copy_(tensor(case.bias).detach())
            record("weight", layer.weight)
            if case.bias is not None:
                record("bias", layer.bias)
        elif case.op == "max_pool":
            layer = cls(case.kernel, case.strides, pool_padding(case), case.dilations,
                        ceil_mode=case.ceil_mode)
        elif case.op.startswith("adaptive"):
            layer = cls(case.output_size)
        elif case.op == "lp_pool":
            layer = cls(case.norm_type, *lp_window(case), case.ceil_mode)
        else:
            extra = {} if case.ndim == 1 else {"divisor_override": case.divisor_override}
            layer = cls(case.kernel, case.strides, pool_padding(case), case.ceil_mode,
                        case.count_include_pad, **extra)
        with contextlib.nullcontext() if LEAVES.get() else t.no_grad():
            return output(layer(x), case)

    return call


# -- limits ------------------------------------------------------------------------------------
def pad_over_half_kernel(case: Case) -> bool:
    return any(max(p) > k // 2 for p, k in zip(case.pads, case.kernel))


def torch_takes_string(case: Case) -> bool:
    return isinstance(case.padding, str) and all(s == 1 for s in case.strides)


PAIRS = raises("TypeError", r"invalid combination of arguments|argument 'pad(ding)?'")
CONV_ASYMMETRIC = Limit("takes one symmetric pad per dim, or 'same' at stride 1; no (before, "
                        "after) pairs (pad the input with F.pad first)", RAISES,
                        on={"padding": {"asymmetric", "same, uneven"}},
                        also=lambda c: not torch_takes_string(c), steers=True, raises=PAIRS)
ASYMMETRIC = Limit("takes one symmetric pad per dim, no (before, after) pairs (pad the input "
                   "with F.pad first)", RAISES, on={"padding": {"asymmetric", "same, uneven"}},
                   raises=PAIRS)
TRANSPOSE_SAME = Limit("takes no padding='same'", RAISES, on={"padding": {"same", "same, uneven"}},
                       raises=raises("TypeError", r"argument 'padding' .* str"))
POOL_PAD = Limit("pads at most half the kernel size", RAISES, also=pad_over_half_kernel,
                 raises=raises("RuntimeError", "half of (effective )?kernel size"),
                 reach={"dtype": "float32", "kernel_size": 3, "input_size": 4, "padding": 2,
                        "stride": 1, "dilation": 1})
AVG_DILATION = Limit("has no dilation", NO_PARAMETER, on={"dilation": {"dilated"}},
                     parameter="dilation")
DIVISOR_1D = Limit("avg_pool1d has no divisor_override", NO_PARAMETER,
                   on={"divisor_override": {"given"}}, parameter="divisor_override")
AVG3D_HALF = Limit("avg_pool3d is not implemented for float16/bfloat16 on CPU", RAISES,
                   on={"dtype": {"float16", "bfloat16"}},
                   raises=raises("NotImplementedError", "not implemented for '(Half|BFloat16)'"))
# inductor generates some float16/bfloat16 avg_pool3d itself, and falls back to eager's for others
COMPILED_AVG3D_HALF = Limit(
    "avg_pool3d in float16/bfloat16 under inductor: runs where it generates the kernel (a 1x1x1 "
    "window), raises where it falls back to eager's, which lacks them", DIFFERS,
    on={"dtype": {"float16", "bfloat16"}})
AVG3D_SMALL = Limit("avg_pool3d rejects an input smaller than the kernel, padding or not", RAISES,
                    also=lambda c: any(n < k for n, k in zip(c.spatial_size, c.kernel)),
                    raises=raises("RuntimeError", "smaller than kernel size"),
                    reach={"dtype": "float32", "input_size": 1, "kernel_size": 2, "padding": 1,
                           "stride": 1, "ceil_mode": False})
def grouped_padding_only_probes(ndim: int) -> tuple[dict, ...]:
    """The crash found: 4 channels in 2 groups with a bias, channels_last, a 9-long dim read by
    a 4-tap kernel (stride 3, dilation 2) beside a 1-wide dim padded by 2 (windows on padding
    only); 1-D torch has no channels_last memory format and does not crash."""
    if ndim == 1:
        return ()
    return ({"dtype": "float32", "data_format": "channels_last", "channels": 4,
             "out_channels": 4, "groups": 2, "bias": np.ones(4, np.float32),
             "size": along(ndim, -1, 1, 9), "kernel": along(ndim, -1, 1, 4), "stride": 3,
             "dilation": 2, "padding": along(ndim, -1, 2, 0)},)


# Found by `convparity run` (as the peer of a tf.nn.conv2d case): a segfault, every time, with
# oneDNN at any ISA (AVX2 too); no bias, one group or channels_first, it runs.
GROUPED_PADDING_ONLY_WINDOW = Limit(
    "can crash the process (segfault in oneDNN) in float32 channels_last grouped convs with a "
    "bias when an output window reads only zero padding", CRASHES,
    on={"dtype": {"float32"}, "data_format": {"channels_last"}, "groups": {"several"}},
    also=lambda c: c.bias is not None and window_reads_only_padding(c),
    probes=grouped_padding_only_probes)
ADAPTIVE_1D_NONE = Limit("(1-D adaptive pooling) takes no None in output_size", RAISES,
                         on={"output_size": {"keeps a dim"}},
                         raises=raises("TypeError", "found element of type NoneType"))
SIGNED_ONLY = Limit("sums x^p without taking |x| (the 'signed' convention: p=1 a signed sum, "
                    "an odd p NaN below zero)", NO_PARAMETER, on={"convention": {"absolute"}},
                    parameter="convention")
LP_PADDING = Limit("has no padding", NO_PARAMETER,
                   on={"padding": {"same", "same, uneven", "symmetric", "asymmetric"}},
                   parameter="padding")
LP_DILATION = Limit("has no dilation", NO_PARAMETER, on={"dilation": {"dilated"}},
                    parameter="dilation")
F_PADDING_MODE = zeros_only("has no padding_mode (use torch.nn.Conv*d or F.pad)")
NO_SYMMETRIC = Limit("has no symmetric padding_mode (mirror with the edge repeated)", RAISES,
                     on={"padding_mode": {"symmetric"}},
                     raises=raises("ValueError", "padding_mode must be one of"))


# -- devices (see convparity.adapters.devices) -------------------------------------------------
@contextlib.contextmanager
def placed(device: str):
    """Tensors made by this adapter go to ``device`` (modules follow their weight)."""
    token = DEVICE.set(device)
    try:
        yield
    finally:
        DEVICE.reset(token)


def device_unavailable(device: str) -> str | None:
    if not torch().cuda.is_available():
        return (f"no CUDA device: torch.cuda.is_available() is False (torch "
                f"{torch().__version__})")
    return None


def device_numerics(device: str, case: Case) -> Numerics | None:
    from convparity.adapters.devices import gpu_numerics

    t = torch()
    return gpu_numerics(case, tf32=t.backends.cudnn.allow_tf32,
                        capability=t.cuda.get_device_capability())


def numerics(case: Case, machine: dict | None = None) -> Numerics | None:
    """What torch computes a case in on ``machine`` (default: this one): the default (float32
    accumulation for float16/bfloat16), except transposed convs in float16/bfloat16, which
    round partial sums to the storage type on some paths (measured up to 106x the
    float32-accumulation bound on tiny cases, Sapphire Rapids), and float16 convs on a CPU
    without AVX512-FP16, where oneDNN has no float16 kernel (not measured: assumed in float16).
    float32 convs in oneDNN's bf16 fpmath mode (``ONEDNN_DEFAULT_FPMATH_MODE=BF16`` for its
    conv kernels; in this process also torch's ``fp32_precision="bf16"`` switches or
    ``set_float32_matmul_precision("medium")``, which reach the im2col GEMM of small batches)
    round their inputs to bfloat16 where AMX runs them (measured, Sapphire Rapids: 1e-3 of
    sum|x w| off; with oneDNN capped at AVX512_CORE_BF16, float32 as asked)."""
    name = case.dtype.name
    if case.op == "adaptive_avg_pool" and case.ndim == 3 and name in HALF_PRECISION \
            and set(output_size(case)) != {1}:
        return accumulating_in_storage(name)
    if case.op not in ("conv", "conv_transpose"):
        return None
    facts = environment.facts() if machine is None else environment.derive_facts(machine)
    if name == "float32" and facts["onednn_amx"] and (
            facts["onednn_fpmath_bf16"] or (machine is None and float32_in_bfloat16())):
        return bfloat16_inputs(name)
    if name not in HALF_PRECISION:
        return None
    if case.op == "conv_transpose" or (name == "float16" and not facts["avx512_fp16"]):
        return accumulating_in_storage(name)
    return None


def backward_numerics(case: Case, machine: dict | None = None) -> Numerics | None:
    """What torch's backward pass computes float16/bfloat16 gradients in, where it differs from
    the forward pass: pooling (adaptive too) adds the cotangents of overlapping windows in the
    storage type, and so does the fold-back through reflect/replicate/circular padding
    (measured: 1-4 ulps of float16 past the float32-accumulation bound, Sapphire Rapids). On a
    CPU without AVX-512, where oneDNN has no half-precision conv kernels, a conv's gradients go
    through torch's own col2im, which adds the columns in the storage type (measured, AVX2-only
    AMD EPYC: a bfloat16 input gradient 1.4x past the float32-accumulation bound)."""
    if case.dtype.name not in HALF_PRECISION:
        return None
    facts = environment.facts() if machine is None else environment.derive_facts(machine)
    if case.spec.pooling or (case.op == "conv" and (
            case.padding_mode != "zeros" or not facts["avx512bw"])):
        return accumulating_in_storage(case.dtype.name)
    return None


def float32_in_bfloat16() -> bool:
    """This process's torch lets float32 convs or matmuls compute in bfloat16."""
    if "torch" not in sys.modules:
        return False
    t = torch()
    switches = (t.backends.mkldnn.conv, t.backends.mkldnn.matmul, t.backends)
    if any(getattr(switch, "fp32_precision", None) == "bf16" for switch in switches):
        return True
    try:
        return t.get_float32_matmul_precision() == "medium"
    except RuntimeError:  # torch refuses the legacy getter once the new switches are set
        return False


def differentiable(op: str, call):
    """The backward pass of ``call``, for the ops the oracle has gradients of (not Lp pooling
    yet)."""
    return None if op == "lp_pool" else differentiated(call)


def _avg_limits(ndim: int) -> tuple[Limit, ...]:
    limits = [ASYMMETRIC, POOL_PAD, AVG_DILATION]
    if ndim == 1:
        limits.append(DIVISOR_1D)
    if ndim == 3:
        limits += [AVG3D_HALF, AVG3D_SMALL]
    return tuple(limits)


def apis() -> list[Api]:
    from hypothesis import strategies as st

    modes = st.sampled_from(["zeros", "reflect", "replicate", "circular"])
    small_pool_pads = {"padding": st.just(0) | st.integers(0, 1)}  # mostly clear of POOL_PAD
    result = []
    for n in (1, 2, 3):
        adaptive_limits = (ADAPTIVE_1D_NONE,) if n == 1 else ()
        for kind, F_name, module_name, limits, prefer in [
            ("conv", f"conv{n}d", f"Conv{n}d",
             (CONV_ASYMMETRIC, HALF_PADDING_ONLY_WINDOW, GROUPED_PADDING_ONLY_WINDOW), {}),
            ("conv_transpose", f"conv_transpose{n}d", f"ConvTranspose{n}d",
             (TRANSPOSE_SAME, ASYMMETRIC), {}),
            ("max_pool", f"max_pool{n}d", f"MaxPool{n}d", (ASYMMETRIC, POOL_PAD), small_pool_pads),
            ("avg_pool", f"avg_pool{n}d", f"AvgPool{n}d", _avg_limits(n), small_pool_pads),
            ("lp_pool", f"lp_pool{n}d", f"LPPool{n}d",
             (SIGNED_ONLY, LP_PADDING, LP_DILATION) + ((AVG3D_HALF,) if n == 3 else ()), {}),
            ("adaptive_avg_pool", f"adaptive_avg_pool{n}d", f"AdaptiveAvgPool{n}d",
             adaptive_limits, {}),
            ("adaptive_max_pool", f"adaptive_max_pool{n}d", f"AdaptiveMaxPool{n}d",
             adaptive_limits, {}),
        ]:
            F_limits = limits + ((F_PADDING_MODE,) if kind == "conv" else ())
            module_prefer = {**prefer, "padding_mode": modes} if kind == "conv" else prefer
            result += [
                Api(f"torch.nn.functional.{F_name}", FRAMEWORK, kind, n, functional(F_name),
                    F_limits, prefer, numerics=numerics,
                    backward=differentiable(kind, functional(F_name)),
                    backward_numerics=backward_numerics),
                Api(f"torch.nn.{module_name}", FRAMEWORK, kind, n, module(module_name),
                    limits + ((NO_SYMMETRIC,) if kind == "conv" else ()), module_prefer,
                    numerics=numerics,
                    backward=differentiable(kind, module(module_name)),
                    backward_numerics=backward_numerics),
            ]
            compiled_limits = tuple(COMPILED_AVG3D_HALF if lim is AVG3D_HALF else lim
                                    for lim in F_limits)
            result.append(Api(f"torch.nn.functional.{F_name}", FRAMEWORK, kind, n,
                              functional(F_name, compiled=True), compiled_limits, prefer,
                              numerics=numerics, backend="compile",
                              unavailable=no_cxx_compiler))
    return result
