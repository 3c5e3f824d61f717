"""Every limit an adapter claims is checked against the installed framework, so the capability
table stays true when a release changes it: where an adapter says an API cannot run a case, the
API really raises on every such case drawn (RAISES), raises or computes something else on at
least one (DIFFERS: it cannot be trusted there), crashes a worker process (CRASHES), or has no
parameter for it (NO_PARAMETER, checked on its signature).

A limit that depends on the CPU or backend is decided by its probes on this machine: they are run
again and must find the same; where the limit holds, the same evidence is demanded; where it does
not, no probe may fail (each is unsupported for another reason, agrees, or is a known
divergence)."""

import inspect
import warnings

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from convparity.adapters import parity, probes
from convparity.adapters.api import (
    CRASHES,
    DIFFERS,
    NO_PARAMETER,
    RAISES,
    case_strategy,
    to_numpy,
)
from convparity.adapters.pytest_plugin import skip_unless_runnable
from convparity.adapters.registry import all_apis
from convparity.reference.testing import check_against_reference

PAIRS = [(api, limit) for api in all_apis() for limit in api.limits]


def parameters(fn) -> str:
    """The parameter names of a framework callable (signature, or a builtin's doc line)."""
    try:
        target = fn.__init__ if inspect.isclass(fn) else fn
        return " ".join(inspect.signature(target).parameters)
    except (TypeError, ValueError):
        return (fn.__doc__ or "").strip().splitlines()[0]


@pytest.mark.parametrize("api, limit", PAIRS,
                         ids=[f"{api.id}: {limit.reason[:50]}" for api, limit in PAIRS])
def test_claimed_limit_is_real(api, limit, pytestconfig):
    skip_unless_runnable(pytestconfig, api)
    if limit not in api.versioned_limits():
        pytest.skip(f"the limit does not hold for {api.framework} {api.version}")
    if limit.depends_on_machine:
        # Probed afresh (a crash only costs a worker process): what it finds must be what the
        # adapter decided, and where the API can, each probe must come out right.
        found = probes.run_probes(limit, api)
        assert found.holds == limit.holds_here(api), found.found
        if not found.holds and limit.evidence == CRASHES:  # the worker lived: no crash here
            return  # (never re-run in this process: a probe that crashes once would end it)
        if not found.holds:  # each probe is unsupported (another limit), agrees, or is known
            for case in limit.probe_cases(api):
                outcome = parity.check_case(api, case)
                assert outcome.status != parity.FAIL, outcome.detail
            return
        if limit.evidence == CRASHES:
            return  # the probe crashed the worker, or returned a wrong answer: that is it
    if limit.evidence == NO_PARAMETER:
        names = api.parameters() if api.parameters else parameters(api.resolve()).split()
        assert limit.parameter not in names, (
            f"{api.name} has a parameter {limit.parameter!r} now: drop or narrow the limit")
        return
    assert limit.evidence in (RAISES, DIFFERS)
    others = [other for other in api.active_limits() if other is not limit]
    checked = []

    # RAISES must hold for every case; DIFFERS needs one case, so it searches longer.
    @settings(max_examples=8 if limit.evidence == RAISES else 60, deadline=None, database=None,
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(_reaching(api, limit, values="normal" if limit.evidence == DIFFERS else None))
    def evidence(case):
        assume(limit.applies(case) and not any(o.applies(case) for o in others))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                actual = to_numpy(api.call(case))
        except Exception as error:
            assert limit.raises is None or limit.raises.matches(error), (
                f"{api.id} raised {type(error).__name__}: {error}\n  for {case.call_repr()}\n"
                f"  where the limit expects {limit.raises}")
            checked.append(case)
            return
        assert limit.evidence == DIFFERS, (
            f"{api.id} ran {case.call_repr()} although the adapter says it "
            f"{limit.reason}: drop or narrow the limit")
        try:
            agrees = check_against_reference(actual, case).ok
        except AssertionError:  # another shape
            agrees = False
        if not agrees:
            checked.append(case)

    try:
        evidence()
    except Unsatisfiable:
        pytest.skip("no drawn case isolates this limit from the API's other limits")
    assert checked, f"{api.id} ran every drawn case the limit covers right: drop the limit"


def _reaching(api, limit, values=None):
    """Cases the limit covers, clear of the API's other steering limits (derived from the
    limit's own declaration), and the op's plain draws for variety. A DIFFERS claim is checked
    on real-valued data (small integers are exact in every precision)."""
    fixed = {"values": values} if values else {}
    return st.one_of(api.reaching(limit, **fixed), case_strategy(api.op, api.ndim, **fixed))
