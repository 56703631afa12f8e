"""subplatforms: sub-platforms: district and industry portals with their own name, theme, featured products and policies

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import xinyidai.core.database

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subplatforms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("industry_divisions", sa.JSON(), nullable=False),
        sa.Column("product_types", sa.JSON(), nullable=False),
        sa.Column("scope_expression", sa.Text(), nullable=False),
        sa.Column("colour", sa.String(length=7), nullable=False),
        sa.Column("tagline", sa.String(length=200), nullable=False),
        sa.Column("banner", sa.String(length=500), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", xinyidai.core.database.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["organisations.id"], name=op.f("fk_subplatforms_owner_id_organisations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subplatforms")),
        sa.UniqueConstraint("slug", name=op.f("uq_subplatforms_slug")),
    )
    with op.batch_alter_table("subplatforms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subplatforms_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "subplatform_features",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subplatform_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("policy_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name=op.f("fk_subplatform_features_policy_id_policies")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_subplatform_features_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["subplatform_id"],
            ["subplatforms.id"],
            name=op.f("fk_subplatform_features_subplatform_id_subplatforms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subplatform_features")),
        sa.UniqueConstraint("policy_id", "subplatform_id", name=op.f("uq_subplatform_features_policy_id")),
        sa.UniqueConstraint("product_id", "subplatform_id", name=op.f("uq_subplatform_features_product_id")),
    )
    with op.batch_alter_table("subplatform_features", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subplatform_features_subplatform_id"), ["subplatform_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("subplatform_features", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subplatform_features_subplatform_id"))
    op.drop_table("subplatform_features")
    with op.batch_alter_table("subplatforms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subplatforms_owner_id"))
    op.drop_table("subplatforms")
