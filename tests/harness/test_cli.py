"""The `convparity` command, run for real as a subprocess on a small sweep, and in-process with a
deliberately broken API for the failure path (exit 1, saved case, `repro`)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from convparity.adapters import cli, parity
from convparity.adapters.registry import framework_apis, get_api, is_installed

pytestmark = pytest.mark.skipif(not is_installed("scipy"), reason="scipy is not installed")


def convparity(*args, cwd):
    return subprocess.run([sys.executable, "-m", "convparity.adapters.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_run_sweeps_prints_the_matrix_and_writes_every_report(tmp_path):
    done = convparity("run", "--frameworks", "scipy", "--ops", "correlate,convolve,conv",
                      "--examples", "10", "--report", "r.json", "--report", "r.md",
                      "--report", "r.html", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "scipy.signal.correlate2d" in done.stdout and "agree" in done.stdout
    swept = [api for api in framework_apis("scipy")
             if api.op in ("correlate", "convolve", "conv")]
    assert f"{len(swept)}/{len(swept)}" in done.stderr  # the progress bar reached the end
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["convparity"]["frameworks"]["scipy"]
    assert {r["api"] for r in data["results"]} >= {"scipy.signal.correlate2d",
                                                   "scipy.signal.convolve2d"}
    assert all(r["status"] == "agree" and r["backend"] == "eager" for r in data["results"])
    assert "| correlate 2-D | `scipy.signal.correlate2d` | eager | agree" in (
        tmp_path / "r.md").read_text()
    assert '<table id="matrix">' in (tmp_path / "r.html").read_text()


def test_frameworks_lists_versions_and_limits(tmp_path):
    done = convparity("frameworks", cwd=tmp_path)
    assert done.returncode == 0
    assert "scipy 1." in done.stdout and "backends: eager\n" in done.stdout
    assert "scipy.signal.correlate[2d]" in done.stdout and "rejects float16" in done.stdout


def test_bad_options_are_refused(tmp_path):
    done = convparity("run", "--ops", "deconv", cwd=tmp_path)
    assert done.returncode != 0 and "--ops: 'deconv' is not one of" in done.stderr
    done = convparity("run", "--backends", "eager,jitted", cwd=tmp_path)
    assert done.returncode != 0 and "--backends: 'jitted' is not one of eager, " in done.stderr


@pytest.mark.skipif(not is_installed("torch"), reason="torch is not installed")
def test_a_backend_that_cannot_run_here_is_listed_and_skipped_saying_why(monkeypatch, capsys):
    monkeypatch.setenv("CXX", "no-such-c++")  # inductor's C++ compiler on CPU
    why = "torch.compile's inductor needs a C++ compiler on CPU: 'no-such-c++' was not found"
    assert cli.main(["frameworks"]) == 0
    assert f"compile (torch.compile (inductor, C++ on CPU): unavailable here, {why})" in (
        capsys.readouterr().out)
    assert cli.main(["run", "--frameworks", "torch", "--backends", "compile", "--ops",
                     "max_pool", "--examples", "2"]) == 0
    out = capsys.readouterr().out
    assert f"skipped torch under compile: {why}" in out and "max_pool2d" not in out


def test_a_failure_exits_1_saves_the_case_and_repro_reruns_it(tmp_path, monkeypatch, capsys):
    api = get_api("scipy.signal.correlate2d")
    flipped = parity.broken(api, "flipped", lambda case, y, call: np.flip(y).copy())
    monkeypatch.setattr(cli, "framework_apis", lambda framework: [flipped])
    monkeypatch.setattr(cli, "get_api", lambda api_id: flipped)
    status = cli.main(["run", "--frameworks", "scipy", "--ops", "correlate", "--examples", "50",
                       "--save-failures", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 1 and "FAIL" in out and "disagrees with the oracle" in out
    saved = list(tmp_path.glob("*.json"))
    assert len(saved) == 1
    assert cli.main(["repro", str(saved[0])]) == 1
    assert "fail" in capsys.readouterr().out


@pytest.mark.skipif(not is_installed("torch"), reason="torch is not installed")
def test_run_layers_sweeps_the_zoo_for_the_apis_it_reaches(tmp_path):
    done = convparity("run", "--frameworks", "torch", "--backends", "eager", "--ops",
                      "max_pool", "--layers", "--examples", "3", "--report", "r.json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "r.json").read_text())
    # the zoo has a 2-D max pool only (ResNet-50's, after the stem)
    assert {r["api"] for r in data["results"]} == {"torch.nn.functional.max_pool2d",
                                                   "torch.nn.MaxPool2d"}
    assert all(r["status"] == "agree" for r in data["results"])


@pytest.mark.skipif(not is_installed("torch"), reason="torch is not installed")
def test_run_backward_reports_both_passes_per_api(tmp_path):
    done = convparity("run", "--frameworks", "torch", "--backends", "eager", "--ops",
                      "avg_pool", "--backward", "--examples", "3", "--report", "r.json",
                      "--report", "r.md", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    pairs = {(r["api"], r["direction"]) for r in results}
    assert ("torch.nn.functional.avg_pool2d", "forward") in pairs
    assert ("torch.nn.functional.avg_pool2d", "backward") in pairs
    assert len(pairs) == 2 * 6  # F.* and nn.* in three ranks, both passes
    assert "`torch.nn.AvgPool3d (backward)` | eager | agree" in (tmp_path / "r.md").read_text()
