"""dashboard/app.py is wiring: each function registers one group of routes (a page, an API area,
the login, the one write), none grows back into one 200-line closure."""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "src" / "trackrecord" / "dashboard" / "app.py"
MAX_LINES = 45


def _top_level_functions() -> dict[str, int]:
    tree = ast.parse(APP.read_text(encoding="utf-8"))
    return {node.name: node.end_lineno - node.lineno + 1 for node in tree.body  # type: ignore[operator]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def test_dashboard_create_app_is_small_functions_one_per_route_group() -> None:
    sizes = _top_level_functions()
    assert sizes["create_app"] <= 30, sizes["create_app"]
    too_long = {name: lines for name, lines in sizes.items() if lines > MAX_LINES}
    assert not too_long, too_long
    groups = {name for name in sizes if name.startswith("_add_")}
    assert {"_add_record_api", "_add_orders_api", "_add_ledger_api", "_add_pages", "_add_login",
            "_add_kill_switch"} <= groups
