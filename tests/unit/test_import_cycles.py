"""No import cycles in the command line's entry points (issue 9, item 3): the console
script's module (``cli/entry.py``) is the only one that imports both the fast path and
the full command line; neither imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import trackrecord

SRC = Path(trackrecord.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every trackrecord module ``path`` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {name for name in found if name.startswith("trackrecord")}


def _graph() -> dict[str, set[str]]:
    """module -> the modules of ours it imports. A module's own packages are left out:
    Python has started them before the module runs (``from pkg import sibling`` inside
    ``pkg.mod`` is no cycle through ``pkg/__init__.py``)."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name and not name.startswith(m + ".")}
            for name, path in modules.items()}


def _cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_cli_entry_points_have_no_import_cycle() -> None:
    graph = _graph()
    for module in ("trackrecord.cli.app", "trackrecord.cli.entry", "trackrecord.cli.kill_switch_fast"):
        assert _cycle_through(graph, module) is None, _cycle_through(graph, module)


def test_the_fast_path_and_the_ledger_append_import_no_command_line() -> None:
    graph = _graph()
    for module in ("trackrecord.cli.kill_switch_fast", "trackrecord.ledger.append", "trackrecord.ledger.projections"):
        assert not {m for m in graph[module] if m.startswith("trackrecord.cli.app")}, module
