"""Probes: a limit whose truth depends on the CPU or backend is decided on this machine by running
its tiny cases, once per process.

- A ``RAISES`` limit holds here if the API raises what the limit expects on a probe (in this
  process); anything else it raises is an error, not a verdict.
- A ``CRASHES`` limit holds here if a probe kills the process (one the API refuses, or gets
  wrong, proves nothing about a crash); its probes run in a worker process
  (:mod:`convparity.adapters.backends`), so a crash costs only the worker.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from convparity.adapters.api import CRASHES, Api, Limit


@dataclass(frozen=True)
class Probe:
    holds: bool
    found: str  # what the deciding probe did, or that every probe ran


PROBED: dict[tuple[str, str], Probe] = {}  # (api id, limit reason) -> what was found


def probe(limit: Limit, api: Api) -> Probe:
    """What ``limit``'s probes find for ``api`` on this machine (run once, then remembered)."""
    key = (api.id, limit.reason)
    if key not in PROBED:
        PROBED[key] = run_probes(limit, api)
    return PROBED[key]


def run_probes(limit: Limit, api: Api) -> Probe:
    cases = limit.probe_cases(api)
    for case in cases:
        if limit.evidence == CRASHES:
            from convparity.adapters import backends

            try:  # an answer, right or wrong, or a refusal says nothing about a crash
                backends.worker(backends.isolated(api.framework)).run(api.id, case)
            except backends.WorkerDied as error:
                return Probe(True, f"{case.call_repr()}: {error}")
            except RuntimeError:
                pass
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                api.call(case)
        except Exception as error:
            if limit.raises is None or limit.raises.matches(error):
                return Probe(True, f"{case.call_repr()}: raised {type(error).__name__}")
            raise RuntimeError(f"probing {api.id} ({limit.reason}): {case.call_repr()} raised "
                               f"{type(error).__name__}: {error}, where the limit expects "
                               f"{limit.raises}") from error
    return Probe(False, f"ran all {len(cases)} probes")
