"""Imports point downwards only, as docs/architecture.md lays out."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOWER_LAYERS = ["connectors", "transforms", "validation", "governance"]
UPPER_PACKAGES = {"hrbridge", "dags", "plugins"}
IO_MODULES = {"requests", "sqlalchemy", "psycopg", "pymysql", "socket", "urllib.request", "http.client"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", LOWER_LAYERS)
def test_lower_layers_never_import_upper_ones(layer: str) -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(n for n in _imports(path) if n.split(".")[0] in UPPER_PACKAGES)
        for path in (REPO / layer).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_transforms_do_no_io() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(
            n for n in _imports(path) if any(n == m or n.startswith(m + ".") for m in IO_MODULES)
        )
        for path in (REPO / "transforms").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_dags_hold_no_sql_or_http() -> None:
    for path in (REPO / "dags").glob("*.py"):
        direct = {n for n in _imports(path) if n.split(".")[0] in {"requests", "sqlalchemy", "psycopg"}}
        assert not direct, f"{path.name} does I/O itself: {sorted(direct)}"
