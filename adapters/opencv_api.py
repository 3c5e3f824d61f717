"""OpenCV (``cv2``, from ``opencv-python-headless``): ``filter2D`` as a size-keeping 2-D conv,
one call per channel pair (:mod:`convparity.adapters.filters`); ``dilate``/``erode`` as max/min
pools (:mod:`convparity.adapters.opencv_morphology`); ``blur``/``boxFilter`` as average pools
(:mod:`convparity.adapters.running_sums`).

``filter2D(src, -1, kernel, anchor=(ax, ay), borderType=B)`` correlates: ``dst[i, j] =
sum k[s, t] * src[i + s - ay, j + t - ax]``, so the case's pads ``(b, k - 1 - b)`` are the
anchor ``b`` per dim — given as ``(column, row)``, OpenCV's point order. The borders are the
oracle's padding modes by other names; ``BORDER_WRAP`` exists but filter2D refuses it.
"""

from __future__ import annotations

import functools
import math

from convparity.adapters.api import RAISES, Api, Limit, raises
from convparity.adapters.filters import (
    BOX_LIMITS,
    FILTER_LIMITS,
    conv_by_channel_pairs,
    filter_prefer,
    in_storage,
)
from convparity.reference.case import Case

FRAMEWORK = "cv2"

# The oracle's padding modes by OpenCV's border names (BORDER_REFLECT_101 is BORDER_DEFAULT).
BORDERS = {"zeros": "BORDER_CONSTANT", "reflect": "BORDER_REFLECT_101",
           "symmetric": "BORDER_REFLECT", "replicate": "BORDER_REPLICATE",
           "circular": "BORDER_WRAP"}


@functools.cache
def cv2():
    import cv2

    return cv2


def filter2d(case: Case):
    (row_before, _), (column_before, _) = case.pads
    border = getattr(cv2(), BORDERS[case.padding_mode])

    def correlate_one(x, w):
        return cv2().filter2D(x, -1, w, anchor=(column_before, row_before), delta=0,
                              borderType=border)

    return conv_by_channel_pairs(case, correlate_one)


# Below 50 taps filter2D runs its direct kernels, which have no 16-bit floats; from 50 taps it
# goes through a DFT (float16 in, float16 out; bfloat16 in, float32 out).
HALF = Limit("has no float16 or bfloat16 filter for a kernel of under 50 taps", RAISES,
             on={"dtype": {"float16", "bfloat16"}}, also=lambda c: math.prod(c.kernel) < 50,
             raises=raises("error", "Unsupported combination of source format"))
NO_WRAP = Limit("refuses BORDER_WRAP (padding_mode circular)", RAISES,
                on={"padding_mode": {"circular"}},
                raises=raises("error", "columnBorderType != BORDER_WRAP"))


def pool_by_morphology(minimum: bool):
    def call(case: Case):
        from convparity.adapters.opencv_morphology import opencv_pool

        return opencv_pool(case, minimum)

    return call


def _mask_taps(case: Case) -> int:
    return math.prod((k - 1) * d + 1 for k, d in zip(case.kernel, case.dilations))


MORPHOLOGY_HALF = Limit("has no float16 or bfloat16 morphology (a 1x1 mask copies the input)",
                        RAISES, on={"dtype": {"float16", "bfloat16"}},
                        also=lambda c: _mask_taps(c) > 1,
                        raises=raises("error", "Unsupported data type"))


def pool_by_box(name: str):
    def call(case: Case):
        from convparity.adapters.running_sums import opencv_pool

        def box(plane, size):
            if name == "blur":
                return cv2().blur(plane, size, anchor=(0, 0), borderType=cv2().BORDER_CONSTANT)
            return cv2().boxFilter(plane, -1, size, anchor=(0, 0), normalize=True,
                                   borderType=cv2().BORDER_CONSTANT)

        return opencv_pool(case, box)

    return call


BOX_HALF = Limit("has no float16 or bfloat16 box filter", RAISES,
                 on={"dtype": {"float16", "bfloat16"}},
                 raises=raises("error", "Unsupported combination of sum format"))


def apis() -> list[Api]:
    return [
        Api("cv2.filter2D", FRAMEWORK, "conv", 2, filter2d, (HALF, NO_WRAP, *FILTER_LIMITS),
            filter_prefer(BORDERS), numerics=in_storage),
        Api("cv2.dilate", FRAMEWORK, "max_pool", 2, pool_by_morphology(False),
            (MORPHOLOGY_HALF,)),
        Api("cv2.erode", FRAMEWORK, "min_pool", 2, pool_by_morphology(True), (MORPHOLOGY_HALF,)),
    ] + [
        Api(f"cv2.{name}", FRAMEWORK, "avg_pool", 2, pool_by_box(name), (BOX_HALF, *BOX_LIMITS))
        for name in ("blur", "boxFilter")
    ]
