"""Argument normalisation: every user-facing form becomes per-dim tuples, validated once.

Each checker raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong value)
whose message names the parameter, the value given and what is allowed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

Pair = tuple[int, int]


def is_int(value) -> bool:
    """A true integer (``bool`` is not one here)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def per_dim(name: str, value, ndim: int, *, minimum: int) -> tuple[int, ...]:
    """``value`` as one int per spatial dim: an int, or a one-element sequence (as torch takes
    it), is repeated; a longer sequence needs ``ndim`` ints."""
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 1:
        value = value[0]
    if is_int(value):
        values = (int(value),) * ndim
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != ndim:
            raise ValueError(
                f"{name}={value!r} has {len(value)} entries; expected an int or {ndim} ints "
                f"(one per spatial dim)"
            )
        if not all(is_int(v) for v in value):
            raise TypeError(f"{name}={value!r}: every entry must be an int")
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{name}={value!r}: expected an int or a sequence of {ndim} ints")
    if any(v < minimum for v in values):
        raise ValueError(f"{name}={value!r}: every entry must be >= {minimum}")
    return values


def positive_int(name: str, value) -> int:
    if not is_int(value):
        raise TypeError(f"{name}={value!r}: expected a positive int")
    if value < 1:
        raise ValueError(f"{name}={value!r}: expected a positive int")
    return int(value)


def nonzero_int(name: str, value) -> int:
    if not is_int(value):
        raise TypeError(f"{name}={value!r}: expected a nonzero int")
    if value == 0:
        raise ValueError(f"{name}={value!r}: expected a nonzero int (torch divides by it)")
    return int(value)


def choice(name: str, value, allowed: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}={value!r}: expected one of {', '.join(map(repr, allowed))}")
    if value not in allowed:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(map(repr, allowed))}")
    return value


def same_padding(size: int, kernel: int, stride: int, dilation: int) -> Pair:
    """TensorFlow's SAME: ``total = max((ceil(n/s) - 1)*s + (k-1)*d + 1 - n, 0)``, split
    ``(total // 2, total - total // 2)``: the odd extra at the end.

    At stride 1 this is torch's ``padding='same'``.
    """
    total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return (total // 2, total - total // 2)


def padding_pairs(
    padding,
    *,
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
) -> tuple[Pair, ...]:
    """Any accepted ``padding`` form as one ``(before, after)`` pair per spatial dim.

    Forms: an int; one int or ``(before, after)`` pair per dim; ``"valid"`` (no padding);
    ``"same"`` (TensorFlow's SAME, see :func:`same_padding`).
    """
    ndim = len(input_size)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * ndim
        if mode == "same":
            return tuple(map(same_padding, input_size, kernel_size, stride, dilation))
        raise ValueError(
            f"padding={padding!r}: expected 'valid', 'same', an int, or one int or "
            f"(before, after) pair per spatial dim"
        )
    if isinstance(padding, Sequence) and len(padding) == 1 and is_int(padding[0]):
        padding = padding[0]  # torch repeats a one-element tuple over every dim
    if is_int(padding):
        entries = [padding] * ndim
    elif isinstance(padding, Sequence):
        if len(padding) != ndim:
            raise ValueError(
                f"padding={padding!r} has {len(padding)} entries; expected an int, 'valid', "
                f"'same', or {ndim} entries (an int or a (before, after) pair per spatial dim)"
            )
        entries = list(padding)
    else:
        raise TypeError(
            f"padding={padding!r}: expected 'valid', 'same', an int, or one int or "
            f"(before, after) pair per spatial dim"
        )
    pairs = []
    for entry in entries:
        if is_int(entry):
            pair = (int(entry), int(entry))
        elif (
            isinstance(entry, Sequence)
            and not isinstance(entry, str)
            and len(entry) == 2
            and all(is_int(v) for v in entry)
        ):
            pair = (int(entry[0]), int(entry[1]))
        else:
            raise TypeError(
                f"padding={padding!r}: entry {entry!r} is neither an int nor a (before, after) "
                f"pair of ints"
            )
        if min(pair) < 0:
            raise ValueError(f"padding={padding!r}: padding must be >= 0")
        pairs.append(pair)
    return tuple(pairs)
