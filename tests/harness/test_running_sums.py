"""Box filters as average pools: what their running sums compute instead of each window's own
sum (convparity.adapters.running_sums), worked by hand and checked against the libraries."""

import numpy as np
import pytest

from convparity.adapters.divergences import RULES
from convparity.adapters.registry import get_api
from convparity.reference.case import Case
from convparity.reference.compare import compare
from convparity.reference.testing import check_against_reference


def accepted(rule: str, case: Case, actual) -> bool:
    answer = RULES[rule](case)
    return not compare(actual, answer.values, answer.bound, case.dtype).mismatched.any()


def test_scipy_loses_a_window_to_cancellation():
    # [1e17, 1, 1, 1], kernel 2, one zero of padding after: t = 1e17 + 1 = 1e17 (the 1 is lost),
    # out 5e16; t = 1e17 + (1 - 1e17) = 0; t = 0 + (1 - 1) = 0; t = 0 + (0 - 1) = -1, out -0.5.
    # The windows' means are [5e16, 1, 1, 0.5].
    pytest.importorskip("scipy")
    case = Case("avg_pool", np.array([[[1e17, 1, 1, 1]]]), kernel_size=2, stride=1,
                padding=[(0, 1)])
    actual = get_api("scipy.ndimage.uniform_filter[1d]").run(case)
    np.testing.assert_array_equal(actual[0, 0], [5e16, 0, 0, -0.5])
    assert not check_against_reference(actual, case).ok
    assert accepted("scipy_running_sum", case, actual)  # within what its sum has seen
    assert not accepted("scipy_running_sum", case, actual + 1e3)  # yet not anything


@pytest.mark.parametrize("api_id, rule", [("cv2.blur[2d]", "opencv_running_sum"),
                                          ("cv2.boxFilter[2d]", "opencv_running_sum")])
def test_opencv_poisons_the_column_below_an_infinity(api_id, rule):
    # a 1x1 blur down the column [inf, 0, 0, 0]: s = 0 + inf, out inf; SUM = inf - inf = NaN,
    # and NaN from then on. Each window's own mean is [inf, 0, 0, 0].
    pytest.importorskip("cv2")
    case = Case("avg_pool", np.array([[[[np.inf], [0], [0], [0]]]], np.float32), kernel_size=1)
    actual = get_api(api_id).run(case)
    np.testing.assert_array_equal(actual.ravel(), [np.inf, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(case.expected().ravel(), [np.inf, 0, 0, 0])
    assert accepted(rule, case, actual)


@pytest.mark.parametrize("api_id, rule", [
    ("cv2.blur[2d]", "opencv_running_sum"),
    ("scipy.ndimage.uniform_filter[1d]", "scipy_running_sum"),
    ("scipy.ndimage.uniform_filter[2d]", "scipy_running_sum"),
    ("scipy.ndimage.uniform_filter[3d]", "scipy_running_sum"),
])
def test_the_running_sum_answer_holds_on_random_hard_cases(api_id, rule):
    """NaN/±inf and values spanning 1e-3 to 1e12 with both signs: every output is what the rule
    says (poisoned where it says, within its bound elsewhere)."""
    api = get_api(api_id)
    pytest.importorskip(api.framework)
    rng = np.random.default_rng(3)
    pool = rng.choice(np.array([np.nan, np.inf, -np.inf, 0.0, 1e12, -1e12, 7.0, -3.0, 1e-3]),
                      p=[0.02, 0.02, 0.02, 0.14, 0.2, 0.2, 0.1, 0.1, 0.2], size=10_000)
    for trial in range(60):
        dtype = ("float32", "float64")[trial % 2]
        shape = (1, 2, *rng.integers(1, 8, api.ndim))
        x = rng.choice(pool, size=shape).astype(dtype)
        kernel = tuple(int(k) for k in rng.integers(1, 5, api.ndim))
        x = np.pad(x, [(0, 0), (0, 0)] + [(0, max(0, k - n)) for k, n in zip(kernel, shape[2:])])
        case = Case("avg_pool", x, kernel_size=kernel, stride=tuple(rng.integers(1, 3, api.ndim)),
                    padding=int(rng.integers(0, 2)) * (min(kernel) // 2))
        assert accepted(rule, case, api.run(case)), case.call_repr()
