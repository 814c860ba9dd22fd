"""``trackrecord kill-switch`` end to end: both paths (stdlib fast path and Typer), the
ledger they write, confirmation, JSON, exit codes, and ``verify`` afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import CliResult

from trackrecord.cli.kill_switch_fast import database_url, parse_argv, run_fast


Invoke = Callable[..., CliResult]


@pytest.fixture
def invoke(cli: Invoke) -> Invoke:
    """The normal command line in-process (tests/conftest.py)."""
    return cli


@pytest.fixture
def fast(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run the fast path in-process; ``code`` None means it handed over to the normal path."""

    def _fast(*args: object) -> CliResult:
        capsys.readouterr()
        code = run_fast([str(a) for a in args], environ={}, cwd=str(Path.cwd()))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)  # type: ignore[arg-type]

    return _fast


def kill_switch_events(invoke: Invoke, root: Path) -> list[dict]:
    result = invoke("--home", root, "ledger", "log", "--kind", "kill_switch.changed", "--json")
    assert result.code == 0, result
    return [entry["payload"] for entry in json.loads(result.out)]


def verifies(invoke: Invoke, root: Path) -> bool:
    result = invoke("--home", root, "verify", "--json")
    return result.code == 0 and json.loads(result.out)["ok"]


# -- the normal path ---------------------------------------------------------------------


def test_status_of_a_new_workspace_is_active(workspace: Path, invoke: Invoke) -> None:
    result = invoke("--home", workspace, "kill-switch", "status")
    assert result.code == 0 and result.out.startswith("kill switch ACTIVE: never changed")
    document = json.loads(invoke("--home", workspace, "kill-switch", "status", "--json").out)
    assert document == {"state": "ACTIVE", "reduce_only": False, "reason": "", "changed_at": None, "seq": None}


