"""A framework's other backends, for bisecting a disagreement: the same API call with oneDNN
disabled, or capped below AMX, answers "which kernel is to blame?".

A backend switched in-process (torch's ``mkldnn.flags``) runs here; one read at import
(``ONEDNN_MAX_CPU_ISA``, ``TF_ENABLE_ONEDNN_OPTS``) runs in a worker subprocess started once per
backend with those variables set (:mod:`convparity.adapters.worker`), which keeps serving cases
as JSON lines until this process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from convparity.adapters import environment
from convparity.adapters.api import Api, dilate_kernel
from convparity.reference.case import Case, array_from_dict
from convparity.reference.compare import compare
from convparity.reference.numerics import HALF_PRECISION, Numerics, accumulating_in_storage
from convparity.reference.testing import check_against_reference

REPLY = "convparity-worker:"  # the prefix of a worker's answers on its stdout


class WorkerDied(RuntimeError):
    """The worker process ended (e.g. a segfault) instead of answering."""


@dataclass(frozen=True)
class Backend:
    """One way to run a framework other than its default. ``variables`` are set in a worker
    process (read at import); ``switch`` returns an in-process context manager. A backend that
    runs channels_last only gets channels_first cases transposed, and one that runs no dilated
    conv gets the dilation as zeros in the kernel: the same math, every added product an exact
    zero."""

    name: str
    framework: str
    description: str
    variables: Mapping[str, str] = field(default_factory=dict)
    switch: Callable[[], contextlib.AbstractContextManager] | None = None
    channels_last_only: bool = False
    undilated: bool = False
    # what an in-process switch makes it compute a case in, where that differs from the API's
    # default (a worker's follows from its variables: the API's numerics on that environment)
    numerics: Callable[[Case], Numerics | None] | None = None

    def numerics_for(self, api: Api, case: Case) -> Numerics:
        """What ``api`` computes ``case`` in under this backend."""
        declared = self.numerics(case) if self.numerics else None
        return declared or api.numerics_for(case, environment.with_variables(self.variables))


def half_in_storage(*ops: str) -> Callable[[Case], Numerics | None]:
    """float16/bfloat16 cases of ``ops`` accumulate in their own type."""
    def numerics(case: Case) -> Numerics | None:
        half = case.dtype.name in HALF_PRECISION and case.op in ops
        return accumulating_in_storage(case.dtype) if half else None

    return numerics


def _mkldnn_off():
    import torch

    return torch.backends.mkldnn.flags(enabled=False)


BACKENDS = {
    "torch": (
        Backend("mkldnn-off", "torch", "oneDNN disabled (torch.backends.mkldnn.flags("
                "enabled=False))", switch=_mkldnn_off,
                numerics=half_in_storage("conv_transpose")),
        Backend("amx-off", "torch", "oneDNN capped at AVX512_CORE_BF16, AMX off "
                "(ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16)",
                variables={"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_BF16"}),
        Backend("torch-bf16-fpmath", "torch", "oneDNN's bf16 fpmath mode, float32 inputs "
                "rounded to bfloat16 on AMX (ONEDNN_DEFAULT_FPMATH_MODE=BF16)",
                variables={"ONEDNN_DEFAULT_FPMATH_MODE": "BF16"}),
    ),
    "tensorflow": (
        Backend("onednn-off", "tensorflow", "oneDNN disabled (TF_ENABLE_ONEDNN_OPTS=0)",
                variables={"TF_ENABLE_ONEDNN_OPTS": "0"}, channels_last_only=True,
                undilated=True),
        Backend("tf-bf16-fpmath", "tensorflow", "oneDNN's bf16 fpmath mode, float32 inputs rounded "
                "to bfloat16 on AMX (TF_SET_ONEDNN_FPMATH_MODE=BF16)",
                variables={"TF_SET_ONEDNN_FPMATH_MODE": "BF16"}),
    ),
}


def isolated(framework: str) -> Backend:
    """The framework's default backend, in a worker process (for probes that may crash it)."""
    return Backend(f"{framework}-default", framework, f"{framework}'s default backend")


def backend(name: str) -> Backend:
    for option in (b for group in BACKENDS.values() for b in group):
        if option.name == name:
            return option
    known = ", ".join(b.name for group in BACKENDS.values() for b in group)
    raise ValueError(f"backend={name!r}: expected one of {known}")


def as_channels_last(case: Case) -> Case:
    """The same case with a channels_last input (the output is moved back by the caller)."""
    if case.data_format == "channels_last":
        return case
    return case.replace(input=np.ascontiguousarray(np.moveaxis(case.input, 1, -1)),
                        data_format="channels_last")


