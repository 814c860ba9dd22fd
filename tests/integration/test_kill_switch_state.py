"""The kill switch's state as the events say it, and a projection table that was edited."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from trackrecord.bootstrap import connect
from trackrecord.cli.kill_switch_fast import run_fast
from trackrecord.domain.enums import TradingState
from trackrecord.engine.kill_switch import read_status, state_from_events
from trackrecord.workspace import open_workspace


def _edit_kill_switch_table(root: Path, state: str) -> None:
    with sqlite3.connect(root / "trackrecord.db") as conn:
        conn.execute("UPDATE kill_switch SET state = ? WHERE id = 1", (state,))


def test_state_from_events_follows_the_last_change_not_the_table(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", workspace, "kill-switch", "activate", "outage").code == 0
    _edit_kill_switch_table(workspace, "ACTIVE")
    services = connect(open_workspace(workspace))
    try:
        with services.engine.connect() as conn:
            from_events, from_table = state_from_events(conn), read_status(conn)
    finally:
        services.close()
    assert from_events.state is TradingState.HALTED and from_events.reason == "outage"
    assert from_table.state is TradingState.ACTIVE


def test_state_from_events_of_a_new_workspace_is_active(workspace: Path) -> None:
    services = connect(open_workspace(workspace))
    try:
        with services.engine.connect() as conn:
            assert state_from_events(conn).state is TradingState.ACTIVE
    finally:
        services.close()


def test_invalid_state_in_the_kill_switch_table_is_one_line_not_a_traceback(
    workspace: Path, cli, capsys  # type: ignore[no-untyped-def]
) -> None:
    assert cli("--home", workspace, "kill-switch", "activate", "outage").code == 0
    _edit_kill_switch_table(workspace, "BOGUS")
    normal = cli("--home", workspace, "kill-switch", "status")
    assert normal.code == 1 and "Traceback" not in normal.err
    assert normal.err.strip().splitlines() == [
        "error: the kill_switch table's state 'BOGUS' is not a kill-switch state (expected ACTIVE, REDUCING, HALTED)"]
    capsys.readouterr()
    for argv in (["kill-switch", "status"], ["kill-switch", "activate", "again"]):
        assert run_fast(["--home", str(workspace), *argv], environ={}, cwd=str(workspace)) == 1
        err = capsys.readouterr().err
        assert "kill_switch table's state 'BOGUS'" in err and "Traceback" not in err
