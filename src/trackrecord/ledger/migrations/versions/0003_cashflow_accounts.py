"""Cash flows belong to an account and can be voided; the simulated book follows the ledger's flows.

``cashflows`` gains ``account_id`` (NULL for the flows recorded before: they belong to the
default account, as the read side documents; ``verify`` projects old events the same way),
``date_given`` and ``voided_by``. ``sim_cash`` gains ``flow_key``: the ledger flow a booking
follows, unique per account, so the simulated account books each flow once.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cashflows") as batch:
        batch.add_column(sa.Column("account_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("date_given", sa.String(10), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.Integer(), nullable=True))
    op.create_index("ix_cashflows_account_id", "cashflows", ["account_id"])
    with op.batch_alter_table("sim_cash") as batch:
        batch.add_column(sa.Column("flow_key", sa.String(32), nullable=True))
    op.create_index("ux_sim_cash_flow_key", "sim_cash", ["account_id", "flow_key"], unique=True)


def downgrade() -> None:
    raise RuntimeError("the ledger is append-only: schema revisions are never downgraded")
