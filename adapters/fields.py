"""The drawable parameters a limit can name, each as a few kinds: how a case shows its kind, and
how a strategy draws a case of given kinds. One declaration then gives a limit's predicate (the
case's kind is among the named ones), the draws that keep an API clear of it (the other kinds)
and the draws that reach it (those kinds).

A kind's strategy is the strategy keyword's value; it reaches that kind mostly, not always
(``"same"`` is symmetric or uneven depending on the geometry): the predicate is what decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hypothesis import strategies as st

from convparity.reference.case import Case
from convparity.reference.strategies import DTYPES


@dataclass(frozen=True)
class Field:
    """One strategy keyword (``name``): ``kind(case)`` reads a case's kind, ``draw(kind, ndim)``
    gives a strategy for that keyword that draws it."""

    name: str
    kinds: tuple
    kind: Callable[[Case], object]
    draw: Callable[[object, int], st.SearchStrategy]

    def check(self, kinds: Iterable) -> frozenset:
        kinds = frozenset(kinds)
        unknown = kinds - set(self.kinds)
        if unknown or not kinds:
            raise ValueError(f"{self.name}: kinds {sorted(map(str, unknown)) or '(none)'} are "
                             f"not among {list(self.kinds)}")
        return kinds

    def drawing(self, kinds: Iterable, ndim: int) -> st.SearchStrategy:
        """A strategy for this keyword that draws cases of ``kinds``."""
        return st.one_of([self.draw(k, ndim) for k in self.kinds if k in set(kinds)])


def _padding_kind(case: Case) -> str:
    pads = case.pads
    if isinstance(case.padding, str):
        if case.padding == "valid":
            return "valid"
        return "same" if all(lo == hi for lo, hi in pads) else "same, uneven"
    if all(p == (0, 0) for p in pads):
        return "zero"
    return "symmetric" if all(lo == hi for lo, hi in pads) else "asymmetric"


def _draw_padding(kind: str, ndim: int) -> st.SearchStrategy:
    pad = st.integers(0, 2)
    if kind in ("valid", "zero"):
        return st.just({"valid": "valid", "zero": 0}[kind])
    if kind in ("same", "same, uneven"):
        return st.just("same")
    if kind == "symmetric":
        return st.integers(1, 2) | st.tuples(*[pad] * ndim).filter(any)
    pairs = st.tuples(*[st.tuples(pad, pad)] * ndim)
    return pairs.filter(lambda p: any(lo != hi for lo, hi in p))


def _stride_kind(case: Case) -> str:
    strides = set(case.strides)
    return "one" if strides == {1} else "equal" if len(strides) == 1 else "unequal"


def _draw_stride(kind: str, ndim: int) -> st.SearchStrategy:
    if kind == "one":
        return st.just(1)
    if kind == "equal":
        return st.integers(2, 3)
    if ndim == 1:
        return st.nothing()
    return st.tuples(*[st.integers(1, 3)] * ndim).filter(lambda s: len(set(s)) > 1)


def _channels(case: Case) -> int:
    return case.input.shape[-1 if case.data_format == "channels_last" else 1]


def _itself(kind, ndim: int) -> st.SearchStrategy:
    """For keywords whose kinds are their own values."""
    return st.just(kind)


def _one_or_several(kind: str, ndim: int) -> st.SearchStrategy:
    return st.just(1) if kind == "one" else st.integers(2, 3)


DTYPE = Field("dtype", DTYPES, lambda c: c.dtype.name, _itself)
DATA_FORMAT = Field("data_format", ("channels_first", "channels_last"),
                    lambda c: c.data_format, _itself)
PADDING = Field("padding", ("valid", "same", "same, uneven", "zero", "symmetric", "asymmetric"),
                _padding_kind, _draw_padding)
PADDING_MODE = Field("padding_mode", ("zeros", "reflect", "replicate", "circular", "symmetric"),
                     lambda c: c.padding_mode, _itself)
STRIDE = Field("stride", ("one", "equal", "unequal"), _stride_kind, _draw_stride)
DILATION = Field("dilation", ("one", "dilated"),
                 lambda c: "dilated" if any(d > 1 for d in c.dilations) else "one",
                 lambda kind, ndim: st.just(1) if kind == "one" else st.just(2) | st.tuples(
                     *[st.integers(1, 2)] * ndim).filter(lambda d: max(d) > 1))
GROUPS = Field("groups", ("one", "several"), lambda c: "one" if c.groups == 1 else "several",
               _one_or_several)
CHANNELS_PER_GROUP = Field(
    "channels_per_group", ("one", "several"),
    lambda c: "one" if _channels(c) == c.groups else "several", _one_or_several)
CEIL_MODE = Field("ceil_mode", (False, True), lambda c: bool(c.ceil_mode), _itself)
COUNT_INCLUDE_PAD = Field("count_include_pad", (False, True),
                          lambda c: bool(c.count_include_pad), _itself)
DIVISOR_OVERRIDE = Field(
    "divisor_override", ("none", "given"),
    lambda c: "none" if c.divisor_override is None else "given",
    lambda kind, ndim: st.none() if kind == "none" else st.integers(1, 9))



def _output_size_kind(case: Case) -> str:
    """An adaptive pool's ``output_size``: ``keeps a dim`` (a ``None``), ``global`` (all 1),
    ``divides`` (each output size divides its input size: no bin overlaps), ``uneven``."""
    from convparity.reference.adaptive import output_sizes

    wanted = case.output_size
    if wanted is None or (not isinstance(wanted, int) and None in tuple(wanted)):
        return "keeps a dim"
    sizes = output_sizes(wanted, case.spatial_size)
    if set(sizes) == {1}:
        return "global"
    return "divides" if all(n % m == 0 for n, m in zip(case.spatial_size, sizes)) else "uneven"


def _draw_output_size(kind: str, ndim: int) -> st.SearchStrategy:
    """The drawn ``output_size`` as a function of the drawn input size (see
    :func:`~convparity.reference.strategies.adaptive_pool_cases`)."""
    def per_dim(entry):
        return lambda size: st.tuples(*[entry(n) for n in size])

    if kind == "global":
        return st.just(1) | st.just((1,) * ndim)
    if kind == "keeps a dim":
        keep = per_dim(lambda n: st.none() | st.integers(1, n + 2))
        return st.just(lambda size: keep(size).filter(lambda m: None in m))
    if kind == "divides":
        divisors = per_dim(lambda n: st.sampled_from([m for m in range(1, n + 1) if n % m == 0]))
        return st.just(lambda size: divisors(size).filter(lambda m: set(m) != {1}))
    uneven = per_dim(lambda n: st.integers(1, n + 2))
    return st.just(lambda size: uneven(size).filter(
        lambda m: any(n % k for n, k in zip(size, m))))


CONVENTION = Field("convention", ("absolute", "signed"), lambda c: c.convention, _itself)
NORM_TYPE = Field("norm_type", ("integer", "fractional"),
                  lambda c: "integer" if float(c.norm_type).is_integer() else "fractional",
                  lambda kind, ndim: st.sampled_from([1.0, 2.0, 3.0]) if kind == "integer"
                  else st.just(1.5))
OUTPUT_SIZE = Field("output_size", ("global", "divides", "uneven", "keeps a dim"),
                    _output_size_kind, _draw_output_size)

FIELDS = {f.name: f for f in (DTYPE, DATA_FORMAT, PADDING, PADDING_MODE, STRIDE, DILATION,
                              GROUPS, CHANNELS_PER_GROUP, CEIL_MODE, COUNT_INCLUDE_PAD,
                              DIVISOR_OVERRIDE, OUTPUT_SIZE, CONVENTION, NORM_TYPE)}


def field(name: str) -> Field:
    if name not in FIELDS:
        raise ValueError(f"no field {name!r}: a limit can name {sorted(FIELDS)}")
    return FIELDS[name]
