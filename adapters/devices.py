"""Running an API on another device (``cuda``), and what it computes there.

A device is a framework's to offer: its adapter module has ``placed(device)`` (a context manager
under which its calls run there), ``device_unavailable(device)`` (why it cannot run there, or
``None``) and ``device_numerics(device, case)``. On a GPU, float32 convolutions run on TF32
tensor cores by default from Ampere on (torch's ``cudnn.allow_tf32``, TF's
``tensor_float_32_execution``): inputs rounded to a 10-bit fraction, declared as such
(:func:`~convparity.reference.numerics.tensor_float32`). Modelled from the frameworks'
documentation; no GPU was at hand to measure it.
"""

from __future__ import annotations

import dataclasses
import importlib

from convparity.adapters.api import Api
from convparity.reference.case import Case
from convparity.reference.numerics import Numerics, tensor_float32

DEVICES = ("cpu", "cuda")
TENSOR_CORE_OPS = ("conv", "conv_transpose")
AMPERE = (8, 0)  # the first compute capability with TF32 tensor cores


class DeviceUnavailable(RuntimeError):
    """The device is not there (or the framework cannot use it): the reason is the message."""


def check_device(device: str) -> str:
    if device not in DEVICES:
        raise ValueError(f"device={device!r}: expected one of {', '.join(DEVICES)}")
    return device


def adapter(framework: str):
    from convparity.adapters.registry import ADAPTERS

    return importlib.import_module(ADAPTERS[framework])


def why_unavailable(framework: str, device: str) -> str | None:
    """Why ``framework`` cannot run on ``device`` here, or ``None`` if it can."""
    if check_device(device) == "cpu":
        return None
    module = adapter(framework)
    if not hasattr(module, "placed"):
        return f"{framework} runs on the CPU only"
    return module.device_unavailable(device)


def gpu_numerics(case: Case, *, tf32: bool, capability: tuple[int, int]) -> Numerics | None:
    """What a GPU computes ``case`` in where it differs from the CPU default: float32 convs on
    TF32 tensor cores when the framework allows TF32 (``tf32``) and the GPU has them."""
    if tf32 and capability >= AMPERE and case.op in TENSOR_CORE_OPS:
        if case.dtype.name == "float32":
            return tensor_float32("float32")
    return None


def on_device(api: Api, device: str) -> Api:
    """``api`` running on ``device``, with the numerics it computes in there;
    ``DeviceUnavailable`` (saying why) if it cannot."""
    if check_device(device) == "cpu":
        return api
    reason = why_unavailable(api.framework, device)
    if reason:
        raise DeviceUnavailable(f"{api.id} on {device}: {reason}")
    module = adapter(api.framework)

    def call(case: Case):
        with module.placed(device):
            return api.call(case)

    def numerics(case: Case, machine: dict | None = None) -> Numerics | None:
        return module.device_numerics(device, case)

    return dataclasses.replace(api, name=f"{api.name}@{device}", call=call, numerics=numerics)
