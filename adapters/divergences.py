"""Known divergences as data: load ``divergences.toml`` and match its entries against cases."""

from __future__ import annotations

import fnmatch
import functools
import math
import pathlib
import sys
from dataclasses import dataclass

import numpy as np

from convparity.adapters.api import Api, channels_last, dilated, strided
from convparity.adapters.versions import in_range
from convparity.reference.arguments import same_padding
from convparity.reference.case import Case

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_FILE = pathlib.Path(__file__).with_name("divergences.toml")


@dataclass(frozen=True)
class Divergence:
    api: tuple[str, ...]
    when: str
    why: str
    link: str = ""
    versions: str = ""

    def covers(self, api: Api) -> bool:
        named = any(api.id == pattern or fnmatch.fnmatchcase(api.id, pattern)
                    for pattern in self.api)  # ids like "x[3d]" are no glob classes
        return named and in_range(api.version, self.versions)

    def applies(self, api: Api, case: Case) -> bool:
        return self.covers(api) and bool(eval(self.when, {"__builtins__": {}}, facts(case)))

    def describe(self) -> str:
        return f"{self.why} ({self.link})" if self.link else self.why


def facts(case: Case) -> dict:
    """The names a ``when`` expression may use."""
    expected = case.expected()
    totals = []
    if case.op in ("conv", "max_pool", "avg_pool"):
        for n, k, s, d in zip(case.spatial_size, case.kernel, case.strides, case.dilations):
            totals.append((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n)
    return {
        "case": case, "op": case.op, "ndim": case.ndim, "dtype": case.dtype.name,
        "expected": expected, "isnan": np.isnan, "inf": np.inf,
        "channels_first": not channels_last(case), "channels_last": channels_last(case),
        "strided": strided(case), "dilated": dilated(case),
        "has_bias": case.bias is not None, "bias": case.bias,
        "out_channels": expected.shape[-1 if channels_last(case) else 1],
        "padding_is": lambda s: isinstance(case.padding, str) and case.padding.lower() == s,
        "same_totals": totals or [0], "same_padding": same_padding,
        "kernel": case.kernel, "strides": case.strides, "dilations": case.dilations,
        "out_size": expected.shape[1:-1] if channels_last(case) else expected.shape[2:],
        "any": any, "all": all, "min": min, "max": max, "len": len, "set": set, "zip": zip,
    }


@functools.cache
def load(path: str | None = None) -> tuple[Divergence, ...]:
    """Every entry of the divergence file (default: the one shipped with the adapters)."""
    data = tomllib.loads(pathlib.Path(path or DEFAULT_FILE).read_text())
    entries = []
    for raw in data.get("divergence", []):
        api = raw["api"]
        entries.append(Divergence(api=tuple([api] if isinstance(api, str) else api),
                                  when=raw["when"], why=raw["why"], link=raw.get("link", ""),
                                  versions=raw.get("versions", "")))
    return tuple(entries)


MATCHED: set = set()  # entries that covered at least one case in this process


def matching(api: Api, case: Case, entries=None) -> Divergence | None:
    """The first registered divergence of ``api`` that covers ``case``."""
    for entry in load() if entries is None else entries:
        if entry.applies(api, case):
            MATCHED.add(entry)
            return entry
    return None
