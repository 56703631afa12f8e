"""audit_records: append-only at the database level on PostgreSQL

On PostgreSQL (the production store) a trigger refuses every UPDATE and DELETE of an audit record, so
not even someone with the application's database credentials can rewrite the trail; TRUNCATE is a
separate privilege to withhold from the application role. SQLite relies on the hash chain alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:05:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION audit_records_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql
        """
    )
    op.execute(
        """
        CREATE TRIGGER audit_records_append_only
        BEFORE UPDATE OR DELETE ON audit_records
        FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER audit_records_append_only ON audit_records")
    op.execute("DROP FUNCTION audit_records_append_only()")
