"""The read side a report is built on: the ledger as of one head, from its events alone.

``RebuiltRecord`` has what ``engine.performance`` asks of ``Services`` (``engine``,
``ledger``, ``settings``), so ``stats``, ``trades`` and ``slippage`` compute a report's
figures with the very functions the CLI prints them with; its settings and benchmark
are the ones frozen in the chain (``reports.inputs``), never the workspace's files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.rebuild import rebuild_as_of
from trackrecord.reports.inputs import FrozenInputs, settings_from_json

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from trackrecord.config import Settings

TABLE_EVENT_KINDS = frozenset({kinds.CASHFLOW_RECORDED, kinds.CASHFLOW_VOIDED,  # what named queries join
                               kinds.PLAN_CREATED, kinds.SIGNAL_COMPUTED})  # (the attribution's model)
FROZEN_AT = datetime(2000, 1, 1, tzinfo=timezone.utc)  # the rebuilt price store's fetched_at: never shown


class EventList:
    """The kept events behind the ``SqlLedger.events`` signature (what ``engine.performance`` reads)."""

    def __init__(self, events: list[StoredEvent]) -> None:
        self._events = events

    def events(self, kind: str | None = None, after_seq: int = 0) -> Iterator[StoredEvent]:
        return (e for e in self._events if e.seq > after_seq and (kind is None or e.kind == kind))

    def head(self) -> tuple[int, str]:
        return (self._events[-1].seq, self._events[-1].hash) if self._events else (0, "")


@dataclass
class RebuiltRecord:
    """One account's ledger as of ``head_seq``, rebuilt in memory."""

    engine: "Engine"
    ledger: EventList
    settings: "Settings"
    events: list[StoredEvent]
    frozen: FrozenInputs
    account_id: str

    @property
    def head(self) -> tuple[int, str]:
        last = self.events[-1]
        return last.seq, last.hash

    def of_kind(self, *wanted: str) -> list[StoredEvent]:
        return [e for e in self.events if e.kind in wanted]

    def public_key(self) -> str | None:
        """The signing key of the last checkpoint up to the head (else the workspace's creation)."""
        for event in reversed(self.events):
            if event.kind in (kinds.CHECKPOINT_SIGNED, kinds.WORKSPACE_CREATED):
                key = event.data().get("public_key")
                if key:
                    return str(key)
        return None

    def close(self) -> None:
        self.engine.dispose()


def rebuild_record(events: Iterable[StoredEvent], account_id: str, head_seq: int) -> RebuiltRecord:
    """The record as of ``head_seq``; ``UserError`` when the chain does not reach it or
    holds no report inputs for ``account_id``."""
    from trackrecord.market.base import PriceRow
    from trackrecord.market.store import store_prices

    engine, kept = rebuild_as_of(events, head_seq, TABLE_EVENT_KINDS)
    if not kept or kept[-1].seq != head_seq:
        engine.dispose()
        raise UserError(f"the ledger does not reach seq {head_seq} (its head is {kept[-1].seq if kept else 0})")
    frozen = FrozenInputs.from_events(kept, account_id)
    if frozen.settings_json is None:
        engine.dispose()
        raise UserError(f"no report inputs recorded for account {account_id} up to seq {head_seq}")
    rows = [PriceRow(symbol, datetime.fromisoformat(day).date(), close, close)
            for (symbol, day), close in sorted(frozen.closes.items())]
    if rows:
        with engine.begin() as conn:
            store_prices(conn, rows, "frozen", FROZEN_AT)
    settings = settings_from_json(frozen.settings_json)
    return RebuiltRecord(engine, EventList(kept), settings, kept, frozen, account_id)


def report_head(events: Iterable[StoredEvent]) -> tuple[int, str]:
    """The head a report is built from: the last event that is neither a checkpoint nor
    a record of a report made (so making the same report again changes nothing)."""
    head = (0, "")
    for event in events:
        if event.kind not in (kinds.CHECKPOINT_SIGNED, kinds.REPORT_GENERATED):
            head = (event.seq, event.hash)
    return head
