"""Real layers (the layer zoo: real channel counts, so real accumulation lengths) through every
API that computes them: exact integer data (the answer rounded once, zero tolerance) and
real-valued data, in every dtype. A few per API here; the thorough profile draws more."""

import pytest
from hypothesis import settings

from convparity.adapters import parity
from convparity.adapters.pytest_plugin import skip_unless_runnable
from convparity.adapters.registry import all_apis
from convparity.reference.layers import LAYERS
from convparity.reference.strategies import layer_cases

APIS = [api for api in all_apis()
        if any(layer.op == api.op and layer.ndim == api.ndim for layer in LAYERS)]


@pytest.mark.parametrize("values", ["integers", "normal"])
@pytest.mark.parametrize("api", APIS, ids=[api.id for api in APIS])
def test_real_layers_agree_with_the_oracle(api, values, pytestconfig):
    skip_unless_runnable(pytestconfig, api)
    names = [layer.name for layer in LAYERS if layer.op == api.op and layer.ndim == api.ndim]
    examples = max(4, settings().max_examples // 25)
    result = parity.sweep(api, max_examples=examples, cases=layer_cases(names, values=values))
    assert result.status != parity.FAIL
