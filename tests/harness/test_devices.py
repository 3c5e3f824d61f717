"""Devices: TF32 declared where a GPU runs float32 convs on tensor cores, and a device that is
not there skipped with the reason (this machine has no GPU; a machine with one runs it)."""

import numpy as np
import pytest

from convparity.adapters import devices
from convparity.adapters.cli import main
from convparity.adapters.registry import get_api, is_installed
from convparity.reference.case import Case
from convparity.reference.numerics import Numerics, tensor_float32


def case(op="conv", dtype=np.float32):
    x = np.ones((1, 1, 4, 4), dtype)
    if op == "max_pool":
        return Case(op, x, kernel_size=2)
    return Case(op, x, np.ones((1, 1, 2, 2), dtype))


def test_float32_convs_on_tensor_cores_round_their_inputs_to_tfloat32():
    ampere, volta = (8, 0), (7, 0)
    assert devices.gpu_numerics(case(), tf32=True, capability=ampere) == tensor_float32("float32")
    assert devices.gpu_numerics(case("conv_transpose"), tf32=True, capability=(9, 0)) == \
        Numerics("float32", "float32", inputs="tfloat32")
    assert devices.gpu_numerics(case(), tf32=False, capability=ampere) is None
    assert devices.gpu_numerics(case(), tf32=True, capability=volta) is None
    assert devices.gpu_numerics(case("max_pool"), tf32=True, capability=ampere) is None
    assert devices.gpu_numerics(case(dtype=np.float64), tf32=True, capability=ampere) is None


def test_an_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device='tpu': expected one of cpu, cuda"):
        devices.why_unavailable("torch", "tpu")


def test_the_cpu_is_the_api_itself():
    api = get_api("scipy.signal.correlate2d")
    assert devices.on_device(api, "cpu") is api
    assert devices.why_unavailable("scipy", "cuda") == "scipy runs on the CPU only"


@pytest.mark.skipif(not is_installed("torch"), reason="torch is not installed")
def test_cuda_without_a_gpu_says_why(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(devices.DeviceUnavailable,
                       match=r"torch.nn.functional.conv2d on cuda: no CUDA device: "
                             r"torch.cuda.is_available\(\) is False"):
        devices.on_device(get_api("torch.nn.functional.conv2d"), "cuda")
    assert main(["run", "--frameworks", "torch,scipy", "--ops", "conv", "--device", "cuda",
                 "--examples", "2"]) == 0
    printed = capsys.readouterr().out
    assert "skipped torch on cuda: no CUDA device" in printed
    assert "skipped scipy on cuda: scipy runs on the CPU only" in printed
