"""Lp pooling, 1-3 spatial dims, in two conventions named apart::

    convention="absolute":  y = (sum over the window of |x|^p)^(1/p)     (ONNX LpPool: a norm)
    convention="signed":    y = (sum over the window of  x^p)^(1/p)      (torch.nn.functional
                                                                           .lp_pool*d: no abs)

Padding and a ceil-mode overhang add nothing to the sum (their cells are absent, not rescaled:
torch's rescaling of an overhanging window is a divergence, registered as such). Under
"signed", ``p = 1`` gives the signed sum, an odd ``p`` (or a fractional one) NaN where the sum
or a cell is negative — the real root of a negative number is taken as undefined, as ``pow``
does. ``p = inf`` is the max of ``|x|`` in both (torch special-cases it so).
"""

from __future__ import annotations

import math

import numpy as np

from convparity.reference.pooling import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)

CONVENTIONS = ("absolute", "signed")
_SUM = {1: avg_pool1d, 2: avg_pool2d, 3: avg_pool3d}
_MAX = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}


def _lp_pool(ndim, input, norm_type, kernel_size, stride, ceil_mode, padding, dilation,
             convention, data_format):
    if convention not in CONVENTIONS:
        raise ValueError(f"convention={convention!r}: expected one of "
                         f"{', '.join(map(repr, CONVENTIONS))}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) \
            or not norm_type > 0:
        raise ValueError(f"norm_type={norm_type!r}: expected a number > 0 (or math.inf)")
    x = np.asarray(input, dtype=np.float64)
    if math.isinf(norm_type):
        return _MAX[ndim](np.abs(x), kernel_size, stride, padding, dilation, ceil_mode,
                          data_format=data_format)
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.abs(x) ** norm_type if convention == "absolute" else x ** norm_type
        total = _SUM[ndim](terms, kernel_size, stride, padding, ceil_mode, True, 1,
                           dilation=dilation, data_format=data_format)
        return total if norm_type == 1 else total ** (1 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False, *, padding=0,
              dilation=1, convention="absolute", data_format="channels_first"):
    """1-D Lp pooling, ``torch.nn.functional.lp_pool1d``'s signature plus ``padding``,
    ``dilation`` (ONNX's) and ``convention``; see the module docstring."""
    return _lp_pool(1, input, norm_type, kernel_size, stride, ceil_mode, padding, dilation,
                    convention, data_format)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False, *, padding=0,
              dilation=1, convention="absolute", data_format="channels_first"):
    """2-D Lp pooling; see :func:`lp_pool1d`."""
    return _lp_pool(2, input, norm_type, kernel_size, stride, ceil_mode, padding, dilation,
                    convention, data_format)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False, *, padding=0,
              dilation=1, convention="absolute", data_format="channels_first"):
    """3-D Lp pooling; see :func:`lp_pool1d`."""
    return _lp_pool(3, input, norm_type, kernel_size, stride, ceil_mode, padding, dilation,
                    convention, data_format)
