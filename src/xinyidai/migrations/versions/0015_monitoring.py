"""monitoring: risk monitoring: rules, rule sets, versions, alerts, traffic lights

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "monitoring_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("started_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rules", sa.Integer(), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("alerts_raised", sa.Integer(), nullable=False),
        sa.Column("alerts_cleared", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_runs")),
    )
    op.create_index(op.f("ix_monitoring_runs_as_of"), "monitoring_runs", ["as_of"], unique=False)
    op.create_table(
        "monitoring_rule_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("library_code", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("backtest", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("activated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_monitoring_rule_sets_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rule_sets")),
        sa.UniqueConstraint("organisation_id", "code", name="uq_monitoring_rule_sets_owner_code"),
    )
    op.create_index(
        op.f("ix_monitoring_rule_sets_organisation_id"),
        "monitoring_rule_sets",
        ["organisation_id"],
        unique=False,
    )
    op.create_table(
        "monitoring_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("expression", sa.String(length=2000), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("trigger", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_set_id"],
            ["monitoring_rule_sets.id"],
            name=op.f("fk_monitoring_rules_rule_set_id_monitoring_rule_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rules")),
        sa.UniqueConstraint("rule_set_id", "code", "version", name="uq_monitoring_rules_set_code_version"),
    )
    op.create_index(
        "ix_monitoring_rules_set_current", "monitoring_rules", ["rule_set_id", "retired_at"], unique=False
    )
    op.create_table(
        "monitoring_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("rule_set_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("rule_code", sa.String(length=64), nullable=False),
        sa.Column("rule_name", sa.String(length=200), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dedup_key", sa.String(length=120), nullable=False),
        sa.Column("open_key", sa.String(length=120), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("raised_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution_note", sa.String(length=1000), nullable=False),
        sa.Column("cleared_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_monitoring_alerts_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["monitoring_rules.id"],
            name=op.f("fk_monitoring_alerts_rule_id_monitoring_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rule_set_id"],
            ["monitoring_rule_sets.id"],
            name=op.f("fk_monitoring_alerts_rule_set_id_monitoring_rule_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alerts")),
        sa.UniqueConstraint("open_key", name="uq_monitoring_alerts_open_key"),
    )
    op.create_index(op.f("ix_monitoring_alerts_dedup_key"), "monitoring_alerts", ["dedup_key"], unique=False)
    op.create_index("ix_monitoring_alerts_uscc", "monitoring_alerts", ["uscc"], unique=False)
    op.create_index(
        "ix_monitoring_alerts_watcher_status",
        "monitoring_alerts",
        ["organisation_id", "status"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("monitoring_alerts")
    op.drop_table("monitoring_rules")
    op.drop_table("monitoring_rule_sets")
    op.drop_table("monitoring_runs")
