"""The simulated broker's book in the database (``sim_orders``, ``sim_executions``,
``sim_cash``): read once at start-up, then written only when something changes.

These tables are the counterparty's state (like IB's servers), outside the hash chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Sequence

from trackrecord.ledger.canonical import format_timestamp

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


@dataclass(frozen=True, slots=True)
class BookRows:
    orders: list[dict[str, Any]]
    executions: list[dict[str, Any]]
    cash: list[dict[str, Any]]
    next_order_id: int
    next_cash_id: int


def parse_timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def stamp(moment: datetime) -> str:
    return format_timestamp(moment)


class SimBookStore:
    """Reads and writes one account's rows; each write is one short transaction."""

    def __init__(self, engine: "Engine", account_id: str) -> None:
        from trackrecord.ledger.schema import sim_cash, sim_executions, sim_orders

        self.engine = engine
        self.account_id = account_id
        self._orders, self._executions, self._cash = sim_orders, sim_executions, sim_cash

    def load(self) -> BookRows:
        from sqlalchemy import func, select

        with self.engine.connect() as conn:
            orders = [dict(r._mapping) for r in conn.execute(
                select(self._orders).where(self._orders.c.account_id == self.account_id)
                .order_by(self._orders.c.broker_order_id))]
            executions = [dict(r._mapping) for r in conn.execute(
                select(self._executions).where(self._executions.c.account_id == self.account_id))]
            cash = [dict(r._mapping) for r in conn.execute(
                select(self._cash).where(self._cash.c.account_id == self.account_id).order_by(self._cash.c.id))]
            max_order = conn.execute(select(func.max(self._orders.c.broker_order_id))).scalar()
            max_cash = conn.execute(select(func.max(self._cash.c.id))).scalar()
        return BookRows(orders, executions, cash, int(max_order or 0) + 1, int(max_cash or 0) + 1)

    def insert_order(self, row: dict[str, Any]) -> None:
        """Raises sqlalchemy's IntegrityError when (account, order_ref) exists already."""
        with self.engine.begin() as conn:
            conn.execute(self._orders.insert(), [{**row, "account_id": self.account_id}])

    def insert_cash(self, row: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(self._cash.insert(), [{**row, "account_id": self.account_id}])

    def record(self, executions: Sequence[dict[str, Any]], statuses: Sequence[tuple[int, str, str]]) -> None:
        """Executions and order status changes ``(broker_order_id, status, message)`` together."""
        if not executions and not statuses:
            return
        from sqlalchemy import bindparam

        with self.engine.begin() as conn:
            if executions:
                conn.execute(self._executions.insert(),
                             [{**row, "account_id": self.account_id} for row in executions])
            if statuses:
                conn.execute(
                    self._orders.update()
                    .where(self._orders.c.broker_order_id == bindparam("order_id"))
                    .values(status=bindparam("new_status"), message=bindparam("new_message")),
                    [{"order_id": oid, "new_status": status, "new_message": message} for oid, status, message in statuses],
                )


def decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)
