"""The environment as a fact: the machine, the backend switches and the frameworks' build, gathered
once per process, so every verdict can say where it was seen.

``machine()`` reads the CPU and the steering variables without importing any framework (the
pytest header uses it); ``framework_facts(name)`` imports that framework (reports and
``convparity frameworks`` use it). ``facts()`` is the flat table of names a divergence's ``when``
may test (``amx``, ``avx512_fp16``, ``onednn_isa_capped``, ...).
"""

from __future__ import annotations

import functools
import os
import platform
import re

# CPU flags (as /proc/cpuinfo spells them) that decide which oneDNN/XNNPACK kernels run.
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw",
             "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16",
             "amx_int8", "amx_fp16")
# Variables read at import by the backends inside the frameworks.
STEERING_VARIABLES = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS",
                      "ONEDNN_DEFAULT_FPMATH_MODE", "DNNL_DEFAULT_FPMATH_MODE",
                      "TF_SET_ONEDNN_FPMATH_MODE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                      "OPENBLAS_CORETYPE", "XLA_FLAGS", "TF_NUM_INTRAOP_THREADS")
# oneDNN's ISA names from the lowest to the highest; a cap at one of these keeps the ones before.
ONEDNN_ISAS = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE",
               "AVX512_CORE_VNNI", "AVX512_CORE_BF16", "AVX10_1_512", "AVX512_CORE_FP16",
               "AVX10_1_512_AMX", "AVX512_CORE_AMX", "AVX10_1_512_AMX_FP16",
               "AVX512_CORE_AMX_FP16", "ALL")
AMX_ISAS = frozenset(isa for isa in ONEDNN_ISAS if "AMX" in isa) | {"ALL"}


def cpu_info(text: str | None = None) -> dict:
    """Model name and the ISA flags of the first processor in ``/proc/cpuinfo`` (or ``text``)."""
    if text is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            text = ""
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.MULTILINE)
    present = set(flags.group(1).split()) if flags else set()
    return {"model": model.group(1).strip() if model else platform.processor() or "unknown",
            "flags": [f for f in ISA_FLAGS if f in present]}


