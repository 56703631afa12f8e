"""policies: the policy supermarket, applications, publicity and objections, policy effects, the government fund supermarket

policies (published by departments, with window, materials and eligibility), policy_applications (with the
automatic check, decision, publicity and disbursement), policy_materials (uploaded documents), policy_events
(every move, by whom and when), policy_objections (异议 during publicity and their answers); investment_funds,
investment_applications and investments (the government fund supermarket, 基金超市).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "investment_funds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manager_name", sa.String(length=200), nullable=False),
        sa.Column("focus", sa.String(length=500), nullable=False),
        sa.Column("size", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["organisations.id"], name=op.f("fk_investment_funds_manager_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investment_funds")),
    )
    op.create_index(op.f("ix_investment_funds_manager_id"), "investment_funds", ["manager_id"], unique=False)
    op.create_index(op.f("ix_investment_funds_status"), "investment_funds", ["status"], unique=False)
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("benefit", sa.String(length=500), nullable=False),
        sa.Column("benefit_max", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("eligibility", sa.Text(), nullable=False),
        sa.Column("publicity_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["organisations.id"], name=op.f("fk_policies_department_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
    )
    op.create_index(op.f("ix_policies_department_id"), "policies", ["department_id"], unique=False)
    op.create_index(op.f("ix_policies_status"), "policies", ["status"], unique=False)
    op.create_table(
        "investment_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("amount_sought", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("plan", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision_reason", sa.String(length=1000), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["organisations.id"],
            name=op.f("fk_investment_applications_enterprise_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"],
            ["investment_funds.id"],
            name=op.f("fk_investment_applications_fund_id_investment_funds"),
        ),
        sa.ForeignKeyConstraint(
            ["manager_id"],
            ["organisations.id"],
            name=op.f("fk_investment_applications_manager_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investment_applications")),
    )
    op.create_index(
        op.f("ix_investment_applications_enterprise_id"),
        "investment_applications",
        ["enterprise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_investment_applications_fund_id"), "investment_applications", ["fund_id"], unique=False
    )
    op.create_index(
        op.f("ix_investment_applications_manager_id"), "investment_applications", ["manager_id"], unique=False
    )
    op.create_index(
        op.f("ix_investment_applications_status"), "investment_applications", ["status"], unique=False
    )
    op.create_index(
        op.f("ix_investment_applications_uscc"), "investment_applications", ["uscc"], unique=False
    )
    op.create_table(
        "policy_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("amount_requested", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("check_eligible", sa.Boolean(), nullable=True),
        sa.Column("check_reasons", sa.JSON(), nullable=False),
        sa.Column("checked_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=1000), nullable=False),
        sa.Column("approved_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("publicity_starts_on", sa.Date(), nullable=True),
        sa.Column("publicity_ends_on", sa.Date(), nullable=True),
        sa.Column("disbursed_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["organisations.id"],
            name=op.f("fk_policy_applications_department_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["organisations.id"],
            name=op.f("fk_policy_applications_enterprise_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_policy_applications_policy_id_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_applications")),
    )
    op.create_index(
        op.f("ix_policy_applications_department_id"), "policy_applications", ["department_id"], unique=False
    )
    op.create_index(
        op.f("ix_policy_applications_enterprise_id"), "policy_applications", ["enterprise_id"], unique=False
    )
    op.create_index(
        op.f("ix_policy_applications_policy_id"), "policy_applications", ["policy_id"], unique=False
    )
    op.create_index(
        op.f("ix_policy_applications_publicity_ends_on"),
        "policy_applications",
        ["publicity_ends_on"],
        unique=False,
    )
    op.create_index(op.f("ix_policy_applications_status"), "policy_applications", ["status"], unique=False)
    op.create_index(op.f("ix_policy_applications_uscc"), "policy_applications", ["uscc"], unique=False)
    op.create_table(
        "investments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("invested_on", sa.Date(), nullable=False),
        sa.Column("stake", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["investment_applications.id"],
            name=op.f("fk_investments_application_id_investment_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["organisations.id"], name=op.f("fk_investments_enterprise_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["investment_funds.id"], name=op.f("fk_investments_fund_id_investment_funds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investments")),
    )
    op.create_index(op.f("ix_investments_application_id"), "investments", ["application_id"], unique=False)
    op.create_index(op.f("ix_investments_enterprise_id"), "investments", ["enterprise_id"], unique=False)
    op.create_index(op.f("ix_investments_fund_id"), "investments", ["fund_id"], unique=False)
    op.create_index(op.f("ix_investments_uscc"), "investments", ["uscc"], unique=False)
    op.create_table(
        "policy_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_organisation_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("occurred_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_policy_events_actor_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["users.id"], name=op.f("fk_policy_events_actor_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["policy_applications.id"],
            name=op.f("fk_policy_events_application_id_policy_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_events")),
    )
    op.create_index(
        op.f("ix_policy_events_application_id"), "policy_events", ["application_id"], unique=False
    )
    op.create_table(
        "policy_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("material", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_path", sa.String(length=500), nullable=False),
        sa.Column("uploaded_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["policy_applications.id"],
            name=op.f("fk_policy_materials_application_id_policy_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_materials")),
    )
    op.create_index(
        op.f("ix_policy_materials_application_id"), "policy_materials", ["application_id"], unique=False
    )
    op.create_table(
        "policy_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("lodged_by_user_id", sa.Integer(), nullable=True),
        sa.Column("lodged_by", sa.String(length=64), nullable=False),
        sa.Column("lodged_by_organisation_id", sa.Integer(), nullable=True),
        sa.Column("lodged_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer", sa.String(length=2000), nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["policy_applications.id"],
            name=op.f("fk_policy_objections_application_id_policy_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["organisations.id"],
            name=op.f("fk_policy_objections_department_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["lodged_by_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_policy_objections_lodged_by_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["lodged_by_user_id"], ["users.id"], name=op.f("fk_policy_objections_lodged_by_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_objections")),
    )
    op.create_index(
        op.f("ix_policy_objections_application_id"), "policy_objections", ["application_id"], unique=False
    )
    op.create_index(
        op.f("ix_policy_objections_department_id"), "policy_objections", ["department_id"], unique=False
    )
    op.create_index(op.f("ix_policy_objections_status"), "policy_objections", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_policy_objections_status"), table_name="policy_objections")
    op.drop_index(op.f("ix_policy_objections_department_id"), table_name="policy_objections")
    op.drop_index(op.f("ix_policy_objections_application_id"), table_name="policy_objections")
    op.drop_table("policy_objections")
    op.drop_index(op.f("ix_policy_materials_application_id"), table_name="policy_materials")
    op.drop_table("policy_materials")
    op.drop_index(op.f("ix_policy_events_application_id"), table_name="policy_events")
    op.drop_table("policy_events")
    op.drop_index(op.f("ix_investments_uscc"), table_name="investments")
    op.drop_index(op.f("ix_investments_fund_id"), table_name="investments")
    op.drop_index(op.f("ix_investments_enterprise_id"), table_name="investments")
    op.drop_index(op.f("ix_investments_application_id"), table_name="investments")
    op.drop_table("investments")
    op.drop_index(op.f("ix_policy_applications_uscc"), table_name="policy_applications")
    op.drop_index(op.f("ix_policy_applications_status"), table_name="policy_applications")
    op.drop_index(op.f("ix_policy_applications_publicity_ends_on"), table_name="policy_applications")
    op.drop_index(op.f("ix_policy_applications_policy_id"), table_name="policy_applications")
    op.drop_index(op.f("ix_policy_applications_enterprise_id"), table_name="policy_applications")
    op.drop_index(op.f("ix_policy_applications_department_id"), table_name="policy_applications")
    op.drop_table("policy_applications")
    op.drop_index(op.f("ix_investment_applications_uscc"), table_name="investment_applications")
    op.drop_index(op.f("ix_investment_applications_status"), table_name="investment_applications")
    op.drop_index(op.f("ix_investment_applications_manager_id"), table_name="investment_applications")
    op.drop_index(op.f("ix_investment_applications_fund_id"), table_name="investment_applications")
    op.drop_index(op.f("ix_investment_applications_enterprise_id"), table_name="investment_applications")
    op.drop_table("investment_applications")
    op.drop_index(op.f("ix_policies_status"), table_name="policies")
    op.drop_index(op.f("ix_policies_department_id"), table_name="policies")
    op.drop_table("policies")
    op.drop_index(op.f("ix_investment_funds_status"), table_name="investment_funds")
    op.drop_index(op.f("ix_investment_funds_manager_id"), table_name="investment_funds")
    op.drop_table("investment_funds")
