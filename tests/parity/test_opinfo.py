"""PyTorch's own test data: every float64 OpInfo sample of the conv/pool family run through the
oracle, its forward values, ``return_indices`` and ``max_unpool`` against torch's, and its
gradients (``convparity.reference.grad``, by keyword) against torch's float64 autograd."""

import functools
import inspect
import warnings

import numpy as np
import pytest

from convparity import reference as ref
from convparity.reference import grad

torch = pytest.importorskip("torch")
opinfo = pytest.importorskip("torch.testing._internal.common_methods_invocations",
                             reason="PyTorch's OpInfo needs expecttest")

FAMILY = [f"{op}{n}d" for op in ("conv", "conv_transpose", "max_pool", "avg_pool", "max_unpool",
                                  "adaptive_avg_pool", "adaptive_max_pool")
          for n in (1, 2, 3)]


@functools.cache
def samples(name: str) -> list:
    op, = [o for o in opinfo.op_db if o.name == f"nn.functional.{name}"
           and o.variant_test_name == ""]
    return [(op, s) for s in op.sample_inputs("cpu", torch.float64, requires_grad=True)]


def numpy_args(values):
    return [v.detach().numpy() if isinstance(v, torch.Tensor) else
            tuple(v) if isinstance(v, torch.Size) else v for v in values]


def close(actual, expected, what):
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12 * scale, err_msg=what)


def oracle_gradients(name: str, bound: inspect.BoundArguments, g: np.ndarray) -> dict:
    """The oracle's gradients for the call ``bound`` (the oracle's own signature), by keyword."""
    args = dict(bound.arguments)
    x = args.pop("input")
    if name.startswith("conv"):
        weight, bias = args.pop("weight"), args.pop("bias", None)
        found = {"input": getattr(grad, f"{name}_input")(x.shape, weight, g, **args),
                 "weight": getattr(grad, f"{name}_weight")(x, weight.shape, g, **args)}
        if bias is not None:  # grad_output summed over all but the channel axis
            channel = g.ndim - weight.ndim + 1  # 0 unbatched, else 1
            found["bias"] = g.sum(axis=tuple(i for i in range(g.ndim) if i != channel))
        return found
    args.pop("return_indices", None)
    return {"input": getattr(grad, name)(x, g, **args)}


@pytest.mark.parametrize("name", FAMILY)
def test_the_oracle_agrees_with_pytorchs_opinfo_samples(name):
    rng = np.random.default_rng(0)
    oracle = getattr(ref, name)
    for op, sample in samples(name):
        what = f"{name}{tuple(sample.input.shape)} {sample.args} {sample.kwargs}"
        args = numpy_args(sample.args)
        kwargs = dict(zip(sample.kwargs, numpy_args(sample.kwargs.values())))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch's note on 'same' with even kernels
            expected = op(sample.input, *sample.args, **sample.kwargs)
        bound = inspect.signature(oracle).bind(sample.input.detach().numpy(), *args, **kwargs)
        found = oracle(*bound.args, **bound.kwargs)
        if isinstance(expected, tuple):  # return_indices
            close(found[0], expected[0].detach(), what)
            assert np.array_equal(found[1], expected[1].numpy()), what
            expected = expected[0]
        else:
            close(found, expected.detach(), what)
        if name.startswith("max_unpool"):
            continue  # a selection the forward values above already pin down
        g = rng.standard_normal(tuple(expected.shape))
        leaves = {"input": sample.input, "weight": sample.args[0] if name.startswith("conv")
                  else None, "bias": sample.args[1] if name.startswith("conv")
                  and len(sample.args) > 1 and sample.args[1] is not None else None}
        leaves = {k: v for k, v in leaves.items() if isinstance(v, torch.Tensor)}
        torch_grads = torch.autograd.grad(expected, list(leaves.values()), torch.from_numpy(g))
        ours = oracle_gradients(name, bound, g)
        for key, value in zip(leaves, torch_grads):
            close(ours[key], value, f"{key} gradient of {what}")
