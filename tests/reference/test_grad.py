"""The oracle's gradients, proven four ways: adjointness (<op(x), g> = <x, op_input(g)> =
<w, op_weight(x, g)>, exact on integer data), a brute-force gradient (the element-at-a-time
oracle on unit inputs), a float64 finite-difference check of the nonlinear pools (JAX's
check_grads style), and hand-computed goldens; ties drawn on purpose (small integers)."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convparity import reference as ref
from convparity.reference import grad
from convparity.reference.case import Case
from convparity.reference.strategies import conv_cases, conv_transpose_cases, pool_cases
from tests.reference import brute_force

ranks = st.integers(1, 3)
modes = st.sampled_from(["zeros", "reflect", "replicate", "circular", "symmetric"])


def cotangent(case: Case, seed: int = 0, integers: bool = True) -> np.ndarray:
    y = case.expected()
    rng = np.random.default_rng(seed)
    return (rng.integers(-3, 4, y.shape) if integers else rng.standard_normal(y.shape)).astype(
        float)


def keywords(case: Case) -> dict:
    args, kwargs = case.arguments(case.weight, None)
    names = {"conv": ("stride", "padding", "dilation", "groups"),
             "conv_transpose": ("stride", "padding", "output_padding", "groups", "dilation")}
    fields = dict(zip(names[case.op], args[2:]))
    return {**fields, **kwargs}


def gradients(case: Case, g: np.ndarray):
    """(input gradient, weight gradient) from reference.grad."""
    n = case.ndim
    x = case.input.astype(float)
    w = case.weight.astype(float)
    name = "conv" if case.op == "conv" else "conv_transpose"
    gx = getattr(grad, f"{name}{n}d_input")(x.shape, w, g, **keywords(case))
    gw = getattr(grad, f"{name}{n}d_weight")(x, w.shape, g, **keywords(case))
    return gx, gw


linear = (conv_cases(ranks, values="integers", dtype="float64", padding_mode=modes, bias=False)
          | conv_transpose_cases(ranks, values="integers", dtype="float64", bias=False))


@given(linear, st.integers(0, 2**16))
def test_the_gradients_are_the_adjoints(case, seed):
    # integers: every inner product is exact in float64, so the three are equal
    g = cotangent(case, seed)
    gx, gw = gradients(case, g)
    assert gx.shape == case.input.shape and gw.shape == case.weight.shape
    forward = float(np.sum(case.expected() * g))
    assert float(np.sum(case.input.astype(float) * gx)) == forward
    assert float(np.sum(case.weight.astype(float) * gw)) == forward


def unit_response(case: Case, field: str, g: np.ndarray) -> np.ndarray:
    """d<op(x, w), g>/d field, one element at a time through the brute-force oracle."""
    array = getattr(case, field).astype(float)
    out = np.zeros(array.shape)
    for index in np.ndindex(*array.shape):
        unit = np.zeros(array.shape)
        unit[index] = 1.0
        out[index] = np.sum(brute_force.answer(case.replace(**{field: unit})) * g)
    return out


small_linear = (
    conv_cases(ranks, values="integers", dtype="float64", padding_mode=modes, bias=False,
               batch=1, in_channels=st.integers(1, 2), out_channels=st.integers(1, 2))
    | conv_transpose_cases(ranks, values="integers", dtype="float64", bias=False, batch=1))


@given(small_linear)
def test_the_gradients_against_the_brute_force(case):
    assume(case.input.size <= 60 and case.weight.size <= 40)
    g = cotangent(case)
    gx, gw = gradients(case, g)
    np.testing.assert_array_equal(gx, unit_response(case, "input", g))
    np.testing.assert_array_equal(gw, unit_response(case, "weight", g))


def pool_gradient(case: Case, g: np.ndarray) -> np.ndarray:
    args, kwargs = case.arguments()
    return getattr(grad, case.function_name)(case.input.astype(float), g, *args, **kwargs)


@given(pool_cases(ranks, st.sampled_from(["max", "min"]), values="integers", dtype="float64"),
       st.integers(0, 2**16))
def test_max_and_min_pool_send_each_gradient_to_the_first_extremum(case, seed):
    # small integers tie often; NaN and -inf are drawn too
    values, indices = getattr(ref, case.function_name)(
        case.input, *case.arguments()[0], return_indices=True, data_format=case.data_format)
    np.testing.assert_array_equal(values, case.expected())
    firsts = first_extrema(case)  # channels first
    np.testing.assert_array_equal(indices, brute_force._channels_back(case, firsts))
    g = cotangent(case, seed)
    routed = np.zeros(brute_force._channels_first(case).shape)
    planes = routed.reshape(routed.shape[0] * routed.shape[1], -1)
    for plane, to, share in zip(planes, firsts.reshape(len(planes), -1),
                                brute_force._channels_first(case.replace(input=g)).reshape(
                                    len(planes), -1)):
        for i, value in zip(to, share):
            plane[i] += value
    np.testing.assert_array_equal(pool_gradient(case, g), brute_force._channels_back(case, routed))


def first_extrema(case: Case) -> np.ndarray:
    """Per window, the flat index of the first maximum (max_pool) or minimum (min_pool) in
    window order, a NaN taking over (the first tap on the input if none is better), walked one
    window at a time."""
    better = (lambda v, b: v > b) if case.op == "max_pool" else (lambda v, b: v < b)
    x = brute_force._channels_first(case)
    size = x.shape[2:]
    k, s, d = case.kernel, case.strides, case.dilations
    pads = brute_force.padding_of(case, size)
    out = case.expected().shape[2:] if case.data_format == "channels_first" else \
        case.expected().shape[1:-1]
    result = np.zeros((*x.shape[:2], *out), dtype=np.int64)
    for n, c, *i in np.ndindex(*x.shape[:2], *out):
        best, where = np.nan, -1
        for t in np.ndindex(*k):
            pos = [ii * ss + tt * dd - lo for ii, tt, ss, dd, (lo, _) in zip(i, t, s, d, pads)]
            if not all(0 <= p < m for p, m in zip(pos, size)):
                continue
            v = x[(n, c, *pos)]
            if where < 0 or better(v, best) or np.isnan(v):
                best, where = v, int(np.ravel_multi_index(pos, size))
        result[(n, c, *i)] = where
    return result


@given(pool_cases(ranks, "avg", values="integers", dtype="float64", specials=False),
       st.integers(0, 2**16))
def test_avg_pool_gradient_is_its_adjoint(case, seed):
    g = cotangent(case, seed)
    gx = pool_gradient(case, g)
    lhs, rhs = np.sum(case.expected() * g), np.sum(case.input.astype(float) * gx)
    # divisions round: within a few units of float64 roundoff of the terms' magnitude
    scale = np.sum(np.abs(case.replace(input=np.abs(case.input)).expected() * g))
    assert abs(lhs - rhs) <= 1e-13 * max(scale, 1.0)


@given(pool_cases(ranks, st.sampled_from(["max", "avg"]), values="normal", dtype="float64",
                  specials=False), st.integers(0, 2**16))
def test_pool_gradients_match_finite_differences(case, seed):
    # random reals: no ties, so max pooling is differentiable at x (JAX check_grads style)
    g = cotangent(case, seed, integers=False)
    gx = pool_gradient(case, g)
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(case.input.shape)
    eps = 1e-6

    def loss(x):
        return float(np.sum(case.replace(input=x).call() * g))

    x = case.input.astype(float)
    numeric = (loss(x + eps * direction) - loss(x - eps * direction)) / (2 * eps)
    gap = np.sort(np.abs(np.diff(np.sort(x.ravel()))))[0] if x.size > 1 else 1.0
    assume(gap > 1e-4)  # a near-tie could switch within eps
    assert numeric == pytest.approx(float(np.sum(gx * direction)), rel=1e-6, abs=1e-6)


def test_goldens_by_hand():
    # conv1d: x of 4 cells, w = [1, 2], g = [1, 1, 1]: dx[i] = sum of the taps reading i
    dx = grad.conv1d_input((1, 1, 4), np.array([[[1.0, 2.0]]]), np.ones((1, 1, 3)))
    assert dx.ravel().tolist() == [1.0, 3.0, 3.0, 2.0]
    dw = grad.conv1d_weight(np.arange(4.0).reshape(1, 1, 4), (1, 1, 2), np.ones((1, 1, 3)))
    assert dw.ravel().tolist() == [0 + 1 + 2, 1 + 2 + 3]
    # reflect padding 1 over [a b c]: [b a b c b]; the gradient of the copies folds back
    dx = grad.conv1d_input((1, 1, 3), np.ones((1, 1, 1)), np.ones((1, 1, 5)), padding=1,
                           padding_mode="reflect")
    assert dx.ravel().tolist() == [1.0, 3.0, 1.0]
    # max pool over [1 3 3 2], kernel 2, stride 1: the tie [3 3] goes to the first 3
    values, indices = ref.max_pool1d(np.array([[[1.0, 3, 3, 2]]]), 2, 1, return_indices=True)
    assert values.ravel().tolist() == [3, 3, 3] and indices.ravel().tolist() == [1, 1, 2]
    dx = grad.max_pool1d(np.array([[[1.0, 3, 3, 2]]]), np.array([[[1.0, 10, 100]]]), 2, 1)
    assert dx.ravel().tolist() == [0, 11, 100, 0]
    # NaN wins at its own index (the last NaN, as torch's kernels); -inf windows point at
    # their first cell
    _, indices = ref.max_pool1d(np.array([[[1.0, np.nan, 2, np.nan]]]), 4, return_indices=True)
    assert indices.ravel().tolist() == [3]
    _, indices = ref.max_pool1d(np.full((1, 1, 4), -np.inf), 2, return_indices=True)
    assert indices.ravel().tolist() == [0, 2]
    # avg pool, count_include_pad=False at the padded edge: [a b c], kernel 2, pad 1, stride 2
    # windows (pad, a) / 1 and (b, c) / 2
    dx = grad.avg_pool1d(np.zeros((1, 1, 3)), np.array([[[6.0, 8.0]]]), 2, 2, 1,
                         count_include_pad=False)
    assert dx.ravel().tolist() == [6.0, 4.0, 4.0]
    # unpool puts each value back at its index
    y = ref.max_unpool1d(np.array([[[5.0, 7.0]]]), np.array([[[1, 2]]]), 2)
    assert y.ravel().tolist() == [0.0, 5.0, 7.0, 0.0]


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match=r"input_size=\(4,\): expected the 3"):
        grad.conv1d_input((4,), np.ones((1, 1, 2)), np.ones((1, 1, 3)))
    with pytest.raises(ValueError, match=r"grad_output has shape \(1, 1, 2\): the op's output "
                                         r"has \(1, 1, 3\)"):
        grad.conv1d_input((1, 1, 4), np.ones((1, 1, 2)), np.ones((1, 1, 2)))
    with pytest.raises(ValueError, match="indices: every index must lie in the output plane"):
        ref.max_unpool1d(np.ones((1, 1, 2)), np.array([[[0, 9]]]), 2)
