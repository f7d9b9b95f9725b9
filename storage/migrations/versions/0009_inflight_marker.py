"""Broadcast crash safety: the in-flight marker, ambiguous/resent stamps, and statuses by delivery id.

`delivery.requested_at` is written just before a request leaves (cleared by each claim), so rows a
dead sender had claimed but never requested go back to `pending`; `unknown_at`/`resent_at` keep
how many were ambiguous and how many were resent; `early_status.delivery_id` keeps the delivery id
Meta echoes in `biz_opaque_callback_data`, so a status for a message whose id was never written
still settles its `unknown` row.

Revision ID: 0009_inflight_marker
Revises: 0008_webhook_inbox
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_inflight_marker"
down_revision = "0008_webhook_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("unknown_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resent_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("early_status", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("early_status", schema=None) as batch_op:
        batch_op.drop_column("delivery_id")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_column("resent_at")
        batch_op.drop_column("unknown_at")
        batch_op.drop_column("requested_at")
