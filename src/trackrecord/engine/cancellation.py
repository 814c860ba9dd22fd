"""A trader cancels a paper order that is still open: the simulated market takes it out of
its session's auction and the ledger records the cancellation with the trader's reason.

The way out of a paper account that waits on a close which will never come (a session the
price source has no bar for): ``daily`` refuses while an order awaits its close, so without
this the account could never be valued again. The broker cancels first and the ledger
records it after, so a crash between the two leaves a cancelled order the ledger still
shows open; the rerun finds it cancelled at the broker and records that, sending nothing.
A cancelled order is never sent again (``rebalance`` resends only unsent intents).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trackrecord.brokers.base import OrderRejected
from trackrecord.domain import Mode, OrderStatus
from trackrecord.engine.context import RunContext
from trackrecord.engine.recording import status_payload
from trackrecord.errors import UserError
from trackrecord.ledger import events as kinds
from trackrecord.ledger import queries


@dataclass(frozen=True)
class Cancellation:
    order_ref: str
    side: str
    quantity: str
    symbol: str
    was: str  # the status the ledger showed before
    seq: int  # the order.status_changed event recording it
    message: str

    def document(self) -> dict[str, Any]:
        return {"order_ref": self.order_ref, "side": self.side, "quantity": self.quantity, "symbol": self.symbol,
                "was": self.was, "status": OrderStatus.CANCELLED.value, "seq": self.seq, "message": self.message}


def refuse_unless_paper(mode: Mode, order_ref: str) -> None:
    """Only a paper order is cancelled here (checked before a broker is reached)."""
    if mode is Mode.LIVE:
        raise UserError(f"cancel {order_ref}: the workspace is in mode live: cancel a live order in TWS or IB Gateway, "
                        "where it is working; then `trackrecord pull` records it cancelled")
    if mode is not Mode.PAPER:
        raise UserError(f"cancel {order_ref}: the workspace is in mode {mode.value}: nothing is sent, nothing to cancel")


def cancel_order(ctx: RunContext, order_ref: str, reason: str) -> Cancellation:
    """Cancel the paper order ``order_ref`` at the simulated broker and record it. Refused
    (exit 2, nothing written) for another mode, an order the ledger does not know or has
    closed, and one the broker has already filled."""
    if not reason.strip():
        raise UserError("cancel: give the reason (it is recorded with the cancellation), e.g. "
                        "`trackrecord cancel REF \"no close price for that session\"`")
    refuse_unless_paper(ctx.mode, order_ref)
    with queries.reading(ctx.ledger.engine) as conn:
        order = queries.recorded_order(conn, order_ref)
    if order is None:
        raise UserError(f"cancel {order_ref}: no such order in the ledger (`trackrecord orders` lists them)")
    if order.mode != Mode.PAPER.value:
        raise UserError(f"cancel {order_ref}: a {order.mode} order, not the simulated paper broker's; "
                        "nothing to cancel here")
    if OrderStatus(order.status).is_terminal:
        raise UserError(f"cancel {order_ref}: the order is already {order.status}; nothing to cancel")
    try:
        at_broker = ctx.broker.cancel(order_ref)  # an order already closed comes back as it is
    except OrderRejected:
        raise UserError(f"cancel {order_ref}: the simulated broker has no such order (it was never sent); "
                        "nothing to cancel") from None
    if at_broker.status is not OrderStatus.CANCELLED:
        raise UserError(f"cancel {order_ref}: the broker shows it {at_broker.status.value}, too late to cancel; "
                        "`trackrecord daily` records what it did")
    message = f"cancelled by the trader: {reason.strip()}"
    with ctx.ledger.writer() as writer:
        event = writer.append(kinds.ORDER_STATUS, {**status_payload(at_broker), "message": message})
    return Cancellation(order_ref, order.side, order.quantity, order.symbol, order.status, event.seq, message)
