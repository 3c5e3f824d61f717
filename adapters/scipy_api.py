"""SciPy: ``signal.correlate2d``/``convolve2d`` (every mode and boundary) for the SciPy-style ops,
``signal.correlate`` (direct method) for multi-channel, grouped, strided, dilated convs of any
rank, ``ndimage.correlate``/``convolve`` for size-keeping convs in every padding mode, and
``ndimage.maximum_filter``/``minimum_filter`` for max and min pooling
(:mod:`convparity.adapters.ndimage_extreme`).

A multi-channel conv through SciPy is assembled as a user would, as sums over channel pairs of
single-channel correlations: through ``signal.correlate``, zero-pad with ``np.pad``, dilate the
kernel by inserting zeros, correlate in ``'valid'`` mode, subsample by the stride; through
``ndimage``, place the window by ``origin`` and pad by ``mode``. Then add the bias.
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
from convparity.adapters.filters import (
    BOX_LIMITS,
    FILTER_LIMITS,
    conv_by_channel_pairs,
    filter_prefer,
    in_storage,
)
from convparity.reference.case import Case
from convparity.reference.placement import origin_of

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
    """``correlate(pad(x), dilate(w), 'valid')[::s]`` per channel pair."""
    every = tuple(slice(None, None, s) for s in case.strides)

    def correlate_one(x, w):
        x = np.pad(x, case.pads)
        return signal().correlate(x, dilate_kernel(w, case.dilations), mode="valid",
                                  method="direct")[every]

    return conv_by_channel_pairs(case, correlate_one)


@functools.cache
def ndimage():
    from scipy import ndimage

    return ndimage


# The oracle's padding modes by their ndimage names ('reflect' there is NumPy's symmetric).
NDIMAGE_MODES = {"zeros": "constant", "symmetric": "reflect", "reflect": "mirror",
                 "replicate": "nearest", "circular": "wrap"}


def filter_by(name: str):
    """``ndimage.correlate(x, w, mode, origin)`` per channel pair, ``origin`` placing the window
    as the case's size-keeping pads do; ``ndimage.convolve`` takes the flipped kernel, and its
    origin mirrored: ``-origin``, less one along an even kernel (SciPy's ``_correlate_or_convolve``
    turns a convolve into that correlation)."""
    def call(case: Case):
        origin = origin_of(case.pads, case.kernel)
        mode = NDIMAGE_MODES[case.padding_mode]
        if name == "convolve":
            origin = tuple(-o - (1 - k % 2) for o, k in zip(origin, case.kernel))

        def correlate_one(x, w):
            if name == "convolve":
                w = w[(slice(None, None, -1),) * w.ndim]
            return getattr(ndimage(), name)(x, w, mode=mode, cval=0.0, origin=origin)

        return conv_by_channel_pairs(case, correlate_one)

    return call


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


FILTER_HALF = Limit("has no float16 or bfloat16 filter", RAISES,
                    on={"dtype": {"float16", "bfloat16"}},
                    raises=raises("RuntimeError", "not supported"))
FILTER_PREFER = filter_prefer(NDIMAGE_MODES)


def pool_by_uniform_filter(case: Case):
    from convparity.adapters.running_sums import scipy_pool

    return scipy_pool(case, lambda xp, size: ndimage().uniform_filter(
        xp, size, mode="constant", cval=0.0, origin=[-(k // 2) for k in size]))


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
    result += [
        Api(f"scipy.ndimage.{name}", FRAMEWORK, "conv", n, filter_by(name),
            (FILTER_HALF, *FILTER_LIMITS), FILTER_PREFER,
            numerics=in_storage)
        for name in ("correlate", "convolve") for n in (1, 2, 3)
    ]
    result += [
        Api("scipy.ndimage.uniform_filter", FRAMEWORK, "avg_pool", n, pool_by_uniform_filter,
            (NDIMAGE_HALF, *BOX_LIMITS))
        for n in (1, 2, 3)
    ]
    return result
