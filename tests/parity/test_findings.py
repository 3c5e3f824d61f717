"""What convparity found, kept: each saved failing case under findings/ is, on this machine,
either a registered divergence whose bisection names the backend that gets it right (where the
machine has the bug) or in agreement with the oracle (where it has not): never a bare FAIL, never
a silent pass where the bug lives. `convparity repro` reads the same files."""

import json
import pathlib
import subprocess
import sys

import pytest

from convparity.adapters import environment, parity
from convparity.adapters.registry import get_api, is_installed
from convparity.reference.case import Case

FINDINGS = pathlib.Path(__file__).resolve().parents[2] / "findings"

# file -> (the machine facts under which the framework is wrong there, the backend that agrees)
WHERE_WRONG = {
    "torch.nn.functional.conv2d.json": (("onednn_amx",), "oneDNN disabled"),
    "torch.nn.Conv3d.json": (("onednn_amx",), "oneDNN disabled"),
    # oneDNN's brg_conv_fwd:avx512_core: every AVX-512 CPU, not only those with AMX
    "tensorflow.nn.conv3d.json": (("avx512f", "tf_onednn"),
                                  "oneDNN disabled (TF_ENABLE_ONEDNN_OPTS=0)"),
}


def load(name: str):
    data = json.loads((FINDINGS / name).read_text())
    return get_api(data["api"]), Case.from_dict(data["case"])


def test_every_finding_is_listed():
    assert {p.name for p in FINDINGS.glob("*.json")} == set(WHERE_WRONG)


@pytest.mark.parametrize("name", sorted(WHERE_WRONG))
def test_a_finding_is_a_known_divergence_where_the_bug_lives(name):
    api, case = load(name)
    if not is_installed(api.framework):
        pytest.skip(f"{api.framework} is not installed")
    facts, fixed_by = WHERE_WRONG[name]
    outcome = parity.check_case(api, case)
    if all(environment.facts()[fact] for fact in facts):
        assert outcome.status == parity.DIVERGENCE, outcome.detail
        assert f"agrees with the oracle with {fixed_by}" in outcome.detail
    elif api.why_not(case):  # the framework cannot run it here at all (TF without oneDNN)
        assert outcome.status == parity.UNSUPPORTED, outcome.detail
    else:
        assert outcome.status == parity.AGREE, outcome.detail


@pytest.mark.parametrize("name", ["torch.nn.functional.conv2d.json"])
def test_repro_reruns_a_finding_and_bisects_it(name, tmp_path):
    api, _ = load(name)
    if not is_installed(api.framework):
        pytest.skip(f"{api.framework} is not installed")
    done = subprocess.run([sys.executable, "-m", "convparity.adapters.cli", "repro",
                           str(FINDINGS / name)], capture_output=True, text=True, cwd=tmp_path,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # never a bare FAIL
    if environment.facts()["onednn_amx"]:
        assert ": divergence" in done.stdout and "known divergence:" in done.stdout
        assert "Backend bisection:" in done.stdout
        assert "agrees with the oracle with oneDNN disabled" in done.stdout
    else:
        assert ": agree" in done.stdout
