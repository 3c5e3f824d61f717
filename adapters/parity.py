"""The parity check: run drawn cases through an API, compare with the oracle, classify.

Each case ends as ``agree``, ``divergence`` (a registered one, and the API did differ),
``unsupported`` (the API's own limit, with the reason) or ``fail``. A sweep over one API draws
cases with Hypothesis, so a failure is shrunk to the simplest case before it is reported.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import Counter
from dataclasses import dataclass, field

import hypothesis
import hypothesis.errors
import numpy as np
from hypothesis import HealthCheck, Phase, assume, given, settings

from convparity.adapters import backends, divergences, environment, peers
from convparity.adapters.api import Api, Unsupported, to_numpy
from convparity.reference import backward as reference_backward
from convparity.reference.case import Case
from convparity.reference.compare import Comparison, compare
from convparity.reference.numerics import as_numerics, round_to
from convparity.reference.ops import PRODUCTS
from convparity.reference.strategies import with_cotangent
from convparity.reference.testing import check_against_reference, failure_report

AGREE, DIVERGENCE, UNSUPPORTED, FAIL = "agree", "divergence", "unsupported", "fail"
DTYPE_ORDER = ["bfloat16", "float16", "float32", "float64"]

SESSION_SWEEPS: list = []  # every sweep of a real API run in this process, for session reports


@dataclass
class Outcome:
    status: str
    case: Case
    comparison: Comparison | None = None
    divergence: divergences.Divergence | None = None
    detail: str = ""
    relative: float | None = None  # the worst error over a peer framework's on the same case


def check_case(api: Api, case: Case, entries=None, peer: str | None = None) -> Outcome:
    """Run ``case`` through ``api`` and classify the result; with ``peer`` (a framework),
    also the API's worst error relative to that framework's on the same case."""
    outcome = classify(api, case, entries)
    if peer and outcome.comparison is not None and outcome.status != UNSUPPORTED:
        outcome.relative = peers.relative_error(outcome.comparison, api, case, peer)
    return outcome


def classify(api: Api, case: Case, entries=None) -> Outcome:
    try:
        with warnings.catch_warnings():  # a framework's warnings are its business, not ours
            warnings.simplefilter("ignore")
            actual = api.run(case)
    except Unsupported as reason:
        return Outcome(UNSUPPORTED, case, detail=str(reason))
    except Exception as error:  # a framework error on a case the adapter claims it can run
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return Outcome(FAIL, case, detail=(
            f"{api.id} raised {type(error).__name__}: {first_line}\n  for {case.call_repr()}\n"
            f"  (if {api.framework} cannot express this, add a Limit to its adapter)"))
    candidates = divergences.all_matching(api, case, entries)
    divergence = candidates[0] if candidates else None
    numerics = api.numerics_for(case)
    try:
        comparison = check_against_reference(actual, case, numerics=numerics)
    except AssertionError as error:  # shapes differ
        explaining, found = divergences.explaining(candidates, api, case, actual, numerics)
        if explaining:
            return Outcome(DIVERGENCE, case, divergence=explaining, detail=found or str(error))
        return Outcome(FAIL, case, divergence=divergence, detail=(
            f"{api.id}: {error}\n  for {case.call_repr()}\n  case = {case.to_source()[:2000]}"
            f"\n  seen on {where()}"
            + (f"\nThe registered divergence ({divergence.why}) expects {divergence.expect} "
               f"{divergence.instead or divergence.agrees_with}: {found}" if divergence else "")))
    if comparison.ok:
        # Agreeing under a divergence is allowed; one that never differs where it could is stale
        # (see Sweep).
        seen = next((d for d in candidates if d.tells_apart(case, numerics)), None)
        return Outcome(AGREE, case, comparison, seen)
    explaining, found = divergences.explaining(candidates, api, case, actual, numerics)
    if explaining:
        return Outcome(DIVERGENCE, case, comparison, explaining, detail=found)
    rerun = f"actual = get_api({api.id!r}).run(case)  # from convparity.adapters.registry"
    report = (f"{failure_report(comparison, case, what=api.id, rerun=rerun, numerics=numerics)}"
              f"\nSeen on {where()}")
    if divergence is None:
        return Outcome(FAIL, case, comparison, detail=report)
    return Outcome(FAIL, case, comparison, divergence, detail=(
        f"{report}\nThe registered divergence ({divergence.why}) expects "
        f"{divergence.expect} {divergence.instead or divergence.agrees_with}: {found}"))


def check_backward(api: Api, case: Case, cotangent: np.ndarray) -> Outcome:
    """Run ``api``'s backward pass on ``case`` with ``cotangent`` and compare each gradient
    (input, weight, bias) with the oracle's within its own bound
    (:mod:`convparity.reference.backward`)."""
    reason = api.why_not_backward(case)
    if reason:
        return Outcome(UNSUPPORTED, case, detail=reason)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = api.backward(case, cotangent)
    except Exception as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return Outcome(FAIL, case, detail=(
            f"{api.id}'s backward raised {type(error).__name__}: {first_line}\n  for "
            f"{case.call_repr()}"))
    numerics = api.gradient_numerics_for(case)
    worst = None
    for gradient in reference_backward.gradients(case, cotangent):
        if gradient.name not in found:
            return Outcome(FAIL, case, detail=f"{api.id}'s backward gave no {gradient.name} "
                                               f"gradient for {case.call_repr()}")
        answer, bound = reference_backward.expectation(gradient, numerics, case.dtype)
        try:
            comparison = compare(found[gradient.name], answer, bound, numerics.storage)
        except AssertionError as error:  # shapes differ
            return Outcome(FAIL, case, detail=f"{api.id}: the {gradient.name} gradient: {error}")
        if not comparison.ok:
            # any entry that covers the case may explain it (as forward)
            for divergence in divergences.all_matching(api, case, direction="backward"):
                explained, found_text = _backward_explained(divergence, api, case, cotangent,
                                                            found, numerics)
                if explained:
                    return Outcome(DIVERGENCE, case, comparison, divergence, detail=found_text)
            return Outcome(FAIL, case, comparison, detail=(
                f"{api.id}'s {gradient.name} gradient disagrees with the oracle's for\n"
                f"  {case.call_repr()}\n"
                + "\n".join(f"  {line}" for line in comparison.summary().splitlines())
                + f"\nSeen on {where()}"))
        if worst is None or comparison.max_ratio > worst.max_ratio:
            worst = comparison
    return Outcome(AGREE, case, worst)


def _backward_explained(divergence, api: Api, case: Case, cotangent, found: dict,
                        numerics) -> tuple[bool, str]:
    """Whether a registered backward divergence explains the gradients ``found``: "differs"
    always; "instead": each gradient matches the named computation's (or the oracle's, for
    those it leaves alone) within the oracle's bound; "wrong": they agree under its backend."""
    if divergence.expect == "differs":
        return True, "differs as registered"
    if divergence.expect == "instead":
        computation = divergences.BACKWARD_INSTEAD[divergence.instead]
        alternative = computation(case, cotangent)
        # its own rounding: the computation on magnitudes and on ones (its terms); a conv's
        # gradients are linear in the input and the weight too, a pool's routing is not
        sizes, ones = case, case
        if case.spec.arithmetic == PRODUCTS:
            sizes = case.replace(input=np.abs(case.input), weight=np.abs(case.weight))
            ones = case.replace(input=np.ones_like(case.input), weight=np.ones_like(case.weight))
        sizes = computation(sizes, np.abs(np.asarray(cotangent, dtype=np.float64)))
        terms = computation(ones, np.ones(np.shape(cotangent)))
        for gradient in reference_backward.gradients(case, cotangent):
            answer, bound = reference_backward.expectation(gradient, numerics, case.dtype)
            exact = reference_backward.exact_mode(gradient, as_numerics(numerics, case.dtype))
            # (not bound.any(): a float64 bound of cells no product reaches underflows to 0)
            if gradient.name in alternative and not exact:
                own = reference_backward.rounding_bound(
                    np.abs(terms[gradient.name]), np.abs(sizes[gradient.name]),
                    alternative[gradient.name], numerics)
                bound = np.maximum(bound, own)
            actual = found[gradient.name]
            mismatched = np.ones(np.shape(actual), dtype=bool)
            # the computation's values, or others accepted in their place element by element
            # (or_else: one array or a tuple of them)
            accepted = [alternative.get(gradient.name, answer)]
            others = alternative.get(f"{gradient.name} or_else", ())
            accepted += list(others) if isinstance(others, tuple) else [others]
            for values in accepted:
                if np.shape(values) != np.shape(actual):
                    continue
                if exact:  # the other computation rounded once, too
                    values = round_to(values, numerics.storage)
                mismatched &= compare(actual, values, bound, numerics.storage).mismatched
            if mismatched.any():
                return False, (f"the {gradient.name} gradient matches neither the oracle's nor "
                               f"{divergence.instead}'s")
        return True, f"computes {divergence.instead}"
    verdict = backends.backward_verdict(backends.backend(divergence.agrees_with), api, case,
                                        cotangent)
    return verdict.agrees, str(verdict)


