"""Notifications against real servers on loopback: an SMTP server (aiosmtpd, plain and
STARTTLS with a login) and an HTTP server (Slack, Discord and generic webhook bodies); the
monthly report's PDF attached; retries with back-off; an undeliverable notification never
fails the job and is recorded."""

from __future__ import annotations

import datetime as dt
import json
import ssl
from pathlib import Path

import pytest
import yaml

from tests.integration.notify_servers import SmtpServer, WebhookServer, free_port


def _configure(root: Path, **notifications: object) -> None:
    path = root / "trackrecord.yaml"
    config = yaml.safe_load(path.read_text())
    config["notifications"].update(notifications)
    path.write_text(yaml.safe_dump(config))


def _events(cli, root: Path, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--kind", kind, "--json")
    assert result.code == 0, result
    return [e["payload"] for e in json.loads(result.out)]


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def hook():  # type: ignore[no-untyped-def]
    server = WebhookServer()
    yield server
    server.close()


def test_monthly_report_job_emails_the_pdf(cli, tmp_path: Path, smtp: SmtpServer,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "demo"
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-02T18:00:00Z")  # the demo ends on that session, whatever today is
    assert cli("demo", root, "--years", "1").code == 0
    _configure(root, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none",
               email_from="desk@example.test", email_to=["trader@example.test"])
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-11-02T18:00:00Z")
    result = cli("--home", root, "run-job", "monthly-report", "--as-of", "2026-11-02", "--json")
    assert result.code == 0, result
    pdf = root / "reports" / "monthly" / "2026-10.pdf"
    assert json.loads(result.out)["details"]["period"] == "2026-10" and pdf.is_file()
    [message] = smtp.inbox.messages
    assert message["Subject"] == "[trackrecord] monthly report 2026-10"
    assert message["From"] == "desk@example.test" and message["To"] == "trader@example.test"
    [attachment] = [part for part in message.walk() if part.get_filename()]
    assert attachment.get_filename() == "2026-10.pdf" and attachment.get_content_type() == "application/pdf"
    assert attachment.get_payload(decode=True) == pdf.read_bytes()
    [sent] = _events(cli, root, "notification.sent")
    assert sent["event"] == "monthly_report" and sent["channel"].startswith("email:") and sent["attempts"] == 1

    from trackrecord.cli.ops_commands import CliCommands

    weekly = cli("--home", root, "run-job", "weekly-report", "--as-of", "2026-10-30", "--json")
    assert weekly.code == 0, weekly
    document = json.loads(weekly.out)
    assert document["details"]["week"] == "2026-W44"
    assert document["outcome"] == ("succeeded" if CliCommands().has("weekly-report") else "skipped"), document


def _notifier(config: dict, environ: dict | None = None, sleeps: list | None = None):  # type: ignore[no-untyped-def]
    from trackrecord.config import NotificationsConfig
    from trackrecord.ops.notify import Notifier

    return Notifier(NotificationsConfig(**config), environ or {}, None,
                    (sleeps.append if sleeps is not None else lambda s: None))


def test_webhook_bodies_for_slack_discord_and_a_script(hook: WebhookServer) -> None:
    from trackrecord.ops.notify import Notification

    notifier = _notifier({"webhooks": [{"url": hook.url, "format": "slack"},
                                       {"url_env": "HOOK_URL", "format": "discord"},
                                       {"url": hook.url, "format": "generic"}]}, {"HOOK_URL": hook.url})
    deliveries = notifier.send(Notification("daily_summary", "2026-06-01: NAV 100,000.00", "x" * 2500,
                                            details={"nav": "100000.00"}))
    assert [d.delivered for d in deliveries] == [True, True, True]
    slack, discord, generic = hook.bodies
    assert slack == {"text": "*2026-06-01: NAV 100,000.00*\n" + "x" * 2500}
    assert set(discord) == {"content"} and len(discord["content"]) == 2000
    assert generic["event"] == "daily_summary" and generic["details"] == {"nav": "100000.00"}
    assert generic["source"] == "trackrecord"


def test_a_webhook_is_retried_with_a_doubling_back_off(hook: WebhookServer) -> None:
    from trackrecord.ops.notify import Notification

    sleeps: list[float] = []
    hook.fail_next = 2
    notifier = _notifier({"webhooks": [{"url": hook.url}], "attempts": 4, "backoff_seconds": 1.5}, sleeps=sleeps)
    [delivery] = notifier.send(Notification("job_failed", "close 2026-06-01 failed", "broker down"))
    assert delivery.delivered and delivery.attempts == 3 and hook.attempts == 3
    assert sleeps == [1.5, 3.0]
    hook.fail_next = 10
    [failed] = notifier.send(Notification("job_failed", "again", "still down"))
    assert not failed.delivered and failed.attempts == 4 and failed.error == "HTTP 503 Service Unavailable"


def test_an_event_left_out_of_notifications_events_is_not_sent(hook: WebhookServer) -> None:
    from trackrecord.ops.notify import Notification

    notifier = _notifier({"webhooks": [{"url": hook.url}], "events": ["job_failed"]})
    assert notifier.send(Notification("daily_summary", "quiet", "")) == []
    assert hook.attempts == 0


def _self_signed(folder: Path) -> tuple[Path, Path]:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_email_over_starttls_logs_in_with_the_password_from_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from trackrecord.ops.notify import Notification

    cert, key = _self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, data):  # type: ignore[no-untyped-def]
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    server = SmtpServer(tls_context=context, require_starttls=True, authenticator=authenticate,
                        auth_required=True).start()
    try:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test's own certificate authority
        notifier = _notifier({"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "starttls",
                              "smtp_user": "desk", "email_to": ["trader@example.test"], "attempts": 1},
                             {"TRACKRECORD_SMTP_PASSWORD": "s3cret"})
        [delivery] = notifier.send(Notification("kill_switch", "kill switch HALTED", "daily loss"))
    finally:
        server.stop()
    assert delivery.delivered, delivery
    assert logins == [(b"desk", b"s3cret")]
    assert server.inbox.messages[0]["Subject"] == "[trackrecord] kill switch HALTED"


def test_an_undeliverable_notification_never_fails_the_job_and_is_recorded(cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    config = root / "trackrecord.yaml"
    text = re.sub(r'^mode: "[a-z_]+"', 'mode: "paper"', config.read_text(), flags=re.MULTILINE)
    config.write_text(text.replace('history_start: "2015-01-01"', 'history_start: "2024-06-01"'))
    _configure(root, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none",
               email_to=["trader@example.test"], attempts=2, backoff_seconds=0)
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-05-29T18:00:00Z")
    assert cli("--home", root, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    result = cli("--home", root, "run-job", "close", "--json")
    assert result.code == 0, result
    assert json.loads(result.out)["outcome"] == "succeeded"
    [failed] = _events(cli, root, "notification.failed")
    assert failed["event"] == "daily_summary" and failed["attempts"] == 2 and "Connection refused" in failed["error"]
