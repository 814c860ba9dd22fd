"""The upper floors' dependency rules (issue 9, item 3), checked with ``ast`` like the pure
core's (``test_pure_core.py``):

- the engine receives what it needs: nothing under ``engine/`` imports the composition root
  (``trackrecord.bootstrap``) or the command line (``trackrecord.cli``), not even for typing;
  nor does ``workspace_init``, which ``bootstrap`` itself wires;
- the command line parses, calls and prints: nothing under ``cli/`` imports SQLAlchemy;
- no import cycle between our modules (function-local imports included: a lazy import that
  only works because the other side is lazy too is still a cycle);
- no ``x.astype(date)``: numpy calls a Python function from C for it and drops a Ctrl-C raised there;
- SQL (SQLAlchemy Core or text, ``sqlite3``, our table definitions or SQL helpers, SQL
  statements in string literals) lives only in ``ledger/`` and in the two adapters that own
  their tables: the simulated broker's book and the price store.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import trackrecord

from tests.unit.test_import_cycles import _cycle_through, _graph

SRC = Path(trackrecord.__file__).parent
SQL_HOMES = ("ledger/", "brokers/sim/store.py", "market/store.py")
SQL_MODULES = ("sqlite3", "trackrecord.ledger.sql", "trackrecord.ledger.schema")
# SQLAlchemy names that are no SQL: the connection types, URL parsing, its exceptions.
SQLALCHEMY_NON_SQL = ("sqlalchemy.engine", "sqlalchemy.exc")
SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|PRAGMA|BEGIN|COMMIT|ROLLBACK|CREATE TABLE)\b")


def _sources(under: str = "") -> list[Path]:
    return sorted((SRC / under).rglob("*.py")) if under else sorted(SRC.rglob("*.py"))


def _relative(path: Path, root: Path = SRC) -> str:
    return path.relative_to(root).as_posix()


def _imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, inside functions and TYPE_CHECKING too."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{a.name}") for a in node.names)
    return found


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _offences(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{_relative(p)}:{line} imports {name}" for p in paths for line, name in _imported(p)
            if any(_within(name, f) for f in forbidden)]


def test_the_engine_imports_neither_the_composition_root_nor_the_command_line() -> None:
    paths = [*_sources("engine"), SRC / "workspace_init.py"]
    assert _offences(paths, ("trackrecord.bootstrap", "trackrecord.cli")) == []


def test_nothing_below_the_command_line_imports_it() -> None:
    """The reports, the dashboard, the scheduler and the notebook API share the CLI's words
    through ``analytics.wording``, never by reaching up into ``cli``."""
    below = [p for p in _sources() if not _relative(p).startswith("cli/") and _relative(p) != "__main__.py"]
    assert _offences(below, ("trackrecord.cli",)) == []


def test_the_layers_the_engine_serves_receive_their_wiring() -> None:
    """Reports, reconciliation, the dashboard and the notebook API are handed open services
    (``trackrecord.services``); only the command line (and the scheduler that runs its
    jobs) builds them in ``bootstrap``."""
    paths = [*_sources("reports"), *_sources("reconcile"), *_sources("dashboard"), SRC / "api.py"]
    assert _offences(paths, ("trackrecord.bootstrap",)) == []


def test_the_ledger_depends_on_nothing_that_shows_or_runs_the_record() -> None:
    upper = ("trackrecord.engine", "trackrecord.reports", "trackrecord.reconcile", "trackrecord.dashboard",
             "trackrecord.ops", "trackrecord.cli", "trackrecord.bootstrap", "trackrecord.api")
    assert _offences(_sources("ledger"), upper) == []


def test_the_command_line_imports_no_sqlalchemy() -> None:
    assert _offences(_sources("cli"), ("sqlalchemy",)) == []


def test_no_import_cycle_between_our_modules() -> None:
    graph = _graph()
    cycles = {tuple(sorted(c[:-1])): c for m in sorted(graph) if (c := _cycle_through(graph, m))}
    assert [" -> ".join(c) for c in cycles.values()] == []


def _sql_in(path: Path, root: Path = SRC) -> list[str]:
    where = _relative(path, root)
    found = []
    for line, name in _imported(path):
        vendor_sql = _within(name, "sqlalchemy") and not any(_within(name, ok) for ok in SQLALCHEMY_NON_SQL)
        if vendor_sql or any(_within(name, m) for m in SQL_MODULES):
            found.append(f"{where}:{line} imports {name}")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value):
            found.append(f"{where}:{node.lineno} has the SQL {node.value[:40]!r}")
    return found


def test_sql_lives_only_in_the_ledger_and_the_two_table_owning_adapters() -> None:
    outside = [p for p in _sources() if not any(_relative(p).startswith(home) for home in SQL_HOMES)]
    assert [offence for p in outside for offence in _sql_in(p)] == []


def test_the_sql_rule_sees_each_style_of_sql(tmp_path: Path) -> None:
    """The rule above is only as good as its eyes: each style of SQL the code base has used
    (Core, ``text``, ``sqlite3``, our SQL helpers and tables, a statement in a string) is seen."""
    sample = tmp_path / "sample.py"
    sample.write_text("from sqlalchemy import select\nimport sqlite3\nfrom trackrecord.ledger.sql import fetch_one\n"
                      "from trackrecord.ledger.schema import fills\nfrom sqlalchemy.engine import Engine\n"
                      "QUERY = 'SELECT seq FROM events'\nNOTE = 'select a broker'\n")
    found = [offence.split(" ", 1)[1] for offence in _sql_in(sample, tmp_path)]
    assert found == ["imports sqlalchemy", "imports sqlalchemy.select", "imports sqlite3",
                     "imports trackrecord.ledger.sql", "imports trackrecord.ledger.sql.fetch_one",
                     "imports trackrecord.ledger.schema", "imports trackrecord.ledger.schema.fills",
                     "has the SQL 'SELECT seq FROM events'"]



def test_no_module_asks_numpy_for_the_date_type() -> None:
    """``x.astype(date)`` makes numpy call a Python function from C and drop what it raises,
    a Ctrl-C included (``test_backtest_user_interrupt``): ``.item()`` and ``.tolist()`` give
    the same dates from a datetime64[D] value without that call."""
    found = [f"{_relative(path)}:{node.lineno}" for path in _sources()
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "astype"
             and any(isinstance(a, ast.Name) and a.id in ("date", "datetime") for a in node.args)]
    assert found == []
