"""Which frameworks are installed, and every API their adapters offer.

Finding a framework does not import it (``importlib.util.find_spec``); its adapter module imports
it on the first call, once.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util

from convparity.adapters.api import Api
from convparity.adapters.versions import installed_version

# framework import name -> adapter module
ADAPTERS = {
    "torch": "convparity.adapters.torch_api",
    "tensorflow": "convparity.adapters.tensorflow_api",
    "scipy": "convparity.adapters.scipy_api",
    "jax": "convparity.adapters.jax_api",
    "onnxruntime": "convparity.adapters.onnxruntime_api",
    "onnx": "convparity.adapters.onnx_api",
    "cv2": "convparity.adapters.opencv_api",
}


def is_installed(framework: str) -> bool:
    return importlib.util.find_spec(framework) is not None


def installed_frameworks() -> dict[str, str]:
    """``{framework: version}`` for every framework with an adapter that is installed."""
    return {name: installed_version(name) or "?" for name in ADAPTERS if is_installed(name)}


@functools.cache
def framework_apis(framework: str) -> tuple[Api, ...]:
    if framework not in ADAPTERS:
        raise ValueError(f"framework={framework!r}: expected one of {', '.join(ADAPTERS)}")
    return tuple(importlib.import_module(ADAPTERS[framework]).apis())


def all_apis(frameworks=None) -> list[Api]:
    """Every API of ``frameworks`` (default: all with an adapter, installed or not)."""
    return [api for fw in (frameworks or ADAPTERS) for api in framework_apis(fw)]


def get_api(api_id: str) -> Api:
    for api in all_apis():
        if api.id == api_id:
            return api
    raise ValueError(f"api={api_id!r}: no adapter offers it")
