"""Queries on the ingestion tables (``ingest_batches``, ``ingest_files``, ``ingest_parts``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from xinyidai.data.ingest.results import BatchStatus
from xinyidai.data.lake import Manifest, ManifestBatch, ManifestPart
from xinyidai.data.models import IngestBatch, IngestFile, IngestPart

RECEIVED = (BatchStatus.PUBLISHED.value, BatchStatus.SUPERSEDED.value)
"""Statuses of batches whose content counts as received (and whose files are in the manifest)."""


def received_files(session: Session, source_id: str, hashes: Iterable[str]) -> dict[str, str]:
    """Content hash → id of the published (or superseded) batch that received it, for one source."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    rows = session.execute(
        select(IngestFile.sha256, IngestBatch.id)
        .join(IngestBatch, IngestFile.batch_id == IngestBatch.id)
        .where(
            IngestBatch.source_id == source_id,
            IngestBatch.status.in_(RECEIVED),
            IngestFile.sha256.in_(wanted),
        )
        .order_by(IngestBatch.received_at)
    ).all()
    return {sha: batch_id for sha, batch_id in rows}


def pending_batches(session: Session, source_id: str) -> Sequence[IngestBatch]:
    return session.scalars(
        select(IngestBatch).where(
            IngestBatch.source_id == source_id, IngestBatch.status == BatchStatus.PENDING.value
        )
    ).all()


def period_parts(session: Session, source_id: str, period: str, exclude: str) -> Sequence[IngestPart]:
    """Parts of received batches for one period of a source, except those of batch ``exclude``."""
    return session.scalars(
        select(IngestPart)
        .join(IngestBatch, IngestPart.batch_id == IngestBatch.id)
        .where(
            IngestPart.source_id == source_id,
            IngestPart.period == period,
            IngestBatch.status.in_(RECEIVED),
            IngestBatch.id != exclude,
        )
        .options(selectinload(IngestPart.batch))
    ).all()


def received_summary(session: Session, source_id: str) -> tuple[int, datetime | None]:
    """How many batches of the source are received, and when the last one was published."""
    count, last = session.execute(
        select(func.count(), func.max(IngestBatch.published_at)).where(
            IngestBatch.source_id == source_id, IngestBatch.status.in_(RECEIVED)
        )
    ).one()
    return int(count), last


def build_manifest(session: Session, source_id: str, generated_at: datetime) -> Manifest:
    """The reader-side manifest of a source, from the database (the record of truth)."""
    batches = session.scalars(
        select(IngestBatch)
        .where(IngestBatch.source_id == source_id, IngestBatch.status.in_(RECEIVED))
        .order_by(IngestBatch.received_at, IngestBatch.published_at, IngestBatch.id)
    ).all()
    received = {b.id: b for b in batches}
    parts = session.scalars(
        select(IngestPart)
        .where(IngestPart.source_id == source_id, IngestPart.batch_id.in_(list(received) or [""]))
        .order_by(IngestPart.period, IngestPart.id)
    ).all()
    return Manifest(
        source_id=source_id,
        generated_at=generated_at,
        batches=tuple(
            ManifestBatch(
                batch_id=b.id,
                received_at=b.received_at,
                published_at=b.published_at or b.received_at,
                status=b.status,
                provider=b.provider,
                rows_accepted=b.rows_accepted,
                rows_rejected=b.rows_rejected,
                quarantine=b.quarantine_path,
            )
            for b in batches
        ),
        parts=tuple(
            ManifestPart(
                path=p.path,
                batch_id=p.batch_id,
                period=p.period,
                rows=p.rows,
                received_at=received[p.batch_id].received_at,
                superseded_at=p.superseded_at,
            )
            for p in parts
        ),
    )


def list_batches(
    session: Session, source_id: str | None = None, *, limit: int = 50, offset: int = 0
) -> Sequence[IngestBatch]:
    """Batches, newest first, optionally of one source."""
    stmt = select(IngestBatch).options(selectinload(IngestBatch.files))
    if source_id is not None:
        stmt = stmt.where(IngestBatch.source_id == source_id)
    return session.scalars(
        stmt.order_by(IngestBatch.started_at.desc(), IngestBatch.id.desc()).limit(limit).offset(offset)
    ).all()


def get_batch(session: Session, batch_id: str) -> IngestBatch | None:
    return session.get(
        IngestBatch, batch_id, options=[selectinload(IngestBatch.files), selectinload(IngestBatch.parts)]
    )
