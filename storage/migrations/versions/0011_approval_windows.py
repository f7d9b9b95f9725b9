"""Four-eyes approval and recipient-local send windows for broadcasts (issue 18).

`broadcast`: whether an approval is needed, the fingerprint of what it is and of what was approved,
who approved it when and until when, a rejection's reason, the approval messages to update, the
local send time and quiet hours, and when its next window opens. `delivery`: the recipient's
window in UTC (`not_before`/`not_after`, computed at the freeze) and zone, with an index for the
claim and the next opening.

Revision ID: 0011_approval_windows
Revises: 0010_din5007_name_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_approval_windows"
down_revision = "0010_din5007_name_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_required", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_fingerprint", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_by", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("approved_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("approval_expires_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("decision_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("approval_posts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("local_time", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("quiet_hours", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("next_window_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("not_before", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("not_after", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("local_zone", sa.String(length=40), nullable=True))
    op.create_index("ix_delivery_window", "delivery", ["broadcast_id", "status", "not_before"])


def downgrade() -> None:
    op.drop_index("ix_delivery_window", table_name="delivery")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        for name in ("local_zone", "not_after", "not_before"):
            batch_op.drop_column(name)
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        for name in (
            "next_window_at",
            "quiet_hours",
            "local_time",
            "approval_posts",
            "decision_reason",
            "approval_expires_at",
            "approved_at",
            "approved_by",
            "approved_fingerprint",
            "fingerprint",
            "approval_required",
        ):
            batch_op.drop_column(name)
