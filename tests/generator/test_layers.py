"""The generator's two jobs stay apart: the repository contract never imports the template builders.

``generator.contract`` is what the sync, the preview and ``changegate validate`` read a repository
with; ``generator.bootstrap`` builds the bootstrap template from it. An import the other way round
would make every sync and preview load troposphere's builders and tie the contract to one
template's shape.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GENERATOR = Path(__file__).resolve().parents[2] / "generator"


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("path", sorted((GENERATOR / "contract").rglob("*.py")), ids=lambda p: p.name)
def test_the_contract_never_imports_the_bootstrap_builders(path: Path) -> None:
    assert not [m for m in imported_modules(path) if m.startswith("generator.bootstrap")]


@pytest.mark.parametrize("path", sorted(GENERATOR.glob("*.py")), ids=lambda p: p.name)
def test_the_shared_modules_import_neither_subpackage(path: Path) -> None:
    assert not [m for m in imported_modules(path)
                if m.startswith(("generator.bootstrap", "generator.contract"))]


def test_the_test_sees_the_imports_it_looks_for() -> None:
    # the walker itself: it finds a bootstrap import where there is one
    assert "generator.bootstrap.template" in imported_modules(GENERATOR / "bootstrap" / "render.py")
