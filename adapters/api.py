"""What an adapter is: one framework API, the translation of a case into its call, and the
limits of what it can express — each limit with its reason and the evidence that proves it."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convparity.adapters import fields
from convparity.adapters.versions import in_range, installed_version
from convparity.reference import strategies
from convparity.reference.case import Case
from convparity.reference.numerics import Numerics, default_numerics

# What shows that a limit is real, checked against the installed framework by the tests:
RAISES = "raises"  # the direct translation raises
EAGER = "eager"  # the backend of an API that runs as called, uncompiled
# the compiled backends, by name: what runs the API's call
BACKENDS = {"jit": "jax.jit (XLA)", "compile": "torch.compile (inductor, C++ on CPU)",
            "xla": "tf.function(jit_compile=True) (XLA)"}
DIFFERS = "differs"  # the direct translation raises, or runs but computes something else
NO_PARAMETER = "no parameter"  # the API has no parameter for it (checked on its signature)
CRASHES = "crashes"  # the direct translation kills the process or returns garbage (probed apart)


class Unsupported(Exception):
    """The API cannot express the case; ``str()`` says exactly why."""


@dataclass(frozen=True)
class Raises:
    """What a framework raises where a limit holds: an exception whose class (or a base class)
    is named in ``types``, with a message that ``message`` (a regular expression) is found in."""

    types: tuple[str, ...]
    message: str

    def matches(self, error: BaseException) -> bool:
        names = {cls.__name__ for cls in type(error).__mro__}
        return bool(names & set(self.types)) and re.search(self.message, str(error)) is not None

    def __str__(self) -> str:
        return f"{' or '.join(self.types)} matching {self.message!r}"


def raises(types: str, message: str) -> Raises:
    """``raises("TypeError ValueError", "padding")``: the types, space-separated."""
    return Raises(tuple(types.split()), message)


@dataclass(frozen=True)
class Limit:
    """Something an API cannot express, declared once; everything else is derived from it.

    It holds for a case whose kind of each field named in ``on`` is among the kinds given there
    (see :mod:`convparity.adapters.fields`), and for which ``also(case)``, if given, is true.
    ``reason`` says what; ``evidence`` how a test proves it: ``RAISES`` (with what it raises in
    ``raises``), ``DIFFERS``, ``CRASHES``, or ``NO_PARAMETER`` with the parameter the API lacks
    in ``parameter``. ``versions`` is a specifier (e.g. ``">=2.14"``) of the framework versions
    it holds for; empty means all. ``probes`` make it a limit the machine decides: tiny cases it
    covers, run here to see whether it holds.

    A limit on one field that the machine does not decide keeps the API's draws clear of it
    (``steers``; by default when it has no ``also``). The evidence search draws the named kinds,
    plus ``reach`` (strategy keywords, or a function of the rank that gives them) for what
    ``also`` demands.
    """

    reason: str
    evidence: str
    on: Mapping[str, Any] = field(default_factory=dict)  # field name -> kinds
    also: Callable[[Case], bool] | None = None
    raises: Raises | None = None
    parameter: str = ""
    versions: str = ""
    reach: Mapping[str, Any] | Callable[[int], Mapping[str, Any]] = field(default_factory=dict)
    # tiny cases' fields, or a function of the rank that gives them: see holds_here
    probes: tuple[Mapping[str, Any], ...] | Callable[[int], tuple] = ()
    steers: bool | None = None

    def __post_init__(self):
        on = {name: fields.field(name).check(kinds) for name, kinds in dict(self.on).items()}
        object.__setattr__(self, "on", on)
        if not on and self.also is None:
            raise ValueError(f"limit {self.reason!r}: give the fields it is `on` or `also`")
        if self.evidence == RAISES and self.raises is None:
            raise ValueError(f"limit {self.reason!r}: a RAISES limit names what it `raises`")
        if self.evidence == NO_PARAMETER and not self.parameter:
            raise ValueError(f"limit {self.reason!r}: a NO_PARAMETER limit names its `parameter`")

    __hash__ = object.__hash__
    __eq__ = object.__eq__

    def applies(self, case: Case) -> bool:
        return all(fields.field(name).kind(case) in kinds for name, kinds in self.on.items()) \
            and (self.also is None or self.also(case))

    @property
    def steering(self) -> bool:
        """Whether the API's draws keep clear of this limit (by the other kinds of its field)."""
        if self.depends_on_machine or len(self.on) != 1:
            return False
        return self.also is None if self.steers is None else self.steers

    def reaching(self, ndim: int) -> dict[str, Any]:
        """Strategy keywords that draw cases this limit covers."""
        drawn = {name: fields.field(name).drawing(kinds, ndim) for name, kinds in self.on.items()}
        return {**drawn, **(self.reach(ndim) if callable(self.reach) else self.reach)}

    @property
    def depends_on_machine(self) -> bool:
        """Whether the CPU or backend decides this limit: then its probes decide it here."""
        return bool(self.probes)

    def probe_cases(self, api: Api) -> list[Case]:
        probes = self.probes(api.ndim) if callable(self.probes) else self.probes
        return [tiny_case(api.op, api.ndim, **keywords) for keywords in probes]

    def holds_here(self, api: Api) -> bool:
        """True for a limit that does not depend on the machine; else what its probes found on
        this machine (decided once per process: :mod:`convparity.adapters.probes`)."""
        if not self.depends_on_machine:
            return True
        from convparity.adapters import probes

        return probes.probe(self, api).holds


