"""oneDNN's bf16 fpmath mode, run for real in a worker with the variable set: float32 convs agree
with the oracle under the numerics declared for that environment; where AMX runs them (the
machine decides) they are off by bfloat16 input rounding, and the diagnosis says so."""

import numpy as np
import pytest

from convparity.adapters import backends, environment
from convparity.adapters.registry import get_api, is_installed
from convparity.reference.case import Case
from convparity.reference.testing import check_against_reference, failure_report


def layer(data_format: str) -> Case:
    """A 3x3 conv over 64 channels at batch 16 (torch's oneDNN path; batch 1 takes its GEMM)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 64, 6, 6)).astype(np.float32)
    if data_format == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    w = rng.standard_normal((32, 64, 3, 3)).astype(np.float32)
    return Case("conv", x, w, padding=1, data_format=data_format)


@pytest.mark.parametrize("name, api_id, data_format", [
    ("torch-bf16-fpmath", "torch.nn.functional.conv2d", "channels_first"),
    ("tf-bf16-fpmath", "tensorflow.nn.conv2d", "channels_last"),
])
def test_the_bf16_fpmath_mode_computes_what_is_declared(name, api_id, data_format):
    option = backends.backend(name)
    if not is_installed(option.framework):
        pytest.skip(f"{option.framework} is not installed")
    api, case = get_api(api_id), layer(data_format)
    actual = backends.run_under(option, api, case)
    declared = option.numerics_for(api, case)
    assert check_against_reference(actual, case, numerics=declared).ok
    as_float32 = check_against_reference(actual, case)
    where = environment.with_variables(option.variables)
    if environment.derive_facts(where)["onednn_amx"]:
        assert declared.inputs == "bfloat16"
        assert not as_float32.ok
        assert "matches an implementation accumulating in float32 on inputs rounded to " \
               "bfloat16" in failure_report(as_float32, case)
    else:
        assert declared.inputs is None and as_float32.ok
