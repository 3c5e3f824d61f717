"""Activation layouts: everything is computed batched and channels-first, then put back."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from convparity.reference.arguments import choice
from convparity.reference.dtypes import as_float64

DATA_FORMATS = ("channels_first", "channels_last")


def batched_channels_first(
    x, ndim: int, data_format: str, *, name: str = "input"
) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``x`` as float64 ``(N, C, *spatial)`` and the function that maps a result back.

    Accepted: ``(N, C, *spatial)`` / ``(C, *spatial)`` for channels_first, ``(N, *spatial, C)`` /
    ``(*spatial, C)`` for channels_last (the unbatched forms are torch's).
    """
    data_format = choice("data_format", data_format, DATA_FORMATS)
    x = as_float64(name, x)
    if x.ndim not in (ndim + 1, ndim + 2):
        layout = "(N, C, *spatial)" if data_format == "channels_first" else "(N, *spatial, C)"
        raise ValueError(
            f"{name} has shape {x.shape}: a {ndim}-D op takes a {ndim + 2}-D array {layout} "
            f"or an unbatched {ndim + 1}-D one"
        )
    unbatched = x.ndim == ndim + 1
    if unbatched:
        x = x[np.newaxis]
    if data_format == "channels_last":
        x = np.moveaxis(x, -1, 1)

    def restore(y: np.ndarray) -> np.ndarray:
        if data_format == "channels_last":
            y = np.moveaxis(y, 1, -1)
        y = y[0] if unbatched else y
        return np.ascontiguousarray(y)

    return x, restore
