"""What an implementation computes in, and rounding to a precision done once and right.

An implementation stores its output in one dtype and accumulates its sums in another, possibly
rounding some partial sums to the storage precision on the way (a blocked reduction that stores
each block's sum). :class:`Numerics` says which; the tolerance (:mod:`~convparity.reference.
tolerance`) derives its bound from it. Without one, float16 and bfloat16 are taken to accumulate
in float32 (what every framework's default CPU path does) and float32/float64 in themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Significand bits p (with the implicit one): unit roundoff u = 2**-p. tfloat32 (TF32: float32's
# range, a 10-bit fraction) is no array dtype, only a format tensor cores round inputs to.
SIGNIFICAND_BITS = {"float16": 11, "bfloat16": 8, "tfloat32": 11, "float32": 24, "float64": 53}
# The smallest subnormal is 2**SMALLEST_EXPONENT; the largest finite value is below
# 2**(MAX_EXPONENT + 1).
SMALLEST_EXPONENT = {"float16": -24, "bfloat16": -133, "tfloat32": -136, "float32": -149,
                     "float64": -1074}
MAX_EXPONENT = {"float16": 15, "bfloat16": 127, "tfloat32": 127, "float32": 127,
                "float64": 1023}
HALF_PRECISION = ("float16", "bfloat16")
INPUT_ONLY = ("tfloat32",)  # formats that only inputs are rounded to


def dtype_name(dtype) -> str:
    """The name of a floating dtype the rounding model knows; ``TypeError`` otherwise."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in SIGNIFICAND_BITS:
        raise TypeError(f"dtype={name}: no rounding model; expected one of "
                        f"{', '.join(SIGNIFICAND_BITS)}")
    return name


@dataclass(frozen=True)
class Numerics:
    """An implementation's precisions: ``storage`` (its output dtype), ``accumulator`` (the dtype
    its sums run in), ``storage_roundings``: how many times a partial sum of an output is
    rounded to the storage precision before the final rounding (0: only the final one), and
    ``inputs``: a lower precision the inputs are rounded to before they are multiplied (TF32
    tensor cores: ``"tfloat32"``; oneDNN's bf16 fpmath mode: ``"bfloat16"``), or ``None``."""

    storage: str
    accumulator: str
    storage_roundings: int = 0
    inputs: str | None = None

    def __post_init__(self):
        for name in ("storage", "accumulator"):
            value = dtype_name(getattr(self, name))
            if value in INPUT_ONLY:
                raise ValueError(f"{name}={value!r}: {value} is a format inputs are rounded to "
                                 f"(pass it as inputs=); expected an array dtype")
            object.__setattr__(self, name, value)
        if self.inputs is not None:
            object.__setattr__(self, "inputs", dtype_name(self.inputs))
        if not isinstance(self.storage_roundings, int) or self.storage_roundings < 0:
            raise ValueError(f"storage_roundings={self.storage_roundings!r}: expected an int "
                             f">= 0")

    def describe(self) -> str:
        text = f"{self.storage} accumulating in {self.accumulator}"
        if self.inputs:
            text += f" on inputs rounded to {self.inputs}"
        if self.storage_roundings:
            text += f", {self.storage_roundings} partial sums rounded to {self.storage}"
        return text


def default_numerics(dtype) -> Numerics:
    """float16/bfloat16 accumulate in float32; float32 and float64 in themselves."""
    name = dtype_name(dtype)
    return Numerics(name, "float32" if name in HALF_PRECISION else name)


def accumulating_in_storage(dtype) -> Numerics:
    """An implementation whose sums run in its own output dtype."""
    return Numerics(dtype, dtype)


def float32_on_rounded_inputs(precision: str, dtype) -> Numerics:
    """float32 whose inputs are first rounded to ``precision``, products and sums in float32;
    other dtypes: their default."""
    name = dtype_name(dtype)
    return Numerics(name, name, inputs=precision) if name == "float32" else \
        default_numerics(name)


def tensor_float32(dtype) -> Numerics:
    """float32 on TF32 tensor cores (torch's ``allow_tf32``, TF's default on Ampere and later):
    inputs rounded to a 10-bit fraction."""
    return float32_on_rounded_inputs("tfloat32", dtype)


def bfloat16_inputs(dtype) -> Numerics:
    """float32 in oneDNN's bf16 fpmath mode (AMX): inputs rounded to bfloat16."""
    return float32_on_rounded_inputs("bfloat16", dtype)


def as_numerics(numerics, dtype) -> Numerics:
    """``numerics`` as given, a dtype taken as that storage with its default accumulator, or
    ``None``: the default for ``dtype``."""
    if numerics is None:
        return default_numerics(dtype)
    if isinstance(numerics, Numerics):
        return numerics
    return default_numerics(numerics)


def round_to(values, dtype) -> np.ndarray:
    """``values`` (float64) rounded once to ``dtype``, to nearest with ties to even, returned as
    float64. Scaling by the spacing is exact, so the only rounding is ``rint``'s. (Casting
    float64 to bfloat16 through float32 rounds twice.)"""
    name = dtype_name(dtype)
    x = np.asarray(values, dtype=np.float64)
    if name == "float64":
        return x.copy()
    p = SIGNIFICAND_BITS[name]
    _, exponent = np.frexp(x)  # |x| = m * 2**exponent, m in [0.5, 1)
    spacing = np.ldexp(1.0, np.maximum(exponent - p, SMALLEST_EXPONENT[name]))
    with np.errstate(invalid="ignore", over="ignore"):
        rounded = np.where(np.isfinite(x), np.rint(x / spacing) * spacing, x)
        largest = np.ldexp(2.0 - 2.0 ** (1 - p), MAX_EXPONENT[name])
        return np.where(np.abs(rounded) > largest, np.copysign(np.inf, x), rounded)
