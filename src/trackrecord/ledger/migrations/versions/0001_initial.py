"""Initial schema: the append-only events table with its guard triggers, projections,
the price store and the simulated broker's book.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SQLITE_GUARDS = [
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END",
]

POSTGRES_GUARDS = [
    """CREATE OR REPLACE FUNCTION trackrecord_events_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'events are append-only: % refused', TG_OP; END; $$ LANGUAGE plpgsql""",
    "CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION trackrecord_events_append_only()",
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION trackrecord_events_append_only()",
]


def _text(name: str, length: int | None = None, nullable: bool = False, **kw: object) -> sa.Column:
    kind = sa.Text() if length is None else sa.String(length)
    return sa.Column(name, kind, nullable=nullable, **kw)


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        _text("recorded_at", 32),
        _text("kind", 64),
        _text("payload"),
        _text("prev_hash", 64),
        _text("hash", 64, unique=True),
    )
    op.create_index("ix_events_kind", "events", ["kind"])
    op.create_table(
        "cashflows",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        _text("flow_date", 10),
        _text("amount", 40),
        _text("currency", 3),
        _text("note"),
    )
    op.create_index("ix_cashflows_flow_date", "cashflows", ["flow_date"])
    op.create_table(
        "snapshots",
        sa.Column("account_id", sa.String(32), primary_key=True),
        sa.Column("session_date", sa.String(10), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        _text("taken_at", 32),
        _text("base_currency", 3),
        _text("nav", 40),
        _text("cash", 40, nullable=True),
        sa.Column("is_paper", sa.Boolean(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        _text("positions"),
    )
    op.create_table(
        "fills",
        sa.Column("exec_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        _text("account_id", 32),
        _text("order_ref", 96),
        _text("symbol", 32),
        _text("side", 4),
        _text("quantity", 40),
        _text("price", 40),
        _text("currency", 3),
        _text("executed_at", 32),
        _text("commission", 40, nullable=True),
        _text("commission_currency", 3, nullable=True),
        _text("intended_price", 40, nullable=True),
        _text("order_type", 8, nullable=True),
        _text("supersedes", 64, nullable=True),
        _text("superseded_by", 64, nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_fills_order_ref", "fills", ["order_ref"])
    op.create_index("ix_fills_executed_at", "fills", ["executed_at"])
    op.create_table(
        "orders",
        sa.Column("order_ref", sa.String(96), primary_key=True),
        _text("plan_id", 96),
        _text("mode", 16),
        _text("symbol", 32),
        _text("side", 4),
        _text("quantity", 40),
        _text("order_type", 8),
        _text("intended_price", 40),
        _text("currency", 3),
        _text("status", 24),
        _text("broker_order_id", 64, nullable=True),
        _text("message"),
        sa.Column("last_seq", sa.Integer(), nullable=False),
    )
    op.create_index("ix_orders_plan_id", "orders", ["plan_id"])
    op.create_table(
        "imports",
        sa.Column("content_hash", sa.String(64), primary_key=True),
        _text("kind", 32),
        _text("source"),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "kill_switch",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        _text("state", 16),
        _text("reason"),
        _text("changed_at", 32),
        sa.Column("seq", sa.Integer(), nullable=False),
    )
    op.create_table(
        "checkpoints",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        _text("head_hash", 64),
        _text("public_key", 64),
        _text("signature", 128),
    )
    op.create_table(
        "prices",
        sa.Column("symbol", sa.String(32), primary_key=True),
        sa.Column("session_date", sa.String(10), primary_key=True),
        sa.Column("close", sa.Float(), nullable=True),
        sa.Column("adj_close", sa.Float(), nullable=False),
        _text("source", 32),
        _text("fetched_at", 32),
    )
    op.create_table(
        "sim_orders",
        sa.Column("broker_order_id", sa.Integer(), primary_key=True, autoincrement=False),
        _text("account_id", 32),
        _text("order_ref", 96),
        _text("symbol", 32),
        _text("side", 4),
        _text("quantity", 40),
        _text("order_type", 8),
        _text("limit_price", 40, nullable=True),
        _text("currency", 3),
        _text("status", 24),
        _text("placed_at", 32),
        _text("message"),
        sa.UniqueConstraint("account_id", "order_ref", name="uq_sim_orders_ref"),
    )
    op.create_table(
        "sim_executions",
        sa.Column("exec_id", sa.String(64), primary_key=True),
        _text("account_id", 32),
        sa.Column("broker_order_id", sa.Integer(), nullable=False),
        _text("order_ref", 96),
        _text("symbol", 32),
        _text("side", 4),
        _text("quantity", 40),
        _text("price", 40),
        _text("currency", 3),
        _text("commission", 40),
        _text("executed_at", 32),
    )
    op.create_index("ix_sim_executions_executed_at", "sim_executions", ["executed_at"])
    op.create_table(
        "sim_cash",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        _text("account_id", 32),
        _text("amount", 40),
        _text("booked_at", 32),
        _text("note"),
    )
    guards = POSTGRES_GUARDS if op.get_bind().dialect.name == "postgresql" else SQLITE_GUARDS
    for statement in guards:
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("the ledger is append-only: the initial schema is never downgraded")
