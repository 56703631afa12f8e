"""Tables of the data capability kept in the relational store."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from xinyidai.core.clock import utcnow
from xinyidai.core.database import Base, UTCDateTime


class RegistryEnterprise(Base):
    """The enterprise registry (市场主体登记) master record, as the market regulator delivers it.

    Filled by the demo city now and by ingestion later. Self-registration on the platform is verified
    against it: the USCC must exist here with the same legal representative's name.
    """

    __tablename__ = "registry_enterprises"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    legal_representative: Mapped[str] = mapped_column(String(100))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    industry_division: Mapped[str] = mapped_column(String(2))
    size_class: Mapped[str] = mapped_column(String(16))
    founded_on: Mapped[date | None] = mapped_column(Date)
    # 注册资本, in 万元 (10,000 yuan) as the registry publishes it.
    registered_capital_wan: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    status: Mapped[str] = mapped_column(String(16), default="存续")  # 存续 / 吊销 / 注销
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class IngestBatch(Base):
    """One delivery of a department source, ingested into the lake as a unit (a batch).

    Status: ``pending`` while being written (a pending batch whose process died is cleaned up by the next
    run of the same source), ``published`` once its files are visible, ``superseded`` when every one of
    its period files was replaced by a later corrected delivery, ``failed`` when the delivery was
    refused (``error_code``/``error_message``/``error_params``) or interrupted — nothing of a failed batch
    is visible. ``received_at`` is when the platform received the data: readers asking "as of D" see the
    batches received by D (no look-ahead).
    """

    __tablename__ = "ingest_batches"
    # a source's newest delivery is a walk back from the end of its part of this index (operator screen);
    # it also serves every lookup by source alone
    __table_args__ = (Index("ix_ingest_batches_source_received", "source_id", "received_at"),)

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)
    # replace: the delivery replaces the rows of each period it covers; append: rows add, by key.
    mode: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the operator screen's pipeline tile: the newest batch, the day's batches, the oldest pending one
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    # the periods (YYYY-MM, or "none") the accepted rows cover
    periods: Mapped[list[str]] = mapped_column(JSON, default=list)
    rejects_by_reason: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    # notices for the sender: [{"code": ..., "params": {...}}] (ignored columns, encoding mismatches, ...)
    notices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    quarantine_path: Mapped[str | None] = mapped_column(String(500))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # host:pid of the process that ran it, for diagnosing interrupted batches
    worker: Mapped[str] = mapped_column(String(200), default="")

    files: Mapped[list[IngestFile]] = relationship(
        back_populates="batch", order_by="IngestFile.position", cascade="all, delete-orphan"
    )
    parts: Mapped[list[IngestPart]] = relationship(
        back_populates="batch",
        foreign_keys="IngestPart.batch_id",
        order_by="IngestPart.period",
        cascade="all, delete-orphan",
    )


class IngestFile(Base):
    """A delivered file (or a push of rows) of a batch: its name, content hash and what became of it.

    ``sha256`` is over the raw bytes as delivered (for pushed rows: over their canonical JSON); the same
    content for the same source is received only once.
    """

    __tablename__ = "ingest_files"
    __table_args__ = (UniqueConstraint("batch_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingest_batches.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    format: Mapped[str | None] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(32))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_accepted: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    # delivered header → catalogue field (null for ignored columns), and derived field → value
    columns: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    batch: Mapped[IngestBatch] = relationship(back_populates="files")


class IngestPart(Base):
    """A Parquet file a batch wrote to the lake: its rows for one period (lineage: batch → files → parts).

    Visible as of D when the batch was received by D and the part was not superseded by then
    (``superseded_at`` is the receipt time of the delivery that replaced this period).
    """

    __tablename__ = "ingest_parts"
    __table_args__ = (Index("ix_ingest_parts_source_period", "source_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("ingest_batches.id", ondelete="CASCADE"), index=True)
    source_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM or "none"
    path: Mapped[str] = mapped_column(String(500))  # relative to the lake root
    rows: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    superseded_by: Mapped[str | None] = mapped_column(ForeignKey("ingest_batches.id", ondelete="SET NULL"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    batch: Mapped[IngestBatch] = relationship(back_populates="parts", foreign_keys=[batch_id])


class QualityRun(Base):
    """One run of the data-quality rules over the lake as of a date (``xinyidai quality run``, daily).

    ``period`` is the month whose deliveries were checked (``YYYY-MM``); ``score`` is the share of
    rules that passed, 0–100; ``report_path`` the Excel report under ``XYD_HOME`` (relative).
    """

    __tablename__ = "quality_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of: Mapped[date] = mapped_column(Date, index=True)
    period: Mapped[str | None] = mapped_column(String(7))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    triggered_by: Mapped[str] = mapped_column(String(100), default="")
    rules_total: Mapped[int] = mapped_column(Integer, default=0)
    rules_failed: Mapped[int] = mapped_column(Integer, default=0)
    rules_blocking: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    elapsed_seconds: Mapped[Decimal] = mapped_column(Numeric(10, 3), default=Decimal("0"))
    report_path: Mapped[str | None] = mapped_column(String(500))

    results: Mapped[list[QualityResult]] = relationship(
        back_populates="run", order_by="QualityResult.id", cascade="all, delete-orphan"
    )


class QualityResult(Base):
    """The outcome of one rule in one run: rows checked and failed, whether it passed, and why.

    ``blocking`` is set when an error-level rule failed on rows that are in the lake (refused rows
    never reach the lake, so they alert the department but block nothing downstream).
    """

    __tablename__ = "quality_results"
    __table_args__ = (
        UniqueConstraint("run_id", "rule_id"),
        Index("ix_quality_results_source_run", "source_id", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("quality_runs.id", ondelete="CASCADE"), index=True)
    rule_id: Mapped[str] = mapped_column(String(120))
    source_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    rows_checked: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_failed: Mapped[int] = mapped_column(BigInteger, default=0)
    pass_rate: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal("1"))
    passed: Mapped[bool] = mapped_column(default=True)
    blocking: Mapped[bool] = mapped_column(default=False)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    run: Mapped[QualityRun] = relationship(back_populates="results")
