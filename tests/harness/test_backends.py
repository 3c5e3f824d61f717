"""Backends for bisection: the reformulations a backend needs are the same math, an in-process
switch is undone afterwards, and a worker process answers for the registry's APIs."""

import numpy as np
import pytest
from hypothesis import given, settings

from convparity.adapters import backends
from convparity.adapters.registry import get_api, is_installed
from convparity.reference.strategies import conv_cases

needs = {name: pytest.mark.skipif(not is_installed(name), reason=f"{name} is not installed")
         for name in ("torch", "scipy")}


@settings(max_examples=40, deadline=None)
@given(conv_cases(ndim=2, values="integers", dtype="float64", padding_mode="zeros"))
def test_reformulated_cases_compute_the_same(case):
    # integer data: both sides exact in float64, so they are equal, not merely close
    expected = case.expected()
    moved = backends.as_channels_last(case)
    result = moved.expected()
    if case.data_format == "channels_first":
        result = np.moveaxis(result, -1, 1)
    np.testing.assert_array_equal(result, expected)
    plain = backends.undilated(case)
    assert all(d == 1 for d in plain.dilations)
    np.testing.assert_array_equal(plain.expected(), expected)


def test_undilated_inserts_zeros_between_taps():
    from convparity.reference.case import Case

    conv = Case("conv", np.ones((1, 1, 7)), np.array([[[1.0, 2.0, 3.0]]]), dilation=3)
    assert backends.undilated(conv).weight.tolist() == [[[1, 0, 0, 2, 0, 0, 3]]]


@needs["torch"]
def test_an_in_process_switch_is_undone():
    import torch

    from convparity.reference.case import Case

    case = Case("conv", np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4),
                np.ones((1, 1, 2, 2), np.float32))
    verdict = backends.verdict(backends.backend("mkldnn-off"), get_api("torch.nn.Conv2d"), case)
    assert verdict.agrees and "agrees with the oracle with oneDNN disabled" in str(verdict)
    assert torch.backends.mkldnn.enabled


@needs["scipy"]
def test_a_worker_process_runs_registered_apis_with_its_variables():
    from convparity.reference.case import Case

    option = backends.Backend("test-worker", "scipy", "a test worker",
                               variables={"OMP_NUM_THREADS": "1"})
    case = Case("correlate", np.arange(12.0).reshape(3, 4), np.array([[1.0, -1.0]]))
    worker = backends.worker(option)
    np.testing.assert_array_equal(worker.run("scipy.signal.correlate2d", case), case.expected())
    with pytest.raises(RuntimeError, match="api='no.such.api': no adapter offers it"):
        worker.run("no.such.api", case)
    assert backends.worker(option) is worker  # one process, still serving
    worker.close()


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="backend='gpu': expected one of mkldnn-off, amx-off"):
        backends.backend("gpu")


def test_a_worker_backend_computes_in_what_its_variables_make_the_api_compute_in():
    from ml_dtypes import bfloat16

    from convparity.reference.case import Case
    from convparity.reference.numerics import Numerics

    case = Case("conv", np.ones((1, 4, 4, 1), bfloat16), np.ones((1, 2, 2, 1), bfloat16),
                data_format="channels_last")
    api = get_api("tensorflow.nn.conv2d")
    # TF's own kernels (oneDNN off) sum bfloat16 in bfloat16, whatever this process runs
    assert backends.backend("onednn-off").numerics_for(api, case) == Numerics("bfloat16",
                                                                              "bfloat16")
