"""request_metrics: per-minute API traffic shared by every worker, and an index for the sources tile

``request_minutes``: one row per worker process, minute and route (``core/request_metrics.py``), so the
operator's screen shows the traffic of every worker. ``ix_ingest_batches_source_received``: a source's
newest delivery is an index lookup, not a scan of every batch (it replaces the index on ``source_id``
alone, which it covers); ``ix_ingest_batches_started_at``: the pipeline tile's newest and pending batches.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=200), nullable=False),
        sa.Column("minute", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("route", sa.String(length=300), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("latency_bins", sa.JSON(), nullable=False),
        sa.Column("last_errors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_minutes")),
        sa.UniqueConstraint("worker", "minute", "method", "route", name=op.f("uq_request_minutes_worker")),
    )
    op.create_index(op.f("ix_request_minutes_minute"), "request_minutes", ["minute"], unique=False)
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.create_index("ix_ingest_batches_source_received", ["source_id", "received_at"], unique=False)
        batch_op.drop_index(batch_op.f("ix_ingest_batches_source_id"))
        batch_op.create_index(batch_op.f("ix_ingest_batches_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ingest_batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_batches_started_at"))
        batch_op.create_index(batch_op.f("ix_ingest_batches_source_id"), ["source_id"], unique=False)
        batch_op.drop_index("ix_ingest_batches_source_received")
    op.drop_index(op.f("ix_request_minutes_minute"), table_name="request_minutes")
    op.drop_table("request_minutes")
