"""console_refresh_jobs: queued refreshes of the console statistics (in-app schedule and the operator's button)

A unique ``slot`` makes a request made twice (every worker adding tonight's slot) one job; a partial unique
index lets at most one job be ``running``.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_table(
        "console_refresh_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=80), nullable=False),
        sa.Column("requested_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("refresh_id", sa.Integer(), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["refresh_id"],
            ["console_refreshes.id"],
            name=op.f("fk_console_refresh_jobs_refresh_id_console_refreshes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_refresh_jobs")),
        sa.UniqueConstraint("slot", name=op.f("uq_console_refresh_jobs_slot")),
    )
    op.create_index(
        "uq_console_refresh_jobs_running",
        "console_refresh_jobs",
        ["status"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("uq_console_refresh_jobs_running", table_name="console_refresh_jobs")
    op.drop_table("console_refresh_jobs")
