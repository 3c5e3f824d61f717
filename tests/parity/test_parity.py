"""Every framework API against the oracle, on Hypothesis-drawn cases it can express.

A case ends as agree, a registered divergence (the API must really differ there: an entry that
never does is stale and fails), or a failure with a full report. Frameworks that are not
installed are skipped with the reason; a broken install fails.
"""

import pytest

from convparity.adapters import parity
from convparity.adapters.pytest_plugin import skip_unless_runnable
from convparity.adapters.registry import all_apis

APIS = all_apis()


@pytest.mark.parametrize("api", APIS, ids=[api.id for api in APIS])
def test_api_agrees_with_the_oracle(api, pytestconfig):
    skip_unless_runnable(pytestconfig, api)
    result = parity.sweep(api, max_examples=pytestconfig.getoption("parity_examples"))
    assert result.counts[parity.AGREE] + result.counts[parity.DIVERGENCE] > 0