def test_activate_records_the_change_and_status_shows_it(workspace: Path, invoke: Invoke) -> None:
    result = invoke("--home", workspace, "kill-switch", "activate", "broker outage", "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert (document["state"], document["reason"], document["previous_state"]) == ("HALTED", "broker outage", "ACTIVE")
    status = invoke("--home", workspace, "kill-switch", "status")
    assert "HALTED since" in status.out and "broker outage" in status.out and "every new order is refused" in status.out
    assert kill_switch_events(invoke, workspace) == [
        {"state": "HALTED", "reason": "broker outage", "reduce_only": False, "previous_state": "ACTIVE"}]
    assert verifies(invoke, workspace)


def test_reduce_only_and_its_limits(workspace: Path, invoke: Invoke) -> None:
    assert invoke("--home", workspace, "kill-switch", "activate", "drawdown", "--reduce-only").code == 0
    status = json.loads(invoke("--home", workspace, "kill-switch", "status", "--json").out)
    assert status["state"] == "REDUCING" and status["reduce_only"] is True
    assert invoke("--home", workspace, "kill-switch", "activate", "worse").code == 0  # tighten to HALTED
    refused = invoke("--home", workspace, "kill-switch", "activate", "looser", "--reduce-only")
    assert refused.code == 2 and "would loosen" in refused.err and refused.out == ""
    assert len(kill_switch_events(invoke, workspace)) == 2


def test_activate_needs_a_reason(workspace: Path, invoke: Invoke) -> None:
    assert invoke("--home", workspace, "kill-switch", "activate").code == 2
    blank = invoke("--home", workspace, "kill-switch", "activate", "  ")
    assert blank.code == 2 and "give a reason" in blank.err
    assert kill_switch_events(invoke, workspace) == []


def test_deactivate_asks_for_the_typed_word(workspace: Path, invoke: Invoke) -> None:
    invoke("--home", workspace, "kill-switch", "activate", "test")
    wrong = invoke("--home", workspace, "kill-switch", "deactivate", stdin="deactivate\n")
    assert wrong.code == 2 and "stays HALTED" in wrong.err and "nothing was written" in wrong.err
    assert invoke("--home", workspace, "kill-switch", "deactivate", stdin="").code == 2  # no terminal answer
    assert json.loads(invoke("--home", workspace, "kill-switch", "status", "--json").out)["state"] == "HALTED"
    right = invoke("--home", workspace, "kill-switch", "deactivate", "--json", stdin="DEACTIVATE\n")
    assert right.code == 0, right
    assert "Type DEACTIVATE" in right.err
    document = json.loads(right.out)  # the prompt never reaches stdout
    assert (document["state"], document["previous_state"]) == ("ACTIVE", "HALTED")
    assert [e["state"] for e in kill_switch_events(invoke, workspace)] == ["HALTED", "ACTIVE"]
    assert verifies(invoke, workspace)


def test_deactivate_yes_and_to_reduce_only(workspace: Path, invoke: Invoke) -> None:
    invoke("--home", workspace, "kill-switch", "activate", "test")
    result = invoke("--home", workspace, "kill-switch", "deactivate", "--reduce-only", "--yes", "--reason", "easing")
    assert result.code == 0 and "REDUCING" in result.out and "easing" in result.out
    assert invoke("--home", workspace, "kill-switch", "deactivate", "--yes").code == 0
    again = invoke("--home", workspace, "kill-switch", "deactivate", "--yes")
    assert again.code == 0 and "already ACTIVE" in again.out
    assert [e["state"] for e in kill_switch_events(invoke, workspace)] == ["HALTED", "REDUCING", "ACTIVE"]


def test_no_workspace_is_a_usage_error(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("--home", tmp_path / "nowhere", "kill-switch", "status")
    assert result.code == 2 and "no trackrecord workspace" in result.err


# -- the fast path -----------------------------------------------------------------------


def test_fast_path_answers_like_the_normal_path(workspace: Path, invoke: Invoke, fast: Invoke) -> None:
    for args in (("kill-switch", "status"), ("kill-switch", "status", "--json")):
        quick, normal = fast("--home", workspace, *args), invoke("--home", workspace, *args)
        assert (quick.code, quick.out) == (normal.code, normal.out)
    activated = fast("--home", workspace, "kill-switch", "activate", "--json", "fat finger on SXLK")
    assert activated.code == 0
    assert json.loads(activated.out)["state"] == "HALTED"
    for args in (("kill-switch", "status"), ("kill-switch", "status", "--json")):
        quick, normal = fast("--home", workspace, *args), invoke("--home", workspace, *args)
        assert (quick.code, quick.out) == (normal.code, normal.out)


def test_fast_activate_writes_the_same_event_and_the_ledger_verifies(workspace: Path, invoke: Invoke,
                                                                     fast: Invoke) -> None:
    assert fast("--home", workspace, "kill-switch", "activate", "first", "--reduce-only").code == 0
    assert invoke("--home", workspace, "kill-switch", "activate", "second").code == 0
    assert fast("--home", workspace, "-q", "kill-switch", "activate", "third").code == 0
    refused = fast("--home", workspace, "kill-switch", "activate", "--reduce-only", "looser")
    assert refused.code == 2 and "would loosen" in refused.err
    assert kill_switch_events(invoke, workspace) == [
        {"state": "REDUCING", "reason": "first", "reduce_only": True, "previous_state": "ACTIVE"},
        {"state": "HALTED", "reason": "second", "reduce_only": False, "previous_state": "REDUCING"},
        {"state": "HALTED", "reason": "third", "reduce_only": False, "previous_state": "HALTED"},
    ]
    assert verifies(invoke, workspace)
    assert invoke("--home", workspace, "ledger", "checkpoint").code == 0
    assert verifies(invoke, workspace)


def test_fast_path_finds_the_workspace_like_the_normal_path(workspace: Path, capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    assert run_fast(["kill-switch", "status"], environ={"TRACKRECORD_HOME": str(workspace)}, cwd=str(tmp_path)) == 0
    assert run_fast(["kill-switch", "status"], environ={}, cwd=str(workspace)) == 0
    relative = os.path.relpath(workspace, tmp_path)
    assert run_fast(["--home", relative, "kill-switch", "status"], environ={}, cwd=str(tmp_path)) == 0
    assert run_fast([f"--home={workspace}", "kill-switch", "status"], environ={}, cwd=str(tmp_path)) == 0
    assert run_fast(["kill-switch", "status"], environ={"TRACKRECORD_HOME": ""}, cwd=str(tmp_path)) is None


@pytest.mark.parametrize("argv", [
    ["kill-switch", "status", "--help"], ["kill-switch", "deactivate"], ["kill-switch"], ["verify"],
    ["kill-switch", "activate"], ["kill-switch", "activate", "a", "b"], ["kill-switch", "status", "extra"],
    ["kill-switch", "activate", "x", "--json", "--json"], ["--bogus", "kill-switch", "status"],
])
def test_fast_path_leaves_everything_else_to_the_normal_path(argv: list[str]) -> None:
    assert parse_argv(argv) is None


def test_fast_path_hands_over_for_other_databases_and_unread_yaml(workspace: Path) -> None:
    config = workspace / "trackrecord.yaml"
    text = config.read_text()
    assert database_url(text) == (True, None)
    pg = text.replace("  url: null", '  url: "postgresql+psycopg://u@h/db"')
    config.write_text(pg)
    assert run_fast(["--home", str(workspace), "kill-switch", "status"], environ={}, cwd="/") is None
    assert database_url(text.replace("database:  #", "database: {url: null}  #")) == (False, None)
    assert database_url("database:\n  url: 'sqlite:///x.db'  # here\n") == (True, "sqlite:///x.db")
    assert database_url("mode: live\n") == (True, None)
    assert database_url("database:\n  url: *anchor\n")[0] is False
    assert database_url("database:\n  other: 1\n")[0] is False


def test_fast_path_waits_for_the_ledger_writer_lock(workspace: Path, fast: Invoke,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from filelock import FileLock

    from trackrecord.ledger import writer_lock

    monkeypatch.setattr(writer_lock, "LOCK_TIMEOUT_SECONDS", 0.2)
    with FileLock(str(workspace / "trackrecord.db.lock")):
        blocked = fast("--home", workspace, "kill-switch", "activate", "while locked")
    assert blocked.code == 1 and "writer lock" in blocked.err
    assert fast("--home", workspace, "kill-switch", "activate", "after").code == 0


@pytest.mark.slow
def test_fast_path_imports_nothing_heavy(workspace: Path) -> None:
    # It signs a checkpoint of the new head, so it loads cryptography's Ed25519 primitive,
    # and only that (not its serialization module, which costs more than the signature).
    probe = (
        "import sys\n"
        "from trackrecord.cli.kill_switch_fast import run_fast\n"
        f"assert run_fast(['--home', {str(workspace)!r}, 'kill-switch', 'activate', 'probe']) == 0\n"
        f"assert run_fast(['--home', {str(workspace)!r}, 'kill-switch', 'status', '--json']) == 0\n"
        "heavy = [m for m in ('typer', 'click', 'rich', 'pydantic', 'sqlalchemy', 'yaml', 'pandas', 'numpy',"
        " 'ib_async', 'filelock', 'cryptography.hazmat.primitives.serialization') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert '"state": "HALTED"' in result.stdout


# -- the helpers the engine uses -----------------------------------------------------------


def test_engine_helpers_read_halt_and_deactivate(workspace: Path, invoke: Invoke) -> None:
    from trackrecord.bootstrap import connect
    from trackrecord.domain import TradingState
    from trackrecord.engine.kill_switch import deactivate, halt, read_status
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(workspace, environ={}))
    try:
        with services.engine.connect() as conn:
            assert read_status(conn).state is TradingState.ACTIVE
        with services.ledger.writer() as writer:
            assert halt(writer, "daily loss limit: NAV down 6%") is not None
            assert halt(writer, "again") is None  # already HALTED: nothing more written
        with services.engine.connect() as conn:
            status = read_status(conn)
        assert (status.state, status.reason) == (TradingState.HALTED, "daily loss limit: NAV down 6%")
        assert deactivate(services.ledger, "resolved")[1] is TradingState.HALTED
        assert deactivate(services.ledger, "again")[1] is None
    finally:
        services.close()
    assert [e["state"] for e in kill_switch_events(invoke, workspace)] == ["HALTED", "ACTIVE"]
    assert verifies(invoke, workspace)
