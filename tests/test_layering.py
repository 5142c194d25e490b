"""The import rules that keep the layers apart, checked on the source (no import is executed).

tradepipe (the CLI) -> bench, devkit -> backtest -> services -> shared. Services never import each other; nothing
imports tests; developer tools (devkit) are never imported by services or shared.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("shared", "services", "backtest", "devkit", "bench", "tradepipe")
FORBIDDEN = {
    "shared": ("services", "backtest", "devkit", "bench", "tradepipe", "tests"),
    "services": ("backtest", "devkit", "bench", "tradepipe", "tests"),
    "backtest": ("devkit", "bench", "tradepipe", "tests"),
    "devkit": ("bench", "tradepipe", "tests"),
    "bench": ("tradepipe", "tests"),
    "tradepipe": ("tests",),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules(package: str, root: Path = ROOT) -> list[Path]:
    return sorted((root / package).rglob("*.py"))


def violations(package: str, root: Path = ROOT) -> list[str]:
    return [
        f"{path.relative_to(root)} imports {name}"
        for path in _modules(package, root)
        for name in _imports(path)
        if name.split(".")[0] in FORBIDDEN[package]
    ]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_a_layer_above_it(package: str) -> None:
    assert not violations(package), violations(package)


def test_services_never_import_each_other() -> None:
    broken = []
    for path in _modules("services"):
        parts = path.relative_to(ROOT / "services").parts
        if len(parts) < 2:
            continue
        own = parts[0]
        for name in _imports(path):
            pieces = name.split(".")
            if pieces[0] == "services" and len(pieces) > 1 and pieces[1] != own:
                broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not broken, broken


def test_the_rules_see_a_violation(tmp_path: Path) -> None:
    """The checker itself: a service module importing a test helper or a dev tool is caught."""
    (tmp_path / "services" / "demo").mkdir(parents=True)
    (tmp_path / "services" / "demo" / "bad.py").write_text("from tests.helpers import x\nimport devkit.stack\n")
    assert sorted(violations("services", tmp_path)) == [
        "services/demo/bad.py imports devkit.stack",
        "services/demo/bad.py imports tests.helpers",
    ]
