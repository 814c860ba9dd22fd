"""External cash flows: deposits (> 0) and withdrawals (< 0)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from trackrecord.domain import CashFlow
from trackrecord.ledger import events as kinds
from trackrecord.ledger.chain import StoredEvent

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from trackrecord.ledger.store import Writer


def cashflow_payload(flow: CashFlow, source: str) -> dict[str, object]:
    return {"flow_date": flow.flow_date, "amount": flow.amount, "currency": flow.currency, "note": flow.note,
            "source": source}


def record_cashflow(writer: "Writer", flow: CashFlow, source: str = "cli") -> StoredEvent:
    return writer.append(kinds.CASHFLOW_RECORDED, cashflow_payload(flow, source))


def list_cashflows(bind: "Engine | Connection", until: date | None = None) -> list[CashFlow]:
    from sqlalchemy import select

    from trackrecord.ledger.schema import cashflows

    query = select(cashflows).order_by(cashflows.c.flow_date, cashflows.c.seq)
    if until is not None:
        query = query.where(cashflows.c.flow_date <= until.isoformat())
    if hasattr(bind, "connect"):
        with bind.connect() as conn:  # type: ignore[union-attr]
            rows = conn.execute(query).all()
    else:
        rows = bind.execute(query).all()  # type: ignore[union-attr]
    return [CashFlow(date.fromisoformat(r.flow_date), Decimal(r.amount), r.currency, r.note) for r in rows]