def where() -> str:
    return environment.describe()


@dataclass
class DtypeStats:
    """The agreeing cases of one dtype: the worst error over the bound and in ulps, how many
    output elements were correctly rounded, the worst error relative to the peer's."""

    worst_ratio: float = 0.0
    worst_ulps: float = 0.0
    correctly_rounded: int = 0
    elements: int = 0
    worst_relative: float | None = None

    def add(self, outcome: Outcome) -> None:
        comparison = outcome.comparison
        self.worst_ratio = max(self.worst_ratio, comparison.max_ratio)
        self.worst_ulps = max(self.worst_ulps, comparison.max_ulps)
        self.correctly_rounded += comparison.correctly_rounded
        self.elements += comparison.expected.size
        if outcome.relative is not None:
            self.worst_relative = max(self.worst_relative or 0.0, outcome.relative)

    @property
    def correctly_rounded_share(self) -> float:
        return self.correctly_rounded / self.elements if self.elements else 1.0


@dataclass
class Sweep:
    """What one API did over a sweep of drawn cases."""

    api: Api
    counts: Counter = field(default_factory=Counter)
    ratios: list = field(default_factory=list)  # each agreeing case's worst error / bound
    divergences_seen: dict = field(default_factory=dict)  # Divergence -> [matched, differed]
    failure: str = ""
    failing_case: Case | None = None  # the shrunk failing case
    failing_map: np.ndarray | None = None  # its output positions past the bound (bool)
    reasons: Counter = field(default_factory=Counter)  # why drawn cases were not supported
    all_unsupported: bool = False  # the API's limits covered every case drawn
    by_dtype: dict = field(default_factory=dict)  # dtype -> Counter of statuses
    stats_by_dtype: dict = field(default_factory=dict)  # dtype -> DtypeStats (agreeing cases)
    peer: str | None = None  # the framework errors were measured relative to
    direction: str = "forward"  # or "backward": the gradients were checked

    def record(self, outcome: Outcome) -> None:
        self.counts[outcome.status] += 1
        dtype = outcome.case.dtype.name
        self.by_dtype.setdefault(dtype, Counter())[outcome.status] += 1
        if outcome.comparison is not None and outcome.status == AGREE:
            self.stats_by_dtype.setdefault(dtype, DtypeStats()).add(outcome)
            self.ratios.append(outcome.comparison.max_ratio)
        if outcome.status == UNSUPPORTED:
            self.reasons[outcome.detail] += 1
        if outcome.divergence is not None:
            seen = self.divergences_seen.setdefault(outcome.divergence, [0, 0])
            seen[0] += 1
            seen[1] += outcome.status == DIVERGENCE

    @property
    def worst_ratio(self) -> float:
        """The worst error over its bound of any agreeing case, every dtype."""
        return max((s.worst_ratio for s in self.stats_by_dtype.values()), default=0.0)

    @property
    def worst_ulps(self) -> float:
        return max((s.worst_ulps for s in self.stats_by_dtype.values()), default=0.0)

    @property
    def label(self) -> str:
        """The API's id, marked ``(backward)`` when its gradients were checked."""
        return self.api.id + (" (backward)" if self.direction == "backward" else "")

    @property
    def stale(self) -> list[divergences.Divergence]:
        """Divergences that matched cases here but never differed."""
        return [d for d, (matched, differed) in self.divergences_seen.items()
                if matched and not differed and d.judged_for_staleness]

    def dtype_status(self, dtype: str) -> str:
        """The verdict for the cases of one dtype (the failing case's dtype fails)."""
        if self.failing_case is not None and self.failing_case.dtype.name == dtype:
            return FAIL
        counts = self.by_dtype.get(dtype, Counter())
        if counts[AGREE] == 0 and counts[DIVERGENCE] == 0:
            return UNSUPPORTED
        return DIVERGENCE if counts[DIVERGENCE] else AGREE

    @property
    def dtypes(self) -> list[str]:
        seen = set(self.by_dtype) | ({self.failing_case.dtype.name} if self.failing_case else set())
        return sorted(seen, key=DTYPE_ORDER.index)

    @property
    def status(self) -> str:
        if self.failure or self.stale:
            return FAIL
        if self.counts[AGREE] == 0 and self.counts[DIVERGENCE] == 0:
            return UNSUPPORTED
        return DIVERGENCE if self.counts[DIVERGENCE] else AGREE


