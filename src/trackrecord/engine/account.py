"""Pull executions and snapshot the account: the daily bookkeeping against any broker.

Both are idempotent: a repeated pull adds nothing (fills keyed by exec id; a commission
that was pending is completed by its own event, never recorded as zero), and a snapshot
identical to the one recorded for the same session adds nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from trackrecord.brokers.base import Broker
from trackrecord.domain import AccountSnapshot, Mode
from trackrecord.engine.recording import canonical_snapshot, fill_payload, snapshot_payload
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger import queries
from trackrecord.ledger.canonical import Canonical, normalise
from trackrecord.ledger.projections import snapshot_content

if TYPE_CHECKING:
    from trackrecord.ledger.store import Writer

log = logging.getLogger(__name__)


@dataclass
class PullResult:
    new_fills: int = 0
    completed_commissions: int = 0
    pending_commissions: int = 0
    repeated: int = 0
    exec_ids: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {"new_fills": self.new_fills, "completed_commissions": self.completed_commissions,
                "pending_commissions": self.pending_commissions, "repeated": self.repeated}


def pull_executions(writer: "Writer", broker: Broker, since: datetime, simulated: bool) -> PullResult:
    """Record the broker's executions since ``since`` that the ledger does not have yet."""
    result = PullResult()
    executions = broker.executions_since(since)
    if not executions:
        return result
    complete = _complete_in_transaction(writer)
    if all(fill.exec_id in complete for fill in executions):  # the day after a rebalance, in a backtest's month
        result.repeated = len(executions)
        return result
    recorded = queries.recorded_commissions(writer.conn, None if len(executions) > 50 else
                                            min(f.executed_at for f in executions))
    intended = queries.intended_prices(writer.conn, {f.order_ref for f in executions if f.order_ref})
    items: list[tuple[str, dict[str, Any]]] = []
    for fill in executions:
        if fill.exec_id in recorded:
            if recorded[fill.exec_id] is None and fill.commission is not None:
                items.append((kinds.COMMISSION_RECORDED, {"exec_id": fill.exec_id, "commission": fill.commission,
                                                          "currency": fill.commission_currency}))
                recorded[fill.exec_id] = fill.commission
                result.completed_commissions += 1
            else:
                result.repeated += 1
            continue
        price, order_type = intended.get(fill.order_ref, (None, None))
        items.append((kinds.FILL_RECORDED, fill_payload(fill, price, order_type, simulated)))
        recorded[fill.exec_id] = fill.commission
        result.new_fills += 1
        result.exec_ids.append(fill.exec_id)
        if fill.commission is None:
            result.pending_commissions += 1
    writer.append_many(items)
    complete.update(fill.exec_id for fill in executions if recorded.get(fill.exec_id) is not None)
    return result


_COMPLETE_FILLS = "trackrecord.fills.complete"  # Connection.info: (transaction, exec ids)


def _complete_in_transaction(writer: "Writer") -> set[str]:
    """Exec ids this transaction has seen recorded with their commission: a pull that finds
    only those adds nothing, known without a query (the ledger is append-only and the
    transaction holds the single-writer lock)."""
    conn = writer.conn
    transaction = conn.get_transaction()
    if transaction is None:
        return set()
    held = conn.info.get(_COMPLETE_FILLS)
    if held is None or held[0] is not transaction:
        held = conn.info[_COMPLETE_FILLS] = (transaction, set())
    return held[1]


class StaleSnapshot(UserError):
    """A simulated account valued at marks older than the session it would be labelled with."""


def record_snapshot(writer: "Writer", broker: Broker, as_of: datetime, session_date: date, simulated: bool,
                    mode: Mode, default_account: str | None = None) -> tuple[bool, dict[str, Any]]:
    """Snapshot the account for a session; return (written, payload).

    Refused (exit 2, nothing written) when the account was never funded and holds nothing,
    and in paper mode when a position is valued at a price older than the session. Live,
    the broker's valuation is recorded as it is, its old marks listed in ``stale_marks``.
    """
    snapshot = broker.snapshot(as_of)
    if snapshot.session_date != session_date:
        snapshot = replace(snapshot, session_date=session_date)
    if not snapshot.positions and not snapshot.net_liquidation and \
            not queries.has_cashflows(writer.conn, snapshot.account_id, default_account):
        raise UserError(f"no snapshot of {snapshot.account_id} for {session_date}: the account has never been "
                        "funded and holds nothing; record the deposit first (`trackrecord cashflow add`)")
    stale = stale_marks(snapshot, session_date, undated_is_stale=mode is not Mode.LIVE)
    if stale and mode is not Mode.LIVE:
        named = ", ".join(f"{symbol} {day or 'without a price'}" for symbol, day in stale)
        raise StaleSnapshot(f"snapshot of {snapshot.account_id} for {session_date} refused: marks older than the "
                            f"session ({named}); store the session's prices first (`trackrecord prices update` "
                            "or `prices import`)")
    payload = snapshot_payload(snapshot, simulated, mode.value)
    if stale:
        payload["stale_marks"] = [{"symbol": s, "price_date": d} for s, d in stale]
        log.warning("snapshot of %s for %s: the broker's marks are older than the session for %s",
                    snapshot.account_id, session_date, ", ".join(f"{s} ({d})" for s, d in stale))
    canonical = canonical_snapshot(payload)
    if _same_as_recorded(writer, payload, canonical):
        return False, payload
    writer.append(kinds.SNAPSHOT_RECORDED, canonical or payload)
    return True, payload


def stale_marks(snapshot: AccountSnapshot, session_date: date,
                undated_is_stale: bool) -> list[tuple[str, date | None]]:
    """(symbol, price date) of the positions valued at a price dated before the session;
    a position whose price has no date counts when ``undated_is_stale`` (the simulated
    account dates every market price it has)."""
    return [(p.symbol, p.price_date) for p in snapshot.positions
            if (p.price_date is None and undated_is_stale) or (p.price_date is not None and p.price_date < session_date)]


def _same_as_recorded(writer: "Writer", payload: dict[str, Any], canonical: Canonical | None) -> bool:
    """Whether the session's recorded snapshot has the same content (nav, cash, positions);
    no query when the writer knows the account has no snapshot that late (a replay's next session)."""
    if not writer.may_hold_snapshot(payload["account_id"], payload["session_date"]):
        return False
    row = queries.recorded_snapshot_content(writer.conn, payload["account_id"], payload["session_date"])
    return row is not None and row == snapshot_content(normalise(payload) if canonical is None else canonical.data)

