"""Tables of the sub-platforms (子平台): district and thematic portals run by a department.

Shanghai's 信易贷 runs district sub-platforms (one per district) and thematic ones (technology finance,
the free-trade zone, foreign trade with credit-insurance financing). Each has its own address
(``/s/<slug>``), name and theme, products and policies it puts forward, and statistics limited to its
scope; the staff of the owning department see those figures and nothing outside them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class Subplatform(Base):
    """A district or thematic sub-platform.

    ``kind`` is ``district`` (``region_code`` is a GB/T 2260 code; every enterprise registered in a
    division under it is in scope) or ``theme`` (``industry_divisions``: GB/T 4754 two-digit divisions,
    empty = any; ``product_types``: the product types it deals in, empty = any). ``scope_expression`` is
    an optional boolean expression over the indicators (``exports_12m > 0``) that an enterprise must also
    satisfy. ``colour`` is the primary colour ``#rrggbb`` of its pages; ``tagline`` a short line under its
    name; ``banner`` an optional notice. ``owner_id`` is the department whose staff run it. A disabled
    sub-platform's address answers 404.
    """

    __tablename__ = "subplatforms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))  # district | theme
    region_code: Mapped[str] = mapped_column(String(6), default="")
    industry_divisions: Mapped[list[str]] = mapped_column(JSON, default=list)
    product_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    scope_expression: Mapped[str] = mapped_column(Text, default="")
    colour: Mapped[str] = mapped_column(String(7))
    tagline: Mapped[str] = mapped_column(String(200), default="")
    banner: Mapped[str] = mapped_column(String(500), default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    features: Mapped[list[SubplatformFeature]] = relationship(
        back_populates="subplatform",
        cascade="all, delete-orphan",
        order_by="SubplatformFeature.position",
    )


class SubplatformFeature(Base):
    """A product (listed) or a policy (published) a sub-platform puts forward, in display order.

    Exactly one of ``product_id`` and ``policy_id`` is set.
    """

    __tablename__ = "subplatform_features"
    __table_args__ = (
        UniqueConstraint("product_id", "subplatform_id"),
        UniqueConstraint("policy_id", "subplatform_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subplatform_id: Mapped[int] = mapped_column(ForeignKey("subplatforms.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("policies.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)

    subplatform: Mapped[Subplatform] = relationship(back_populates="features")
