"""`contact.phone_display`: the number as people read it, stored once instead of formatted on every render.

The list formatted each row's number with phonenumbers on every render (~70-100 µs each, 13.5% of the CPU in a
burst of list clicks, issue 21). The backfill is set-based (storage/display_numbers.py: one sample per number
prefix and length is formatted in Python, one UPDATE ... FROM cuts every number in SQL), so 1M contacts take one
statement, not a million.

Revision ID: 0013_display_number
Revises: 0012_contact_history
"""

import sqlalchemy as sa
from alembic import op

from storage.display_numbers import fill

revision = "0013_display_number"
down_revision = "0012_contact_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contact", sa.Column("phone_display", sa.String(length=32), nullable=True))
    fill(op.get_bind())


def downgrade() -> None:
    op.drop_column("contact", "phone_display")
