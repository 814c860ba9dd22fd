"""Signatures keep up with the ledger: every command that appends ends with one signed
checkpoint of the new head, and ``verify`` says how many events follow the last one."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from trackrecord.cli.kill_switch_fast import run_fast


@pytest.fixture
def synthetic(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "synthetic"
    assert cli("init", root, "--prices", "synthetic").code == 0
    return root


def _verify(cli, root: Path) -> dict:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "verify", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def _kinds(cli, root: Path) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["kind"] for e in json.loads(cli("--home", root, "ledger", "log", "--json").out)]


def test_every_writing_command_ends_with_one_signed_checkpoint(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    workspace = synthetic
    for args in (["cashflow", "add", "--date", "2024-01-02", "--amount", "1000"],
                 ["kill-switch", "activate", "outage"],
                 ["kill-switch", "deactivate", "--yes"],
                 ["prices", "update"]):
        assert cli("--home", workspace, *args).code == 0, args
        document = _verify(cli, workspace)
        assert document["unsigned_events"] == 0, args
    kinds = _kinds(cli, workspace)
    assert kinds[-1] == "checkpoint.signed"
    assert not any(a == b == "checkpoint.signed" for a, b in zip(kinds, kinds[1:]))  # one per command


def test_read_only_commands_sign_nothing(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = _kinds(cli, workspace)
    for args in (["verify"], ["ledger", "log"], ["kill-switch", "status"], ["config", "show"]):
        assert cli("--home", workspace, *args).code == 0, args
    assert _kinds(cli, workspace) == before


def test_verify_counts_events_after_the_last_signed_checkpoint(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.bootstrap import connect
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(workspace))
    try:  # appended by a process that died before it could sign
        services.ledger.append_many([("annotation.added", {"text": "one"}), ("annotation.added", {"text": "two"})])
    finally:
        services.close()
    assert _verify(cli, workspace)["unsigned_events"] == 2
    assert "2 events after the last signed checkpoint" in cli("--home", workspace, "verify").out
    assert cli("--home", workspace, "ledger", "checkpoint").code == 0
    assert _verify(cli, workspace)["unsigned_events"] == 0


def test_kill_switch_fast_path_signs_its_change(workspace: Path, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_fast(["--home", str(workspace), "kill-switch", "activate", "fast stop"], environ={}, cwd="/") == 0
    capsys.readouterr()
    kinds = _kinds(cli, workspace)
    assert kinds[-2:] == ["kill_switch.changed", "checkpoint.signed"]
    assert _verify(cli, workspace)["unsigned_events"] == 0


def test_kill_switch_stops_even_when_the_key_cannot_sign(workspace: Path, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    (workspace / "keys" / "ledger.ed25519").write_text("not a key\n")
    assert run_fast(["--home", str(workspace), "kill-switch", "activate", "stop anyway"], environ={}, cwd="/") == 0
    assert "not signed" in capsys.readouterr().err
    status = json.loads(cli("--home", workspace, "kill-switch", "status", "--json").out)
    assert status["state"] == "HALTED"
    assert _verify(cli, workspace)["unsigned_events"] == 1


def _point_key_at(workspace: Path, key: Path | None) -> None:
    config = workspace / "trackrecord.yaml"
    lines = [f'  key_file: {json.dumps(str(key)) if key else "null"}  # the key' if line.startswith("  key_file: ")
             else line for line in config.read_text().splitlines()]
    config.write_text("\n".join(lines) + "\n")


def test_another_workspaces_key_never_signs_this_ledger(workspace: Path, tmp_path: Path, cli, capsys) -> None:  # type: ignore[no-untyped-def]
    """`signing.key_file` pointed at another workspace's key: its checkpoint made `verify`
    say the ledger was BROKEN (for ever: the chain is append-only), and `ledger commit` gave
    an allocator a line that would never verify. Nothing is signed with it; the kill switch
    still stops (its change recorded, unsigned); the right key signs what was left."""
    other = tmp_path / "other"
    assert cli("init", other).code == 0
    _point_key_at(workspace, other / "keys" / "ledger.ed25519")
    assert run_fast(["--home", str(workspace), "kill-switch", "activate", "stop"], environ={}, cwd="/") == 0
    assert "is not this ledger's signing key" in capsys.readouterr().err
    assert cli("--home", workspace, "kill-switch", "deactivate", "--yes").code == 0
    for step in (("ledger", "checkpoint"), ("ledger", "commit")):
        result = cli("--home", workspace, *step)
        assert result.code == 2 and result.err.count("\n") == 1, (step, result)
        assert "is not this ledger's signing key (it signs as SHA256:" in result.err and "signing.key_file" in result.err
    assert "commitment.made" not in _kinds(cli, workspace)
    assert _verify(cli, workspace)["unsigned_events"] == 2  # verifies: the two changes are only unsigned
    _point_key_at(workspace, None)
    assert cli("--home", workspace, "ledger", "checkpoint").code == 0
    assert _verify(cli, workspace)["unsigned_events"] == 0


def test_a_failed_command_that_appended_is_signed_too(synthetic: Path, cli) -> None:  # type: ignore[no-untyped-def]
    workspace = synthetic
    result = cli("--home", workspace, "daily")
    assert result.code != 0 and "Traceback" not in result.err
    assert _verify(cli, workspace)["unsigned_events"] == 0


def test_demo_signs_once_at_the_end(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "demo"
    assert cli("demo", root, "--years", "1").code == 0
    kinds = _kinds(cli, root)
    assert kinds.count("checkpoint.signed") == 2  # init's and the replay's
    assert kinds[-1] == "checkpoint.signed"
    assert _verify(cli, root)["unsigned_events"] == 0


def test_init_key_file_keeps_the_signing_key_outside_the_workspace(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    root, key = tmp_path / "ws", tmp_path / "vault" / "trackrecord.ed25519"
    key.parent.mkdir()
    result = cli("init", root, "--key-file", key)
    assert result.code == 0, result
    assert key.is_file() and not (root / "keys" / "ledger.ed25519").exists()
    assert (root / "keys" / "ledger.ed25519.pub").is_file()
    assert f'key_file: "{key}"' in (root / "trackrecord.yaml").read_text()
    assert cli("--home", root, "cashflow", "add", "--date", "2024-01-02", "--amount", "10").code == 0
    assert run_fast(["--home", str(root), "kill-switch", "activate", "stop"], environ={}, cwd="/") == 0
    document = _verify(cli, root)
    assert document["unsigned_events"] == 0 and document["checkpoints"] == 3
    refused = cli("init", tmp_path / "other", "--key-file", key)
    assert refused.code == 2 and "already exists" in refused.err


@pytest.mark.slow
def test_console_script_kill_switch_signs_within_one_process(workspace: Path) -> None:
    env = {**os.environ, "TRACKRECORD_HOME": str(workspace)}
    done = subprocess.run([sys.executable, "-m", "trackrecord", "kill-switch", "activate", "cli"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(workspace / "trackrecord.db") as conn:
        last = conn.execute("SELECT kind FROM events ORDER BY seq DESC LIMIT 2").fetchall()
    assert [k for (k,) in last] == ["checkpoint.signed", "kill_switch.changed"]
