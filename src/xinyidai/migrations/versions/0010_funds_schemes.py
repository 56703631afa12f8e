"""funds: risk-sharing funds, schemes, covered loans, claims and recoveries

guarantee_funds (信保基金, 风险补偿金), risk_schemes (tiers by grade and amount), covered_loans (each
fund's decision on an approved application), fund_claims and fund_recoveries. Money is in the ledger (0009).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "guarantee_funds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("leverage", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["organisations.id"], name=op.f("fk_guarantee_funds_manager_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee_funds")),
    )
    with op.batch_alter_table("guarantee_funds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guarantee_funds_manager_id"), ["manager_id"], unique=False)

    op.create_table(
        "risk_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("amount_max", sa.Numeric(precision=18, scale=2), nullable=True),
        sa.Column("collateral_max_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("fund_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("third_party_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("third_party_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fund_id"],
            ["guarantee_funds.id"],
            name=op.f("fk_risk_schemes_fund_id_guarantee_funds"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["third_party_id"],
            ["organisations.id"],
            name=op.f("fk_risk_schemes_third_party_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_schemes")),
        sa.UniqueConstraint("fund_id", "grade", name=op.f("uq_risk_schemes_fund_id")),
    )
    with op.batch_alter_table("risk_schemes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_schemes_fund_id"), ["fund_id"], unique=False)

    op.create_table(
        "covered_loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("scheme_id", sa.Integer(), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=True),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("collateral_value", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fund_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("third_party_pct", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("third_party_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("reason_params", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("decided_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"], ["applications.id"], name=op.f("fk_covered_loans_application_id_applications")
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["guarantee_funds.id"], name=op.f("fk_covered_loans_fund_id_guarantee_funds")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["organisations.id"],
            name=op.f("fk_covered_loans_institution_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_covered_loans_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["risk_schemes.id"], name=op.f("fk_covered_loans_scheme_id_risk_schemes")
        ),
        sa.ForeignKeyConstraint(
            ["third_party_id"],
            ["organisations.id"],
            name=op.f("fk_covered_loans_third_party_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_covered_loans")),
        sa.UniqueConstraint("fund_id", "application_id", name=op.f("uq_covered_loans_fund_id")),
    )
    with op.batch_alter_table("covered_loans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_covered_loans_application_id"), ["application_id"], unique=False)
        batch_op.create_index("ix_covered_loans_fund_status", ["fund_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_covered_loans_institution_id"), ["institution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_covered_loans_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "fund_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fund_id", sa.Integer(), nullable=False),
        sa.Column("covered_loan_id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("default_record_id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("loss", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("outstanding", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fund_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("third_party_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("institution_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("review_note", sa.String(length=500), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=False),
        sa.Column("reviewed_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("payout_entry_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["covered_loan_id"],
            ["covered_loans.id"],
            name=op.f("fk_fund_claims_covered_loan_id_covered_loans"),
        ),
        sa.ForeignKeyConstraint(
            ["default_record_id"],
            ["loan_records.id"],
            name=op.f("fk_fund_claims_default_record_id_loan_records"),
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["guarantee_funds.id"], name=op.f("fk_fund_claims_fund_id_guarantee_funds")
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"], ["organisations.id"], name=op.f("fk_fund_claims_institution_id_organisations")
        ),
        sa.ForeignKeyConstraint(["loan_id"], ["loans.id"], name=op.f("fk_fund_claims_loan_id_loans")),
        sa.ForeignKeyConstraint(
            ["payout_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_fund_claims_payout_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_claims")),
        sa.UniqueConstraint("institution_id", "idempotency_key", name=op.f("uq_fund_claims_institution_id")),
    )
    with op.batch_alter_table("fund_claims", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_claims_covered_loan_id"), ["covered_loan_id"], unique=False)
        batch_op.create_index("ix_fund_claims_fund_status", ["fund_id", "status", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_claims_institution_id"), ["institution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_fund_claims_loan_id"), ["loan_id"], unique=False)

    op.create_table(
        "fund_recoveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("loan_record_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("fund_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["fund_claims.id"], name=op.f("fk_fund_recoveries_claim_id_fund_claims")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["journal_entries.id"], name=op.f("fk_fund_recoveries_entry_id_journal_entries")
        ),
        sa.ForeignKeyConstraint(
            ["loan_record_id"],
            ["loan_records.id"],
            name=op.f("fk_fund_recoveries_loan_record_id_loan_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_recoveries")),
        sa.UniqueConstraint("loan_record_id", name=op.f("uq_fund_recoveries_loan_record_id")),
    )
    with op.batch_alter_table("fund_recoveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fund_recoveries_claim_id"), ["claim_id"], unique=False)


def downgrade() -> None:
    op.drop_table("fund_recoveries")
    op.drop_table("fund_claims")
    op.drop_table("covered_loans")
    op.drop_table("risk_schemes")
    op.drop_table("guarantee_funds")
