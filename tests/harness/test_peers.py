"""An error beside a peer framework's on the same case (no worse than k times eager): the ratio's
conventions, a doubled error measured as double, and the per-dtype report that shows it."""

import numpy as np
import pytest
from hypothesis import strategies as st

from convparity.adapters import parity, peers, report
from convparity.adapters.registry import get_api, is_installed
from convparity.reference.case import Case
from convparity.reference.testing import check_against_reference

needs_torch = pytest.mark.skipif(not is_installed("torch"), reason="torch is not installed")


def test_the_ratio_of_errors():
    assert peers.error_ratio(0.0, 0.0) == 1.0  # both exact
    assert peers.error_ratio(1e-7, 0.0) == float("inf")
    assert peers.error_ratio(3e-7, 1e-7) == pytest.approx(3.0)
    expected = np.array([1.0, np.nan, 2.0])
    assert peers.peer_error(np.array([1.5, np.nan, 2.0]), expected) == 0.5
    assert peers.peer_error(np.array([1.0, 0.0, 2.0]), expected) == float("inf")


def conv_case(seed: int = 0) -> Case:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 16, 6, 6)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(np.float32)
    return Case("conv", x, w, padding=1)


@needs_torch
def test_an_error_twice_the_peers_is_measured_as_twice():
    case = conv_case()
    y = case.expected()
    theirs = np.asarray(get_api("torch.nn.functional.conv2d").run(case), dtype=np.float64)
    assert peers.peer_error(theirs, y) > 0  # float32 sums do round
    doubled = y + 2 * (theirs - y)  # float64: as exact as the comparison can see
    module = get_api("torch.nn.Conv2d")  # its peer in torch is the functional form
    ratio = peers.relative_error(check_against_reference(doubled, case, dtype="float64"),
                                 module, case, "torch")
    assert ratio == pytest.approx(2.0, rel=1e-6)
    assert peers.peer_api("torch", case).id == "torch.nn.functional.conv2d"


@needs_torch
@pytest.mark.skipif(not is_installed("tensorflow"), reason="tensorflow is not installed")
def test_a_sweep_reports_each_dtype_relative_to_the_peer():
    result = parity.sweep(get_api("tensorflow.nn.conv2d"), max_examples=12, seed=1, peer="torch",
                          dtype=st.sampled_from(["float32"]), values="normal")
    stats = result.stats_by_dtype["float32"]
    assert stats.worst_relative is not None and stats.worst_relative > 0
    assert 0 < stats.correctly_rounded <= stats.elements
    assert "x torch" in report.per_dtype(report.row(result))
    row = report.row(result)
    assert row["relative_to"] == "torch"
    assert row["by_dtype"]["float32"]["worst_error_over_peer"] == stats.worst_relative
    # an API is never its own peer
    assert parity.sweep(get_api("torch.nn.Conv2d"), max_examples=3, seed=1,
                        peer="torch").peer is None
