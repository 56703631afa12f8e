"""evidence: evidence log: Merkle tree entries and signed tree heads (RFC 6962/9162)

evidence_entries (the leaves, canonical JSON and leaf hash), evidence_nodes (hashes of complete subtrees of
16 leaves and more), evidence_log_state (the one head row appends lock) and evidence_tree_heads (signed).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_entries",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("enterprise_uscc", sa.String(length=18), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_evidence_entries")),
    )
    with op.batch_alter_table("evidence_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_entries_subject"), ["subject"], unique=False)

    op.create_table(
        "evidence_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "position", name=op.f("pk_evidence_nodes")),
    )
    op.create_table(
        "evidence_log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_log_state")),
    )
    op.create_table(
        "evidence_tree_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("key_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("signed_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_tree_heads")),
    )
    with op.batch_alter_table("evidence_tree_heads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_tree_heads_tree_size"), ["tree_size"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_tree_heads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_tree_heads_tree_size"))
    op.drop_table("evidence_tree_heads")
    op.drop_table("evidence_log_state")
    op.drop_table("evidence_nodes")
    with op.batch_alter_table("evidence_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_entries_subject"))
    op.drop_table("evidence_entries")
