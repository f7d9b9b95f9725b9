"""The webhook inbox: WhatsApp webhook bodies stored as received, applied later in batches.

Revision ID: 0008_webhook_inbox
Revises: 0007_whatsapp_identity
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_webhook_inbox"
down_revision = "0007_whatsapp_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_inbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # consumers take the lowest priority first, oldest first: this index answers that without a sort
    op.create_index("ix_webhook_inbox_priority_id", "webhook_inbox", ["priority", "id"])


def downgrade() -> None:
    op.drop_table("webhook_inbox")
