"""Reports read back from JSON and merged: shards of a sweep, cells of a version matrix and
pytest-xdist workers give one report; a file that is no convparity report is refused, saying
where and why."""

import json
import subprocess
import sys

import pytest

from convparity.adapters import parity, report
from convparity.adapters.registry import get_api


@pytest.fixture(scope="module")
def shard():
    """A real sweep's JSON report (SciPy: always installed with the test extra)."""
    sweeps = [parity.sweep(get_api("scipy.signal.correlate2d"), max_examples=4, seed=1),
              parity.sweep(get_api("scipy.signal.correlate[1d]"), max_examples=4, seed=1)]
    return report.to_json(report.from_sweeps(sweeps, {"examples": 4, "seed": 1}))


def as_version(text: str, version: str) -> str:
    """The same report as if another version had run it (a second matrix cell)."""
    data = json.loads(text)
    for row in data["results"]:
        row["version"] = version
    data["convparity"]["frameworks"]["scipy"] = version
    return json.dumps(data)


def test_a_json_report_reads_back_to_the_same_rendering(shard):
    read = report.parse(shard, "shard.json")
    assert report.to_json(read) == shard
    assert [r["label"] for r in read.rows] == ["scipy.signal.correlate2d",
                                               "scipy.signal.correlate[1d]"]


def test_merged_cells_are_columns_side_by_side(shard):
    merged = report.merge([report.parse(shard, "a.json"),
                           report.parse(as_version(shard, "0.9"), "b.json")])
    assert len(merged.rows) == 4 and len(merged.sources) == 2
    page = report.to_html(merged)
    # one column per version, older first; the framework line names both
    assert page.index("scipy 0.9<br>") < page.index(f"scipy {merged.rows[0]['version']}<br>")
    assert f"scipy {merged.rows[0]['version']} / 0.9" in report.to_markdown(merged)
    assert report.summary(merged).startswith("4 agree")
    # merged again, the merged report reads back with both runs' headers
    again = report.parse(report.to_json(merged), "merged.json")
    assert again.sources == merged.sources and again.rows == merged.rows


@pytest.mark.parametrize("mutate, message", [
    (lambda d: "[1, 2", "m.json: not JSON"),
    (lambda d: {"results": []}, "m.json: expected a convparity JSON report"),
    (lambda d: d["results"][1].__delitem__("label"), r"results\[1\]: no 'label'"),
    (lambda d: d["results"][0].update(status="maybe"), "status='maybe': expected one of"),
    (lambda d: d["results"][0].update(ndim="2"), "ndim='2': expected int"),
    (lambda d: d["results"][0].update(worst_ulps="lots"), "worst_ulps='lots'"),
    (lambda d: d["results"][0].update(error_histogram=[1, 2]), "expected 13 counts"),
    (lambda d: d["results"][0]["by_dtype"].update(float32={"status": "agree"}),
     r"by_dtype\['float32'\]: no 'counts'"),
])
def test_a_file_that_is_no_report_is_refused_saying_where(shard, mutate, message):
    data = json.loads(shard)
    changed = mutate(data)
    text = changed if isinstance(changed, str) else json.dumps(
        changed if isinstance(changed, dict) else data)
    with pytest.raises(ValueError, match=message):
        report.parse(text, "m.json")


def test_merge_reports_writes_one_report_from_several(shard, tmp_path):
    (tmp_path / "a.json").write_text(shard)
    (tmp_path / "b.json").write_text(as_version(shard, "0.9"))
    done = subprocess.run([sys.executable, "-m", "convparity.adapters.cli", "merge-reports",
                           "a.json", "b.json", "--report", "all.md", "--report", "all.json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "4 agree" in done.stdout
    merged = report.read(str(tmp_path / "all.json"))
    assert len(merged.rows) == 4
    assert (tmp_path / "all.md").read_text().count("`scipy.signal.correlate2d`") == 2
    (tmp_path / "bad.json").write_text("{}")
    done = subprocess.run([sys.executable, "-m", "convparity.adapters.cli", "merge-reports",
                           "a.json", "bad.json", "--report", "x.md"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "bad.json: expected a convparity JSON report" in done.stderr


WORKERS_TEST = """
import pytest
from convparity.adapters import parity
from convparity.adapters.registry import get_api

@pytest.mark.parametrize("name", ["scipy.signal.correlate2d", "scipy.signal.convolve2d",
                                  "scipy.signal.correlate[1d]", "scipy.signal.correlate[2d]"])
def test_sweep(name):
    parity.sweep(get_api(name), max_examples=3, seed=1)
"""


def test_pytest_xdist_workers_reports_are_merged(tmp_path):
    (tmp_path / "test_x.py").write_text(WORKERS_TEST)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
                           "--parity-report=r.json", "test_x.py"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout
    merged = report.read(str(tmp_path / "r.json"))
    assert sorted(r["label"] for r in merged.rows) == [
        "scipy.signal.convolve2d", "scipy.signal.correlate2d", "scipy.signal.correlate[1d]",
        "scipy.signal.correlate[2d]"]
    assert len(merged.sources) == 2  # each worker's header
