"""What Meta told us about our WhatsApp number: messaging tier (daily limit), quality, restriction.

Revision ID: 0006_whatsapp_number
Revises: 0005_staging_without_fk
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_whatsapp_number"
down_revision = "0005_staging_without_fk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_number",
        sa.Column("phone_number_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=True),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("quality", sa.String(length=20), nullable=True),
        sa.Column("restriction", sa.String(length=80), nullable=True),
        sa.Column("restricted_until", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone_number_id"),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_number")
