"""Tables of the rating capability: model versions, activation thresholds, rating runs, grade changes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class RatingModel(Base):
    """One version of a rating model (a record: its configuration or fitted bins and coefficients).

    ``kind`` is ``expert`` (scorecard bands and weights) or ``statistical`` (a fitted scorecard);
    ``segment`` the firms it rates (``enterprise``, ``individual_business`` or ``all``). Status:
    ``draft`` → ``active`` (at most one per segment; rates from ``effective_from``) → ``retired``.
    ``evidence`` holds the backtest (AUC, KS, default rate per grade…) that allowed activation.
    """

    __tablename__ = "rating_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    segment: Mapped[str] = mapped_column(String(32), default="all")
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    effective_from: Mapped[date | None] = mapped_column(Date)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RatingThresholds(Base):
    """What a model version's back-test must show before it may be activated (one row, set by the operator).

    AUC and KS are 0–1 (higher ranks risk better); PSI compares the scores of the two latest as-of dates
    (above 0.25 the population has shifted); with ``monotone_default_rate`` a better grade must not
    default more often than a worse one.
    """

    __tablename__ = "rating_thresholds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_auc: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.700"))
    min_ks: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.300"))
    max_psi: Mapped[Decimal] = mapped_column(Numeric(5, 3), default=Decimal("0.250"))
    monotone_default_rate: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RatingRun(Base):
    """Everyone rated as of a date with one model: counts per grade, where the snapshot is, how long."""

    __tablename__ = "rating_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("rating_models.id"))
    enterprises: Mapped[int] = mapped_column(Integer, default=0)
    grades: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    upgrades: Mapped[int] = mapped_column(Integer, default=0)
    downgrades: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_path: Mapped[str] = mapped_column(String(500), default="")
    elapsed_seconds: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RatingChange(Base):
    """An enterprise's grade changed between two rating runs (the history enterprises and banks see)."""

    __tablename__ = "rating_changes"
    __table_args__ = (Index("ix_rating_changes_uscc_as_of", "uscc", "as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18))
    as_of: Mapped[date] = mapped_column(Date)
    run_id: Mapped[int] = mapped_column(ForeignKey("rating_runs.id", ondelete="CASCADE"), index=True)
    previous_grade: Mapped[str] = mapped_column(String(8))
    grade: Mapped[str] = mapped_column(String(8))
    previous_score: Mapped[Decimal] = mapped_column(Numeric(6, 1))
    score: Mapped[Decimal] = mapped_column(Numeric(6, 1))
