"""``trackrecord doctor``: each check failing as a user meets it, with the message and the
fix they see; exit 0 when everything passes, 1 otherwise; nothing written."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from tests.integration.notify_servers import free_port
from tests.integration.ops_support import paper_workspace


def _doctor(cli, root: Path) -> tuple[int, dict[str, dict]]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "doctor", "--json")
    assert "Traceback" not in result.err, result
    document = json.loads(result.out)
    return result.code, {c["check"]: c for c in document["checks"]}


def _edit(root: Path, **sections: dict) -> None:  # type: ignore[type-arg]
    path = root / "trackrecord.yaml"
    config = yaml.safe_load(path.read_text())
    for name, values in sections.items():
        config[name].update(values) if isinstance(config.get(name), dict) else config.__setitem__(name, values)
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def paper(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    root = paper_workspace(cli, tmp_path / "ws")
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T18:00:00Z")
    assert cli("--home", root, "prices", "update").code == 0
    return root


@pytest.fixture
def heartbeat(paper: Path):  # type: ignore[no-untyped-def]
    """A scheduler's lock held and a fresh heartbeat, as a running scheduler leaves them."""
    from trackrecord.ops.scheduler import HEARTBEAT_FILE, LOCK_FILE, Heartbeat, SchedulerLock

    lock = SchedulerLock(paper / LOCK_FILE)
    lock.acquire()
    beat = Heartbeat(paper / "logs" / HEARTBEAT_FILE)
    beat.write(datetime(2026, 6, 1, 17, 59, 50, tzinfo=timezone.utc), None, "Europe/London")
    yield beat
    lock.release()


def test_a_healthy_paper_workspace_passes_and_writes_nothing(cli, paper: Path, heartbeat) -> None:  # type: ignore[no-untyped-def]
    before = (paper / "trackrecord.db").read_bytes()
    code, checks = _doctor(cli, paper)
    assert code == 0, checks
    assert {n: c["status"] for n, c in checks.items()} == {
        "configuration": "ok", "database": "ok", "keys": "ok", "ledger": "ok", "record": "ok", "broker": "skip", "clock": "skip",
        "live orders": "skip", "calendar": "ok", "data": "ok", "scheduler": "ok", "notifications": "ok"}
    assert checks["notifications"]["detail"].startswith("none configured: nobody is told")
    assert f"pid {os.getpid()}" in checks["scheduler"]["detail"]
    assert (paper / "trackrecord.db").read_bytes() == before
    text = cli("--home", paper, "doctor")
    assert text.code == 0 and text.out.strip().endswith("all checks passed")


