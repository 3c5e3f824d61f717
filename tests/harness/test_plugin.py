"""The pytest plugin, loaded through its entry point in a fresh pytest run."""

import importlib.util
import subprocess
import sys

import pytest
from hypothesis import settings


def run_pytest(tmp_path, *args, test="def test_nothing():\n    pass\n"):
    (tmp_path / "test_x.py").write_text(test)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_options_header_and_profiles(tmp_path):
    help_text = run_pytest(tmp_path, "--help").stdout
    assert "framework parity (convparity)" in help_text
    for option in ("--parity-frameworks", "--parity-examples", "--parity-report"):
        assert option in help_text
    done = run_pytest(tmp_path)
    assert done.returncode == 0, done.stdout
    assert "convparity: frameworks" in done.stdout and "examples per API" in done.stdout


def test_profiles_derive_from_the_default_profile():
    # registered by the plugin in this very session
    for name in ("convparity-dev", "convparity-ci", "convparity-thorough"):
        assert settings.get_profile(name).deadline is None
    assert settings.get_profile("convparity-ci").derandomize
    assert settings.get_profile("convparity-thorough").max_examples == 1000
    assert (settings.get_profile("convparity-dev").max_examples
            == settings.get_profile("default").max_examples)


PROFILE_CHECK = """
from hypothesis import settings

def test_profile():
    assert settings._current_profile == {expected!r}, settings._current_profile
"""


@pytest.mark.parametrize("ci", [False, True], ids=["no CI", "CI"])
def test_a_profile_the_user_loaded_is_kept(tmp_path, monkeypatch, ci):
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    (tmp_path / "conftest.py").write_text(
        "from hypothesis import settings\n"
        "settings.register_profile('mine', max_examples=7)\n"
        "settings.load_profile('mine')\n")
    done = run_pytest(tmp_path, test=PROFILE_CHECK.format(expected="mine"))
    assert done.returncode == 0, done.stdout
    (tmp_path / "conftest.py").unlink()  # nobody chose: convparity's own
    expected = "convparity-ci" if ci else "convparity-dev"
    done = run_pytest(tmp_path, test=PROFILE_CHECK.format(expected=expected))
    assert done.returncode == 0, done.stdout


def test_loading_imports_no_framework(tmp_path):
    check = ("import sys\n"
             "def test_light():\n"
             "    assert not {'torch', 'tensorflow', 'scipy'} & set(sys.modules)\n")
    done = run_pytest(tmp_path, test=check)
    assert done.returncode == 0, done.stdout


SELECTION = """
import dataclasses
from convparity.adapters.pytest_plugin import skip_unless_runnable
from convparity.adapters.registry import get_api

api = get_api("scipy.signal.correlate2d")

def test_eager(pytestconfig):
    skip_unless_runnable(pytestconfig, api)

def test_jit(pytestconfig):
    skip_unless_runnable(pytestconfig, dataclasses.replace(api, backend="jit"))

def test_needs_a_widget(pytestconfig):
    skip_unless_runnable(pytestconfig, dataclasses.replace(api, unavailable=lambda: "no widget"))

def test_other_framework(pytestconfig):
    skip_unless_runnable(pytestconfig, dataclasses.replace(api, framework="torch"))
"""


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="scipy is not installed")
def test_selection_by_framework_and_backend_and_what_an_api_needs(tmp_path):
    done = run_pytest(tmp_path, "-rs", "--parity-backends=eager", "--parity-frameworks=scipy",
                      test=SELECTION)
    assert "1 passed, 3 skipped" in done.stdout, done.stdout
    for reason in ("jit is not in --parity-backends", "no widget",
                   "torch is not in --parity-frameworks"):
        assert reason in done.stdout
    done = run_pytest(tmp_path, "-rs", test=SELECTION)  # default: every framework and backend
    assert done.returncode == 0 and "no widget" in done.stdout, done.stdout
    assert "not in --parity" not in done.stdout
