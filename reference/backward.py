"""A case's gradients, for a cotangent ``g`` (the loss's gradient in the op's output), and the
bound each must meet: every gradient is linear in ``g``, a sum of products, so the forward
pass's model applies to it unchanged (:mod:`~convparity.reference.tolerance`)::

    |computed - exact| <= gamma_n(u_acc) * m + u_out * |exact| + half a subnormal

with ``m`` the gradient on absolute values and ``n`` the products reaching each element: for the
input gradient of a conv, the taps and output channels that read it; for the weight gradient,
the batch times the output positions (a long sum: 2 x 28 x 28 = 1568 products for a ResNet
stage); for the bias, the batch times the output positions. Max pooling's gradient adds the
cotangents of the windows whose maximum a cell is; average pooling's divides, so it is never
exact. On integer data that every partial sum holds, the answer is exact and the tolerance 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from convparity.reference import grad, ops
from convparity.reference.adaptive import bins_covering
from convparity.reference.case import Case
from convparity.reference.numerics import Numerics, as_numerics, round_to
from convparity.reference.tolerance import (
    SIGNIFICAND_BITS,
    SMALLEST_EXPONENT,
    gamma,
    unit_roundoff,
)


@dataclass(frozen=True)
class Gradient:
    """One gradient of a case: ``compute(*operands)``, linear in each operand; ``counts``: the
    products reaching each element (default: ``compute`` on ones)."""

    name: str  # "input", "weight" or "bias"
    compute: Callable[..., np.ndarray]
    operands: tuple[np.ndarray, ...]
    arithmetic: str = ops.PRODUCTS
    counts: Callable[[], np.ndarray] | None = None

    def exact(self) -> np.ndarray:
        return self.compute(*(np.asarray(a, dtype=np.float64) for a in self.operands))

    def magnitude(self) -> np.ndarray:
        return self.compute(*(np.abs(np.asarray(a, dtype=np.float64)) for a in self.operands))

    def products(self) -> np.ndarray:
        if self.counts is not None:
            return self.counts()
        return self.compute(*(np.ones(np.shape(a)) for a in self.operands))


def gradients(case: Case, cotangent) -> list[Gradient]:
    """The gradients of ``case`` for ``cotangent`` (in the output's layout and shape): the
    input's, and for a conv or transposed conv the weight's and (if it has one) the bias's."""
    g = np.asarray(cotangent)
    args, kwargs = case.arguments(case.weight, None)
    x = case.input
    name = case.function_name
    if case.op in ("conv", "conv_transpose"):
        geometry = args[2:]  # stride, padding, ... as the oracle takes them after the bias
        input_grad = getattr(grad, f"{name}_input")
        weight_grad = getattr(grad, f"{name}_weight")
        found = [
            Gradient("input", lambda g_, w_: input_grad(x.shape, w_, g_, *geometry, **kwargs),
                     (g, case.weight)),
            Gradient("weight", lambda x_, g_: weight_grad(x_, case.weight.shape, g_, *geometry,
                                                          **kwargs), (x, g)),
        ]
        if case.bias is not None:
            found.append(Gradient("bias", lambda g_: bias_gradient(g_, case), (g,)))
        return found
    pool_grad = getattr(grad, name)
    if case.spec.arithmetic == ops.SELECTION:  # the routing depends on x only: linear in g
        return [Gradient("input", lambda g_: pool_grad(x, g_, *args, **kwargs), (g,))]
    if case.op == "avg_pool":
        kept = args[:-1]  # all but divisor_override

        def windows() -> np.ndarray:  # windows covering each cell, plus the division
            return pool_grad(x, np.ones(g.shape), *kept, 1, **kwargs) + 1

        return [Gradient("input", lambda g_: pool_grad(x, g_, *args, **kwargs), (g,),
                         ops.MEAN, windows)]
    if case.op == "adaptive_avg_pool":
        def boxes() -> np.ndarray:  # boxes covering each cell, plus the division
            covering = bins_covering(case.spatial_size, case.output_size)
            return np.broadcast_to(covering[..., None] if case.channels_last else covering,
                                   x.shape) + 1

        return [Gradient("input", lambda g_: pool_grad(x, g_, *args, **kwargs), (g,),
                         ops.MEAN, boxes)]
    raise ValueError(f"case.op={case.op!r}: no gradients (conv, conv_transpose, the pools "
                     f"have them)")


def bias_gradient(g: np.ndarray, case: Case) -> np.ndarray:
    """The bias's gradient: ``g`` summed over the batch and the spatial dims."""
    channel_axis = g.ndim - 1 if case.channels_last else 1
    return np.sum(g, axis=tuple(a for a in range(g.ndim) if a != channel_axis))


def expectation(gradient: Gradient, numerics: Numerics | str | None,
                dtype) -> tuple[np.ndarray, np.ndarray]:
    """``(answer, bound)`` for ``gradient`` computed by an implementation with ``numerics``
    (default: ``dtype``'s); exact mode (integers every partial sum holds) rounds once and
    allows nothing."""
    numerics = as_numerics(numerics, dtype)
    y, m = gradient.exact(), gradient.magnitude()
    if exact_mode(gradient, numerics):
        return round_to(y, numerics.storage), np.zeros(y.shape)
    return y, rounding_bound(gradient.products(), m, y, numerics)


def exact_mode(gradient: Gradient, numerics: Numerics) -> bool:
    """Integer operands whose sums the accumulator holds: the answer is exact, rounded once."""
    integers = all(np.all(np.isfinite(a) & (np.asarray(a, float) == np.round(
        np.asarray(a, float)))) for a in gradient.operands)
    return gradient.arithmetic == ops.PRODUCTS and integers and bool(np.all(
        gradient.magnitude() <= 2.0 ** SIGNIFICAND_BITS[numerics.accumulator]))


def rounding_bound(products, magnitude, values, numerics: Numerics) -> np.ndarray:
    """``gamma_n(u_acc) * m + u_out * |y| + half a subnormal``, per element."""
    u_out, u_acc = unit_roundoff(numerics.storage), unit_roundoff(numerics.accumulator)
    with np.errstate(invalid="ignore"):
        return (gamma(products, u_acc) * magnitude + u_out * np.abs(values)
                + 2.0 ** (SMALLEST_EXPONENT[numerics.storage] - 1))
