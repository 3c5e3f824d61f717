"""What a sweep accounts for: cases an API cannot express (with the reason), an API whose limits
cover every draw, the same cases for the same seed wherever it runs, and only real APIs in the
session's reports."""

import dataclasses

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase

from convparity.adapters import parity
from convparity.adapters.registry import get_api, is_installed

pytestmark = pytest.mark.skipif(not is_installed("scipy"), reason="scipy is not installed")
HALF = "scipy.signal.correlate2d rejects float16 and bfloat16 input"


def test_a_case_the_api_cannot_express_is_counted_with_its_reason():
    api = get_api("scipy.signal.correlate2d")
    result = parity.sweep(api, max_examples=30, seed=1,
                          dtype=st.sampled_from(["float32", "float16"]))
    assert result.status == parity.AGREE
    assert result.counts[parity.UNSUPPORTED] > 0
    assert list(result.reasons) == [result.reasons.most_common(1)[0][0]]
    assert next(iter(result.reasons)).startswith(HALF)


def test_an_api_whose_limits_cover_every_draw_is_not_supported():
    api = get_api("scipy.signal.correlate2d")
    result = parity.sweep(api, max_examples=10, seed=1, dtype="float16")  # no Unsatisfiable
    assert result.status == parity.UNSUPPORTED and result.all_unsupported
    assert not result.failure and result.counts[parity.AGREE] == 0
    assert next(iter(result.reasons)).startswith(HALF)


class UntouchableDatabase(ExampleDatabase):
    """An example database a sweep must never read or write."""

    def save(self, key, value):
        raise AssertionError("a sweep wrote to the example database")

    def fetch(self, key):
        raise AssertionError("a sweep read the example database")

    def delete(self, key, value):
        raise AssertionError("a sweep deleted from the example database")


@pytest.fixture
def untouchable_database():
    before = settings._current_profile
    settings.register_profile("untouchable-database", parent=settings(),
                              database=UntouchableDatabase(), derandomize=False)
    settings.load_profile("untouchable-database")
    yield
    settings.load_profile(before)


def drawn_cases(api, tmp_path, monkeypatch, where: str, seed: int) -> list[str]:
    cases = []

    def call(case):
        cases.append(case.call_repr())
        return api.call(case)

    monkeypatch.chdir(tmp_path.joinpath(where))
    parity.sweep(dataclasses.replace(api, call=call, mutation="records its cases"),
                 max_examples=15, seed=seed)
    return cases


def test_a_seed_draws_the_same_cases_in_any_directory(untouchable_database, tmp_path,
                                                      monkeypatch):
    api = get_api("scipy.signal.convolve2d")
    for where in ("a", "b"):
        tmp_path.joinpath(where).mkdir()
    first = drawn_cases(api, tmp_path, monkeypatch, "a", seed=5)
    assert drawn_cases(api, tmp_path, monkeypatch, "b", seed=5) == first
    assert drawn_cases(api, tmp_path, monkeypatch, "b", seed=6) != first


def test_the_session_report_holds_only_real_apis():
    api = get_api("scipy.signal.convolve2d")
    before = len(parity.SESSION_SWEEPS)
    parity.sweep(parity.broken(api, "negated", lambda case, y, call: -y), max_examples=5,
                 raise_on_failure=False)
    assert len(parity.SESSION_SWEEPS) == before
    parity.sweep(api, max_examples=5)
    assert parity.SESSION_SWEEPS[-1].api is api


def test_verdicts_per_dtype_show_which_precision_fails():
    from convparity.adapters import report

    api = get_api("scipy.signal.correlate2d")

    def wrong_in_float32(case, y, call):
        return -y if y.dtype == "float32" else y

    result = parity.sweep(parity.broken(api, "negated float32", wrong_in_float32),
                          max_examples=40, seed=3, raise_on_failure=False,
                          dtype=st.sampled_from(["float64", "float32"]), values="normal")
    assert result.status == parity.FAIL
    assert result.dtype_status("float32") == parity.FAIL
    assert result.dtype_status("float64") == parity.AGREE
    row = report.row(result)["by_dtype"]
    assert row["float32"]["status"] == "fail" and row["float64"]["status"] == "agree"
    assert report.per_dtype(report.row(result)).startswith("float32 ") and "float64 agree" in \
        report.per_dtype(report.row(result))
