"""Who may see the dashboard, and the one thing it may change.

- It binds 127.0.0.1 by default; any other address needs ``TRACKRECORD_DASHBOARD_TOKEN``
  (``check_bind``). Without a token it answers only requests addressed to a loopback
  name (a DNS-rebinding page cannot reach it through another host name).
- With a token, every route needs it: ``Authorization: Bearer TOKEN`` for the API, or the
  session cookie the login form sets (HttpOnly, SameSite=Strict) for pages. The cookie
  holds an HMAC of the token, never the token. Comparisons are constant-time; each failed
  login waits longer than the one before (up to ``MAX_LOGIN_DELAY``).
- The only write, activating the kill switch, needs the session (or loopback without a
  token), a CSRF token bound to the session, a same-origin request and the typed word.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from trackrecord.errors import UserError

TOKEN_ENV = "TRACKRECORD_DASHBOARD_TOKEN"
MIN_TOKEN_LENGTH = 16
SESSION_COOKIE = "trackrecord_session"
ACTIVATION_WORD = "HALT"
MAX_LOGIN_DELAY = 8.0
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback address without a token, and a token too short to be one."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise UserError(f"${TOKEN_ENV} is {len(token)} characters: use at least {MIN_TOKEN_LENGTH} "
                        "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    if not is_loopback(host) and not token:
        raise UserError(f"--host {host}: the dashboard listens on another address than loopback only with "
                        f"${TOKEN_ENV} set (every page and API call then needs it); nothing was started")


@dataclass
class Guard:
    """The token (None: loopback only, open), the session secret and the login throttle."""

    token: str | None
    login_delay: float = 0.5
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def required(self) -> bool:
        return self.token is not None

    def session_value(self) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), b"trackrecord dashboard session", hashlib.sha256).hexdigest()

    def token_matches(self, given: str | None) -> bool:
        if self.token is None or given is None:
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self.token.encode())

    def bearer_ok(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        return self.token_matches(header[len("Bearer "):].strip())

    def cookie_ok(self, value: str | None) -> bool:
        return bool(self.token and value) and hmac.compare_digest(value.encode("utf-8", "surrogatepass"),  # type: ignore[union-attr]
                                                                  self.session_value().encode())

    def csrf_token(self, session: str | None) -> str:
        """Bound to the session (or to this process when there is no token)."""
        return hmac.new(self._key, f"csrf:{session or ''}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, given: str | None, session: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode("utf-8", "surrogatepass"),  # type: ignore[union-attr]
                                                   self.csrf_token(session).encode())

    def failed_login(self) -> float:
        """Count a failure; the seconds to wait before answering it."""
        with self._lock:
            self._failures += 1
            return min(self.login_delay * 2 ** (self._failures - 1), MAX_LOGIN_DELAY)

    def logged_in(self) -> None:
        with self._lock:
            self._failures = 0


def same_origin(origin: str | None, fetch_site: str | None, host: str | None) -> bool:
    """A POST comes from our own pages: the browser says ``Sec-Fetch-Site: same-origin``, or
    (a client that sends no fetch metadata) the Origin names this host. With
    ``Referrer-Policy: no-referrer`` a browser sends ``Origin: null``, so the fetch
    metadata decides; a request with neither is refused."""
    if fetch_site is not None:
        return fetch_site == "same-origin"
    if origin and origin != "null" and host:
        return urlsplit(origin).netloc == host
    return False
