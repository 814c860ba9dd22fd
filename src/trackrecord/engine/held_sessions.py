"""A backtest's sessions recorded a month at a time (docs/engine.md, "What a backtest records")."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Sequence

from trackrecord.ledger import events as kinds
from trackrecord.market.quality import QualityReport, session_gates_document
from trackrecord.market.service import record_prices

if TYPE_CHECKING:
    from trackrecord.ledger.store import Writer
    from trackrecord.market.base import PriceRow


class HeldSessions:
    """What a replay's sessions reveal at their closes, held and recorded when the replay
    says (a backtest: once a month, at its last close): the bars in one ``prices.updated``
    (``purpose: replay``, stamped at the last close held) and the daily gates in one
    ``quality.checked`` (``purpose: daily`` from ``first`` to ``session``, its failures
    each dated). Each bar still enters the price book at its own session's close."""

    def __init__(self, source: str, simulated: bool, symbols: Sequence[str], calendar: str) -> None:
        self.source, self.simulated, self.symbols, self.calendar = source, simulated, list(symbols), calendar
        self._rows: list["PriceRow"] = []
        self._gates: list[QualityReport] = []
        self._last_close: datetime | None = None

    def hold(self, rows: Sequence["PriceRow"], now: datetime) -> None:
        self._rows.extend(rows)
        self._last_close = now

    def hold_gates(self, quality: QualityReport) -> None:
        self._gates.append(quality)

    def record(self, writer: "Writer") -> None:
        """Record what is held (nothing when nothing is) and hold nothing."""
        if self._rows and self._last_close is not None:
            record_prices(writer, self._rows, self.source, self.simulated, self._last_close, self.symbols,
                          {"purpose": "replay"})
        if self._gates:
            first, last = self._gates[0], self._gates[-1]
            writer.append(kinds.QUALITY_CHECKED, {
                **session_gates_document(last, self.symbols), "purpose": "daily", "calendar": self.calendar,
                "first": first.expected_last_session, "passed": all(q.passed for q in self._gates),
                "failures": [failure.document() for q in self._gates for failure in q.failures]})
        self._rows, self._gates, self._last_close = [], [], None
