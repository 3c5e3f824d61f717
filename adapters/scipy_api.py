"""SciPy: ``signal.correlate2d``/``convolve2d`` (every mode and boundary) for the SciPy-style ops,
``signal.correlate`` (direct method) for multi-channel, grouped, strided, dilated convs of any
rank, as sums over channel pairs of single-channel correlations, and ``ndimage.maximum_filter``/
``minimum_filter`` for max and min pooling (:mod:`convparity.adapters.ndimage_extreme`).

A conv through SciPy is assembled as a user would: zero-pad with ``np.pad``, dilate the kernel by
inserting zeros, correlate in ``'valid'`` mode, subsample by the stride, add the bias.
"""

from __future__ import annotations

import functools

import numpy as np

from convparity.adapters.api import (
    RAISES,
    Api,
    Limit,
    dilate_kernel,
    raises,
    zeros_only,
)
from convparity.reference.case import Case
from convparity.reference.numerics import Numerics, accumulating_in_storage

FRAMEWORK = "scipy"


@functools.cache
def signal():
    from scipy import signal

    return signal


def signal2d(name: str):
    def call(case: Case):
        fn = getattr(signal(), name)
        return fn(case.input, case.weight, case.mode, case.boundary, case.fillvalue)

    return call


def conv_by_correlate(case: Case):
    """``y[n, o] = b[o] + sum_c correlate(xpad[n, g*C/G + c], dilate(w[o, c]), 'valid')[::s]``."""
    correlate = signal().correlate
    x = np.moveaxis(case.input, -1, 1) if case.data_format == "channels_last" else case.input
    x = np.pad(x, [(0, 0), (0, 0), *case.pads])
    out_channels, per_group = case.weight.shape[:2]
    o_per_group = out_channels // case.groups
    every = tuple(slice(None, None, s) for s in case.strides)
    rows = []
    for n in range(x.shape[0]):
        channels = []
        for o in range(out_channels):
            first = (o // o_per_group) * per_group
            acc = sum(correlate(x[n, first + c], dilate_kernel(case.weight[o, c], case.dilations),
                                mode="valid", method="direct")[every]
                      for c in range(per_group))
            if case.bias is not None:
                acc = acc + case.bias[o]
            channels.append(acc)
        rows.append(np.stack(channels))
    y = np.stack(rows)
    return np.moveaxis(y, 1, -1) if case.data_format == "channels_last" else y


def in_storage(case: Case, machine: dict | None = None) -> Numerics:
    """NumPy/SciPy sum in the arrays' own type: a float16 correlation (1-D) and the channel
    sums this adapter adds accumulate in float16."""
    return accumulating_in_storage(case.dtype)


HALF = Limit("rejects float16 and bfloat16 input (1-D correlate takes them through NumPy)",
             RAISES, on={"dtype": {"float16", "bfloat16"}},
             raises=raises("ValueError", "not available for this type|Unsupported type"))
PADDING_MODE = zeros_only("has no padding_mode for a zero-padded 'valid' correlation")


def pool_by_filter(minimum: bool):
    def call(case: Case):
        from convparity.adapters.ndimage_extreme import scipy_pool

        return scipy_pool(case, minimum)

    return call


NDIMAGE_HALF = Limit("has no float16 or bfloat16 filter (a 1-tap kernel filters nothing)",
                     RAISES, on={"dtype": {"float16", "bfloat16"}},
                     also=lambda c: any(k > 1 for k in c.kernel),
                     raises=raises("RuntimeError", "not supported"))


def apis() -> list[Api]:
    result = [
        Api("scipy.signal.correlate2d", FRAMEWORK, "correlate", 2, signal2d("correlate2d"),
            (HALF,)),
        Api("scipy.signal.convolve2d", FRAMEWORK, "convolve", 2, signal2d("convolve2d"),
            (HALF,)),
    ]
    result += [
        Api("scipy.signal.correlate", FRAMEWORK, "conv", n, conv_by_correlate,
            (PADDING_MODE,) + ((HALF,) if n > 1 else ()), numerics=in_storage)
        for n in (1, 2, 3)
    ]
    result += [
        Api(f"scipy.ndimage.{name}", FRAMEWORK, op, n, pool_by_filter(op == "min_pool"),
            (NDIMAGE_HALF,))
        for name, op in (("maximum_filter", "max_pool"), ("minimum_filter", "min_pool"))
        for n in (1, 2, 3)
    ]
    return result
