"""Initial schema: contacts, tickets, messages, attributes, audiences, audit, imports.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attribute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label_de", sa.String(length=100), nullable=False),
        sa.Column("label_en", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "audience",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=50), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.String(length=50), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index("ix_audit_at", ["at"], unique=False)

    op.create_table(
        "contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("messenger", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("name_sort", sa.String(length=200), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(), nullable=False),
        sa.Column("last_chat_at", sa.DateTime(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("consent_at", sa.DateTime(), nullable=True),
        sa.Column("consent_source", sa.String(length=200), nullable=True),
        sa.Column("consent_by", sa.String(length=50), nullable=True),
        sa.Column("opted_out_at", sa.DateTime(), nullable=True),
        sa.Column("blocked_messages", sa.Integer(), nullable=False),
        sa.Column("blocked_last_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone", "messenger", name="uq_contact_phone_messenger"),
    )
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.create_index("ix_contact_active_id", ["active", "id"], unique=False)
        batch_op.create_index("ix_contact_blocked_id", ["blocked", "id"], unique=False)
        batch_op.create_index("ix_contact_first_contact_id", ["first_contact_at", "id"], unique=False)
        batch_op.create_index("ix_contact_last_chat_id", ["last_chat_at", "id"], unique=False)
        batch_op.create_index("ix_contact_messenger_id", ["messenger", "id"], unique=False)
        batch_op.create_index("ix_contact_name_sort_id", ["name_sort", "id"], unique=False)
        batch_op.create_index("ix_contact_phone_id", ["phone", "id"], unique=False)

    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=50), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_by", sa.String(length=50), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=True),
        sa.Column("thread_ts", sa.String(length=30), nullable=True),
        sa.Column("message_ts", sa.String(length=30), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.Column("applied_by", sa.String(length=50), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_import_run_file_id"), ["file_id"], unique=False)

    op.create_table(
        "processed_event",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "slack_user",
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "table_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=20), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "user_id", name="uq_table_settings_scope"),
    )
    op.create_table(
        "contact_attribute",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("attribute_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(["attribute_id"], ["attribute.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("contact_id", "attribute_id"),
    )
    with op.batch_alter_table("contact_attribute", schema=None) as batch_op:
        batch_op.create_index("ix_contact_attribute_attr_value", ["attribute_id", "value"], unique=False)

    op.create_table(
        "import_row",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("messenger", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("name_sort", sa.String(length=200), nullable=True),
        sa.Column("first_contact_at", sa.DateTime(), nullable=True),
        sa.Column("last_chat_at", sa.DateTime(), nullable=True),
        sa.Column("blocked", sa.Boolean(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["import_run.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("import_row", schema=None) as batch_op:
        batch_op.create_index("ix_import_row_run_row", ["run_id", "row_no"], unique=False)

    op.create_table(
        "ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("last_message_at", sa.DateTime(), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_contact_opened", ["contact_id", "opened_at"], unique=False)
        batch_op.create_index(
            "uq_ticket_open_contact",
            ["contact_id"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("wa_message_id", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("status_at", sa.DateTime(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_title", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("wa_message_id"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index("ix_message_ticket_sent", ["ticket_id", "sent_at"], unique=False)

    _create_search_index()
    _create_contact_tally()


SQLITE_SEARCH = [
    # Contentless FTS5 trigram index over the case-folded name and the number's digits; kept in
    # step by triggers, so a substring search never scans the table.
    "CREATE VIRTUAL TABLE contact_fts USING fts5(name_sort, digits, content='', tokenize='trigram')",
    """CREATE TRIGGER contact_fts_ai AFTER INSERT ON contact BEGIN
         INSERT INTO contact_fts(rowid, name_sort, digits)
         VALUES (new.id, coalesce(new.name_sort, ''), substr(new.phone, 2));
       END""",
    """CREATE TRIGGER contact_fts_ad AFTER DELETE ON contact BEGIN
         INSERT INTO contact_fts(contact_fts, rowid, name_sort, digits)
         VALUES ('delete', old.id, coalesce(old.name_sort, ''), substr(old.phone, 2));
       END""",
    """CREATE TRIGGER contact_fts_au AFTER UPDATE OF name_sort, phone ON contact BEGIN
         INSERT INTO contact_fts(contact_fts, rowid, name_sort, digits)
         VALUES ('delete', old.id, coalesce(old.name_sort, ''), substr(old.phone, 2));
         INSERT INTO contact_fts(rowid, name_sort, digits)
         VALUES (new.id, coalesce(new.name_sort, ''), substr(new.phone, 2));
       END""",
]

POSTGRES_SEARCH = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_contact_name_trgm ON contact USING gin (name_sort gin_trgm_ops)",
    "CREATE INDEX ix_contact_phone_trgm ON contact USING gin (phone gin_trgm_ops)",
]


def _create_search_index() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_SEARCH if dialect == "sqlite" else POSTGRES_SEARCH:
        op.execute(statement)


# contact_tally: contacts per (active, blocked, messenger), so the list header's exact total is a
# sum over a few dozen rows instead of count(*) over up to a million. SQLite keeps it with row
# triggers (cheap: the table stays in cache); PostgreSQL with statement triggers over transition
# tables, so a bulk insert or update touches each tally row once per statement, and updates that
# leave these three columns alone write nothing.
SQLITE_TALLY = [
    """CREATE TRIGGER contact_tally_ai AFTER INSERT ON contact BEGIN
         INSERT INTO contact_tally(active, blocked, messenger, n)
         VALUES (new.active, new.blocked, new.messenger, 1)
         ON CONFLICT(active, blocked, messenger) DO UPDATE SET n = n + 1;
       END""",
    """CREATE TRIGGER contact_tally_ad AFTER DELETE ON contact BEGIN
         UPDATE contact_tally SET n = n - 1
         WHERE active = old.active AND blocked = old.blocked AND messenger = old.messenger;
       END""",
    """CREATE TRIGGER contact_tally_au AFTER UPDATE OF active, blocked, messenger ON contact
       WHEN old.active IS NOT new.active OR old.blocked IS NOT new.blocked
         OR old.messenger IS NOT new.messenger
       BEGIN
         UPDATE contact_tally SET n = n - 1
         WHERE active = old.active AND blocked = old.blocked AND messenger = old.messenger;
         INSERT INTO contact_tally(active, blocked, messenger, n)
         VALUES (new.active, new.blocked, new.messenger, 1)
         ON CONFLICT(active, blocked, messenger) DO UPDATE SET n = n + 1;
       END""",
]

POSTGRES_TALLY = [
    """CREATE FUNCTION contact_tally_apply() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'TRUNCATE' THEN
           DELETE FROM contact_tally;
         ELSIF TG_OP = 'INSERT' THEN
           INSERT INTO contact_tally AS t (active, blocked, messenger, n)
           SELECT active, blocked, messenger, count(*) FROM new_rows GROUP BY 1, 2, 3
           ORDER BY 1, 2, 3
           ON CONFLICT (active, blocked, messenger) DO UPDATE SET n = t.n + excluded.n;
         ELSIF TG_OP = 'DELETE' THEN
           INSERT INTO contact_tally AS t (active, blocked, messenger, n)
           SELECT active, blocked, messenger, -count(*) FROM old_rows GROUP BY 1, 2, 3
           ORDER BY 1, 2, 3
           ON CONFLICT (active, blocked, messenger) DO UPDATE SET n = t.n + excluded.n;
         ELSE
           INSERT INTO contact_tally AS t (active, blocked, messenger, n)
           SELECT active, blocked, messenger, sum(d) FROM (
             SELECT active, blocked, messenger, 1 AS d FROM new_rows
             UNION ALL SELECT active, blocked, messenger, -1 FROM old_rows
           ) x GROUP BY 1, 2, 3 HAVING sum(d) <> 0
           ORDER BY 1, 2, 3
           ON CONFLICT (active, blocked, messenger) DO UPDATE SET n = t.n + excluded.n;
         END IF;
         RETURN NULL;
       END $$""",
    "CREATE TRIGGER contact_tally_ai AFTER INSERT ON contact REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION contact_tally_apply()",
    "CREATE TRIGGER contact_tally_ad AFTER DELETE ON contact REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION contact_tally_apply()",
    "CREATE TRIGGER contact_tally_au AFTER UPDATE ON contact REFERENCING OLD TABLE AS old_rows "
    "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_tally_apply()",
    "CREATE TRIGGER contact_tally_at AFTER TRUNCATE ON contact "
    "FOR EACH STATEMENT EXECUTE FUNCTION contact_tally_apply()",
]


def _create_contact_tally() -> None:
    op.create_table(
        "contact_tally",
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("messenger", sa.String(length=20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("active", "blocked", "messenger"),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TALLY if dialect == "sqlite" else POSTGRES_TALLY:
        op.execute(statement)
    op.execute(  # contacts that existed before the triggers
        "INSERT INTO contact_tally (active, blocked, messenger, n) "
        "SELECT active, blocked, messenger, count(*) FROM contact GROUP BY active, blocked, messenger"
    )


def _drop_contact_tally() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("contact_tally_ai", "contact_tally_ad", "contact_tally_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in ("contact_tally_ai", "contact_tally_ad", "contact_tally_au", "contact_tally_at"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON contact")
        op.execute("DROP FUNCTION IF EXISTS contact_tally_apply()")
    op.drop_table("contact_tally")


def _drop_search_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("contact_fts_ai", "contact_fts_ad", "contact_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS contact_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_contact_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_contact_phone_trgm")


def downgrade() -> None:
    _drop_contact_tally()
    _drop_search_index()
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_ticket_sent")
        batch_op.drop_index(batch_op.f("ix_message_contact_id"))

    op.drop_table("message")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("uq_ticket_open_contact")
        batch_op.drop_index("ix_ticket_contact_opened")

    op.drop_table("ticket")
    with op.batch_alter_table("import_row", schema=None) as batch_op:
        batch_op.drop_index("ix_import_row_run_row")

    op.drop_table("import_row")
    with op.batch_alter_table("contact_attribute", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_attribute_attr_value")

    op.drop_table("contact_attribute")
    op.drop_table("table_settings")
    op.drop_table("slack_user")
    op.drop_table("processed_event")
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_import_run_file_id"))

    op.drop_table("import_run")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_phone_id")
        batch_op.drop_index("ix_contact_name_sort_id")
        batch_op.drop_index("ix_contact_messenger_id")
        batch_op.drop_index("ix_contact_last_chat_id")
        batch_op.drop_index("ix_contact_first_contact_id")
        batch_op.drop_index("ix_contact_blocked_id")
        batch_op.drop_index("ix_contact_active_id")

    op.drop_table("contact")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_at")

    op.drop_table("audit")
    op.drop_table("audience")
    op.drop_table("attribute")
