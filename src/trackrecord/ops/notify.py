"""Notifications: e-mail (SMTP with STARTTLS or TLS) and webhooks (a JSON POST, with Slack-,
Discord-compatible or generic bodies).

The rule: a notification that cannot be delivered never fails the job that sent it. Each
channel is tried ``notifications.attempts`` times with a doubling back-off; the outcome of
every channel is an event (``notification.sent`` / ``notification.failed``), so a silent
server shows in the ledger and in ``trackrecord jobs``.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Protocol, Sequence

from trackrecord.config import SECRET_ENV
from trackrecord.secure_files import secret_from_env
from trackrecord.ledger import events as kinds

if TYPE_CHECKING:
    from trackrecord.config import NotificationsConfig, WebhookConfig
    from trackrecord.ledger.store import SqlLedger

log = logging.getLogger("trackrecord.ops.notify")
DISCORD_LIMIT = 2000
USER_AGENT = "trackrecord-notify/1"


@dataclass(frozen=True)
class Notification:
    """What a job has to say. ``event`` is one of ``config.NOTIFICATION_EVENTS``."""

    event: str
    subject: str
    text: str
    attachments: tuple[Path, ...] = ()
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Delivery:
    channel: str
    delivered: bool
    attempts: int
    error: str | None = None


class Channel(Protocol):
    name: str

    def deliver(self, note: Notification) -> None: ...


class EmailChannel:
    def __init__(self, config: "NotificationsConfig", password: str | None) -> None:
        self.config = config
        self.password = password
        self.name = f"email:{config.smtp_host}:{config.smtp_port}"

    def deliver(self, note: Notification) -> None:
        config = self.config
        assert config.smtp_host is not None
        message = email_message(note, config.email_from or config.smtp_user or "trackrecord@localhost",
                                config.email_to)
        if config.smtp_security == "tls":
            server: smtplib.SMTP = smtplib.SMTP_SSL(config.smtp_host, config.smtp_port, timeout=config.timeout_seconds,
                                                    context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_seconds)
        with server:
            if config.smtp_security == "starttls":
                server.starttls(context=ssl.create_default_context())
            if config.smtp_user:
                server.login(config.smtp_user, self.password or "")
            server.send_message(message)


def email_message(note: Notification, sender: str, recipients: Sequence[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[trackrecord] {note.subject}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content(note.text)
    for path in note.attachments:
        subtype = "pdf" if path.suffix.lower() == ".pdf" else "octet-stream"
        message.add_attachment(path.read_bytes(), maintype="application", subtype=subtype, filename=path.name)
    return message


class WebhookChannel:
    def __init__(self, url: str, body_format: str, timeout: float) -> None:
        self.url = url
        self.body_format = body_format
        self.timeout = timeout
        self.name = f"webhook:{body_format}"

    def deliver(self, note: Notification) -> None:
        data = json.dumps(webhook_body(note, self.body_format)).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, method="POST", headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
            if response.status >= 300:
                raise OSError(f"HTTP {response.status}")


def webhook_body(note: Notification, body_format: str) -> dict[str, object]:
    """Slack reads ``text``, Discord ``content`` (at most 2000 characters); the generic body
    carries the event and its details for a script."""
    text = f"*{note.subject}*\n{note.text}" if body_format == "slack" else f"**{note.subject}**\n{note.text}"
    if body_format == "slack":
        return {"text": text}
    if body_format == "discord":
        return {"content": text[:DISCORD_LIMIT]}
    return {"source": "trackrecord", "event": note.event, "subject": note.subject, "text": note.text,
            "details": dict(note.details), "attachments": [p.name for p in note.attachments]}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"{exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Notifier:
    """Sends each notification on every configured channel and records the outcome."""

    def __init__(self, config: "NotificationsConfig", environ: Mapping[str, str], ledger: "SqlLedger | None",
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.ledger = ledger
        self.sleep = sleep
        self.channels: list[Channel] = []
        self.problems: list[str] = []
        if config.smtp_host:
            self.channels.append(EmailChannel(config, secret_from_env(SECRET_ENV["smtp_password"], environ)))
        for index, hook in enumerate(config.webhooks):
            url = _webhook_url(hook, environ)
            if url is None:
                self.problems.append(f"notifications.webhooks[{index}]: ${hook.url_env} is not set")
            else:
                self.channels.append(WebhookChannel(url, hook.format, config.timeout_seconds))

    def send(self, note: Notification) -> list[Delivery]:
        if note.event not in self.config.events:
            return []
        deliveries = [self._deliver(channel, note) for channel in self.channels]
        self._record(note, deliveries)
        return deliveries

    def _deliver(self, channel: Channel, note: Notification) -> Delivery:
        error = ""
        for attempt in range(1, self.config.attempts + 1):
            try:
                channel.deliver(note)
                return Delivery(channel.name, True, attempt)
            except Exception as exc:  # any failure of a channel is retried, then recorded, never raised
                error = _describe(exc)
                log.warning("notification %s on %s, attempt %d: %s", note.event, channel.name, attempt, error)
            if attempt < self.config.attempts:
                self.sleep(self.config.backoff_seconds * 2 ** (attempt - 1))
        return Delivery(channel.name, False, self.config.attempts, error)

    def _record(self, note: Notification, deliveries: Sequence[Delivery]) -> None:
        if self.ledger is None or not deliveries:
            return
        items = [(kinds.NOTIFICATION_SENT if d.delivered else kinds.NOTIFICATION_FAILED,
                  {"event": note.event, "subject": note.subject, "channel": d.channel, "attempts": d.attempts,
                   **({} if d.error is None else {"error": d.error[:500]})}) for d in deliveries]
        try:
            with self.ledger.writer() as writer:
                writer.append_many(items)
        except Exception as exc:  # the record of a notification must not fail the job either
            log.error("could not record the notification outcome: %s", exc)


def _webhook_url(hook: "WebhookConfig", environ: Mapping[str, str]) -> str | None:
    if hook.url:
        return hook.url
    assert hook.url_env is not None
    return environ.get(hook.url_env) or None