@dataclass(frozen=True)
class Api:
    """One framework API for one op and rank.

    ``call(case)`` is the direct translation (it may raise or be wrong for a case a limit covers:
    that is the evidence). What it cannot express is its ``limits``; the draws that keep clear of
    them are derived from those (:meth:`draws`). ``prefer`` holds strategy keywords that are no
    limit's: draws widened (e.g. padding modes) or weighted (e.g. 'same' often).
    """

    name: str
    framework: str
    op: str
    ndim: int
    call: Callable[[Case], Any]
    limits: tuple[Limit, ...] = ()
    prefer: Mapping[str, Any] = field(default_factory=dict)
    mutation: str = ""  # a meta-test's deliberately broken copy: what was broken (never reported)
    # what it computes a case in on a machine (an environment.machine() record; None: this
    # one), None for the case dtype's default: see numerics_for
    numerics: Callable[[Case, dict | None], Numerics | None] | None = None
    # the framework's backward pass: (case, cotangent) -> {"input"/"weight"/"bias": gradient},
    # and what it computes the gradients in (None: as numerics_for says)
    backward: Callable[[Case, np.ndarray], dict] | None = None
    backward_numerics: Callable[[Case, dict | None], Numerics | None] | None = None
    backward_limits: tuple[Limit, ...] = ()  # what its backward pass cannot do besides
    # what tells apart APIs of one name and rank: the compiled backend it runs under (see
    # BACKENDS; "" for eager), and the op where one callable serves several (``conv_transpose``)
    backend: str = ""
    variant: str = ""
    # the names the framework's call takes, where it is no Python callable (an ONNX operator's
    # inputs and attributes); default: the signature of resolve()
    parameters: Callable[[], list[str]] | None = None
    # what the API needs on this machine beyond its framework (torch.compile: a C++ compiler):
    # () -> why it cannot run here, or None when it can
    unavailable: Callable[[], str | None] | None = None

    @property
    def id(self) -> str:
        """Unique: the name, then in brackets the backend, the variant and, for rank-generic
        APIs, the rank."""
        tags = [tag for tag in (self.backend, self.variant) if tag]
        if f"{self.ndim}d" not in self.name.lower():
            tags.append(f"{self.ndim}d")
        return f"{self.name}[{' '.join(tags)}]" if tags else self.name

    @property
    def backend_name(self) -> str:
        """The backend as reports name it: ``eager``, or the compiled one."""
        return self.backend or EAGER

    @property
    def version(self) -> str | None:
        return installed_version(self.framework)

    def why_unavailable(self) -> str | None:
        """Why this API cannot run on this machine though its framework is installed, if so."""
        return self.unavailable() if self.unavailable else None

    def resolve(self) -> Callable:
        """The framework callable this API names (imports the framework)."""
        module_name, _, attribute = self.name.rpartition(".")
        return getattr(importlib.import_module(module_name), attribute)

    def why_not(self, case: Case) -> str | None:
        """Why this API cannot run ``case``, or ``None`` if it can."""
        if case.op != self.op or case.ndim != self.ndim:
            return (f"{self.name} computes {self.op} in {self.ndim}-D, "
                    f"not {case.op} in {case.ndim}-D")
        for limit in self.active_limits():
            if limit.applies(case):
                return f"{self.name} {limit.reason}"
        return None

    def why_not_backward(self, case: Case) -> str | None:
        """Why this API cannot run ``case``'s backward pass, or ``None`` if it can."""
        if self.backward is None:
            return f"{self.name} has no backward pass in its adapter"
        reason = self.why_not(case)
        if reason:
            return reason
        for limit in self.backward_limits:
            if in_range(self.version, limit.versions) and limit.applies(case):
                return f"{self.name}'s backward {limit.reason}"
        return None

    def active_limits(self) -> tuple[Limit, ...]:
        """The limits that hold for the installed version on this machine."""
        return tuple(lim for lim in self.versioned_limits() if lim.holds_here(self))

    def versioned_limits(self) -> tuple[Limit, ...]:
        """The limits that hold for the installed version (on some machine)."""
        return tuple(lim for lim in self.limits if in_range(self.version, lim.versions))

    def numerics_for(self, case: Case, machine: dict | None = None) -> Numerics:
        """The precisions it computes ``case`` in on ``machine`` (default: this process's): as
        declared, else float32 accumulation for float16/bfloat16 and the dtype itself for
        float32/float64."""
        declared = self.numerics(case, machine) if self.numerics else None
        return declared or default_numerics(case.dtype)

    def gradient_numerics_for(self, case: Case, machine: dict | None = None) -> Numerics:
        """What its backward pass computes ``case``'s gradients in: as declared for the
        backward pass, else as for the forward pass."""
        declared = self.backward_numerics(case, machine) if self.backward_numerics else None
        return declared or self.numerics_for(case, machine)

    def run(self, case: Case) -> np.ndarray:
        """The API's output for ``case`` as a NumPy array, or ``Unsupported`` with the reason."""
        reason = self.why_not(case)
        if reason:
            raise Unsupported(reason)
        return to_numpy(self.call(case))

    def draws(self, *, apart_from: Limit | None = None) -> dict[str, Any]:
        """Strategy keywords that keep clear of the steering limits (each of one field: the
        field's other kinds), ``apart_from`` one of them; ``prefer`` over them."""
        avoided: dict[str, frozenset] = {}
        for limit in self.versioned_limits():
            if limit.steering and limit is not apart_from:
                (name, kinds), = limit.on.items()
                avoided[name] = avoided.get(name, frozenset()) | kinds
        return {**self.drawing_apart(avoided), **self.prefer}

    def drawing_apart(self, avoided: Mapping[str, frozenset]) -> dict[str, Any]:
        """Per field, a strategy over its kinds other than ``avoided[field]`` (the field is
        left to its default where no kind is left)."""
        keywords = {}
        for name, kinds in avoided.items():
            f = fields.field(name)
            if set(f.kinds) - kinds:
                keywords[name] = f.drawing(set(f.kinds) - kinds, self.ndim)
        return keywords

    def strategy(self, **overrides):
        """Cases for this API: the op's strategy with :meth:`draws` and ``overrides``."""
        return case_strategy(self.op, self.ndim, **{**self.draws(), **overrides})

    def reaching(self, limit: Limit, **overrides):
        """Cases ``limit`` covers, clear of the API's other limits where their fields allow: the
        steering ones as in :meth:`draws`, and each other one on fields by the other kinds of a
        field ``limit`` leaves free. For the limit's evidence."""
        keywords = {name: value for name, value in self.draws(apart_from=limit).items()
                    if name not in limit.on}
        avoided: dict[str, frozenset] = {}
        for other in self.versioned_limits():
            free = [name for name in other.on if name not in limit.on and name not in keywords]
            if other is not limit and not other.steering and free:
                avoided[free[0]] = avoided.get(free[0], frozenset()) | other.on[free[0]]
        keywords.update(self.drawing_apart(avoided))
        return case_strategy(self.op, self.ndim,
                             **{**keywords, **limit.reaching(self.ndim), **overrides})


