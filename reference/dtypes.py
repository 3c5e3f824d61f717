"""Widening inputs to float64, exactly or not at all.

The oracle accumulates in float64. It accepts only dtypes whose every value float64 represents
exactly — bool, integers, float16/32/64 and the ml_dtypes floats (bfloat16, float8, ...) — so the
answer is the exact sum of products of the values it was given (up to float64 rounding of that sum,
and exactly when the data are small integers).
"""

from __future__ import annotations

import numpy as np

EXACT_INTEGER_LIMIT = 2**53  # every integer of magnitude <= 2**53 is a float64


def _is_ml_dtypes_float(dtype: np.dtype) -> bool:
    return dtype.type.__module__.split(".")[0] == "ml_dtypes" and dtype.itemsize <= 4


def as_float64(name: str, value) -> np.ndarray:
    """``value`` as a float64 array; ``TypeError`` for dtypes float64 cannot hold exactly."""
    array = np.asarray(value)
    dtype = array.dtype
    if dtype.kind == "c":
        raise TypeError(
            f"{name} has complex dtype {dtype}: the oracle computes real convolutions only"
        )
    if dtype.kind == "f" and dtype.itemsize > 8:
        raise TypeError(
            f"{name} has dtype {dtype}, which float64 cannot represent exactly; "
            f"allowed: bool, integers, float16/32/64, ml_dtypes floats (bfloat16, ...)"
        )
    if dtype.kind in "iu" and dtype.itemsize == 8 and array.size:
        if np.abs(array.astype(np.float64)).max() > EXACT_INTEGER_LIMIT:
            raise ValueError(
                f"{name} holds integers beyond 2**53 in magnitude, which float64 cannot represent "
                f"exactly"
            )
    if dtype.kind not in "biuf" and not _is_ml_dtypes_float(dtype):
        raise TypeError(
            f"{name} has dtype {dtype}; allowed: bool, integers, float16/32/64, "
            f"ml_dtypes floats (bfloat16, ...)"
        )
    return array.astype(np.float64)
