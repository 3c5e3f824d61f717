"""Meta-tests: the strategies reach every hard cell, and draw only valid cases.

Each cell is a predicate over drawn cases; ``find`` must produce a case satisfying it within the
default search budget, so a strategy change that stops reaching a cell fails here.
"""

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from convparity.reference.layers import LAYERS
from convparity.reference.strategies import (
    conv_cases,
    conv_transpose_cases,
    layer_cases,
    pool_cases,
    signal_cases,
)
from convparity.reference.tolerance import products_reaching


def is_integer_valued(case):
    return bool(np.all(case.input.astype(float) == np.round(case.input.astype(float))))


CONV_CELLS = {
    "padding > 0": lambda c: any(max(p) > 0 for p in c.pads),
    "stride > 1": lambda c: max(c.strides) > 1,
    "dilation > 1": lambda c: max(c.dilations) > 1,
    "non-square input": lambda c: len(set(c.spatial_size)) > 1,
    "non-square kernel": lambda c: len(set(c.kernel)) > 1,
    "even kernel": lambda c: any(k % 2 == 0 for k in c.kernel),
    "same with stride > 1": lambda c: c.padding == "same" and max(c.strides) > 1,
    "asymmetric pads": lambda c: any(lo != hi for lo, hi in c.pads),
    "several channels per group": lambda c: c.groups > 1 and c.weight.shape[1] > 1,
    "depthwise": lambda c: c.groups > 1 and c.weight.shape[1] == 1,
    "channels_last": lambda c: c.data_format == "channels_last",
    "float16": lambda c: c.dtype.name == "float16",
    "bfloat16": lambda c: c.dtype.name == "bfloat16",
    "float32": lambda c: c.dtype.name == "float32",
    "float64": lambda c: c.dtype.name == "float64",
    "integer-valued data": is_integer_valued,
    "real-valued data": lambda c: not is_integer_valued(c),
    "bias": lambda c: c.bias is not None,
}
POOL_CELLS = {
    "ceil-mode edge window": lambda c: c.ceil_mode and _overhangs(c),
    "NaN": lambda c: bool(np.isnan(c.input.astype(float)).any()),
    "inf": lambda c: bool(np.isinf(c.input.astype(float)).any()),
    "padding beyond half the kernel": lambda c: any(
        max(p) > k // 2 for p, k in zip(c.pads, c.kernel)),
    "stride defaulting to the kernel": lambda c: c.stride is None,
    "dilation > 1": lambda c: max(c.dilations) > 1,
}
TRANSPOSE_CELLS = {
    "output_padding > 0": lambda c: c.padding != "same"
    and max(np.atleast_1d(c.output_padding)) > 0,
    "same": lambda c: c.padding == "same",
    "asymmetric crop": lambda c: any(lo != hi for lo, hi in c.pads),
    "several channels per group": lambda c: c.groups > 1 and c.weight.shape[0] // c.groups > 1,
}
SIGNAL_CELLS = {
    f"{mode}/{boundary}": (lambda c, m=mode, b=boundary: c.mode == m and c.boundary == b)
    for mode in ("full", "valid", "same") for boundary in ("fill", "wrap", "symm")
} | {"valid with the kernel larger": lambda c: c.mode == "valid" and c.weight.size > c.input.size}


def _overhangs(case):
    """The last window of some dim reaches past the padding."""
    out = case.expected().shape[2:] if case.data_format == "channels_first" \
        else case.expected().shape[1:-1]
    return any((m - 1) * s + d * (k - 1) + 1 > n + lo + hi for m, s, d, k, n, (lo, hi) in zip(
        out, case.strides, case.dilations, case.kernel, case.spatial_size, case.pads))


SEARCH = settings(max_examples=2000, database=None)


@pytest.mark.parametrize("cell", CONV_CELLS)
def test_conv_cases_reach(cell):
    find(conv_cases(st.integers(1, 3)), CONV_CELLS[cell], settings=SEARCH)


@pytest.mark.parametrize("cell", POOL_CELLS)
def test_pool_cases_reach(cell):
    find(pool_cases(st.integers(1, 3), "max"), POOL_CELLS[cell], settings=SEARCH)


@pytest.mark.parametrize("cell", TRANSPOSE_CELLS)
def test_conv_transpose_cases_reach(cell):
    find(conv_transpose_cases(st.integers(1, 3)), TRANSPOSE_CELLS[cell], settings=SEARCH)


@pytest.mark.parametrize("cell", SIGNAL_CELLS)
def test_signal_cases_reach(cell):
    find(signal_cases(), SIGNAL_CELLS[cell], settings=SEARCH)


def test_examples_shrink_to_the_simplest_case():
    simplest = find(conv_cases(), lambda c: True)
    assert simplest.groups == 1 and simplest.input.shape[1] == 1
    assert simplest.strides == (1, 1) and simplest.pads == ((0, 0), (0, 0))
    assert simplest.dtype.name == "float32" and simplest.data_format == "channels_first"
    assert is_integer_valued(simplest)


def test_fixed_values_and_strategies_are_both_accepted():
    case = find(conv_cases(2, stride=2, groups=st.just(2), kernel_size=(1, 3)), lambda c: True)
    assert case.strides == (2, 2) and case.groups == 2 and case.kernel == (1, 3)


@given(st.one_of(conv_cases(st.integers(1, 3)), conv_transpose_cases(st.integers(1, 3)),
                 pool_cases(st.integers(1, 3), st.sampled_from(["max", "avg"])), signal_cases()))
def test_every_drawn_case_is_valid(case):
    case.expected()  # raises for an invalid configuration


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
@settings(max_examples=3, database=None, deadline=None)
@given(data=st.data())
def test_layer_cases_keep_the_real_accumulation_length(layer, data):
    """Real channels and kernel; the image shrunk only so far that some output sees every tap."""
    case = data.draw(layer_cases([layer.name], bias=False))
    channels = case.input.shape[-1 if case.data_format == "channels_last" else 1]
    assert channels == layer.channels and tuple(case.kernel) == (layer.kernel,) * layer.ndim
    if layer.op in ("conv", "conv_transpose"):
        per_output = layer.products if layer.op == "conv" else layer.channels * (
            layer.kernel // layer.fields.get("stride", 1)) ** layer.ndim
        assert products_reaching(case).max() == per_output


@pytest.mark.parametrize("build, message", [
    (lambda: conv_cases(stride=0), r"stride=0: every entry must be >= 1"),
    (lambda: conv_cases(ndim=4), r"ndim=4: expected 1, 2 or 3"),
    (lambda: conv_cases(4), r"ndim=4: expected 1, 2 or 3"),
    (lambda: conv_transpose_cases(2, output_padding=-1), r"output_padding=-1"),
    (lambda: pool_cases(2, "max", kernel_size=(2, 2, 2)), r"kernel_size=\(2, 2, 2\) has 3"),
    (lambda: conv_cases(dtype="int8"), r"dtype='int8': expected one of"),
    (lambda: conv_cases(groups=0), r"groups=0: expected a positive int"),
])
def test_impossible_arguments_fail_when_the_strategy_is_built(build, message):
    from hypothesis.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match=message):
        build()  # built, never drawn from
