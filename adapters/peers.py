"""An API's error beside a peer framework's on the same case, as torch Inductor's and
FlashAttention's tests judge a kernel: no worse than k times the eager reference's error.

    relative = max|y_api - y| / max|y_peer - y|    (y: the oracle's exact answer; 0/0 = 1)

A bound derived from a rounding-error model is sound for any summation order, so it is loose by
design; the peer's error is what a good implementation actually achieves in that dtype.
"""

from __future__ import annotations

import warnings

import numpy as np

from convparity.adapters.api import Api
from convparity.reference.case import Case
from convparity.reference.compare import Comparison, compare


def peer_api(framework: str, case: Case) -> Api | None:
    """The first of ``framework``'s APIs (its functional form comes first) that computes
    ``case``'s op and rank and can express the case; ``None`` if none can."""
    from convparity.adapters.registry import framework_apis

    for api in framework_apis(framework):
        if api.op == case.op and api.ndim == case.ndim and not api.why_not(case):
            return api
    return None


def relative_error(comparison: Comparison, api: Api, case: Case, framework: str) -> float | None:
    """The worst error in ``comparison`` over the worst error of ``framework``'s peer API on the
    same case; ``None`` when no peer API expresses it or the peer raises."""
    peer = peer_api(framework, case)
    if peer is None or peer.id == api.id:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = np.asarray(peer.run(case), dtype=np.float64)
    except Exception:  # the peer's own limit or bug: no yardstick for this case
        return None
    if theirs.shape != comparison.expected.shape:
        return None
    return error_ratio(comparison.max_error, peer_error(theirs, comparison.expected))


def peer_error(values: np.ndarray, expected: np.ndarray) -> float:
    """The worst ``|values - expected|``, NaN meeting NaN counting as no error."""
    return compare(values, expected, np.zeros(expected.shape), np.float64).max_error


def error_ratio(ours: float, theirs: float) -> float:
    """``ours / theirs``, with 0/0 = 1 (both exact) and x/0 = inf."""
    if theirs == 0:
        return 1.0 if ours == 0 else float("inf")
    return ours / theirs
