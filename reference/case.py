"""The canonical op description: one frozen record that strategies draw, adapters translate,
the oracle answers and reports print.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from convparity import reference as ref
from convparity.reference import ops
from convparity.reference.arguments import per_dim

OPS = ops.NAMES
SIGNAL_OPS = tuple(name for name in OPS if ops.TABLE[name].signal)


@dataclass(frozen=True, eq=False)
class Case:
    """One call of one op. ``input``/``weight``/``bias`` are already in ``dtype``; the oracle
    widens exactly what the framework receives.

    ``op``: conv, conv_transpose, max_pool, min_pool, avg_pool, lp_pool, adaptive_avg_pool,
    adaptive_max_pool (torch semantics, ``ndim`` 1-3), or correlate/convolve (SciPy's 2-D
    ``correlate2d``/``convolve2d``, ``input`` = in1, ``weight`` = in2). ``padding`` is as the
    user wrote it; :attr:`pads` gives it as ``(before, after)`` pairs.
    """

    op: str
    input: np.ndarray
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    kernel_size: tuple[int, ...] | None = None  # pools only; convs read it off the weight
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    output_padding: Any = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    output_size: Any = None  # adaptive pools: an int or one per dim (None keeps a dim)
    norm_type: float = 2.0  # lp_pool: p
    convention: str = "absolute"  # lp_pool: sum |x|^p (ONNX) or x^p ("signed": torch)
    padding_mode: str = "zeros"
    data_format: str = "channels_first"
    mode: str = "full"  # correlate/convolve
    boundary: str = "fill"
    fillvalue: float = 0.0

    def __post_init__(self):
        if ops.op(self.op).signal and self.input.ndim != 2:
            raise ValueError(f"op={self.op!r} takes a 2-D input, got shape {self.input.shape}")

    # -- derived ---------------------------------------------------------------------------------
    @property
    def spec(self) -> ops.Op:
        """The op's entry in :data:`~convparity.reference.ops.TABLE`."""
        return ops.TABLE[self.op]

    @property
    def dtype(self) -> np.dtype:
        return self.input.dtype

    @property
    def ndim(self) -> int:
        """Spatial dims."""
        return 2 if self.spec.signal else self.input.ndim - 2

    @property
    def channels_last(self) -> bool:
        return self.data_format == "channels_last"

    @property
    def spatial_size(self) -> tuple[int, ...]:
        if self.spec.signal:
            return self.input.shape
        return self.input.shape[1:-1] if self.channels_last else self.input.shape[2:]

    @property
    def kernel(self) -> tuple[int, ...]:
        return ops.kernel_of(self)

    @property
    def channels_per_group(self) -> int:
        """The input channels one output element sums over (1 for pools and signals)."""
        return self.spec.channels_per_group(self)

    @property
    def strides(self) -> tuple[int, ...]:
        if self.spec.signal:
            return (1, 1)
        if self.stride is None:
            return self.kernel
        return per_dim("stride", self.stride, self.ndim, minimum=1)

    @property
    def dilations(self) -> tuple[int, ...]:
        if self.spec.signal:
            return (1, 1)
        return per_dim("dilation", self.dilation, self.ndim, minimum=1)

    @property
    def output_paddings(self) -> tuple[int, ...]:
        """A transposed conv's ``output_padding`` per dim (zeros for the other ops)."""
        if self.op != "conv_transpose":
            return (0,) * self.ndim
        return per_dim("output_padding", self.output_padding, self.ndim, minimum=0)

    @property
    def pads(self) -> tuple[tuple[int, int], ...]:
        """Explicit ``(before, after)`` padding (for conv_transpose: the crop) per spatial dim."""
        return (self.spec.pads or ops.default_pads)(self)

    def replace(self, **changes) -> Case:
        return dataclasses.replace(self, **changes)

    # -- the oracle ------------------------------------------------------------------------------
    def call(self, module=ref, *, input=None, weight=None, bias=None) -> np.ndarray:
        """Run this case through ``module``'s function of the oracle's name (the oracle itself by
        default), optionally on other arrays of the same shapes (e.g. ``|x|`` and ``|w|``)."""
        x = self.input if input is None else input
        w = self.weight if weight is None else weight
        b = self.bias if bias is None else bias
        args, kwargs = self.arguments(w, b)
        return getattr(module, self.function_name)(x, *args, **kwargs)

    def expected(self) -> np.ndarray:
        """The oracle's answer (float64), computed once per case."""
        return self._expected.copy()

    @functools.cached_property
    def _expected(self) -> np.ndarray:
        return self.call()

    @property
    def function_name(self) -> str:
        return self.spec.function_name(self.ndim)

    def arguments(self, weight=None, bias=None) -> tuple[tuple, dict]:
        """Positional and keyword arguments (after ``input``) of the oracle's call."""
        return self.spec.call_arguments(self, weight, bias)

    # -- reports ---------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return self.call_repr()

    def call_repr(self) -> str:
        """The case as a one-line oracle call, arrays shown by shape and dtype."""
        def arr(name, a):
            return f"{name}<{'x'.join(map(str, a.shape))} {a.dtype}>"

        parts = [arr("input", self.input)]
        if self.weight is not None:
            parts.append(arr("weight", self.weight))
        if self.bias is not None:
            parts.append(arr("bias", self.bias))
        for field in dataclasses.fields(self):
            if field.name in ("op", "input", "weight", "bias"):
                continue
            value = getattr(self, field.name)
            if value != field.default and field.name in self.relevant_fields():
                parts.append(f"{field.name}={value!r}")
        return f"{self.function_name}({', '.join(parts)})"

    def to_source(self) -> str:
        """Python source that rebuilds this case exactly (arrays as float64 literals, cast back)."""
        def array(a):
            dtype = a.dtype.name
            cast = "ml_dtypes.bfloat16" if dtype == "bfloat16" else f"np.{dtype}"
            values = np.asarray(a, dtype=np.float64).tolist()
            return f"np.array({values!r}).astype({cast})".replace("nan", "np.nan").replace(
                "inf", "np.inf")

        args = [f"{self.op!r}", array(self.input)]
        for name in ("weight", "bias"):
            if getattr(self, name) is not None:
                args.append(f"{name}={array(getattr(self, name))}")
        for name in self.relevant_fields():
            args.append(f"{name}={getattr(self, name)!r}")
        return f"Case({', '.join(args)})"

    def to_dict(self) -> dict:
        """A JSON-ready description that :meth:`from_dict` turns back into this exact case."""
        fields = {name: getattr(self, name) for name in self.relevant_fields()}
        return {"op": self.op, "input": array_to_dict(self.input),
                "weight": array_to_dict(self.weight), "bias": array_to_dict(self.bias), **fields}

    @classmethod
    def from_dict(cls, data: dict) -> Case:
        def plain(value):  # JSON lists back to the tuples the fields hold
            return tuple(plain(v) for v in value) if isinstance(value, list) else value

        fields = {k: plain(v) for k, v in data.items()
                  if k not in ("op", "input", "weight", "bias")}
        return cls(data["op"], array_from_dict(data["input"]), array_from_dict(data["weight"]),
                   array_from_dict(data["bias"]), **fields)

    def relevant_fields(self) -> tuple[str, ...]:
        return self.spec.fields


def array_to_dict(a: np.ndarray | None) -> dict | None:
    """An array as JSON-ready ``{"dtype", "shape", "values"}`` (values exact, as float64)."""
    return None if a is None else {
        "dtype": a.dtype.name, "shape": list(a.shape),
        "values": np.asarray(a, dtype=np.float64).ravel().tolist()}


def array_from_dict(d: dict | None) -> np.ndarray | None:
    """:func:`array_to_dict` undone, bfloat16 through ml_dtypes."""
    if d is None:
        return None
    dtype = d["dtype"]
    if dtype == "bfloat16":
        import ml_dtypes

        dtype = ml_dtypes.bfloat16
    return np.array(d["values"], dtype=np.float64).reshape(d["shape"]).astype(dtype)
