"""WhatsApp identity and opt-out rules (issue 14).

- `contact.wa_id`: the WhatsApp id Meta reports for the number (a send's `contacts[0].wa_id`, an
  inbound `from`); in Mexico and Brazil it differs from the dialled number, and inbound messages
  are matched on it first.
- `contact.marketing_opted_out_at`: the person stopped marketing messages (error 131050, the
  `user_preferences` webhook); utility templates may still reach them.
- `contact.undeliverable_count`: failed sends with 131026 since the person last wrote; at two the
  number is left out of broadcasts until it writes in again.
- `early_status.effect`: what a failed status that arrived before its message id means for the
  contact or broadcast (storage.status_effects), applied when the id turns up.
- `suppression`: opt-outs keyed by a hash of the number, so an opt-out survives erasure and
  re-import (GDPR art. 21: the objection must be honoured; art. 17(3) allows keeping what is
  needed for that, and a hash is all that is needed).

Revision ID: 0007_whatsapp_identity
Revises: 0006_whatsapp_number
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_whatsapp_identity"
down_revision = "0006_whatsapp_number"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch rebuild): the contact table carries tally and search triggers.
    op.add_column("contact", sa.Column("wa_id", sa.String(length=20), nullable=True))
    op.add_column("contact", sa.Column("marketing_opted_out_at", sa.DateTime(), nullable=True))
    op.add_column(
        "contact", sa.Column("undeliverable_count", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.create_index("ix_contact_wa_id", "contact", ["wa_id"], unique=False)
    op.create_table(
        "suppression",
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(), nullable=True),
        sa.Column("marketing_opted_out_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phone_hash"),
    )
    op.add_column("early_status", sa.Column("effect", sa.String(length=20), nullable=True))


def downgrade() -> None:
    op.drop_column("early_status", "effect")
    op.drop_table("suppression")
    op.drop_index("ix_contact_wa_id", table_name="contact")
    op.drop_column("contact", "undeliverable_count")
    op.drop_column("contact", "marketing_opted_out_at")
    op.drop_column("contact", "wa_id")
