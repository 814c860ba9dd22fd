"""Tables of the current schema (SQLAlchemy Core). Alembic revisions create them.

``events`` is the source of truth. The projection tables are rebuilt from events by
``verify``; ``prices`` and the ``sim_*`` tables are stores outside the chain (the price
points a signal used are hashed into its event; the simulated broker's own book is the
counterparty's state, like IB's servers).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("recorded_at", String(32), nullable=False),
    Column("kind", String(64), nullable=False, index=True),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)

cashflows = Table(
    "cashflows",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("flow_date", String(10), nullable=False, index=True),
    Column("amount", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("note", Text, nullable=False),
    # Revision 0003: the flow's account (NULL for flows recorded before: the default account,
    # see ledger/cashflows.py), the date the user gave when it was booked on a later session,
    # and the seq of the ``cashflow.voided`` event that removed it from the figures.
    Column("account_id", String(32), nullable=True, index=True),
    Column("date_given", String(10), nullable=True),
    Column("voided_by", Integer, nullable=True),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("account_id", String(32), primary_key=True),
    Column("session_date", String(10), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("taken_at", String(32), nullable=False),
    Column("base_currency", String(3), nullable=False),
    Column("nav", String(40), nullable=False),
    Column("cash", String(40), nullable=True),
    Column("is_paper", Boolean, nullable=False),
    Column("simulated", Boolean, nullable=False),
    Column("positions", Text, nullable=False),
)

fills = Table(
    "fills",
    metadata,
    Column("exec_id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("account_id", String(32), nullable=False),
    Column("order_ref", String(96), nullable=False, index=True),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("price", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("executed_at", String(32), nullable=False, index=True),
    Column("commission", String(40), nullable=True),
    Column("commission_currency", String(3), nullable=True),
    Column("intended_price", String(40), nullable=True),
    Column("order_type", String(8), nullable=True),
    Column("supersedes", String(64), nullable=True),
    Column("superseded_by", String(64), nullable=True),
    Column("simulated", Boolean, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("order_ref", String(96), primary_key=True),
    Column("plan_id", String(96), nullable=False, index=True),
    Column("mode", String(16), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("intended_price", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(24), nullable=False),
    Column("broker_order_id", String(64), nullable=True),
    Column("message", Text, nullable=False),
    Column("last_seq", Integer, nullable=False),
)

imports = Table(
    "imports",
    metadata,
    Column("content_hash", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("source", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
)

kill_switch = Table(
    "kill_switch",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("changed_at", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("head_seq", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("public_key", String(64), nullable=False),
    Column("signature", String(128), nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("plan_id", String(96), primary_key=True),
    Column("mode", String(16), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("risk_seq", Integer, nullable=True),
    Column("approved", Boolean, nullable=True),
)

prices = Table(
    "prices",
    metadata,
    Column("symbol", String(32), primary_key=True),
    Column("session_date", String(10), primary_key=True),
    Column("close", Float, nullable=True),
    Column("adj_close", Float, nullable=False),
    Column("source", String(32), nullable=False),
    Column("fetched_at", String(32), nullable=False),
)

sim_orders = Table(
    "sim_orders",
    metadata,
    Column("broker_order_id", Integer, primary_key=True, autoincrement=False),
    Column("account_id", String(32), nullable=False),
    Column("order_ref", String(96), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("limit_price", String(40), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("status", String(24), nullable=False),
    Column("placed_at", String(32), nullable=False),
    Column("message", Text, nullable=False),
    UniqueConstraint("account_id", "order_ref", name="uq_sim_orders_ref"),
)

sim_executions = Table(
    "sim_executions",
    metadata,
    Column("exec_id", String(64), primary_key=True),
    Column("account_id", String(32), nullable=False),
    Column("broker_order_id", Integer, nullable=False),
    Column("order_ref", String(96), nullable=False),
    Column("symbol", String(32), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("price", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("commission", String(40), nullable=False),
    Column("executed_at", String(32), nullable=False, index=True),
)

sim_cash = Table(
    "sim_cash",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("account_id", String(32), nullable=False),
    Column("amount", String(40), nullable=False),
    Column("booked_at", String(32), nullable=False),
    Column("note", Text, nullable=False),
    # Revision 0003: which ledger flow this booking follows ("flow:SEQ", "void:SEQ"); NULL for
    # bookings made directly (tests, older workspaces). Unique per account: booked once.
    Column("flow_key", String(32), nullable=True),
    Index("ux_sim_cash_flow_key", "account_id", "flow_key", unique=True),
)

PROJECTION_TABLES = (cashflows, snapshots, fills, orders, imports, kill_switch, checkpoints, plans)
