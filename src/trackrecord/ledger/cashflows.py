"""External cash flows: deposits (> 0) and withdrawals (< 0), each of one account.

Rules of the read side:

* A flow belongs to the account in its payload's ``account_id``. Flows recorded before
  flows carried an account (schema revision 0003), or imported without one, have none
  (``NULL`` in the ``cashflows`` table, and ``verify`` projects their events the same way):
  they belong to the *default account*, which the caller names (``default_account``).
* A voided flow (a later ``cashflow.voided`` event) stays in the chain and in the table,
  marked ``voided_by``; it counts in no figure.
* ``flow_date`` is the session the flow is booked on; ``date_given`` the date the user gave
  when that was not a session (NULL otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select

from trackrecord.domain import CashFlow
from trackrecord.ledger import events as kinds
from trackrecord.ledger.canonical import format_decimal
from trackrecord.ledger.chain import StoredEvent
from trackrecord.ledger.schema import cashflows, events
from trackrecord.ledger.sql import fetch_all, param

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from trackrecord.ledger.store import Writer


@dataclass(frozen=True, slots=True)
class RecordedCashFlow:
    """A flow as the ledger holds it: its seq (the id ``cashflow void`` takes) and account
    (None: the default account)."""

    seq: int
    flow: CashFlow
    account_id: str | None
    date_given: date | None
    recorded_on: date
    voided_by: int | None

    @property
    def voided(self) -> bool:
        return self.voided_by is not None

    def document(self, default_account: str) -> dict[str, object]:
        """The flow as ``cashflow list --json`` prints it."""
        return {"seq": self.seq, "date": self.flow.flow_date.isoformat(), "account": self.account_id or default_account,
                "amount": format_decimal(self.flow.amount), "currency": self.flow.currency, "note": self.flow.note,
                "date_given": self.date_given.isoformat() if self.date_given else None, "voided_by": self.voided_by}


def cashflow_payload(flow: CashFlow, source: str, account_id: str | None = None,
                     date_given: date | None = None) -> dict[str, object]:
    """The ``cashflow.recorded`` payload; ``account_id`` None leaves the flow to the default
    account; ``date_given`` is set when the flow is booked on a later session than given."""
    payload: dict[str, object] = {"flow_date": flow.flow_date, "amount": flow.amount, "currency": flow.currency,
                                  "note": flow.note, "source": source}
    if account_id is not None:
        payload["account_id"] = account_id
    if date_given is not None and date_given != flow.flow_date:
        payload["date_given"] = date_given
    return payload


def void_payload(seq: int, reason: str) -> dict[str, object]:
    return {"seq": seq, "reason": reason}


def record_cashflow(writer: "Writer", flow: CashFlow, source: str = "cli", account_id: str | None = None,
                    date_given: date | None = None) -> StoredEvent:
    return writer.append(kinds.CASHFLOW_RECORDED, cashflow_payload(flow, source, account_id, date_given))


def record_void(writer: "Writer", seq: int, reason: str) -> StoredEvent:
    return writer.append(kinds.CASHFLOW_VOIDED, void_payload(seq, reason))


def _rows(bind: "Engine | Connection", query: Any) -> list[Any]:
    if hasattr(bind, "connect"):
        with bind.connect() as conn:  # type: ignore[union-attr]
            return list(conn.execute(query).all())
    return list(bind.execute(query).all())  # type: ignore[union-attr]


def _of_account(account_id: str, default_account: str | None) -> Any:
    if account_id == default_account:
        return or_(cashflows.c.account_id == account_id, cashflows.c.account_id.is_(None))
    return cashflows.c.account_id == account_id


def list_cashflows(bind: "Engine | Connection", until: date | None = None, account_id: str | None = None,
                   default_account: str | None = None) -> list[CashFlow]:
    """The flows that count, oldest first: not voided, booked on or before ``until``, of
    ``account_id`` (every account's when None; flows without an account are the
    ``default_account``'s)."""
    query = select(cashflows).where(cashflows.c.voided_by.is_(None)).order_by(cashflows.c.flow_date, cashflows.c.seq)
    if until is not None:
        query = query.where(cashflows.c.flow_date <= until.isoformat())
    if account_id is not None:
        query = query.where(_of_account(account_id, default_account))
    return [_flow(r) for r in _rows(bind, query)]


def flows_between(conn: "Connection", after: date, until: date, account_id: str,
                  default_account: str | None = None) -> Decimal:
    """The sum of the flows that count (``list_cashflows``' rule) booked in ``after < day <=
    until``. The engine asks once per rebalance: the driver's cursor, ten times cheaper than
    the select of ``list_cashflows``."""
    dialect = conn.dialect.name
    of_account = f"account_id = {param(dialect, 'account')}" + (" OR account_id IS NULL" if account_id == default_account
                                                               else "")
    _, found = fetch_all(conn, f"SELECT amount FROM cashflows WHERE voided_by IS NULL "
                               f"AND flow_date > {param(dialect, 'after')} AND flow_date <= {param(dialect, 'until')} "
                               f"AND ({of_account})",
                         {"account": account_id, "after": after.isoformat(), "until": until.isoformat()})
    return sum((Decimal(amount) for (amount,) in found), Decimal(0))


def recorded_cashflows(bind: "Engine | Connection", account_id: str | None = None,
                       default_account: str | None = None) -> list[RecordedCashFlow]:
    """Every recorded flow (voided ones too), in seq order, with its seq and account."""
    query = (select(cashflows, events.c.recorded_at).join(events, events.c.seq == cashflows.c.seq)
             .order_by(cashflows.c.seq))
    if account_id is not None:
        query = query.where(_of_account(account_id, default_account))
    return [_recorded(r) for r in _rows(bind, query)]


def recorded_cashflow(bind: "Engine | Connection", seq: int) -> RecordedCashFlow | None:
    query = (select(cashflows, events.c.recorded_at).join(events, events.c.seq == cashflows.c.seq)
             .where(cashflows.c.seq == seq))
    rows = _rows(bind, query)
    return _recorded(rows[0]) if rows else None


def booking_flows(bind: "Engine | Connection", account_id: str) -> list[RecordedCashFlow]:
    """The flows recorded explicitly for ``account_id`` (voided ones too): what a simulated
    account books. Flows without an account were booked by hand before revision 0003."""
    query = (select(cashflows, events.c.recorded_at).join(events, events.c.seq == cashflows.c.seq)
             .where(and_(cashflows.c.account_id == account_id)).order_by(cashflows.c.seq))
    return [_recorded(r) for r in _rows(bind, query)]


def _flow(row: Any) -> CashFlow:
    return CashFlow(date.fromisoformat(row.flow_date), Decimal(row.amount), row.currency, row.note, row.account_id)


def _recorded(row: Any) -> RecordedCashFlow:
    return RecordedCashFlow(
        int(row.seq), _flow(row), row.account_id,
        date.fromisoformat(row.date_given) if row.date_given else None,
        date.fromisoformat(row.recorded_at[:10]), None if row.voided_by is None else int(row.voided_by),
    )