def undilated(case: Case) -> Case:
    """A dilated conv as a plain one with zeros between the kernel taps (SAME pads alike: the
    kernel's extent is the same)."""
    if case.op != "conv" or all(d == 1 for d in case.dilations):
        return case
    return case.replace(weight=dilate_kernel(case.weight, (1, 1, *case.dilations)), dilation=1)


def run_under(option: Backend, api: Api, case: Case) -> np.ndarray:
    """``api``'s output for ``case`` with ``option`` in force; raises what the framework raises
    (a worker's error as ``RuntimeError`` with its text)."""
    moved = option.channels_last_only and case.data_format == "channels_first"
    run_case = as_channels_last(case) if moved else case
    run_case = undilated(run_case) if option.undilated else run_case
    if option.switch is not None:
        from convparity.adapters.api import to_numpy

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch's note on TF32 for Intel GPUs
            with option.switch():
                y = to_numpy(api.call(run_case))
    else:
        y = worker(option).run(api.id, run_case)
    return np.moveaxis(y, -1, 1) if moved else y


@dataclass(frozen=True)
class Verdict:
    backend: Backend
    agrees: bool
    detail: str = ""  # an error, or the worst element

    def __str__(self) -> str:
        if self.agrees:
            return f"agrees with the oracle with {self.backend.description}"
        return f"also disagrees with {self.backend.description}" + (
            f" ({self.detail})" if self.detail else "")


def verdict(option: Backend, api: Api, case: Case) -> Verdict:
    try:
        actual = run_under(option, api, case)
        comparison = check_against_reference(actual, case,
                                             numerics=option.numerics_for(api, case))
    except Exception as error:  # raised under that backend, or another shape
        text = str(error).strip().splitlines()
        return Verdict(option, False, f"{type(error).__name__}: {text[0] if text else ''}")
    return Verdict(option, comparison.ok,
                   "" if comparison.ok else comparison.summary().splitlines()[-1])


def backward_verdict(option: Backend, api: Api, case: Case, cotangent) -> Verdict:
    """Whether ``api``'s gradients for ``case`` agree with the oracle's under ``option`` (an
    in-process switch: a worker runs no backward pass)."""
    from convparity.reference import backward

    if option.switch is None:
        return Verdict(option, False, "a worker backend runs no backward pass")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with option.switch():
                found = api.backward(case, cotangent)
        numerics = option.numerics_for(api, case)
        for gradient in backward.gradients(case, cotangent):
            comparison = compare(found[gradient.name],
                                 *backward.expectation(gradient, numerics, case.dtype),
                                 numerics.storage)
            if not comparison.ok:
                return Verdict(option, False, f"the {gradient.name} gradient: "
                                              f"{comparison.summary().splitlines()[-1]}")
    except Exception as error:
        text = str(error).strip().splitlines()
        return Verdict(option, False, f"{type(error).__name__}: {text[0] if text else ''}")
    return Verdict(option, True)


def bisect(api: Api, case: Case) -> list[Verdict]:
    """Run ``case`` under each of the framework's other backends: which agree? (A worker can
    run only the registry's own APIs, not a test's wrapped one.)"""
    from convparity.adapters.registry import all_apis

    registered = any(known.id == api.id for known in all_apis([api.framework]))
    return [verdict(option, api, case) for option in BACKENDS.get(api.framework, ())
            if registered or option.switch is not None]


def bisection_text(verdicts: list[Verdict]) -> str:
    if not verdicts:
        return ""
    return "Backend bisection:\n" + "\n".join(f"  {v}" for v in verdicts)


# -- worker processes ----------------------------------------------------------------------------
class Worker:
    """A subprocess with ``option.variables`` set that runs cases for this one."""

    def __init__(self, option: Backend):
        env = {**os.environ, **option.variables, "TF_CPP_MIN_LOG_LEVEL": "2"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "convparity.adapters.worker"], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def run(self, api_id: str, case: Case) -> np.ndarray:
        try:
            self.process.stdin.write(json.dumps({"api": api_id, "case": case.to_dict()}) + "\n")
            self.process.stdin.flush()
        except OSError:  # it died before this request: its exit is reported below
            pass
        for line in self.process.stdout:
            if line.startswith(REPLY):
                answer = json.loads(line[len(REPLY):])
                break
        else:
            self.close()
            raise WorkerDied(f"the worker for {api_id} exited (code {self.process.returncode})")
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return array_from_dict(answer["output"])

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a crashed worker's pipe is broken
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()


WORKERS: dict[str, Worker] = {}


def worker(option: Backend) -> Worker:
    if option.name not in WORKERS or WORKERS[option.name].process.poll() is not None:
        WORKERS[option.name] = Worker(option)
    return WORKERS[option.name]


@atexit.register
def _close_workers() -> None:
    for running in WORKERS.values():
        running.close()
