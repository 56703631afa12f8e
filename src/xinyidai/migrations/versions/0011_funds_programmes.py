"""funds: emergency bridge loans, interest subsidies, fund simulations

bridge_funds (terms of an emergency bridge fund), bridge_contributions (city and district money in, each
with its ledger entry), bridge_loans (application → bank confirmation → approval → disbursement →
repayment) and their events; subsidy_policies (points and caps), subsidy_runs (one period computed) and
subsidy_lines (one enterprise's subsidy with its working and payment entry). Fund simulations keep no
tables: they are computed on request.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bridge_funds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("daily_fee_per_mille", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("max_days", sa.Integer(), nullable=False),
        sa.Column("max_amount_per_enterprise", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("max_times_per_year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["organisations.id"], name=op.f("fk_bridge_funds_department_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_funds")),
    )
    op.create_index(op.f("ix_bridge_funds_department_id"), "bridge_funds", ["department_id"], unique=False)
    op.create_table(
        "bridge_contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("contributor", sa.String(length=16), nullable=False),
        sa.Column("contributor_name", sa.String(length=100), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("contributed_on", sa.Date(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_bridge_contributions_entry_id_journal_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["bridge_funds.id"], name=op.f("fk_bridge_contributions_fund_id_bridge_funds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_contributions")),
    )
    op.create_index(
        op.f("ix_bridge_contributions_fund_id"), "bridge_contributions", ["fund_id"], unique=False
    )
    op.create_table(
        "bridge_loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("district", sa.String(length=16), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("loan_maturity_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("days_requested", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("renewal_amount", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("bank_note", sa.String(length=500), nullable=False),
        sa.Column("decision_note", sa.String(length=500), nullable=False),
        sa.Column("daily_fee_per_mille", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("disbursed_on", sa.Date(), nullable=True),
        sa.Column("repaid_on", sa.Date(), nullable=True),
        sa.Column("days_used", sa.Integer(), nullable=True),
        sa.Column("fee", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["organisations.id"], name=op.f("fk_bridge_loans_enterprise_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["bridge_funds.id"], name=op.f("fk_bridge_loans_fund_id_bridge_funds")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["organisations.id"],
            name=op.f("fk_bridge_loans_institution_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_bridge_loans_loan_id_loans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_loans")),
        sa.UniqueConstraint("enterprise_id", "idempotency_key", name=op.f("uq_bridge_loans_enterprise_id")),
    )
    op.create_index(op.f("ix_bridge_loans_enterprise_id"), "bridge_loans", ["enterprise_id"], unique=False)
    op.create_index("ix_bridge_loans_fund_status", "bridge_loans", ["fund_id", "status"], unique=False)
    op.create_index(op.f("ix_bridge_loans_institution_id"), "bridge_loans", ["institution_id"], unique=False)
    op.create_table(
        "bridge_loan_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bridge_loan_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_organisation_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("occurred_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_organisation_id"],
            ["organisations.id"],
            name=op.f("fk_bridge_loan_events_actor_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["bridge_loan_id"],
            ["bridge_loans.id"],
            name=op.f("fk_bridge_loan_events_bridge_loan_id_bridge_loans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_loan_events")),
    )
    op.create_index(
        op.f("ix_bridge_loan_events_bridge_loan_id"), "bridge_loan_events", ["bridge_loan_id"], unique=False
    )
    op.create_table(
        "subsidy_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("points", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("max_loan_rate", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("cap_per_enterprise_year", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["organisations.id"],
            name=op.f("fk_subsidy_policies_department_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_policies")),
    )
    op.create_index(
        op.f("ix_subsidy_policies_department_id"), "subsidy_policies", ["department_id"], unique=False
    )
    op.create_table(
        "subsidy_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.Column("total", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("computed_by", sa.String(length=64), nullable=False),
        sa.Column("computed_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("paid_by", sa.String(length=64), nullable=False),
        sa.Column("paid_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["subsidy_policies.id"], name=op.f("fk_subsidy_runs_policy_id_subsidy_policies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_runs")),
    )
    op.create_index(op.f("ix_subsidy_runs_policy_id"), "subsidy_runs", ["policy_id"], unique=False)
    op.create_table(
        "subsidy_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("loans", sa.Integer(), nullable=False),
        sa.Column("interest", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("computed", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("working", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("paid_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"], ["organisations.id"], name=op.f("fk_subsidy_lines_enterprise_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name=op.f("fk_subsidy_lines_entry_id_journal_entries")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["subsidy_runs.id"], name=op.f("fk_subsidy_lines_run_id_subsidy_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_lines")),
        sa.UniqueConstraint("run_id", "enterprise_id", name=op.f("uq_subsidy_lines_run_id")),
    )
    op.create_index(op.f("ix_subsidy_lines_enterprise_id"), "subsidy_lines", ["enterprise_id"], unique=False)
    op.create_index(op.f("ix_subsidy_lines_run_id"), "subsidy_lines", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_subsidy_lines_enterprise_id"), table_name="subsidy_lines")
    op.drop_index(op.f("ix_subsidy_lines_run_id"), table_name="subsidy_lines")
    op.drop_table("subsidy_lines")
    op.drop_index(op.f("ix_subsidy_runs_policy_id"), table_name="subsidy_runs")
    op.drop_table("subsidy_runs")
    op.drop_index(op.f("ix_subsidy_policies_department_id"), table_name="subsidy_policies")
    op.drop_table("subsidy_policies")
    op.drop_index(op.f("ix_bridge_loan_events_bridge_loan_id"), table_name="bridge_loan_events")
    op.drop_table("bridge_loan_events")
    op.drop_index(op.f("ix_bridge_loans_enterprise_id"), table_name="bridge_loans")
    op.drop_index("ix_bridge_loans_fund_status", table_name="bridge_loans")
    op.drop_index(op.f("ix_bridge_loans_institution_id"), table_name="bridge_loans")
    op.drop_table("bridge_loans")
    op.drop_index(op.f("ix_bridge_contributions_fund_id"), table_name="bridge_contributions")
    op.drop_table("bridge_contributions")
    op.drop_index(op.f("ix_bridge_funds_department_id"), table_name="bridge_funds")
    op.drop_table("bridge_funds")