@functools.cache
def machine() -> dict:
    """CPU, cores, OS and the steering variables; imports no framework."""
    return {
        "cpu": cpu_info(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": platform.python_version(),
        "variables": {name: os.environ[name] for name in STEERING_VARIABLES
                      if name in os.environ},
    }


def with_variables(variables: dict, info: dict | None = None) -> dict:
    """This machine's record (or ``info``) as a process with ``variables`` also set sees it."""
    info = info or machine()
    return {**info, "variables": {**info["variables"], **variables}}


def isa_capped_below_amx(variables: dict) -> bool:
    """``ONEDNN_MAX_CPU_ISA`` (or its old name) caps oneDNN below every AMX ISA."""
    cap = (variables.get("ONEDNN_MAX_CPU_ISA") or variables.get("DNNL_MAX_CPU_ISA") or "ALL")
    return cap.strip().upper() not in AMX_ISAS


# The CPU features for which TensorFlow turns its oneDNN kernels on by default on Linux
# (tensorflow/core/util/util.cc, DefaultOneDnnPolicy): without any, an AVX2-only CPU runs TF's
# own (Eigen) kernels, which take channels-last only.
TF_ONEDNN_FLAGS = frozenset({"avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8",
                             "amx_bf16"})


def tf_onednn_on(flags: set, setting: str) -> bool:
    """Whether TF runs oneDNN: ``TF_ENABLE_ONEDNN_OPTS`` if set to 0/1/false/true (any case),
    else TF's default for this CPU."""
    setting = setting.strip().lower()
    if setting in ("0", "1", "false", "true"):
        return setting in ("1", "true")
    return bool(flags & TF_ONEDNN_FLAGS)


def derive_facts(info: dict) -> dict:
    """The names a divergence's ``when`` may use about the machine, from :func:`machine`'s
    record (a test passes its own record to fake another machine)."""
    flags = set(info["cpu"]["flags"])
    variables = info["variables"]
    capped = isa_capped_below_amx(variables)
    onednn_amx = bool(flags & {"amx_bf16", "amx_tile"}) and not capped
    tf_onednn = tf_onednn_on(flags, variables.get("TF_ENABLE_ONEDNN_OPTS", ""))
    fpmath = (variables.get("ONEDNN_DEFAULT_FPMATH_MODE")
              or variables.get("DNNL_DEFAULT_FPMATH_MODE") or "").strip().upper()
    tf_fpmath = variables.get("TF_SET_ONEDNN_FPMATH_MODE", "").strip().upper() or fpmath
    facts = {flag: flag in flags for flag in ISA_FLAGS}
    facts.update({
        "amx": bool(flags & {"amx_bf16", "amx_tile"}),
        "onednn_isa_capped": capped,
        # AMX that oneDNN (torch's and TF's) may use: present and not capped away
        "onednn_amx": onednn_amx,
        "tf_onednn": tf_onednn,
        # oneDNN's bf16 fpmath mode, which its AMX kernels honour (float32 inputs rounded to
        # bfloat16; with AVX512_CORE_BF16 and below they compute float32 as asked)
        "onednn_fpmath_bf16": fpmath == "BF16" and onednn_amx,
        "tf_fpmath_bf16": tf_fpmath == "BF16" and onednn_amx and tf_onednn,
    })
    return facts


@functools.cache
def facts() -> dict:
    """:func:`derive_facts` of this process's machine."""
    return derive_facts(machine())


FACT_NAMES = frozenset(derive_facts({"cpu": {"flags": []}, "variables": {}}))


def describe(info: dict | None = None) -> str:
    """One line: CPU model, the kernel-relevant flags, cores, OS and steering variables."""
    info = info or machine()
    flags = info["cpu"]["flags"]
    shown = [f for f in flags if f.startswith(("avx512_", "amx", "avx2", "avx512f"))]
    variables = ", ".join(f"{k}={v}" for k, v in info["variables"].items()) or "none set"
    return (f"{info['cpu']['model']} [{' '.join(shown) or 'no AVX2'}], {info['cores']} cores, "
            f"{info['os']}; backend variables: {variables}")


# -- frameworks: build facts (imports the framework) -----------------------------------------------
def torch_facts() -> dict:
    import torch

    config = torch.__config__.show()
    onednn = re.search(r"(?:Intel\(R\) MKL-DNN|oneDNN)\s+v?([\d.]+)", config)
    return {
        "version": torch.__version__,
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "onednn_version": onednn.group(1) if onednn else None,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
    }


def tensorflow_facts() -> dict:
    from convparity.adapters.tensorflow_api import tf

    build = dict(tf().sysconfig.get_build_info())
    return {
        "version": tf().__version__,
        "onednn_opts": facts()["tf_onednn"],
        "build": {k: v for k, v in build.items() if k in ("cpu_compiler", "is_cuda_build")},
        "intra_op_threads": tf().config.threading.get_intra_op_parallelism_threads(),
    }


def numpy_like_facts(module_name: str) -> dict:
    import importlib

    module = importlib.import_module(module_name)
    blas = None
    try:
        config = module.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {}).get("name")
    except Exception:  # older releases print instead of returning; the BLAS is then unknown
        pass
    return {"version": module.__version__, "blas": blas}


def jax_facts() -> dict:
    from importlib.metadata import version

    from convparity.adapters.jax_api import jax

    return {"version": jax().__version__, "jaxlib": version("jaxlib"),
            "backend": jax().default_backend(), "x64": bool(jax().config.jax_enable_x64)}


def onnxruntime_facts() -> dict:
    import onnx
    import onnxruntime

    return {"version": onnxruntime.__version__, "onnx": onnx.__version__,
            "providers": onnxruntime.get_available_providers()}


def opencv_facts() -> dict:
    """OpenCV's version and the CPU features it dispatches to (``OPENCV_CPU_DISABLE`` applied):
    which SIMD path its morphology takes decides how it folds NaN."""
    import cv2

    from convparity.adapters.opencv_morphology import lanes

    return {"version": cv2.__version__, "cpu_features": cv2.getCPUFeaturesLine(),
            "morphology_float32_lanes": lanes()}


FRAMEWORK_FACTS = {"torch": torch_facts, "tensorflow": tensorflow_facts,
                   "scipy": lambda: numpy_like_facts("scipy"), "jax": jax_facts,
                   "onnxruntime": onnxruntime_facts,
                   "onnx": lambda: numpy_like_facts("onnx"), "cv2": opencv_facts}


@functools.cache
def framework_facts(framework: str) -> dict:
    """Version and build facts of one installed framework (imports it)."""
    return FRAMEWORK_FACTS[framework]()


def everything(frameworks) -> dict:
    """The whole record for a report: the machine, NumPy, and each framework's build."""
    return {"machine": machine(), "numpy": numpy_like_facts("numpy"),
            "frameworks": {name: framework_facts(name) for name in frameworks}}
