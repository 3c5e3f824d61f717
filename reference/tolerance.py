"""The derived tolerance: a rounding-error bound per output element, never a guessed rtol.

An output that sums ``n`` products in a type with unit roundoff ``u`` satisfies, for any
summation order (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1)::

    |y_hat - y| <= gamma_n * sum_i |x_i * w_i|,      gamma_n = n*u / (1 - n*u)

where ``y`` is the exact result on the (already rounded) inputs. The final rounding to the output
type adds at most half an ulp, bounded by ``u*|y|`` (plus half the smallest subnormal). The oracle
supplies both ``y`` and ``sum |x_i w_i|`` (itself run on ``|x|``, ``|w|``, ``|b|``).

Exact mode: when every input is an integer and ``sum |x_i w_i| <= 2**p`` (``p`` the significand
bits), every partial sum in any order is an integer the type holds exactly, so the bound is 0.
Max pooling does no arithmetic: its bound is 0 always.
"""

from __future__ import annotations

import math

import numpy as np

from convparity.reference.case import SIGNAL_OPS, Case

# Unit roundoff u = 2**-p, p the significand bits (including the implicit one).
SIGNIFICAND_BITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}
# The smallest subnormal is 2**SMALLEST_EXPONENT.
SMALLEST_EXPONENT = {"float16": -24, "bfloat16": -133, "float32": -149, "float64": -1074}


def significand_bits(dtype) -> int:
    name = np.dtype(dtype).name
    if name not in SIGNIFICAND_BITS:
        raise TypeError(f"dtype={name}: no rounding model; expected one of "
                        f"{', '.join(SIGNIFICAND_BITS)}")
    return SIGNIFICAND_BITS[name]


def unit_roundoff(dtype) -> float:
    return 2.0 ** -significand_bits(dtype)


def gamma(n: int, u: float) -> float:
    """``gamma_n = n*u / (1 - n*u)``; needs ``n*u < 1``."""
    if n * u >= 1:
        raise ValueError(f"n={n} products at unit roundoff {u}: the bound needs n*u < 1")
    return n * u / (1 - n * u)


def products_per_output(case: Case) -> int:
    """How many terms the longest accumulation chain of one output element has (bias included;
    the division of an average counts as one more rounding)."""
    taps = math.prod(case.kernel)
    if case.op in ("conv", "conv_transpose"):
        weight = case.weight.shape
        channels = weight[1] if case.op == "conv" else weight[0] // case.groups
        return channels * taps + (case.bias is not None)
    if case.op == "avg_pool":
        return taps + 1
    if case.op in SIGNAL_OPS:
        return taps
    return 0  # max_pool: no arithmetic


def magnitude(case: Case) -> np.ndarray:
    """``sum_i |x_i w_i|`` (+ ``|b|``) per output element: the oracle on absolute values."""
    if case.op in SIGNAL_OPS:
        case = case.replace(fillvalue=abs(case.fillvalue))
    absolute = {"input": np.abs(case.input)}
    if case.weight is not None:
        absolute["weight"] = np.abs(case.weight)
    if case.bias is not None:
        absolute["bias"] = np.abs(case.bias)
    return case.call(**absolute)


def is_exact(case: Case, magnitude_: np.ndarray | None = None) -> bool:
    """Integer-valued inputs whose every partial sum the dtype holds exactly (max pooling: always;
    average pooling: never, its division rounds)."""
    if case.op in ("max_pool", "avg_pool"):
        return case.op == "max_pool"
    values = [np.asarray(a, dtype=np.float64) for a in (case.input, case.weight, case.bias)
              if a is not None]
    if not all(np.all(np.isfinite(v) & (v == np.round(v))) for v in values):
        return False
    m = magnitude(case) if magnitude_ is None else magnitude_
    return bool(np.all(m <= 2.0 ** significand_bits(case.dtype)))


def error_bound(case: Case, dtype=None) -> np.ndarray:
    """Per output element, the largest error a correct implementation computing ``case`` in
    ``dtype`` (default: the case's) can make. Zero in exact mode and for max pooling."""
    dtype = case.dtype if dtype is None else np.dtype(dtype)
    if case.op == "max_pool":
        return np.zeros(case.expected().shape)
    m = magnitude(case)
    if is_exact(case, m):
        return np.zeros_like(m)
    u = unit_roundoff(dtype)
    half_subnormal = 2.0 ** (SMALLEST_EXPONENT[np.dtype(dtype).name] - 1)
    with np.errstate(invalid="ignore"):
        return gamma(products_per_output(case), u) * m + u * np.abs(case.expected()) \
            + half_subnormal
