"""objections_retention: objections to report data, retention policies

Tables: ``data_objections`` (an enterprise's objection to an item of its credit report),
``source_departments`` (which department answers for a source), ``audit_checkpoints`` (where the kept
audit trail starts after a retention run).

On PostgreSQL the append-only trigger of 0003 is replaced: UPDATE stays refused, and DELETE is allowed
only for records below the newest retention checkpoint (``core.audit.enforce_retention`` writes the
checkpoint, attested in the chain, before it removes the prefix). Checkpoints are append-only too.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("before_id", sa.Integer(), nullable=False),
        sa.Column("anchor_hash", sa.String(length=64), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("cutoff", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_table(
        "data_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("item_key", sa.String(length=300), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("item_label", sa.String(length=500), nullable=False),
        sa.Column("explanation", sa.String(length=2000), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raised_by", sa.String(length=64), nullable=False),
        sa.Column("raised_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reminded_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.String(length=2000), nullable=False),
        sa.Column("correction_batch_id", sa.String(length=48), nullable=True),
        sa.Column("closed_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["correction_batch_id"],
            ["ingest_batches.id"],
            name=op.f("fk_data_objections_correction_batch_id_ingest_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["organisations.id"],
            name=op.f("fk_data_objections_department_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["organisations.id"],
            name=op.f("fk_data_objections_enterprise_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_objections")),
    )
    op.create_index(
        op.f("ix_data_objections_department_id"), "data_objections", ["department_id"], unique=False
    )
    op.create_index(
        op.f("ix_data_objections_enterprise_id"), "data_objections", ["enterprise_id"], unique=False
    )
    op.create_index(op.f("ix_data_objections_status"), "data_objections", ["status"], unique=False)
    op.create_index("ix_data_objections_uscc_status", "data_objections", ["uscc", "status"], unique=False)
    op.create_table(
        "source_departments",
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_source_departments_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_source_departments")),
    )
    op.create_index(
        op.f("ix_source_departments_organisation_id"), "source_departments", ["organisation_id"], unique=False
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND OLD.id < (
                    SELECT coalesce(max(before_id), 0) FROM audit_checkpoints
                ) THEN
                    RETURN OLD;
                END IF;
                RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            """
            CREATE FUNCTION audit_checkpoints_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit checkpoints are append-only (% refused)', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            """
            CREATE TRIGGER audit_checkpoints_append_only
            BEFORE UPDATE OR DELETE ON audit_checkpoints
            FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_append_only()
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints")
        op.execute("DROP FUNCTION audit_checkpoints_append_only()")
        op.execute(
            """
            CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit records are append-only (% refused)', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        )
    op.drop_index(op.f("ix_source_departments_organisation_id"), table_name="source_departments")
    op.drop_table("source_departments")
    op.drop_index("ix_data_objections_uscc_status", table_name="data_objections")
    op.drop_index(op.f("ix_data_objections_status"), table_name="data_objections")
    op.drop_index(op.f("ix_data_objections_enterprise_id"), table_name="data_objections")
    op.drop_index(op.f("ix_data_objections_department_id"), table_name="data_objections")
    op.drop_table("data_objections")
    op.drop_table("audit_checkpoints")
