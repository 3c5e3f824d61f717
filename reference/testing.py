"""Assertion helpers for anyone's test suite: compare an output with the oracle's answer within
the derived bound, and fail with a report a person can act on.

    @given(conv_cases(ndim=2, padding=0, groups=1))
    def test_my_conv(case):
        assert_matches_reference(my_conv2d(case.input, case.weight, case.stride), case)
"""

from __future__ import annotations

import numpy as np

from convparity.reference.case import Case
from convparity.reference.compare import Comparison, compare
from convparity.reference.diagnose import matching_convention
from convparity.reference.tolerance import error_bound


def check_against_reference(actual, case: Case, *, dtype=None) -> Comparison:
    """The comparison of ``actual`` with ``case.expected()`` within ``error_bound(case)``;
    ``dtype`` is the precision the implementation computed in (default: the case's)."""
    dtype = case.dtype if dtype is None else np.dtype(dtype)
    return compare(actual, case.expected(), error_bound(case, dtype), dtype)


def failure_report(comparison: Comparison, case: Case, *, what: str = "the result",
                   rerun: str | None = None) -> str:
    """The case as one line, shapes and dtype, the mismatch summary, the convention the result
    matches instead (if any), and a script that reproduces it."""
    lines = [
        f"{what} disagrees with the oracle for",
        f"  {case.call_repr()}",
        f"  output shape {comparison.expected.shape}, dtype {comparison.dtype.name}",
        *("  " + line for line in comparison.summary().splitlines()),
    ]
    convention = matching_convention(comparison.actual, case)
    if convention:
        lines.append(f"  {what} matches the oracle with {convention}.")
    rerun = rerun or "actual = ...  # your implementation's output for `case`"
    lines += [
        "Reproduce with:",
        "    import numpy as np, ml_dtypes",
        "    from convparity.reference.case import Case",
        "    from convparity.reference.testing import assert_matches_reference",
        f"    case = {case.to_source()}",
        f"    {rerun}",
        "    assert_matches_reference(actual, case)",
    ]
    return "\n".join(lines)


def assert_matches_reference(actual, case: Case, *, dtype=None, what: str = "the result",
                             rerun: str | None = None) -> None:
    """Assert ``actual`` (any array-like: NumPy, torch, TF) equals the oracle's answer for
    ``case`` within the derived rounding-error bound; shape is checked first."""
    __tracebackhide__ = True
    actual = np.asarray(actual)
    comparison = check_against_reference(actual, case, dtype=dtype)
    if not comparison.ok:
        raise AssertionError(failure_report(comparison, case, what=what, rerun=rerun))


def assert_close(actual, expected, *, bound, dtype=None) -> None:
    """Lower level: ``|actual - expected| <= bound`` elementwise (NaN meets NaN), for users who
    bring their own expected values and bound; reports the worst element."""
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual)
    dtype = np.dtype(dtype) if dtype is not None else (
        actual.dtype if actual.dtype.kind == "f" else np.dtype(np.float64))
    comparison = compare(actual, expected, np.asarray(bound, dtype=np.float64), dtype)
    if not comparison.ok:
        raise AssertionError(comparison.summary())