def case_strategy(op: str, ndim: int, **kwargs):
    return strategies.cases(op, ndim, **kwargs)


def tiny_case(op: str, ndim: int, *, dtype: str = "float32", channels: int = 1,
              out_channels: int | None = None, size=None, kernel=2,
              data_format: str = "channels_first", **fields) -> Case:
    """A small deterministic case (integer data) for a probe: spatial ``size`` (default 4, 3 for
    transposed conv) and ``kernel`` per dim (an int or a tuple), ``channels`` in and
    ``out_channels`` out (default the same), the other fields as given."""
    rng = np.random.default_rng(0)

    def array(*shape):
        values = rng.integers(-4, 5, size=shape).astype(np.float64)
        return values.astype(strategies.as_dtype(dtype))

    def per_dim(value):
        return (value,) * ndim if isinstance(value, int) else tuple(value)

    size = per_dim(size or (3 if op == "conv_transpose" else 4))
    x = array(1, channels, *size)
    if data_format == "channels_last":
        x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    groups, out_channels = fields.get("groups", 1), out_channels or channels
    if op == "conv":
        w = array(out_channels, channels // groups, *per_dim(kernel))
        return Case(op, x, w, data_format=data_format, **fields)
    if op == "conv_transpose":
        w = array(channels, out_channels // groups, *per_dim(kernel))
        return Case(op, x, w, data_format=data_format, **fields)
    return Case(op, x, kernel_size=per_dim(kernel), data_format=data_format, **fields)


def differentiable_arrays(case: Case) -> dict[int, str]:
    """The case's arrays a backward pass differentiates, by identity: ``id(array) -> name``
    (input, weight, bias), for an adapter to tell them apart as its call converts them."""
    names = {id(case.input): "input"}
    for name in ("weight", "bias"):
        if getattr(case, name) is not None:
            names[id(getattr(case, name))] = name
    return names


def to_numpy(value) -> np.ndarray:
    """A framework tensor as a NumPy array of the same dtype (bfloat16 through ml_dtypes)."""
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            import ml_dtypes

            return value.float().numpy().astype(ml_dtypes.bfloat16)
        return value.numpy()
    if hasattr(value, "numpy"):  # TensorFlow / Keras
        return np.asarray(value.numpy())
    return np.asarray(value)


def dilate_kernel(kernel: np.ndarray, dilation) -> np.ndarray:
    """Insert ``d - 1`` zeros between taps along each axis (a dilated kernel as a plain one)."""
    out = np.zeros([(k - 1) * d + 1 for k, d in zip(kernel.shape, dilation)], kernel.dtype)
    out[tuple(slice(None, None, d) for d in dilation)] = kernel
    return out


# -- predicates used by several adapters -----------------------------------------------------------
def asymmetric(case: Case) -> bool:
    return any(lo != hi for lo, hi in case.pads)


def dilated(case: Case) -> bool:
    """Dilation > 1 as given (frameworks validate the parameter, not its effect)."""
    return any(d > 1 for d in case.dilations)


def strided(case: Case) -> bool:
    return any(s > 1 for s in case.strides)


def channels_last(case: Case) -> bool:
    return case.data_format == "channels_last"


def output_size(case: Case) -> tuple[int, ...]:
    """The spatial size of the oracle's output."""
    y = case.expected().shape
    return y[1:-1] if channels_last(case) else y[2:]


def window_reads_only_padding(case: Case) -> bool:
    """Some output's window, along some spatial dim, covers zero padding and no input cell."""
    return any(
        all(not 0 <= o * s - lo + j * d < n for j in range(k))
        for n, k, s, d, (lo, _), m in zip(case.spatial_size, case.kernel, case.strides,
                                          case.dilations, case.pads, output_size(case))
        for o in range(m))


def tap_reads_only_padding(case: Case) -> bool:
    """Some kernel tap, along some spatial dim, covers zero padding and no input cell in every
    output's window (its weight gradient is a sum over padding only)."""
    return any(
        all(not 0 <= o * s - lo + j * d < n for o in range(m))
        for n, k, s, d, (lo, _), m in zip(case.spatial_size, case.kernel, case.strides,
                                          case.dilations, case.pads, output_size(case))
        for j in range(k))


def along(ndim: int, at: int, value: int, others: int) -> tuple[int, ...]:
    """``value`` in spatial dim ``at``, ``others`` in the rest."""
    values = [others] * ndim
    values[at] = value
    return tuple(values)


def padding_only_probes(ndim: int) -> tuple[dict, ...]:
    """Tiny convs with a dim whose windows read only zero padding, in float16 and bfloat16, both
    layouts, one input channel to two outputs and grouped: one input cell there, and either
    kernel 1, stride 2, dilation 2, padding 1 (outputs at -1 and 1), or kernel 2, dilation 2,
    padding 'same' (taps at -1 and 1); that dim first or last, the other dims ordinary."""
    def geometry(size, kernel, stride, dilation, padding, at):
        return {"size": along(ndim, at, 1, 4), "kernel": along(ndim, at, kernel, 2),
                "stride": along(ndim, at, stride, 1),
                "dilation": along(ndim, at, dilation, 1),
                "padding": padding if isinstance(padding, str) else along(ndim, at, padding, 0)}

    shapes = [geometry(1, 1, 2, 2, 1, at) for at in (-1, 0)]
    shapes += [geometry(1, 2, 1, 2, "same", at) for at in (-1, 0)]
    return tuple(
        {"dtype": dtype, "data_format": layout, "channels": channels, "out_channels": out,
         "groups": groups, **shape}
        for shape in shapes for dtype in ("float16", "bfloat16")
        for layout in ("channels_first", "channels_last")
        for channels, out, groups in ((1, 2, 1), (4, 2, 2)))


# Found on an Intel Xeon with AMX and AVX512-FP16 (oneDNN's brg_conv_fwd kernels, in torch and
# in TensorFlow): a segfault, now and then a garbage value.
HALF_PADDING_ONLY_WINDOW = Limit(
    "can crash the process (segfault in oneDNN's brgemm kernels) in float16/bfloat16 when an "
    "output window reads only zero padding", CRASHES,
    on={"dtype": {"float16", "bfloat16"}, "padding_mode": {"zeros"}},
    also=window_reads_only_padding, probes=padding_only_probes)


GLOBAL_ONLY = Limit("pools globally only (output size 1)", NO_PARAMETER,
                   on={"output_size": {"divides", "uneven", "keeps a dim"}},
                   parameter="output_size")


def zeros_only(reason: str = "has no padding_mode (zeros only)") -> Limit:
    """An API that pads with zeros and nothing else: every other padding mode is no parameter
    of it."""
    others = set(fields.PADDING_MODE.kinds) - {"zeros"}
    return Limit(reason, NO_PARAMETER, on={"padding_mode": others}, parameter="padding_mode")


def output_reached_by_no_tap(case: Case) -> bool:
    """A transposed conv with an output cell, along some spatial dim, that no input cell reaches
    through any kernel tap (input ``i`` reaches ``i*s + j*d - crop_before``)."""
    for n, k, s, d, (lo, _), m in zip(case.spatial_size, case.kernel, case.strides,
                                      case.dilations, case.pads, output_size(case)):
        reached = {i * s + j * d for i in range(n) for j in range(k)}
        if any(o + lo not in reached for o in range(m)):
            return True
    return False


def unreached_output_probes(ndim: int) -> tuple[dict, ...]:
    """Tiny bfloat16/float16 transposed convs, both layouts, whose output cell along the first
    or last dim no tap reaches: one input cell, kernel 2, dilation 2, stride 1, padding 'same'
    (the taps land at -1 and 1), the other dims 3 wide."""
    return tuple(
        {"dtype": dtype, "data_format": layout, "out_channels": 1, "size": along(ndim, at, 1, 3),
         "kernel": along(ndim, at, 2, 1), "dilation": along(ndim, at, 2, 1), "padding": "same"}
        for at in (0, -1) for dtype in ("bfloat16", "float16")
        for layout in ("channels_last", "channels_first"))


# Found on an Intel Xeon with AMX (TensorFlow's oneDNN bfloat16 Conv3DBackpropInputV2): a
# segfault, every time; right with oneDNN capped at AVX512_CORE_BF16 (AMX off).
HALF_UNREACHED_OUTPUT = Limit(
    "can crash the process (segfault in oneDNN's AMX kernels) in float16/bfloat16 when an "
    "output cell is reached by no kernel tap", CRASHES, on={"dtype": {"float16", "bfloat16"}},
    also=output_reached_by_no_tap, probes=unreached_output_probes)
