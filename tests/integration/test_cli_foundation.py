"""The foundation as a user sees it: init, config, cash flows, imports, verify, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest



def _event_count(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return len(json.loads(result.out))


def test_init_creates_the_documented_layout(workspace: Path) -> None:
    for name in ("trackrecord.yaml", "trackrecord.db", "keys/ledger.ed25519", "keys/ledger.ed25519.pub",
                 "reports/monthly", "reports/weekly", "exports", "logs", "annotations/monthly"):
        assert (workspace / name).exists(), name
    assert stat.S_IMODE((workspace / "keys/ledger.ed25519").stat().st_mode) == 0o600
    text = (workspace / "trackrecord.yaml").read_text()
    assert "max_position_weight: 0.35  #" in text and "base_currency: \"GBP\"" in text


def test_every_config_key_has_a_comment() -> None:
    from trackrecord.config import Settings
    from trackrecord.config_template import COMMENTS, model_keys

    assert set(model_keys(Settings)) <= set(COMMENTS)


def test_init_refuses_an_existing_workspace_and_changes_nothing(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = (workspace / "trackrecord.yaml").read_bytes(), (workspace / "keys/ledger.ed25519").read_bytes()
    result = cli("init", workspace)
    assert result.code == 2 and "already holds a workspace" in result.err
    assert before == ((workspace / "trackrecord.yaml").read_bytes(), (workspace / "keys/ledger.ed25519").read_bytes())


def test_missing_workspace_is_a_clear_error(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TRACKRECORD_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    result = cli("verify")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "no trackrecord workspace" in result.err and str(tmp_path) in result.err


def test_workspace_is_found_through_the_environment(workspace: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKRECORD_HOME", str(workspace))
    assert cli("verify").code == 0


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("max_position_weight:", "max_postion_weight:"), "unknown key 'risk.max_postion_weight'"),
        (lambda t: t.replace("top_n: 3", "top_n: three"), "key 'strategy.top_n'"),
        (lambda t: t.replace("mode: \"dry_run\"", "mode: [unclosed"), "malformed YAML"),
        (lambda t: t.replace("max_position_weight: 0.35", "max_position_weight: 0.30"), "below the strategy's own target"),
    ],
)
def test_bad_configuration_is_one_line_exit_2(workspace: Path, cli, edit, expected: str) -> None:  # type: ignore[no-untyped-def]
    config = workspace / "trackrecord.yaml"
    config.write_text(edit(config.read_text()))
    result = cli("--home", workspace, "config", "check")
    assert result.code == 2, result
    assert expected in result.err and str(config) in result.err
    assert result.err.count("\n") == 1


def test_config_show_masks_secrets(workspace: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKRECORD_SMTP_PASSWORD", "hunter2-secret")
    result = cli("--home", workspace, "config", "show", "--json")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["secrets"]["smtp_password"] == "***" and document["secrets"]["flex_token"] is None
    assert "hunter2-secret" not in result.out
    log = (workspace / "logs" / "trackrecord.log")
    assert not log.exists() or "hunter2-secret" not in log.read_text()


def test_secrets_in_yaml_are_refused(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = workspace / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  smtp_user: null", "  smtp_user: null\n  smtp_password: x"))
    result = cli("--home", workspace, "config", "check")
    assert result.code == 2 and "unknown key 'notifications.smtp_password'" in result.err


def test_cashflows_add_and_list(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "100000").code == 0
    assert cli("--home", workspace, "cashflow", "add", "--date", "2026-02-02", "--amount", "-2500.50",
               "--note", "fees").code == 0
    listed = json.loads(cli("--home", workspace, "cashflow", "list", "--json").out)
    assert listed == [  # each flow says its seq (the id `cashflow void` takes) and its account (issue 8.6)
        {"seq": 3, "date": "2026-01-05", "account": "SIM0001", "amount": "100000", "currency": "GBP", "note": "",
         "date_given": None, "voided_by": None},
        {"seq": 5, "date": "2026-02-02", "account": "SIM0001", "amount": "-2500.5", "currency": "GBP", "note": "fees",
         "date_given": None, "voided_by": None},
    ]
    table = cli("--home", workspace, "cashflow", "list").out
    assert "100,000.00" in table and "net 97,499.50" in table


@pytest.mark.parametrize("args", [("--date", "2026-13-01", "--amount", "5"), ("--date", "2026-01-01", "--amount", "x"),
                                  ("--date", "2026-01-01", "--amount", "0"),
                                  ("--date", "2026-01-01", "--amount", "5", "--currency", "POUND")])
def test_bad_cashflow_writes_nothing(workspace: Path, cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    before = _event_count(cli, workspace)
    result = cli("--home", workspace, "cashflow", "add", *args)
    assert result.code == 2 and result.err.startswith("error: --") and result.err.count("\n") == 1
    assert _event_count(cli, workspace) == before


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_import_snapshots_and_cashflows_are_idempotent(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    snaps = _write(tmp_path / "nav.csv", "date,nav,cash\n2026-01-05,100000,100000\n2026-01-06,100250.5,\n")
    flows = _write(tmp_path / "flows.csv", "date,amount,currency,note\n2026-01-05,100000,GBP,initial\n")
    first = cli("--home", workspace, "import", "snapshots", snaps, "--json")
    assert json.loads(first.out)["added"] == {"snapshots": 2}
    assert json.loads(cli("--home", workspace, "import", "cashflows", flows, "--json").out)["added"] == {"cashflows": 1}
    again = cli("--home", workspace, "import", "snapshots", snaps)
    assert again.code == 0 and "0 added, 2 skipped" in again.out and "imported before" in again.out
    count = _event_count(cli, workspace)
    cli("--home", workspace, "import", "cashflows", flows)
    assert _event_count(cli, workspace) == count
    assert cli("--home", workspace, "verify").code == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("date,nav\n2026-01-05,100\n2026-01-06,abc\n", ":3: column 'nav': expected a decimal number, got 'abc'"),
        ("date,nav\n2026-01-05,100\n06/01/2026,101\n", ":3: column 'date': expected a date YYYY-MM-DD"),
        ("day,nav\n2026-01-05,100\n", ":1: missing column(s) date"),
        ("date,nav\n2026-01-05,100,7\n", ":2: expected 2 fields, found 3"),
        ("date,nav\n2026-01-05,-5\n", ":2: column 'nav': expected a NAV of zero or more"),
    ],
)
def test_bad_snapshot_rows_name_file_line_column(workspace: Path, cli, tmp_path: Path, content: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path / "bad.csv", content)
    before = _event_count(cli, workspace)
    result = cli("--home", workspace, "import", "snapshots", path)
    assert result.code == 2 and f"{path}{expected}" in result.err, result
    assert _event_count(cli, workspace) == before


EXEC_HEADER = "trade_id,timestamp,symbol,asset_class,side,quantity,intended_price,fill_price,slippage_bps,commission,commission_currency\n"


def _seed(root: Path) -> Path:
    _write(root / "executions/2026-01-05.csv", EXEC_HEADER +
           "T1,2026-01-05T16:35:00Z,SXLK,ETF,BUY,100,10.00,10.02,20,3.00,GBP\n"
           "T2,2026-01-05T16:35:01Z,SXLE,ETF,BUY,50,20.00,19.99,-5,3.00,GBP\n")
    # the older tool re-pulled and wrote T2 again the next day
    _write(root / "executions/2026-01-06.csv", EXEC_HEADER +
           "T2,2026-01-05T16:35:01Z,SXLE,ETF,BUY,50,20.00,19.99,-5,3.00,GBP\n"
           "T3,2026-01-06T16:35:00Z,SXLK,ETF,SELL,40,10.50,10.49,10,3.00,GBP\n")
    _write(root / "snapshots/2026-01-05.json", json.dumps({
        "timestamp": "2026-01-05T17:00:00Z", "total_equity": 10000.0, "cash": 7995.5,
        "positions": [{"symbol": "SXLK", "quantity": 100, "avg_cost": 10.02, "market_price": 10.02,
                       "market_value": 1002.0, "unrealized_pnl": 0.0}]}))
    return root


def test_import_seed_migrates_and_drops_duplicate_fills(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old")
    result = cli("--home", workspace, "import", "seed", seed, "--json")
    assert result.code == 0, result
    assert json.loads(result.out)["added"] == {"fills": 3, "snapshots": 1}
    assert json.loads(result.out)["skipped"] == {"fills": 1}
    fills = [e for e in json.loads(cli("--home", workspace, "ledger", "log", "--kind", "fill.recorded", "--json").out)]
    assert sorted(f["payload"]["exec_id"] for f in fills) == ["T1", "T2", "T3"]
    again = json.loads(cli("--home", workspace, "import", "seed", seed, "--json").out)
    assert again["added"] == {} and again["skipped"] == {"fills": 4, "snapshots": 1}
    assert cli("--home", workspace, "verify").code == 0


def test_bad_seed_file_writes_nothing(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed = _seed(tmp_path / "old")
    _write(seed / "snapshots/2026-01-06.json", '{"timestamp": "2026-01-06T17:00:00Z", "total_equity": "lots"}')
    before = _event_count(cli, workspace)
    result = cli("--home", workspace, "import", "seed", seed)
    assert result.code == 2 and "2026-01-06.json" in result.err
    assert _event_count(cli, workspace) == before


def test_verify_names_the_first_bad_seq_through_the_cli(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    cli("--home", workspace, "cashflow", "add", "--date", "2026-01-05", "--amount", "100")
    cli("--home", workspace, "cashflow", "add", "--date", "2026-01-06", "--amount", "200")
    db = sqlite3.connect(workspace / "trackrecord.db")
    db.execute("DROP TRIGGER events_no_update")
    db.execute("UPDATE events SET payload = replace(payload, '\"200\"', '\"900\"') WHERE seq = 5")
    db.commit()
    db.close()
    result = cli("--home", workspace, "verify", "--json")
    assert result.code == 1
    document = json.loads(result.out)
    assert document["ok"] is False and document["first_bad_seq"] == 5  # each command's checkpoint follows it


def test_checkpoint_signed_by_another_key_is_refused(workspace: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other = tmp_path / "other"
    cli("init", other)
    (workspace / "keys/ledger.ed25519.pub").write_text((other / "keys/ledger.ed25519.pub").read_text())
    result = cli("--home", workspace, "verify")
    assert result.code == 1 and "not the workspace's" in result.err


@pytest.mark.slow
def test_console_script_and_module_entry_points(workspace: Path) -> None:
    module = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(workspace), "verify"],
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0 and "ledger OK" in module.stdout
    script = Path(sys.executable).with_name("trackrecord")
    bad = subprocess.run([str(script), "--home", str(workspace / "nope"), "verify"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    from trackrecord import __version__

    result = cli("--version")
    assert result.code == 0 and result.out.strip() == f"trackrecord {__version__}"
