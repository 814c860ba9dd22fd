"""strategy/ is pure: no imports of adapters, no clock, no environment, no files."""

from __future__ import annotations

import ast
from pathlib import Path

import trackrecord.strategy

FORBIDDEN_MODULES = ("trackrecord.market", "trackrecord.ledger", "trackrecord.cli", "trackrecord.brokers",
                     "trackrecord.engine", "trackrecord.config", "sqlalchemy", "pandas", "os", "yfinance")
FORBIDDEN_CALLS = ("now", "today", "utcnow", "getenv", "open", "read_text")


def test_strategy_modules_import_no_adapter_and_read_no_clock() -> None:
    for path in Path(trackrecord.strategy.__file__).parent.glob("*.py"):
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
