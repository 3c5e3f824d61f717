"""Implementations that are worse on purpose, from the oracle's own pieces: what a result would be
if its sums ran in a narrower type. For the diagnosis's cousins (tests that prove a bound catches
them, tables of what each model lets through)."""

from __future__ import annotations

import numpy as np

from convparity.reference.case import Case
from convparity.reference.numerics import round_to


def accumulating_in(case: Case, precision: str) -> np.ndarray:
    """A conv or transposed conv whose partial sums are each rounded to ``precision``: the
    products of one input channel (per group) and kernel tap at a time, each exact (the oracle
    on that channel with a one-hot kernel), added in order, then the bias. Returns float64
    values of ``precision``."""
    if case.op not in ("conv", "conv_transpose"):
        raise ValueError(f"case.op={case.op!r}: expected 'conv' or 'conv_transpose'")
    acc = np.zeros(case.expected().shape)
    for channel in per_channel(case.replace(bias=None)):
        taps = channel.weight.shape[2:]
        for tap in np.ndindex(*taps):
            one_hot = np.zeros(channel.weight.shape, channel.weight.dtype)
            one_hot[(..., *tap)] = channel.weight[(..., *tap)]
            acc = round_to(acc + channel.call(weight=one_hot), precision)
    if case.bias is not None:
        acc = round_to(acc + case.expected() - case.replace(bias=None).expected(), precision)
    return acc


def per_channel(case: Case):
    """The case split by input channel within a group: the j-th input channel of every group
    with its kernels (the outputs are the same; their sum over j is the case's)."""
    conv = case.op == "conv"
    per_group = case.weight.shape[1] if conv else case.weight.shape[0] // case.groups
    axis = -1 if case.channels_last else 1
    channels = case.input.shape[axis]
    for j in range(per_group):
        x = np.take(case.input, np.arange(j, channels, per_group), axis=axis)
        w = case.weight[:, j:j + 1] if conv else case.weight[j::per_group]
        yield case.replace(input=np.ascontiguousarray(x), weight=np.ascontiguousarray(w))
