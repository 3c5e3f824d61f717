"""The derived tolerance: a rounding-error bound per output element, never a guessed rtol.

An implementation with :class:`~convparity.reference.numerics.Numerics` (storage dtype, unit
roundoff ``u_out``; accumulator, ``u_acc``; ``b`` partial sums rounded to storage on the way)
computing an output that sums ``n`` products satisfies, for any summation order (Higham,
*Accuracy and Stability of Numerical Algorithms*, §3.1)::

    |y_hat - y| <= gamma_n(u_acc) * m + gamma_b(u_out) * m + u_out*|y| + half a subnormal,

``gamma_k(u) = k*u / (1 - k*u)``, ``m = sum_i |x_i * w_i|``, ``y`` the exact result on the
(already rounded) inputs; the final rounding to the output type is the ``u_out*|y|``. The oracle
supplies ``y`` and ``m`` (itself run on ``|x|``, ``|w|``, ``|b|``), and ``n`` per element: the
products that reach it (a product with zero padding adds an exact zero; a strided transposed conv
reaches a fraction of its taps), plus the bias.

An implementation that rounds its inputs to a lower precision first (``inputs``, unit roundoff
``u_in``: TF32 tensor cores) multiplies values each within ``u_in`` of the true ones, so every
product is within ``c = (1 + u_in)**2 - 1`` of its own: the bound above holds with ``m`` grown
to ``(1 + c)*m``, plus ``c*m`` for the distance from ``y`` (and ``u_out*c*m`` in the last
rounding).

Exact mode: when every input is an integer (one the input precision holds) and ``m <= 2**p``
for the accumulator's ``p`` (and the storage's, if partial sums are rounded to it), every
partial sum is an integer held exactly; the answer is ``y`` rounded once to the output dtype, at
zero tolerance. Max pooling does no
arithmetic: zero tolerance always. Average pooling is never exact (its division may be a
reciprocal multiply).
"""

from __future__ import annotations

import numpy as np

from convparity.reference import ops
from convparity.reference.case import Case
from convparity.reference.numerics import (
    SIGNIFICAND_BITS,
    SMALLEST_EXPONENT,
    Numerics,
    as_numerics,
    dtype_name,
    round_to,
)


def significand_bits(dtype) -> int:
    return SIGNIFICAND_BITS[dtype_name(dtype)]


def unit_roundoff(dtype) -> float:
    return 2.0 ** -significand_bits(dtype)


def gamma(n, u: float):
    """``gamma_n = n*u / (1 - n*u)`` (elementwise for an array ``n``); infinite where
    ``n*u >= 1``: so many roundings at that precision may lose every digit."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore"):
        result = np.where(n * u < 1, n * u / np.maximum(1 - n * u, 0.0), np.inf)
    return float(result) if result.ndim == 0 else result


def products_per_output(case: Case) -> int:
    """The most terms one output element can sum: kernel taps (times channels per group for a
    conv), plus the bias; an average's division counts as one more rounding."""
    return ops.products_per_output(case)


def products_reaching(case: Case) -> np.ndarray:
    """Per output element, the products that reach it (not those with zero padding, not the
    taps a strided transposed conv skips), plus the bias: the oracle on ones (a signal op's
    fill value a one where it is not zero)."""
    if case.spec.arithmetic != ops.PRODUCTS:
        return np.full(case.expected().shape, float(products_per_output(case)))
    ones = case.replace(bias=None)
    if case.spec.signal:
        ones = ones.replace(fillvalue=float(case.fillvalue != 0))
    counts = ones.call(input=np.ones(case.input.shape), weight=np.ones(case.weight.shape))
    return counts + (case.bias is not None)


def magnitude(case: Case) -> np.ndarray:
    """``sum_i |x_i w_i|`` (+ ``|b|``) per output element: the oracle on absolute values."""
    if case.spec.signal:
        case = case.replace(fillvalue=abs(case.fillvalue))
    absolute = {"input": np.abs(case.input)}
    if case.weight is not None:
        absolute["weight"] = np.abs(case.weight)
    if case.bias is not None:
        absolute["bias"] = np.abs(case.bias)
    return case.call(**absolute)


def is_exact(case: Case, magnitude_: np.ndarray | None = None, numerics=None) -> bool:
    """Integer-valued inputs whose every partial sum the implementation holds exactly (max
    pooling: always; average pooling: never, its division rounds)."""
    if case.spec.arithmetic != ops.PRODUCTS:
        return case.spec.arithmetic == ops.SELECTION
    numerics = as_numerics(numerics, case.dtype)
    values = [np.asarray(a, dtype=np.float64) for a in (case.input, case.weight, case.bias)
              if a is not None]
    if not all(np.all(np.isfinite(v) & (v == np.round(v))) for v in values):
        return False
    if numerics.inputs and not all(np.array_equal(round_to(v, numerics.inputs), v)
                                   for v in values):
        return False
    held = SIGNIFICAND_BITS[numerics.accumulator]
    if numerics.storage_roundings:
        held = min(held, SIGNIFICAND_BITS[numerics.storage])
    m = magnitude(case) if magnitude_ is None else magnitude_
    return bool(np.all(m <= 2.0 ** held))


