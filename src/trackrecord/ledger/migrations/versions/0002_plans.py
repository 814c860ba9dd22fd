"""Plans projection: the engine finds a session's recorded plan and risk decision by key.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_id", sa.String(96), primary_key=True),
        sa.Column("mode", sa.String(16), primary_key=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("risk_seq", sa.Integer(), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
    )
    # Rebuild from the events already recorded (projections are derived, never primary).
    from trackrecord.ledger.projections import apply_sql, operations
    from trackrecord.ledger.chain import StoredEvent

    bind = op.get_bind()
    rows = bind.exec_driver_sql(
        "SELECT seq, recorded_at, kind, payload, prev_hash, hash FROM events "
        "WHERE kind IN ('plan.created', 'risk.decided') ORDER BY seq"
    ).all()
    apply_sql(bind, (op_ for op_ in operations(StoredEvent(*row) for row in rows) if op_.table == "plans"))


def downgrade() -> None:
    raise RuntimeError("the ledger is append-only: schema revisions are never downgraded")
