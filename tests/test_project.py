"""The repository's own rules, checked: lint clean (which bans bare `reference`/`adapters`
imports), and the dependency direction adapters -> reference, never back."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def imported_modules(folder: str) -> dict[str, set[str]]:
    found = {}
    for path in (ROOT / folder).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[path.name] = names
    return found


def test_reference_needs_only_numpy_and_itself():
    allowed_roots = {"numpy", "convparity", "__future__"} | set(sys.stdlib_module_names)
    for name, modules in imported_modules("reference").items():
        if name == "strategies.py":
            allowed = allowed_roots | {"hypothesis", "ml_dtypes"}
        else:
            allowed = allowed_roots
        for module in modules:
            assert module.split(".")[0] in allowed, f"reference/{name} imports {module}"
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
