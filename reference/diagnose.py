"""When a result disagrees: which nearby convention does it match?

Each variant re-states the case under a convention some framework uses instead of the canonical
one; if the observed output agrees with the oracle's answer for the variant, the mismatch is a
convention difference, not noise, and the report says which.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from convparity.reference import ops
from convparity.reference.case import Case
from convparity.reference.compare import compare
from convparity.reference.numerics import HALF_PRECISION, Numerics, as_numerics, round_to
from convparity.reference.tolerance import expectation


def nearby_conventions(case: Case) -> Iterator[tuple[str, Case]]:
    """``(description, variant)`` for each nearby convention that changes this case (its op's
    entry in :data:`~convparity.reference.ops.TABLE` lists them)."""
    for description, changes in case.spec.conventions(case):
        yield description, case.replace(**changes)


def matching_convention(actual, case: Case) -> str | None:
    """The first nearby convention under which ``actual`` agrees with the oracle, if any."""
    actual = np.asarray(actual)
    for description, variant in nearby_conventions(case):
        try:
            expected = variant.expected()
        except ValueError:
            continue  # the variant is not a valid call
        if expected.shape != actual.shape:
            continue
        if compare(actual, *expectation(variant), case.dtype).ok:
            return description
    return None


def less_precise(numerics: Numerics) -> list[Numerics]:
    """Implementations less precise than ``numerics``, the nearest first: float32 on inputs
    rounded to tfloat32 (TF32 tensor cores) or bfloat16 (oneDNN's bf16 fpmath mode), then
    accumulating in the output's own type or in bfloat16/float16."""
    storage = numerics.storage
    found = []
    if storage == "float32" and not numerics.inputs:
        found += [Numerics(storage, numerics.accumulator, inputs=name)
                  for name in ("tfloat32", "bfloat16")]
    narrower = [storage] if numerics.accumulator != storage else []
    narrower += [name for name in HALF_PRECISION if name not in narrower
                 and name != numerics.accumulator]
    return found + [Numerics(storage, name) for name in narrower]


def matching_numerics(actual, case: Case, numerics: Numerics | None = None) -> str | None:
    """If ``actual`` fails the bound for ``numerics`` but meets the one for a less precise
    implementation (:func:`less_precise`), which one: "accumulating in bfloat16". Input
    rounding is told apart by computing it: the oracle on the rounded inputs, within the
    accumulator's own bound (the declared bound for it is sound for any rounding of the
    inputs, so TF32 would explain bfloat16 inputs too)."""
    actual = np.asarray(actual)
    numerics = as_numerics(numerics, case.dtype)
    if case.spec.arithmetic == ops.SELECTION or actual.shape != case.expected().shape:
        return None
    for candidate in less_precise(numerics):
        if candidate.inputs:
            expected = expectation(rounded_inputs(case, candidate.inputs),
                                   Numerics(candidate.storage, candidate.accumulator))
        else:
            expected = expectation(case, candidate)
        if compare(actual, *expected, numerics.storage).ok:
            return candidate.describe().removeprefix(f"{numerics.storage} ")
    return None


def rounded_inputs(case: Case, precision: str) -> Case:
    """``case`` with its input, weight and bias rounded (to nearest, ties to even) to
    ``precision``, still in the case's dtype."""
    def rounded(array):
        return None if array is None else round_to(array, precision).astype(array.dtype)

    return case.replace(input=rounded(case.input), weight=rounded(case.weight),
                        bias=rounded(case.bias))
