"""Comparing an output with the oracle's: shape first, then values against a per-element bound,
and a report a person can act on (PyTorch's ``_comparison.py`` is the model)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convparity.reference.numerics import round_to
from convparity.reference.tolerance import SIGNIFICAND_BITS, SMALLEST_EXPONENT


def ulp(values: np.ndarray, dtype) -> np.ndarray:
    """The spacing of ``dtype`` at each value (its gap to the next representable magnitude)."""
    name = np.dtype(dtype).name
    p, smallest = SIGNIFICAND_BITS[name], SMALLEST_EXPONENT[name]
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log2(np.abs(values)))
    return 2.0 ** np.maximum(exponent - (p - 1), smallest)


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing ``actual`` with ``expected`` within ``bound``."""

    actual: np.ndarray
    expected: np.ndarray
    bound: np.ndarray
    dtype: np.dtype
    mismatched: np.ndarray  # bool mask

    @property
    def ok(self) -> bool:
        return not self.mismatched.any()

    @property
    def error(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            err = np.abs(self.actual - self.expected)
        same = (self.actual == self.expected) | (np.isnan(self.actual) & np.isnan(self.expected))
        return np.where(same, 0.0, np.where(np.isnan(err), np.inf, err))

    @property
    def ratio(self) -> np.ndarray:
        """Error as a fraction of the bound (0/0 = 0, x/0 = inf)."""
        err = self.error
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(err == 0, 0.0, err / self.bound)

    @property
    def ulps(self) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):  # inf error / ulp: inf ulps
            return np.where(self.error == 0, 0.0, self.error / ulp(self.expected, self.dtype))

    @property
    def worst_index(self) -> tuple[int, ...]:
        return tuple(int(i) for i in np.unravel_index(np.argmax(self.ratio), self.ratio.shape))

    @property
    def max_ratio(self) -> float:
        return float(self.ratio.max()) if self.ratio.size else 0.0

    @property
    def max_ulps(self) -> float:
        finite = self.ulps[np.isfinite(self.ulps)]
        return float(finite.max()) if finite.size else 0.0

    @property
    def max_error(self) -> float:
        return float(self.error.max()) if self.error.size else 0.0

    @property
    def correctly_rounded(self) -> int:
        """How many elements equal the expected value rounded once to the output dtype (in exact
        mode the expected value is that already)."""
        with np.errstate(invalid="ignore"):
            rounded = round_to(self.expected, self.dtype)
        same = (self.actual == rounded) | (np.isnan(self.actual) & np.isnan(rounded))
        return int(same.sum())

    def summary(self) -> str:
        total = self.mismatched.size
        count = int(self.mismatched.sum())
        i = self.worst_index
        lines = [f"Mismatched elements: {count} / {total} ({100 * count / max(total, 1):.1f}%)"]
        if self.actual.size:
            lines.append(
                f"Worst element at index {i}: actual {float(self.actual[i])!r}, "
                f"expected {float(self.expected[i])!r}, error {self.error[i]:.3g} = "
                f"{self.ratio[i]:.3g} x the allowed {self.bound[i]:.3g} "
                f"({self.ulps[i]:.3g} ulps of {self.dtype.name})"
            )
        return "\n".join(lines)


def compare(actual, expected: np.ndarray, bound: np.ndarray, dtype) -> Comparison:
    """Values agree where ``|actual - expected| <= bound``; NaN must meet NaN, an infinity the
    same infinity. Raises ``AssertionError`` naming the attribute if the shapes differ."""
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        raise AssertionError(
            f"The values for attribute 'shape' do not match: {actual.shape} != {expected.shape}"
        )
    a = actual.astype(np.float64)
    with np.errstate(invalid="ignore"):
        close = np.abs(a - expected) <= bound
    special = ~np.isfinite(expected) | ~np.isfinite(a)
    same_special = (a == expected) | (np.isnan(a) & np.isnan(expected))
    mismatched = np.where(special, ~same_special, ~close)
    return Comparison(a, expected, np.broadcast_to(bound, expected.shape), np.dtype(dtype),
                      mismatched)
