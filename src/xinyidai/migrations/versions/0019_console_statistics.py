"""console_statistics: pre-aggregated financing statistics for the consoles

The figures live as Parquet in the lake (``lake/_consoles/<stamp>/``); this table records each published
set and its freshness.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_refreshes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("as_of", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("fact_rows", sa.Integer(), nullable=False),
        sa.Column("elapsed_seconds", sa.Numeric(precision=10, scale=3), nullable=False),
        sa.Column("triggered_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_console_refreshes_as_of"), "console_refreshes", ["as_of"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_console_refreshes_as_of"), table_name="console_refreshes")
    op.drop_table("console_refreshes")
