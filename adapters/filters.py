"""Image filters as convs and pools.

A filter keeps the input size and runs one single-channel kernel over one single-channel image,
so a multi-channel, grouped conv is assembled from channel pairs, and what every such filter
lacks (stride, dilation, pads that change the size) is declared once. A pool is a filter over the
input padded as the pool pads it (the ceil-mode overhang too), each window placed at its first
cell, read every stride.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from convparity.adapters.api import NO_PARAMETER, Limit
from convparity.reference import strategies
from convparity.reference.case import Case
from convparity.reference.layout import batched_channels_first
from convparity.reference.numerics import Numerics, accumulating_in_storage
from convparity.reference.pooling import PoolGeometry, pool_geometry


def conv_by_channel_pairs(case: Case,
                          correlate_one: Callable[[np.ndarray, np.ndarray], np.ndarray]):
    """``y[n, o] = b[o] + sum_c correlate_one(x[n, g*C/G + c], w[o, c])``, ``g`` the group of
    output channel ``o``; summed in the arrays' type."""
    x = np.moveaxis(case.input, -1, 1) if case.data_format == "channels_last" else case.input
    out_channels, per_group = case.weight.shape[:2]
    o_per_group = out_channels // case.groups
    rows = []
    for n in range(x.shape[0]):
        channels = []
        for o in range(out_channels):
            first = (o // o_per_group) * per_group
            acc = sum(correlate_one(np.ascontiguousarray(x[n, first + c]), case.weight[o, c])
                      for c in range(per_group))
            if case.bias is not None:
                acc = acc + case.bias[o]
            channels.append(acc)
        rows.append(np.stack(channels))
    y = np.stack(rows)
    return np.moveaxis(y, 1, -1) if case.data_format == "channels_last" else y


def in_storage(case: Case, machine: dict | None = None) -> Numerics:
    """Sums in the arrays' own type: the channel-pair sums above (and NumPy's float16
    correlation, 1-D)."""
    return accumulating_in_storage(case.dtype)


def size_keeping(kernel) -> st.SearchStrategy:
    """Pads ``(b, k - 1 - b)`` per dim: every window placement a filter has."""
    return st.tuples(*[st.integers(0, k - 1).map(lambda b, k=k: (b, k - 1 - b)) for k in kernel])


def keeps_size(case: Case) -> bool:
    return all(lo >= 0 and hi >= 0 and lo + hi == k - 1
               for (lo, hi), k in zip(case.pads, case.kernel))


FILTER_STRIDE = Limit("has no stride (a filter keeps the input size)", NO_PARAMETER,
                      on={"stride": {"equal", "unequal"}}, parameter="stride")
FILTER_DILATION = Limit("has no dilation", NO_PARAMETER, on={"dilation": {"dilated"}},
                        parameter="dilation")
FILTER_SIZE = Limit("keeps the input size: pads (b, k - 1 - b) per dim only, b placing the "
                    "window", NO_PARAMETER, also=lambda c: not keeps_size(c), parameter="padding",
                    reach=lambda ndim: {"padding": strategies.paddings(ndim, 2)})
FILTER_LIMITS = (FILTER_STRIDE, FILTER_DILATION, FILTER_SIZE)
# A box filter as an average pool divides every window by its area, padding counted.
BOX_LIMITS = (
    FILTER_DILATION,
    Limit("divides by the whole window, padding counted (count_include_pad only)", NO_PARAMETER,
          on={"count_include_pad": {False}}, parameter="count_include_pad"),
    Limit("has no ceil_mode (an overhanging window would be divided by its whole area)",
          NO_PARAMETER, on={"ceil_mode": {True}}, parameter="ceil_mode"),
    Limit("has no divisor_override", NO_PARAMETER, on={"divisor_override": {"given"}},
          parameter="divisor_override"),
)


def filter_prefer(padding_modes) -> dict:
    """Draws for a filter: size-keeping pads, and its padding modes."""
    return {"padding": st.just(size_keeping), "padding_mode": st.sampled_from(list(padding_modes))}


# -- pools as filters ------------------------------------------------------------------------
def fill(minimum: bool) -> float:
    return np.inf if minimum else -np.inf


def geometry_of(case: Case) -> PoolGeometry:
    size = case.spatial_size
    return pool_geometry(size, case.kernel_size, case.stride, case.padding, case.dilation,
                         case.ceil_mode)


def padded(x: np.ndarray, geometry: PoolGeometry, minimum: bool) -> np.ndarray:
    """``x`` (batched channels first) padded with the fill, the ceil-mode overhang included."""
    return geometry.padded(x, fill(minimum), overhang_value=fill(minimum))


def padded_batch(case: Case, pad_value: float):
    """The pool's input as a filter sees it: batched channels first, padded with ``pad_value``
    (the ceil-mode overhang too), in the input's own dtype; and ``read(y)``, which takes a
    filter's output ``y`` at each window's first cell every stride, in the case's layout."""
    x, restore = batched_channels_first(np.asarray(case.input), case.ndim, case.data_format)
    geometry = geometry_of(case)
    xp = geometry.padded(x, pad_value, overhang_value=pad_value).astype(case.input.dtype)
    return xp, lambda y: restore(strided(y, geometry))


def each_plane(xp: np.ndarray, run) -> np.ndarray:
    """``run`` on each image's each channel (a contiguous plane), stacked back."""
    return np.stack([np.stack([run(np.ascontiguousarray(plane)) for plane in image])
                     for image in xp])


def footprint(geometry: PoolGeometry) -> np.ndarray:
    """The dilated kernel's taps as a boolean footprint over the batch, channel and spatial
    axes."""
    spans = [(k - 1) * d + 1 for k, d in zip(geometry.kernel_size, geometry.dilation)]
    taps = np.zeros((1, 1, *spans), dtype=bool)
    taps[(0, 0, *[slice(None, None, d) for d in geometry.dilation])] = True
    return taps


def strided(filtered: np.ndarray, geometry: PoolGeometry) -> np.ndarray:
    """The filter's outputs at each window's first cell, every stride."""
    return filtered[(..., *[slice(0, (m - 1) * s + 1, s) for m, s in
                            zip(geometry.out_size, geometry.stride)])]
