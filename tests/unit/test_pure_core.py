"""The pure core (domain, analytics, strategy, risk): no imports of adapters, no clock,
no environment, no files (DESIGN.md, "Pure core, adapters at the edge")."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PURE_PACKAGES = ("trackrecord.domain", "trackrecord.analytics", "trackrecord.strategy", "trackrecord.risk")

FORBIDDEN_MODULES = ("trackrecord.market", "trackrecord.ledger", "trackrecord.cli", "trackrecord.brokers",
                     "trackrecord.engine", "trackrecord.config", "trackrecord.bootstrap", "trackrecord.workspace",
                     "sqlalchemy", "pandas", "os", "yfinance", "ib_async", "typer", "sqlite3")
FORBIDDEN_CALLS = ("now", "today", "utcnow", "getenv", "open", "read_text")


@pytest.mark.parametrize("package", PURE_PACKAGES)
def test_pure_modules_import_no_adapter_and_read_no_clock(package: str) -> None:
    for path in Path(importlib.import_module(package).__file__).parent.glob("*.py"):  # type: ignore[arg-type]
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                assert not any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES), (path.name, name)
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                assert called not in FORBIDDEN_CALLS, (path.name, called)
