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
from convparity.reference.diagnose import matching_convention, matching_numerics
from convparity.reference.numerics import Numerics, as_numerics
from convparity.reference.tolerance import expectation

SOURCE_LIMIT = 20_000  # characters of a case's source printed in a failure report


def check_against_reference(actual, case: Case, *, numerics: Numerics | None = None,
                            dtype=None) -> Comparison:
    """The comparison of ``actual`` with the oracle's answer for ``case`` within the bound for
    an implementation with ``numerics`` (default: float32 accumulation for float16/bfloat16,
    the dtype itself for float32/float64; ``dtype`` alone: that output dtype, its default
    accumulator)."""
    numerics = as_numerics(numerics if numerics is not None else dtype, case.dtype)
    return compare(actual, *expectation(case, numerics), numerics.storage)


def failure_report(comparison: Comparison, case: Case, *, what: str = "the result",
                   rerun: str | None = None, numerics: Numerics | None = None) -> str:
    """The case as one line, shapes and dtype, the mismatch summary, the convention or the
    numerics the result matches instead (if any), and a script that reproduces it."""
    lines = [
        f"{what} disagrees with the oracle for",
        f"  {case.call_repr()}",
        f"  output shape {comparison.expected.shape}, dtype {comparison.dtype.name}",
        *("  " + line for line in comparison.summary().splitlines()),
    ]
    convention = matching_convention(comparison.actual, case)
    if convention:
        lines.append(f"  {what} matches the oracle with {convention}.")
    else:
        found = matching_numerics(comparison.actual, case, numerics)
        if found:
            lines.append(f"  {what} matches an implementation {found}.")
    rerun = rerun or "actual = ...  # your implementation's output for `case`"
    source = case.to_source()
    too_large = (f"...  # {len(source):,} characters of arrays: too many to print "
                 f"(`convparity run` saves the case as JSON for `convparity repro`)")
    lines += [
        "Reproduce with:",
        "    import numpy as np, ml_dtypes",
        "    from convparity.reference.case import Case",
        "    from convparity.reference.testing import assert_matches_reference",
        f"    case = {source if len(source) <= SOURCE_LIMIT else too_large}",
        f"    {rerun}",
        "    assert_matches_reference(actual, case)",
    ]
    return "\n".join(lines)


def assert_matches_reference(actual, case: Case, *, numerics: Numerics | None = None,
                             dtype=None, what: str = "the result",
                             rerun: str | None = None) -> None:
    """Assert ``actual`` (any array-like: NumPy, torch, TF) equals the oracle's answer for
    ``case`` within the derived rounding-error bound for ``numerics`` (see
    :func:`check_against_reference`); shape is checked first."""
    __tracebackhide__ = True
    actual = np.asarray(actual)
    comparison = check_against_reference(actual, case, numerics=numerics, dtype=dtype)
    if not comparison.ok:
        raise AssertionError(failure_report(comparison, case, what=what, rerun=rerun,
                                            numerics=numerics))


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