def test_configuration_check_names_the_key(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    _edit(paper, risk={"max_postion_weight": 0.3})
    code, checks = _doctor(cli, paper)
    assert code == 1
    assert checks["configuration"]["status"] == "fail"
    assert "unknown key 'risk.max_postion_weight'" in checks["configuration"]["detail"]
    assert "config check" in checks["configuration"]["fix"] and checks["database"]["status"] == "skip"


def test_database_check_unreachable_server(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    _edit(paper, database={"url": f"postgresql+psycopg://trader:pw@127.0.0.1:{free_port()}/trackrecord"})
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["database"]["status"] == "fail"
    assert "cannot connect" in checks["database"]["detail"] and ":***@" in checks["database"]["detail"]
    assert "pw@" not in json.dumps(checks)
    assert "start the database server" in checks["database"]["fix"]


def test_database_check_schema_behind_this_version(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(paper / "trackrecord.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0002'")
    code, checks = _doctor(cli, paper)
    assert code == 1 and "schema at revision 0002, this version needs 0003" in checks["database"]["detail"]
    with sqlite3.connect(paper / "trackrecord.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",), "doctor never migrates"


def test_keys_check_private_key_readable_by_others(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    key = paper / "keys" / "ledger.ed25519"
    key.chmod(0o644)
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["keys"]["detail"] == f"{key} is mode 0644: readable by others"
    assert checks["keys"]["fix"] == f"chmod 600 {key}"


def test_keys_check_public_key_of_another_pair(cli, paper: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.ledger.signing import generate_keypair

    other = generate_keypair(tmp_path / "other.key", tmp_path / "other.pub")
    (paper / "keys" / "ledger.ed25519.pub").write_text(other + "\n")
    code, checks = _doctor(cli, paper)
    assert code == 1 and "does not match" in checks["keys"]["detail"]


def test_ledger_check_a_projection_changed_outside_the_ledger(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(paper / "trackrecord.db") as db:
        db.execute("INSERT INTO cashflows (seq, flow_date, amount, currency, note) "
                   "VALUES (999, '2026-05-29', '5000', 'GBP', 'not in the ledger')")
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["ledger"]["status"] == "fail" and checks["ledger"]["detail"].startswith("verify fails")


def test_ledger_check_events_after_the_last_checkpoint(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    from trackrecord.bootstrap import connect
    from trackrecord.workspace import open_workspace

    services = connect(open_workspace(paper))
    try:
        services.ledger.append("annotation.added", {"text": "written by a tool that did not sign"})
    finally:
        services.close()
    code, checks = _doctor(cli, paper)
    assert code == 1 and "1 event(s) after the last signed checkpoint" in checks["ledger"]["detail"]
    assert checks["ledger"]["fix"].startswith("run `trackrecord ledger checkpoint`")


def test_data_check_stale_prices(cli, paper: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-10T18:00:00Z")
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["data"]["status"] == "fail"
    assert "end 2026-06-01; the last completed session is 2026-06-10" in checks["data"]["detail"]
    assert "prices update" in checks["data"]["fix"]


def test_calendar_check_a_calendar_that_ends_within_the_year(cli, paper: Path,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from trackrecord.market.service import calendar_for
    from trackrecord.workspace import open_workspace

    last = calendar_for(open_workspace(paper).settings).last_session
    monkeypatch.setenv("TRACKRECORD_NOW", f"{last - timedelta(days=100)}T12:00:00Z")
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["calendar"]["status"] == "fail"
    assert f"sessions end on {last}" in checks["calendar"]["detail"] and "exchange_calendars" in checks["calendar"]["fix"]


def test_scheduler_check_not_running_and_stuck(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["scheduler"]["detail"] == "no scheduler runs this workspace"
    assert "systemctl start trackrecord-scheduler" in checks["scheduler"]["fix"]
    from trackrecord.ops.scheduler import HEARTBEAT_FILE, LOCK_FILE, Heartbeat, SchedulerLock

    lock = SchedulerLock(paper / LOCK_FILE)
    lock.acquire()
    try:
        Heartbeat(paper / "logs" / HEARTBEAT_FILE).write(datetime(2026, 6, 1, 17, 0, tzinfo=timezone.utc), None,
                                                         "Europe/London")
        code, checks = _doctor(cli, paper)
    finally:
        lock.release()
    assert code == 1 and "last heartbeat 3600 s ago (every 30 s)" in checks["scheduler"]["detail"]
    assert "systemctl restart" in checks["scheduler"]["fix"]


def _live(paper: Path, port: int, account: str = "DU1234567") -> None:
    _edit(paper, mode="live", account={"account_id": account},
          broker={"ibkr": {"port": port, "connect_timeout": 2.0, "request_timeout": 3.0, "max_connect_attempts": 1,
                           "client_id": 41}})


def test_broker_check_gateway_down(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    _live(paper, port)
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["broker"]["status"] == "fail" and f"127.0.0.1:{port}" in checks["broker"]["detail"]
    assert "start IB Gateway" in checks["broker"]["fix"] and checks["clock"]["status"] == "skip"


def test_broker_check_another_account_and_clock_skew(cli, paper: Path, fake_tws,  # type: ignore[no-untyped-def]
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", datetime.now(timezone.utc).isoformat())
    _live(paper, fake_tws.port)
    code, checks = _doctor(cli, paper)
    assert checks["broker"]["status"] == "ok" and "DU1234567 (paper)" in checks["broker"]["detail"], checks
    assert checks["clock"]["status"] == "ok", checks["clock"]
    monkeypatch.setenv("TRACKRECORD_NOW", (datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat())
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["clock"]["status"] == "fail" and "timedatectl" in checks["clock"]["fix"]
    assert re.search(r"clock is 1[12]\d s away", checks["clock"]["detail"]), checks["clock"]
    _live(paper, fake_tws.port, account="U7654321")
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["broker"]["status"] == "fail" and "U7654321" in checks["broker"]["detail"]


def test_notifications_check_a_secret_the_channels_need_is_not_set(cli, paper: Path,  # type: ignore[no-untyped-def]
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKRECORD_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("TRACKRECORD_SLACK_URL", raising=False)
    _edit(paper, notifications={"smtp_host": "smtp.example.test", "smtp_user": "desk", "email_to": ["me@example.test"],
                                "webhooks": [{"url_env": "TRACKRECORD_SLACK_URL", "format": "slack"}]})
    code, checks = _doctor(cli, paper)
    assert code == 1 and checks["notifications"]["status"] == "fail"
    assert checks["notifications"]["detail"] == (
        "notifications.smtp_user is desk but $TRACKRECORD_SMTP_PASSWORD is not set; "
        "notifications.webhooks[0].url_env: $TRACKRECORD_SLACK_URL is not set")
    monkeypatch.setenv("TRACKRECORD_SMTP_PASSWORD", "pw")
    monkeypatch.setenv("TRACKRECORD_SLACK_URL", "https://hooks.example.test/x")
    code, checks = _doctor(cli, paper)
    assert checks["notifications"] == {"check": "notifications", "status": "ok", "fix": None,
                                       "detail": "e-mail to me@example.test, slack webhook"}


def test_configuration_fix_points_to_the_json_check_listing_every_problem(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    _edit(paper, risk={"max_postion_weight": 0.3, "max_gross_exposur": 1})
    text = cli("--home", paper, "doctor")
    assert text.code == 1 and "Traceback" not in text.err
    fix = next(line.strip() for line in text.out.splitlines() if line.strip().startswith("fix: edit"))
    assert fix == (f"fix: edit {paper / 'trackrecord.yaml'} (`trackrecord config check --json` lists every problem, "
                   "each with its line, key and what was expected)")
    listed = cli("--home", paper, "config", "check", "--json")  # and it does list both
    assert listed.code == 2
    keys = {e["key"] for e in json.loads(listed.out)["errors"]}
    assert {"risk.max_postion_weight", "risk.max_gross_exposur"} <= keys


def test_a_backtest_workspace_is_not_told_to_update_prices_or_start_a_scheduler(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """doctor failed a backtest for prices ending with its replay and for no scheduler, with
    fixes (`prices update`, start the scheduler) the backtest workspace refuses."""
    from tests.integration.test_backtest_user_workspace import WINDOW, write_market

    home, out = tmp_path / "ws", tmp_path / "bt"
    assert cli("init", home, "--base-currency", "USD", "--universe", "us-sectors", "--prices", "csv").code == 0
    market = write_market(tmp_path / "prices")
    assert cli("--home", home, "backtest", *WINDOW, "--prices-dir", market, "--out", out).code == 0
    code, checks = _doctor(cli, out)
    assert code == 0, checks
    assert checks["data"]["status"] == "skip" and "its prices end where its replay ended (2019-06-28)" in \
        checks["data"]["detail"]
    assert checks["scheduler"]["status"] == "skip" and checks["notifications"]["status"] == "skip"
    assert checks["ledger"]["status"] == "ok"


def test_a_record_the_configuration_no_longer_fits_fails_before_the_scheduler_does(  # type: ignore[no-untyped-def]
        cli, paper: Path) -> None:
    """An edited account.base_currency makes every paper job fail on its first snapshot
    (ledger/record_rules.py): doctor, the check before unattended operation, says so first."""
    assert cli("--home", paper, "cashflow", "add", "--date", "2026-06-01", "--amount", "100000").code == 0
    assert cli("--home", paper, "snapshot").code == 0
    assert _doctor(cli, paper)[1]["record"]["status"] == "ok"
    _edit(paper, account={"base_currency": "USD"}, prices={"fx_rates": {"GBP": "1.27"}})
    _, checks = _doctor(cli, paper)
    assert checks["record"]["status"] == "fail", checks["record"]
    assert checks["record"]["detail"].startswith("account SIM0001's record is in GBP, not in USD")
    assert checks["record"]["fix"].startswith("set account.base_currency back to GBP")
