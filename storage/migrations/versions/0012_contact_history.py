"""Contact history and the broadcast chart: status times per delivery, the rendered text, history indexes.

`delivery.delivered_at` / `read_at` / `failed_at` keep when each status webhook said so (the earliest
time reported; `sent_at` already holds when Meta accepted the send), so a broadcast's funnel can be
drawn over time and a contact's history shows each template's timeline. `delivery.text` is the
template as the contact received it (placeholders filled with the values of the send).

A contact's history is its deliveries plus its messages, newest first, paged by keyset on
`(contact_id, <time>, id)`: the single-column `contact_id` indexes of both tables are replaced by
those composite ones (they serve the erasure's `WHERE contact_id = ?` just as well), so a broadcast's
INSERT ... SELECT of a million rows maintains no extra index.

`broadcast.chart_file_id` / `chart_at` / `chart_key`: the Slack file of the report's chart, when it
was drawn and for which figures, so any process uploads a chart at most every few minutes and once
per final state.

Revision ID: 0012_contact_history
Revises: 0011_approval_windows
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_contact_history"
down_revision = "0011_approval_windows"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("read_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch_op.drop_index("ix_delivery_contact_id")
        batch_op.create_index("ix_delivery_contact_claimed_id", ["contact_id", "claimed_at", "id"])
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_contact_id")
        batch_op.create_index("ix_message_contact_sent_id", ["contact_id", "sent_at", "id"])
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chart_file_id", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("chart_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("chart_key", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("broadcast", schema=None) as batch_op:
        batch_op.drop_column("chart_key")
        batch_op.drop_column("chart_at")
        batch_op.drop_column("chart_file_id")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_contact_sent_id")
        batch_op.create_index("ix_message_contact_id", ["contact_id"])
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_contact_claimed_id")
        batch_op.create_index("ix_delivery_contact_id", ["contact_id"])
        batch_op.drop_column("text")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("read_at")
        batch_op.drop_column("delivered_at")
