"""funds_settings: funds: scheme editing, collateral values, fees

Risk-sharing schemes become versioned records of their own (``sharing_schemes``) that a fund chooses
(``guarantee_funds.scheme_id``); their bands (``risk_schemes``) belong to a scheme version, with an amount
range, a covered flag and a named third party. Covered loans keep the third party's name and the guarantee
fee charged when they joined; applications carry the collateral value the institution stated.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sharing_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("manager_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("fee_rate", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["manager_id"], ["organisations.id"], name=op.f("fk_sharing_schemes_manager_id_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["sharing_schemes.id"],
            name=op.f("fk_sharing_schemes_previous_id_sharing_schemes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_schemes")),
    )
    with op.batch_alter_table("sharing_schemes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sharing_schemes_manager_id"), ["manager_id"], unique=False)

    with op.batch_alter_table("guarantee_funds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_guarantee_funds_scheme_id_sharing_schemes"),
            "sharing_schemes",
            ["scheme_id"],
            ["id"],
        )

    with op.batch_alter_table("risk_schemes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scheme_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("covered", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(
            sa.Column("amount_min", sa.Numeric(precision=18, scale=2), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("third_party_name", sa.String(length=200), nullable=False, server_default="")
        )

    # Each fund's own tiers become version 1 of a scheme of its own, which the fund uses.
    connection = op.get_bind()
    funds = connection.execute(
        sa.text(
            "SELECT id, name, manager_id, created_by FROM guarantee_funds "
            "WHERE id IN (SELECT fund_id FROM risk_schemes) ORDER BY id"
        )
    ).all()
    schemes = sa.table(
        "sharing_schemes",
        sa.column("id", sa.Integer()),
        sa.column("manager_id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("is_current", sa.Boolean()),
        sa.column("fee_rate", sa.Numeric()),
        sa.column("note", sa.String()),
        sa.column("created_by", sa.String()),
        sa.column("created_at", xinyidai.core.database.UTCDateTime()),
    )
    for fund_id, name, manager_id, created_by in funds:
        scheme_id = connection.execute(
            schemes.insert()
            .values(
                manager_id=manager_id,
                name=name[:200],
                version=1,
                is_current=True,
                fee_rate=0,
                note="",
                created_by=created_by,
                created_at=datetime.now(UTC),
            )
            .returning(schemes.c.id)
        ).scalar_one()
        connection.execute(
            sa.text("UPDATE risk_schemes SET scheme_id = :s WHERE fund_id = :f"),
            {"s": scheme_id, "f": fund_id},
        )
        connection.execute(
            sa.text("UPDATE guarantee_funds SET scheme_id = :s WHERE id = :f"), {"s": scheme_id, "f": fund_id}
        )

    with op.batch_alter_table("risk_schemes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_risk_schemes_fund_id"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_risk_schemes_fund_id"))
        batch_op.drop_constraint(batch_op.f("fk_risk_schemes_fund_id_guarantee_funds"), type_="foreignkey")
        batch_op.drop_column("fund_id")
        batch_op.alter_column("scheme_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_risk_schemes_scheme_id"), ["scheme_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_risk_schemes_scheme_id_sharing_schemes"),
            "sharing_schemes",
            ["scheme_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("covered_loans", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("third_party_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("fee_rate", sa.Numeric(precision=5, scale=2), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("fee_amount", sa.Numeric(precision=18, scale=2), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("fee_entry_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_covered_loans_fee_entry_id_journal_entries"),
            "journal_entries",
            ["fee_entry_id"],
            ["id"],
        )

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("collateral_value", sa.Numeric(precision=18, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("collateral_value")

    with op.batch_alter_table("covered_loans", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_covered_loans_fee_entry_id_journal_entries"), type_="foreignkey"
        )
        batch_op.drop_column("fee_entry_id")
        batch_op.drop_column("fee_amount")
        batch_op.drop_column("fee_rate")
        batch_op.drop_column("third_party_name")

    # Bands go back to the (first) fund using their scheme version; one band per grade and fund survives.
    with op.batch_alter_table("risk_schemes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fund_id", sa.Integer(), nullable=True))
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE risk_schemes SET fund_id = (SELECT MIN(f.id) FROM guarantee_funds f "
            "WHERE f.scheme_id = risk_schemes.scheme_id)"
        )
    )
    connection.execute(sa.text("UPDATE covered_loans SET scheme_id = NULL"))
    connection.execute(
        sa.text(
            "DELETE FROM risk_schemes WHERE fund_id IS NULL OR id NOT IN (SELECT MIN(r.id) FROM risk_schemes r "
            "WHERE r.fund_id IS NOT NULL GROUP BY r.fund_id, r.grade)"
        )
    )
    with op.batch_alter_table("risk_schemes", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_risk_schemes_scheme_id_sharing_schemes"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_risk_schemes_scheme_id"))
        batch_op.drop_column("scheme_id")
        batch_op.drop_column("third_party_name")
        batch_op.drop_column("amount_min")
        batch_op.drop_column("covered")
        batch_op.alter_column("fund_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_risk_schemes_fund_id"), ["fund_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_risk_schemes_fund_id_guarantee_funds"),
            "guarantee_funds",
            ["fund_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_unique_constraint(batch_op.f("uq_risk_schemes_fund_id"), ["fund_id", "grade"])

    with op.batch_alter_table("guarantee_funds", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_guarantee_funds_scheme_id_sharing_schemes"), type_="foreignkey"
        )
        batch_op.drop_column("scheme_id")

    with op.batch_alter_table("sharing_schemes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_schemes_manager_id"))
    op.drop_table("sharing_schemes")
