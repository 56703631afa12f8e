"""funds: risk-sharing funds, schemes, covered loans, claims and recoveries

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401 — used once the tables are written
from alembic import op  # noqa: F401

import xinyidai.core.database  # noqa: F401

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
