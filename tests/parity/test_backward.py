"""Every framework's backward pass against the oracle's gradients: each API with a backward
(torch's F.* and nn.* today) swept with drawn cotangents, and broken backward passes caught."""

import dataclasses
import warnings

import numpy as np
import pytest
from hypothesis import settings

from convparity.adapters import parity
from convparity.adapters.registry import all_apis, get_api, is_installed

APIS = [api for api in all_apis() if api.backward is not None]


@pytest.mark.parametrize("api", APIS, ids=[api.id for api in APIS])
def test_gradients_agree_with_the_oracle(api):
    if not is_installed(api.framework):
        pytest.skip(f"{api.framework} is not installed")
    result = parity.sweep(api, max_examples=max(10, settings().max_examples // 3),
                          backward=True)
    assert result.status != parity.FAIL


def broken_backward(api_id: str, name: str, mutate):
    """The API with its backward pass post-processed by ``mutate(case, gradients)``."""
    api = get_api(api_id)

    def backward(case, cotangent):
        return mutate(case, cotangent, api.backward(case, cotangent))

    return dataclasses.replace(api, name=f"{api.name}<{name}>", backward=backward, mutation=name)


def weight_kernel_flipped(case, cotangent, found):
    axes = tuple(range(-case.ndim, 0))
    return {**found, "weight": np.flip(found["weight"], axes).copy()}


def ties_to_the_last(case, cotangent, found):
    """Max pooling's gradient sent to the last maximum of each window instead of the first:
    the mirror image of the first maximum of the reversed window (1-D, stride = kernel)."""
    x = case.input.astype(float)
    k = case.kernel[0]
    y = case.expected()
    g = np.zeros(x.shape)
    for n, c, i in np.ndindex(*y.shape):
        window = x[n, c, i * k:(i + 1) * k]
        if np.isnan(window).any():
            return found
        last = i * k + k - 1 - int(np.argmax(window[::-1]))
        g[n, c, last] += cotangent[n, c, i]
    return {**found, "input": g.astype(found["input"].dtype)}


def count_include_pad_ignored(case, cotangent, found):
    """The average's gradient divided as if count_include_pad were the other way."""
    from convparity.reference import backward

    flipped = case.replace(count_include_pad=not case.count_include_pad)
    gradient, = backward.gradients(flipped, cotangent)
    return {**found, "input": gradient.exact().astype(found["input"].dtype)}


BROKEN = [
    ("torch.nn.functional.conv2d", "weight_kernel_flipped", weight_kernel_flipped, {}),
    ("torch.nn.functional.max_pool1d", "ties_to_the_last", ties_to_the_last,
     {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
      "data_format": "channels_first", "values": "integers"}),
    ("torch.nn.functional.avg_pool2d", "count_include_pad_ignored", count_include_pad_ignored,
     {}),
]


@pytest.mark.parametrize("api_id, name, mutate, draws", BROKEN,
                         ids=[f"{a}<{n}>" for a, n, _, _ in BROKEN])
def test_a_broken_backward_pass_is_caught(api_id, name, mutate, draws):
    api = broken_backward(api_id, name, mutate)
    if not is_installed(api.framework):
        pytest.skip(f"{api.framework} is not installed")
    result = parity.sweep(api, max_examples=100, derandomize=True, raise_on_failure=False,
                          backward=True, **draws)
    assert result.failure, f"{name} went unnoticed over {dict(result.counts)}"
    assert "gradient disagrees with the oracle's" in result.failure


BACKWARD_LIMITS = [(api, limit) for api in APIS for limit in api.backward_limits]


@pytest.mark.parametrize("api, limit", BACKWARD_LIMITS,
                         ids=[f"{api.id}: {limit.reason[:40]}" for api, limit in BACKWARD_LIMITS])
def test_a_backward_limit_is_real(api, limit):
    # a case the limit covers (and the forward pass can run) makes the backward pass raise
    # what the limit says
    from hypothesis import HealthCheck, find

    from convparity.reference.strategies import with_cotangent

    if not is_installed(api.framework):
        pytest.skip(f"{api.framework} is not installed")
    case, cotangent = find(
        with_cotangent(api.reaching(limit)),
        lambda example: limit.applies(example[0]) and not api.why_not(example[0]),
        settings=settings(max_examples=2000, database=None,
                          suppress_health_check=list(HealthCheck)))
    with pytest.raises(Exception) as raised, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. TF's note on dilation with strides
        api.backward(case, cotangent)
    assert limit.raises.matches(raised.value), raised.value