def expectation(case: Case, numerics: Numerics | str | None = None,
                values: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(answer, bound)``: what an implementation with ``numerics`` (default: the case dtype's,
    see :func:`~convparity.reference.numerics.default_numerics`) must return for ``case``, and
    how far from it it may be. ``values`` replaces the oracle's answer (an alternative
    computation's). In exact mode the answer is rounded once to the storage dtype and the bound
    is zero."""
    numerics = as_numerics(numerics, case.dtype)
    y = case.expected() if values is None else values
    if case.spec.arithmetic == ops.SELECTION:
        return y, np.zeros(y.shape)
    m = magnitude(case)
    if is_exact(case, m, numerics):
        return round_to(y, numerics.storage), np.zeros(y.shape)
    return y, _bound(case, numerics, m, y)


def error_bound(case: Case, numerics: Numerics | str | None = None) -> np.ndarray:
    """Per output element, the largest error around the oracle's answer a correct
    implementation with ``numerics`` can make (a dtype: that storage with its default
    accumulator). Zero for max pooling, and in exact mode where the answer needs no rounding."""
    numerics = as_numerics(numerics, case.dtype)
    y = case.expected()
    if case.spec.arithmetic == ops.SELECTION:
        return np.zeros(y.shape)
    m = magnitude(case)
    if is_exact(case, m, numerics):
        with np.errstate(invalid="ignore"):
            return np.abs(round_to(y, numerics.storage) - y)
    return _bound(case, numerics, m, y)


def _bound(case: Case, numerics: Numerics, m: np.ndarray, y: np.ndarray) -> np.ndarray:
    u_out, u_acc = unit_roundoff(numerics.storage), unit_roundoff(numerics.accumulator)
    half_subnormal = 2.0 ** (SMALLEST_EXPONENT[numerics.storage] - 1)
    if case.spec.arithmetic == ops.POWER:
        return _power_bound(case, numerics, m, y) + half_subnormal
    n = products_reaching(case)
    c = (1 + unit_roundoff(numerics.inputs)) ** 2 - 1 if numerics.inputs else 0.0
    with np.errstate(invalid="ignore"):
        grown = (1 + c) * m  # sum |x' w'| over the rounded inputs x', w'
        bound = gamma(n, u_acc) * grown + c * m + u_out * (np.abs(y) + c * m) + half_subnormal
        if numerics.storage_roundings:
            bound = bound + gamma(numerics.storage_roundings, u_out) * grown
    return bound


def _power_bound(case: Case, numerics: Numerics, m: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Lp pooling, ``y = s**(1/p)``, ``s`` a sum of ``n`` powers ``x**p``. Each power is
    within 2 accumulator roundings of its own (pow, or its products) and may be rounded to
    storage, and the sum may be divided by a count and multiplied back (torch: 3 storage
    roundings), so ``|s_hat - s| <= d = (gamma_{n+2}(u_acc) + gamma_3(u_out)) * S + (n + 3) *
    half a subnormal`` (a power rounded into the subnormals), ``S = sum |x|**p = m**p`` (``m``:
    the oracle on ``|x|``). The root then moves it by at most ``(1/p) *
    (|s| - d)**(1/p - 1) * d`` (``p >= 1``; the mean-value theorem), or anywhere in ``[0, (|s| +
    d)**(1/p)]`` where ``d`` reaches ``|s|`` (the sum lost to cancellation); plus the root's
    own rounding and the last one, ``(u_acc + u_out) * |y|``, and the exponent ``1/p`` may
    be rounded to the storage type (torch's float16 pow: ``|ln s| * u_out/p * |y|``)."""
    p = case.norm_type
    u_out, u_acc = unit_roundoff(numerics.storage), unit_roundoff(numerics.accumulator)
    if np.isinf(p):
        return np.zeros(y.shape)
    n = products_reaching(case)
    tiny = 2.0 ** (SMALLEST_EXPONENT[numerics.storage] - 1)  # a subnormal power's rounding
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        s = np.abs(y) ** p
        d = (gamma(n + 2, u_acc) + gamma(3, u_out)) * m ** p + (n + 3) * tiny
        moved = np.where(s > d, (1 / p) * np.maximum(s - d, 0) ** (1 / p - 1) * d,
                         (s + d) ** (1 / p))
        exponent = np.where(s > 0, np.abs(np.log(np.where(s > 0, s, 1))), 0) * u_out / p
        return moved + (u_acc + u_out + exponent) * np.abs(y)
