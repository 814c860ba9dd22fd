"""Opening and keeping one ib_async connection to TWS / IB Gateway.

ib_async's defaults are silent and wait forever (``RaiseRequestErrors = False``,
``RequestTimeout = 0``); this module always sets both. ib_async is imported only
when a connection is opened.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from trackrecord.brokers.base import BrokerError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionSettings:
    host: str
    port: int
    client_id: int
    connect_timeout: float
    request_timeout: float
    max_connect_attempts: int
    read_only: bool
    backoff_seconds: float = 1.0
    backoff_cap_seconds: float = 30.0


def backoff_delays(settings: ConnectionSettings) -> list[float]:
    """Seconds to wait before attempts 2..n: doubling from ``backoff_seconds``, capped."""
    return [
        min(settings.backoff_seconds * 2**attempt, settings.backoff_cap_seconds)
        for attempt in range(max(settings.max_connect_attempts - 1, 0))
    ]


class IbConnection:
    """One live ``ib_async.IB``, reopened on demand after the socket drops.

    Rule: call ``ib()`` before every use; it notices a dropped socket (the sync API
    only sees one while its loop runs) and reconnects with bounded back-off.
    """

    def __init__(self, settings: ConnectionSettings, sleep: Callable[[float], None] = time.sleep,
                 on_error: Callable[[int, int, str, Any], None] | None = None,
                 on_connecting: Callable[[], None] | None = None) -> None:
        """``on_error`` hears every error and notice IB sends (from the handshake on);
        ``on_connecting`` is called before each connection attempt."""
        self.settings = settings
        self._sleep = sleep
        self._on_error = on_error
        self._on_connecting = on_connecting
        self._ib: Any = None
        self.generation = 0  # incremented by every successful connect

    def ib(self) -> Any:
        if self._ib is not None:
            self._pump()
            if self._ib.isConnected():
                return self._ib
            log.warning("IB connection lost; reconnecting to %s:%s", self.settings.host, self.settings.port)
        self._ib = self._connect_with_backoff()
        self.generation += 1
        return self._ib

    def is_connected(self) -> bool:
        return self._ib is not None and self._ib.isConnected()

    def close(self) -> None:
        if self._ib is not None:
            self._ib.disconnect()
            self._ib = None

    def _pump(self) -> None:
        """Let the event loop process pending socket events (e.g. a closed socket)."""
        if self._ib.isConnected():
            try:
                self._ib.sleep(0.005)
            except ConnectionError:
                pass

    def _connect_with_backoff(self) -> Any:
        s = self.settings
        errors: list[str] = []
        for attempt, delay in enumerate([0.0, *backoff_delays(s)], start=1):
            if delay:
                self._sleep(delay)
            try:
                return self._connect_once()
            except (ConnectionError, OSError, asyncio.TimeoutError, TimeoutError) as e:
                errors.append(f"attempt {attempt}: {type(e).__name__}: {e}".rstrip(": "))
                log.warning("IB connect attempt %d/%d failed: %r", attempt, s.max_connect_attempts, e)
        raise BrokerError(
            f"Cannot connect to TWS/IB Gateway at {s.host}:{s.port} as client id {s.client_id} "
            f"after {s.max_connect_attempts} attempts ({'; '.join(errors)}). Is it running with the "
            "API enabled on that port, and is the client id free?"
        )

    def _connect_once(self) -> Any:
        from ib_async import IB

        s = self.settings
        ib = IB()
        ib.RaiseRequestErrors = True
        ib.RequestTimeout = s.request_timeout
        if self._on_connecting is not None:
            self._on_connecting()
        if self._on_error is not None:
            ib.errorEvent += self._on_error
        try:
            ib.connect(
                s.host, s.port, clientId=s.client_id, timeout=s.connect_timeout,
                readonly=s.read_only, raiseSyncErrors=True,
            )
        except BaseException:
            ib.disconnect()
            raise
        return ib
