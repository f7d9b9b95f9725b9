"""Status webhooks that arrive before the sender has recorded the message id they name.

Revision ID: 0003_early_status
Revises: 0002_broadcasts
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_early_status"
down_revision = "0002_broadcasts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_status",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wa_message_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status_at", sa.DateTime(), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.String(length=300), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("wa_message_id", "status", name="uq_early_status_wamid_status"),
    )
    with op.batch_alter_table("early_status", schema=None) as batch_op:
        batch_op.create_index("ix_early_status_received_at", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("early_status")