def sweep(api: Api, *, max_examples: int = 100, derandomize: bool | None = None,
          seed: int | None = None, entries=None, raise_on_failure: bool = True,
          cases=None, peer: str | None = None, backward: bool = False,
          **overrides) -> Sweep:
    """Draw up to ``max_examples`` cases the API can express and check each (from its own
    strategy, or from ``cases``: e.g. real layers).

    A drawn case the API cannot express is counted with the reason and replaced by another; if
    every one drawn is, the sweep says so (status ``unsupported``). A failing case is shrunk by
    Hypothesis; with ``raise_on_failure`` its report is raised as an ``AssertionError``, else
    kept in ``Sweep.failure``. The cases drawn depend only on ``seed`` (or the profile's
    randomness): no example database is read or written, so no case saved for another API or in
    another directory leaks in. With ``peer`` (a framework other than the API's), each agreeing
    case's error is also measured relative to that framework's on the same case. With
    ``backward``, each case comes with a cotangent and the API's gradients are checked instead
    (:func:`check_backward`).
    """
    peer = peer if peer != api.framework and not backward else None
    result = Sweep(api, peer=peer, direction="backward" if backward else "forward")
    if not api.mutation:
        SESSION_SWEEPS.append(result)
    profile = settings()
    config = settings(
        profile,
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=profile.derandomize if derandomize is None else derandomize,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
        phases=[p for p in Phase if p is not Phase.explain],
        report_multiple_bugs=False,
    )
    recording = [True]
    api.active_limits()  # probes run here, before Hypothesis draws

    @config
    @given(api.strategy(**overrides) if cases is None else cases)
    def run(case: Case) -> None:
        reason = api.why_not(case)
        if reason:
            if recording[0]:
                result.record(Outcome(UNSUPPORTED, case, detail=reason))
            assume(False)
        outcome = check_case(api, case, entries, peer if recording[0] else None)
        if recording[0]:
            result.record(outcome)
        if outcome.status == FAIL:
            recording[0] = False  # shrinking: its attempts are not the sweep's statistics
            result.failing_case = case  # the last one raised is the shrunk one
            result.failing_map = (outcome.comparison.mismatched
                                  if outcome.comparison is not None else None)
            raise AssertionError(outcome.detail)

    @config
    @given(with_cotangent(api.strategy(**overrides) if cases is None else cases))
    def run_backward(example) -> None:
        case, cotangent = example
        reason = api.why_not_backward(case)
        if reason:
            if recording[0]:
                result.record(Outcome(UNSUPPORTED, case, detail=reason))
            assume(False)
        outcome = check_backward(api, case, cotangent)
        if recording[0]:
            result.record(outcome)
        if outcome.status == FAIL:
            recording[0] = False
            result.failing_case = case
            raise AssertionError(outcome.detail)

    if backward:
        run = run_backward
    if seed is not None:
        run = hypothesis.seed(seed)(run)
    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        result.all_unsupported = True
    except (AssertionError, hypothesis.errors.FlakyFailure) as error:
        # (flaky: the framework answered the same case differently on another run, e.g.
        # oneDNN's primitive cache deciding which kernel runs)
        verdicts = (backends.bisect(api, result.failing_case)
                    if result.failing_case and not backward else [])
        result.failure = "\n".join(filter(None, [str(error), backends.bisection_text(verdicts)]))
        if raise_on_failure:
            raise AssertionError(result.failure) from None
    if result.stale and raise_on_failure:
        raise AssertionError(stale_message(result))
    return result


def stale_message(result: Sweep) -> str:
    lines = [f"{result.api.id}: registered divergences matched cases that all agreed with the "
             f"oracle (fixed in {result.api.framework} {result.api.version}? narrow `versions`):"]
    for d in result.stale:
        lines.append(f"  when {d.when.text!r}: {d.why}")
    return "\n".join(lines)


def broken(api: Api, name: str, mutate) -> Api:
    """``api`` with its output post-processed by ``mutate(case, output, call)``: for meta-tests
    that prove the sweep catches a wrong framework. It calls the framework as ``api`` does (its
    limits are the same; a probe of one sees what the framework raises)."""
    def call(case):
        return mutate(case, to_numpy(api.call(case)), api.call)

    return dataclasses.replace(api, name=f"{api.name}<{name}>", call=call, mutation=name)
