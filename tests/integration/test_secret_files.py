"""Secrets from files on a host install too: ``TRACKRECORD_SMTP_PASSWORD_FILE``,
``TRACKRECORD_FLEX_TOKEN_FILE`` and ``TRACKRECORD_DASHBOARD_TOKEN_FILE`` are read by
trackrecord itself (systemd credentials, a file outside the environment), not only by the
Docker entrypoint. A secret set both ways, or a file that cannot be read, is one line, exit 2,
nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.integration.flex_synthetic import ledger_events, statement_from_events
from tests.integration.notify_servers import SmtpServer
from tests.integration.test_reconcile_fetch import (  # noqa: F401 - fixtures
    TOKEN,
    FlexWebService,
    _events,
    home,
    replay_record,
    service,
)


def _secret_file(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "secret"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def test_flex_fetch_reads_the_token_from_its_file(cli, home: Path, service: FlexWebService,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKRECORD_FLEX_TOKEN")
    monkeypatch.setenv("TRACKRECORD_FLEX_TOKEN_FILE", str(_secret_file(tmp_path, TOKEN)))
    service.send = [service.success()]
    service.get = [statement_from_events(ledger_events(cli, home)).render()]
    result = cli("--home", home, "flex", "fetch", "--json")
    assert result.code == 0, result
    assert service.requests[0][1]["t"] == TOKEN  # the file's trailing newline is not part of the token


@pytest.mark.parametrize("case", ["both set", "missing file", "empty file"])
def test_a_secret_set_both_ways_or_an_unreadable_file_is_one_line_exit_2_nothing_written(  # type: ignore[no-untyped-def]
        cli, home: Path, service: FlexWebService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    path = {"both set": _secret_file(tmp_path, TOKEN), "missing file": tmp_path / "nowhere",
            "empty file": _secret_file(tmp_path, "")}[case]
    if case != "both set":
        monkeypatch.delenv("TRACKRECORD_FLEX_TOKEN")
    monkeypatch.setenv("TRACKRECORD_FLEX_TOKEN_FILE", str(path))
    before = _events(cli, home)
    result = cli("--home", home, "flex", "fetch", "--json")
    assert result.code == 2 and result.out == "" and result.err.count("\n") == 1, result
    expected = {"both set": "$TRACKRECORD_FLEX_TOKEN and $TRACKRECORD_FLEX_TOKEN_FILE are both set",
                "missing file": f"$TRACKRECORD_FLEX_TOKEN_FILE={path}: cannot read the secret file",
                "empty file": f"$TRACKRECORD_FLEX_TOKEN_FILE={path}: the secret file is empty"}[case]
    assert expected in result.err and "Traceback" not in result.err
    assert service.requests == [] and _events(cli, home) == before


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_uses_the_password_from_its_file(tmp_path: Path) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from trackrecord.config import NotificationsConfig
    from trackrecord.ops.notify import Notification, Notifier

    logins: list[bytes] = []

    def authenticate(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
        assert isinstance(data, LoginPassword)
        logins.append(data.password)
        return AuthResult(success=data.password == b"s3cret")

    server = SmtpServer(authenticator=authenticate, auth_required=True, auth_require_tls=False).start()
    try:
        config = NotificationsConfig(smtp_host="127.0.0.1", smtp_port=server.port, smtp_security="none",
                                     smtp_user="desk", email_to=["trader@example.test"], attempts=1)
        environ = {"TRACKRECORD_SMTP_PASSWORD_FILE": str(_secret_file(tmp_path, "s3cret"))}
        [delivery] = Notifier(config, environ, None, lambda s: None).send(Notification("kill_switch", "HALTED", "x"))
    finally:
        server.stop()
    assert delivery.delivered, delivery
    assert logins == [b"s3cret"] and len(server.inbox.messages) == 1


def test_dashboard_token_is_read_from_its_file(cli, workspace: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKRECORD_DASHBOARD_TOKEN", raising=False)
    monkeypatch.setenv("TRACKRECORD_DASHBOARD_TOKEN_FILE", str(_secret_file(tmp_path, "short")))
    result = cli("--home", workspace, "dashboard", "--host", "0.0.0.0")
    assert result.code == 2 and "$TRACKRECORD_DASHBOARD_TOKEN is 5 characters" in result.err, result


def test_config_show_and_doctor_see_secrets_from_files(cli, workspace: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKRECORD_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("TRACKRECORD_SMTP_PASSWORD_FILE", str(_secret_file(tmp_path, "s3cret")))
    shown = json.loads(cli("--home", workspace, "config", "show", "--json").out)
    assert shown["secrets"]["smtp_password"] == "***" and "s3cret" not in json.dumps(shown)
    config = workspace / "trackrecord.yaml"
    document = yaml.safe_load(config.read_text())
    document["notifications"].update(smtp_host="smtp.example.test", smtp_user="desk", email_to=["me@example.test"])
    config.write_text(yaml.safe_dump(document))

    def notifications() -> dict:  # type: ignore[type-arg]
        document = json.loads(cli("--home", workspace, "doctor", "--json").out)
        return next(c for c in document["checks"] if c["check"] == "notifications")

    assert notifications()["status"] == "ok"
    monkeypatch.setenv("TRACKRECORD_SMTP_PASSWORD", "s3cret")
    check = notifications()
    assert check["status"] == "fail" and check["detail"].startswith(
        "$TRACKRECORD_SMTP_PASSWORD and $TRACKRECORD_SMTP_PASSWORD_FILE are both set")
