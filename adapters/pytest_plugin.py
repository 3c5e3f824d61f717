"""The convparity pytest plugin (entry point ``pytest11``): parity options, Hypothesis profiles,
a header naming the frameworks found, the divergence file checked for entries that matched
nothing, and an optional report of every parity sweep run in the session.

Import-light: nothing here imports a framework.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

PROFILES = {
    # each derives from Hypothesis's default explicitly: one without a parent would silently
    # inherit the built-in "ci" profile when CI is set
    "convparity-dev": dict(deadline=None, suppress_health_check=[HealthCheck.too_slow]),
    "convparity-ci": dict(deadline=None, suppress_health_check=[HealthCheck.too_slow],
                          derandomize=True, database=None, print_blob=True),
    "convparity-thorough": dict(deadline=None, suppress_health_check=[HealthCheck.too_slow],
                                max_examples=1000),
}
# What Hypothesis has loaded when nobody chose: its default, or its own "ci" when CI is set
UNCHOSEN = ("default", "ci")


def pytest_addoption(parser):
    group = parser.getgroup("convparity", "framework parity (convparity)")
    group.addoption("--parity-frameworks", default=None, metavar="NAMES",
                    help="comma-separated frameworks to check (default: every installed one)")
    group.addoption("--parity-backends", default=None, metavar="NAMES",
                    help="comma-separated backends to check: eager and the compiled ones "
                         "(jit, xla, compile; default: every one)")
    group.addoption("--parity-examples", type=int, default=100, metavar="N",
                    help="Hypothesis examples per framework API (default 100)")
    group.addoption("--parity-report", action="append", default=[], metavar="PATH",
                    help="write a report of the session's parity sweeps (.html, .md or .json; "
                         "repeatable)")


def pytest_configure(config):
    """Registers convparity's profiles and loads one, ``convparity-ci`` when ``CI`` is set, else
    ``convparity-dev`` — unless a profile was chosen: ``--hypothesis-profile``,
    ``HYPOTHESIS_PROFILE``, or one a conftest loaded (never replaced)."""
    for name, options in PROFILES.items():
        settings.register_profile(name, parent=settings.get_profile("default"), **options)
    if config.getoption("hypothesis_profile", default=None):
        return
    if os.environ.get("HYPOTHESIS_PROFILE"):
        settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
    elif settings._current_profile in UNCHOSEN:
        settings.load_profile("convparity-ci" if os.environ.get("CI") else "convparity-dev")


def pytest_report_header(config):
    from convparity.adapters.environment import describe
    from convparity.adapters.registry import installed_frameworks

    found = ", ".join(f"{k} {v}" for k, v in installed_frameworks().items()) or "none"
    return [f"convparity: frameworks {found}; {config.getoption('parity_examples')} examples "
            f"per API; Hypothesis profile {settings._current_profile}",
            f"convparity: machine {describe()}"]


def selected(config, framework: str) -> bool:
    """Whether ``--parity-frameworks`` includes ``framework``."""
    return chosen(config.getoption("parity_frameworks"), framework)


def chosen(names: str | None, name: str) -> bool:
    """Whether the comma-separated ``names`` (None: every one) include ``name``."""
    return not names or name in {n.strip() for n in names.split(",")}


def skip_unless_runnable(config, api) -> None:
    """Skips the running test, saying why, unless ``api`` can run here and was chosen: its
    framework installed and in ``--parity-frameworks``, its backend in ``--parity-backends``,
    and what it needs on this machine found."""
    from convparity.adapters.registry import is_installed

    if not is_installed(api.framework):
        pytest.skip(f"{api.framework} is not installed")
    if not selected(config, api.framework):
        pytest.skip(f"{api.framework} is not in --parity-frameworks")
    if not chosen(config.getoption("parity_backends"), api.backend_name):
        pytest.skip(f"{api.backend_name} is not in --parity-backends")
    reason = api.why_unavailable()
    if reason:
        pytest.skip(reason)


def pytest_terminal_summary(terminalreporter, config):
    from convparity.adapters import divergences, parity, report

    if parity.SESSION_SWEEPS:
        tested = [s.api for s in parity.SESSION_SWEEPS]
        unmatched = [d for d in divergences.load()
                     if any(d.covers(api) for api in tested) and d not in divergences.MATCHED]
        if unmatched:
            terminalreporter.section("convparity: divergences that matched nothing")
            for d in unmatched:
                terminalreporter.write_line(
                    f"warning: {', '.join(d.api)} when {d.when.text!r} matched no drawn case "
                    f"(stale, or not reached with {config.getoption('parity_examples')} "
                    f"examples)", yellow=True)
    paths = config.getoption("parity_report")
    written = session_report(config) if paths else None
    if not written or not written.rows:
        return
    for path in paths:
        report.write(path, written)
        terminalreporter.write_line(f"convparity report written: {path}")


WORKER_REPORTS = pytest.StashKey[list]()


def session_report(config):
    """The report of this process's parity sweeps, merged with those pytest-xdist's workers
    sent (each worker sweeps its share of the APIs)."""
    from convparity.adapters import parity, report

    own = [report.from_sweeps(parity.SESSION_SWEEPS, report_settings(config))] \
        if parity.SESSION_SWEEPS else []
    sent = [report.parse(text, "a pytest-xdist worker's report")
            for text in config.stash.get(WORKER_REPORTS, [])]
    return report.merge(own + sent)


def report_settings(config) -> dict:
    return {"examples": config.getoption("parity_examples"), "seed": "pytest"}


def pytest_sessionfinish(session):
    """In a pytest-xdist worker asked for a report: its sweeps' report, as JSON, sent to the
    controller (which merges every worker's)."""
    config = session.config
    if hasattr(config, "workeroutput") and config.getoption("parity_report"):
        from convparity.adapters import parity, report

        if parity.SESSION_SWEEPS:
            config.workeroutput["convparity_report"] = report.to_json(
                report.from_sweeps(parity.SESSION_SWEEPS, report_settings(config)))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: keep what a finished worker sent."""
    text = getattr(node, "workeroutput", {}).get("convparity_report")
    if text:
        node.config.stash.setdefault(WORKER_REPORTS, []).append(text)
